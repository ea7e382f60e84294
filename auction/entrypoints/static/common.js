/* Shared by the bidder page and the console's live view. Plain JavaScript, no build step.
 *
 * Money is whole fen (integers; every amount the server accepts, at most 10^15,
 * is a safe integer), shown in 万元 with the exact fen available. Times are µs
 * since the epoch (UTC), shown in China Standard Time. Countdowns use the
 * server's clock: offset = server_time_us - local now, from welcome, heartbeat
 * and pong (docs/protocol.md, "The server's clock decides").
 */
"use strict";

window.Auction = (() => {
  const FEN_PER_WAN = 1000000;
  const MAX_AMOUNT_FEN = 1e15;

  // ---------------------------------------------------------------- money

  function formatWan(fen) {
    if (fen === null || fen === undefined) return "—";
    const sign = fen < 0 ? "-" : "";
    const abs = Math.abs(fen);
    const whole = Math.floor(abs / FEN_PER_WAN);
    const rest = abs % FEN_PER_WAN;
    if (rest === 0) return `${sign}${whole} 万元`;
    return `${sign}${whole}.${String(rest).padStart(6, "0").replace(/0+$/, "")} 万元`;
  }

  function formatFen(fen) {
    if (fen === null || fen === undefined) return "—";
    return `${fen.toLocaleString("en-US")} 分`;
  }

  function formatYuan(fen) {
    if (fen === null || fen === undefined) return "—";
    const whole = Math.floor(fen / 100);
    return `${whole.toLocaleString("en-US")}.${String(fen % 100).padStart(2, "0")} 元`;
  }

  /* "8050.5" (万元) -> 8050500000 fen, exactly; throws an Error with a Chinese message. */
  function parseWan(text) {
    const t = String(text).trim().replace(/[,，\s]/g, "");
    const m = /^(\d{1,10})(?:\.(\d{1,6}))?$/.exec(t);
    if (!m) {
      if (/^\d+\.\d{7,}$/.test(t)) throw new Error("金额最多精确到分（万元后6位小数） / at most 6 decimals of 万元 (1 fen)");
      throw new Error("请输入以万元为单位的金额，如 8050 或 8050.5 / enter an amount in 万元, e.g. 8050 or 8050.5");
    }
    const fen = Number(m[1]) * FEN_PER_WAN + Number((m[2] || "").padEnd(6, "0"));
    if (fen <= 0) throw new Error("金额须大于零 / the amount must be above zero");
    if (fen > MAX_AMOUNT_FEN) throw new Error("金额超出系统上限 / above the system limit");
    return fen;
  }

  /* 大写金额: the same rules as auction/domain/amount_words.py (a browser test compares them). */
  const DIGITS = "零壹贰叁肆伍陆柒捌玖";
  const SMALL_UNITS = ["仟", "佰", "拾", ""];
  const GROUP_UNITS = ["", "万", "亿", "万"];

  function group4(value) {
    const digits = String(value).padStart(4, "0");
    let out = "";
    let pendingZero = false;
    let seen = false;
    for (let i = 0; i < 4; i++) {
      const d = Number(digits[i]);
      if (d === 0) {
        pendingZero = pendingZero || seen;
        continue;
      }
      if (pendingZero) {
        out += "零";
        pendingZero = false;
      }
      out += DIGITS[d] + SMALL_UNITS[i];
      seen = true;
    }
    return out;
  }

  function yuanToCapital(yuan) {  // yuan: BigInt
    if (yuan < 0n) throw new RangeError("negative amount");
    if (yuan === 0n) return DIGITS[0];
    const groups = [];
    let rest = yuan;
    while (rest > 0n) {
      groups.push(Number(rest % 10000n));
      rest /= 10000n;
    }
    if (groups.length > 4) throw new RangeError("amount too large for 大写");
    let out = "";
    let started = false;
    let zero = false;
    for (let index = groups.length - 1; index >= 0; index--) {
      const g = groups[index];
      if (g === 0) {
        if (started) {
          zero = true;
          if (index === 2) out += "亿";  // 万亿 with no 亿 group
        }
        continue;
      }
      if (started && (zero || g < 1000)) out += "零";
      out += group4(g) + GROUP_UNITS[index];
      started = true;
      zero = false;
    }
    return out;
  }

  function fenToCapital(fen) {
    const f = BigInt(fen);
    if (f < 0n) throw new RangeError("negative amount");
    const yuan = f / 100n;
    const cents = Number(f % 100n);
    const jiao = Math.floor(cents / 10);
    const fenDigit = cents % 10;
    if (cents === 0) return yuanToCapital(yuan) + "元整";
    let out = yuan > 0n ? yuanToCapital(yuan) + "元" : "";
    if (jiao) out += DIGITS[jiao] + "角";
    if (fenDigit) {
      if (!jiao && yuan > 0n) out += "零";
      out += DIGITS[fenDigit] + "分";
    } else {
      out += "整";
    }
    return out;
  }

  // ---------------------------------------------------------------- time

  const CST_PARTS = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });

  /* '2026年12月07日 11:53:11' (CST), as the pages write a time beside its date. */
  function cst(us) {
    if (us === null || us === undefined) return "—";
    const p = Object.fromEntries(CST_PARTS.formatToParts(new Date(Math.floor(us / 1000))).map((x) => [x.type, x.value]));
    return `${p.year}年${p.month}月${p.day}日 ${p.hour}:${p.minute}:${p.second}`;
  }

  /* '2026年12月07日 11:53 北京时间 / China Standard Time' (the zone's words in the chosen order):
   * a time of the terms, to the minute as the console writes it, or to the second when it is not
   * on a whole minute (a listing that ends at 11:53:30 must not read as 11:53). */
  function cstMinute(us) {
    if (us === null || us === undefined) return "—";
    const text = cst(us);
    return `${us % 60e6 === 0 ? text.slice(0, -3) : text} ${tp("time.cst")}`;
  }

  function duration(us) {
    if (us === null || us === undefined) return "—";
    let s = Math.max(0, Math.ceil(us / 1e6));
    const days = Math.floor(s / 86400);
    s -= days * 86400;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const mmss = `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
    const hms = h || days ? `${String(h).padStart(2, "0")}:${mmss}` : mmss;
    return days ? `${days}天 ${hms}` : hms;
  }

  function nowUs() {
    return Date.now() * 1000;
  }

  // ---------------------------------------------------------------- words

  /* The protocol's words from the one table (/i18n.js), "chosen / other" (`tp`): PHASES.LISTING,
   * EVENTS.SessionClosed…; undefined for a name the table lacks (the caller shows the name). */
  function wordsOf(prefix) {
    return new Proxy({}, {
      get: (_, name) => (typeof name === "string" && (window.AUCTION_I18N || {})[`${prefix}.${name}`]
        ? tp(`${prefix}.${name}`) : undefined),
    });
  }
  const PHASES = wordsOf("phase");
  const OPEN_PHASES = new Set(["LISTING", "TIMED_BIDDING", "AUCTION"]);
  const FINAL_PHASES = new Set(["CLOSED", "TERMINATED"]);
  const METHODS = wordsOf("method");
  const EVENTS = wordsOf("event");
  const OUTCOMES = wordsOf("outcome");
  const CLOSE_REASONS = wordsOf("close_reason");

  /* Every code a bidder can receive (docs/protocol.md, sections 1-7), in plain Chinese
     (`codeText` reads it). */
  const CODES = {
    SESSION_NOT_OPEN: (d) => `竞价尚未开始，请在开始后报价${d.opens_at ? `（开始时间 ${cst(d.opens_at)}）` : ""}`,
    SESSION_SUSPENDED: (d) => `交易已中止，暂停接受报价${d.resume_at ? `（预计恢复 ${cst(d.resume_at)}）` : "，请等待恢复公告"}`,
    SESSION_CLOSED: "交易已结束，不再接受报价",
    SESSION_HELD: "交易待工作人员处理，暂不接受报价；请等待交易中心公告",
    NOT_IN_TIMED_BIDDING: "限时竞价仅限挂牌期间报过价的竞买人参加，您未在挂牌期间报价",
    DEADLINE_PASSED: (d) => `报价到达时已过截止时间${d.deadline ? `（截止 ${cst(d.deadline)}）` : ""}，本次报价无效`,
    NOT_QUALIFIED: "您不具备本宗地的竞买资格",
    DUPLICATE_BID: (d) => `该报价编号已用于另一笔报价${d.accepted_amount ? `（已接受 ${formatWan(d.accepted_amount)}）` : ""}，请重新报价`,
    BELOW_MINIMUM: (d) => `报价低于最低可接受价${d.minimum ? `，最低可报 ${formatWan(d.minimum)}` : ""}`,
    NOT_INCREMENT_MULTIPLE: (d) => `报价须在当前价基础上按增价幅度的整数倍递增${d.increment ? `（增价幅度 ${formatWan(d.increment)}，基数 ${formatWan(d.base)}）` : ""}`,
    ALREADY_HIGHEST: "您已是当前最高报价者，无需再次报价",
    INVALID_AMOUNT: "报价金额无效，须为大于零的金额",
    AMOUNT_TOO_LARGE: (d) => `报价金额超出系统上限${d.maximum ? `（${formatWan(d.maximum)}）` : ""}`,
    INVALID_BID_ID: "报价编号无效，请刷新页面后重试",
    MALFORMED_JSON: "消息格式错误，请刷新页面后重试",
    JSON_TOO_DEEP: "消息嵌套层数过多，请刷新页面后重试",
    UNKNOWN_TYPE: "未知的消息类型，请刷新页面后重试",
    INVALID_FIELD: (d) => `请求字段缺失或有误${d.field ? `（${d.field}）` : ""}`,
    NOT_AUTHENTICATED: "连接尚未登录，请重新登录",
    ALREADY_AUTHENTICATED: "连接已登录",
    INVALID_TOKEN: "竞买凭证无效或已过期，请核对后重新登录",
    TOKEN_REVOKED: "您的竞买凭证已重新发放，旧凭证不能再报价；请用新凭证重新登录",
    WRONG_SESSION: "该竞买凭证不属于此交易场次",
    UNKNOWN_SESSION: "交易场次不存在",
    WATCHER_CANNOT_BID: "旁观连接不能报价，请用竞买凭证登录",
    RESUME_GAP_TOO_LARGE: "本地记录与服务器不一致，正在重新同步",
    SERVICE_UNAVAILABLE: "服务暂时不可用，报价未被接受；页面会自动用同一报价编号重试",
    CONFLICT: "同时报价的人较多，请重试",
    WATCHER_LIMIT: "本网络地址的旁观连接过多，请关闭多余的页面；稍后自动重试",
    TOKEN_ATTEMPTS_LIMIT: "本网络地址输入无效竞买凭证的次数过多，请一分钟后再试",
    BID_SIGNATURE_INVALID: "报价签名缺失或无效：本场次须用已登记的密钥签名报价，报价未被接受",
    BIDDER_KEY_REGISTERED: "本竞买号已登记另一公钥（公钥不可更换）：本浏览器的签名密钥与之不符",
  };

  /* A code's words: a plain string, or made from the details it needs. In English, the code's
   * message as auction/domain/codes.py has it (Chinese, then English; /i18n.js serves it). */
  function codeText(code, details) {
    if (lang() === "en") return (window.AUCTION_CODES || {})[code] || code;
    const words = CODES[code];
    return typeof words === "function" ? words(details || {}) : words;
  }

  function rejectionText(m) {
    const english = lang() === "en";
    const text = CODES[m.code] && !english ? codeText(m.code, m.details)
      : ((english && (window.AUCTION_CODES || {})[m.code]) || m.message || m.code);
    const minimum = english && m.details && m.details.minimum ? ` (${t("live.min_next")} ${formatWan(m.details.minimum)})` : "";
    return `${text}${minimum} [${m.code}]`;
  }

  // ---------------------------------------------------------------- the reserve commitment

  async function sha256Hex(text) {
    if (!window.crypto || !window.crypto.subtle) return null;  // not a secure context
    const digest = await window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  /* sha256(f"{reserve_fen}:{salt}") must equal the commitment published at the open. */
  async function checkCommitment(reserveFen, salt, commitment) {
    const computed = await sha256Hex(`${reserveFen}:${salt}`);
    if (computed === null) return { ok: null, computed };
    return { ok: computed === String(commitment).toLowerCase(), computed };
  }

  /* The lines of the reserve box on the static bidder pages (bid.html, tender_bid.html give an
   * empty #reserve-box); the hall's template writes its own with the same ids. */
  const RESERVE_LINES = '<p>底价 <small>Reserve</small>：<b id="reserve-wan"></b> <span id="reserve-fen" class="fen"></span></p>'
    + '<p class="mono">盐值 <small>salt</small> <span id="reserve-salt"></span></p>'
    + '<p class="mono">承诺值 <small>commitment</small> <span id="reserve-commitment"></span></p>'
    + '<p id="reserve-check"></p>';

  /* The reserve a SessionClosed revealed (outcome.reserve_fen, .reserve_salt), in the elements
   * reserve-box, reserve-wan, reserve-fen, reserve-salt, reserve-commitment and reserve-check,
   * checked in this browser against the commitment published at the open. Shared by the bidder
   * page and the hall: both show what docs/protocol.md gives every watcher after the close. */
  async function showReserve(o, commitment) {
    if (!o || o.reserve_fen === null || o.reserve_fen === undefined || !o.reserve_salt) return false;
    const box = document.getElementById("reserve-box");
    if (!document.getElementById("reserve-wan")) box.innerHTML = RESERVE_LINES;  // a static page's empty box
    box.hidden = false;
    setText("reserve-wan", formatWan(o.reserve_fen));
    setText("reserve-fen", formatFen(o.reserve_fen));
    setText("reserve-salt", o.reserve_salt);
    setText("reserve-commitment", commitment || "—");
    const check = await checkCommitment(o.reserve_fen, o.reserve_salt, commitment || "");
    const node = document.getElementById("reserve-check");
    node.dataset.ok = String(check.ok);
    node.textContent = check.ok === null ? tp("js.cannot_check_here")
      : check.ok ? t("js.reserve_matches")
        : t("js.reserve_mismatch");
    return true;
  }

  function newBidId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes).map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------------------------------------------------------------- following a session over /ws

  const FATAL = new Set(["INVALID_TOKEN", "WRONG_SESSION", "UNKNOWN_SESSION", "INVALID_FIELD", "MALFORMED_JSON"]);
  const PING_EVERY_MS = 5000;
  const SILENCE_MS = 12000;  // nothing heard (not even a pong) for this long: the link is dead
  const MAX_BACKOFF_MS = 8000;

  /* One session over the WebSocket: hello (with the token, or none to watch), the
   * whole public log from seq 1 on the first connection, then live events; after any
   * drop, reconnect with jittered back-off and resume from the last seq (no gap, no
   * duplicate). Bids keep their bid_id until answered and are sent again, same id,
   * after a reconnection. */
  class SessionFeed {
    constructor({ sessionId, token = null, onWelcome, onEvent, onReply, onStatus, onFatal, onTick, onError, onKey }) {
      this.sessionId = sessionId;
      this.token = token;
      this.on = { onWelcome, onEvent, onReply, onStatus, onFatal, onTick, onError, onKey };
      // Signed bids (docs/protocol.md section 9): `signer(bid)` resolves to the bid's signature (hex).
      this.signer = null;
      this.lastSeq = null;
      this.snapshotSeq = 0;
      this.offsetUs = 0;
      this.ws = null;
      this.welcomed = false;
      this.attempt = 0;
      this.stopped = true;
      this.fatal = false;
      this.pending = new Map();
      this.lastHeard = 0;
      this.lastPing = 0;
      this.timer = null;
      this.retry = null;
      this.reconnects = 0;
    }

    url() {
      return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    }

    serverNowUs() {
      return nowUs() + this.offsetUs;
    }

    start() {
      this.stopped = false;
      this.fatal = false;
      this.open();
      this.timer = setInterval(() => this.tick(), 250);
    }

    stop() {
      this.stopped = true;
      clearInterval(this.timer);
      clearTimeout(this.retry);
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close(1000, "bye");
    }

    status(s) {
      if (this.on.onStatus) this.on.onStatus(s, this);
    }

    open() {
      this.status(this.lastSeq === null ? "connecting" : "reconnecting");
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (e) {
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      this.welcomed = false;
      this.lastHeard = Date.now();
      ws.onopen = () => {
        const hello = { type: "hello", session_id: this.sessionId, last_seq: this.lastSeq === null ? 0 : this.lastSeq };
        if (this.token) hello.token = this.token;
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (e) => {
        let message;
        try {
          message = JSON.parse(e.data);
        } catch (err) {
          return;
        }
        this.receive(ws, message);
      };
      ws.onclose = () => this.lost(ws);
      ws.onerror = () => {};  // a close follows
    }

    lost(ws) {
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      if (this.stopped || this.fatal) return;
      this.status("reconnecting");
      this.scheduleReconnect();
    }

    scheduleReconnect() {
      clearTimeout(this.retry);
      const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
      this.attempt += 1;
      const delay = base * (0.5 + Math.random());  // jitter: not every page at once after an outage
      this.retry = setTimeout(() => {
        if (!this.stopped && !this.ws) {
          this.reconnects += 1;
          this.open();
        }
      }, delay);
    }

    /* Drop this connection and resume on a new one (a gap, or silence). */
    resync() {
      const ws = this.ws;
      this.ws = null;
      this.welcomed = false;
      if (ws) {
        try {
          ws.close(4000, "resync");
        } catch (e) { /* already closing */ }
      }
      if (!this.stopped) {
        this.status("reconnecting");
        this.scheduleReconnect();
      }
    }

    setOffset(serverUs) {
      if (typeof serverUs === "number") this.offsetUs = serverUs - nowUs();
    }

    receive(ws, m) {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      switch (m.type) {
        case "welcome": {
          const first = this.lastSeq === null;
          this.welcomed = true;
          this.attempt = 0;
          this.setOffset(m.server_time_us);
          this.snapshotSeq = m.seq;
          if (first) this.lastSeq = 0;
          this.status("live");
          if (this.on.onWelcome) this.on.onWelcome(m, !first);
          for (const bid of this.pending.values()) ws.send(JSON.stringify(bid));  // same bid_id: safe
          break;
        }
        case "event":
          if (m.seq <= this.lastSeq) return;  // already shown
          if (m.seq > this.lastSeq + 1) {  // a gap: resume from what we have
            this.resync();
            return;
          }
          this.lastSeq = m.seq;
          if (this.on.onEvent) this.on.onEvent(m, m.seq >= this.snapshotSeq);
          break;
        case "heartbeat":
          this.setOffset(m.server_time_us);
          if (typeof m.seq === "number" && this.lastSeq !== null && m.seq > this.lastSeq) this.resync();  // missed one
          break;
        case "pong":
          this.setOffset(m.server_time_us);
          break;
        case "key_registered":
          if (this.on.onKey) this.on.onKey(m);
          break;
        case "ack":
        case "reject":
          if (m.type === "reject" && m.code === "SERVICE_UNAVAILABLE") {
            // Outcome unknown: keep it and send the same bid_id again after a moment.
            setTimeout(() => {
              const bid = this.pending.get(m.bid_id);
              if (bid && this.ws && this.welcomed) this.ws.send(JSON.stringify(bid));
            }, 1000);
            if (this.on.onReply) this.on.onReply(m);
            break;
          }
          this.pending.delete(m.bid_id);
          if (this.on.onReply) this.on.onReply(m);
          break;
        case "error":
          if (!this.welcomed && m.code === "RESUME_GAP_TOO_LARGE") {
            this.lastSeq = null;  // our copy is ahead of the log: start again from the beginning
            this.resync();
            return;
          }
          if (!this.welcomed && FATAL.has(m.code)) {
            this.fatal = true;
            if (this.on.onFatal) this.on.onFatal(m);
            return;
          }
          if (this.on.onError) this.on.onError(m);
          break;
        default:
          break;
      }
    }

    bid(amountFen) {
      const message = { type: "bid", bid_id: newBidId(), amount_fen: amountFen };
      if (!this.signer) {
        this.send(message);
        return message.bid_id;
      }
      // Signed over the bid and the last seq this page has: sent (and sent again) as signed.
      message.last_seq = this.lastSeq;
      this.signer(message).then((signature) => this.send({ ...message, signature }), (e) => {
        if (this.on.onReply) this.on.onReply({ type: "reject", bid_id: message.bid_id, code: "BID_SIGNATURE_INVALID", message: String(e) });
      });
      return message.bid_id;
    }

    /* Keep a bid until it is answered; send it now if the link is up (else after the welcome). */
    send(message) {
      this.pending.set(message.bid_id, message);
      if (this.ws && this.welcomed) this.ws.send(JSON.stringify(message));
    }

    /* Register this bidder's public key (raw Ed25519, hex) for signed bids: `onKey` gets the answer. */
    registerKey(publicHex) {
      if (this.ws && this.welcomed) this.ws.send(JSON.stringify({ type: "register_key", public_key: publicHex }));
    }

    tick() {
      const now = Date.now();
      if (this.ws && this.welcomed) {
        if (now - this.lastHeard > SILENCE_MS) {
          this.resync();
        } else if (now - this.lastPing > PING_EVERY_MS) {
          this.lastPing = now;
          try {
            this.ws.send(JSON.stringify({ type: "ping", nonce: String(now) }));
          } catch (e) { /* closing: onclose handles it */ }
        }
      }
      if (this.on.onTick) this.on.onTick(this.serverNowUs());
    }
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) node.append(c);
    return node;
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  /* A row of the bid ladder: seq, time, bidder number, amount (exact fen in the title). */
  function ladderRow(e, myNo) {
    const d = e.data;
    const mine = myNo !== null && myNo !== undefined && d.bidder_no === myNo;
    const amount = el("td", { class: "num", title: formatFen(d.amount_fen) }, formatWan(d.amount_fen));
    return el("tr", { "data-seq": String(e.seq), "data-bidder": String(d.bidder_no), "data-amount": String(d.amount_fen),
                      class: mine ? "mine" : "" },
      el("td", { class: "num" }, String(e.seq)),
      el("td", {}, cst(e.at_us)),
      el("td", {}, `${d.bidder_no}${mine ? `（${t("js.me")}）` : ""}`),
      amount);
  }

  /* Insert keeping the ladder newest first and each seq once. */
  function addLadderRow(tbody, e, myNo) {
    if (tbody.querySelector(`tr[data-seq="${e.seq}"]`)) return;
    const row = ladderRow(e, myNo);
    const later = Array.from(tbody.rows).find((r) => Number(r.dataset.seq) < e.seq);
    tbody.insertBefore(row, later || null);
  }


  // ---------------------------------------------------------------- language (Chinese first, English second)

  /* The table is the server's (auction/entrypoints/http/i18n.py, served as /i18n.js); the
   * choice is the `lang` cookie the server pages read, kept in localStorage as well. */
  const LANG_KEY = "auction.lang";

  function lang() {
    const m = /(?:^|;\s*)lang=(zh|en)(?:;|$)/.exec(document.cookie);
    if (m) return m[1];
    try {
      const saved = localStorage.getItem(LANG_KEY);
      if (saved === "zh" || saved === "en") return saved;
    } catch (e) { /* storage off */ }
    return "zh";
  }

  function setLang(l) {
    try {
      localStorage.setItem(LANG_KEY, l);
    } catch (e) { /* storage off: the cookie still holds it */ }
    document.cookie = `lang=${l}; path=/; max-age=31536000; samesite=lax`;
    document.documentElement.lang = l === "en" ? "en" : "zh-CN";
  }

  function pair(key) {
    const entry = (window.AUCTION_I18N || {})[key];
    if (!entry) return [key, ""];
    return lang() === "en" ? [entry[1], entry[0]] : [entry[0], entry[1]];
  }

  /* {name} in a label filled from `values`: a value is the same in both languages, or a
   * [zh, en] pair (another label's words), of which `side` (0 zh, 1 en) is taken. */
  function fill(text, values, side) {
    return values ? text.replace(/\{(\w+)\}/g, (all, name) => {
      if (!(name in values)) return all;
      const v = values[name];
      return Array.isArray(v) ? v[side] : String(v);
    }) : text;
  }

  /* The chosen language alone. */
  function t(key, values) {
    return fill(pair(key)[0], values, lang() === "en" ? 1 : 0);
  }

  /* The chosen language, then " / " and the other one (as the server's `tp`). */
  function tp(key, values) {
    const [first, second] = pair(key);
    const side = lang() === "en" ? 1 : 0;
    return second ? `${fill(first, values, side)} / ${fill(second, values, 1 - side)}` : first;
  }

  /* The server's clock minus this one's, in µs, from a response's Date header (whole seconds:
   * the middle of one), or null without one. */
  function serverOffsetUs(response) {
    const date = response.headers.get("date");
    return date ? (Date.parse(date) + 500) * 1000 - nowUs() : null;
  }

  /* Every [data-i18n] element: the chosen language, then the other one in <small>
   * (data-i18n-single: the chosen one alone). */
  function applyI18n(root = document) {
    root.querySelectorAll("[data-i18n]").forEach((node) => {
      const [first, second] = pair(node.dataset.i18n);
      node.textContent = first;
      if (second && !node.hasAttribute("data-i18n-single")) node.append(" ", el("small", {}, second));
    });
    root.querySelectorAll("[data-lang]").forEach((a) => {
      if (a.dataset.lang === lang()) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
  }

  /* A static page switches in place (no reload: a bidder keeps the connection); `then` redraws
   * what the script wrote itself. */
  function languageSwitch(then) {
    document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
    applyI18n();
    document.querySelectorAll("a[data-lang]").forEach((a) => a.addEventListener("click", (event) => {
      event.preventDefault();
      setLang(a.dataset.lang);
      applyI18n();
      if (then) then();
    }));
  }

  /* 2026年12月06日 10时00分 (CST), or 2026-12-06 10:00 CST in English, as the server writes it. */
  function when(us) {
    if (us === null || us === undefined) return "—";
    const p = Object.fromEntries(CST_PARTS.formatToParts(new Date(Math.floor(us / 1000))).map((x) => [x.type, x.value]));
    return lang() === "en" ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} CST`
      : `${p.year}年${p.month}月${p.day}日 ${p.hour}时${p.minute}分`;
  }

  /* The phase's word alone, or "chosen / other" (`both`, as the console writes it). */
  function phaseText(phase, both = false) {
    const key = `phase.${phase}`;
    if (!(window.AUCTION_I18N || {})[key]) return phase;
    return both ? tp(key) : t(key);
  }

  // ---------------------------------------------------------------- the live figures (console, hall)

  /* What is left of the current phase by the server's clock: [label key, µs] or [key, null]. */
  function timeLeft(state, serverNow) {
    if (state.phase === "SCHEDULED" && state.opens_at_us) return ["live.until_start", state.opens_at_us - serverNow];
    if (OPEN_PHASES.has(state.phase) && state.deadline_us) return ["live.time_left", state.deadline_us - serverNow];
    return ["live.time_left", null];
  }

  /* The countdown by the server's clock (#countdown), its label (#countdown-label, if the
   * page has one: "time left" or "starts in"), red in the last minute. */
  function renderCountdown(state, serverNow) {
    const [label, left] = timeLeft(state, serverNow);
    const labelNode = document.getElementById("countdown-label");
    if (labelNode && labelNode.dataset.i18n !== label) {
      labelNode.dataset.i18n = label;
      applyI18n(labelNode.parentNode);
    }
    setText("countdown", left === null ? "—" : duration(left));
    document.getElementById("countdown").classList.toggle("urgent", left !== null && left < 60e6);
  }

  /* A read-only page following a session as a watcher (the console's live view, the hall):
   * the ladder (#ladder-rows) rebuilt from the log, the state after every event handed to
   * `render`, the server's time (#server-time, written by `clock`) and the countdown, a
   * fatal refusal in #live-note. `status(s)` names the link's state, `welcome(w)` and
   * `event(e)` see what else the page wants. */
  function watch({ sessionId, render, status, clock = cst, welcome = () => {}, event = () => {} }) {
    let state = null;
    const feed = new SessionFeed({
      sessionId,
      onStatus(s) {
        const box = document.getElementById("conn");
        box.dataset.state = s;
        box.textContent = status(s);
      },
      onWelcome(w, resumed) {
        if (!resumed) document.getElementById("ladder-rows").textContent = "";  // rebuilt from the log, seq 1 on
        welcome(w, resumed);
        state = w.state;
        render(state);
      },
      onEvent(e, current) {
        if (e.event === "BidAccepted") addLadderRow(document.getElementById("ladder-rows"), e, null);
        event(e);
        if (current) {
          state = e.state;
          render(state);
        }
      },
      onTick(serverNow) {
        setText("server-time", clock(serverNow));
        if (state) renderCountdown(state, serverNow);
      },
      onFatal(m) {
        setText("live-note", rejectionText(m));
      },
    });
    window.auctionFeed = feed;
    feed.start();
    return feed;
  }

  /* The figures every watching page shows, by element id: phase, highest (and its bidder
   * number), minimum next bid (none once bidding is over), increment, bid count. */
  function renderFigures(state) {
    const phase = document.getElementById("phase");
    phase.textContent = phaseText(state.phase, phase.dataset.words === "pair");
    phase.dataset.phase = state.phase;
    setText("highest", formatWan(state.highest_fen));
    setText("highest-fen", state.highest_fen ? formatFen(state.highest_fen) : "");
    setText("highest-no", state.highest_bidder_no === null ? "—" : String(state.highest_bidder_no));
    const biddable = OPEN_PHASES.has(state.phase) || state.phase === "SCHEDULED" || state.phase === "SUSPENDED";
    setText("min-next", biddable ? formatWan(state.min_next_fen) : "—");
    setText("increment", formatWan(state.increment_fen));
    setText("increment-fen", formatFen(state.increment_fen));
    setText("bid-count", String(state.bid_count));
  }

  return {
    FEN_PER_WAN, formatWan, formatFen, formatYuan, parseWan, fenToCapital, cst, cstMinute, duration, nowUs,
    PHASES, OPEN_PHASES, FINAL_PHASES, METHODS, EVENTS, OUTCOMES, CLOSE_REASONS, CODES, codeText, rejectionText,
    sha256Hex, checkCommitment, showReserve, SessionFeed, el, setText, addLadderRow, serverOffsetUs,
    lang, setLang, t, tp, applyI18n, languageSwitch, when, phaseText, timeLeft, renderCountdown, renderFigures, watch,
  };
})();
