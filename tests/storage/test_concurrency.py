"""Ordering is decided in PostgreSQL, never in a node's memory (DESIGN: scale-out).

Several SessionService instances, each with its own pool, bid on one session at
once. Each node's per-session lock only orders its own commands; whatever the
nodes race for, the append's guard on `sessions.last_seq` (and the primary key
on (session_id, seq)) must let exactly one writer have each position.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import CreateSession, PlaceBid, QualifyBidder, Resume, Suspend
from auction.domain.bidding.events import BidAccepted
from auction.domain.bidding.terms import HOUR, SECOND
from auction.services.session import Result, SessionService
from auction.store.events import Conflict, EventStore
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import (
    INCREMENT, RESERVE, START_PRICE, Clock, accepted_bids, assert_log_gap_free, assert_projection_matches_log,
    auction_terms, listing_terms,
)

NODES = 10


class CountingStore(EventStore):
    """The real store, counting the appends PostgreSQL refused to a losing racer,
    so a test can show that its writers really raced."""

    conflicts = 0

    async def append(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().append(*args, **kwargs)
        except Conflict:
            CountingStore.conflicts += 1
            raise


async def racing_nodes(node: NodeFactory, count: int = NODES) -> list[SessionService]:
    # Every other node batches its appends (GroupCommit), as the server does by default.
    nodes = [await node(max_size=1, group_commit=i % 2 == 0) for i in range(count)]
    for service in nodes:
        service.store = CountingStore(service.store.pool, group_commit=service.store.group_commit)
    CountingStore.conflicts = 0
    return nodes


async def bid(service: SessionService, session_id: str, bidder_no: int, amount: int, bid_id: str) -> Result | Rejected:
    try:
        return await service.execute(session_id, PlaceBid(bidder_no, bid_id, amount))
    except Rejected as r:
        return r


async def test_fifty_equal_bids_from_ten_nodes_one_is_accepted(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> None:
    nodes = await racing_nodes(node)
    sid = "GT-RACE-1"
    start_at = clock() + SECOND
    await nodes[0].create(
        CreateSession(listing_terms(sid, start_at=start_at, listing_end_at=start_at + HOUR)), RESERVE
    )
    bidders = range(1, 51)
    for n in bidders:  # qualified through every node: each has its append statement prepared
        await nodes[n % NODES].execute(sid, QualifyBidder(n))
    clock.set(start_at + SECOND)
    await nodes[0].tick(sid)
    for service in nodes:  # and every node's cache is current: all decide on the same state
        service.forget(sid)
        await service.state(sid)
    before = await db.fetchval("SELECT last_seq FROM sessions WHERE session_id = $1", sid)
    CountingStore.conflicts = 0

    outcomes = await asyncio.gather(*(bid(nodes[n % NODES], sid, n, START_PRICE, f"race-{n}") for n in bidders))

    assert CountingStore.conflicts >= 1, "the nodes did not actually race"
    acks = [o for o in outcomes if isinstance(o, Result)]
    refusals = [o for o in outcomes if isinstance(o, Rejected)]
    assert len(acks) == 1
    assert len(refusals) == 49
    assert {r.code for r in refusals} == {Code.BELOW_MINIMUM}
    (ack,) = acks
    (written,) = ack.recorded
    assert isinstance(written.event, BidAccepted) and written.seq == before + 1

    rows = await assert_log_gap_free(db, sid)
    assert len(rows) == before + 1
    bids = await accepted_bids(db, sid)
    assert [(b["seq"], b["amount"], b["bid_key"]) for b in bids] == [
        (written.seq, START_PRICE, f"{written.event.bidder_no}:{written.event.bid_id}")
    ]
    state = await assert_projection_matches_log(db, sid)
    assert state.highest is not None and state.highest.bidder_no == written.event.bidder_no


async def test_racing_increasing_bids_stay_ordered_and_gap_free(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> None:
    """An auction (each bid restarts the countdown) that is not even open in the log
    yet: the first writers also race to write the open."""
    nodes = await racing_nodes(node)
    sid = "PM-RACE-2"
    start_at = clock() + SECOND
    # The countdown is long: the deadline guard compares against the database's
    # real clock, which must stay before every deadline here.
    await nodes[0].create(CreateSession(auction_terms(sid, start_at=start_at, countdown=HOUR)), None)
    bidders = list(range(1, 31))
    for n in bidders:
        await nodes[0].execute(sid, QualifyBidder(n))
    clock.set(start_at + SECOND)

    rng = random.Random(20260302)
    acked: list[BidAccepted] = []
    refused: list[tuple[str, Code]] = []

    async def bidder(n: int) -> None:
        service = nodes[n % NODES]
        for attempt in range(5):
            state = await service.state(sid)
            minimum = state.min_next_bid
            assert minimum is not None
            # Sometimes exactly the minimum, sometimes more; stale caches make some too low.
            amount = minimum + rng.choice([0, 0, 1, 2, 5]) * state.increment
            bid_id = f"b{n}-{attempt}"
            outcome = await bid(service, sid, n, amount, bid_id)
            if isinstance(outcome, Rejected):
                refused.append((f"{n}:{bid_id}", outcome.code))
            else:
                (event,) = [r.event for r in outcome.recorded if isinstance(r.event, BidAccepted)]
                assert (event.bidder_no, event.bid_id, event.amount) == (n, bid_id, amount)
                acked.append(event)
            await asyncio.sleep(0)

    await asyncio.gather(*(bidder(n) for n in bidders))

    assert len(acked) + len(refused) == 150
    assert CountingStore.conflicts >= 1, "the nodes did not actually race"
    assert len(acked) >= 10, "the race should still let a fair number of bids through"
    assert {code for _, code in refused} <= {Code.BELOW_MINIMUM, Code.ALREADY_HIGHEST, Code.CONFLICT}

    await assert_log_gap_free(db, sid)
    bids = await accepted_bids(db, sid)
    amounts = [b["amount"] for b in bids]
    assert amounts == sorted(set(amounts)), "amounts must rise strictly in log order"
    assert amounts[0] >= START_PRICE
    # Every acknowledged bid is in the log exactly once; no refused bid is.
    assert sorted(b["bid_key"] for b in bids) == sorted(f"{e.bidder_no}:{e.bid_id}" for e in acked)
    assert not {key for key, _ in refused} & {b["bid_key"] for b in bids}
    assert await db.fetchval(
        "SELECT count(*) FROM session_events WHERE session_id = $1 AND type = 'SessionOpened'", sid
    ) == 1

    state = await assert_projection_matches_log(db, sid)
    assert state.highest is not None and state.highest.amount == amounts[-1]
    # Every node, after catching up from the log, agrees with the replay.
    for service in nodes:
        service.forget(sid)
        assert await service.state(sid) == state


async def test_a_node_refuses_only_on_the_log_not_on_its_stale_cache(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> None:
    """Node B's cache falls behind whenever node A writes. A refusal must be true of
    the log, not of B's memory: otherwise B keeps refusing bids until something
    happens to make it re-read the log."""
    a, b = await node(), await node()
    sid = "GT-STALE-1"
    start_at = clock() + SECOND
    await a.create(
        CreateSession(listing_terms(sid, start_at=start_at, listing_end_at=start_at + HOUR)), RESERVE
    )
    await a.execute(sid, QualifyBidder(1))
    await b.state(sid)  # B caches the session: only bidder 1 qualified
    await a.execute(sid, QualifyBidder(2))
    clock.set(start_at + SECOND)

    # Qualified on A, so B must take the bid (not NOT_QUALIFIED).
    first = await b.execute(sid, PlaceBid(2, "q-2", START_PRICE))
    assert [type(r.event).__name__ for r in first.recorded] == ["SessionOpened", "BidAccepted"]

    # Outbid on A; bidder 2 may bid again on B (not ALREADY_HIGHEST).
    await a.execute(sid, PlaceBid(1, "q-1", START_PRICE + INCREMENT))
    again = await b.execute(sid, PlaceBid(2, "q-2b", START_PRICE + 2 * INCREMENT))
    assert again.recorded[-1].event.amount == START_PRICE + 2 * INCREMENT

    # Suspended and resumed on A; B must take bids again (not SESSION_SUSPENDED).
    clock.advance(SECOND)
    await a.execute(sid, Suspend("line fault"))
    with pytest.raises(Rejected) as info:
        await b.execute(sid, PlaceBid(1, "s-1", START_PRICE + 3 * INCREMENT))
    assert info.value.code is Code.SESSION_SUSPENDED
    clock.advance(SECOND)
    await a.execute(sid, Resume("fixed"))
    resumed = await b.execute(sid, PlaceBid(1, "s-1", START_PRICE + 3 * INCREMENT))
    assert resumed.recorded[-1].seq == (await db.fetchval("SELECT last_seq FROM sessions WHERE session_id = $1", sid))

    # And a refusal that is true of the log is still given.
    with pytest.raises(Rejected) as info:
        await b.execute(sid, PlaceBid(2, "low", START_PRICE))
    assert info.value.code is Code.BELOW_MINIMUM
    await assert_log_gap_free(db, sid)
    await assert_projection_matches_log(db, sid)
