/* The console's live view: follows the session over /ws as a watcher (no token, so
 * nothing but the public protocol), updates price, phase, countdown and the bid
 * ladder, and re-draws the page from the server once the session has ended. */
"use strict";

(() => {
  const A = window.Auction;
  const $ = (id) => document.getElementById(id);

  // The revealed reserve, checked in this browser too (the server's check is on the page).
  document.querySelectorAll("[data-check-commitment]").forEach(async (node) => {
    const check = await A.checkCommitment(node.dataset.reserveFen, node.dataset.salt, node.dataset.commitment);
    node.dataset.ok = String(check.ok);
    node.textContent = check.ok === null ? A.tp("js.cannot_check_here")
      : check.ok ? A.t("js.browser_matches", { computed: check.computed })
        : A.t("js.browser_mismatch", { computed: check.computed });
  });

  const live = $("live");
  if (!live) return;
  const wasFinal = live.dataset.final === "true";
  let state = null;
  let reloading = false;

  function render() {
    if (!state) return;
    A.renderFigures(state);
    if (!wasFinal && !reloading && (A.FINAL_PHASES.has(state.phase) || state.phase === "HELD")) {
      reloading = true;  // the outcome, the revealed reserve and (now) the identities come from the server
      A.setText("live-note", A.tp("js.loading_outcome"));
      setTimeout(() => location.replace(location.pathname), 800);
    }
  }

  A.watch({
    sessionId: live.dataset.sessionId,
    status: (s) => A.tp({ connecting: "live.connecting", live: "live.live", reconnecting: "live.reconnecting" }[s] || s),
    render(next) {
      state = next;
      render();
    },
    welcome(w) {
      if (w.terms.reserve_commitment) A.setText("commitment", w.terms.reserve_commitment);
    },
    event(e) {
      if ((e.event === "SessionOpened" || e.event === "ReserveSealed") && e.data.reserve_commitment) {
        A.setText("commitment", e.data.reserve_commitment);
      }
    },
  });
})();
