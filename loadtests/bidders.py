"""A lean bidder swarm: the max-throughput bidders in one asyncio process.

    python -m loadtests.bidders --pool pool.json --out bidders.json --ready-file ready --seconds 60

The same bidders as the Locust `BidderUser` in "fast" mode (loadtests/locustfile.py),
the same protocol (docs/protocol.md): a hello with the bidder's token; once
answered and outbid, a bid of the latest state's `min_next_fen`, one bid in
flight per bidder; acks, bids lost to a race (BELOW_MINIMUM, ALREADY_HIGHEST)
and bids too late (DEADLINE_PASSED, SESSION_CLOSED) counted; the ack latency
from sending the bid to its ack. Any other refusal, an error message, a lost
connection or a bid unanswered for 10 s is an error.

Why beside Locust: a Locust user on gevent + websocket-client costs a greenlet
wake-up and a full `json.loads` per frame, and the max-throughput run showed
Locust using some 60 % of a core beside the server's 80 %: the figure measured
the client as much as the server. Here each bidder is the watcher swarm's bare
`asyncio.Protocol` (loadtests/watchers.py: its RFC 6455 framing, under uvloop)
and a frame costs a few byte searches: an event's `seq` and the three state
fields a bidder acts on (`phase`, `highest_bidder_no`, `min_next_fen`), an
ack's `seq`, a refusal's `code`. Only the welcome is parsed as JSON.

Signals as the watcher swarm: connect everyone and wait for every welcome, write
`--ready-file`, then bid; SIGUSR1 (or `--start-now`) starts the measured window,
which `--seconds` or SIGTERM / SIGINT ends: results go to `--out` as JSON.
Bidding starts at the welcome (as Locust's users do), only the window is counted.

`--rate R` paces the load: R bids per second offered in all, each session's bids
`sessions / R` seconds apart on average, the gaps drawn at random (exponential: the
bids of all sessions arrive as a Poisson stream); a bid due sooner waits for its
slot, one whose slot has passed goes at once, and its ack latency counts from when
it is sent. Unpaced (the default), every session always has
a bid in flight: the server is saturated and, by Little's law, the mean ack time is
the bids in flight over the throughput. Paced below saturation, the ack time is what
a bidder sees at that load: the rate at which a latency target still holds.

Only 127.0.0.1 is contacted. Bounded: `--max-seconds` (default 600) whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from array import array
from typing import Any

from loadtests.watchers import (EVENT_PREFIX, SEQ_KEY, Stats, Watcher, _int_after, _percentile, client_frame,
                                loopback_targets, raise_fd_limit, run_swarm, swarm, swarm_arguments)

OPEN_PHASES = (b"LISTING", b"TIMED_BIDDING", b"AUCTION")
LOST_RACE_CODES = frozenset({"BELOW_MINIMUM", "ALREADY_HIGHEST"})
TOO_LATE_CODES = frozenset({"DEADLINE_PASSED", "SESSION_CLOSED"})
BID_TIMEOUT = 10.0  # seconds without an answer: an error, and the connection is closed
LOOK_AGAIN = 1.0  # after a refusal with no news, look at the state again after this long
ACK_PREFIX = b'{"type":"ack"'
REJECT_PREFIX = b'{"type":"reject"'
STATE_KEY = b'"state":'
PHASE_KEY = b'"phase":"'
HIGHEST_KEY = b'"highest_bidder_no":'
MIN_NEXT_KEY = b'"min_next_fen":'
CODE_KEY = b'"code":"'


def _string_after(payload: bytes, key: bytes, start: int = 0) -> bytes | None:
    i = payload.find(key, start)
    if i < 0:
        return None
    i += len(key)
    j = payload.find(b'"', i)
    return payload[i:j] if j > i else None


class BidStats(Stats):
    def __init__(self) -> None:
        super().__init__()
        self.ack_ms = array("d")  # within the window
        self.lost_race = 0
        self.too_late = 0
        self.ack_before_event = 0
        self.sent = 0
        self.stopping = False
        self.interval = 0.0  # `--rate`: seconds between two bids on one session (0: unpaced)
        self.next_slot: dict[str, float] = {}  # session -> the earliest its next bid may be sent


class Bidder(Watcher):
    """One bidder: the watcher's connection and framing, and the bidding of a Locust "fast" user."""

    __slots__ = ("token", "bidder_no", "phase_open", "highest", "min_next", "pending", "sent_at", "sent_seq",
                 "waiting_for", "timer", "paced")
    stats: BidStats

    def __init__(self, stats: BidStats, session_id: str, token: str, host: str, port: int) -> None:
        super().__init__(stats, session_id, host, port)
        self.token = token
        self.bidder_no: int | None = None
        self.phase_open = False
        self.highest: int | None = None
        self.min_next: int | None = None
        self.pending = False  # one bid in flight at a time
        self.sent_at = 0.0
        self.sent_seq = 0  # the seq this bidder had seen when it sent its bid
        self.waiting_for = 0  # after an ack: our own BidAccepted's seq, before looking again
        self.timer: asyncio.TimerHandle | None = None
        self.paced: asyncio.TimerHandle | None = None  # a bid waiting for its session's slot (`--rate`)

    def _hello(self) -> bytes:
        return json.dumps({"type": "hello", "session_id": self.session_id, "token": self.token}).encode()

    # -- what comes in -----------------------------------------------------

    def _message(self, payload: bytes, now: float) -> None:
        stats = self.stats
        if payload.startswith(EVENT_PREFIX):
            seen = self.seq
            seq = self._event_seq(payload)
            if seq is None or seq <= seen:
                return
            at = payload.rfind(STATE_KEY)
            if at < 0:
                stats.error("event without state")
                return
            phase = _string_after(payload, PHASE_KEY, at)
            self.phase_open = phase in OPEN_PHASES
            self.highest = _int_after(payload[at:], HIGHEST_KEY)
            self.min_next = _int_after(payload[at:], MIN_NEXT_KEY)
            if self.waiting_for and seq >= self.waiting_for:
                self.waiting_for = 0
            self._maybe_bid()
            return
        if payload.startswith(ACK_PREFIX):
            self._answered(payload, now, accepted=True)
            return
        if payload.startswith(REJECT_PREFIX):
            self._answered(payload, now, accepted=False)
            return
        self._not_an_event(payload)

    def _welcomed(self, welcome: dict[str, Any]) -> None:
        state = welcome["state"]
        self.bidder_no = welcome.get("bidder_no")
        self.phase_open = state.get("phase", "").encode() in OPEN_PHASES
        self.highest = state.get("highest_bidder_no")
        self.min_next = state.get("min_next_fen")
        self._maybe_bid()  # at once, if not the highest (as Locust's users do after their hello)

    def _answered(self, payload: bytes, now: float, *, accepted: bool) -> None:
        stats = self.stats
        if not self.pending:
            stats.error("an answer with no bid in flight")
            return
        self.pending = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        ms = (time.perf_counter() - self.sent_at) * 1000.0
        if accepted:
            if stats.recording:
                stats.ack_ms.append(ms)
            seq = _int_after(payload, SEQ_KEY) or 0
            if self.seq < seq:  # the ack came before our own BidAccepted: wait for it, as Locust's users do
                if stats.recording:
                    stats.ack_before_event += 1
                self.waiting_for = seq
                self.timer = asyncio.get_running_loop().call_later(LOOK_AGAIN, self._look_again)
                return
            self._maybe_bid()
            return
        code = (_string_after(payload, CODE_KEY) or b"?").decode()
        if code in LOST_RACE_CODES:
            if stats.recording:
                stats.lost_race += 1
        elif code in TOO_LATE_CODES:
            if stats.recording:
                stats.too_late += 1
        else:
            stats.error(f"bid: rejected {code}")
        if self.seq == self.sent_seq:  # the winning bid's event is on its way
            self.timer = asyncio.get_running_loop().call_later(LOOK_AGAIN, self._look_again)
            return
        self._maybe_bid()

    # -- what goes out -----------------------------------------------------

    def _look_again(self) -> None:
        self.timer = None
        self.waiting_for = 0
        self._maybe_bid()

    def _may_bid(self) -> bool:
        return not (self.pending or self.paced or self.waiting_for or self.done or self.stats.stopping
                    or not self.phase_open or self.min_next is None or self.highest == self.bidder_no
                    or self.transport is None or self.transport.is_closing())

    def _maybe_bid(self) -> None:
        if not self._may_bid():
            return
        if self.timer is not None:  # news came before the timer: act on it now
            self.timer.cancel()
            self.timer = None
        stats = self.stats
        if stats.interval:
            now = time.perf_counter()
            # Exponential gaps (a Poisson stream per session): even gaps would keep the sessions in
            # step, every bid of a round arriving together, which no real crowd of bidders does. A
            # slot missed (the previous bid's answer came late) is not lost: the next bid goes at
            # once, so over the run the session offers its share of the rate.
            slot = stats.next_slot.get(self.session_id, now)
            stats.next_slot[self.session_id] = slot + random.expovariate(1.0 / stats.interval)
            if slot > now:
                self.paced = asyncio.get_running_loop().call_later(slot - now, self._slot)
                return
        self._send_bid()

    def _slot(self) -> None:
        self.paced = None
        if self._may_bid():  # judged again at its slot (the slot is this bid's, not taken anew)
            self._send_bid()

    def _send_bid(self) -> None:
        assert self.transport is not None and self.min_next is not None
        bid = {"type": "bid", "bid_id": uuid.uuid4().hex, "amount_fen": self.min_next}
        self.pending = True
        self.sent_seq = self.seq
        self.sent_at = time.perf_counter()
        self.transport.write(client_frame(0x1, json.dumps(bid).encode()))
        self.stats.sent += 1
        self.timer = asyncio.get_running_loop().call_later(BID_TIMEOUT, self._unanswered)

    def _unanswered(self) -> None:
        self.timer = None
        if self.pending:
            self._fail("bid: no answer in time")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with open(args.pool) as f:
        pool = json.load(f)
    args.targets = loopback_targets(pool.get("ws_urls") or [pool["ws_url"]], "the bidder swarm")
    slots = [(s["session_id"], b["token"]) for s in pool["sessions"] for b in s["bidders"]]
    count = args.count or len(slots)
    raise_fd_limit(count + 1024)
    stats = BidStats()
    if args.rate > 0:  # spread over the sessions that have a bidder here
        stats.interval = len({slots[i % len(slots)][0] for i in range(count)}) / args.rate

    def make(i: int, host: str, port: int) -> Bidder:
        session_id, token = slots[i % len(slots)]
        return Bidder(stats, session_id, token, host, port)

    async def answers_in_flight(bidders: list[Any]) -> None:
        stats.stopping = True  # no new bids; the answers to those in flight come before the goodbye
        loop = asyncio.get_running_loop()
        end = loop.time() + BID_TIMEOUT
        while any(b.pending and not b.done for b in bidders) and loop.time() < end:
            await asyncio.sleep(0.01)
        for b in bidders:
            for handle in (b.timer, b.paced):
                if handle is not None:
                    handle.cancel()

    done = await swarm(args, stats, count, make, answers_in_flight)
    ordered = sorted(stats.ack_ms)
    window = done.window
    return {
        "bidders": count,
        "rate": args.rate or None,
        "connected": len(done.members),
        "connect_failures": done.failures,
        "connect_seconds": round(done.connect_seconds, 2),
        "window": window,
        "accepted": len(ordered),
        "accepted_rate": len(ordered) / window if window > 0 else None,
        "lost_race": stats.lost_race,
        "too_late": stats.too_late,
        "ack_before_event": stats.ack_before_event,
        "p50_ms": _percentile(ordered, 50),
        "p99_ms": _percentile(ordered, 99),
        "mean_ms": sum(ordered) / len(ordered) if ordered else None,
        "gaps": stats.gaps,
        "closed": stats.closed,
        "errors": stats.errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bidders", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pool", required=True, help="pool file written by the benchmark (sessions, tokens, ws_url)")
    parser.add_argument("--count", type=int, default=0, help="bidders (default: every bidder of the pool)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="bids per second offered in all, spread evenly over the sessions (0: unpaced, saturating)")
    swarm_arguments(parser)
    return run_swarm(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
