"""The server's Prometheus metrics (`GET /metrics`, docs/operations.md).

One `Metrics` per app, built in `auction/bootstrap.py` with its own
`CollectorRegistry`: nothing goes to the library's global registry, so two
servers in one process (the tests) never share a counter.

Observations on the bid path are a few attribute reads and a histogram
`observe`: every labelled child is bound once (at build, or the first time a
refusal code is seen: the `code` label takes only `Code` values, so it stays
bounded), never looked up by label per bid. What the database knows (the
publication outbox, the deadline board) is read when scraped, not counted.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from auction.domain.clock.deadlines import DeadlineKind
from auction.domain.codes import Code
from auction.store import deadlines as deadline_rows
from auction.store import publication as outbox

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: a bid is decided in a few ms on a quiet node, a commit waits for a WAL flush.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
CONNECTION_KINDS = ("bidder", "watcher")
OUTBOX_STATES = (outbox.PENDING, outbox.FAILED)  # not yet delivered
OPEN_DEADLINE_STATES = tuple(deadline_rows.OPEN_STATES)
DEADLINE_KINDS = tuple(kind.value for kind in DeadlineKind)


class Metrics:
    """The counters, histograms and gauges of one server node."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool  # read when scraped (outbox, deadlines); None: those gauges stay empty
        r = self.registry = CollectorRegistry()
        self.decision = Histogram("auction_bid_decision_seconds",
                                  "From a bid received to its answer decided (accepted after its commit, or refused)",
                                  buckets=LATENCY_BUCKETS, registry=r)
        self.commit = Histogram("auction_commit_seconds", "One append statement with its commit (a batch or a lone "
                                "append), as the event store writes it", buckets=LATENCY_BUCKETS, registry=r)
        self.batch = Histogram("auction_group_commit_batch_size", "Appends written together in one commit",
                               buckets=BATCH_BUCKETS, registry=r)
        self.accepted = Counter("auction_bids_accepted", "Bids accepted (acknowledged after the commit)", registry=r)
        self._refused = Counter("auction_bids_refused", "Bids refused, by refusal code (docs/protocol.md)",
                                ["code"], registry=r)
        self._refused_by: dict[Code, Any] = {}
        connections = Gauge("auction_ws_connections", "Open WebSocket connections past their hello, by kind",
                            ["kind"], registry=r)
        self.connections = {kind: connections.labels(kind) for kind in CONNECTION_KINDS}
        self.slow_consumer = Counter("auction_ws_slow_consumer_closes", "Connections closed (4008) because their "
                                     "send queue overflowed: the messages queued for them were dropped", registry=r)
        attempts = Counter("auction_publication_attempts", "Publication delivery attempts, by outcome",
                           ["outcome"], registry=r)
        self.delivered = attempts.labels("delivered")
        self.delivery_failed = attempts.labels("failed")
        self._outbox = Gauge("auction_publication_outbox", "Outbox rows not yet delivered, by state (at scrape)",
                             ["state"], registry=r)
        self._deadlines = Gauge("auction_deadlines_open", "Open rows of the deadline board, by kind and state "
                                "(at scrape)", ["kind", "state"], registry=r)
        for state in OUTBOX_STATES:
            self._outbox.labels(state)
        for kind in DEADLINE_KINDS:
            for state in OPEN_DEADLINE_STATES:
                self._deadlines.labels(kind, state)

    # the bid path: a dict read and an observe, no label look-up

    def bid_accepted(self, seconds: float) -> None:
        self.decision.observe(seconds)
        self.accepted.inc()

    def bid_refused(self, code: Code, seconds: float) -> None:
        self.decision.observe(seconds)
        child = self._refused_by.get(code)
        if child is None:
            child = self._refused_by[code] = self._refused.labels(code.value)
        child.inc()

    def committed(self, appends: int, seconds: float) -> None:
        """A commit of `appends` appends took `seconds` (store/events.py)."""
        self.commit.observe(seconds)
        self.batch.observe(appends)

    def delivery(self, ok: bool) -> None:
        (self.delivered if ok else self.delivery_failed).inc()

    # scraping

    async def scrape(self) -> bytes:
        """The exposition text, after reading what the database knows."""
        if self.pool is not None:
            depth = await outbox.depth(self.pool)
            for state in OUTBOX_STATES:
                self._outbox.labels(state).set(depth.get(state, 0))
            board = await deadline_rows.open_counts(self.pool)
            for kind in DEADLINE_KINDS:
                for state in OPEN_DEADLINE_STATES:
                    self._deadlines.labels(kind, state).set(board.get((kind, state), 0))
        return generate_latest(self.registry)
