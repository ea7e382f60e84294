// The tender's page (RULES 6), in the console and on the public watchers' page.
//
// Live: the page follows the tender through GET /tender/{id} (the public view) and reloads
// itself when the phase or the status changes (bids opening at their time), or, on a page without a score sheet being typed, when
// another member signs: the opening at its set time is seen as it happens.
//
// The score sheet (console, a panel member): the typed scores become the record the
// server verifies (domain/tender/tender.py score_sheet_record: canonical JSON, keys
// sorted as strings, no spaces, UTF-8), signed with the member's Ed25519 key kept in
// this browser (static/reserve.js: the key panel and IndexedDB of the reserve decision).
"use strict";

(function tender() {
  const root = document.getElementById("tender");
  if (!root) return;
  const A = window.Auction;
  const tenderId = root.dataset.tenderId;
  const form = document.getElementById("score-form");

  // --- live
  const POLL_MS = 2000;
  const countdown = document.getElementById("tender-countdown");  // while bids are taken
  let offsetUs = null;  // the server's clock (its Date header) minus this one's
  async function poll() {
    try {
      const r = await fetch(`/tender/${encodeURIComponent(tenderId)}`, { cache: "no-store" });
      offsetUs = A.serverOffsetUs(r) ?? offsetUs;
      if (r.ok) {
        const v = await r.json();
        const signed = v.panel ? String(v.panel.signed) : root.dataset.signed;
        const moved = v.phase !== root.dataset.phase || (v.status && v.status !== root.dataset.status);
        if (moved || (!form && signed !== root.dataset.signed)) {
          window.location.reload();
          return;
        }
      }
    } catch (e) {
      // the server away for a moment: try again
    }
    setTimeout(poll, POLL_MS);
  }
  /* The time left to the bid deadline by the server's clock, as the bid page counts it; at the
   * deadline the status moves and the poll reloads the page. */
  function tick() {
    if (offsetUs === null) return;
    const now = A.nowUs() + offsetUs;
    const left = Number(countdown.dataset.deadlineUs) - now;
    countdown.textContent = A.duration(Math.max(0, left));
    countdown.classList.toggle("urgent", left > 0 && left < 60e6);
    const clock = document.getElementById("tender-server-time");
    if (clock) clock.textContent = A.cst(now).split(" ")[1];
  }
  if (countdown) {
    poll();  // the server's clock at once, not a poll later
    setInterval(tick, 250);
  } else if (root.dataset.phase !== "ENDED") setTimeout(poll, POLL_MS);

  // --- a panel member's key and score sheet
  const keys = document.getElementById("member-keys");
  if (!keys) return;
  const C = window.reserveCrypto;
  const member = keys.dataset.member;
  const note = document.getElementById("score-note") || document.getElementById("key-status");
  let key = null;

  function say(text, cls) {
    note.textContent = text;
    note.className = cls || "notice";
  }

  C.keyPanel(member, keys.dataset.registeredKey || "", say, (entry) => { key = entry; });
  if (!form) return;

  // Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) for these records:
  // objects with keys sorted as strings (JSON.stringify would put integer-like keys first, numerically).
  function canonical(value) {
    if (value !== null && typeof value === "object") {
      const keys = Object.keys(value).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const scores = {};
    for (const input of form.querySelectorAll("input.score")) {
      const text = input.value.trim();
      const n = Number(text);
      if (!/^\d{1,3}$/.test(text) || n > 100) {
        say(A.tp("js.tender_score_range"), "error");
        input.focus();
        return;
      }
      (scores[input.dataset.bidderNo] = scores[input.dataset.bidderNo] || {})[input.dataset.criterion] = n;
    }
    const record = canonical({ member_id: member, scores, tender_id: tenderId });
    form.elements.scores_json.value = JSON.stringify(scores);
    form.elements.signature_hex.value = await C.signRecord(key.privateKey, new TextEncoder().encode(record));
    form.submit();
  });
})();
