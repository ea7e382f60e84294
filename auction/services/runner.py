"""The command loop, once: load the state, let the pure engine decide, append, then publish.

    command -> (the aggregate's lock) -> its state (cached, else replayed from its log)
            -> decide(state, command, now) -> events
            -> append, guarded by the log's version (with `also`: one transaction)
            -> cache the new state -> after the commit: publish (fan-out, reactions)

A handler for one kind of aggregate (`SessionService`, `PlanService`) is a
`CommandRunner` and supplies the pieces: the pure `decide`/`evolve` and the
log's `number` (constructor arguments), and the hooks below (how to read and
append its log, what a lost race means, what to publish once committed).

The cached state is a cache of the log. A refusal is checked against the
caught-up log before it is given (unless this node is the log's sole writer);
a lost race (the handler's `conflict`) is caught up and decided again; a
database error drops the cache (did it commit? the log will tell next time).
Nothing is acknowledged or published before the append has committed.

Services that write rows rather than a log (deposits, deadlines, publication)
use `unit_of_work`: one transaction, and the notices queued in it are told only
after it commits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.reactions import Reactions
from auction.store.database.aggregate_log import AggregateLog, LoggedEvent, Versioned

MAX_ATTEMPTS = 8
# Did the append commit? Unknown after these: the cache is dropped.
UNKNOWN_OUTCOME = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.CancelledError)

S = TypeVar("S")  # the aggregate's state
E = TypeVar("E")  # its events
C = TypeVar("C")  # its commands
E_co = TypeVar("E_co", covariant=True)


def now_us() -> int:
    return time.time_ns() // 1000


class Logged(Protocol[E_co]):
    """An event as a log holds it: its position and the event."""

    @property
    def seq(self) -> int: ...

    @property
    def event(self) -> E_co: ...


R = TypeVar("R", bound=Logged[Any])  # the log's recorded events


@dataclass(frozen=True)
class Result(Generic[R, S]):
    recorded: list[R]
    state: S


@dataclass(frozen=True)
class Engine(Generic[S, E, C, R]):
    """An aggregate's pure pieces: its empty state, the engine's `decide` and `evolve`, and
    how its log numbers new events (their positions, public ones also their `pub_seq`)."""

    empty: Callable[[], S]
    decide: Callable[[S, C, int], list[E]]
    evolve: Callable[[S, E], S]
    number: Callable[[str, S, list[E]], list[R]]


# Rows that belong to the same decision, written in the append's transaction.
Also = Callable[[asyncpg.Connection, S], Awaitable[None]]
# May refuse after the engine accepted (a refusal is then checked against the log like the engine's).
Check = Callable[[S, list[E]], Awaitable[None]]
# Replaces the plain append (it must append the events, guarded): recorded, state before, state after.
Commit = Callable[[list[R], S, S], Awaitable[None]]


class Service:
    """What every command handler holds: the pool its transactions run on, the clock, and
    the reactions it reports to (`auction/reactions.py`)."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], int], reactions: Reactions | None) -> None:
        self.pool = pool
        self.clock = clock
        self.reactions = reactions if reactions is not None else Reactions()

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """One transaction; `notify` on it tells this service's reactions after the commit."""
        return unit_of_work(self.pool, self.reactions)


