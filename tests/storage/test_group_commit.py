"""Group commit (store/events.py `GroupCommit`): appends to different sessions that
queue up behind a write in flight are written in one statement and one commit.

What must hold, batch or not: each append succeeds or fails on its own guard
(the session's last_seq, and for a bid the deadline on the database's clock);
a refused append writes nothing and does not take the others down; a caller is
answered only after the commit. The writer here is held at its first batch so
that the rest queue up behind it: the second batch then holds all of them, and
the tests check that it did.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from auction.adapters.fanout.broker import InProcessBroker
from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import PlaceBid
from auction.domain.bidding.terms import HOUR
from auction.services.session import Result, SessionService
from auction.store.events import EventStore, GroupCommit, _Pending, to_micros
from tests.storage.helpers import (
    START_PRICE,
    Clock,
    accepted_bids,
    assert_log_gap_free,
    assert_projection_matches_log,
    log_rows,
    open_listing,
    real_now,
)

WAN = 1_000_000


class HeldGroupCommit(GroupCommit):
    """The real group commit with one writer. Once `hold()` is called, the next batch
    waits for `release`, and from then on each batch is recorded: the sessions it
    held and the sessions written."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, writers=1)
        self.release = asyncio.Event()
        self.held = asyncio.Event()
        self.armed = self.recording = False
        self.batches: list[tuple[list[str], list[str]]] = []
        self.cancelled = asyncio.Event()  # a caller was cancelled while its append was in flight

    def hold(self) -> None:
        self.armed, self.recording = True, True

    async def _write(self, con: asyncpg.Connection, batch: list[_Pending]) -> None:
        if self.armed:
            self.armed = False
            self.held.set()
            await self.release.wait()
        await super()._write(con, batch)
        if self.recording:
            self.batches.append(([p.recorded[0].session_id for p in batch],
                                 [p.recorded[0].session_id for p in batch if p.error is None]))

    def _caller_cancelled(self, pending: _Pending) -> None:
        self.cancelled.set()

    async def queued(self, n: int, timeout: float = 30.0) -> None:
        """Wait until `n` appends wait behind the held batch (a generous timeout: only a
        failure waits for it)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self._queue is None or self._queue.qsize() < n:
            if loop.time() >= end:
                raise AssertionError(f"only {self._queue.qsize() if self._queue else 0} of {n} appends queued")
            await asyncio.sleep(0.01)


@pytest.fixture
async def group(pool: asyncpg.Pool) -> AsyncIterator[HeldGroupCommit]:
    g = HeldGroupCommit(pool)
    try:
        yield g
    finally:
        await g.close()


def service_on(store: EventStore, sealer: ReserveSealer, clock: Clock) -> SessionService:
    return SessionService(store, InProcessBroker(), sealer, clock=clock)


async def bids_in_one_batch(group: HeldGroupCommit, bids: list[tuple[SessionService, str, PlaceBid]]
                            ) -> list[Result | BaseException]:
    """Send the first bid (held in the writer), queue the rest behind it, release."""
    (first_service, first_session, first_bid), rest = bids[0], bids[1:]
    group.hold()
    first = asyncio.create_task(first_service.execute(first_session, first_bid))
    await asyncio.wait_for(group.held.wait(), 30)
    others = [asyncio.create_task(s.execute(sid, bid)) for s, sid, bid in rest]
    await group.queued(len(rest))
    group.release.set()
    return list(await asyncio.gather(first, *others, return_exceptions=True))


def opening_bids(*sessions: tuple[SessionService, str]) -> list[tuple[SessionService, str, PlaceBid]]:
    """Bidder 1 bids the start price in each session, through the node given with it."""
    return [(service, sid, PlaceBid(1, f"b-{sid}", START_PRICE)) for service, sid in sessions]


async def test_appends_to_many_sessions_go_out_in_one_statement(
    pool: asyncpg.Pool, group: HeldGroupCommit, sealer: ReserveSealer, clock: Clock, db: asyncpg.Connection
) -> None:
    service = service_on(EventStore(pool, group_commit=group), sealer, clock)
    ids = [f"GC-MANY-{i}" for i in range(12)]
    for sid in ids:
        await open_listing(service, clock, sid, bidders=2)

    results = await bids_in_one_batch(group, [(service, sid, PlaceBid(1, f"b-{sid}", START_PRICE + i * WAN))
                                              for i, sid in enumerate(ids)])

    assert all(isinstance(r, Result) for r in results), results
    assert [len(b[0]) for b in group.batches] == [1, 11]  # the held one, then all the others together
    assert sorted(group.batches[1][1]) == sorted(ids[1:])
    for i, sid in enumerate(ids):
        [bid] = await accepted_bids(db, sid)
        assert bid["amount"] == START_PRICE + i * WAN and bid["bid_key"] == f"1:b-{sid}"
        await assert_log_gap_free(db, sid)
        await assert_projection_matches_log(db, sid)  # the next wake-up too, to the microsecond
        # The batch carries instants as integer microseconds: each row's `at` is its event's, exactly.
        for row in await db.fetch("SELECT at, (payload->>'at')::bigint AS event_at FROM session_events"
                                  " WHERE session_id = $1", sid):
            assert to_micros(row["at"]) == row["event_at"]
    # The cache of the node is the log: the next bid in each session goes on from there.
    again = await service.execute(ids[3], PlaceBid(2, "next", START_PRICE + 10 * WAN))
    assert again.state.highest is not None and again.state.highest.bidder_no == 2


async def test_a_lost_race_in_a_batch_is_refused_alone_and_decided_again(
    dsn: str, pool: asyncpg.Pool, group: HeldGroupCommit, sealer: ReserveSealer, clock: Clock,
    db: asyncpg.Connection,
) -> None:
    """Node A's cache of X is behind the log (node B bid there). A's bids on X, Y and Z
    share a batch: X's guard fails and only X is left out; A catches up from the
    log and decides X's bid again, which then goes through."""
    a = service_on(EventStore(pool, group_commit=group), sealer, clock)
    other_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    assert other_pool is not None
    try:
        b = service_on(EventStore(other_pool), sealer, clock)
        for sid in ("GC-RACE-Y", "GC-RACE-X", "GC-RACE-Z"):
            await open_listing(a, clock, sid, bidders=2)
        await b.execute("GC-RACE-X", PlaceBid(2, "from-b", START_PRICE))  # A does not know

        results = await bids_in_one_batch(group, [
            (a, "GC-RACE-Y", PlaceBid(1, "y", START_PRICE)),
            (a, "GC-RACE-X", PlaceBid(1, "x", START_PRICE + 5 * WAN)),
            (a, "GC-RACE-Z", PlaceBid(1, "z", START_PRICE)),
        ])
    finally:
        await other_pool.close()

    assert all(isinstance(r, Result) for r in results), results
    assert group.batches[1] == (["GC-RACE-X", "GC-RACE-Z"], ["GC-RACE-Z"])  # X refused in the batch...
    assert group.batches[2] == (["GC-RACE-X"], ["GC-RACE-X"])  # ...and written once decided again
    assert [(r["bid_key"], r["amount"]) for r in await accepted_bids(db, "GC-RACE-X")] == [
        ("2:from-b", START_PRICE), ("1:x", START_PRICE + 5 * WAN)]
    for sid in ("GC-RACE-Y", "GC-RACE-X", "GC-RACE-Z"):
        await assert_log_gap_free(db, sid)
        await assert_projection_matches_log(db, sid)


