/* Ed25519 signing keys kept in the browser, for the committee's reserve page (reserve.js) and the
 * bidder page (bid_signing.js). Plain JavaScript, no build step.
 *
 * A private key is a CryptoKey made (or imported) not extractable: the page can sign with it,
 * no script can read it out. IndexedDB stores CryptoKey objects as they are (structured clone),
 * so a reload, or the next visit, signs with the same key. The public half of a pair is always
 * exportable: it is kept beside the private key as raw bytes in hex, as the server takes it.
 */
"use strict";

window.AuctionKeys = (() => {
  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /* One IndexedDB database holding entries by id ({privateKey, publicHex, …}). */
  function keyStore(name) {
    function open() {
      return new Promise((resolve, reject) => {
        const req = indexedDB.open(name, 1);
        req.onupgradeneeded = () => req.result.createObjectStore("keys");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }

    async function run(mode, work) {
      const db = await open();
      try {
        return await new Promise((resolve, reject) => {
          const tx = db.transaction("keys", mode);
          const req = work(tx.objectStore("keys"));
          tx.oncomplete = () => resolve(req.result);
          tx.onerror = () => reject(tx.error);
        });
      } finally {
        db.close();
      }
    }

    return {
      load: (id) => run("readonly", (s) => s.get(id)),
      save: (id, entry) => run("readwrite", (s) => s.put(entry, id)),
    };
  }

  /* A new Ed25519 pair whose private half is not extractable. Throws (NotSupportedError) in a
   * browser without Ed25519 in WebCrypto, or without WebCrypto (not a secure context). */
  async function newPair() {
    if (!window.crypto || !window.crypto.subtle) throw new DOMException("no WebCrypto here", "NotSupportedError");
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    return { privateKey: pair.privateKey, publicHex: hex(await crypto.subtle.exportKey("raw", pair.publicKey)) };
  }

  async function sign(privateKey, bytes) {
    return hex(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, bytes));
  }

  return { hex, keyStore, newPair, sign };
})();