class CommandRunner(Service, Generic[S, E, C, R]):
    """One kind of aggregate: its cached states, a lock per aggregate, and the command loop."""

    # Raised by the handler's append when another writer appended first (or a guard refused);
    # each handler names its log's own (no default: a handler must not catch what it did not mean).
    conflict: type[Exception]

    def __init__(self, engine: Engine[S, E, C, R], pool: asyncpg.Pool, clock: Callable[[], int],
                 reactions: Reactions | None, *, sole_writer: bool = False) -> None:
        super().__init__(pool, clock, reactions)
        # Plain functions kept on the instance: calling them binds nothing (the bid path).
        self._empty = engine.empty
        self._decide = engine.decide
        self._evolve = engine.evolve
        self._number = engine.number
        # True only when every append goes through this process's locks: the cache is never
        # behind the log, and a refusal needs no second look at the database.
        self.sole_writer = sole_writer
        self._states: dict[str, S] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------
    # what a handler supplies

    def _version(self, state: S) -> int:
        raise NotImplementedError

    def _missing(self, aggregate_id: str, state: S) -> Rejected | None:
        """The refusal for an aggregate its log does not know (None: it exists)."""
        raise NotImplementedError

    def _load(self, aggregate_id: str, after: int) -> Awaitable[list[R]]:
        raise NotImplementedError

    def _append(self, recorded: list[R], before: S, after: S, guard: int | None,
                con: asyncpg.Connection | None) -> Awaitable[None]:
        """Append `recorded` if the log is still at `before`'s version, else raise `conflict`."""
        raise NotImplementedError

    def _guard(self, state: S, command: C, events: list[E]) -> int | None:
        """An instant the append must commit before (None: none)."""
        return None

    def _stale(self, guard: int | None) -> Rejected | None:
        """The refusal for a conflict after which the log had not moved (None: decide again)."""
        return None

    def _seen(self, aggregate_id: str, recorded: R, state: S) -> None:
        """Each event read from or appended to the log, with the state right after it."""

    async def _committed(self, aggregate_id: str, recorded: list[R], before: S, after: S) -> None:
        """After the commit: publish, tell the reactions."""

    # ------------------------------------------------------------------
    # the cache

    def _lock(self, aggregate_id: str) -> asyncio.Lock:
        lock = self._locks.get(aggregate_id)
        if lock is None:
            lock = self._locks[aggregate_id] = asyncio.Lock()
        return lock

    async def state(self, aggregate_id: str) -> S:
        cached = self._states.get(aggregate_id)
        if cached is not None:
            return cached
        state = await self._catch_up(self._empty(), aggregate_id)
        missing = self._missing(aggregate_id, state)
        if missing is not None:
            raise missing
        self._states[aggregate_id] = state
        return state

    def forget(self, aggregate_id: str) -> None:
        self._states.pop(aggregate_id, None)

    async def _catch_up(self, state: S, aggregate_id: str) -> S:
        for r in await self._load(aggregate_id, self._version(state)):
            state = self._evolve(state, r.event)
            assert self._version(state) == r.seq, "log and state out of step"
            self._seen(aggregate_id, r, state)
        return state

    def _apply(self, state: S, events: list[E]) -> S:
        for event in events:
            state = self._evolve(state, event)
        return state

    # ------------------------------------------------------------------
    # the loop

    async def open(self, aggregate_id: str, command: C,
                   create: Callable[[list[R], S], Awaitable[None]]) -> Result[R, S]:
        """The aggregate's first command: `create` writes its log (refusing a second one)."""
        empty = self._empty()
        events = self._decide(empty, command, self.clock())
        after = self._apply(empty, events)
        recorded = self._number(aggregate_id, empty, events)
        async with self._lock(aggregate_id):
            await create(recorded, after)
            self._states[aggregate_id] = after
        await self._committed(aggregate_id, recorded, empty, after)
        return Result(recorded, after)

    async def run(
        self,
        aggregate_id: str,
        command: C,
        *,
        at: int | None = None,
        also: Also[S] | None = None,
        check: Check[S, E] | None = None,
        commit: Commit[R, S] | None = None,
    ) -> Result[R, S]:
        """Decide and record `command` (at `at`, default the clock). Raises `Rejected` (nothing
        written) or a database error (outcome unknown to the caller: the cache is dropped and
        a retry is safe). Nothing is published before the commit."""
        async with self._lock(aggregate_id):
            state = await self.state(aggregate_id)
            for _ in range(MAX_ATTEMPTS):
                now = self.clock() if at is None else at
                try:
                    events = self._decide(state, command, now)
                    if check is not None:
                        await check(state, events)
                except Rejected:
                    if self.sole_writer:
                        raise
                    # The cache may be behind the log (another node wrote): a refusal
                    # must hold for the log, not for this node's memory.
                    caught = await self._catch_up(state, aggregate_id)
                    if self._version(caught) == self._version(state):
                        raise
                    self._states[aggregate_id] = state = caught
                    continue
                if not events:
                    return Result([], state)
                after = self._apply(state, events)
                guard = self._guard(state, command, events)
                recorded = self._number(aggregate_id, state, events)
                try:
                    if commit is not None:
                        await commit(recorded, state, after)
                    elif also is None:
                        await self._append(recorded, state, after, guard, None)
                    else:
                        async with self.pool.acquire() as con, con.transaction():
                            # The guarded append first: a lost race surfaces as a conflict
                            # (decided again) before `also` can hit a unique key.
                            await self._append(recorded, state, after, guard, con)
                            await also(con, after)
                except self.conflict:
                    caught = await self._catch_up(state, aggregate_id)
                    self._states[aggregate_id] = caught
                    if self._version(caught) == self._version(state):
                        stale = self._stale(guard)
                        if stale is not None:
                            raise stale from None
                    state = caught
                    continue
                except UNKNOWN_OUTCOME:
                    self.forget(aggregate_id)  # did it commit? the log will tell next time
                    raise
                self._states[aggregate_id] = after
                await self._committed(aggregate_id, recorded, state, after)
                return Result(recorded, after)
            raise Rejected(Code.CONFLICT)