async def test_a_bid_past_the_database_deadline_is_refused_alone(
    pool: asyncpg.Pool, group: HeldGroupCommit, sealer: ReserveSealer, db: asyncpg.Connection
) -> None:
    """DESIGN (time): the deadline guard is checked per append inside the batch. One
    node's clock lags two hours, so it decides a bid in a listing that the
    database's clock says ended an hour ago: that bid alone is refused."""
    store = EventStore(pool, group_commit=group)
    lagging_clock, clock = Clock(real_now() - 2 * HOUR), Clock()
    lagging, service = service_on(store, sealer, lagging_clock), service_on(store, sealer, clock)
    await open_listing(lagging, lagging_clock, "GC-LATE")
    for sid in ("GC-ON-1", "GC-ON-2"):
        await open_listing(service, clock, sid)
    before = await log_rows(db, "GC-LATE")

    batch = opening_bids((service, "GC-ON-1"), (lagging, "GC-LATE"), (service, "GC-ON-2"))
    results = await bids_in_one_batch(group, batch)

    on1, late, on2 = results
    assert isinstance(on1, Result) and isinstance(on2, Result)
    assert isinstance(late, Rejected) and late.code is Code.DEADLINE_PASSED
    assert group.batches[1] == (["GC-LATE", "GC-ON-2"], ["GC-ON-2"])
    assert await log_rows(db, "GC-LATE") == before  # nothing written
    await assert_projection_matches_log(db, "GC-LATE")


async def test_a_statement_error_sinks_no_other_append(
    pool: asyncpg.Pool, group: HeldGroupCommit, sealer: ReserveSealer, clock: Clock, db: asyncpg.Connection
) -> None:
    """If the batch statement itself fails (here: a stray row already holds X's next
    position, as a writer that bypassed the guard would leave), every append is
    written on its own: X gets the database's error, the others are written."""
    service = service_on(EventStore(pool, group_commit=group), sealer, clock)
    for sid in ("GC-ERR-Y", "GC-ERR-X", "GC-ERR-Z"):
        await open_listing(service, clock, sid)
    last = await db.fetchval("SELECT last_seq FROM sessions WHERE session_id = 'GC-ERR-X'")
    await db.execute(
        "INSERT INTO session_events (session_id, seq, pub_seq, type, at, payload)"
        " VALUES ('GC-ERR-X', $1, NULL, 'BidderQualified', now(), '{}')", last + 1)

    batch = opening_bids(*((service, sid) for sid in ("GC-ERR-Y", "GC-ERR-X", "GC-ERR-Z")))
    results = await bids_in_one_batch(group, batch)

    y, x, z = results
    assert isinstance(y, Result) and isinstance(z, Result)
    assert isinstance(x, asyncpg.UniqueViolationError), x
    assert group.batches[1] == (["GC-ERR-X", "GC-ERR-Z"], ["GC-ERR-Z"])
    assert [r["bid_key"] for r in await accepted_bids(db, "GC-ERR-Z")] == ["1:b-GC-ERR-Z"]
    assert await accepted_bids(db, "GC-ERR-X") == []
    assert await db.fetchval("SELECT last_seq FROM sessions WHERE session_id = 'GC-ERR-X'") == last


