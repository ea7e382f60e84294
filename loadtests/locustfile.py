"""Locust users for the bidder WebSocket protocol (docs/protocol.md).

Run by `python -m loadtests.bench` (or tests/e2e/test_locust_smoke.py), which
creates the sessions and bidder tokens and passes them in a pool file:

    LOADTEST_POOL=pool.json LOADTEST_BIDDERS=50 LOADTEST_WATCHERS=20 \\
        locust -f loadtests/locustfile.py --headless -u 70 -r 70 --run-time 30s --csv out/locust

Pool file: {"ws_url": "ws://127.0.0.1:PORT/ws",
            "sessions": [{"session_id": "...", "bidders": [{"bidder_no": 1234, "token": "..."}]}]}

Locust runs on gevent, so the WebSocket client is `websocket-client` (blocking
sockets, made cooperative by gevent's monkey-patching).

Request entries (request_type "WS"):

- "bid":           an accepted bid; response time = send -> its `ack` (the ack comes after commit).
                   A bid refused for any other reason, or unanswered, is a *failure* of "bid".
- "bid lost race": a bid refused because another bid got there first (BELOW_MINIMUM,
                   ALREADY_HIGHEST): expected under contention, not an error.
- "broadcast":     at a watcher, for each BidAccepted event: local receive time minus the
                   event's `at_us` (the server's decision time, before the commit), so it is
                   commit + fan-out + delivery. A gap in `seq` is a failure.
- "connect":       connect + hello + welcome.

How bidders bid (LOADTEST_BID_MODE; the scenarios in loadtests/scenarios.py pick one):

- "fast" (default): bid `min_next_fen` of the latest state as soon as the previous bid is
  answered and the bidder does not hold the highest bid (max-throughput).
- "paced": the same, after a think time drawn from U(0, LOADTEST_THINK_MAX) seconds (hot-parcel).
- "snipe": the countdown drives the bidding. In an AUCTION or TIMED_BIDDING phase (the latter only
  for a bidder that bid during the listing, RULES 4.4) a bidder
  joins each round with probability LOADTEST_SNIPE_SHARE and bids at a moment drawn from
  LOADTEST_SNIPE_WINDOW ("lo,hi" seconds before the deadline); an event arriving within its
  reaction time (LOADTEST_REACTION, "lo,hi" s) before that moment does not stop it, so bids
  come in bursts as the countdowns run out; during LISTING it bids now and then (LOADTEST_LISTING_THINK mean
  seconds), so two or more bidders take the session into timed bidding (city-day).
  A bid that arrives after the deadline ("bid too late": DEADLINE_PASSED, SESSION_CLOSED) is
  its own entry, not an error: it is what a burst at the deadline produces.

Several Locust processes (`--processes N`) share the pool: each user claims the next bidder or
watcher slot through a counter file locked with flock (LOADTEST_SLOTS, default <pool>.slots).

Bounded: the run time comes from --run-time; in addition, the run quits after
LOADTEST_MAX_SECONDS (default 300) whatever the options. Only 127.0.0.1 is
contacted.

Exact measurements (not Locust's rounded buckets) are written to LOADTEST_SAMPLES.<pid>
(one file per Locust process) when the test stops.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import time
import uuid
from typing import Any
from urllib.parse import urlparse

import gevent
import websocket  # websocket-client
from gevent.event import AsyncResult, Event
from locust import User, constant, events, task

log = logging.getLogger("loadtests")

LOST_RACE_CODES = frozenset({"BELOW_MINIMUM", "ALREADY_HIGHEST"})
OPEN_PHASES = frozenset({"LISTING", "TIMED_BIDDING", "AUCTION"})
BID_TIMEOUT = 10.0  # seconds without an answer: a failure, and the connection is replaced
CONNECT_TIMEOUT = 10.0
IDLE_WAIT = 1.0  # at most this long waiting for a new event before looking again
TOO_LATE = "bid too late"
TOO_LATE_CODES = frozenset({"DEADLINE_PASSED", "SESSION_CLOSED"})
MODE = os.environ.get("LOADTEST_BID_MODE", "fast")
THINK_MAX = float(os.environ.get("LOADTEST_THINK_MAX", "0"))
SNIPE_LO, SNIPE_HI = (float(x) for x in os.environ.get("LOADTEST_SNIPE_WINDOW", "0.15,0.9").split(","))
SNIPE_SHARE = float(os.environ.get("LOADTEST_SNIPE_SHARE", "0.5"))
LISTING_THINK = float(os.environ.get("LOADTEST_LISTING_THINK", "3"))
REACTION_LO, REACTION_HI = (float(x) for x in os.environ.get("LOADTEST_REACTION", "0.2,0.4").split(","))
COUNTDOWN_PHASES = frozenset({"TIMED_BIDDING", "AUCTION"})


def _load_pool() -> dict[str, Any]:
    path = os.environ.get("LOADTEST_POOL")
    if not path:
        raise SystemExit("LOADTEST_POOL is not set: run `python -m loadtests.bench` (it writes the pool file)")
    with open(path) as f:
        pool: dict[str, Any] = json.load(f)
    host = urlparse(pool["ws_url"]).hostname
    if host != "127.0.0.1":
        raise SystemExit(f"the load test talks to 127.0.0.1 only, not {host!r}")
    if not pool.get("sessions"):
        raise SystemExit("the pool has no sessions")
    return pool


POOL = _load_pool()
WS_URL: str = POOL["ws_url"]
BIDDER_SLOTS = [(s["session_id"], b["bidder_no"], b["token"]) for s in POOL["sessions"] for b in s["bidders"]]
WATCH_SESSIONS = [s["session_id"] for s in POOL["sessions"]]
WS_URLS: list[str] = POOL.get("ws_urls") or [WS_URL]
SLOTS_FILE = os.environ.get("LOADTEST_SLOTS") or os.environ["LOADTEST_POOL"] + ".slots"


def _claim(kind: str) -> int:
    """The next slot number of `kind` across every Locust process of this run."""
    with open(SLOTS_FILE, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        counts = json.loads(f.read() or "{}")
        n = counts.get(kind, 0)
        counts[kind] = n + 1
        f.seek(0)
        f.truncate()
        f.write(json.dumps(counts))
        return int(n)

# Exact measurements, dumped at test stop. Times are wall-clock seconds.
SAMPLES: dict[str, Any] = {
    "bid": [],  # [t_ack, round trip ms]
    "lost_race": [],  # [t_reply, round trip ms]
    "too_late": 0,
    "broadcast": [],  # [t_recv, ms from the event's at_us]
    "errors": {},  # description -> count
    "ack_before_event": 0,  # acks that arrived before the bidder's own BidAccepted event
    "started": None,
    "stopped": None,
}


def _error(description: str) -> None:
    SAMPLES["errors"][description] = SAMPLES["errors"].get(description, 0) + 1


class BidError(Exception):
    pass


class ProtocolError(Exception):
    pass


def _fire(user: User, name: str, ms: float, length: int = 0, exception: Exception | None = None) -> None:
    user.environment.events.request.fire(
        request_type="WS", name=name, response_time=ms, response_length=length, exception=exception, context={}
    )


def _close_quietly(ws: websocket.WebSocket) -> None:
    try:
        ws.close(timeout=0.5)
    except Exception:
        pass  # already broken: there is nobody to say goodbye to


def _open(user: User, session_id: str, token: str | None, url: str = WS_URL) -> tuple[websocket.WebSocket, dict[str, Any]]:
    """Connect and say hello; returns the socket and the welcome. Reports "connect"."""
    t0 = time.perf_counter()
    try:
        # skip_utf8_validation: websocket-client's validator is a pure-Python loop over every byte
        # (without the optional wsaccel), which made the load generator, not the server, the bottleneck.
        ws = websocket.create_connection(url, timeout=CONNECT_TIMEOUT, enable_multithread=True,
                                         skip_utf8_validation=True)
        hello: dict[str, Any] = {"type": "hello", "session_id": session_id}
        if token is not None:
            hello["token"] = token
        ws.send(json.dumps(hello))
        raw = ws.recv()
        welcome = json.loads(raw)
        if welcome.get("type") != "welcome":
            ws.close()
            raise ProtocolError(f"expected welcome, got {welcome.get('type')}: {welcome.get('code')}")
    except Exception as e:
        _fire(user, "connect", (time.perf_counter() - t0) * 1000, exception=e)
        _error(f"connect: {type(e).__name__}")
        raise
    _fire(user, "connect", (time.perf_counter() - t0) * 1000, len(raw))
    return ws, welcome


class BidderUser(User):
    """A qualified bidder that keeps bidding `min_next_fen` of the latest state it saw,
    one bid in flight at a time, and waits while it holds the highest bid."""

    fixed_count = int(os.environ.get("LOADTEST_BIDDERS", len(BIDDER_SLOTS)))
    wait_time = constant(0)

    def on_start(self) -> None:
        slot = _claim("bidder")
        self.session_id, self.bidder_no, self.token = BIDDER_SLOTS[slot % len(BIDDER_SLOTS)]
        self.url = WS_URLS[slot % len(WS_URLS)]
        self.ws: websocket.WebSocket | None = None
        self.reader: gevent.Greenlet | None = None
        self.seq = 0
        self.state: dict[str, Any] = {}
        self.changed = Event()
        self.pending: dict[str, AsyncResult] = {}
        self.dead: Exception | None = None
        self.bid_before = False  # a bid of ours accepted: timed bidding is open to us (RULES 4.4)
        self._connect()

    def on_stop(self) -> None:
        self._disconnect()

    def _connect(self) -> None:
        self.ws, welcome = _open(self, self.session_id, self.token, self.url)
        self.ws.settimeout(None)  # the reader blocks (cooperatively) until a frame comes
        self.seq = welcome["seq"]
        self.state = welcome["state"]
        self.bid_before = self.bid_before or bool(welcome.get("my_bids"))
        self.changed = Event()
        self.pending = {}
        self.dead = None
        self.reader = gevent.spawn(self._read, self.ws)

    def _disconnect(self) -> None:
        if self.reader is not None:
            self.reader.kill(block=False)
            self.reader = None
        if self.ws is not None:
            _close_quietly(self.ws)
            self.ws = None

    def _read(self, ws: websocket.WebSocket) -> None:
        while True:
            try:
                raw = ws.recv()
            except Exception as e:  # closed or broken: fail what is in flight
                self.dead = e
                for result in self.pending.values():
                    result.set_exception(e)
                self.pending.clear()
                self.changed.set()
                return
            now = time.perf_counter()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "event":
                if message["seq"] > self.seq:
                    self.seq = message["seq"]
                    self.state = message["state"]
                    self.changed.set()
            elif kind in ("ack", "reject"):
                result = self.pending.pop(message.get("bid_id"), None)
                if result is not None:
                    result.set((now, message, len(raw)))
            elif kind == "error":
                _error(f"error message: {message.get('code')}")

    @task
    def bid(self) -> None:
        if self.dead is not None or self.ws is None:
            self._disconnect()
            self._connect()
        self.changed.clear()
        state = self.state
        if state.get("phase") not in OPEN_PHASES or state.get("min_next_fen") is None:
            self.changed.wait(IDLE_WAIT)
            return
        if state.get("highest_bidder_no") == self.bidder_no:
            self.changed.wait(IDLE_WAIT)  # we hold the highest bid: wait to be outbid
            return
        if state.get("phase") == "TIMED_BIDDING" and not self.bid_before:
            self.changed.wait(IDLE_WAIT)  # no bid during the listing: not one of those who go on
            return
        if MODE == "paced" and THINK_MAX > 0:
            gevent.sleep(random.uniform(0, THINK_MAX))
        elif MODE == "snipe" and not self._snipe_wait(state):
            return  # the state changed meanwhile (or this bidder sits the round out): look again
        self._send_bid()

    def _snipe_wait(self, state: dict[str, Any]) -> bool:
        """Wait for this bidder's moment; False if the state changed first (look again).

        A bidder reacts to a new event only after its reaction time: an event that comes in
        the last LOADTEST_REACTION seconds before its moment does not stop it, so several
        bidders' bids land within a few hundred milliseconds of each other (the burst)."""
        if state.get("phase") in COUNTDOWN_PHASES and state.get("deadline_us"):
            seq = self.seq
            left = state["deadline_us"] / 1e6 - time.time()
            if random.random() >= SNIPE_SHARE:
                self.changed.wait(max(0.05, left + 0.5))  # sits this round out
                return False
            delay = left - random.uniform(SNIPE_LO, SNIPE_HI)
            reaction = random.uniform(REACTION_LO, REACTION_HI)
            if delay - reaction > 0 and self.changed.wait(delay - reaction) and self.seq != seq:
                return False
            gevent.sleep(max(0.0, min(delay, reaction)))
            return True
        # LISTING: a bid now and then, so two or more bidders go on to timed bidding
        return not self.changed.wait(random.expovariate(1 / LISTING_THINK)) if LISTING_THINK > 0 else True

    def _send_bid(self) -> None:
        state, seq = self.state, self.seq
        amount = state.get("min_next_fen")
        if state.get("phase") not in OPEN_PHASES or amount is None or state.get("highest_bidder_no") == self.bidder_no:
            return
        if self.dead is not None or self.ws is None:
            return
        bid_id = uuid.uuid4().hex
        result = AsyncResult()
        self.pending[bid_id] = result
        t0 = time.perf_counter()
        try:
            self.ws.send(json.dumps({"type": "bid", "bid_id": bid_id, "amount_fen": amount}))
            t1, reply, length = result.get(timeout=BID_TIMEOUT)
        except gevent.Timeout:
            self.pending.pop(bid_id, None)
            _fire(self, "bid", BID_TIMEOUT * 1000, exception=BidError("no answer in time"))
            _error("bid: no answer in time")
            self.dead = TimeoutError("bid unanswered")
            return
        except Exception as e:
            self.pending.pop(bid_id, None)
            _fire(self, "bid", (time.perf_counter() - t0) * 1000, exception=BidError(f"connection lost: {e!r}"))
            _error(f"bid: connection lost ({type(e).__name__})")
            self.dead = e
            return
        ms = (t1 - t0) * 1000
        wall = time.time()
        if reply["type"] == "ack":
            self.bid_before = True
            _fire(self, "bid", ms, length)
            SAMPLES["bid"].append([wall, ms])
            # The server sends the ack inline and the event through the connection's writer,
            # so the ack can arrive first: wait for our own BidAccepted before looking again.
            if self.seq < (reply.get("seq") or 0):
                SAMPLES["ack_before_event"] += 1
                self._wait_for_seq(reply["seq"])
            return
        code = reply.get("code")
        if code in LOST_RACE_CODES:
            _fire(self, "bid lost race", ms, length)
            SAMPLES["lost_race"].append([wall, ms])
            if self.seq == seq:
                self.changed.wait(IDLE_WAIT)  # the winning bid's event is on its way
            return
        if MODE == "snipe" and code in TOO_LATE_CODES:
            _fire(self, TOO_LATE, ms, length)
            SAMPLES["too_late"] += 1
            self.changed.wait(IDLE_WAIT)
            return
        _fire(self, "bid", ms, length, exception=BidError(f"rejected {code}"))
        _error(f"bid: rejected {code}")
        if code in ("SESSION_CLOSED", "DEADLINE_PASSED", "SESSION_SUSPENDED", "SESSION_NOT_OPEN"):
            self.changed.wait(IDLE_WAIT)

    def _wait_for_seq(self, seq: int) -> None:
        deadline = time.monotonic() + IDLE_WAIT
        while self.seq < seq and self.dead is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.changed.clear()
            if self.seq >= seq:
                return
            self.changed.wait(left)


