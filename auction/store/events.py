"""The session event log in PostgreSQL.

Append is one SQL statement: it moves the session row's `last_seq` from the
value the engine decided on to the new one *and* inserts the events. If another
writer got there first, the guard matches no row and nothing is written
(`Conflict`); the caller catches up from the log and decides again. The
primary key (session_id, seq) backs this up. An accepted bid is acknowledged
only after this statement has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from auction.adapters.protocol import canonical_json
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.events import BidAccepted, Event, event_from_dict, event_to_dict, event_type, is_public
from auction.domain.bidding.session import SessionState
from auction.adapters.tasks import cancel_all


log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Conflict(Exception):
    """Another writer appended to this session first, or the deadline guard refused."""


def to_datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(0, 0, micros)  # (days, seconds, microseconds): positional is faster


def to_micros(value: datetime) -> int:
    return int(value.timestamp()) * 1_000_000 + value.microsecond


@dataclass(frozen=True)
class Recorded:
    """An event as the log holds it."""

    session_id: str
    seq: int
    pub_seq: int | None
    event: Event
    # Its fields' canonical JSON, encoded once (`payload`): the log's payload and, for a public
    # event, the heart of its transparency leaf (services/transparency.py) are the same bytes.
    _payload: bytes | None = field(default=None, compare=False, repr=False)

    def payload(self) -> bytes:
        """The event's fields as canonical JSON (sorted keys, no spaces, UTF-8)."""
        encoded = self._payload
        if encoded is None:
            encoded = canonical_json(event_to_dict(self.event))
            object.__setattr__(self, "_payload", encoded)
        return encoded


def number(session_id: str, state_before: SessionState, events: list[Event]) -> list[Recorded]:
    """Give each new event its log position and, if public, its public position."""
    seq, pub = state_before.seq, state_before.pub_seq
    out = []
    for event in events:
        seq += 1
        pub_seq = None
        if is_public(event):
            pub += 1
            pub_seq = pub
        out.append(Recorded(session_id, seq, pub_seq, event))
    return out


def _rows(recorded: list[Recorded]) -> tuple[list[Any], ...]:
    """The events as the append's column arrays (one pass: a bid appends one event)."""
    seqs: list[int] = []
    pub_seqs: list[int | None] = []
    types: list[str] = []
    ats: list[datetime] = []
    payloads: list[str] = []
    bid_keys: list[str | None] = []
    for r in recorded:
        event = r.event
        seqs.append(r.seq)
        pub_seqs.append(r.pub_seq)
        types.append(event_type(event))
        ats.append(to_datetime(event.at))
        payloads.append(r.payload().decode())
        bid_keys.append(_bid_key(event))
    return seqs, pub_seqs, types, ats, payloads, bid_keys


def _bid_key(event: Event) -> str | None:
    return f"{event.bidder_no}:{event.bid_id}" if isinstance(event, BidAccepted) else None


def _projection(state: SessionState) -> tuple[Any, ...]:
    """The session row's columns after `state` (its next wake-up in microseconds)."""
    highest = state.highest
    return (
        state.phase.value,
        state.seq,
        state.pub_seq,
        state.next_wakeup(),
        highest.amount if highest else None,
        highest.bidder_no if highest else None,
        state.bid_count,
    )


def _append_args(recorded: list[Recorded], expected_seq: int, projection: tuple[Any, ...],
                 before: int | None) -> tuple[Any, ...]:
    """`_APPEND`'s parameters: one session's append."""
    return (recorded[0].session_id, expected_seq, *_rows(recorded), *_dated(projection),
            to_datetime(before) if before is not None else None)


def _dated(projection: tuple[Any, ...]) -> tuple[Any, ...]:
    """`_projection` as `_APPEND`'s parameters (its wake-up a timestamptz)."""
    wake = projection[3]
    return (*projection[:3], to_datetime(wake) if wake is not None else None, *projection[4:])


_APPEND = """
WITH guard AS (
    UPDATE sessions
       SET phase = $9, last_seq = $10, last_pub_seq = $11, next_wakeup = $12,
           highest_fen = $13, highest_bidder_no = $14, bid_count = $15, updated_at = now()
     WHERE session_id = $1 AND last_seq = $2
       AND ($16::timestamptz IS NULL OR clock_timestamp() < $16::timestamptz)
 RETURNING session_id
)
INSERT INTO session_events (session_id, seq, pub_seq, type, at, payload, bid_key)
SELECT guard.session_id, e.seq, e.pub_seq, e.type, e.at, e.payload, e.bid_key
  FROM guard,
       unnest($3::int[], $4::int[], $5::text[], $6::timestamptz[], $7::jsonb[], $8::text[])
           AS e(seq, pub_seq, type, at, payload, bid_key)
"""


