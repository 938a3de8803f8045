// The API reference: renders the exchange's own OpenAPI document, grouped by tag, with each
// operation's parameters, body schema, examples and responses. Nothing is loaded from elsewhere.
// Our own, not Scalar.AspNetCore: its bundle injects <style> elements and inline style attributes, which the
// pages' Content-Security-Policy (style-src 'self') refuses; it would need style-src 'unsafe-inline'.
"use strict";

(() => {
  const { el, api, fill } = Exchange;
  let spec = null;

  function resolve(schema) {
    let seen = 0;
    while (schema && schema.$ref && seen++ < 10) {
      const name = schema.$ref.split("/").pop();
      schema = (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
    }
    return schema || {};
  }

  function typeOf(schema) {
    const s = resolve(schema);
    const type = [].concat(s.type || []).filter((t) => t !== "null");
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (type.includes("array")) return `${typeOf(s.items)}[]`;
    if (s.format) return `${type.join("|") || "any"} (${s.format})`;
    return type.join("|") || (s.properties ? "object" : "any");
  }

  function schemaTable(schema) {
    const s = resolve(schema);
    if (!s.properties) return el("p", { class: "mono" }, typeOf(s));
    const required = new Set(s.required || []);
    return el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Field"), el("th", { scope: "col" }, "Type"), el("th", { scope: "col" }, "Notes"))),
      el("tbody", {}, Object.entries(s.properties).map(([name, property]) =>
        el("tr", {}, el("td", { class: "mono" }, name + (required.has(name) ? " *" : "")), el("td", { class: "mono" }, typeOf(property)),
          el("td", {}, resolve(property).description || "")))));
  }

  function examples(media) {
    const out = [];
    if (media.example !== undefined) out.push(el("pre", {}, JSON.stringify(media.example, null, 2)));
    for (const [name, example] of Object.entries(media.examples || {})) {
      out.push(el("p", { class: "muted" }, `Example: ${example.summary || name}`), el("pre", {}, JSON.stringify(example.value, null, 2)));
    }
    return out;
  }

  /** Text with `code` spans, as the descriptions write them. */
  function prose(text) {
    return el("p", {}, String(text).split("`").map((part, i) => (i % 2 ? el("code", {}, part) : part)));
  }

  function operation(path, method, op) {
    const body = [];
    if (op.description) body.push(prose(op.description));
    const parameters = op.parameters || [];
    if (parameters.length) {
      body.push(el("h3", {}, "Parameters"), el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Name"), el("th", { scope: "col" }, "In"), el("th", { scope: "col" }, "Type"))),
        el("tbody", {}, parameters.map((p) => el("tr", {}, el("td", { class: "mono" }, p.name + (p.required ? " *" : "")), el("td", {}, p.in), el("td", { class: "mono" }, typeOf(p.schema)))))));
    }
    if (op.requestBody && op.requestBody.content) {
      body.push(el("h3", {}, "Request body"));
      if (op.requestBody.description) body.push(prose(op.requestBody.description));
      for (const [type, media] of Object.entries(op.requestBody.content)) {
        body.push(el("p", { class: "muted" }, type), schemaTable(media.schema || {}), ...examples(media));
      }
    }
    const responses = Object.entries(op.responses || {});
    if (responses.length) {
      body.push(el("h3", {}, "Responses"));
      for (const [status, response] of responses) {
        body.push(el("p", {}, el("strong", {}, status), " ", response.description || ""));
        for (const media of Object.values(response.content || {})) body.push(...examples(media));
      }
    }
    return el("details", { class: "op", "data-search": `${method} ${path} ${op.summary || ""} ${(op.tags || []).join(" ")}`.toLowerCase() },
      el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()), el("span", { class: "path" }, path), el("span", { class: "muted" }, op.summary || "")),
      el("div", { class: "body" }, body));
  }

  function render() {
    const groups = new Map();
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of ["get", "post", "put", "delete", "patch"]) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "Other";
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operation(path, method, op));
      }
    }
    const order = ["Account", "Balances", "Withdrawals", "Transfers", "VivoKey", "Compliance", "Operations", "Health"];
    const tags = [...groups.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    fill(document.getElementById("operations"), ...tags.map((tag) =>
      el("section", { class: "panel", "data-tag": tag }, el("h2", {}, tag), groups.get(tag))));
  }

  document.addEventListener("DOMContentLoaded", async () => {
    Exchange.navigation(await Exchange.signedIn(), "/api-reference");
    const result = await api("/openapi/v1.json");
    if (!result.ok) {
      document.getElementById("operations").textContent = "The API document could not be loaded.";
      return;
    }
    spec = result.body;
    document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version}`;
    document.getElementById("description").replaceWith(Object.assign(prose(spec.info.description || ""), { id: "description", className: "muted" }));
    render();
    document.getElementById("filter").addEventListener("input", (event) => {
      const words = event.target.value.toLowerCase().trim();
      for (const op of document.querySelectorAll(".op")) op.hidden = words && !op.dataset.search.includes(words);
    });
    document.body.dataset.ready = "true";
  });
})();
