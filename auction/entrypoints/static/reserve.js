// The reserve decision in the committee member's browser (Q26, docs/rules.md).
//
// The amount is sealed here, to the escrow public key, with exactly the server's
// scheme (auction/adapters/sealing/escrow.py; static/sealing.js, shared with the
// tender bidder's page): info "land-auction reserve v1|" + session id, the session
// id the associated data. The commitment is SHA-256 over "<fen>:<salt>" (domain/bidding/session.py
// reserve_commitment). The form posts only the commitment and the envelope: the
// amount field has no name, so the amount and the salt never leave the browser.
//
// Each member signs the decision record (domain/plan/plans.py decision_record:
// canonical JSON, sorted keys, no spaces, UTF-8) with Ed25519. The private key is
// a CryptoKey kept in IndexedDB (keystore.js), made here (not extractable) or imported from the
// PEM file `auction committee keygen` wrote (then kept not extractable either).
"use strict";

const A = window.Auction;  // common.js: the words, from /i18n.js in the page's language

const INFO = "land-auction reserve v1|";
const DB = "auction-committee";
const te = new TextEncoder();

// sealing.js: the escrow scheme, shared with the tender bidder's page; keystore.js: the keys kept in IndexedDB.
const { hex, unhex, keyIdOf, newSalt, sealTo } = window.Sealing;
const sha256Hex = (text) => window.Sealing.sha256Hex(text);

// "8000.5" 万元 -> "80005000000" fen, as digits (no floating point); null if not a valid amount.
function wanToFen(text) {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,6}))?\s*$/.exec(String(text).replace(/,/g, ""));
  if (!m) return null;
  const fen = (m[1] + (m[2] || "").padEnd(6, "0")).replace(/^0+/, "");
  return fen === "" ? null : fen;
}

// "4500.00" 元 -> "450000" fen; null if not a positive amount with at most 2 decimals.
function yuanToFen(text) {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$/.exec(String(text).replace(/,/g, ""));
  if (!m) return null;
  const fen = (m[1] + (m[2] || "").padEnd(2, "0")).replace(/^0+/, "");
  return fen === "" ? null : fen;
}

function commitmentOf(fen, salt) {
  return sha256Hex(`${fen}:${salt}`);
}

// The envelope, as escrow.py ReserveSealer.seal makes it: bound to the session (info and aad).
async function sealReserve(escrowPublicHex, sessionId, fen, salt) {
  const plain = `{"amount": ${fen}, "salt": "${salt}"}`;  // json.dumps's own spacing
  const sealed = await sealTo(escrowPublicHex, INFO + sessionId, sessionId, plain);
  return { commitment: await commitmentOf(fen, salt), ...sealed };
}

// domain/plan/plans.py decision_record: json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False).
function decisionRecord(d) {
  const record = {
    appraisal_id: d.appraisal_id,
    commitment: d.commitment,
    decided_at: d.decided_at,
    floor_price_fen_per_m2: d.floor_price_fen_per_m2,
    has_reserve: d.commitment !== null,
    members: d.members,
    plan_id: d.plan_id,
  };
  // decided_at (µs) and the floor price are integers below 2^53: JSON.stringify writes them as Python does.
  return te.encode(JSON.stringify(record));
}

// ---------------------------------------------------------------------------
// the member's key: IndexedDB, one CryptoKey pair per console account

const committeeKeys = window.AuctionKeys.keyStore(DB);
const loadKey = (member) => committeeKeys.load(member);
const saveKey = (member, entry) => committeeKeys.save(member, entry);

async function generateKey(member) {
  const pair = await window.AuctionKeys.newPair();
  await saveKey(member, { ...pair, source: "generated" });
  return pair.publicHex;
}