async def test_closing_answers_every_queued_append(pool: asyncpg.Pool, group: HeldGroupCommit,
                                                   sealer: ReserveSealer, clock: Clock) -> None:
    """Shutting down with appends queued: each caller gets an error (its outcome is then
    read from the log), none is left waiting forever."""
    service = service_on(EventStore(pool, group_commit=group), sealer, clock)
    for sid in ("GC-CLOSE-1", "GC-CLOSE-2"):
        await open_listing(service, clock, sid)
    group.hold()
    first = asyncio.create_task(service.execute("GC-CLOSE-1", PlaceBid(1, "a", START_PRICE)))
    await asyncio.wait_for(group.held.wait(), 30)
    second = asyncio.create_task(service.execute("GC-CLOSE-2", PlaceBid(1, "b", START_PRICE)))
    await group.queued(1)
    await group.close()
    for task in (first, second):
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(task, 30)


async def test_a_cancelled_caller_waits_for_the_outcome_of_its_append(
    pool: asyncpg.Pool, group: HeldGroupCommit, sealer: ReserveSealer, clock: Clock, db: asyncpg.Connection
) -> None:
    """A bidder who disconnects mid-bid cancels its command: the append may still
    commit, so the caller (holding the session lock) waits for the answer before it
    gives up, and the node does not decide the next command on a stale state."""
    service = service_on(EventStore(pool, group_commit=group), sealer, clock)
    await open_listing(service, clock, "GC-CANCEL")
    group.hold()
    task = asyncio.create_task(service.execute("GC-CANCEL", PlaceBid(1, "c", START_PRICE)))
    await asyncio.wait_for(group.held.wait(), 30)
    written_when_answered: list[int] = []
    task.add_done_callback(lambda _: written_when_answered.append(len(group.batches)))
    task.cancel()
    await asyncio.wait_for(group.cancelled.wait(), 30)  # the cancellation has reached the caller...
    assert not task.done()  # ...and it still waits for its append's outcome
    group.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert written_when_answered == [1]  # it gave up only once the held batch was written
    assert [r["bid_key"] for r in await accepted_bids(db, "GC-CANCEL")] == ["1:c"]
    # The same bid again is the same bid (no second event); a bid at the same amount is too low.
    again = await service.execute("GC-CANCEL", PlaceBid(1, "c", START_PRICE))
    assert again.recorded == []
    with pytest.raises(Rejected) as info:
        await service.execute("GC-CANCEL", PlaceBid(2, "d", START_PRICE))
    assert info.value.code is Code.BELOW_MINIMUM
    assert len(await accepted_bids(db, "GC-CANCEL")) == 1


async def test_a_writer_outlives_a_failed_connection(
    dsn: str, pool: asyncpg.Pool, sealer: ReserveSealer, clock: Clock, db: asyncpg.Connection
) -> None:
    """The writer's first connection fails to set up (a real PostgreSQL error from the
    pool's init): that append's caller gets the error and nothing is written; the
    writer goes on, and the same bid sent again is accepted."""
    await open_listing(service_on(EventStore(pool), sealer, clock), clock, "GC-FAIL")
    attempts = 0

    async def init(con: asyncpg.Connection) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await con.execute("SET ROLE no_such_role_here")

    failing = await asyncpg.create_pool(dsn, min_size=0, max_size=2, init=init)
    assert failing is not None
    group = GroupCommit(failing, writers=1)
    try:
        # Reads go through the good pool; only the writer's connections can fail.
        service = service_on(EventStore(pool, group_commit=group), sealer, clock)
        with pytest.raises(asyncpg.InvalidParameterValueError):
            await service.execute("GC-FAIL", PlaceBid(1, "b", START_PRICE))
        assert await accepted_bids(db, "GC-FAIL") == []
        result = await service.execute("GC-FAIL", PlaceBid(1, "b", START_PRICE))
        assert [type(r.event).__name__ for r in result.recorded] == ["BidAccepted"]
        assert attempts == 2
        await assert_log_gap_free(db, "GC-FAIL")
        await assert_projection_matches_log(db, "GC-FAIL")
    finally:
        await group.close()
        await failing.close()
