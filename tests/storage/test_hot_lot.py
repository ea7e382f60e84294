"""A hot lot: bids on one session that queue behind its commit in flight are decided
in arrival order against the state that commit leaves, and all the events they
produce are appended by one guarded statement: one transaction (the rows share
one `xmin`), one WAL flush. Each caller is answered only after that commit, a
refusal judged on the batch's state too. The guard (the session's last_seq, and
for a bid the deadline on the database's clock) holds for the whole batch: when
another node moved the log, none of it is written and it is decided again.

The writer (`HeldGroupCommit`) is held at a batch so that the rest queue up
behind it; the tests see what each statement wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import PlaceBid
from auction.domain.bidding.terms import HOUR
from auction.services.session import Result, SessionService
from auction.store.events import EventStore, Recorded
from tests.storage import helpers as h
from tests.storage.test_group_commit import WAN, HeldGroupCommit, service_on

START_PRICE = h.START_PRICE


@dataclass
class Lot:
    """One node whose writer can be held (`HeldGroupCommit`), on the test's clock."""

    group: HeldGroupCommit
    service: SessionService
    clock: h.Clock

    async def open(self, session_id: str, bidders: int) -> h.Opened:
        return await h.open_listing(self.service, self.clock, session_id, bidders=bidders)

    async def first_in_flight(self, session_id: str, bid: PlaceBid) -> asyncio.Task[Result]:
        """Send `bid`; its append is held in the writer."""
        self.group.hold()
        first = asyncio.create_task(self.service.execute(session_id, bid))
        await asyncio.wait_for(self.group.held.wait(), 30)
        return first


@pytest.fixture
async def lot(pool: asyncpg.Pool, sealer: ReserveSealer, clock: h.Clock) -> AsyncIterator[Lot]:
    group = HeldGroupCommit(pool)
    try:
        yield Lot(group, service_on(EventStore(pool, group_commit=group), sealer, clock), clock)
    finally:
        await group.close()


async def hold_next(group: HeldGroupCommit) -> None:
    """Release the batch held now and hold the next one in the writer."""
    held = group.release
    group.release, group.held = asyncio.Event(), asyncio.Event()
    group.hold()
    held.set()
    await asyncio.wait_for(group.held.wait(), 30)


async def queue_behind(service: SessionService, session_id: str, bids: list[PlaceBid]
                       ) -> list[asyncio.Task[Result]]:
    """Send `bids` one after the other; each waits for the session's turn (held by a commit)."""
    tasks = []
    turn = service._lock(session_id)
    for n, bid in enumerate(bids, start=1):
        tasks.append(asyncio.create_task(service.execute(session_id, bid)))
        for _ in range(3000):  # arrival order is the order they queued in
            if len(turn.queue) == n:
                break
            await asyncio.sleep(0.01)
        assert len(turn.queue) == n, "the bid did not queue"
    return tasks


async def test_bids_behind_a_commit_are_decided_in_order_and_written_in_one_transaction(
    lot: Lot, db: asyncpg.Connection
) -> None:
    group, sid = lot.group, "HOT-ORDER"
    await lot.open(sid, bidders=5)
    first = await lot.first_in_flight(sid, PlaceBid(1, "b1", START_PRICE))
    queued = await queue_behind(lot.service, sid, [
        PlaceBid(2, "b2", START_PRICE + 1 * WAN),
        PlaceBid(3, "b3", START_PRICE + 1 * WAN),  # the same amount, later: below the minimum then
        PlaceBid(4, "b4", START_PRICE + 2 * WAN),
        PlaceBid(4, "b4", START_PRICE + 2 * WAN),  # a repeat: the same answer
        PlaceBid(4, "b4x", START_PRICE + 3 * WAN),  # already the highest
        PlaceBid(5, "b5", START_PRICE + 3 * WAN),
    ])

    await hold_next(group)  # the first is committed; the queued batch is in the writer, held
    assert isinstance(await first, Result)
    assert not any(t.done() for t in queued), "answered before the batch committed"
    group.release.set()
    b2, b3, b4, b4_again, b4x, b5 = await asyncio.gather(*queued, return_exceptions=True)

    assert group.batches == [([sid], [sid]), ([sid], [sid])]  # two statements: the first bid, then the rest
    assert isinstance(b2, Result) and isinstance(b4, Result) and isinstance(b5, Result)
    assert isinstance(b3, Rejected) and b3.code is Code.BELOW_MINIMUM
    assert b3.rejection.details == {"minimum": START_PRICE + 2 * WAN}  # judged after b2, not on the cache
    assert isinstance(b4x, Rejected) and b4x.code is Code.ALREADY_HIGHEST
    assert isinstance(b4_again, Result) and b4_again.recorded == []
    assert b4_again.state.accepted[(4, "b4")].seq == b4.recorded[-1].seq
    assert [r.seq for r in b2.recorded + b4.recorded + b5.recorded] == [3 + 5 + n for n in (1, 2, 3)]
    assert [(r["bid_key"], r["amount"]) for r in await h.accepted_bids(db, sid)] == [
        ("1:b1", START_PRICE), ("2:b2", START_PRICE + WAN), ("4:b4", START_PRICE + 2 * WAN),
        ("5:b5", START_PRICE + 3 * WAN)]
    rows = await h.assert_log_gap_free(db, sid)
    assert len({r["xmin"] for r in rows[-3:]}) == 1  # one transaction for the batch
    assert rows[-4]["xmin"] != rows[-1]["xmin"]
    await h.assert_projection_matches_log(db, sid)


