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
    } else if (state.phase === "TERMINATED" || state.phase === "HELD") {
      $("outcome").hidden = false;
      $("outcome").dataset.outcome = state.phase;
      $("outcome-text").textContent = A.phaseText(state.phase);
    }
  }

  function logEvent(e) {
    if (e.event === "BidAccepted") return;  // in the ladder
    let text = A.EVENTS[e.event] || e.event;
    if (e.data && typeof e.data.reason === "string" && e.event !== "SessionClosed") text += `：${e.data.reason}`;
    $("event-log").prepend(A.el("li", { "data-seq": String(e.seq), "data-event": e.event }, `${A.when(e.at_us)}  ${text}`));
  }

  function status(s) {
    const box = $("conn");
    box.dataset.state = s;
    box.textContent = A.t({ connecting: "live.connecting", live: "live.live", reconnecting: "live.reconnecting" }[s] || s);
  }

  const feed = new A.SessionFeed({
    sessionId: live.dataset.sessionId,
    onStatus: status,
    onWelcome(w, resumed) {
      if (!resumed) {
        $("ladder-rows").textContent = "";  // rebuilt from the log, seq 1 on
        $("event-log").textContent = "";
      }
      state = w.state;
      render();
    },
    onEvent(e, current) {
      if (e.event === "BidAccepted") A.addLadderRow($("ladder-rows"), e, null);
      logEvent(e);
      if (current) {
        state = e.state;
        render();
      }
    },
    onTick(serverNow) {
      A.setText("server-time", A.when(serverNow));
      if (!state) return;
      const [label, left] = A.timeLeft(state, serverNow);
      const labelNode = $("countdown-label");
      if (labelNode.dataset.i18n !== label) {
        labelNode.dataset.i18n = label;
        A.applyI18n(labelNode.parentNode);
      }
      A.setText("countdown", left === null ? "—" : A.duration(left));
      $("countdown").classList.toggle("urgent", left !== null && left < 60e6);
    },
    onFatal(m) {
      A.setText("live-note", A.rejectionText(m));
    },
  });
  window.auctionFeed = feed;
  feed.start();
})();
