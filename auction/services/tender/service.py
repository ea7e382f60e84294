"""The tender (招标) command path (RULES 6): a tender created from an announced tender plan,
sealed bids, the opening and the evaluation.

    command -> (per-tender lock) -> tender.decide(state, command, now) -> guarded append

The tender's handler for the command loop (`CommandRunner.run`, `services/runner.py`),
like `PlanService`. Keys stay in the shell: the reserve is sealed here at the
creation (its amount exists only for that request), the bids arrive sealed by the
bidders' clients, and only `open` and `evaluate` ask the escrow key to open
envelopes (`adapters/sealing/tender_bids.py`). A refused command writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from auction.adapters.sealing import signatures
from auction.adapters.sealing.escrow import ReserveSealer, Sealed
from auction.adapters.sealing.tender_bids import envelope_of, open_bid
from auction.documents.landchina import Deal, NoSale, no_sale_reason
from auction.domain.codes import Code, Rejected
from auction.domain.plan.plan_terms import PlanMethod
from auction.domain.plan.plans import PlanState, session_inputs
from auction.domain.tender import commands as tc
from auction.domain.tender.events import SealedBidReceived, TenderEvent
from auction.domain.tender.tender import TenderState, decide, evolve, recovery_suspension, score_sheet_record
from auction.domain.tender.terms import Criterion, Evaluation, TenderRules, TenderTerms
from auction.reactions import Reactions, TenderDue, TenderFinal
from auction.services.plans import PlanService, ReserveRequest, Write
from auction.services.registration import Also, Credentials, draw, token_hash
from auction.services.runner import AggregateRunner, Engine, now_us
from auction.store import sessions as session_rows
from auction.store.events import to_datetime
from auction.store.tender import sales
from auction.store.tender.log import RecordedTenderEvent, TenderConflict, TenderLogin, TenderStore, number

log = logging.getLogger(__name__)

# How a tender that awarded nothing is published (结果公示（未成交）): outcome and reason in the notice's words.
NO_AWARD = {
    "FEWER_THAN_THREE": ("终止", "有效投标人不足三人，招标终止（《招标拍卖挂牌出让国有建设用地使用权规定》第十四条）"),
    "BELOW_RESERVE": ("流拍", "投标价格均低于底价"),
    "RESERVE_MISMATCH": ("终止", "底价与其承诺值不符"),
}

ENGINE = Engine(TenderState, decide, evolve, number)
Scores = tuple[tuple[int, tuple[tuple[str, int], ...]], ...]


def tender_id_for(plan_id: str) -> str:
    """The one tender an announced tender plan becomes (deterministic: creation is idempotent)."""
    return f"T-{plan_id}"


@dataclass(frozen=True)
class TenderRequest:
    """The tender documents' terms as the operator enters them (HTTP body, parsed)."""

    bid_deadline: int  # µs UTC
    opening_at: int  # µs UTC
    evaluation: Evaluation
    reserve: int | None  # fen (Q28: a tender has one); sealed at once, never stored in the clear; None: the
    # committee decides it later (Q26, `decide_reserve`), and no bid is taken before
    price_weight: int = 0
    criteria: tuple[Criterion, ...] = ()

    def __repr__(self) -> str:  # never the reserve, whoever logs this
        return f"TenderRequest(evaluation={self.evaluation.value}, criteria={self.criteria!r})"


@dataclass(frozen=True)
class TenderQualified(Credentials):
    tender_id: str


