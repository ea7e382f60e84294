"""The command loop, once: load the state, let the pure engine decide, append, then publish.

    command -> (the aggregate's turn) -> its state (cached, else replayed from its log)
            -> decide(state, command, now) -> events
            -> append, guarded by the log's version (with `also`: one transaction)
            -> cache the new state -> after the commit: publish (fan-out, reactions)

Commands that arrive while an aggregate's turn is held (its append in flight)
queue; the next holder decides all of them in arrival order and appends what
they accepted in one guarded append, then answers each (a hot lot: one commit
per burst of bids, not one per bid; docs/architecture.md, "The command loop").

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
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.reactions import Reactions
from auction.store.database.aggregate_log import AggregateLog, LoggedEvent, Versioned
from auction.store.database import DATABASE_ERRORS

MAX_ATTEMPTS = 8
# Commands of one aggregate decided together and appended in one statement, at most.
MAX_BATCH = 256
# Did the append commit? Unknown after these: the cache is dropped.
UNKNOWN_OUTCOME: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, asyncio.CancelledError)

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
        self._behind: set[str] = set()  # cached, but another node appended since: read on from there
        self._turns: dict[str, Turn] = {}

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

    def _lock(self, aggregate_id: str) -> Turn:
        turn = self._turns.get(aggregate_id)
        if turn is None:
            turn = self._turns[aggregate_id] = Turn()
        return turn

    async def state(self, aggregate_id: str) -> S:
        cached = self._states.get(aggregate_id)
        if cached is not None:
            if aggregate_id not in self._behind:
                return cached
            # Another node appended: read the log from the cached version on, not from its start.
            state = await self._catch_up(cached, aggregate_id)
            self._behind.discard(aggregate_id)
            if self._states.get(aggregate_id) is cached:
                self._states[aggregate_id] = state
            return state
        state = await self._catch_up(self._empty(), aggregate_id)
        missing = self._missing(aggregate_id, state)
        if missing is not None:
            raise missing
        self._states[aggregate_id] = state
        return state

    def forget(self, aggregate_id: str) -> None:
        self._states.pop(aggregate_id, None)
        self._behind.discard(aggregate_id)

    def behind(self, aggregate_id: str) -> None:
        """The log has events the cached state lacks (another node appended): the next read
        catches up from the cached version (a range read), instead of replaying the log."""
        if aggregate_id in self._states:
            self._behind.add(aggregate_id)

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
        a retry is safe). Nothing is published before the commit.

        While the aggregate's turn is held (a command being decided or appended), the command
        queues; the holder, when done, hands the turn to the queue's head with everything
        queued meanwhile (`Turn.pass_on`), and that one decides them as one batch (`_serve`)."""
        turn = self._lock(aggregate_id)
        decided: list[E] | None = None
        if not turn.held and self.sole_writer and _plain(at, also, check, commit):
            state = self._states.get(aggregate_id)
            if state is not None:
                # Nothing in flight and the cache is the log: decide now. A refusal is raised
                # from here (nothing queued, no database, nothing allocated but the answer);
                # events go on as a batch of one, with this decision (no await in between).
                decided = self._decide(state, command, self.clock())
                if not decided:
                    return Result([], state)
        me: Queued[S, E, C, R] = Queued(command, at, also, check, commit)
        cancelled = False
        if turn.held:
            woken = me.woken = asyncio.get_running_loop().create_future()
            turn.queue.append(me)
            try:
                await woken
            except asyncio.CancelledError:
                if me.batch is None:  # not its turn: never decided, or its answer is dropped
                    with contextlib.suppress(ValueError):
                        turn.queue.remove(me)
                    raise
                cancelled = True  # handed the turn: the others wait on this batch; decide it first
            batch = me.batch
            if batch is None:
                return me.outcome()
        else:
            turn.held = True
            batch = [me]
        try:
            await self._serve(aggregate_id, batch, decided)
        finally:
            turn.pass_on()
        if cancelled:
            raise asyncio.CancelledError
        return me.outcome()

    async def _serve(self, aggregate_id: str, batch: list[Queued[S, E, C, R]], decided: list[E] | None = None
                     ) -> None:
        """Decide `batch` in order against the aggregate's state, append all that it accepted
        in one guarded append (one statement, one commit), and answer each command: only after
        that commit, except refusals judged on the state already committed (nothing appended).
        `decided`: the first command's events, decided on the cached state just before."""
        try:
            state = await self.state(aggregate_id)
            for _ in range(MAX_ATTEMPTS):
                before = state
                outcomes: list[Result[R, S] | Rejected] = []
                recorded: list[R] = []
                guard: int | None = None
                refused = False
                for q in batch:
                    if _gone(q):
                        outcomes.append(Rejected(Code.CONFLICT))  # its caller is gone: not decided
                        continue
                    now = self.clock() if q.at is None else q.at
                    try:
                        if decided is not None:
                            events, decided = decided, None
                        else:
                            events = self._decide(state, q.command, now)
                        if q.check is not None:
                            await q.check(state, events)
                    except Rejected as r:
                        outcomes.append(r)
                        refused = True
                        continue
                    if events:
                        g = self._guard(state, q.command, events)
                        if g is not None and (guard is None or g < guard):
                            guard = g  # the earliest: the batch commits only if every bid's holds
                        mine = self._number(aggregate_id, state, events)
                        recorded += mine
                        state = self._apply(state, events)
                        outcomes.append(Result(mine, state))
                    else:
                        outcomes.append(Result([], state))
                if not recorded:
                    if refused and not self.sole_writer:
                        # The cache may be behind the log (another node wrote): a refusal
                        # must hold for the log, not for this node's memory.
                        caught = await self._catch_up(before, aggregate_id)
                        if self._version(caught) != self._version(before):
                            self._states[aggregate_id] = state = caught
                            continue
                    _answer(batch, outcomes)
                    return
                # With events, a refusal needs no look at the log: the guarded append below
                # commits only if the log is still at `before`, which the batch was judged on.
                head = batch[0]
                try:
                    if head.commit is not None:
                        await head.commit(recorded, before, state)
                    elif head.also is None:
                        await self._append(recorded, before, state, guard, None)
                    else:
                        async with self.pool.acquire() as con, con.transaction():
                            # The guarded append first: a lost race surfaces as a conflict
                            # (decided again) before `also` can hit a unique key.
                            await self._append(recorded, before, state, guard, con)
                            await head.also(con, state)
                except self.conflict:
                    caught = await self._catch_up(before, aggregate_id)
                    self._states[aggregate_id] = caught
                    if self._version(caught) == self._version(before):
                        if len(batch) > 1:
                            # A guard refused with the log unmoved (a deadline passed): each
                            # command is decided again on its own, for its own answer.
                            for q in batch:
                                await self._serve(aggregate_id, [q])
                            return
                        stale = self._stale(guard)
                        if stale is not None:
                            _answer(batch, [stale])
                            return
                    state = caught
                    continue
                except UNKNOWN_OUTCOME:
                    self.forget(aggregate_id)  # did it commit? the log will tell next time
                    raise
                self._states[aggregate_id] = state
                await self._committed(aggregate_id, recorded, before, state)
                _answer(batch, outcomes)
                return
            _answer(batch, [Rejected(Code.CONFLICT) for _ in batch])
        except BaseException as e:
            # Each command still unanswered gets this error (a database error: outcome unknown,
            # the cache dropped, a retry is safe); the holder's own cancellation is its alone.
            error = ConnectionError("the command's outcome is unknown") if isinstance(e, asyncio.CancelledError) else e
            for q in batch:
                if q.answer is None:
                    q.give(error)
            if not isinstance(e, Exception):
                raise