function pemToDer(pem) {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const bin = atob(body);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// The PEM (PKCS#8) file `auction committee keygen` wrote. Imported once extractable only to read
// its public half, then again not extractable: that one is kept.
async function importKeyFile(member, pem) {
  const der = pemToDer(pem);
  const readable = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", readable);
  const publicRaw = Uint8Array.from(atob(jwk.x.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  const publicHex = hex(publicRaw);
  await saveKey(member, { privateKey, publicHex, source: "imported" });
  return publicHex;
}

const signRecord = (privateKey, bytes) => window.AuctionKeys.sign(privateKey, bytes);

// ---------------------------------------------------------------------------
// the key panel (templates/key_panel.html), on every page a member signs on: the key kept
// in this browser against the registered one; buttons marked data-needs-key work only when
// they match. `onKey(entry)` receives the key (or null) whenever it changes.

function keyPanel(member, registeredHex, say, onKey) {
  const status = document.getElementById("key-status");
  if (!status) return;  // only a member's page has the key panel: an operator follows it without a key
  let key = null;
  function showKey(entry) {
    key = entry || null;
    onKey(key);
    const match = !key ? "none" : !registeredHex ? "unregistered" : key.publicHex === registeredHex ? "yes" : "no";
    status.dataset.match = match;
    document.getElementById("key-public").textContent = key ? key.publicHex : "—";
    status.textContent = {
      none: A.tp("js.key_none"),
      unregistered: A.tp("js.key_unregistered"),
      yes: A.tp("js.key_matches"),
      no: A.tp("js.key_differs"),
    }[match];
    document.querySelectorAll("[data-needs-key]").forEach((b) => { b.disabled = match !== "yes"; });
  }
  loadKey(member).then(showKey, (e) => say(`IndexedDB: ${e}`, "error"));
  document.getElementById("key-generate").addEventListener("click", async () => {
    if (key && !confirm(A.tp("js.key_replace"))) return;
    await generateKey(member);
    showKey(await loadKey(member));
  });
  const file = document.getElementById("key-file");
  file.addEventListener("change", async () => {
    try {
      await importKeyFile(member, await file.files[0].text());
      showKey(await loadKey(member));
    } catch (e) {
      say(`${A.tp("js.key_unreadable")} (${e.name || e})`, "error");
    }
  });
}

window.reserveCrypto = { keyPanel, sealReserve, decisionRecord, signRecord, commitmentOf, newSalt, wanToFen, yuanToFen, keyIdOf, hex, unhex,
                         generateKey, importKeyFile, loadKey };

// ---------------------------------------------------------------------------
// the page

(function page() {
  const root = document.getElementById("reserve");
  if (!root) return;
  const member = root.dataset.member;
  const planId = root.dataset.planId;
  const sessionId = root.dataset.sessionId;
  const escrowHex = root.dataset.escrowPublic;
  const registeredHex = root.dataset.registeredKey || "";
  const offset = Number(root.dataset.serverTimeUs) - Date.now() * 1000;  // the server's clock, as the live view
  const serverNowUs = () => Math.floor(Date.now() * 1000 + offset);
  const note = document.getElementById("reserve-note");
  let key = null;

  function say(text, cls) {
    note.textContent = text;
    note.className = cls || "notice";
  }

  keyPanel(member, registeredHex, say, (entry) => { key = entry; });

  // Keep a typed amount across a refused submission, in this tab only (never sent).
  const amount = document.getElementById("amount");
  if (amount) {
    amount.value = sessionStorage.getItem(`reserve-amount:${planId}`) || "";
    amount.addEventListener("input", () => {
      sessionStorage.setItem(`reserve-amount:${planId}`, amount.value);
      const fen = wanToFen(amount.value);
      document.getElementById("amount-check").textContent = fen === null ? "" : `= ${window.Auction.formatFen(Number(fen))}`;  // 15 digits at most: exact
    });
  }
  const noReserve = document.getElementById("no-reserve");

  const prepare = document.getElementById("prepare-form");
  // One id per form shown: the same form sent twice is kept once.
  if (prepare) prepare.elements.draft_id.value = crypto.randomUUID();
  if (prepare) prepare.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = prepare.elements;
    const members = Array.from(document.querySelectorAll("input.member:checked"), (c) => c.value);
    const none = noReserve && noReserve.checked;
    const fen = none ? null : wanToFen(amount.value);
    if (!none && fen === null) {
      document.getElementById("amount-error").textContent = A.tp("js.type_reserve");
      return;
    }
    // Q27: not below the benchmark total this page shows, refused here before anything is sealed
    // or signed (the server can judge it only once it opens the envelope, at the last signature).
    const benchmark = root.dataset.benchmarkFen;
    if (!none && benchmark && BigInt(fen) < BigInt(benchmark)) {
      const code = "Q27_BELOW_BENCHMARK";
      document.getElementById("amount-error").textContent = A.rejectionText({
        code, message: (window.AUCTION_CODES || {})[code], details: {},
      }) + ` ≥ ${A.formatWan(Number(benchmark))}`;
      amount.focus();
      return;
    }
    document.getElementById("amount-error").textContent = "";
    const floor = yuanToFen(f.floor_price_yuan_per_m2.value);
    if (floor === null) {
      document.getElementById("floor-error").textContent = A.tp("js.floor_price_format");
      return;
    }
    const decidedAt = serverNowUs();
    let sealed = { commitment: null, key_id: "", nonce_hex: "", ciphertext_hex: "" };
    if (!none) sealed = await sealReserve(escrowHex, sessionId, fen, newSalt());
    const record = decisionRecord({
      plan_id: planId, decided_at: decidedAt, members, commitment: sealed.commitment,
      appraisal_id: f.appraisal_id.value, floor_price_fen_per_m2: Number(floor),
    });
    f.members.value = members.join(",");
    f.decided_at_us.value = String(decidedAt);
    f.has_reserve.value = none ? "no" : "yes";
    f.commitment.value = sealed.commitment || "";
    f.key_id.value = sealed.key_id;
    f.nonce_hex.value = sealed.nonce_hex;
    f.ciphertext_hex.value = sealed.ciphertext_hex;
    f.signature_hex.value = await signRecord(key.privateKey, record);
    prepare.submit();
  });

  const sign = document.getElementById("sign-form");
  if (sign) sign.addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = document.getElementById("draft").dataset;
    const record = decisionRecord({
      plan_id: planId, decided_at: Number(d.decidedAt), members: d.members.split(","),
      commitment: d.commitment || null, appraisal_id: d.appraisalId,
      floor_price_fen_per_m2: Number(d.floorPrice),
    });
    // Sign only what this page shows: the server's bytes must be the record rebuilt here.
    if (hex(record) !== d.recordHex) {
      say(A.tp("js.record_differs"), "error");
      return;
    }
    sign.elements.signature_hex.value = await signRecord(key.privateKey, record);
    sign.submit();
  });
})();
