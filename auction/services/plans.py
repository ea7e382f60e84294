"""The supply plan command path, and where a plan meets its trading session.

    command -> (per-plan lock) -> plans.decide(state, command, now) -> guarded
    append (one statement) -> cache the new state

The plan's handler for the command loop (`CommandRunner.run`, `services/runner.py`),
like `SessionService`: the cached state is a cache of the log; a refusal is
checked against the caught-up log before it is given, and a lost race
(`PlanConflict`) is caught up and decided again. A refused command writes nothing.

Three steps touch a session as well, each in one transaction:

- `create_session`: an announced plan becomes a session whose reserve comes by
  decision (`reserve_by_decision=True`). Its id is derived from the plan id, so
  a retry after a crash between creating and linking finds the same session.
- `decide_reserve` (Q26): the plan's `ReserveDecided`, the session's
  `SealReserve` with the commitment, the escrow envelope (`sealed_reserves`)
  and the members' signatures, all in the session's transaction
  (`SessionService.execute(..., also=...)`).
- `withdraw`: the plan's `PlanWithdrawn` and the termination of its session.

The reserve amount and its salt exist here only in memory for the length of one
request: they are never logged, stored in plaintext or returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from auction.adapters.sealing import signatures
from auction.adapters.sealing.escrow import Sealed
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import CreateSession, SealReserve, Terminate
from auction.domain.plan.plan_commands import ChangeAnnouncement, DecideReserve, DraftPlan, PlanCommand, WithdrawPlan
from auction.domain.plan.plan_events import PlanEvent
from auction.domain.plan.plan_terms import PlanMethod, PlanRules
from auction.domain.plan.plans import PlanState, decide, evolve, session_inputs, terms_from_inputs
from auction.domain.bidding.session import Phase, SessionState
from auction.domain.bidding.terms import SessionRules
from auction.reactions import PlanAppended, Reactions
from auction.services.runner import AggregateRunner, Engine, now_us
from auction.services.session import SessionService
from auction.store import sessions as session_rows
from auction.store.plans import PlanConflict, PlanStore, RecordedPlanEvent, number

log = logging.getLogger(__name__)

Write = Callable[[asyncpg.Connection], Awaitable[None]]


ENGINE = Engine(PlanState, decide, evolve, number)


def session_id_for(plan_id: str) -> str:
    """The one session an announced plan becomes (deterministic: creation is idempotent)."""
    return f"S-{plan_id}"


@dataclass(frozen=True)
class ReserveRequest:
    """A reserve decision as the committee enters it (HTTP body, parsed)."""

    by: str
    amount: int | None = None  # fen; None: an auction without a reserve (Q28)
    salt: str | None = None  # the committee's salt, lowercase hex
    decided_at: int = 0  # µs UTC
    members: tuple[str, ...] = ()  # in the order they signed
    appraisal_id: str = ""
    floor_price_fen_per_m2: int = 0
    signatures: tuple[tuple[str, bytes], ...] = ()  # (member_id, Ed25519 signature)

    def __repr__(self) -> str:  # never the amount or the salt, whoever logs this
        return f"ReserveRequest(by={self.by!r}, members={self.members!r}, appraisal_id={self.appraisal_id!r})"

    def decision(self) -> dict[str, Any]:
        """What the members signed (and the engine judges), as `signatures` takes it."""
        return {
            "amount": self.amount, "salt": self.salt, "decided_at": self.decided_at, "members": self.members,
            "appraisal_id": self.appraisal_id, "floor_price_fen_per_m2": self.floor_price_fen_per_m2,
        }


# Where a reserve decision is sealed besides a session: (plan id, commitment, the request, the envelope
# sealed in a browser or None, the plan's own writes to join), e.g. `TenderService.seal_decided`.
ReserveSink = Callable[[str, str | None, ReserveRequest, Sealed | None, Write], Awaitable[None]]


@dataclass(frozen=True)
class SessionLink:
    session_id: str
    state: SessionState
    created: bool


class PlanService(AggregateRunner[PlanState, PlanEvent, PlanCommand]):
    store: PlanStore
    conflict = PlanConflict
    noun = "plan"

    def __init__(
        self,
        store: PlanStore,
        sessions: SessionService,
        rules: PlanRules,
        session_rules: SessionRules,
        clock: Callable[[], int] = now_us,
        *,
        reactions: Reactions | None = None,
    ) -> None:
        # `reactions` are told PlanAppended in the transaction of every plain append (the
        # publication outbox writes the announcement there, so it exists if and only if
        # PlanAnnounced does).
        super().__init__(ENGINE, store, clock, reactions)
        self.sessions = sessions
        self.rules = rules
        self.session_rules = session_rules

    # ------------------------------------------------------------------
    # the runner's pieces

    async def _append(self, recorded: list[RecordedPlanEvent], before: PlanState, after: PlanState,
                      guard: int | None, con: asyncpg.Connection | None) -> None:
        if con is not None or not self.reactions.handles(PlanAppended):
            await super()._append(recorded, before, after, guard, con)
            return
        async with self.pool.acquire() as con, con.transaction():
            await super()._append(recorded, before, after, guard, con)
            await self.reactions.publish(PlanAppended(con, recorded, after))

    # ------------------------------------------------------------------
    # commands

    async def draft(self, command: DraftPlan) -> PlanState:
        """A new plan; the server's plan rules are copied into it (replays judge by them)."""
        command = replace(command, rules=self.rules)
        return (await self.open(command.plan_id, command, self.store.create)).state

    async def execute(self, plan_id: str, command: PlanCommand) -> PlanState:
        """Decide and record a plan command. `Rejected`: nothing written."""
        if isinstance(command, DraftPlan | DecideReserve):
            raise TypeError(f"{type(command).__name__}: use draft() or decide_reserve()")  # they write more
        if isinstance(command, WithdrawPlan):
            return await self.withdraw(plan_id, command)

        async def check(state: PlanState, events: list[PlanEvent]) -> None:
            if isinstance(command, ChangeAnnouncement) and await self.store.session_of(plan_id) is not None:
                # The session's schedule was fixed at its creation from this plan.
                raise Rejected(Code.PLAN_WRONG_STATUS, "a session was created from this announcement; "
                               "withdraw the plan and announce again", status=state.status.value)

        return (await self.run(plan_id, command, check=check)).state

    async def withdraw(self, plan_id: str, command: WithdrawPlan) -> PlanState:
        """Withdraw the plan; a session created from it that has not ended is terminated
        in the same transaction. A plan whose session has closed cannot be withdrawn."""

        async def check(state: PlanState, events: list[PlanEvent]) -> None:
            session_id = await self.store.session_of(plan_id)
            if session_id is not None and (await self.sessions.state(session_id)).phase is Phase.CLOSED:
                raise Rejected(Code.SESSION_CLOSED, "the session created from this plan has closed",
                               session_id=session_id)

        async def commit(recorded: list[RecordedPlanEvent], before: PlanState, after: PlanState) -> None:
            session_id = await self.store.session_of(plan_id)
            if session_id is None or (await self.sessions.state(session_id)).final:
                await self.store.append(recorded, before.version, after)
                return

            async def also(con: asyncpg.Connection, _session: SessionState) -> None:
                await self.store.append(recorded, before.version, after, con=con)

            reason = f"PLAN_WITHDRAWN: {command.reason}"
            await self.sessions.execute(session_id, Terminate(reason=reason), also=also)

        return (await self.run(plan_id, command, check=check, commit=commit)).state

    # ------------------------------------------------------------------
    # plan -> session

    async def create_session(self, plan_id: str, countdown: int) -> SessionLink:
        """The session of an announced plan, created once (a second call answers with it)."""
        async with self._lock(plan_id):
            state = await self._catch_up(await self.state(plan_id), plan_id)
            self._states[plan_id] = state
            linked = await self.store.session_of(plan_id)
            if linked is not None:
                return SessionLink(linked, await self.sessions.state(linked), created=False)
            inputs = session_inputs(state)  # PLAN_WRONG_STATUS unless announced
            if inputs.method is PlanMethod.TENDER:
                raise Rejected(Code.TENDER_NOT_SUPPORTED)
            session_id = session_id_for(plan_id)
            terms = terms_from_inputs(
                inputs,
                session_id=session_id,
                countdown=countdown,
                # The plan's own numbers (copied at its drafting) win over today's settings.
                rules=replace(
                    self.session_rules,
                    min_listing_period=state.rules.min_listing_period,
                    min_deposit_percent=state.rules.min_deposit_percent,
                ),
                reserve_by_decision=True,  # Q26: sealed later, by the committee's decision
            )
            created = True
            try:
                session = (await self.sessions.create(CreateSession(terms), None)).state
            except Rejected as r:
                if r.code is not Code.SESSION_EXISTS:
                    raise
                # Created by an earlier call that did not get to link it (or by another node).
                session = await self.sessions.state(session_id)
                existing = session.terms
                if existing is None or not existing.reserve_by_decision or existing.parcel_ref != terms.parcel_ref:
                    raise
                created = False
            linked = await self.store.link_session(plan_id, session_id)
            if linked != session_id:  # pragma: no cover - only another node could have linked another id
                raise Rejected(Code.CONFLICT, session_id=linked)
            log.info("plan %s: session %s %s", plan_id, session_id, "created" if created else "linked")
            return SessionLink(session_id, session, created)

    async def decide_reserve(self, plan_id: str, request: ReserveRequest, sealed: Sealed | None = None, *,
                             into: ReserveSink | None = None) -> PlanState:
        """Q26: verify the members' signatures, let the plan engine judge (Q25-Q28), then
        seal: the plan event, the session's `SealReserve`, the escrow envelope and the
        signatures, in one transaction. Nothing is written on any refusal. `sealed`: the
        envelope sealed in a member's browser (the console), kept instead of sealing here.
        `into`: where else the decision is sealed (a tender plan's tender, services/tender/service.py),
        given the commitment, the amount and salt or the envelope, and the plan's own writes."""
        try:
            record = signatures.decision_bytes(plan_id, **request.decision())
        except (ValueError, TypeError):
            raise Rejected(Code.INVALID_FIELD, "salt: 32 to 128 lowercase hex digits", field="salt") from None
        bad = await self._bad_signatures(record, request)
        command = signatures.reserve_command(by=request.by, signatures_ok=not bad, **request.decision())

        async def check(state: PlanState, events: list[PlanEvent]) -> None:
            if into is None and await self.store.session_of(plan_id) is None:
                raise Rejected(Code.PLAN_WRONG_STATUS, "create the session first (POST /api/plans/{id}/session)",
                               status=state.status.value)

        async def commit(recorded: list[RecordedPlanEvent], before: PlanState, after: PlanState) -> None:
            async def decided(con: asyncpg.Connection) -> None:  # the plan's event and the signatures
                await self.store.append(recorded, before.version, after, con=con)
                await self.store.archive_signatures(con, plan_id, record, dict(request.signatures))

            if into is not None:
                await into(plan_id, command.commitment, request, sealed, decided)
                return
            session_id = await self.store.session_of(plan_id)
            assert session_id is not None
            envelope = sealed
            if request.amount is not None and envelope is None:
                envelope = self.sessions.sealer.seal(session_id, request.amount, salt=request.salt)
            if envelope is not None:
                if envelope.commitment != command.commitment:  # pragma: no cover - same function both sides
                    raise Rejected(Code.CONFLICT, "commitment mismatch while sealing")

            async def also(con: asyncpg.Connection, _session: SessionState) -> None:
                await decided(con)
                if envelope is not None:
                    await session_rows.insert_sealed_reserve(
                        con, session_id, envelope.key_id, envelope.nonce, envelope.ciphertext
                    )

            await self.sessions.execute(session_id, SealReserve(command.commitment), also=also)
            log.info("plan %s: reserve decision sealed into session %s", plan_id, session_id)

        try:
            return (await self.run(plan_id, command, check=check, commit=commit)).state
        except Rejected as r:
            if r.code is Code.Q26_BAD_SIGNATURE and bad:
                raise Rejected(Code.Q26_BAD_SIGNATURE, members=bad) from None
            raise

    async def _bad_signatures(self, record: bytes, request: ReserveRequest) -> list[str]:
        """Members whose signature is missing or does not verify, or who are not registered;
        and any signature from someone not listed among the members."""
        given = dict(request.signatures)
        keys = {m.member_id: m.public_key for m in await self.store.members(list(request.members))}
        bad = [
            m for m in request.members
            if m not in keys or m not in given or not signatures.verify(keys[m], given[m], record)
        ]
        bad += sorted(m for m in given if m not in request.members)
        return bad