class Queued(Generic[S, E, C, R]):
    """A command waiting for its aggregate's turn, and then its answer (a `Result` or what
    it raises). `batch` is set when the turn is handed to it: it decides those commands."""

    __slots__ = ("command", "at", "also", "check", "commit", "plain", "answer", "woken", "batch")

    def __init__(self, command: C, at: int | None, also: Also[S] | None, check: Check[S, E] | None,
                 commit: Commit[R, S] | None) -> None:
        self.command = command
        self.at = at
        self.also = also
        self.check = check
        self.commit = commit
        # Only plain commands join a batch; one with its own transaction or check is decided alone.
        self.plain = command is not None and _plain(at, also, check, commit)
        self.answer: Result[R, S] | BaseException | None = None
        self.woken: asyncio.Future[None] | None = None
        self.batch: list[Queued[S, E, C, R]] | None = None

    def give(self, answer: Result[R, S] | BaseException) -> None:
        self.answer = answer
        woken = self.woken
        if woken is not None and not woken.done():
            woken.set_result(None)

    def outcome(self) -> Result[R, S]:
        answer = self.answer
        if isinstance(answer, BaseException):
            raise answer
        assert answer is not None, "answered before decided"
        return answer


def _plain(at: int | None, also: object, check: object, commit: object) -> bool:
    """A command with no time, transaction or check of its own: it may join a batch."""
    return at is None and also is None and check is None and commit is None


def _answer(batch: list[Queued[S, E, C, R]], outcomes: list[Result[R, S] | Rejected]) -> None:
    for q, outcome in zip(batch, outcomes, strict=True):
        q.give(outcome)


class Turn:
    """Whose turn it is on one aggregate, and who queued behind it, in arrival order.

    One holder at a time decides (and appends); the commands that arrive meanwhile queue.
    When it is done, the holder hands the turn to the queue's head together with the plain
    commands queued right behind it (`MAX_BATCH` at most): one batch, one append. Used as
    `async with` it is an exclusive section in the same order (creating an aggregate)."""

    __slots__ = ("held", "queue")

    def __init__(self) -> None:
        self.held = False
        self.queue: deque[Queued[Any, Any, Any, Any]] = deque()

    def locked(self) -> bool:
        return self.held

    def pass_on(self) -> None:
        queue = self.queue
        while queue and _gone(queue[0]):
            queue.popleft()
        if not queue:
            self.held = False
            return
        head = queue.popleft()
        batch = [head]
        if head.plain:
            while queue and len(batch) < MAX_BATCH and queue[0].plain:
                q = queue.popleft()
                if not _gone(q):
                    batch.append(q)
        head.batch = batch
        assert head.woken is not None
        head.woken.set_result(None)

    async def __aenter__(self) -> None:
        if not self.held:
            self.held = True
            return
        me: Queued[Any, Any, Any, Any] = Queued(None, None, None, None, None)
        woken = me.woken = asyncio.get_running_loop().create_future()
        self.queue.append(me)
        try:
            await woken
        except asyncio.CancelledError:
            if me.batch is not None:
                self.pass_on()  # handed the turn: hand it on
            else:
                with contextlib.suppress(ValueError):
                    self.queue.remove(me)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.pass_on()


def _gone(q: Queued[Any, Any, Any, Any]) -> bool:
    """Its caller was cancelled before its turn came: it is not decided."""
    return q.woken is not None and q.woken.cancelled()


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