class TenderService(AggregateRunner[TenderState, TenderEvent, tc.TenderCommand]):
    store: TenderStore
    conflict = TenderConflict
    noun = "tender"

    def __init__(self, store: TenderStore, plans: PlanService, sealer: ReserveSealer, rules: TenderRules,
                 clock: Callable[[], int] = now_us, reactions: Reactions | None = None) -> None:
        super().__init__(ENGINE, store, clock, reactions)
        self.plans = plans
        self.sealer = sealer
        self.rules = rules
        self._sale_kinds: dict[str, str] = {}  # sale id -> SESSION or TENDER

    # the runner's pieces

    async def _committed(self, tender_id: str, recorded: list[RecordedTenderEvent], before: TenderState,
                         after: TenderState) -> None:
        if before.terms is None and after.terms is not None:  # created: its opening is due at the set time
            self.reactions.notify(TenderDue(tender_id, after.terms.opening_at))
        elif before.suspended is not None and after.suspended is None and not after.final and after.terms is not None:
            self.reactions.notify(TenderDue(tender_id, after.terms.opening_at))  # resumed: the new opening
        if not before.final and after.final:
            try:  # its failure never undoes the end
                await self.reactions.publish(TenderFinal(tender_id))
            except Exception:  # the sweep books it later (DeadlineService.catch_up)
                log.exception("post-trade steps for tender %s failed; the sweep will retry", tender_id)

    # commands

    async def create_from_plan(self, plan_id: str, request: TenderRequest) -> tuple[TenderState, bool]:
        """The tender of an announced tender plan, created once: (state, created)."""
        existing = await self.store.tender_of(plan_id)
        if existing is not None:
            return await self.fresh_state(existing), False
        inputs = session_inputs(await self.plans.fresh_state(plan_id))  # PLAN_WRONG_STATUS unless announced
        if inputs.method is not PlanMethod.TENDER:
            raise Rejected(Code.INVALID_TERMS, "the plan's method is not TENDER", field="method")
        tender_id = tender_id_for(plan_id)
        sealed = None if request.reserve is None else self.sealer.seal(tender_id, request.reserve)
        terms = TenderTerms(
            tender_id=tender_id, plan_id=plan_id, parcel_ref=inputs.parcel_ref, start_price=inputs.start_price,
            deposit=inputs.deposit, registration_closes_at=min(inputs.registration_closes_at, request.bid_deadline),
            bids_open_at=inputs.start_at, bid_deadline=request.bid_deadline, opening_at=request.opening_at,
            evaluation=request.evaluation, price_weight=request.price_weight, criteria=request.criteria,
            has_reserve=sealed is not None, reserve_commitment=None if sealed is None else sealed.commitment,
            rules=self.rules,
        )
        try:
            result = await self.open(tender_id, tc.CreateTender(terms, None if sealed is None else envelope_of(sealed)),
                                     self.store.create)
        except Rejected as r:
            if r.code is not Code.SESSION_EXISTS:
                raise
            return await self.fresh_state(tender_id), False  # another request created it first
        log.info("plan %s: tender %s created", plan_id, tender_id)
        return result.state, True

    async def is_tender(self, sale_id: str) -> bool:
        """Whether a sale's id (applications, ledger, deadlines: migrations/0018) is a tender's.
        A sale's kind never changes (`sales` is append-only): read once per sale."""
        kind = self._sale_kinds.get(sale_id)
        if kind is None:
            kind = await sales.kind_of(self.store.pool, sale_id)
            if kind is None:
                return False  # no such sale (yet): not remembered
            self._sale_kinds[sale_id] = kind
        return kind == "TENDER"

    async def qualify(self, tender_id: str, legal_name: str, ttl: timedelta, *,
                      also: Also | None = None) -> TenderQualified:
        """A qualified bidder with a random anonymous number and a bearer token (RULES 3.4-3.5).
        `also` writes in the same transaction (the deposit's booking: `services/deposits.py`)."""
        drawn = await draw(tender_id, legal_name, ttl, clock=self.clock, state=lambda: self.state(tender_id),
                           qualify=lambda no, rows: self.run(tender_id, tc.QualifyTenderBidder(no), also=rows),
                           insert_bidder=self.store.insert_bidder, also=also)
        return TenderQualified(drawn.bidder_no, drawn.token, drawn.expires_at, tender_id)

    async def login(self, tender_id: str, token: str) -> TenderLogin:
        digest = token_hash(token)
        found = await self.bidder_of(digest)
        if found is None:
            session = await session_rows.bidder_by_token(self.store.pool, digest)
            if session is not None and session.expires_at > to_datetime(self.clock()):
                raise Rejected(Code.WRONG_SESSION)  # a session's valid token: real, for another sale; no guess
            raise Rejected(Code.INVALID_TOKEN)
        if found.tender_id != tender_id:
            raise Rejected(Code.WRONG_SESSION)
        return found

    async def bidder_of(self, token_digest: bytes) -> TenderLogin | None:
        """The bidder a token (by its SHA-256) names, in whichever tender, while it is valid:
        `login`'s look-up, and the bidder page's (`POST /bid/session`), which has no tender id."""
        found = await self.store.login(token_digest)
        return None if found is None or found.expires_at <= to_datetime(self.clock()) else found

    async def submit(self, tender_id: str, bidder_no: int, commitment: str, envelope: tc.Envelope) -> SealedBidReceived:
        """投标: the sealed bid recorded; its event is the receipt."""
        result = await self.run(tender_id, tc.SubmitSealedBid(bidder_no, commitment, envelope))
        (received,) = [r.event for r in result.recorded]
        assert isinstance(received, SealedBidReceived)
        return received

    async def open_bids(self, tender_id: str) -> TenderState:
        """开标: every envelope opened together; a highest-price tender is then evaluated at once."""
        state = await self.fresh_state(tender_id)
        if not self.sealer.unlocked and state.suspended is None:  # a held tender is told so, key or not
            raise Rejected(Code.ESCROW_KEY_UNAVAILABLE, "unlock the escrow key (POST /api/escrow/unlock)")
        if state.opened is None and not state.final:
            # A suspended tender's envelopes stay shut: the engine refuses its opening (TENDER_SUSPENDED)
            revealed = () if state.suspended is not None else tuple(open_bid(self.sealer, tender_id, b)
                                                                     for b in state.bids)
            try:
                state = (await self.run(tender_id, tc.OpenBids(revealed))).state
            except Rejected as r:  # opened meanwhile (the timer, another node, the operator): the same
                if r.code is not Code.TENDER_ALREADY_OPENED:
                    raise
                state = await self.fresh_state(tender_id)
        assert state.terms is not None
        if not state.final and state.terms.evaluation is Evaluation.HIGHEST_PRICE:
            state = await self.evaluate(tender_id)
        return state

    async def due(self, tender_id: str) -> TenderState:
        """What time alone moves (the timer, `auction/adapters/jobs/tender_timers.py`): the opening at its
        set time, and a highest-price tender's evaluation with it. Idempotent: a step any node or
        an earlier run has taken is not taken again."""
        state = await self.fresh_state(tender_id)
        assert state.terms is not None
        if state.final or state.suspended is not None or self.clock() < state.terms.opening_at:
            return state  # a suspended tender waits for its resumption (RULES 6.7), which sets the time
        return await self.open_bids(tender_id)

    async def unfinished(self) -> list[tuple[str, int]]:
        """Every tender not yet ended, with when its next time-driven step is due (µs UTC)."""
        due = []
        for tender_id in await self.store.unfinished():
            state = await self.fresh_state(tender_id)
            waiting = state.opened is None or state.terms is not None and state.terms.evaluation is Evaluation.HIGHEST_PRICE
            # a panel, not time, moves a scored one; an operator a suspended one (RULES 6.7)
            if state.terms is not None and not state.final and waiting and state.suspended is None:
                due.append((tender_id, state.terms.opening_at))
        return due

    async def recover(self, tender_id: str, last_alive: int | None) -> TenderState:
        """Start-up check (RULES 6.7): suspend a tender whose bid deadline passed while the server was
        down, before its timer could open the bids; the session's `recover`, for a tender."""
        state = await self.fresh_state(tender_id)
        if last_alive is None:
            return state
        found = recovery_suspension(state, last_alive, self.clock())
        if found is None:
            return state
        command, at = found
        log.warning("tender %s: the bid deadline passed while the server was down; suspending", tender_id)
        try:
            return (await self.run(tender_id, command, at=at)).state
        except Rejected:
            # Another node starting at the same time suspended it first: done, as long as the log
            # no longer calls for a suspension.
            state = await self.fresh_state(tender_id)
            if recovery_suspension(state, last_alive, self.clock()) is not None:
                raise
            return state

    async def resume(self, tender_id: str, reason: str, bid_deadline: int, opening_at: int) -> TenderState:
        """RULES 6.7: a suspended tender takes bids again until `bid_deadline` and opens them at
        `opening_at` (the timer is armed anew when it commits, `_committed`)."""
        return (await self.run(tender_id, tc.ResumeTender(reason, bid_deadline, opening_at))).state

    async def evaluate(self, tender_id: str) -> TenderState:
        """评标 concluded: the reserve unsealed and the winner decided."""
        state = await self.fresh_state(tender_id)
        reserve = None
        if state.reserve is not None:
            env = state.reserve
            reserve = self.sealer.unseal(tender_id, env.key_id, bytes.fromhex(env.nonce), bytes.fromhex(env.ciphertext))
        return (await self.run(tender_id, tc.Evaluate(reserve))).state

    async def seat_panel(self, tender_id: str, members: tuple[str, ...]) -> TenderState:
        """The scoring panel: registered members (their keys verify the score sheets)."""
        known = {m.member_id for m in await self.plans.store.members(list(members))}
        unknown = [m for m in members if m not in known]
        if unknown:
            raise Rejected(Code.TENDER_PANEL_INVALID, "members must be registered with their keys", members=unknown)
        return (await self.run(tender_id, tc.SeatPanel(members))).state

    async def score(self, tender_id: str, member_id: str, scores: Scores, signature: bytes) -> TenderState:
        """A member's signed score sheet; the last one concludes the evaluation."""
        record = score_sheet_record(tender_id, member_id, scores)
        keys = {m.member_id: m.public_key for m in await self.plans.store.members([member_id])}
        ok = member_id in keys and signatures.verify(keys[member_id], signature, record)
        command = tc.SubmitScoreSheet(member_id, scores, signature_ok=ok, signature=signature.hex())
        state = (await self.run(tender_id, command)).state
        if state.panel is not None and len(state.sheets) == len(state.panel.members):
            state = await self.evaluate(tender_id)
        return state

    async def decide_reserve(self, plan_id: str, request: ReserveRequest, sealed: Sealed | None = None) -> PlanState:
        """Q26: the committee's decision, into the plan's tender if it has one (created without a
        reserve), else into its session (`PlanService.decide_reserve`)."""
        if await self.store.tender_of(plan_id) is None:
            return await self.plans.decide_reserve(plan_id, request, sealed)
        return await self.plans.decide_reserve(plan_id, request, sealed, into=self.seal_decided)

    async def seal_decided(self, plan_id: str, commitment: str | None, request: ReserveRequest,
                           sealed: Sealed | None, decided: Write) -> None:
        """The decision sealed into the tender, with the plan's writes in the same transaction."""
        tender_id = await self.store.tender_of(plan_id)
        assert tender_id is not None
        if commitment is None or (sealed is None and (request.amount is None or request.salt is None)):
            raise Rejected(Code.Q28_RESERVE_REQUIRED, "a tender has a reserve (Q28)")
        envelope = sealed or self.sealer.seal(tender_id, request.amount or 0, salt=request.salt)
        if envelope.commitment != commitment:  # pragma: no cover - the same function on both sides
            raise Rejected(Code.CONFLICT, "commitment mismatch while sealing")

        async def also(con: asyncpg.Connection, _state: TenderState) -> None:
            await decided(con)

        await self.run(tender_id, tc.SealDecidedReserve(commitment, envelope_of(envelope)), also=also)
        log.info("plan %s: reserve decision sealed into tender %s", plan_id, tender_id)

    async def terminate(self, tender_id: str, reason: str) -> TenderState:
        return (await self.run(tender_id, tc.TerminateTender(reason))).state

    # the result's publication (RULES 6.6, 8.3): a tender plan's result as a session's close

    async def _ended_of_plan(self, plan_id: str) -> tuple[str, TenderState] | None:
        """The plan's tender, and its state (None: the plan has no tender; `SESSION_NOT_SOLD` before its end)."""
        tender_id = await self.store.tender_of(plan_id)
        if tender_id is None:
            return None
        state = await self.fresh_state(tender_id)
        if state.ended is None:
            raise Rejected(Code.SESSION_NOT_SOLD, "the tender has not ended", phase=state.phase.value)
        return tender_id, state

    async def deal(self, plan_id: str) -> Deal | None:
        """The award of the plan's tender (None: the plan has no tender; `SESSION_NOT_SOLD` without an award)."""
        if (found := await self._ended_of_plan(plan_id)) is None:
            return None
        tender_id, ended = found[0], found[1].ended
        if ended is None or ended.outcome != "AWARDED" or ended.winner_bidder_no is None or ended.price is None:
            raise Rejected(Code.SESSION_NOT_SOLD, phase=found[1].phase.value)
        holder = (await self.store.bidder_names(tender_id))[ended.winner_bidder_no]
        return Deal(session_id=tender_id, closed_at=ended.at, price_fen=ended.price, holder=holder)

    async def no_sale(self, plan_id: str) -> NoSale | None:
        """How the plan's tender ended without an award (None: the plan has no tender)."""
        if (found := await self._ended_of_plan(plan_id)) is None:
            return None
        ended = found[1].ended
        assert ended is not None
        if ended.outcome == "AWARDED":
            raise Rejected(Code.SESSION_SOLD, plan_id=plan_id)
        outcome, reason = NO_AWARD.get(ended.reason) or ("终止", no_sale_reason(ended.reason, terminated=True))
        return NoSale(found[0], ended.at, outcome, reason)


def receipt_view(received: SealedBidReceived, tender_id: str) -> dict[str, object]:
    """What a bidder keeps: proof of what the server stored and when (never the price)."""
    digest = hashlib.sha256(received.envelope.ciphertext.encode("ascii")).hexdigest()
    return {"tender_id": tender_id, "bidder_no": received.bidder_no, "receipt": received.receipt,
            "commitment": received.commitment, "ciphertext_sha256": digest, "received_at": received.at}
