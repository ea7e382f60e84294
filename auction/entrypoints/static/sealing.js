/* Sealing to the trading center's escrow key in the browser, with exactly the server's scheme
 * (auction/adapters/sealing/escrow.py `seal_to`): an ephemeral X25519 key agrees a secret with
 * the escrow key; HKDF-SHA256 (no salt, `info`) derives an AES-256-GCM key; `aad` binds the
 * ciphertext to its place. One copy for every page that seals: the committee's reserve
 * (reserve.js) and the tender bidder's bid (tender_bid.js). Needs keystore.js (`hex`).
 * Plain JavaScript, no build step. */
"use strict";

window.Sealing = (() => {
  const te = new TextEncoder();
  const { hex } = window.AuctionKeys;

  function unhex(text) {
    if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error("not hex");
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  function concat(a, b) {
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  /* SHA-256 in hex of a text (UTF-8) or of bytes. */
  async function sha256Hex(data) {
    return hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? te.encode(data) : data));
  }

  /* A fresh salt: 16 random bytes in hex, as secrets.token_hex(16). */
  function newSalt() {
    return hex(crypto.getRandomValues(new Uint8Array(16)));
  }

  /* escrow.py key_id_of. */
  async function keyIdOf(rawPublic) {
    return (await sha256Hex(concat(te.encode("escrow-key-id:"), rawPublic))).slice(0, 16);
  }

  /* `plain` (bytes or text) sealed to the escrow public key (hex): {key_id, nonce_hex,
   * ciphertext_hex}, the ciphertext being the ephemeral public key then the AES-GCM output. */
  async function sealTo(escrowPublicHex, info, aad, plain) {
    const escrowRaw = unhex(escrowPublicHex);
    const escrow = await crypto.subtle.importKey("raw", escrowRaw, { name: "X25519" }, false, []);
    const ephemeral = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
    const shared = await crypto.subtle.deriveBits({ name: "X25519", public: escrow }, ephemeral.privateKey, 256);
    const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const aes = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: te.encode(info) },
      ikm, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const body = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: te.encode(aad), tagLength: 128 }, aes,
      typeof plain === "string" ? te.encode(plain) : plain);
    const ephemeralRaw = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
    return {
      key_id: await keyIdOf(escrowRaw),
      nonce_hex: hex(nonce),
      ciphertext_hex: hex(concat(ephemeralRaw, new Uint8Array(body))),
    };
  }

  return { hex, unhex, concat, sha256Hex, newSalt, keyIdOf, sealTo };
})();
