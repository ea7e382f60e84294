"""A bid is identified by (bidder_no, bid_id): a retry gets the original answer and
writes nothing; a reused bid_id with another amount is refused (DUPLICATE_BID);
and the database's partial unique index refuses a second row for one bid."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import PlaceBid
from auction.domain.bidding.events import BidAccepted
from auction.domain.bidding.session import Bid
from auction.domain.bidding.terms import SECOND
from auction.services.session import Result, SessionService
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import (
    INCREMENT,
    START_PRICE,
    Clock,
    accepted_bids,
    assert_log_gap_free,
    assert_projection_matches_log,
    open_listing,
)

SID = "GT-IDEM-1"


def ack(result: Result, bidder_no: int, bid_id: str) -> Bid:
    """What a bidder is told for this bid: the accepted bid as the log holds it."""
    return result.state.accepted[(bidder_no, bid_id)]


async def event_count(con: asyncpg.Connection) -> int:
    return await con.fetchval("SELECT count(*) FROM session_events WHERE session_id = $1", SID)


async def retry_is_acked_without_writing(service: SessionService, db: asyncpg.Connection, original: Bid) -> Result:
    """Bidder 1 sends bid-001 again: the original ack, nothing recorded, the log as it was."""
    count = await event_count(db)
    retry = await service.execute(SID, PlaceBid(1, "bid-001", START_PRICE))
    assert retry.recorded == []
    assert ack(retry, 1, "bid-001") == original
    assert await event_count(db) == count
    return retry


@pytest.fixture
async def first(node: NodeFactory, clock: Clock) -> tuple[SessionService, Bid]:
    service = await node()
    await open_listing(service, clock, SID, bidders=3)
    result = await service.execute(SID, PlaceBid(1, "bid-001", START_PRICE))
    (recorded,) = result.recorded
    assert isinstance(recorded.event, BidAccepted)
    return service, ack(result, 1, "bid-001")


async def test_a_retry_on_the_same_node_gets_the_same_ack_and_writes_nothing(
    first: tuple[SessionService, Bid], db: asyncpg.Connection, clock: Clock
) -> None:
    service, original = first
    clock.advance(3 * SECOND)
    await retry_is_acked_without_writing(service, db, original)


async def test_a_retry_on_a_cold_node_gets_the_same_ack_and_writes_nothing(
    first: tuple[SessionService, Bid], node: NodeFactory, db: asyncpg.Connection
) -> None:
    _, original = first
    await retry_is_acked_without_writing(await node(), db, original)


async def test_a_retry_on_a_node_with_a_stale_cache_writes_nothing(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    a, b = await node(), await node()
    await open_listing(a, clock, SID, bidders=3)
    await b.state(SID)  # B caches the session before the bid exists
    original = ack(await a.execute(SID, PlaceBid(1, "bid-001", START_PRICE)), 1, "bid-001")
    await retry_is_acked_without_writing(b, db, original)


async def test_a_retry_after_the_session_moved_on_still_gets_the_original_ack(
    first: tuple[SessionService, Bid], node: NodeFactory, db: asyncpg.Connection
) -> None:
    service, original = first
    await service.execute(SID, PlaceBid(2, "bid-002", START_PRICE + INCREMENT))
    for retrying in (service, await node()):
        retry = await retry_is_acked_without_writing(retrying, db, original)
        assert retry.state.highest is not None and retry.state.highest.bidder_no == 2


async def test_simultaneous_retries_on_many_nodes_write_one_event(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    """A client that lost its connection may send the same bid through several nodes."""
    nodes = [await node(max_size=1) for _ in range(8)]
    await open_listing(nodes[0], clock, SID, bidders=3)
    results = await asyncio.gather(*(n.execute(SID, PlaceBid(3, "again", START_PRICE)) for n in nodes))
    written = [r for r in results if r.recorded]
    assert len(written) == 1
    acks = {ack(r, 3, "again") for r in results}
    assert len(acks) == 1
    (the_ack,) = acks
    assert the_ack.seq == written[0].recorded[-1].seq
    bids = await accepted_bids(db, SID)
    assert [(b["bid_key"], b["seq"]) for b in bids] == [("3:again", the_ack.seq)]
    await assert_log_gap_free(db, SID)


@pytest.mark.parametrize("cold", [False, True])
async def test_the_same_bid_id_with_another_amount_is_a_duplicate(
    first: tuple[SessionService, Bid], node: NodeFactory, db: asyncpg.Connection, cold: bool
) -> None:
    service, original = first
    count = await event_count(db)
    deciding = await node() if cold else service
    with pytest.raises(Rejected) as info:
        await deciding.execute(SID, PlaceBid(1, "bid-001", START_PRICE + 5 * INCREMENT))
    assert info.value.code is Code.DUPLICATE_BID
    assert info.value.rejection.details == {"bid_id": "bid-001", "accepted_amount": original.amount}
    assert await event_count(db) == count
    state = await assert_projection_matches_log(db, SID)
    assert state.highest == original


async def test_bid_ids_are_per_bidder(first: tuple[SessionService, Bid], db: asyncpg.Connection) -> None:
    service, _ = first
    other = await service.execute(SID, PlaceBid(2, "bid-001", START_PRICE + INCREMENT))
    assert [type(r.event) for r in other.recorded] == [BidAccepted]
    assert [b["bid_key"] for b in await accepted_bids(db, SID)] == ["1:bid-001", "2:bid-001"]


async def test_the_database_refuses_a_second_row_for_one_bid(
    first: tuple[SessionService, Bid], db: asyncpg.Connection
) -> None:
    """Even a writer that bypasses the service (and the seq guard) cannot record a bid twice."""
    _, original = first
    row = await db.fetchrow(
        "SELECT type, at, payload, bid_key FROM session_events WHERE session_id = $1 AND seq = $2",
        SID, original.seq,
    )
    assert row["bid_key"] == "1:bid-001"
    last = await db.fetchval("SELECT max(seq) FROM session_events WHERE session_id = $1", SID)
    payload = json.loads(row["payload"])
    payload["amount"] = START_PRICE + 9 * INCREMENT
    with pytest.raises(asyncpg.UniqueViolationError) as info:
        await db.execute(
            """INSERT INTO session_events (session_id, seq, pub_seq, type, at, payload, bid_key)
               VALUES ($1, $2, NULL, $3, $4, $5, $6)""",
            SID, last + 1, row["type"], row["at"], json.dumps(payload), row["bid_key"],
        )
    assert info.value.constraint_name == "session_events_bid_key"
    # The index is partial: events that are not bids carry no key and never collide.
    assert await db.fetchval(
        "SELECT count(*) FROM session_events WHERE session_id = $1 AND bid_key IS NULL", SID
    ) >= 3
    assert await db.fetchval("SELECT max(seq) FROM session_events WHERE session_id = $1", SID) == last
