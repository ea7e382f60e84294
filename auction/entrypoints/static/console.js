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
    node.textContent = check.ok === null ? "浏览器无法校验（需 HTTPS） / this browser cannot check (needs HTTPS)"
      : check.ok ? `✓ 浏览器复核一致 / checked in this browser: ${check.computed}`
        : `✗ 浏览器复核不一致 / does NOT match in this browser: ${check.computed}`;
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
      A.setText("live-note", "交易已结束，正在载入结果… / The session has ended: loading the outcome…");
      setTimeout(() => location.replace(location.pathname), 800);
    }
  }

  A.watch({
    sessionId: live.dataset.sessionId,
    status: (s) => ({ connecting: "正在连接… / Connecting…", live: "实时 / Live",
      reconnecting: "连接中断，正在重连… / Reconnecting…" }[s] || s),
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
