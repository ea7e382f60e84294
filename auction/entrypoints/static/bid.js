/* The bidder's page: sign in with the bidding token, follow the session, bid with a
 * confirmation step (万元 and 大写), see every answer in plain Chinese. A tender's token
 * goes on to the tender's bid page (/bid/tender, tender_bid.js), the token kept in the tab. In a session of
 * signed bids every bid is signed with this browser's own key (bid_signing.js); every
 * ack's receipt is kept and offered for `auction-verify --receipts`. */
"use strict";

(() => {
  const A = window.Auction;
  const $ = (id) => document.getElementById(id);
  const STORE_KEY = "auction.bidder";  // {token, session_id | tender_id, bidder_no}: tender_bid.js reads it too
  const TENDER_PAGE = "/bid/tender";

  let feed = null;
  let me = null;  // my bidder number
  let terms = null;
  let state = null;
  let pendingAmount = null;
  let connected = false;
  const mine = new Map();  // bid_id -> {seq, amount_fen, at_us}
  const S = window.BidSigning;
  let sessionId = null;
  let signedBids = false;  // the session's terms say so: every bid is signed
  let key = null;  // {privateKey (not extractable), publicHex}
  let keyState = "off";  // preparing, registering, registered, mismatch, unsupported, failed
  let keyError = "";
  let receipts = [];  // the center's signed receipts of my acks, by seq

  // ------------------------------------------------------------ sign-in

  function saved() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    } catch (e) {
      return null;
    }
  }

  let signInError = null;  // {error, retryAfter}: drawn again on a language switch

  /* The sign-in's refusal in both languages, as the rest of the page: a wrong token, or too many
   * from this address and how long to wait (the answer's Retry-After, in seconds). */
  function signInText({ error, retryAfter }) {
    if (error.code === "INVALID_TOKEN") return `${A.tp("js.signin_invalid_token")} [${error.code}]`;
    if (error.code === "TOKEN_ATTEMPTS_LIMIT") {
      const seconds = Number.parseInt(retryAfter || "", 10);
      return `${Number.isFinite(seconds) && seconds >= 0 ? A.tp("js.signin_wait", { seconds })
        : A.tp("js.signin_wait_minute")} [${error.code}]`;
    }
    return A.rejectionText(error);
  }

  function showSignInError() {
    const box = $("signin-error");
    box.textContent = signInError ? signInText(signInError) : "";
    box.dataset.code = signInError ? signInError.error.code : "";
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $("token").value.trim();
    signInError = null;
    showSignInError();
    $("signin-button").disabled = true;
    try {
      const r = await fetch("/bid/session", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }),
        credentials: "omit", cache: "no-store",
      });
      const body = await r.json();
      if (!r.ok) {
        signInError = { error: body.error || { code: "INVALID_TOKEN" }, retryAfter: r.headers.get("retry-after") };
        showSignInError();
        return;
      }
      $("token").value = "";
      if (body.tender_id) {  // a tender's token (RULES 6.2): its own page seals the bid and posts it
        sessionStorage.setItem(STORE_KEY, JSON.stringify({ token, tender_id: body.tender_id, bidder_no: body.bidder_no }));
        location.assign(TENDER_PAGE);
        return;
      }
      const who = { token, session_id: body.session_id, bidder_no: body.bidder_no, parcel: body.parcel || null };
      sessionStorage.setItem(STORE_KEY, JSON.stringify(who));
      start(who);
    } catch (e) {
      $("signin-error").textContent = A.tp("js.cannot_reach");
    } finally {
      $("signin-button").disabled = false;
    }
  }

  function signOut(message) {
    if (feed) feed.stop();
    feed = null;
    key = null;
    signedBids = false;
    setKeyState("off");
    sessionStorage.removeItem(STORE_KEY);
    $("app").hidden = true;
    $("user-box").hidden = true;
    $("signin").hidden = false;
    signInError = null;
    $("signin-error").textContent = message || "";
  }

  function start(who) {
    me = who.bidder_no;
    $("signin").hidden = true;
    $("app").hidden = false;
    $("user-box").hidden = false;
    $("whoami").textContent = A.t("js.whoami", { no: me, session: who.session_id });
    $("my-no").textContent = String(me);
    renderParcel(who.parcel);
    sessionId = who.session_id;
    receipts = S.receipts(sessionId, me);
    renderReceipts();
    feed = new A.SessionFeed({
      sessionId: who.session_id, token: who.token, onWelcome, onEvent, onReply, onStatus, onFatal, onTick, onError, onKey,
    });
    window.auctionFeed = feed;  // for the browser tests: reconnects, pending bids
    feed.start();
  }

  // ------------------------------------------------------------ what the server says

  function onStatus(s) {
    connected = s === "live";
    renderState();  // no new bids while the link is down (an in-flight one is re-sent, same bid_id)
    const box = $("conn");
    box.dataset.state = s;
    box.textContent = A.t({ connecting: "live.connecting", live: "bid.connected", reconnecting: "bid.reconnecting" }[s] || s);
  }

  function onFatal(m) {
    signOut(A.rejectionText(m));
  }

  function onError(m) {
    if (m.code === "BIDDER_KEY_REGISTERED") setKeyState("mismatch");
    $("bid-result").className = "error";
    $("bid-result").textContent = A.rejectionText(m);
  }

  function onWelcome(w, resumed) {
    terms = w.terms;
    if (w.bidder_no !== null && w.bidder_no !== undefined) me = w.bidder_no;
    renderTerms();
    signedBids = terms.signed_bids === true;
    if (signedBids) prepareKey();
    for (const b of w.my_bids || []) mine.set(b.bid_id, b);
    renderMine();
    if (!resumed) {
      $("ladder-rows").textContent = "";
      $("event-log").textContent = "";
    }
    state = w.state;
    renderState();
  }

  function onEvent(e, current) {
    if (e.event === "BidAccepted") A.addLadderRow($("ladder-rows"), e, me);
    if (e.event === "SessionOpened" || e.event === "ReserveSealed") {
      terms = { ...terms, has_reserve: e.data.has_reserve, reserve_commitment: e.data.reserve_commitment };
      renderTerms();
    }
    logEvent(e);
    if (current) {
      state = e.state;
      renderState();
      if (e.event === "SessionSuspended") notice(A.t("js.suspended", { reason: e.data.reason }));
      else if (e.event === "SessionResumed") notice(A.t("js.resumed"));
      else if (e.event === "TimedBiddingStarted") notice(A.t("js.timed_bidding"));
      else if (e.event === "IncrementChanged") notice(A.t("js.increment_changed", { increment: A.formatWan(e.data.increment_fen), reason: e.data.reason }));
    }
  }

  let lastReply = null;  // drawn again in the other language on a switch

  function onReply(m) {
    lastReply = m;
    const box = $("bid-result");
    if (m.type === "ack") {
      mine.set(m.bid_id, { bid_id: m.bid_id, seq: m.seq, amount_fen: m.amount_fen, at_us: m.at_us });
      renderMine();
      if (m.receipt && typeof m.receipt === "object") {  // kept once per seq
        receipts = S.keepReceipt(sessionId, me, m.receipt, receipts);
        renderReceipts();
      }
      box.className = "ok";
      box.textContent = A.t("js.accepted", { amount: A.formatWan(m.amount_fen), seq: m.seq });
    } else {
      box.className = "error";
      box.textContent = `${A.t("js.refused")}：${A.rejectionText(m)}`;
      box.dataset.code = m.code;
    }
  }

  function onTick(serverNow) {
    $("server-time").textContent = A.cst(serverNow).split(" ")[1];
    if (!state) return;
    A.renderCountdown(state, serverNow);
  }

  // ------------------------------------------------------------ drawing

  function renderTerms() {
    if (!terms) return;
    A.setText("t-session", terms.session_id);
    A.setText("t-parcel", terms.parcel_ref);
    A.setText("t-method", A.METHODS[terms.method] || terms.method);
    A.setText("t-start", `${A.formatWan(terms.start_price_fen)}（${A.formatFen(terms.start_price_fen)}）`);
    A.setText("t-deposit", A.formatWan(terms.deposit_fen));
    A.setText("t-start-at", A.cstMinute(terms.start_at_us));
    A.setText("t-listing-end", terms.listing_end_at_us ? A.cstMinute(terms.listing_end_at_us) : `—（${A.t("js.auction_no_listing_end")}）`);
    A.setText("t-countdown", A.duration(terms.countdown_us));
    let reserve = A.tp("js.reserve_not_sealed");
    if (terms.has_reserve === true) reserve = A.t("js.reserve_sealed", { commitment: terms.reserve_commitment });
    else if (terms.has_reserve === false) reserve = A.tp("js.reserve_none");
    A.setText("t-reserve", reserve);
  }

  const PLANNING = {  // units as auction/domain/plan/parcels.py keeps them: basis points, centimetres
    building_density_max_bp: ["建筑密度不大于", (v) => `${v / 100}%`],
    green_ratio_min_bp: ["绿地率不小于", (v) => `${v / 100}%`],
    height_limit_cm: ["建筑限高", (v) => `${v / 100} 米`],
    notes: ["其他", (v) => v],
  };

  function planning(key, value) {
    const known = PLANNING[key];
    return known ? `${known[0]} ${known[1](value)}` : `${key}: ${value}`;
  }

  /* The announced parcel facts (N Art.9), for a session made from a supply plan: the labels in
   * the chosen language first (redrawn on a switch). */
  let shownParcel = null;
  function renderParcel(parcel) {
    shownParcel = parcel;
    const list = $("parcel-facts");
    list.textContent = "";
    if (!parcel) return;
    const ratio = (h) => (h === null || h === undefined ? "—" : (h / 100).toFixed(2));
    const rows = [
      ["宗地编号", "Parcel no.", parcel.parcel_no],
      ["坐落", "Location", parcel.location],
      ["面积", "Area", parcel.area_m2 ? `${parcel.area_m2} 平方米（${parcel.area_hectares} 公顷）` : null],
      ["用途", "Land use", parcel.land_use_name ? `${parcel.land_use_name}（${parcel.land_use}）` : parcel.land_use],
      ["出让年限", "Term", parcel.term_years ? `${parcel.term_years} 年` : null],
      ["容积率", "Plot ratio", `${ratio(parcel.plot_ratio_min)} – ${ratio(parcel.plot_ratio_max)}`],
      ["四至", "Boundaries", parcel.boundaries],
      ["现状", "Current state", parcel.current_state],
      ["规划条件", "Planning", parcel.planning && Object.keys(parcel.planning).length
        ? Object.entries(parcel.planning).filter(([, v]) => v !== null && v !== "").map(([k, v]) => planning(k, v)).join("；")
        : null],
      ["竞买条件", "Bidder conditions", parcel.bidder_conditions || A.tp("js.none")],
    ];
    const english = A.lang() === "en";
    for (const [zh, en, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      list.append(A.el("dt", {}, `${english ? en : zh} `, A.el("small", {}, english ? zh : en)), A.el("dd", {}, String(value)));
    }
  }

  function renderState() {
    if (!state) return;
    A.renderFigures(state);
    if (state.highest_bidder_no !== null && state.highest_bidder_no === me) {
      A.setText("highest-no", `${state.highest_bidder_no}（${A.t("js.me")}）`);
    }
    A.setText("min-next-fen", state.min_next_fen ? A.formatFen(state.min_next_fen) : "");
    A.setText("t-increment", A.formatWan(state.increment_fen));
    // Timed bidding is for the bidders who bid during the listing (RULES 4.4): a bid of this
    // bidder's accepted before timed bidding started is one of `mine`.
    const outOfTimed = state.phase === "TIMED_BIDDING" && mine.size === 0;
    const open = A.OPEN_PHASES.has(state.phase) && !outOfTimed;
    $("bid-button").disabled = !open || !connected || (signedBids && keyState !== "registered");
    $("use-min").disabled = !open || !state.min_next_fen;
    // Why the button is off, in the words the server would use for a bid now.
    const closedCode = open ? null : outOfTimed ? "NOT_IN_TIMED_BIDDING"
      : state.phase === "SUSPENDED" ? "SESSION_SUSPENDED" : state.phase === "HELD" ? "SESSION_HELD"
      : state.phase === "SCHEDULED" || state.phase === "NEW" ? "SESSION_NOT_OPEN" : "SESSION_CLOSED";
    $("bid-closed").textContent = closedCode === null ? ""
      : `${A.t("js.cannot_bid_now")}：${A.codeText(closedCode, { opens_at: state.opens_at_us, resume_at: state.resume_at_us })}`;
    if (A.FINAL_PHASES.has(state.phase) || state.phase === "HELD") renderOutcome();
  }

  function renderMine() {
    const rows = Array.from(mine.values()).sort((a, b) => b.seq - a.seq);
    const tbody = $("my-bids");
    tbody.textContent = "";
    for (const b of rows) {
      tbody.append(A.el("tr", { "data-seq": String(b.seq), "data-amount": String(b.amount_fen) },
        A.el("td", { class: "num" }, String(b.seq)), A.el("td", {}, A.cst(b.at_us)),
        A.el("td", { class: "num", title: A.formatFen(b.amount_fen) }, A.formatWan(b.amount_fen))));
    }
  }

  function logEvent(e) {
    if (e.event === "BidAccepted") return;  // in the ladder
    let text = A.EVENTS[e.event] || e.event;
    if (e.data && e.data.reason && typeof e.data.reason === "string" && e.event !== "SessionClosed") text += `：${e.data.reason}`;
    $("event-log").prepend(A.el("li", { "data-seq": String(e.seq), "data-event": e.event }, `${A.cst(e.at_us)}  ${text}`));
  }

  function notice(text) {
    $("notice").textContent = text;
  }

  async function renderOutcome() {
    const box = $("outcome");
    box.hidden = false;
    $("bid-card").classList.add("ended");
    $("bid-result").textContent = "";
    $("bid-result").className = "";
    notice("");
    const o = state.outcome;
    if (state.phase === "TERMINATED") {
      box.dataset.outcome = "TERMINATED";
      $("outcome-text").textContent = `${A.tp("js.terminated")}${state.end_reason ? `：${state.end_reason}` : ""}`;
      return;
    }
    if (state.phase === "HELD" || !o) {
      box.dataset.outcome = "HELD";
      $("outcome-text").textContent = A.tp("js.held");
      return;
    }
    box.dataset.outcome = o.outcome;
    if (o.outcome === "SOLD") {
      $("outcome-text").textContent =
        A.t("js.sold", { no: o.winner_bidder_no, price: A.formatWan(o.price_fen), words: A.fenToCapital(o.price_fen) });
      $("outcome-mine").textContent = o.winner_bidder_no === me
        ? A.tp("js.you_won")
        : A.tp("js.you_lost");
    } else {
      $("outcome-text").textContent = `${A.tp("js.not_sold")}：${A.CLOSE_REASONS[o.reason] || o.reason}`;
    }
    await A.showReserve(o, terms.reserve_commitment);
  }

  // ------------------------------------------------------------ signed bids and receipts (docs/protocol.md section 9)

  /* This browser's key for the session (kept in IndexedDB, made on the first visit), registered
   * with the server on every new connection until the server has said it holds it. */
  async function prepareKey() {
    if (!key) {
      if (keyState !== "preparing") setKeyState("preparing");
      try {
        key = await S.keyFor(sessionId, me);
      } catch (e) {
        key = null;
        keyError = (e && (e.name || e.message)) || String(e);
        setKeyState(e && e.name === "NotSupportedError" ? "unsupported" : "failed");
        return;
      }
      feed.signer = (message) => S.signBid(key.privateKey, sessionId, me, message);
    }
    if (keyState === "registered" || keyState === "mismatch") return;
    setKeyState("registering");
    feed.registerKey(key.publicHex);
  }

  function onKey(m) {
    setKeyState(key && m.public_key === key.publicHex ? "registered" : "mismatch");
  }

  function setKeyState(s) {
    keyState = s;
    renderKey();
    renderState();
  }

  function renderKey() {
    const box = $("key-box");
    box.hidden = !signedBids || keyState === "off";
    const status = $("key-status");
    status.dataset.state = keyState;
    status.className = keyState === "registered" ? "notice ok"
      : ["mismatch", "unsupported", "failed"].includes(keyState) ? "notice error" : "notice";
    status.textContent = keyState === "off" ? "" : A.tp(`js.bid_key_${keyState}`, { error: keyError });
    $("key-public").textContent = key ? key.publicHex : "—";
  }

  function renderReceipts() {
    $("receipts-box").hidden = receipts.length === 0;
    $("receipts-count").textContent = A.tp("js.receipts_count", { count: receipts.length });
    $("receipts-download").dataset.count = String(receipts.length);
  }

  // ------------------------------------------------------------ bidding with a confirmation step

  function showWords() {
    const text = $("amount").value;
    if (!text.trim()) {
      $("amount-words").textContent = "";
      return;
    }
    try {
      const fen = A.parseWan(text);
      $("amount-words").textContent = `人民币${A.fenToCapital(fen)}`;
    } catch (e) {
      $("amount-words").textContent = "";
    }
  }

  function askToConfirm(event) {
    event.preventDefault();
    const box = $("bid-result");
    box.textContent = "";
    box.className = "";
    let fen;
    try {
      fen = A.parseWan($("amount").value);
    } catch (e) {
      box.className = "error";
      box.textContent = e.message;
      return;
    }
    pendingAmount = fen;
    A.setText("confirm-wan", A.formatWan(fen));
    A.setText("confirm-words", `人民币${A.fenToCapital(fen)}`);
    A.setText("confirm-yuan", A.formatYuan(fen));
    A.setText("confirm-fen", A.formatFen(fen));
    $("confirm").hidden = false;
    $("confirm-yes").focus();
  }

  function confirmBid() {
    $("confirm").hidden = true;
    if (pendingAmount === null || !feed) return;
    feed.bid(pendingAmount);
    pendingAmount = null;
    const box = $("bid-result");
    box.className = "";
    box.textContent = A.tp("js.sent");
  }

  function cancelBid() {
    $("confirm").hidden = true;
    pendingAmount = null;
  }

  function useMinimum() {
    if (state && state.min_next_fen) {
      $("amount").value = A.formatWan(state.min_next_fen).replace(" 万元", "");
      showWords();
    }
  }

  // ------------------------------------------------------------ wiring

  const pageTitle = () => { document.title = A.tp("bid.page_title"); };
  A.languageSwitch(() => {  // what the script wrote itself, again in the new language
    pageTitle();
    if (signInError) showSignInError();
    if (!feed) return;
    $("whoami").textContent = A.t("js.whoami", { no: me, session: sessionId });
    renderParcel(shownParcel);
    onStatus(feed.ws && feed.welcomed ? "live" : "reconnecting");
    renderTerms();
    renderState();
    renderKey();
    renderReceipts();
    if (lastReply && $("bid-result").textContent) onReply(lastReply);
  });
  pageTitle();
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut(""));
  $("bid-form").addEventListener("submit", askToConfirm);
  $("amount").addEventListener("input", showWords);
  $("use-min").addEventListener("click", useMinimum);
  $("confirm-yes").addEventListener("click", confirmBid);
  $("confirm-no").addEventListener("click", cancelBid);
  $("receipts-download").addEventListener("click", () => S.download(sessionId, me, receipts));
  // The bidders' portal opens this page as /bid#token=…: a fragment is never sent to a
  // server, so the token is in no request line or log. Take it out of the address bar
  // (and the history) at once, then sign in with it as if it had been typed.
  const fromPortal = /^#token=([A-Za-z0-9_-]{16,200})$/.exec(location.hash);
  if (fromPortal) {
    history.replaceState(null, "", location.pathname + location.search);
    $("token").value = fromPortal[1];
    $("signin-form").requestSubmit();
  } else {
    const who = saved();
    if (who && who.token && who.tender_id) location.replace(TENDER_PAGE);
    else if (who && who.token && who.session_id) start(who);
  }
})();