class WatcherUser(User):
    """Follows one session without a token; measures bid-to-broadcast latency."""

    fixed_count = int(os.environ.get("LOADTEST_WATCHERS", len(WATCH_SESSIONS)))
    wait_time = constant(0)

    def on_start(self) -> None:
        slot = _claim("watcher")
        self.session_id = WATCH_SESSIONS[slot % len(WATCH_SESSIONS)]
        self.url = WS_URLS[slot % len(WS_URLS)]
        self.ws: websocket.WebSocket | None = None
        self.seq = 0
        self._connect()

    def _connect(self) -> None:
        self.ws, welcome = _open(self, self.session_id, None, self.url)
        self.ws.settimeout(IDLE_WAIT)
        self.seq = welcome["seq"]

    def on_stop(self) -> None:
        if self.ws is not None:
            _close_quietly(self.ws)
            self.ws = None

    @task
    def follow(self) -> None:
        if self.ws is None:
            self._connect()
        assert self.ws is not None
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return  # nothing happened for a while; look again
        except Exception as e:
            _fire(self, "broadcast", 0, exception=ProtocolError(f"connection lost: {e!r}"))
            _error(f"watcher: connection lost ({type(e).__name__})")
            self.ws = None
            return
        received_us = time.time_ns() // 1000
        message = json.loads(raw)
        if message.get("type") != "event":
            return
        seq = message["seq"]
        if seq != self.seq + 1:
            _fire(self, "broadcast", 0, exception=ProtocolError(f"seq gap: {self.seq} -> {seq}"))
            _error("watcher: seq gap")
        self.seq = max(self.seq, seq)
        if message.get("event") == "BidAccepted":
            ms = (received_us - message["at_us"]) / 1000
            _fire(self, "broadcast", ms, len(raw))
            SAMPLES["broadcast"].append([received_us / 1e6, ms])


# ---------------------------------------------------------------------------
# bounded runs and the dump of exact measurements


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    SAMPLES["started"] = time.time()
    limit = float(os.environ.get("LOADTEST_MAX_SECONDS", "300"))
    runner = environment.runner
    if runner is not None:
        def fuse() -> None:
            log.warning("LOADTEST_MAX_SECONDS (%s s) reached: stopping", limit)
            runner.quit()

        gevent.spawn_later(limit, fuse)


_dumped = False


def _dump() -> None:
    global _dumped
    path = os.environ.get("LOADTEST_SAMPLES")
    if not path or _dumped:
        return
    if SAMPLES["started"] is None and not SAMPLES["bid"] and not SAMPLES["broadcast"]:
        return  # a Locust master process with --processes: its workers ran the users
    _dumped = True
    SAMPLES["stopped"] = time.time()
    # One file per process (several with --processes); the harness merges them.
    with open(f"{path}.{os.getpid()}", "w") as f:
        json.dump(SAMPLES, f)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    _dump()


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    _dump()
