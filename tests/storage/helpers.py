"""Builders and checks shared by the storage tests (real PostgreSQL, no mocks).

Time in these tests is a `Clock` the test moves by hand and passes to
`SessionService(clock=...)`. The database's own clock (`clock_timestamp()`)
keeps real time: the deadline guard in the append compares against it, so
sessions that must accept bids keep their deadlines in the real future.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from auction.domain.bidding.commands import CreateSession, QualifyBidder
from auction.domain.bidding.events import event_from_dict
from auction.domain.money import percent_ceil
from auction.domain.bidding.session import SessionState, replay
from auction.domain.bidding.terms import HOUR, MINUTE, SECOND, Method, SessionRules, SessionTerms
from auction.services.session import SessionService
from auction.store.events import to_micros

WAN = 1_000_000  # fen in 1 万元
START_PRICE = 100 * WAN
INCREMENT = 1 * WAN
RESERVE = 110 * WAN


@asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection, closed after the block."""
    con = await asyncpg.connect(dsn)
    try:
        yield con
    finally:
        await con.close()


def real_now() -> int:
    return time.time_ns() // 1000


class Clock:
    """The service's clock, moved only by the test (µs UTC)."""

    def __init__(self, now: int | None = None) -> None:
        self.now = real_now() if now is None else now

    def __call__(self) -> int:
        return self.now

    def advance(self, micros: int) -> int:
        self.now += micros
        return self.now

    def set(self, micros: int) -> int:
        self.now = micros
        return self.now


def listing_terms(
    session_id: str,
    *,
    start_at: int,
    listing_end_at: int,
    start_price: int = START_PRICE,
    increment: int = INCREMENT,
    countdown: int = 5 * MINUTE,
    registration_closes_at: int | None = None,
    rules: SessionRules | None = None,
) -> SessionTerms:
    return SessionTerms(
        session_id=session_id,
        parcel_ref=f"QJ-{session_id}",
        method=Method.LISTING,
        start_price=start_price,
        increment=increment,
        deposit=percent_ceil(start_price, 20),
        start_at=start_at,
        listing_end_at=listing_end_at,
        countdown=countdown,
        registration_closes_at=start_at if registration_closes_at is None else registration_closes_at,
        # The service seals the reserve and fills these in (RULES 2.4).
        has_reserve=False,
        reserve_commitment=None,
        rules=SessionRules(min_listing_period=0) if rules is None else rules,
    )


def auction_terms(session_id: str, *, start_at: int, **kw: Any) -> SessionTerms:
    """`listing_terms` as an auction: no listing end (`kw`: start_price, increment, countdown, rules)."""
    listing = listing_terms(session_id, start_at=start_at, listing_end_at=start_at, **kw)
    return replace(listing, method=Method.AUCTION, listing_end_at=None)


@dataclass(frozen=True)
class Opened:
    session_id: str
    bidders: tuple[int, ...]
    start_at: int
    deadline: int


async def open_listing(
    service: SessionService,
    clock: Clock,
    session_id: str,
    *,
    bidders: int | tuple[int, ...] = 2,
    reserve: int | None = RESERVE,
    listing_for: int = HOUR,
    tick: bool = True,
) -> Opened:
    """Create a listing starting one second from the clock, qualify bidders, and
    move the clock into the listing (and, with `tick`, write the open)."""
    start_at = clock() + SECOND
    end = start_at + listing_for
    await service.create(CreateSession(listing_terms(session_id, start_at=start_at, listing_end_at=end)), reserve)
    numbers = tuple(range(1, bidders + 1)) if isinstance(bidders, int) else bidders
    for n in numbers:
        await service.execute(session_id, QualifyBidder(n))
    clock.set(start_at + SECOND)
    if tick:
        await service.tick(session_id)
    return Opened(session_id, numbers, start_at, end)


# ---------------------------------------------------------------------------
# what the database holds


async def log_rows(con: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    return await con.fetch(
        "SELECT seq, pub_seq, type, payload, bid_key, xmin::text AS xmin, ctid::text AS ctid"
        " FROM session_events WHERE session_id = $1 ORDER BY seq",
        session_id,
    )


async def assert_log_gap_free(con: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    """seq is 1..N; the public events' pub_seq is 1..M in the same order; private ones have none."""
    rows = await log_rows(con, session_id)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    pub = [r["pub_seq"] for r in rows if r["pub_seq"] is not None]
    assert pub == list(range(1, len(pub) + 1))
    for r in rows:
        assert (r["pub_seq"] is None) == (r["type"] in ("BidderQualified", "BidderTokenReissued")), r
    return rows


async def replayed(con: asyncpg.Connection, session_id: str) -> SessionState:
    rows = await log_rows(con, session_id)
    return replay([event_from_dict(r["type"], json.loads(r["payload"])) for r in rows])


async def assert_projection_matches_log(con: asyncpg.Connection, session_id: str) -> SessionState:
    """The `sessions` row is exactly what replaying the log gives."""
    state = await replayed(con, session_id)
    row = await con.fetchrow("SELECT * FROM sessions WHERE session_id = $1", session_id)
    assert row is not None
    wake = row["next_wakeup"]
    got = (
        row["phase"], row["last_seq"], row["last_pub_seq"], to_micros(wake) if wake is not None else None,
        row["highest_fen"], row["highest_bidder_no"], row["bid_count"],
    )
    highest = state.highest
    want = (
        state.phase.value, state.seq, state.pub_seq, state.next_wakeup(),
        highest.amount if highest else None, highest.bidder_no if highest else None, state.bid_count,
    )
    assert got == want
    return state


async def accepted_bids(con: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    return await con.fetch(
        "SELECT seq, pub_seq, bid_key, (payload->>'amount')::bigint AS amount"
        " FROM session_events WHERE session_id = $1 AND type = 'BidAccepted' ORDER BY seq",
        session_id,
    )
