/* The bidder page's signed bids and receipts (docs/protocol.md, section 9). Plain JavaScript.
 *
 * In a session whose terms say `signed_bids`, the page signs every bid with the bidder's own
 * Ed25519 key: a CryptoKey made here, not extractable, kept in this browser's IndexedDB
 * (keystore.js), one per session and bidder number, so a reload signs with the same key. Its
 * public half is registered once over the WebSocket (`register_key`); the same key again is
 * answered the same. The bytes signed are those of clients/transparency.py `bid_bytes`.
 *
 * Every ack's receipt (the center's signature over the bid's place in the log) is kept in
 * localStorage and offered as the JSON file `auction-verify --receipts` reads, the same as
 * clients/bidder.py `save_receipts` writes: {"session_id", "receipts": [... by seq]}.
 */
"use strict";

window.BidSigning = (() => {
  const K = window.AuctionKeys;
  const keys = K.keyStore("auction-bidder");
  const te = new TextEncoder();
  const made = new Map();  // "session:bidder" -> the promise of its key: one key even when asked twice at once

  /* clients/transparency.py bid_bytes: JSON with sorted keys, no spaces, UTF-8. The keys are written
   * in sorted order; the ids are strings and the amounts and seqs safe integers, which
   * JSON.stringify writes as Python's json.dumps(ensure_ascii=False) does. */
  function bidBytes(sessionId, bidderNo, amountFen, bidId, lastSeq) {
    return te.encode(JSON.stringify({
      amount_fen: amountFen, bid_id: bidId, bidder_no: bidderNo, kind: "bid",
      last_seq: lastSeq === undefined ? null : lastSeq, session_id: sessionId,
    }));
  }

  /* This bidder's key for the session: the one kept in this browser, or a new one (then kept). */
  function keyFor(sessionId, bidderNo) {
    const id = `${sessionId}:${bidderNo}`;
    if (!made.has(id)) {
      made.set(id, (async () => {
        const kept = await keys.load(id);
        if (kept) return kept;
        const pair = await K.newPair();
        await keys.save(id, { ...pair, made_at: Date.now() });
        return pair;
      })());
      made.get(id).catch(() => made.delete(id));  // a failure may be tried again
    }
    return made.get(id);
  }

  /* The signature (hex) of a bid message {bid_id, amount_fen, last_seq}. */
  function signBid(privateKey, sessionId, bidderNo, message) {
    return K.sign(privateKey, bidBytes(sessionId, bidderNo, message.amount_fen, message.bid_id, message.last_seq));
  }

  // ------------------------------------------------------------ receipts

  const receiptsKey = (sessionId, bidderNo) => `auction.receipts:${sessionId}:${bidderNo}`;

  function receipts(sessionId, bidderNo) {
    try {
      const kept = JSON.parse(localStorage.getItem(receiptsKey(sessionId, bidderNo)) || "[]");
      return Array.isArray(kept) ? kept : [];
    } catch (e) {
      return [];
    }
  }

  /* Keep a receipt beside those `held` (one per seq: an ack sent again after a reconnection is
   * kept once); returns them all, by seq. */
  function keepReceipt(sessionId, bidderNo, receipt, held = []) {
    const bySeq = new Map([...receipts(sessionId, bidderNo), ...held].map((r) => [r.seq, r]));
    bySeq.set(receipt.seq, receipt);
    const sorted = Array.from(bySeq.values()).sort((a, b) => a.seq - b.seq);
    try {
      localStorage.setItem(receiptsKey(sessionId, bidderNo), JSON.stringify(sorted));
    } catch (e) { /* storage off or full: the receipts of this page's life are still offered */ }
    return sorted;
  }

  /* The file `auction-verify --receipts FILE` reads, downloaded by the browser. */
  function download(sessionId, bidderNo, list) {
    const body = JSON.stringify({ session_id: sessionId, receipts: list }, null, 1);
    const url = URL.createObjectURL(new Blob([body], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `receipts-${sessionId}-${bidderNo}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  return { bidBytes, keyFor, signBid, receipts, keepReceipt, download };
})();
