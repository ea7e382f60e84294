"""The command path: load state, let the engine decide, append, then publish.

    command -> (per-session lock) -> decide(state, command, now) -> append (one
    statement, committed) -> cache the new state -> fan out -> reset the timer

Nothing is acknowledged or published before the append has committed. The
in-memory state is a cache of the log: on a conflict (another node appended
first) it is caught up from the log and the command decided again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import asyncpg

from auction.adapters.fanout.broker import Broker, Message
from auction.adapters.protocol import event_message
from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.codes import Code, Rejected
from auction.domain.commands import Advance, Close, Command, CreateSession, PlaceBid, RevealedReserve
from auction.domain.events import Event
from auction.domain.session import SessionState, decide, evolve, recovery_suspension
from auction.reactions import Reactions, SessionFinal, WakeupChanged
from auction.store import sessions as session_rows
from auction.store.events import Conflict, EventStore, Recorded, number

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A session's state is remembered after every MARK_EVERY-th public event, so that a resume
# replays the log from the nearest one at or before its `last_seq`: its cost is what it
# missed (plus at most this many events), not the whole log.
MARK_EVERY = 64
MAX_MARKS = 8  # remembered states per session: the last 8 x 64 public events resume cheaply


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Result:
    recorded: list[Recorded]
    state: SessionState


class SessionService:
    def __init__(
        self,
        store: EventStore,
        broker: Broker,
        sealer: ReserveSealer,
        clock: Callable[[], int] = now_us,
        *,
        sole_writer: bool = False,
        reactions: Reactions | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.sealer = sealer
        self.clock = clock
        # True only for a single node (no REDIS_URL): every append to every session
        # goes through this process's locks, so the cache is never behind the log
        # and a refusal needs no second look at the database.
        self.sole_writer = sole_writer
        self._states: dict[str, SessionState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Told WakeupChanged after every change (the timers), and SessionFinal once a session
        # has become final, after the commit (the post-trade steps: deposits, deadlines).
        self.reactions = reactions if reactions is not None else Reactions()
        # session -> pub_seq (a multiple of MARK_EVERY) -> the state right after that public
        # event. The log is append-only, so a mark stays true: `forget` keeps them.
        self._marks: dict[str, dict[int, SessionState]] = {}

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    async def state(self, session_id: str) -> SessionState:
        cached = self._states.get(session_id)
        if cached is not None:
            return cached
        state = await self._catch_up(SessionState(), session_id)
        if state.terms is None:
            raise Rejected(Code.UNKNOWN_SESSION, session_id=session_id)
        self._states[session_id] = state
        return state

    def forget(self, session_id: str) -> None:
        self._states.pop(session_id, None)

    def remote_event(self, session_id: str, pub_seq: int) -> None:
        """Another node appended to this session: the cached state is behind the log."""
        cached = self._states.get(session_id)
        if cached is not None and cached.pub_seq < pub_seq:
            self.forget(session_id)

    async def latest_message(self, session_id: str) -> Message | None:
        """The session's latest public event as a fan-out message, read from the log.

        Offered again to local followers after fan-out may have lost messages: a
        follower that missed anything sees the gap and fills it from the log."""
        self.forget(session_id)
        state = await self.state(session_id)
        if state.pub_seq == 0:
            return None
        [last] = await self.store.load_public(session_id, state.pub_seq - 1, limit=1)
        assert last.pub_seq is not None
        return Message(session_id, last.pub_seq, event_message(session_id, last.pub_seq, last.event, state))

    async def _catch_up(self, state: SessionState, session_id: str) -> SessionState:
        for r in await self.store.load(session_id, after_seq=state.seq):
            state = evolve(state, r.event)
            assert state.seq == r.seq, "log and state out of step"
            self._mark(session_id, r, state)
        return state

    def _mark(self, session_id: str, r: Recorded, state: SessionState) -> None:
        if r.pub_seq is not None and r.pub_seq % MARK_EVERY == 0:
            marks = self._marks.setdefault(session_id, {})
            marks[r.pub_seq] = state
            # Only the latest few: a state holds every accepted bid, so keeping them all would
            # grow with the square of a session's bids. Resumers are near the end; one from
            # further back reads from an earlier state (or the start), as before marks.
            while len(marks) > MAX_MARKS:
                del marks[min(marks)]

    async def public_after(self, session_id: str, after_pub_seq: int, upto: int | None = None) -> list[Message]:
        """The public events after `after_pub_seq` (through `upto`), in order, each with the
        state right after it, as sent live: for a resume or a gap in the fan-out.

        The log is read from the remembered state nearest at or before `after_pub_seq`
        (a range read on the log's key), not from its start."""
        marks = self._marks.get(session_id, {})
        base = max((m for m in marks if m <= after_pub_seq), default=None)
        state = marks[base] if base is not None else SessionState()
        messages = []
        for r in await self.store.load(session_id, after_seq=state.seq):
            state = evolve(state, r.event)
            self._mark(session_id, r, state)
            if r.pub_seq is None or r.pub_seq <= after_pub_seq:
                continue
            if upto is not None and r.pub_seq > upto:
                break
            messages.append(Message(session_id, r.pub_seq, event_message(session_id, r.pub_seq, r.event, state)))
        return messages

    async def create(self, command: CreateSession, reserve_fen: int | None) -> Result:
        """Create a session. The reserve is sealed here; only its commitment enters the log."""
        terms = command.terms
        sealed = self.sealer.seal(terms.session_id, reserve_fen) if reserve_fen is not None else None
        if sealed is not None:
            command = CreateSession(replace(terms, has_reserve=True, reserve_commitment=sealed.commitment))
        events = decide(SessionState(), command, self.clock())
        state = _apply(SessionState(), events)
        recorded = number(terms.session_id, SessionState(), events)
        blob = (sealed.key_id, sealed.nonce, sealed.ciphertext) if sealed else None
        async with self._lock(terms.session_id):
            await self.store.create(recorded, state, blob)
            self._states[terms.session_id] = state
        await self._published(recorded, SessionState())
        self.reactions.notify(WakeupChanged(terms.session_id, state.next_wakeup()))
        return Result(recorded, state)

    async def execute(
        self,
        session_id: str,
        command: Command,
        *,
        at: int | None = None,
        also: Callable[[asyncpg.Connection, SessionState], Awaitable[None]] | None = None,
    ) -> Result:
        """Decide and record `command`. Raises `Rejected` (nothing written) or a database error
        (outcome unknown to the caller: the cache is dropped and a retry is safe).

        `also` writes rows that belong to the same decision in the same transaction.
        """
        async with self._lock(session_id):
            state = await self.state(session_id)
            for _ in range(MAX_ATTEMPTS):
                now = self.clock() if at is None else at
                try:
                    events = decide(state, command, now)
                except Rejected:
                    if self.sole_writer:
                        raise
                    # The cache may be behind the log (another node wrote): a refusal
                    # must hold for the log, not for this node's memory.
                    caught = await self._catch_up(state, session_id)
                    if caught.seq == state.seq:
                        raise
                    self._states[session_id] = state = caught
                    continue
                if not events:
                    return Result([], state)
                after = _apply(state, events)
                guard = None
                if isinstance(command, PlaceBid):
                    # The bid counts only if the transaction runs before the deadline in force.
                    guard = _apply(state, events[:-1]).deadline
                recorded = number(session_id, state, events)
                try:
                    if also is None:
                        await self.store.append(recorded, state.seq, after, before=guard)
                    else:
                        async with self.store.pool.acquire() as con, con.transaction():
                            # The guarded append first: a lost race surfaces as Conflict
                            # (decided again) before `also` can hit a unique key.
                            await self.store.append(recorded, state.seq, after, before=guard, con=con)
                            await also(con, after)
                except Conflict:
                    caught = await self._catch_up(state, session_id)
                    self._states[session_id] = caught
                    if caught.seq == state.seq:
                        if guard is not None:
                            raise Rejected(Code.DEADLINE_PASSED, deadline=guard) from None
                        raise Rejected(Code.CONFLICT) from None
                    state = caught
                    continue
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.CancelledError):
                    self.forget(session_id)  # did it commit? the log will tell next time
                    raise
                self._states[session_id] = after
                await self._published(recorded, state, after)
                wakeup = after.next_wakeup()
                earlier = state.next_wakeup()
                if wakeup is None or earlier is None or wakeup < earlier:
                    self.reactions.notify(WakeupChanged(session_id, wakeup))
                # else the wake-up moved later (each auction bid restarts the countdown): the
                # timer already set for `earlier` fires, finds nothing due and re-arms for the
                # new one (see `tick`), so the bid path does no scheduler work.
                if after.final and not state.final:
                    try:  # its failure never undoes the close
                        await self.reactions.publish(SessionFinal(session_id))
                    except Exception:  # the sweep books it later (DeadlineService.catch_up)
                        log.exception("post-trade steps for %s failed; the sweep will retry", session_id)
                return Result(recorded, after)
            raise Rejected(Code.CONFLICT)

    async def _published(self, recorded: list[Recorded], before: SessionState,
                         after: SessionState | None = None) -> None:
        messages = []
        state = before
        for r in recorded:
            # A single event (a bid): the state after it is `after`, already computed.
            state = after if after is not None and len(recorded) == 1 else evolve(state, r.event)
            self._mark(r.session_id, r, state)
            if r.pub_seq is not None:
                messages.append(Message(r.session_id, r.pub_seq, event_message(r.session_id, r.pub_seq, r.event, state)))
        if messages:
            await self.broker.publish(messages)

    async def tick(self, session_id: str) -> SessionState:
        """What the timer runs: apply due transitions, and close if the final deadline passed."""
        result = await self.execute(session_id, Advance())
        state = result.state
        if state.is_due_to_close(self.clock()):
            reserve, missing = None, "RESERVE_UNAVAILABLE"
            if state.has_reserve:
                reserve = await self._unseal(session_id)
                if reserve is None and self.sealer.unlocked:
                    missing = "RESERVE_CIPHERTEXT_INVALID"  # the key is there: the envelope is not right
            try:
                state = (await self.execute(session_id, Close(reserve, missing))).state
            except Rejected as r:
                if r.code not in (Code.CLOSE_NOT_DUE, Code.SESSION_CLOSED, Code.ESCROW_KEY_UNAVAILABLE):
                    raise
                state = await self.state(session_id)
        # Always re-arm: a timer that fired a hair early changed nothing and must fire again.
        self.reactions.notify(WakeupChanged(session_id, state.next_wakeup()))
        return state

    async def _unseal(self, session_id: str) -> RevealedReserve | None:
        row = await session_rows.sealed_reserve(self.store.pool, session_id)
        if row is None:
            return None
        return self.sealer.unseal(session_id, row.key_id, row.nonce, row.ciphertext)

    async def recover(self, session_id: str, last_alive: int | None) -> SessionState:
        """Start-up check (RULES 7.5): suspend a session whose deadline passed while the server was down."""
        state = await self.state(session_id)
        if last_alive is not None:
            found = recovery_suspension(state, last_alive, self.clock())
            if found is not None:
                command, at = found
                log.warning("session %s: deadline passed while the server was down; suspending", session_id)
                try:
                    state = (await self.execute(session_id, command, at=at)).state
                except Rejected:
                    # Another node starting up at the same time suspended it first:
                    # done, as long as the log no longer calls for a suspension.
                    state = await self.state(session_id)
                    if recovery_suspension(state, last_alive, self.clock()) is not None:
                        raise
        self.reactions.notify(WakeupChanged(session_id, state.next_wakeup()))
        return state



def _apply(state: SessionState, events: list[Event]) -> SessionState:
    for event in events:
        state = evolve(state, event)
    return state
