// The trader's page: balances, the withdraw and transfer forms with the phone's words previewed,
// the request being approved, live (Server-Sent Events from /api/events), and the history.
"use strict";

(() => {
  const { el, api, fill } = Exchange;
  const requests = new Map(); // id -> { kind, id, amount, asset, to, status, txHash, confirmations, createdAt, updatedAt, message }
  let currentId = null;

  const steps = {
    withdrawal: ["pending_approval", "approved", "signed", "broadcast", "confirmed"],
    transfer: ["pending_approval", "confirmed"],
  };
  const stepLabels = { pending_approval: "Waiting for your tap", approved: "Approved", signed: "Signed", broadcast: "Sent", confirmed: "Confirmed" };

  async function loadBalances() {
    const result = await api("/api/balances");
    if (!result.ok) return;
    fill(document.querySelector("#balances tbody"), ...result.body.map((line) =>
      el("tr", { "data-asset": line.asset },
        el("th", { scope: "row" }, line.asset),
        el("td", { class: "num", "data-testid": `available-${line.asset}` }, line.available),
        el("td", { class: "num", "data-testid": `held-${line.asset}` }, line.held))));
  }

  let balancesPending = null;
  function refreshBalancesSoon() {
    clearTimeout(balancesPending);
    balancesPending = setTimeout(loadBalances, 150);
  }

  function fromWithdrawal(w) {
    return { kind: "withdrawal", id: w.id, amount: w.amount, asset: w.asset, to: w.address, status: w.status, txHash: w.txHash,
      confirmations: w.confirmations, createdAt: w.createdAt, updatedAt: null, error: w.error };
  }

  function fromTransfer(t) {
    return { kind: "transfer", id: t.id, amount: t.amount, asset: t.asset, to: t.to, status: t.status, txHash: null,
      confirmations: null, createdAt: t.createdAt, updatedAt: null, error: t.error };
  }

  async function loadHistory() {
    const result = await api("/api/withdrawals?pageSize=50");
    if (!result.ok) return;
    for (const w of result.body.items) merge(fromWithdrawal(w));
    renderHistory();
  }

  async function fetchRequest(kind, id) {
    const result = await api(`/api/${kind === "transfer" ? "transfers" : "withdrawals"}/${id}`);
    if (result.ok) {
      merge(kind === "transfer" ? fromTransfer(result.body) : fromWithdrawal(result.body));
      renderHistory();
      if (id === currentId) renderCurrent();
    }
  }

  /** Keeps the newest state of a request; an older event arriving late changes nothing. */
  function merge(update) {
    const known = requests.get(update.id);
    if (known && known.updatedAt && update.updatedAt && new Date(update.updatedAt) < new Date(known.updatedAt)) return known;
    if (known && known.updatedAt && !update.updatedAt) {
      // A read of the details, maybe older than the live state already shown: it fills in, never sets back.
      update = { ...update, status: undefined, txHash: undefined, confirmations: undefined };
    }
    const merged = { ...(known || {}), ...Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined && v !== null)) };
    requests.set(update.id, merged);
    return merged;
  }

  function renderHistory() {
    const rows = [...requests.values()].filter((r) => r.createdAt)
      .sort((a, b) => new Date(b.createdAt) - new Date(a.createdAt));
    document.getElementById("history-empty").hidden = rows.length > 0;
    fill(document.querySelector("#history tbody"), ...rows.map((r) =>
      el("tr", { "data-request-id": r.id },
        el("td", {}, Exchange.when(r.createdAt)),
        el("td", {}, r.kind === "transfer" ? "Transfer" : "Withdrawal"),
        el("td", { class: "num" }, `${r.amount} ${r.asset}`),
        el("td", { class: r.kind === "withdrawal" ? "mono" : "" }, r.to || ""),
        el("td", {}, Exchange.statusBadge(r.status)),
        el("td", { class: "mono", "data-testid": "tx-hash", title: r.txHash || "" }, r.txHash ? Exchange.shortHash(r.txHash) : "—"),
        el("td", { class: "num", "data-testid": "confirmations" }, r.confirmations ?? "—"),
        el("td", {}, r.kind === "withdrawal" && r.status === "pending_approval"
          ? el("button", { type: "button", class: "danger", "aria-label": `Cancel the withdrawal of ${r.amount} ${r.asset}`, onclick: () => cancel(r.id) }, "Cancel")
          : null))));
  }

  async function cancel(id) {
    const result = await api(`/api/withdrawals/${id}/cancel`, { method: "POST" });
    if (!result.ok) alert((result.body && result.body.title) || "The withdrawal could not be cancelled.");
    await fetchRequest("withdrawal", id);
    refreshBalancesSoon();
  }

  function renderCurrent() {
    const r = requests.get(currentId);
    if (!r) return;
    const panel = document.getElementById("current");
    panel.hidden = false;
    const path = steps[r.kind];
    const index = path.indexOf(r.status);
    const ended = index < 0;
    fill(document.getElementById("current-body"),
      el("p", {}, r.message ? el("span", { class: "message" }, `“${r.message}”`) : `${r.kind} of ${r.amount} ${r.asset}`),
      el("p", {}, "Status: ", el("span", { id: "current-status", "data-status": r.status, class: "status" }, Exchange.statusLabels[r.status] || r.status),
        " ", el("span", { class: "muted" }, `(${r.status})`)),
      ended ? (r.error ? el("p", { class: "muted" }, r.error) : null)
        : el("ol", { class: "steps", "aria-label": "Progress" }, path.map((step, i) =>
          el("li", { class: i < index || r.status === "confirmed" ? "done" : i === index ? "now" : "", "aria-current": i === index ? "step" : null }, stepLabels[step]))),
      r.status === "pending_approval" ? el("p", { class: "notice" }, "Open VivoKey on your phone and tap your implant to approve.") : null,
      r.txHash ? el("p", {}, "Transaction ", el("span", { class: "mono", id: "current-tx" }, r.txHash)) : null,
      r.confirmations !== null && r.confirmations !== undefined ? el("p", {}, "Confirmations: ", el("strong", { id: "current-confirmations" }, String(r.confirmations))) : null);
  }

  // Live updates: each event is a request's state after a change committed on any instance.
  function listen() {
    const dot = document.getElementById("live-dot");
    const state = document.getElementById("live-state");
    const source = new EventSource("/api/events");
    source.addEventListener("ready", () => {
      dot.classList.add("on");
      state.textContent = "Live: updates appear here by themselves.";
      document.body.dataset.live = "on";
    });
    source.addEventListener("status", (event) => {
      const change = JSON.parse(event.data);
      const known = requests.get(change.id);
      merge(change);
      if (!known || !known.createdAt) fetchRequest(change.kind, change.id);
      renderHistory();
      if (change.id === currentId) renderCurrent();
      refreshBalancesSoon();
    });
    source.onerror = () => {
      dot.classList.remove("on");
      state.textContent = "Reconnecting to live updates…";
      document.body.dataset.live = "off";
    };
  }

  // The phone's words, asked of the exchange itself while the trader types: exactly what the challenge will say.
  function preview(form) {
    const kind = form.dataset.kind;
    const target = document.getElementById(`${kind === "transfer" ? "transfer" : "withdraw"}-message`);
    const empty = kind === "transfer" ? "Fill in the amount and receiver to see it." : "Fill in the amount and address to see it.";
    let timer = null;
    let asked = 0;
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const data = new FormData(form);
        const query = new URLSearchParams([...data.entries()].filter(([k]) => k !== "idempotencyKey"));
        if ([...data.values()].some((v) => !String(v).trim())) {
          target.textContent = empty;
          delete target.dataset.ready;
          return;
        }
        const ticket = ++asked;
        const result = await api(`/api/${kind === "transfer" ? "transfers" : "withdrawals"}/preview?${query}`);
        if (ticket !== asked) return;
        if (result.ok) {
          target.textContent = result.body.challengeMessage;
          target.dataset.ready = "true";
        } else {
          target.textContent = empty.replace("Fill in", "Correct");
          delete target.dataset.ready;
        }
      }, 250);
    });
  }

  function submit(form) {
    Exchange.clearOnInput(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      const kind = form.dataset.kind;
      const body = Object.fromEntries(new FormData(form).entries());
      button.disabled = true;
      const result = await api(kind === "transfer" ? "/api/transfers" : "/api/withdrawals",
        { json: body, headers: { "Idempotency-Key": crypto.randomUUID() } });
      button.disabled = false;
      if (!result.ok) {
        Exchange.showProblem(form, result.body, result.status);
        return;
      }
      Exchange.clearErrors(form);
      currentId = result.body.id;
      merge({ kind, id: result.body.id, status: result.body.status, message: result.body.challengeMessage, amount: body.amount, asset: body.asset,
        to: kind === "transfer" ? body.to : body.address, createdAt: new Date().toISOString() });
      renderCurrent();
      renderHistory();
      fetchRequest(kind, result.body.id);
      refreshBalancesSoon();
      document.getElementById("current").scrollIntoView({ behavior: "smooth", block: "nearest" });
    });
  }

  function credit() {
    const form = document.getElementById("credit-form");
    Exchange.clearOnInput(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await api("/api/dev/credit", { json: Object.fromEntries(new FormData(form).entries()) });
      if (!result.ok) {
        Exchange.showProblem(form, result.body, result.status);
        return;
      }
      Exchange.clearErrors(form);
      await loadBalances();
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const me = await Exchange.signedIn();
    Exchange.navigation(me, "/");
    if (!me) {
      Exchange.askToSignIn();
      return;
    }
    document.getElementById("app").hidden = false;
    document.getElementById("my-handle").textContent = me.handle || "";
    for (const form of [document.getElementById("withdraw-form"), document.getElementById("transfer-form")]) {
      preview(form);
      submit(form);
    }
    credit();
    const dev = await api("/api/dev");
    document.getElementById("dev-credit").hidden = !dev.ok;
    await Promise.all([loadBalances(), loadHistory()]);
    listen();
    document.body.dataset.ready = "true";
  });
})();
