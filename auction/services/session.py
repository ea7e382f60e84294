"""The session's command handler: the bid path, the timers' ticks, resumes.

    command -> (the session's turn) -> decide(state, command, now) -> append (one
    statement, committed) -> cache the new state -> fan out -> reset the timer

(bids that queue behind the session's append in flight are decided together
and appended in one statement: `CommandRunner.run`)

The loop itself is `CommandRunner.run` (`services/runner.py`); this handler
supplies the session's pieces: its log (`store/events.py`, whose append is
guarded by the deadline for a bid), what a lost race means (`DEADLINE_PASSED`
or `CONFLICT`), and what follows a commit: the public events to the broker,
the timers, and `SessionFinal` once a session has become final. Nothing is
acknowledged or published before the append has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import asyncpg

from auction.adapters.fanout.broker import Broker, Message
from auction.adapters.protocol import event_message
from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import Advance, Close, Command, CreateSession, PlaceBid, RevealedReserve
from auction.domain.bidding.events import BidAccepted, Event
from auction.domain.bidding.session import Phase, SessionState, decide, evolve, recovery_suspension
from auction.reactions import PublicAppended, Reactions, SessionFinal, WakeupChanged
from auction.services.runner import MAX_ATTEMPTS, CommandRunner, Engine, Result, now_us
from auction.store import sessions as session_rows
from auction.store.events import Conflict, EventStore, Recorded, number

__all__ = ["MARK_EVERY", "MAX_ATTEMPTS", "Result", "SessionService", "now_us"]

log = logging.getLogger(__name__)

# A session's state is remembered after every MARK_EVERY-th public event, so that a resume
# replays the log from the nearest one at or before its `last_seq`: its cost is what it
# missed (plus at most this many events), not the whole log.
MARK_EVERY = 64
MAX_MARKS = 2  # remembered states per session: the last 2 x 64 public events resume cheaply (each holds every accepted bid)

ENGINE = Engine(SessionState, decide, evolve, number)
# What a command appended and the state after it.
SessionResult = Result[Recorded, SessionState]


def message(r: Recorded, state: SessionState) -> Message:
    """A public event as fan-out and resumes send it, with the state right after it."""
    assert r.pub_seq is not None
    event = r.event
    return Message(r.session_id, r.pub_seq, event_message(r.session_id, r.pub_seq, event, state),
                   bid=(event.bidder_no, event.bid_id) if isinstance(event, BidAccepted) else None)


class SessionService(CommandRunner[SessionState, Event, Command, Recorded]):
    conflict = Conflict

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
        # `sole_writer`: True only for a single node (no REDIS_URL). `reactions` are told
        # WakeupChanged after every change (the timers), and SessionFinal once a session has
        # become final, after the commit (the post-trade steps: deposits, deadlines).
        super().__init__(ENGINE, store.pool, clock, reactions, sole_writer=sole_writer)
        self.store = store
        self.broker = broker
        self.sealer = sealer
        # session -> pub_seq (a multiple of MARK_EVERY) -> the state right after that public
        # event. The log is append-only, so a mark stays true: `forget` keeps them.
        self._marks: dict[str, dict[int, SessionState]] = {}

    # The bid path: `execute` is the runner's loop itself (no wrapper coroutine per bid).
    execute = CommandRunner.run

    # ------------------------------------------------------------------
    # the runner's pieces

    def _version(self, state: SessionState) -> int:
        return state.seq

    def _missing(self, session_id: str, state: SessionState) -> Rejected | None:
        return Rejected(Code.UNKNOWN_SESSION, session_id=session_id) if state.terms is None else None

    def _load(self, session_id: str, after: int) -> Awaitable[list[Recorded]]:
        return self.store.load(session_id, after_seq=after)

    def _append(self, recorded: list[Recorded], before: SessionState, after: SessionState, guard: int | None,
                con: asyncpg.Connection | None) -> Awaitable[None]:
        return self.store.append(recorded, before.seq, after, before=guard, con=con)

    def _guard(self, state: SessionState, command: Command, events: list[Event]) -> int | None:
        if isinstance(command, PlaceBid):
            # The bid counts only if the transaction runs before the deadline in force.
            return self._apply(state, events[:-1]).deadline
        return None

    def _stale(self, guard: int | None) -> Rejected:
        if guard is not None:
            return Rejected(Code.DEADLINE_PASSED, deadline=guard)
        return Rejected(Code.CONFLICT)

    def _seen(self, session_id: str, r: Recorded, state: SessionState) -> None:
        if r.pub_seq is not None and r.pub_seq % MARK_EVERY == 0:
            marks = self._marks.setdefault(session_id, {})
            marks[r.pub_seq] = state
            # Only the latest few: a state holds every accepted bid, so keeping them all would
            # grow with the square of a session's bids. Resumers are near the end; one from
            # further back reads from an earlier state (or the start), as before marks.
            while len(marks) > MAX_MARKS:
                del marks[min(marks)]

    async def _committed(self, session_id: str, recorded: list[Recorded], before: SessionState,
                         after: SessionState) -> None:
        messages = []
        state = before
        for r in recorded:
            # A single event (a bid): the state after it is `after`, already computed.
            state = after if len(recorded) == 1 else evolve(state, r.event)
            self._seen(session_id, r, state)
            if r.pub_seq is not None:
                messages.append(message(r, state))
        if messages:
            self.reactions.notify(PublicAppended(session_id, recorded))  # the transparency log's leaves
            await self.broker.publish(messages)
        wakeup = after.next_wakeup()
        earlier = before.next_wakeup()
        if wakeup is None or earlier is None or wakeup < earlier:
            self.reactions.notify(WakeupChanged(session_id, wakeup))
        # else the wake-up moved later (each auction bid restarts the countdown): the
        # timer already set for `earlier` fires, finds nothing due and re-arms for the
        # new one (see `tick`), so the bid path does no scheduler work.
        if after.final and not before.final:
            try:  # its failure never undoes the close
                await self.reactions.publish(SessionFinal(session_id))
            except Exception:  # the sweep books it later (DeadlineService.catch_up)
                log.exception("post-trade steps for %s failed; the sweep will retry", session_id)

    # ------------------------------------------------------------------
    # reads

    def remote_event(self, session_id: str, pub_seq: int) -> None:
        """Another node appended to this session: the cached state is behind the log."""
        cached = self._states.get(session_id)
        if cached is not None and cached.pub_seq < pub_seq:
            self.behind(session_id)

    async def latest_message(self, session_id: str) -> Message | None:
        """The session's latest public event as a fan-out message, read from the log.

        Offered again to local followers after fan-out may have lost messages: a
        follower that missed anything sees the gap and fills it from the log."""
        self.behind(session_id)
        state = await self.state(session_id)
        if state.pub_seq == 0:
            return None
        [last] = await self.store.load_public(session_id, state.pub_seq - 1, limit=1)
        return message(last, state)

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
            self._seen(session_id, r, state)
            if r.pub_seq is None or r.pub_seq <= after_pub_seq:
                continue
            if upto is not None and r.pub_seq > upto:
                break
            messages.append(message(r, state))
        return messages

    # ------------------------------------------------------------------
    # commands

    async def create(self, command: CreateSession, reserve_fen: int | None) -> SessionResult:
        """Create a session. The reserve is sealed here; only its commitment enters the log."""
        terms = command.terms
        sealed = self.sealer.seal(terms.session_id, reserve_fen) if reserve_fen is not None else None
        if sealed is not None:
            command = CreateSession(replace(terms, has_reserve=True, reserve_commitment=sealed.commitment))
        blob = (sealed.key_id, sealed.nonce, sealed.ciphertext) if sealed else None

        async def create(recorded: list[Recorded], state: SessionState) -> None:
            await self.store.create(recorded, state, blob)

        return await self.open(terms.session_id, command, create)

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

    async def close_now(self, session_id: str) -> SessionState:
        """The operator's own request to run the close (`POST /api/sessions/{id}/close`): what the
        timer runs, then `CLOSE_NOT_DUE` if the session is still before its deadline (scheduled,
        open or suspended). The tick applied only what the clock had made due, as the timer would
        have; the operator's request itself changed nothing. A closed, terminated or held session
        is answered with its state (running the close again decides nothing new)."""
        state = await self.tick(session_id)
        if not state.final and state.phase is not Phase.HELD:
            raise Rejected(Code.CLOSE_NOT_DUE, phase=state.phase.value, deadline=state.deadline)
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

