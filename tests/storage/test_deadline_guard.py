"""A bid counts when the server's transaction accepts it before the deadline
(DESIGN: time). The engine decides on the node's clock; the append re-checks
the deadline against the database's clock (`clock_timestamp()`) in the same
statement that writes. A bid decided in time whose transaction runs late is
refused with DEADLINE_PASSED and writes nothing.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import CreateSession, PlaceBid, QualifyBidder
from auction.domain.bidding.terms import HOUR, MINUTE, SECOND
from auction.services.session import SessionService
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import (
    RESERVE,
    START_PRICE,
    Clock,
    assert_log_gap_free,
    assert_projection_matches_log,
    listing_terms,
    log_rows,
    open_listing,
    real_now,
)
from tests.storage.proxy import UP, TcpProxy


async def snapshot(db: asyncpg.Connection, session_id: str) -> tuple[object, ...]:
    row = await db.fetchrow("SELECT * FROM sessions WHERE session_id = $1", session_id)
    return (tuple(await log_rows(db, session_id)), tuple(row.items()))


@pytest.mark.parametrize("opened_in_log", [True, False])
async def test_a_bid_decided_in_time_but_written_after_the_deadline_is_refused(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection, opened_in_log: bool
) -> None:
    """The node's clock lags two hours behind the database's: by the node's clock the
    listing has most of an hour to run, by the database's it ended an hour ago."""
    service = await node()
    clock.set(real_now() - 2 * HOUR)
    opened = await open_listing(service, clock, "GT-LATE-1", bidders=2, tick=opened_in_log)
    assert clock() < opened.deadline < real_now() - 30 * MINUTE
    before = await snapshot(db, opened.session_id)

    with pytest.raises(Rejected) as info:
        await service.execute(opened.session_id, PlaceBid(1, "late", START_PRICE))
    assert info.value.code is Code.DEADLINE_PASSED
    assert info.value.rejection.details == {"deadline": opened.deadline}
    # Nothing written: not the bid, and not the open that would have come with it.
    assert await snapshot(db, opened.session_id) == before
    # A cold node (fresh from the log) refuses it just the same.
    other = await node()
    with pytest.raises(Rejected) as info:
        await other.execute(opened.session_id, PlaceBid(1, "late", START_PRICE))
    assert info.value.code is Code.DEADLINE_PASSED
    assert await snapshot(db, opened.session_id) == before

    # Only the bid is guarded: the schedule's own transitions are still written.
    state = await service.tick(opened.session_id)
    assert state.phase.value == "LISTING"
    assert state.highest is None
    await assert_log_gap_free(db, opened.session_id)
    await assert_projection_matches_log(db, opened.session_id)


async def test_the_same_bid_before_the_database_deadline_is_accepted(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    """The control: with the deadline still ahead on the database's clock, the bid counts."""
    service = await node()
    opened = await open_listing(service, clock, "GT-LATE-2", bidders=2)
    assert opened.deadline > real_now() + 30 * MINUTE
    result = await service.execute(opened.session_id, PlaceBid(1, "in-time", START_PRICE))
    assert [type(r.event).__name__ for r in result.recorded] == ["BidAccepted"]
    await assert_projection_matches_log(db, opened.session_id)


async def test_a_bid_delayed_on_its_way_to_the_database_past_the_deadline_is_refused(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection, proxy: TcpProxy, dsn: str
) -> None:
    """Real time this once: the bid is decided before the deadline and its statement
    is held up in the network until after it.

    The listing's setup must leave its deadline ahead of the database's clock, or the
    bid would be refused without the delay that is the point here. How long the setup
    takes is this machine's business: if it ate half of the listing, the test sets up
    another listing twice as long, and so on."""
    service: SessionService = await node(via=proxy.dsn(dsn), max_size=1)
    for attempt, length in enumerate((SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND, 16 * SECOND)):
        sid = f"GT-LATE-3-{attempt}"
        clock.set(real_now())
        start_at = clock() + 100_000
        # A short listing: shorter than the rules allow, only because these tests set
        # min_listing_period=0.
        deadline = start_at + length
        await service.create(CreateSession(listing_terms(sid, start_at=start_at, listing_end_at=deadline)), RESERVE)
        await service.execute(sid, QualifyBidder(1))
        clock.set(start_at)
        assert (await service.tick(sid)).deadline == deadline
        if deadline - real_now() >= length // 2:
            break
    else:
        pytest.fail("setting up a listing took longer than half of it, however long it was")
    clock.set(deadline - 600_000)  # decided 0.6 s before the deadline by the node's clock
    before = await snapshot(db, sid)

    proxy.hold(UP)
    in_flight = asyncio.create_task(service.execute(sid, PlaceBid(1, "slow-net", START_PRICE)))
    await proxy.held(UP)
    await asyncio.sleep((deadline - real_now()) / SECOND + 0.05)
    proxy.release()
    with pytest.raises(Rejected) as info:
        await in_flight
    assert info.value.code is Code.DEADLINE_PASSED
    assert await snapshot(db, sid) == before