# The same guarded append for many sessions at once (group commit): one statement,
# one commit, one WAL flush. Each input row is one append (numbered by `idx`); the
# guard is per row, so an append that lost a race (or whose deadline passed) is
# left out while the others are written; the statement returns the idx written.
# Events belong to their append by idx, never by session id alone.
#
# The batch goes as two JSON arrays of rows (`_many_args`), not as 17 parameter
# arrays: asyncpg encodes an array element by element (with several isinstance
# checks on each), which cost the server some 14 us of CPU per append; one text
# parameter costs nearly nothing, and PostgreSQL reads the rows. Instants travel as
# integer microseconds (`_AT_SQL`: exact, no float on the way).
_AT_SQL = "to_timestamp({0} / 1000000) + ({0} % 1000000) * interval '1 microsecond'"
_APPEND_MANY = f"""
WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
        AS i(idx int, session_id text, expected int, phase text, last_seq int, last_pub_seq int,
             next_wakeup bigint, highest_fen bigint, highest_bidder_no int, bid_count int, before bigint)
), guard AS (
    UPDATE sessions s
       SET phase = i.phase, last_seq = i.last_seq, last_pub_seq = i.last_pub_seq,
           next_wakeup = {_AT_SQL.format("i.next_wakeup")},
           highest_fen = i.highest_fen, highest_bidder_no = i.highest_bidder_no, bid_count = i.bid_count,
           updated_at = now()
      FROM input i
     WHERE s.session_id = i.session_id AND s.last_seq = i.expected
       AND (i.before IS NULL OR clock_timestamp() < {_AT_SQL.format("i.before")})
 RETURNING i.idx, s.session_id
), written AS (
    INSERT INTO session_events (session_id, seq, pub_seq, type, at, payload, bid_key)
    SELECT guard.session_id, e.seq, e.pub_seq, e.type, {_AT_SQL.format("e.at")}, e.payload, e.bid_key
      FROM jsonb_to_recordset($2::jsonb)
               AS e(idx int, seq int, pub_seq int, type text, at bigint, payload jsonb, bid_key text)
      JOIN guard ON guard.idx = e.idx
)
SELECT idx FROM guard
"""


class _Pending:
    """One append waiting for the group commit, and then its outcome (`error` None: written).

    The caller waits on `waiter`, a future of its own that the outcome only wakes: a
    cancelled caller cancels that future, never the outcome, and waits on a new one (no
    `asyncio.shield`, whose extra future and callback cost every bid a turn of the loop)."""

    __slots__ = ("recorded", "expected_seq", "projection", "before", "answered", "error", "_traceback", "waiter")

    def __init__(self, recorded: list[Recorded], expected_seq: int, projection: tuple[Any, ...],
                 before: int | None) -> None:
        self.recorded = recorded
        self.expected_seq = expected_seq
        self.projection = projection
        self.before = before  # the deadline guard, in microseconds (None: none)
        self.answered = False
        self.error: BaseException | None = None
        self._traceback: TracebackType | None = None
        self.waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def session_id(self) -> str:
        return self.recorded[0].session_id

    def args(self) -> tuple[Any, ...]:
        """The single-session statement's arguments (`_APPEND`: an append written on its own)."""
        return _append_args(self.recorded, self.expected_seq, self.projection, self.before)

    def answer(self, error: BaseException | None = None) -> None:
        if self.answered:
            return
        self.answered, self.error = True, error
        if error is not None:
            self._traceback = error.__traceback__
        if not self.waiter.done():
            self.waiter.set_result(None)


# Told after a commit: how many appends it wrote, and its seconds (auction/adapters/metrics.py).
Committed = Callable[[int, float], None]


