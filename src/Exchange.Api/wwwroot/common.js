// What every page shares: calling the JSON API, the signed-in member, the navigation bar, and
// putting a problem's field errors beside their fields.
"use strict";

const Exchange = (() => {
  /** Builds an element; children are nodes or text (never parsed as HTML). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replaces a node's children, leaving out the empty ones (null, undefined, false). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  }

  /** Calls the API; answers { ok, status, body } with body parsed as JSON when it is JSON. */
  async function api(path, options = {}) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
    if (options.json !== undefined) {
      init.method = init.method || "POST";
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(options.json);
      delete init.json;
    }
    if (options.headers) init.headers = { ...init.headers, ...options.headers };
    // The exchange's anti-forgery proof: unsafe requests under /api without it are refused (a cross-site form cannot send it).
    if (!["GET", "HEAD"].includes((init.method || "GET").toUpperCase())) init.headers = { ...init.headers, "X-Requested-With": "exchange" };
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      return { ok: false, status: 0, body: { title: "The exchange could not be reached. Check your connection and try again." } };
    }
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json().catch(() => null) : await response.text();
    return { ok: response.ok, status: response.status, body };
  }

  const statusLabels = {
    pending_approval: "Waiting for your tap",
    approved: "Approved",
    signed: "Signed",
    broadcast: "Sent",
    confirmed: "Confirmed",
    declined: "Declined on your phone",
    expired: "Expired: no tap in time",
    token_expired: "Sign in again: your VivoKey session expired",
    rejected: "Refused by VivoKey",
    cancelled: "Cancelled",
    failed: "Failed",
    tampered: "On hold: an operator is reviewing it",
  };

  function statusBadge(status) {
    return el("span", { class: "status", "data-status": status, title: status }, statusLabels[status] || status);
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return date.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function shortHash(hash) {
    return hash && hash.length > 18 ? hash.slice(0, 10) + "…" + hash.slice(-6) : hash || "";
  }

  /** Clears a form's error messages and invalid marks. */
  function clearErrors(form) {
    for (const node of form.querySelectorAll("[data-error-for]")) node.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  /**
   * Puts a problem's errors[field] beside each field (the paragraph the field's aria-describedby names),
   * and anything else in the form's own alert. Focus moves to the first field in error.
   */
  function showProblem(form, problem, status) {
    clearErrors(form);
    const errors = (problem && problem.errors) || {};
    let first = null;
    let unplaced = [];
    for (const [field, messages] of Object.entries(errors)) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
      const text = [].concat(messages).join(" ");
      if (slot) {
        slot.textContent = text;
        const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
        if (input) {
          input.setAttribute("aria-invalid", "true");
          first = first || input;
        }
      } else {
        unplaced.push(text);
      }
    }
    const general = form.querySelector('[data-error-for="form"]');
    if (general) {
      const title = problem && problem.title ? problem.title : `The exchange answered ${status}.`;
      general.textContent = first && unplaced.length === 0 ? "" : [title, ...unplaced].join(" ");
    }
    if (first) first.focus();
  }

  /** Clears a field's error as soon as the trader changes it. */
  function clearOnInput(form) {
    form.addEventListener("input", (event) => {
      const name = event.target.getAttribute("name");
      if (!name) return;
      event.target.removeAttribute("aria-invalid");
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) slot.textContent = "";
    });
  }

  /** The signed-in member, or null (then the page's sign-in panel shows). */
  async function signedIn() {
    const session = await api("/api/session");
    return session.ok && session.body.signedIn ? session.body.member : null;
  }

  /**
   * Text a member chose, safe to show: control and bidirectional override/isolate/mark characters removed
   * (the server removes them too; this keeps a page honest whatever it is given).
   */
  function displayText(text) {
    return (text || "").replace(/[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, "").trim();
  }

  /** Ends the session on the server (204), then shows the signed-out front page. */
  async function signOut() {
    await api("/logout", { method: "POST" });
    location.assign("/");
  }

  /** The top bar: pages this member may open, who is signed in, Sign out. */
  function navigation(me, current) {
    const nav = document.getElementById("nav");
    if (!nav) return;
    const roles = (me && me.roles) || [];
    const link = (href, text, show = true) => show ? el("a", { href, "aria-current": current === href ? "page" : null }, text) : null;
    fill(nav,
      el("a", { href: "/", class: "brand" }, "Exchange"),
      link("/", "Trade", !!me),
      link("/compliance", "Compliance", roles.includes("compliance")),
      link("/operations", "Operations", roles.includes("operator") || roles.includes("compliance")),
      link("/api-reference", "API"),
      me
        ? el("span", { class: "who" }, el("span", { "data-testid": "signed-in-as" }, `${displayText(me.name) || me.subject} · ${me.handle || displayText(me.email)}`),
            el("button", { type: "button", onclick: signOut }, "Sign out"))
        : el("span", { class: "who" }, el("a", { href: `/login?returnUrl=${encodeURIComponent(location.pathname)}` }, "Log in with VivoKey")),
    );
  }

  /** Shows the sign-in panel (with any sign-in error from the query string) instead of the page. */
  function askToSignIn() {
    const panel = document.getElementById("signin");
    if (panel) panel.hidden = false;
    const error = new URLSearchParams(location.search).get("signin_error");
    const slot = document.getElementById("signin-error");
    if (slot && error) slot.textContent = `Sign-in failed: ${error}`;
    const link = document.getElementById("signin-link");
    if (link) link.href = `/login?returnUrl=${encodeURIComponent(location.pathname + location.search.replace(/[?&]signin_error=[^&]*/, ""))}`;
  }

  return { el, fill, api, statusLabels, statusBadge, when, shortHash, clearErrors, showProblem, clearOnInput, signedIn, navigation, askToSignIn, displayText };
})();