async def test_a_batch_behind_a_log_another_node_moved_writes_none_and_is_decided_again(
    dsn: str, lot: Lot, sealer: ReserveSealer, db: asyncpg.Connection
) -> None:
    """Node A's batch is in its writer when node B bids: A's guarded append matches no
    row, so none of the batch is written; A catches up and decides the batch again."""
    a, group, sid = lot.service, lot.group, "HOT-RACE"
    await lot.open(sid, bidders=5)
    other_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    assert other_pool is not None
    try:
        b = service_on(EventStore(other_pool), sealer, lot.clock)
        first = await lot.first_in_flight(sid, PlaceBid(1, "b1", START_PRICE))
        queued = await queue_behind(a, sid, [PlaceBid(2, "b2", START_PRICE + 2 * WAN),
                                             PlaceBid(3, "b3", START_PRICE + 3 * WAN),
                                             PlaceBid(4, "b4", START_PRICE + 4 * WAN)])
        await hold_next(group)
        await b.execute(sid, PlaceBid(5, "from-b", START_PRICE + 1 * WAN))  # A does not know
        group.release.set()
        results = await asyncio.gather(first, *queued, return_exceptions=True)
    finally:
        await other_pool.close()

    assert all(isinstance(r, Result) for r in results), results
    assert group.batches == [([sid], [sid]), ([sid], []), ([sid], [sid])]  # refused whole, then again
    assert [r["bid_key"] for r in await h.accepted_bids(db, sid)] == ["1:b1", "5:from-b", "2:b2", "3:b3", "4:b4"]
    rows = await h.assert_log_gap_free(db, sid)
    assert len({r["xmin"] for r in rows[-3:]}) == 1
    await h.assert_projection_matches_log(db, sid)


async def test_every_bid_of_a_batch_keeps_its_deadline_guard(
    lot: Lot, db: asyncpg.Connection
) -> None:
    """The node's clock lags two hours: it decides bids in a listing that the database's
    clock says ended an hour ago. The batch's append is refused on the deadline, and each
    bid of it, decided again alone, is refused with DEADLINE_PASSED; nothing is written."""
    lot.clock.set(h.real_now() - 2 * HOUR)
    sid = "HOT-LATE"
    opened = await lot.open(sid, bidders=4)
    before = await h.log_rows(db, sid)
    first = await lot.first_in_flight(sid, PlaceBid(1, "b1", START_PRICE))
    queued = await queue_behind(lot.service, sid, [PlaceBid(n, f"b{n}", START_PRICE + n * WAN) for n in (2, 3, 4)])
    lot.group.release.set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)

    for r in results:
        assert isinstance(r, Rejected) and r.code is Code.DEADLINE_PASSED, results
        assert r.rejection.details == {"deadline": opened.deadline}
    assert await h.log_rows(db, sid) == before
    await h.assert_projection_matches_log(db, sid)


async def test_a_bid_whose_caller_left_before_its_turn_is_not_decided(
    lot: Lot, db: asyncpg.Connection
) -> None:
    sid = "HOT-LEFT"
    await lot.open(sid, bidders=3)
    first = await lot.first_in_flight(sid, PlaceBid(1, "b1", START_PRICE))
    gone, kept = await queue_behind(lot.service, sid, [PlaceBid(2, "b2", START_PRICE + WAN),
                                                   PlaceBid(3, "b3", START_PRICE + WAN)])
    gone.cancel()
    lot.group.release.set()
    assert isinstance(await first, Result) and isinstance(await kept, Result)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert [r["bid_key"] for r in await h.accepted_bids(db, sid)] == ["1:b1", "3:b3"]
    await h.assert_log_gap_free(db, sid)
    assert not lot.service._lock(sid).held  # the turn is free again


class CountingStore(EventStore):
    """An event store that remembers from which seq each load read the log."""

    loads: list[int]

    async def load(self, session_id: str, after_seq: int = 0) -> list[Recorded]:
        self.loads.append(after_seq)
        return await super().load(session_id, after_seq)


async def test_a_node_told_another_appended_reads_on_from_its_cached_state(
    dsn: str, pool: asyncpg.Pool, sealer: ReserveSealer, clock: h.Clock, db: asyncpg.Connection
) -> None:
    """Node B appended (the fan-out says so): node A reads the log after the seq it holds,
    not from the log's start, and decides on the state both nodes' events make
    (docs/architecture.md, "One bid": several nodes)."""
    store = CountingStore(pool)
    store.loads = []
    a = service_on(store, sealer, clock)
    sid = "HOT-BEHIND"
    await h.open_listing(a, clock, sid, bidders=3)
    await a.execute(sid, PlaceBid(1, "a1", START_PRICE))
    held = (await a.state(sid)).seq
    other_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    assert other_pool is not None
    try:
        b = service_on(EventStore(other_pool), sealer, clock)
        done = await b.execute(sid, PlaceBid(2, "b1", START_PRICE + WAN))
    finally:
        await other_pool.close()
    store.loads.clear()
    a.remote_event(sid, done.state.pub_seq)
    result = await a.execute(sid, PlaceBid(3, "a2", START_PRICE + 2 * WAN))
    assert store.loads == [held]  # one range read, from the state it had
    assert result.state.seq == done.state.seq + len(result.recorded)
    assert [r["bid_key"] for r in await h.accepted_bids(db, sid)] == ["1:a1", "2:b1", "3:a2"]
    await h.assert_projection_matches_log(db, sid)
