// The applications page follows the bank's confirmations: every 10 s it fetches itself
// and swaps the ledger and the confirmations in (never while someone types a reason).
"use strict";
(function follow() {
  if (!document.getElementById("money")) return;
  const swap = ["ledger", "payments"];
  async function refresh() {
    const active = document.activeElement;
    if (active && active.tagName === "INPUT") return;
    try {
      const r = await fetch(location.pathname, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (!r.ok || !r.url.endsWith(location.pathname)) return;  // signed out: leave the page as it is
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      for (const id of swap) {
        const fresh = doc.getElementById(id);
        if (fresh) document.getElementById(id).replaceWith(fresh);
      }
      document.getElementById("refreshed").dataset.at = String(Date.now());
    } catch (e) {
      // offline for a moment: the next round tries again
    }
  }
  setInterval(refresh, 10000);
})();
