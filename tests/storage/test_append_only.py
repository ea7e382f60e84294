"""The session event log is append-only (DESIGN: storage; migrations/0001).

The database itself refuses UPDATE, DELETE and TRUNCATE on `session_events`,
and a whole session run, from creation to the close, only ever adds rows:
every row written early keeps its exact physical version (xmin, ctid).
"""

from __future__ import annotations

import asyncpg
import pytest

from auction.domain.bidding.commands import PlaceBid, Resume, Suspend
from auction.domain.bidding.terms import MINUTE
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import (
    INCREMENT, RESERVE, START_PRICE, Clock, assert_log_gap_free, assert_projection_matches_log, log_rows,
    open_listing,
)


@pytest.fixture
async def run(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> str:
    service = await node()
    opened = await open_listing(service, clock, "GT-LOG-1", bidders=2)
    await service.execute(opened.session_id, PlaceBid(1, "first", START_PRICE))
    return opened.session_id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE session_events SET payload = '{}'::jsonb WHERE session_id = $1",
        "UPDATE session_events SET seq = seq + 100 WHERE session_id = $1 AND type = 'BidAccepted'",
        "DELETE FROM session_events WHERE session_id = $1",
        "DELETE FROM session_events WHERE session_id = $1 AND type = 'BidAccepted'",
    ],
)
async def test_rows_cannot_be_changed_or_removed(db: asyncpg.Connection, run: str, statement: str) -> None:
    before = await log_rows(db, run)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute(statement, run)
    assert await log_rows(db, run) == before


async def test_truncate_is_refused(db: asyncpg.Connection, run: str) -> None:
    before = await log_rows(db, run)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="TRUNCATE"):
        await db.execute("TRUNCATE session_events")
    with pytest.raises(asyncpg.PostgresError):
        await db.execute("TRUNCATE session_events CASCADE")
    assert await log_rows(db, run) == before


async def test_a_session_that_has_events_cannot_be_deleted(db: asyncpg.Connection, run: str) -> None:
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute("DELETE FROM sessions WHERE session_id = $1", run)
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE session_id = $1", run) == 1


async def test_a_whole_session_run_only_appends(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection, run: str
) -> None:
    service = await node()
    other = await node()  # a second node writes too
    snapshots = [await log_rows(db, run)]

    async def step() -> None:
        rows = await log_rows(db, run)
        previous = snapshots[-1]
        assert len(rows) > len(previous), "every step here writes at least one event"
        # Earlier rows: same content, same physical version (never rewritten in place or moved).
        assert rows[: len(previous)] == previous
        snapshots.append(rows)

    await other.execute(run, PlaceBid(2, "second", START_PRICE + INCREMENT))
    await step()
    clock.advance(MINUTE)
    await service.execute(run, Suspend("network fault at the trading center"))
    await step()
    clock.advance(10 * MINUTE)
    await other.execute(run, Resume("fault fixed"))
    await step()
    await service.execute(run, PlaceBid(1, "third", RESERVE))
    await step()
    # The listing ends (pushed back by the 10 frozen minutes); two bidders go on to timed bidding.
    listing = await service.state(run)
    assert listing.deadline is not None
    clock.set(listing.deadline)
    assert (await other.tick(run)).phase.value == "TIMED_BIDDING"
    await step()
    clock.advance(MINUTE)
    await service.execute(run, PlaceBid(2, "fourth", RESERVE + INCREMENT))
    await step()
    clock.advance(5 * MINUTE)
    state = await service.tick(run)
    await step()
    assert state.closed is not None
    assert (state.closed.outcome, state.closed.winner_bidder_no, state.closed.price) == ("SOLD", 2, RESERVE + INCREMENT)

    rows = await assert_log_gap_free(db, run)
    assert [r["type"] for r in rows] == [
        "SessionCreated", "BidderQualified", "BidderQualified", "SessionOpened", "BidAccepted",
        "BidAccepted", "SessionSuspended", "SessionResumed", "BidAccepted", "TimedBiddingStarted",
        "BidAccepted", "SessionClosed",
    ]
    assert await assert_projection_matches_log(db, run) == state