V = TypeVar("V", bound=Versioned)  # a state that counts its log's events


class AggregateRunner(CommandRunner[V, E, C, LoggedEvent[E]]):
    """A handler whose aggregate keeps an `AggregateLog` (plans, tenders): the state's
    version is its log's, and reading and appending are the log's own."""

    def __init__(self, engine: Engine[V, E, C, LoggedEvent[E]], store: AggregateLog[V, E],
                 clock: Callable[[], int], reactions: Reactions | None) -> None:
        super().__init__(engine, store.pool, clock, reactions)
        self.store = store

    # What the aggregate is called ("plan", "tender"): the refusal of one its log does not know
    # says "no such plan" with its `plan_id`.
    noun: str

    def _version(self, state: V) -> int:
        return state.version

    def _missing(self, aggregate_id: str, state: V) -> Rejected | None:
        # Every such log begins with the event that creates the aggregate.
        if state.version:
            return None
        return Rejected(Code.NOT_FOUND, f"no such {self.noun}", **{f"{self.noun}_id": aggregate_id})

    def _load(self, aggregate_id: str, after: int) -> Awaitable[list[LoggedEvent[E]]]:
        return self.store.load(aggregate_id, after_seq=after)

    async def _append(self, recorded: list[LoggedEvent[E]], before: V, after: V, guard: int | None,
                      con: asyncpg.Connection | None) -> None:
        await self.store.append(recorded, before.version, after, con=con)

    async def fresh_state(self, aggregate_id: str) -> V:
        """The state with everything any node has written (for reads)."""
        state = await self._catch_up(await self.state(aggregate_id), aggregate_id)
        self._states[aggregate_id] = state
        return state


class UnitOfWork:
    """One transaction's connection, and what to tell once it has committed."""

    def __init__(self, con: asyncpg.Connection, reactions: Reactions | None) -> None:
        self.con = con
        self._reactions = reactions
        self._notices: list[object] = []
        self._after: list[Callable[[], object]] = []

    def notify(self, notice: object) -> None:
        """Tell the reactions `notice` (synchronously) once the transaction has committed."""
        self._notices.append(notice)

    def after_commit(self, action: Callable[[], object]) -> None:
        self._after.append(action)


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, reactions: Reactions | None = None) -> AsyncIterator[UnitOfWork]:
    """A transaction; the notices and actions queued in it follow only if it commits, in order."""
    async with pool.acquire() as con, con.transaction():
        work = UnitOfWork(con, reactions)
        yield work
    if work._reactions is not None:
        for notice in work._notices:
            work._reactions.notify(notice)
    for action in work._after:
        action()
