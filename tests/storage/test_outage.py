"""The database link fails: the caller gets an error, never a false ack; the same
bid_id retried after the link is back is recorded exactly once (or answered with
the original ack if it had committed); the log has no partial writes.

A TCP proxy sits between the node's pool and PostgreSQL and is cut on purpose
(STYLE: asyncpg's tests/test_adversity.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest

from auction.domain.bidding.commands import CreateSession, PlaceBid
from auction.domain.bidding.events import BidAccepted
from auction.domain.bidding.terms import HOUR
from auction.services.registration import qualify
from auction.services.session import SessionService
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import (
    INCREMENT, RESERVE, START_PRICE, Clock, accepted_bids, assert_log_gap_free, assert_projection_matches_log,
    listing_terms, open_listing,
)
from tests.storage.proxy import DOWN, UP, TcpProxy

SID = "GT-OUT-1"
# What a database outage may look like to the caller (entrypoints/ws/bidder.py maps these to SERVICE_UNAVAILABLE).
OUTAGE = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


@pytest.fixture
async def proxied(node: NodeFactory, proxy: TcpProxy, dsn: str, clock: Clock) -> SessionService:
    """A node whose only database connection runs through the proxy, with an open
    listing and a first bid (so the append statement is prepared on that connection)."""
    service = await node(via=proxy.dsn(dsn), max_size=1)
    await open_listing(service, clock, SID, bidders=3)
    await service.execute(SID, PlaceBid(1, "warm-up", START_PRICE))
    return service


async def keys(db: asyncpg.Connection) -> list[str]:
    return [b["bid_key"] for b in await accepted_bids(db, SID)]


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.01)


async def test_a_bid_while_the_database_is_unreachable_fails_then_the_retry_counts_once(
    proxied: SessionService, proxy: TcpProxy, db: asyncpg.Connection
) -> None:
    bid = PlaceBid(2, "during-outage", START_PRICE + INCREMENT)
    await proxy.cut()
    with pytest.raises(OUTAGE):
        await proxied.execute(SID, bid)
    with pytest.raises(OUTAGE):  # and again: still no ack from a dead link
        await proxied.execute(SID, bid)
    assert await keys(db) == ["1:warm-up"]

    await proxy.restore()
    result = await proxied.execute(SID, bid)
    assert [(r.event.bidder_no, r.event.bid_id) for r in result.recorded if isinstance(r.event, BidAccepted)] == [
        (2, "during-outage")
    ]
    again = await proxied.execute(SID, bid)
    assert again.recorded == []
    assert await keys(db) == ["1:warm-up", "2:during-outage"]
    await assert_log_gap_free(db, SID)
    await assert_projection_matches_log(db, SID)


async def test_cut_before_the_statement_reaches_the_database(
    proxied: SessionService, proxy: TcpProxy, db: asyncpg.Connection
) -> None:
    bid = PlaceBid(2, "lost-on-the-way", START_PRICE + INCREMENT)
    proxy.hold(UP)
    in_flight = asyncio.create_task(proxied.execute(SID, bid))
    await proxy.held(UP)
    await proxy.cut()
    with pytest.raises(OUTAGE):
        await in_flight
    assert await keys(db) == ["1:warm-up"]

    await proxy.restore()
    result = await proxied.execute(SID, bid)
    (recorded,) = result.recorded
    assert await keys(db) == ["1:warm-up", "2:lost-on-the-way"]
    assert result.state.accepted[(2, "lost-on-the-way")].seq == recorded.seq
    await assert_log_gap_free(db, SID)
    await assert_projection_matches_log(db, SID)


async def test_cut_after_the_commit_but_before_the_answer(
    proxied: SessionService, proxy: TcpProxy, node: NodeFactory, db: asyncpg.Connection
) -> None:
    """The worst case for a false ack or a double write: the bid committed, the caller
    never heard. It must get an error now and the original ack on retry."""
    bid = PlaceBid(2, "answer-lost", START_PRICE + INCREMENT)
    proxy.hold(DOWN)
    in_flight = asyncio.create_task(proxied.execute(SID, bid))

    async def committed() -> bool:
        return "2:answer-lost" in await keys(db)

    await until(committed)
    assert not in_flight.done(), "the answer is held at the proxy"
    await proxy.cut()
    with pytest.raises(OUTAGE):
        await in_flight
    (row,) = [b for b in await accepted_bids(db, SID) if b["bid_key"] == "2:answer-lost"]

    await proxy.restore()
    for retrying in (proxied, await node()):  # the same node (cache dropped) and another one
        retry = await retrying.execute(SID, bid)
        assert retry.recorded == []
        original = retry.state.accepted[(2, "answer-lost")]
        assert (original.seq, original.amount) == (row["seq"], bid.amount)
    assert await keys(db) == ["1:warm-up", "2:answer-lost"]
    # The session goes on normally on the proxied node.
    later = await proxied.execute(SID, PlaceBid(3, "after", START_PRICE + 2 * INCREMENT))
    assert later.recorded[-1].seq == row["seq"] + 1
    await assert_log_gap_free(db, SID)
    await assert_projection_matches_log(db, SID)


async def test_cut_inside_a_transaction_leaves_no_partial_write(
    node: NodeFactory, proxy: TcpProxy, dsn: str, clock: Clock, db: asyncpg.Connection
) -> None:
    """Qualifying writes a bidders row and a log event in one transaction. Cut the
    link once both statements have run on the server but before the COMMIT."""
    service = await node(via=proxy.dsn(dsn), max_size=1)
    sid = "GT-OUT-2"
    start_at = clock() + HOUR  # registration is open until the start
    await service.create(CreateSession(listing_terms(sid, start_at=start_at, listing_end_at=start_at + HOUR)), RESERVE)
    await qualify(service, sid, "第一竞买人有限公司", timedelta(hours=1))  # prepares both statements
    events_before = await db.fetchval("SELECT count(*) FROM session_events WHERE session_id = $1", sid)
    assert await db.fetchval("SELECT count(*) FROM bidders WHERE session_id = $1", sid) == 1
    database = dsn.rsplit("/", 1)[1]

    async def backend() -> asyncpg.Record | None:
        return await db.fetchrow(
            """SELECT state, query, backend_xid FROM pg_stat_activity
                WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'""",
            database,
        )

    proxy.hold(DOWN)
    in_flight = asyncio.create_task(qualify(service, sid, "曲靖某某置业有限公司", timedelta(hours=1)))
    for _ in range(50):
        await proxy.held(DOWN)
        row = await backend()
        if (
            row is not None
            and row["state"] == "idle in transaction"
            and row["backend_xid"] is not None  # something was written
            and "INSERT INTO session_events" in row["query"]  # the append ran (it is prepared: no Parse)
        ):
            break
        proxy.step(DOWN)
    else:
        pytest.fail("the transaction never got to just before its COMMIT")
    await proxy.cut()
    with pytest.raises(OUTAGE):
        await in_flight

    async def server_side_gone() -> bool:
        return await backend() is None

    await until(server_side_gone)
    assert await db.fetchval("SELECT count(*) FROM session_events WHERE session_id = $1", sid) == events_before
    assert await db.fetchval("SELECT count(*) FROM bidders WHERE session_id = $1", sid) == 1

    await proxy.restore()
    again = await qualify(service, sid, "曲靖某某置业有限公司", timedelta(hours=1))
    assert await db.fetchval(
        "SELECT count(*) FROM bidders WHERE session_id = $1 AND bidder_no = $2", sid, again.bidder_no
    ) == 1
    await assert_log_gap_free(db, sid)
    await assert_projection_matches_log(db, sid)
