/* The trading hall's live view: follows one session over /ws as a watcher (no token:
 * only what docs/protocol.md gives every watcher), with the countdown from the server's
 * clock, the bid ladder by anonymous bidder number, and the outcome once it is announced. */
"use strict";

(() => {
  const A = window.Auction;
  const $ = (id) => document.getElementById(id);
  const live = $("live");
  if (!live) return;
  let state = null;
  let commitment = live.dataset.commitment || "";  // published at the open; the revealed reserve is checked against it

  function render() {
    if (!state) return;
    A.renderFigures(state);
    $("ladder-empty").hidden = $("ladder-rows").rows.length > 0;
    const o = state.outcome;
    if (state.phase === "CLOSED" && o) {
      $("outcome").hidden = false;
      $("outcome").dataset.outcome = o.outcome;
      $("outcome-text").textContent = o.outcome === "SOLD"
        ? `${A.t("live.sold")} · ${A.t("live.winner")} ${o.winner_bidder_no} · ${A.t("live.price")} ${A.formatWan(o.price_fen)}`
        : `${A.t("live.unsold")} · ${A.CLOSE_REASONS[o.reason] || o.reason}`;
      if (o.reserve_fen !== null && o.reserve_fen !== undefined) {
        A.setText("t-reserve", `${A.formatWan(o.reserve_fen)}（${A.t("reserve.revealed")}）`);
      }
      A.showReserve(o, commitment);
    } else if (state.phase === "TERMINATED" || state.phase === "HELD") {
      $("outcome").hidden = false;
      $("outcome").dataset.outcome = state.phase;
      $("outcome-text").textContent = A.phaseText(state.phase);
    }
  }

  function logEvent(e) {
    if (e.event === "BidAccepted") return;  // in the ladder
    let text = A.EVENTS[e.event] || e.event;
    if (e.data && typeof e.data.reason === "string" && e.event !== "SessionClosed") text += `：${A.CLOSE_REASONS[e.data.reason] || e.data.reason}`;
    $("event-log").prepend(A.el("li", { "data-seq": String(e.seq), "data-event": e.event }, `${A.when(e.at_us)}  ${text}`));
  }

  A.watch({
    sessionId: live.dataset.sessionId,
    clock: A.when,
    status: (s) => A.t({ connecting: "live.connecting", live: "live.live", reconnecting: "live.reconnecting" }[s] || s),
    render(next) {
      state = next;
      render();
    },
    welcome(w, resumed) {
      if (!resumed) $("event-log").textContent = "";
      if (w.terms && w.terms.reserve_commitment) commitment = w.terms.reserve_commitment;
    },
    event(e) {
      if ((e.event === "SessionOpened" || e.event === "ReserveSealed") && e.data.reserve_commitment) {
        commitment = e.data.reserve_commitment;
      }
      logEvent(e);
    },
  });
})();
