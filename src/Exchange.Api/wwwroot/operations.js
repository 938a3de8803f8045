// The operator's page: requests stuck in one state, with the actions that apply to each (each runs
// only once the operator taps their own implant), recent actions, and the way to the job dashboard.
"use strict";

(() => {
  const { el, api, fill } = Exchange;
  const actionLabels = { "retry-send": "Retry sending the challenge", rebroadcast: "Rebroadcast", cancel: "Cancel and release" };
  let isOperator = false;

  function age(seconds) {
    if (seconds < 120) return `${seconds} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${Math.round(seconds / 3600)} h`;
  }

  async function loadStuck() {
    const olderThan = document.getElementById("older-than").value;
    const result = await api(`/api/operations/stuck?olderThanSeconds=${encodeURIComponent(olderThan)}`);
    const count = document.getElementById("stuck-count");
    if (!result.ok) {
      count.textContent = (result.body && result.body.title) || `The exchange answered ${result.status}.`;
      return;
    }
    const items = result.body.items;
    count.textContent = items.length ? `${items.length} request${items.length === 1 ? "" : "s"} stuck.` : "Nothing is stuck.";
    fill(document.querySelector("#stuck tbody"), ...items.map((item) => {
      const reasonId = `reason-${item.id}`;
      return el("tr", { "data-request-id": item.id },
        el("td", { class: "mono" }, `${item.kind} ${item.id}`),
        el("td", {}, Exchange.statusBadge(item.status)),
        el("td", {}, age(item.ageSeconds)),
        el("td", { class: "mono" }, item.member),
        el("td", { class: "num" }, `${item.amount} ${item.asset}`),
        el("td", {}, item.challenge ? `${item.challenge.state}, ${item.challenge.sendAttempts} send${item.challenge.sendAttempts === 1 ? "" : "s"}${item.challenge.lastSendError ? ": " + item.challenge.lastSendError : ""}` : "—"),
        el("td", { class: "mono" }, item.txHash ? Exchange.shortHash(item.txHash) : "—"),
        el("td", {},
          isOperator && item.actions.length
            ? el("div", {},
                el("label", { for: reasonId, class: "visually-hidden" }, `Reason for acting on ${item.kind} ${item.id}`),
                el("input", { id: reasonId, placeholder: "Reason", autocomplete: "off" }),
                item.actions.map((action) => el("button", { type: "button", onclick: () => act(action, item, reasonId) }, actionLabels[action] || action)))
            : el("span", { class: "muted" }, item.actions.length ? "operators only" : "none")));
    }));
  }

  async function act(action, item, reasonId) {
    const reason = document.getElementById(reasonId).value.trim();
    const out = document.getElementById("action-result");
    out.hidden = false;
    if (!reason) {
      out.textContent = "Give a reason first: it goes into the audit trail.";
      document.getElementById(reasonId).focus();
      return;
    }
    const result = await api("/api/operations/actions", { json: { action, requestId: item.id, reason }, headers: { "Idempotency-Key": crypto.randomUUID() } });
    out.textContent = result.ok
      ? `Tap your implant to confirm. Your phone shows: “${result.body.challengeMessage}”`
      : (result.body && result.body.title) || `The exchange answered ${result.status}.`;
    await loadActions();
  }

  async function loadActions() {
    const result = await api("/api/operations/actions?limit=20");
    if (!result.ok) return;
    fill(document.querySelector("#actions tbody"), ...result.body.map((a) =>
      el("tr", {},
        el("td", {}, Exchange.when(a.createdAt)), el("td", {}, a.action), el("td", { class: "mono" }, a.target),
        el("td", { class: "mono" }, a.operator), el("td", {}, a.reason), el("td", {}, a.status), el("td", {}, a.result || ""))));
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const me = await Exchange.signedIn();
    Exchange.navigation(me, "/operations");
    if (!me) {
      Exchange.askToSignIn();
      return;
    }
    isOperator = me.roles.includes("operator");
    if (!isOperator && !me.roles.includes("compliance")) {
      document.getElementById("forbidden").hidden = false;
      return;
    }
    document.getElementById("app").hidden = false;
    // A link may ask for another threshold: /operations?olderThanSeconds=30.
    const asked = new URLSearchParams(location.search).get("olderThanSeconds");
    const select = document.getElementById("older-than");
    if (asked && /^[0-9]+$/.test(asked)) {
      if (![...select.options].some((o) => o.value === asked)) select.prepend(el("option", { value: asked }, `${asked} seconds`));
      select.value = asked;
    }
    document.getElementById("stuck-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadStuck();
    });
    await Promise.all([loadStuck(), loadActions()]);
    document.body.dataset.ready = "true";
  });
})();
