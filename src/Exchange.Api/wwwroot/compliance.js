// The compliance officer's page: the audit trail searched by subject, actor, action and time,
// exported as CSV with the same filters, and the hash chain's last verification at a glance.
"use strict";

(() => {
  const { el, api, fill } = Exchange;
  const pageSize = 25;
  let page = 1;

  function filters() {
    const data = new FormData(document.getElementById("search-form"));
    const query = new URLSearchParams();
    for (const [name, value] of data.entries()) {
      const text = String(value).trim();
      if (!text) continue;
      // datetime-local is the officer's local time; the API takes an instant.
      query.set(name, name === "from" || name === "to" ? new Date(text).toISOString() : text);
    }
    return query;
  }

  async function search() {
    const form = document.getElementById("search-form");
    const query = filters();
    document.getElementById("export-csv").href = `/api/audit/export?format=csv${query.size ? "&" + query : ""}`;
    query.set("page", page);
    query.set("pageSize", pageSize);
    const result = await api(`/api/audit?${query}`);
    if (!result.ok) {
      Exchange.showProblem(form, result.body, result.status);
      return;
    }
    Exchange.clearErrors(form);
    const { items, total } = result.body;
    const last = Math.max(1, Math.ceil(total / pageSize));
    document.getElementById("results-count").textContent = `${total} event${total === 1 ? "" : "s"} found.`;
    document.getElementById("page-label").textContent = `Page ${page} of ${last}`;
    document.getElementById("prev").disabled = page <= 1;
    document.getElementById("next").disabled = page >= last;
    fill(document.querySelector("#events tbody"), ...items.map((e) =>
      el("tr", { "data-seq": e.seq },
        el("td", { class: "num" }, e.seq),
        el("td", {}, Exchange.when(e.at)),
        el("td", { class: "mono" }, e.actor),
        el("td", {}, e.action),
        el("td", { class: "mono" }, e.subject),
        el("td", { class: "mono data" }, e.data),
        el("td", {}, e.chainSeq ? el("span", { title: e.hash }, `#${e.chainSeq}`) : el("span", { class: "muted" }, "not yet")))));
  }

  async function verify() {
    const badge = document.getElementById("verify-badge");
    const detail = document.getElementById("verify-detail");
    badge.className = "badge wait";
    badge.textContent = "Verifying…";
    const result = await api("/api/audit/verify");
    const at = new Date().toLocaleTimeString();
    if (!result.ok) {
      badge.className = "badge bad";
      badge.textContent = "Could not verify";
      detail.textContent = (result.body && result.body.title) || `The exchange answered ${result.status}.`;
      return;
    }
    const v = result.body;
    badge.dataset.ok = v.ok ? "true" : "false";
    if (v.ok) {
      badge.className = "badge ok";
      badge.textContent = `✓ Verified: ${v.checked} events chained, none altered`;
    } else {
      badge.className = "badge bad";
      badge.textContent = v.firstBrokenSeq ? `✗ Broken at event ${v.firstBrokenSeq}` : "✗ The chain stops short of its recorded head";
    }
    detail.textContent = `Last verification ${at}.` + (v.unsealed ? ` ${v.unsealed} newer event${v.unsealed === 1 ? " is" : "s are"} not yet sealed into the chain.` : "");
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const me = await Exchange.signedIn();
    Exchange.navigation(me, "/compliance");
    if (!me) {
      Exchange.askToSignIn();
      return;
    }
    if (!me.roles.includes("compliance")) {
      document.getElementById("forbidden").hidden = false;
      return;
    }
    document.getElementById("app").hidden = false;
    const form = document.getElementById("search-form");
    Exchange.clearOnInput(form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      page = 1;
      search();
    });
    form.addEventListener("reset", () => setTimeout(() => { page = 1; search(); }));
    document.getElementById("prev").addEventListener("click", () => { page = Math.max(1, page - 1); search(); });
    document.getElementById("next").addEventListener("click", () => { page += 1; search(); });
    document.getElementById("verify-button").addEventListener("click", verify);
    await Promise.all([search(), verify()]);
    document.body.dataset.ready = "true";
  });
})();