class GroupCommit:
    """Appends to different sessions that arrive while a write is in flight are
    written together: one statement, one commit (so one WAL flush) for all of
    them. Nothing waits on a timer: a lone append goes out at once, and a batch
    is simply what queued up behind the previous write (natural batching).

    Each append still succeeds or fails on its own guard, and its caller is
    answered only after the statement has committed (or failed). A caller that
    is cancelled still waits for that answer, so the session's turn in
    `SessionService` is never passed on while its append may yet commit; that
    turn keeps one append per session in flight from this node (the bids that
    queue behind it come here as one append: services/runner.py).
    """

    def __init__(self, pool: asyncpg.Pool, writers: int = 2, max_batch: int = 256, *,
                 observe: Committed | None = None) -> None:
        self.pool = pool
        self.observe = observe  # told each batch's size and write time (GET /metrics)
        self.writers = writers
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    async def append(self, pending: _Pending) -> None:
        if self._closed:
            raise ConnectionError("the event store is closed")
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._write_loop(self._queue), name=f"group-commit-{i}")
                           for i in range(self.writers)]
        self._queue.put_nowait(pending)
        cancelled = False
        while not pending.answered:
            try:
                await pending.waiter
            except asyncio.CancelledError:
                cancelled = True  # the outcome first: it may still commit
                self._caller_cancelled(pending)
                if not pending.answered:
                    pending.waiter = asyncio.get_running_loop().create_future()
        if cancelled:
            raise asyncio.CancelledError
        if pending.error is not None:
            # One error may answer a whole batch: each caller raises it from where it was made
            # (as `Future.result` does), not with the frames of every caller before it.
            raise pending.error.with_traceback(pending._traceback)

    def _caller_cancelled(self, pending: _Pending) -> None:
        """Called when the caller of an append in flight is cancelled (it goes on waiting
        for the outcome). Nothing to do here; a seam where a test learns that the
        cancellation arrived, instead of sleeping and hoping it did."""

    async def close(self) -> None:
        self._closed = True
        await cancel_all(*self._tasks)
        self._tasks = []
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait().answer(ConnectionError("the event store is closing"))
            self._queue = None

    async def _write_loop(self, queue: asyncio.Queue[_Pending]) -> None:
        # A connection kept while appends keep coming (no pool reset between batches),
        # given back whenever the queue runs dry, so the pool is never starved.
        con: Any = None
        batch: list[_Pending] = []
        try:
            while True:
                if con is not None and (queue.empty() or con.is_closed()):
                    kept, con = con, None
                    await self._release(kept)
                batch = [await queue.get()]
                while len(batch) < self.max_batch and not queue.empty():
                    batch.append(queue.get_nowait())
                batch.sort(key=lambda p: p.session_id)  # one lock order for every batch
                try:
                    if con is None:
                        con = await self.pool.acquire()
                    started = time.perf_counter()
                    await self._write(con, batch)
                    if self.observe is not None:
                        self.observe(len(batch), time.perf_counter() - started)
                except Exception as e:
                    # No connection, or it broke mid-write: whether the batch committed is
                    # unknown to its callers (each is told; a retry is safe, SessionService).
                    log.warning("group commit of %d appends failed: %r", len(batch), e)
                    for p in batch:
                        p.answer(e)
                    if con is not None:
                        kept, con = con, None
                        await self._release(kept)
                batch = []
        finally:
            for p in batch:
                p.answer(ConnectionError("the event store is closing"))
            if con is not None:
                kept, con = con, None
                await self._release(kept)

    async def _release(self, con: Any) -> None:
        with contextlib.suppress(Exception):
            await self.pool.release(con)

    async def _write(self, con: asyncpg.Connection, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            [p] = batch
            await self._write_one(con, p)
            return
        try:
            rows = await con.fetch(_APPEND_MANY, *_many_args(batch))
        except asyncpg.PostgresError:
            if con.is_closed():
                raise
            # A statement error sinks the whole batch; give each append its own
            # answer (and its own error) by writing them one by one.
            log.warning("group commit of %d appends failed; writing them one by one", len(batch), exc_info=True)
            for p in batch:
                await self._write_one(con, p)
            return
        written = {r["idx"] for r in rows}
        for idx, p in enumerate(batch, start=1):
            p.answer(None if idx in written else Conflict(p.session_id))

    async def _write_one(self, con: asyncpg.Connection, p: _Pending) -> None:
        try:
            status = await con.execute(_APPEND, *p.args())
        except asyncpg.PostgresError as e:
            if con.is_closed():
                raise
            p.answer(e)
            return
        p.answer(None if status == f"INSERT 0 {len(p.recorded)}" else Conflict(p.session_id))


def _many_args(batch: list[_Pending]) -> tuple[str, str]:
    """The batch as `_APPEND_MANY`'s two JSON arrays: one row per append, one per event."""
    appends: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for idx, p in enumerate(batch, start=1):
        appends.append({"idx": idx, "session_id": p.session_id, "expected": p.expected_seq,
                        **dict(zip(_PROJECTED, p.projection, strict=True)), "before": p.before})
        for r in p.recorded:
            event = r.event
            events.append({"idx": idx, "seq": r.seq, "pub_seq": r.pub_seq, "type": event_type(event),
                           "at": event.at, "payload": orjson.Fragment(r.payload()), "bid_key": _bid_key(event)})
    return orjson.dumps(appends).decode(), orjson.dumps(events).decode()


_PROJECTED = ("phase", "last_seq", "last_pub_seq", "next_wakeup", "highest_fen", "highest_bidder_no", "bid_count")


class EventStore:
    def __init__(self, pool: asyncpg.Pool, *, group_commit: GroupCommit | None = None,
                 observe: Committed | None = None) -> None:
        self.pool = pool
        self.group_commit = group_commit
        self.observe = observe  # a lone append's commit (the group commit tells its own)

    async def create(
        self,
        recorded: list[Recorded],
        state_after: SessionState,
        sealed: tuple[str, bytes, bytes] | None,
    ) -> None:
        """Create the session row, its first events and its sealed reserve in one transaction."""
        terms = state_after.terms
        assert terms is not None
        async with self.pool.acquire() as con, con.transaction():
            try:
                await con.execute(
                    """INSERT INTO sessions (session_id, method, parcel_ref, phase, last_seq, last_pub_seq)
                       VALUES ($1, $2, $3, 'NEW', 0, 0)""",
                    terms.session_id, terms.method.value, terms.parcel_ref,
                )
            except asyncpg.UniqueViolationError:
                raise Rejected(Code.SESSION_EXISTS, session_id=terms.session_id) from None
            if sealed is not None:
                key_id, nonce, ciphertext = sealed
                await con.execute(
                    "INSERT INTO sealed_reserves (session_id, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)",
                    terms.session_id, key_id, nonce, ciphertext,
                )
            status = await con.execute(_APPEND, *_append_args(recorded, 0, _projection(state_after), None))
            if status != f"INSERT 0 {len(recorded)}":
                raise Conflict(terms.session_id)

    async def append(
        self,
        recorded: list[Recorded],
        expected_seq: int,
        state_after: SessionState,
        *,
        before: int | None = None,
        con: asyncpg.Connection | None = None,
    ) -> None:
        """Append `recorded` if the log is still at `expected_seq` (and, with `before`,
        only if the database clock is still before that instant: a bid counts when
        its transaction is accepted before the deadline)."""
        session_id = recorded[0].session_id
        projection = _projection(state_after)
        if con is None and self.group_commit is not None:
            await self.group_commit.append(_Pending(recorded, expected_seq, projection, before))
            return
        args = _append_args(recorded, expected_seq, projection, before)
        if con is None:
            started = time.perf_counter()
            status = await self.pool.execute(_APPEND, *args)
            if self.observe is not None:
                self.observe(1, time.perf_counter() - started)
        else:
            status = await con.execute(_APPEND, *args)
        if status != f"INSERT 0 {len(recorded)}":
            raise Conflict(session_id)

    async def load(self, session_id: str, after_seq: int = 0) -> list[Recorded]:
        rows = await self.pool.fetch(
            "SELECT seq, pub_seq, type, payload FROM session_events WHERE session_id = $1 AND seq > $2 ORDER BY seq",
            session_id, after_seq,
        )
        return [Recorded(session_id, r["seq"], r["pub_seq"], event_from_dict(r["type"], json.loads(r["payload"])))
                for r in rows]

    async def load_public(self, session_id: str, after_pub_seq: int, limit: int = 10_000) -> list[Recorded]:
        rows = await self.pool.fetch(
            """SELECT seq, pub_seq, type, payload FROM session_events
                WHERE session_id = $1 AND pub_seq > $2 ORDER BY pub_seq LIMIT $3""",
            session_id, after_pub_seq, limit,
        )
        return [Recorded(session_id, r["seq"], r["pub_seq"], event_from_dict(r["type"], json.loads(r["payload"])))
                for r in rows]

    async def open_sessions(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT session_id FROM sessions WHERE phase NOT IN ('CLOSED', 'TERMINATED') ORDER BY session_id"
        )
        return [r["session_id"] for r in rows]

    async def exists(self, session_id: str) -> bool:
        return bool(await self.pool.fetchval("SELECT 1 FROM sessions WHERE session_id = $1", session_id))
