"""Start-up check (RULES 7.5): if the server was down past a deadline, the session
is suspended on start, not closed: bidders could not bid while it was down. If
the server was alive at the deadline, the session closes normally.

Each test plays a node that ran until `last_alive`, then a new node (cold
cache, its clock at the restart time) running `recover`.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import CreateSession, PlaceBid, QualifyBidder, Resume
from auction.domain.bidding.session import SessionState
from auction.domain.bidding.terms import MINUTE, SECOND
from auction.services.session import SessionService
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import (
    INCREMENT, RESERVE, START_PRICE, Clock, Opened, assert_log_gap_free, assert_projection_matches_log,
    auction_terms, listing_terms, log_rows, open_listing,
)

SID = "GT-REC-1"


async def types(db: asyncpg.Connection, session_id: str = SID) -> list[str]:
    return [r["type"] for r in await log_rows(db, session_id)]


async def last_event(db: asyncpg.Connection, session_id: str = SID) -> dict[str, object]:
    rows = await log_rows(db, session_id)
    return {"type": rows[-1]["type"], "pub_seq": rows[-1]["pub_seq"], **json.loads(rows[-1]["payload"])}


async def crashing_listing(node: NodeFactory, clock: Clock) -> tuple[SessionService, Opened]:
    """The node that will go down, with an open listing of two bidders."""
    before_crash = await node()
    return before_crash, await open_listing(before_crash, clock, SID, bidders=2)


async def restart(node: NodeFactory, clock: Clock, at: int, last_alive: int) -> tuple[SessionService, SessionState]:
    """A new node, its clock at `at`, runs the start-up check for a server last alive at `last_alive`."""
    clock.set(at)
    restarted = await node()
    return restarted, await restarted.recover(SID, last_alive)


async def test_down_across_the_listing_end_suspends_instead_of_closing(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    before_crash, opened = await crashing_listing(node, clock)
    await before_crash.execute(SID, PlaceBid(1, "b1", START_PRICE))
    last_alive = clock() + 10 * MINUTE
    logged = await types(db)

    # The restart, after the listing end.
    restarted, state = await restart(node, clock, opened.deadline + 5 * MINUTE, last_alive)

    assert state.phase.value == "SUSPENDED"
    assert await types(db) == [*logged, "SessionSuspended"]
    event = await last_event(db)
    assert event["recovery"] is True and event["reason"] == "SERVER_DOWN_PAST_DEADLINE"
    assert event["at"] == last_alive  # effective from when it went down, not from the restart
    assert event["pub_seq"] is not None  # bidders are told

    # The timer firing now closes nothing.
    state = await restarted.tick(SID)
    assert state.phase.value == "SUSPENDED" and state.closed is None
    assert "SessionClosed" not in await types(db)

    # Resumed (within the hour: directly): the listing gets back the time it lost (RULES 7.2).
    resumed = (await restarted.execute(SID, Resume("database restored"))).state
    assert resumed.deadline == opened.deadline + (clock() - last_alive)
    accepted = await restarted.execute(SID, PlaceBid(2, "b2", START_PRICE + INCREMENT))
    assert accepted.recorded
    await assert_log_gap_free(db, SID)
    await assert_projection_matches_log(db, SID)


async def test_alive_at_the_listing_end_it_closes_normally(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    before_crash, opened = await crashing_listing(node, clock)
    await before_crash.execute(SID, PlaceBid(1, "b1", RESERVE))
    last_alive = opened.deadline + MINUTE  # it went down only after the deadline
    logged = await types(db)

    restarted, state = await restart(node, clock, opened.deadline + 5 * MINUTE, last_alive)
    assert state.phase.value == "LISTING"
    assert await types(db) == logged  # nothing written

    state = await restarted.tick(SID)
    assert state.closed is not None
    assert (state.closed.outcome, state.closed.winner_bidder_no, state.closed.price) == ("SOLD", 1, RESERVE)
    assert state.closed.at == opened.deadline  # stamped at the deadline, not when the timer ran
    assert await types(db) == [*logged, "SessionClosed"]
    await assert_projection_matches_log(db, SID)


async def test_down_but_no_deadline_passed_changes_nothing(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    _, opened = await crashing_listing(node, clock)
    last_alive = clock() + MINUTE
    logged = await types(db)
    restart_at = clock() + 20 * MINUTE
    assert restart_at < opened.deadline

    restarted, state = await restart(node, clock, restart_at, last_alive)
    assert state.phase.value == "LISTING"
    assert await types(db) == logged
    assert (await restarted.execute(SID, PlaceBid(2, "after-restart", START_PRICE))).recorded


async def test_down_across_the_start_suspends_before_opening(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    before_crash = await node()
    start_at = clock() + 10 * MINUTE
    terms = listing_terms(SID, start_at=start_at, listing_end_at=start_at + 60 * MINUTE)
    await before_crash.create(CreateSession(terms), RESERVE)
    await before_crash.execute(SID, QualifyBidder(1))
    last_alive = clock() + MINUTE

    restarted, state = await restart(node, clock, start_at + 5 * MINUTE, last_alive)
    assert state.phase.value == "SUSPENDED"
    assert await types(db) == ["SessionCreated", "BidderQualified", "SessionSuspended"]
    assert (await last_event(db))["at"] == last_alive
    with pytest.raises(Rejected) as info:
        await restarted.execute(SID, PlaceBid(1, "too-soon", START_PRICE))
    assert info.value.code is Code.SESSION_SUSPENDED


async def test_an_auction_countdown_that_ran_out_while_down_restarts_in_full(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    before_crash = await node()
    start_at = clock() + SECOND
    countdown = 5 * MINUTE
    await before_crash.create(CreateSession(auction_terms(SID, start_at=start_at, countdown=countdown)), None)
    await before_crash.execute(SID, QualifyBidder(1))
    clock.set(start_at + SECOND)
    bid = await before_crash.execute(SID, PlaceBid(1, "b1", START_PRICE))
    deadline = bid.state.deadline
    assert deadline == clock() + countdown
    last_alive = clock() + MINUTE

    restarted, state = await restart(node, clock, deadline + MINUTE, last_alive)
    assert state.phase.value == "SUSPENDED"
    assert (await restarted.tick(SID)).closed is None
    clock.advance(MINUTE)
    resumed = (await restarted.execute(SID, Resume("fixed"))).state
    assert resumed.phase.value == "AUCTION"
    assert resumed.deadline == clock() + countdown  # the full countdown again (RULES 7.2)


async def test_two_nodes_starting_at_once_suspend_once(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    _, opened = await crashing_listing(node, clock)
    last_alive = clock() + MINUTE
    clock.set(opened.deadline + MINUTE)
    nodes = [await node() for _ in range(4)]
    # Every node finds the session suspended; a node that lost the race does not fail its start-up.
    states = await asyncio.gather(*(n.recover(SID, last_alive) for n in nodes))
    assert [s.phase.value for s in states] == ["SUSPENDED"] * len(nodes)
    assert len({s.seq for s in states}) == 1
    assert (await types(db)).count("SessionSuspended") == 1
    assert "SessionClosed" not in await types(db)
    await assert_log_gap_free(db, SID)
    await assert_projection_matches_log(db, SID)
