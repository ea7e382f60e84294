/* A tender bidder's page (投标, RULES 6.2): the tender's terms and status, a countdown to the
 * bid deadline, and one sealed bid. The price (万元, exact fen), the optional proposal file and
 * a fresh salt are sealed here, to the escrow public key, exactly as clients/tender.py does
 * (auction/adapters/sealing/tender_bids.py `seal_bid`, with static/sealing.js): only the
 * commitment and the envelope are posted. The receipt and the salt are then shown and offered
 * as a JSON file with which anyone can recompute the commitment.
 *
 * The token comes from the sign-in on /bid (bid.js), kept in this tab's sessionStorage; it is
 * sent only as `Authorization: Bearer`, never in a URL or a cookie. */
"use strict";

(() => {
  const A = window.Auction;
  const S = window.Sealing;
  const $ = (id) => document.getElementById(id);
  const STORE_KEY = "auction.bidder";  // bid.js writes it: {token, tender_id, bidder_no}
  const INFO = "land-auction tender bid v1|";  // tender_bids.py INFO
  const POLL_MS = 5000;

  let who = null;
  let view = null;  // GET /tender/{id}
  let offsetUs = 0;  // the server's clock (its Date header) minus this one's
  let kept = null;  // the submitted bid's record (receipt, price, salt): shown, downloadable
  let theirs = null;  // the server's receipt of this bidder's bid (`you.bid`), e.g. submitted in another tab
  let pending = null;  // the bid the confirmation step shows: {fen, proposal: File | null}
  let lastError = null;  // a refusal, drawn again on a language switch
  let busy = false;

  const serverNowUs = () => A.nowUs() + offsetUs;
  const usOf = (iso) => (iso ? Date.parse(iso) * 1000 : null);
  const keptKey = () => `auction.tender-bid:${who.tender_id}:${who.bidder_no}`;

  function signedIn() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      return saved && saved.token && saved.tender_id ? saved : null;
    } catch (e) {
      return null;
    }
  }

  function signOut() {
    sessionStorage.removeItem(STORE_KEY);
    location.assign("/bid");
  }

  // ------------------------------------------------------------ the tender, from the server

  async function load(withToken) {
    const headers = withToken ? { authorization: `Bearer ${who.token}` } : {};
    const r = await fetch(`/tender/${encodeURIComponent(who.tender_id)}`, { headers, credentials: "omit", cache: "no-store" });
    offsetUs = A.serverOffsetUs(r) ?? offsetUs;
    const body = await r.json();
    if (!r.ok) throw body.error || { code: "SERVICE_UNAVAILABLE" };
    if (body.you) {
      who.bidder_no = body.you.bidder_no;  // what the bid is bound to
      theirs = body.you.bid || null;  // the bid is in, wherever it was submitted (the public view has no `you`)
    }
    view = body;
    render();
  }

  async function refresh() {
    try {
      await load(false);  // the public view: the status and the opening; the token is not needed again
    } catch (e) { /* away for a moment: the next round tries again */ }
  }

  // ------------------------------------------------------------ drawing

  /* A label's [zh, en], or the name in both when the table lacks it (an operator's own reason). */
  const words = (key, name) => (window.AUCTION_I18N || {})[key] || [name, name];

  /* The time the status's words name (auction/domain/tender/status.py). */
  function statusAt(status, terms) {
    return { BIDS_NOT_OPEN: terms.bids_open_at, RESERVE_PENDING: terms.bids_open_at, NO_RESERVE: terms.bid_deadline,
             TAKING_BIDS: terms.bid_deadline, BIDS_CLOSED: terms.opening_at,
             SUSPENDED: view.suspension && view.suspension.since }[status] || null;  // RULES 6.7: since when
  }

  function renderTerms() {
    const terms = view.terms;
    $("whoami").textContent = A.t("js.tender_whoami", { no: who.bidder_no, tender: view.tender_id });
    A.setText("my-no", String(who.bidder_no));
    A.setText("t-tender", view.tender_id);
    A.setText("t-parcel", terms.parcel_ref);
    A.setText("t-evaluation", A.tp(`tender.evaluation.${terms.evaluation}`));
    A.setText("t-start", `${A.formatWan(terms.start_price_fen)}（${A.formatFen(terms.start_price_fen)}）`);
    A.setText("t-deposit", A.formatWan(terms.deposit_fen));
    A.setText("t-bids-open", A.cstMinute(usOf(terms.bids_open_at)));
    // Held (RULES 6.7): the times shown no longer hold; the resumption announces new ones.
    const held = view.suspension ? ` ${A.tp("tender.superseded")}` : "";
    A.setText("t-deadline", A.cstMinute(usOf(terms.bid_deadline)) + held);
    A.setText("t-opening", A.cstMinute(usOf(terms.opening_at)) + held);
    const result = view.result;
    const reserve = $("t-reserve");
    reserve.dataset.reserveFen = result && result.reserve_fen !== null ? String(result.reserve_fen) : "";
    if (result && result.reserve_fen !== null && result.reserve_fen !== undefined) {  // revealed at the end
      reserve.textContent = `${A.formatWan(result.reserve_fen)}（${A.formatFen(result.reserve_fen)}） · `
        + A.tp("js.tender_reserve_revealed");
    } else if (result && view.reserve_commitment) {
      reserve.textContent = A.tp("js.tender_reserve_not_revealed");
    } else {
      reserve.textContent = A.tp(view.reserve_commitment ? "tender.reserve_sealed" : "tender.reserve_pending");
    }
    const criteria = (terms.criteria || []).map((c) => `${c.name} ${c.weight}`);
    A.setText("t-criteria", terms.evaluation === "SCORING"
      ? [`${A.t("tender.price_weight")} ${terms.price_weight}`, ...criteria].join("；") : "—");
    $("watch-link").href = `/hall/tenders/${encodeURIComponent(view.tender_id)}`;
  }

  function renderStatus() {
    const node = $("status");
    node.textContent = A.tp(`tender.status.${view.status}`);
    node.dataset.status = view.status;
    const at = statusAt(view.status, view.terms);
    A.setText("status-at", at ? `${A.t(`tender.status_at.${view.status}`)} ${A.cstMinute(usOf(at))}` : "");
  }

  /* The button only while a bid is taken (TAKING_BIDS) and this bidder's bid is not in yet (in this
   * tab, or by the server's word wherever it was submitted); else why not. */
  function renderForm() {
    // Past the deadline by the server's clock the bids are closed, before the next answer says so.
    const late = view.status === "TAKING_BIDS" && serverNowUs() >= usOf(view.terms.bid_deadline);
    const status = late ? "BIDS_CLOSED" : view.status;
    const submitted = kept !== null || theirs !== null;
    const reason = kept ? A.tp("js.tender_bid_kept")
      : theirs ? A.tp("js.tender_bid_in", { at: A.cst(usOf(theirs.received_at)) })
        : status === "TAKING_BIDS" ? "" : `${A.t("js.tender_cannot_bid")}：${A.tp(`tender.status.${status}`)}`;
    const off = busy || status !== "TAKING_BIDS" || submitted;
    $("seal-submit").disabled = off;
    for (const id of ["price", "proposal", "irrevocable"]) $(id).disabled = submitted;
    if (off && pending) cancelConfirm();  // the deadline passed while the step was open
    $("bid-closed").textContent = reason;
    $("bid-closed").dataset.status = submitted ? "SUBMITTED" : status;
  }

  function renderOpened() {
    const opening = view.opening;
    const result = view.result;
    $("opened-card").hidden = !opening && !result;
    const node = $("opened-mine");
    const mine = opening ? opening.bids.find((b) => b.bidder_no === who.bidder_no) : null;
    node.dataset.priceFen = mine && mine.price_fen !== null ? String(mine.price_fen) : "";
    node.textContent = !opening ? "" : !mine ? A.tp("js.tender_opened_none") : A.tp("js.tender_opened_mine", {
      price: mine.price_fen === null ? "—" : `${A.formatWan(mine.price_fen)}（${A.formatFen(mine.price_fen)}）`,
      valid: words(`tender.bid_reason.${mine.reason || (mine.valid ? "VALID" : "UNREADABLE")}`, mine.reason || ""),
    });
    renderResult(result);
  }

  /* Whether this bidder won (中标), lost to another, or the tender ended otherwise, and why; and
   * the revealed reserve, checked in this browser against the commitment published before the
   * bids (RULES 6.6), once per reserve (the view is fetched again and again). */
  let reserveShown = "";
  function renderResult(result) {
    const node = $("result-mine");
    node.dataset.outcome = "";
    node.textContent = "";
    if (!result) return;
    const reserveKey = `${result.reserve_fen}:${result.reserve_salt}:${view.reserve_commitment}`;
    if (result.reserve_salt && reserveKey !== reserveShown) {
      reserveShown = reserveKey;
      A.showReserve(result, view.reserve_commitment);
    }
    const price = result.price_fen === null ? "—" : `${A.formatWan(result.price_fen)}（${A.formatFen(result.price_fen)}）`;
    if (result.winner_bidder_no !== null && result.winner_bidder_no === who.bidder_no) {
      node.dataset.outcome = "WON";
      node.textContent = A.tp("js.tender_you_won", { price });
    } else if (result.winner_bidder_no !== null) {
      node.dataset.outcome = "NOT_AWARDED";
      node.textContent = A.tp("js.tender_you_lost", { no: result.winner_bidder_no, price });
    } else {
      node.dataset.outcome = result.outcome;
      node.dataset.reason = result.reason || "";
      node.textContent = A.tp("js.tender_ended_otherwise", {
        outcome: words(`tender.outcome.${result.outcome}`, result.outcome),
        reason: words(`tender.reason.${result.reason}`, result.reason || "—"),
      });
    }
  }

  function renderError() {
    const box = $("bid-error");
    box.dataset.code = (lastError && lastError.code) || "";
    box.textContent = !lastError ? "" : lastError.label ? A.tp(lastError.label, lastError.values)
      : lastError.text || refusalText(lastError);
  }

  function render() {
    if (!view) return;
    if (typeof view.proposal_max_bytes === "number") {
      A.setText("proposal-max", A.tp("js.tender_file_max", { max: megabytes(view.proposal_max_bytes) }));
    }
    renderTerms();
    renderStatus();
    renderForm();
    renderOpened();
    renderKept();
    renderConfirm();
    renderError();
  }

  function tick() {
    const now = serverNowUs();
    A.setText("server-time", A.cst(now).split(" ")[1]);
    if (!view) return;
    const left = usOf(view.terms.bid_deadline) - now;
    A.setText("countdown", A.duration(Math.max(0, left)));
    $("countdown").classList.toggle("urgent", left > 0 && left < 60e6);
    // The status moves at the times it names (bids open, the deadline): ask then, not a poll later.
    // A suspension's time is behind it: only the operator moves it on, which the poll sees.
    const at = view.status === "SUSPENDED" ? null : usOf(statusAt(view.status, view.terms));
    if (at !== null && now >= at && !tick.asked) {
      tick.asked = true;
      refresh().finally(() => { tick.asked = false; });
    }
    renderForm();
  }

  // ------------------------------------------------------------ refusals, in words

  /* The server's refusal as the page says it: the codes' words (common.js, /i18n.js), with a tender's
   * own words where the auction's would mislead ("bidding has not started"). */
  function refusalText(error) {
    const d = error.details || {};
    if (error.code === "SESSION_NOT_OPEN") {
      return `${A.tp("js.tender_not_open", { at: A.cst(usOf(d.opens_at)) })} [${error.code}]`;
    }
    if (error.code === "TENDER_BID_ALREADY_SUBMITTED" && d.receipt) {
      return `${A.rejectionText(error)} ${A.t("js.tender_first_receipt", { receipt: d.receipt, at: A.cst(usOf(d.submitted_at)) })}`;
    }
    if (error.code === "TENDER_BID_DEADLINE_PASSED" && d.deadline) {
      return `${A.rejectionText(error)}（${A.t("tender.bid_deadline")} ${A.cst(usOf(d.deadline))}）`;
    }
    return A.rejectionText(error);
  }

  // ------------------------------------------------------------ sealing and submitting

  function base64(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }

  /* tender.py bid_commitment. */
  function commitmentOf(tenderId, bidderNo, priceFen, proposalSha256, salt) {
    return S.sha256Hex(`tender-bid:${tenderId}:${bidderNo}:${priceFen}:${proposalSha256}:${salt}`);
  }

  /* tender_bids.py seal_bid: {price, salt, proposal_sha256, proposal (base64)} sealed to the
   * escrow key, bound to "{tender_id}|{bidder_no}" (the key's info and the associated data). */
  async function sealBid(escrowHex, tenderId, bidderNo, priceFen, proposal) {
    const salt = S.newSalt();
    const digest = await S.sha256Hex(proposal);
    const plain = JSON.stringify({ price: priceFen, salt, proposal_sha256: digest, proposal: base64(proposal) });
    const place = `${tenderId}|${bidderNo}`;
    const sealed = await S.sealTo(escrowHex, INFO + place, place, plain);
    return {
      salt, proposal_sha256: digest, commitment: await commitmentOf(tenderId, bidderNo, priceFen, digest, salt),
      envelope: { key_id: sealed.key_id, nonce: sealed.nonce_hex, ciphertext: sealed.ciphertext_hex },
    };
  }

  /* '12.3 MB': a file's size as the refusal and the hint state it. */
  function megabytes(bytes) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }

  /* The file's size against what one sealed bid can carry (the server's `proposal_max_bytes`):
   * refused here, before the sealing, rather than as the server's 413 after the upload. */
  function fileTooLarge() {
    const file = $("proposal").files[0];
    const max = view.proposal_max_bytes;
    if (!file || typeof max !== "number" || file.size <= max) return null;
    return { code: "BODY_TOO_LARGE", text: A.tp("js.tender_file_too_large", { size: megabytes(file.size), max: megabytes(max) }) };
  }

  async function proposalBytes(file) {
    return file ? new Uint8Array(await file.arrayBuffer()) : new Uint8Array(0);
  }

  function refuse(error) {
    lastError = error;
    renderError();
  }

  /* The form's button: the price, the file and the tick checked here, then the last step
   * (askToConfirm) before anything is sealed. A price below the starting price is refused: the
   * server cannot read it, and the opening would find the irrevocable bid invalid. */
  function submit(event) {
    event.preventDefault();
    refuse(null);
    let fen;
    try {
      fen = A.parseWan($("price").value);
    } catch (e) {
      refuse({ text: e.message });  // parseWan's words, both languages
      $("price").focus();
      return;
    }
    const start = view.terms.start_price_fen;
    if (fen < start) {
      refuse({ code: "BELOW_START_PRICE", label: "js.tender_below_start",
               values: { price: A.formatWan(fen), start: A.formatWan(start) } });
      $("price").focus();
      return;
    }
    const tooLarge = fileTooLarge();
    if (tooLarge) {
      refuse(tooLarge);
      return;
    }
    if (!$("irrevocable").checked) {
      refuse({ label: "js.tender_confirm_first" });
      return;
    }
    askToConfirm(fen, $("proposal").files[0] || null);
  }

  function askToConfirm(fen, file) {
    pending = { fen, file };
    renderConfirm();
    $("confirm").hidden = false;
    $("seal-submit").hidden = true;
    $("confirm-yes").focus();
  }

  function renderConfirm() {
    if (!pending) return;
    A.setText("confirm-wan", A.formatWan(pending.fen));
    A.setText("confirm-words", `人民币${A.fenToCapital(pending.fen)}`);
    A.setText("confirm-yuan", A.formatYuan(pending.fen));
    A.setText("confirm-fen", A.formatFen(pending.fen));
    A.setText("confirm-file", pending.file
      ? `${pending.file.name}（${pending.file.size.toLocaleString("en-US")} 字节 / bytes）` : A.tp("js.tender_no_file"));
    $("confirm").dataset.priceFen = String(pending.fen);
  }

  function cancelConfirm() {
    pending = null;
    $("confirm").hidden = true;
    $("seal-submit").hidden = false;
  }

  async function sealAndSubmit() {
    if (!pending || $("seal-submit").disabled) return;
    const { fen, file } = pending;  // exactly what the step showed
    cancelConfirm();
    busy = true;
    renderForm();
    $("sealing").hidden = false;
    try {
      const sealed = await sealBid(view.escrow_public_key_hex, view.tender_id, who.bidder_no, fen, await proposalBytes(file));
      const r = await fetch(`/tender/${encodeURIComponent(view.tender_id)}/bid`, {
        method: "POST", credentials: "omit", cache: "no-store",
        headers: { "content-type": "application/json", authorization: `Bearer ${who.token}` },
        body: JSON.stringify({ commitment: sealed.commitment, envelope: sealed.envelope }),
      });
      const body = await r.json().catch(() => ({}));
      if (r.status !== 201) {
        refuse(body.error || { code: "SERVICE_UNAVAILABLE", message: `HTTP ${r.status}` });
        if (body.error && body.error.code === "TENDER_BID_ALREADY_SUBMITTED") load(true).catch(() => {});  // show it
        return;
      }
      if (body.commitment !== sealed.commitment) {  // as clients/tender.py: the receipt must name this bid
        refuse({ label: "js.tender_receipt_mismatch" });
        return;
      }
      keep({ tender_id: view.tender_id, bidder_no: who.bidder_no, price_fen: fen, proposal_sha256: sealed.proposal_sha256,
             salt: sealed.salt, commitment: sealed.commitment, receipt: body });
    } catch (e) {
      // No X25519 in this browser, or no network: nothing was sent unsealed.
      refuse({ text: `${A.tp(e instanceof TypeError ? "js.cannot_reach" : "js.tender_cannot_seal")} (${(e && (e.name || e.message)) || e})` });
    } finally {
      busy = false;
      $("sealing").hidden = true;
      renderForm();
    }
  }

  // ------------------------------------------------------------ the receipt and the salt

  /* Kept in this tab (sessionStorage, beside the token) so a reload still shows the salt to save. */
  function keep(record) {
    kept = record;
    try {
      sessionStorage.setItem(keptKey(), JSON.stringify(record));
    } catch (e) { /* storage full or off: the page shows it until it is closed */ }
    $("price").value = "";
    $("proposal").value = "";
    $("price-words").textContent = "";
    render();
    $("receipt-card").scrollIntoView({ block: "start" });
  }

  function renderKept() {
    $("receipt-card").hidden = !kept && !theirs;
    $("bid-elsewhere").hidden = kept !== null || theirs === null;
    $("salt-warning").hidden = !kept;
    $("receipt-download").hidden = !kept;
    if (!kept && theirs) {  // in by the server's word, sealed elsewhere: the price and the salt are not here
      const unknown = A.tp("js.tender_salt_elsewhere");
      A.setText("r-price", unknown);
      A.setText("r-proposal", "—");
      A.setText("r-commitment", theirs.commitment);
      A.setText("r-receipt", theirs.receipt);
      A.setText("r-ciphertext", theirs.ciphertext_sha256);
      A.setText("r-at", A.cst(usOf(theirs.received_at)));
      A.setText("r-salt", unknown);
      return;
    }
    if (!kept) return;
    A.setText("r-price", `${A.formatWan(kept.price_fen)}（${A.formatFen(kept.price_fen)}）`);
    A.setText("r-proposal", kept.proposal_sha256);
    A.setText("r-commitment", kept.commitment);
    A.setText("r-receipt", kept.receipt.receipt);
    A.setText("r-ciphertext", kept.receipt.ciphertext_sha256);
    A.setText("r-at", A.cst(usOf(kept.receipt.received_at)));
    A.setText("r-salt", kept.salt);
  }

  /* The record anyone can check: sha256("tender-bid:{tender_id}:{bidder_no}:{price_fen}:
   * {proposal_sha256}:{salt}") is the commitment, which the opening publishes beside the price. */
  function download() {
    const record = { ...kept, commitment_text: `tender-bid:${kept.tender_id}:${kept.bidder_no}:${kept.price_fen}:`
      + `${kept.proposal_sha256}:${kept.salt}`, commitment_is: "sha256(commitment_text)" };
    const blob = new Blob([JSON.stringify(record, null, 2)], { type: "application/json" });
    const a = A.el("a", { href: URL.createObjectURL(blob), download: `tender-bid-${kept.tender_id}-${kept.bidder_no}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  function showWords() {
    try {
      $("price-words").textContent = $("price").value.trim() ? `人民币${A.fenToCapital(A.parseWan($("price").value))}` : "";
    } catch (e) {
      $("price-words").textContent = "";
    }
  }

  // ------------------------------------------------------------ wiring

  const pageTitle = () => { document.title = A.tp("tbid.page_title"); };
  A.languageSwitch(() => {
    pageTitle();
    render();
  });
  pageTitle();
  who = signedIn();
  if (!who) {
    location.replace("/bid");  // signed in there, with the token
    return;
  }
  try {
    kept = JSON.parse(sessionStorage.getItem(keptKey()) || "null");
  } catch (e) {
    kept = null;
  }
  $("sign-out").addEventListener("click", signOut);
  $("bid-form").addEventListener("submit", submit);
  $("confirm-yes").addEventListener("click", sealAndSubmit);
  $("confirm-no").addEventListener("click", () => {
    cancelConfirm();
    $("price").focus();
  });
  $("price").addEventListener("input", () => {
    showWords();
    if (pending) cancelConfirm();  // the step shows what is typed now, or nothing
  });
  $("proposal").addEventListener("change", () => { if (pending) cancelConfirm(); });
  $("receipt-download").addEventListener("click", download);
  load(true).then(() => {
    tick();  // the countdown and the server's time at once, not a quarter second later
    setInterval(tick, 250);
    setInterval(refresh, POLL_MS);
  }, (error) => {
    // The token no longer signs in (re-issued, expired) or the server is away: the reason; 退出登录 leads back.
    const box = $("load-error");
    box.hidden = false;
    box.textContent = error && error.code ? A.rejectionText(error) : A.tp("js.cannot_reach");
    $("seal-submit").disabled = true;
  });
})();
