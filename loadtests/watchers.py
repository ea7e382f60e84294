"""A swarm of read-only watchers in one asyncio process: thousands of WebSocket
connections, each following one session, measuring bid-to-broadcast latency.

    python -m loadtests.watchers --pool pool.json --count 5000 --out watchers.json

Why not Locust users: a Locust user on gevent + websocket-client costs tens of
microseconds of Python per received frame and a greenlet per connection; with
5,000 watchers and a few bids a second that is more CPU than this 2-core machine
can give the load generator while the server and PostgreSQL run beside it. Why
not the `websockets` client either: its reader runs a parser generator and
wakes a coroutine per frame. Here each connection is a bare `asyncio.Protocol`
speaking just enough RFC 6455 for a watcher (client handshake; masked text,
pong and close frames out; unmasked server frames in, no extensions offered);
a frame costs a few microseconds: slice, find `seq` and `at_us`, record.
The bidders stay Locust users (their round trips are Locust request events).

Signals: the swarm connects everyone, says hello, waits for every welcome,
then writes `--ready-file` (connections, failures) and idles. SIGUSR1 starts
the measured window; SIGTERM / SIGINT (or `--seconds` after start) ends it:
results go to `--out` as JSON and the process exits.

Only 127.0.0.1 is contacted. Bounded: `--max-seconds` (default 600) whatever
happens.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import signal
import struct
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

EVENT_PREFIX = b'{"type":"event"'
BID_ACCEPTED = b'"event":"BidAccepted"'
SEQ_KEY = b'"seq":'
AT_KEY = b'"at_us":'


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards `wanted` (up to the hard limit, which is raised
    too where that is allowed: root or CAP_SYS_RESOURCE); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, wanted))
            hard = wanted
        except (ValueError, OSError):
            pass  # not allowed: up to the hard limit as it is
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big") if n else b""
    return key + masked


def client_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + _mask(payload)


def _int_after(payload: bytes, key: bytes) -> int | None:
    i = payload.find(key)
    if i < 0:
        return None
    i += len(key)
    j = i
    n = len(payload)
    while j < n and 48 <= payload[j] <= 57:
        j += 1
    return int(payload[i:j]) if j > i else None


class Stats:
    def __init__(self) -> None:
        self.recording = False
        self.latency_ms = array("d")
        self.deliveries = 0  # BidAccepted frames received while recording
        self.events = 0  # all event frames while recording
        self.gaps = 0
        self.closed: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.welcomed = 0
        self.open = 0
        self.peak_open = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Watcher(asyncio.Protocol):
    __slots__ = ("stats", "session_id", "host", "port", "transport", "buf", "upgraded", "seq", "welcome",
                 "frag", "done")

    def __init__(self, stats: Stats, session_id: str, host: str, port: int) -> None:
        self.stats = stats
        self.session_id = session_id
        self.host = host
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.seq = 0
        self.welcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.frag: list[bytes] | None = None
        self.done = False

    # -- connection --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not a subclass
        assert self.transport is not None
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (f"GET /ws HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        self.stats.open += 1
        self.stats.peak_open = max(self.stats.peak_open, self.stats.open)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.open -= 1
        if not self.done:
            self.stats.error(f"connection lost ({type(exc).__name__ if exc else 'eof'})")
        if not self.welcome.done():
            self.welcome.set_exception(ConnectionError("lost before welcome"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[: buf.find(b"\r\n")]
            if b" 101 " not in status + b" ":
                self._fail(f"handshake: {status[:60]!r}")
                return
            self.upgraded = True
            buf = buf[end + 4:]
            assert self.transport is not None
            self.transport.write(client_frame(0x1, self._hello()))
        now = time.time()
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if b1 & 0x80:
                self._fail("masked frame from the server")
                return
            if n - pos < head + length:
                break
            payload = buf[pos + head: pos + head + length]
            pos += head + length
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode == 0x1 or opcode == 0x0:
                if not fin:
                    self.frag = (self.frag or []) + [payload]
                    continue
                if opcode == 0x0 and self.frag is not None:
                    payload = b"".join(self.frag) + payload
                    self.frag = None
                self._message(payload, now)
            elif opcode == 0x9:
                assert self.transport is not None
                self.transport.write(client_frame(0xA, payload))
            elif opcode == 0x8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self.stats.closed[str(code)] = self.stats.closed.get(str(code), 0) + 1
                self.done = True
                assert self.transport is not None
                self.transport.write(client_frame(0x8, payload[:2]))
                self.transport.close()
                return
            # pong (0xA) and binary frames are ignored
        self.buf = buf[pos:] if pos < n else b""

    def _hello(self) -> bytes:
        """The first message after the upgrade (a watcher's: no token)."""
        return json.dumps({"type": "hello", "session_id": self.session_id}).encode()

    def _fail(self, why: str) -> None:
        self.stats.error(why)
        self.done = True
        if not self.welcome.done():
            self.welcome.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    # -- messages ----------------------------------------------------------

    def _event_seq(self, payload: bytes) -> int | None:
        """An event frame's seq, which moves this connection's `seq` on (a gap counted); None without one."""
        seq = _int_after(payload, SEQ_KEY)
        if seq is None:
            self.stats.error("event without seq")
            return None
        if seq != self.seq + 1 and seq > self.seq:
            self.stats.gaps += 1
        if seq > self.seq:
            self.seq = seq
        return seq

    def _message(self, payload: bytes, now: float) -> None:
        stats = self.stats
        if payload.startswith(EVENT_PREFIX):
            if self._event_seq(payload) is None:
                return
            if stats.recording:
                stats.events += 1
                if BID_ACCEPTED in payload:
                    at = _int_after(payload, AT_KEY)
                    if at is not None:
                        stats.deliveries += 1
                        stats.latency_ms.append(now * 1000.0 - at / 1000.0)
            return
        self._not_an_event(payload)

    def _not_an_event(self, payload: bytes) -> None:
        """The welcome (first), heartbeats, and error messages."""
        if not self.welcome.done():
            message = json.loads(payload)
            if message.get("type") == "welcome":
                self.seq = int(message["seq"])
                self._welcomed(message)
                self.stats.welcomed += 1
                self.welcome.set_result(None)
            else:
                self._fail(f"expected welcome, got {message.get('type')} {message.get('code')}")
            return
        if payload.startswith(b'{"type":"heartbeat"'):
            return
        message = json.loads(payload)
        if message.get("type") == "error":
            self.stats.error(f"error message {message.get('code')}")

    def _welcomed(self, welcome: dict[str, Any]) -> None:
        """What a member takes from its welcome (a watcher: only the seq)."""


# ---------------------------------------------------------------------------


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def loopback_targets(urls: list[str], who: str) -> list[tuple[str, int]]:
    """(host, port) of each ws:// URL; only 127.0.0.1 is allowed."""
    targets = []
    for u in urls:
        p = urlparse(u)
        if p.hostname != "127.0.0.1":
            raise SystemExit(f"{who} talks to 127.0.0.1 only, not {p.hostname!r}")
        targets.append((p.hostname, p.port or 80))
    return targets


@dataclass
class Swarm:
    """The connected members of a swarm and its measured window (epoch seconds)."""

    members: list[Watcher]
    failures: int
    connect_seconds: float
    started: float
    stopped: float

    @property
    def window(self) -> float:
        return self.stopped - self.started


async def swarm(args: argparse.Namespace, stats: Stats, count: int,
                make: Callable[[int, str, int], Watcher],
                before_goodbye: Callable[[list[Watcher]], Awaitable[None]] | None = None) -> Swarm:
    """Connect `count` members made by `make(i, host, port)` (each waits for its welcome), write
    `--ready-file`, record from SIGUSR1 (or `--start-now`) until `--seconds` later or SIGTERM /
    SIGINT (or `--max-seconds`), then say goodbye to every member (after `before_goodbye`)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    started_at: dict[str, float] = {}

    def begin() -> None:
        if not stats.recording:
            stats.recording = True
            started_at["t"] = time.time()
            if args.seconds:
                loop.call_later(args.seconds, stop.set)

    loop.add_signal_handler(signal.SIGUSR1, begin)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.call_later(args.max_seconds, stop.set)

    members: list[Watcher] = []
    gate = asyncio.Semaphore(args.connect_concurrency)
    failures = 0

    async def open_one(i: int, host: str, port: int) -> None:
        nonlocal failures
        async with gate:
            w = make(i, host, port)
            try:
                await loop.create_connection(lambda: w, host, port)
                await asyncio.wait_for(asyncio.shield(w.welcome), args.connect_timeout)
            except (OSError, ConnectionError, TimeoutError) as e:
                failures += 1
                stats.error(f"connect: {type(e).__name__}")
                if w.transport is not None:
                    w.done = True
                    w.transport.close()
                return
            members.append(w)

    targets = args.targets
    t0 = time.monotonic()
    await asyncio.gather(*(open_one(i, *targets[i % len(targets)]) for i in range(count)))
    connect_seconds = time.monotonic() - t0
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"connected": len(members), "failures": failures, "seconds": connect_seconds}, f)
        os.replace(tmp, args.ready_file)
    if args.start_now:
        begin()
    await stop.wait()
    stopped = time.time()
    stats.recording = False
    if before_goodbye is not None:
        await before_goodbye(members)
    for w in members:
        w.done = True
        if w.transport is not None and not w.transport.is_closing():
            w.transport.write(client_frame(0x8, struct.pack("!H", 1000)))
            w.transport.close()
    return Swarm(members, failures, connect_seconds, started_at.get("t", stopped), stopped)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with open(args.pool) as f:
        pool = json.load(f)
    args.targets = loopback_targets([args.url] if args.url else pool.get("ws_urls") or [pool["ws_url"]],
                                    "the watcher swarm")
    sessions = [s["session_id"] for s in pool["sessions"]]
    weights = pool.get("watch_weights")  # optional: per session share of the watchers
    limit = raise_fd_limit(args.count + 1024)
    if limit < args.count + 64:
        raise SystemExit(f"file descriptor limit {limit} is too low for {args.count} watchers")
    stats = Stats()

    def session_for(i: int) -> str:
        if weights:
            # deterministic spread by weight
            total = sum(weights)
            slot = (i * 7919) % total
            for sid, w in zip(sessions, weights):
                if slot < w:
                    return str(sid)
                slot -= w
        return str(sessions[i % len(sessions)])

    done = await swarm(args, stats, args.count, lambda i, host, port: Watcher(stats, session_for(i), host, port))
    ordered = sorted(stats.latency_ms)
    return {
        "watchers": args.count,
        "connected": len(done.members),
        "connect_failures": done.failures,
        "connect_seconds": round(done.connect_seconds, 2),
        "peak_open": stats.peak_open,
        "window": done.window,
        "deliveries": stats.deliveries,
        "events": stats.events,
        "p50_ms": _percentile(ordered, 50),
        "p99_ms": _percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else None,
        "mean_ms": sum(ordered) / len(ordered) if ordered else None,
        "gaps": stats.gaps,
        "closed": stats.closed,
        "errors": stats.errors,
    }


def swarm_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every swarm takes (the watchers' and the bidders')."""
    parser.add_argument("--out", required=True)
    parser.add_argument("--ready-file")
    parser.add_argument("--seconds", type=float, default=0.0, help="window length after SIGUSR1 (0: until SIGTERM)")
    parser.add_argument("--start-now", action="store_true", help="start the window when connected (no SIGUSR1)")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument("--connect-timeout", type=float, default=60.0)


def run_swarm(run: Callable[[argparse.Namespace], Awaitable[dict[str, Any]]], args: argparse.Namespace) -> int:
    """Run a swarm under uvloop and write what it measured to `--out`."""
    try:
        import uvloop
        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    result = runner(run(args))
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.watchers", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pool", required=True, help="pool file written by the benchmark (sessions, ws_url)")
    parser.add_argument("--url", help="override the pool's ws_url (ws://127.0.0.1:PORT/ws)")
    parser.add_argument("--count", type=int, required=True)
    swarm_arguments(parser)
    return run_swarm(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
