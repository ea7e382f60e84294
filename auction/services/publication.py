"""Publishing: documents into the outbox in the transaction of their cause.

- the announcement: `on_plan_events`, the reaction to `PlanAppended` (auction/bootstrap.py),
  in the plan service's append transaction, so it is written if and only if PlanAnnounced is;
- the result: `publish_result`, when an operator publishes it after the close,
  in one transaction with the publication record;
- the result's later versions: `record_post_deal`, each recording of facts known only after the
  deal (实际开工时间, 实际竣工时间, installments as paid) in one transaction with its document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import asyncpg

from auction.adapters.channels import Channel
from auction.domain.codes import Code, Rejected
from auction.domain.plan.plan_events import AnnouncementChanged, PlanAnnounced
from auction.domain.plan.plans import PlanState
from auction.domain.plan.post_deal import PostDealRecording, check_recording, fold
from auction.domain.plan.supervision import check_supervision_region, parse_supervision_no
from auction.domain.china import china_date
from auction.domain.clock.deadlines import DeadlineKind, DeadlineState
from auction.domain.bidding.session import Phase, SessionState
from auction.domain.divisions import Divisions
from auction.services.divisions import shipped_divisions
from auction.services.plans import PlanService
from auction.services.runner import now_us, unit_of_work
from auction.services.tender import TenderService
from auction.store import deadlines as deadline_rows
from auction.store import publication as outbox
from auction.store import sessions as session_rows
from auction.documents.landchina import (
    ANNOUNCEMENT,
    CONTRACT_DEFAULT_REASON,
    CenterPublicKey,
    RESULT,
    UNSOLD,
    Deal,
    NoSale,
    ResultEntry,
    announcement_document,
    change_document,
    document_id,
    no_sale_reason,
    offering_code,
    result_document,
    unsold_document,
)
from auction.documents.result_update import contract_terms, updated_result_document
from auction.store.events import to_datetime
from auction.store.plans import RecordedPlanEvent

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, pool: asyncpg.Pool, plans: PlanService, channels: tuple[Channel, ...], region_code: str,
                 wake: Callable[[], None] = lambda: None, divisions: Divisions | None = None,
                 transparency_key: CenterPublicKey | None = None,
                 tenders: TenderService | None = None) -> None:
        self.pool = pool
        self.transparency_key = transparency_key  # published with each announcement
        self.divisions = divisions if divisions is not None else shipped_divisions()
        self.tenders = tenders  # a tender plan's result comes from its tender (RULES 6.6)
        self.plans = plans
        self.channels = [c.name for c in channels]
        self.region_code = region_code
        self.wake = wake

    async def on_plan_events(self, con: asyncpg.Connection, recorded: list[RecordedPlanEvent], after: PlanState) -> None:
        for r in recorded:
            if isinstance(r.event, PlanAnnounced):
                document = announcement_document(after, region_code=self.region_code,
                                                 transparency_key=self.transparency_key)
                await outbox.insert_document(con, document, by=r.event.by, channels=self.channels,
                                             published_at=to_datetime(after.announced.effective_published_at
                                                                      if after.announced else r.event.at))
                self.wake()  # early: at worst the worker finds nothing until the commit
            elif isinstance(r.event, AnnouncementChanged):
                # 变更公告: every channel that has the announcement gets the change, in order
                # after it (the outbox delivers a parcel's documents in order per channel).
                change_no = next(i for i, c in enumerate(after.changes, start=1) if c == r.event)
                document = change_document(after, change_no, region_code=self.region_code,
                                           unified_deal_code=await self._offering_code(con, after))
                await outbox.insert_document(con, document, by=r.event.by, channels=self.channels,
                                             published_at=to_datetime(r.event.effective_published_at))
                self.wake()

    async def _offering_code(self, db: asyncpg.Pool | asyncpg.Connection, state: PlanState) -> str:
        """统一交易编码 as the plan's announcement fixed it (one code for the offering, however the
        region setting or the result's entry changed since); the plan's own before one exists."""
        assert state.draft is not None
        announcement = await outbox.document(db, document_id(ANNOUNCEMENT, state.draft.plan_id))
        if announcement is not None:
            return str(announcement["unified_deal_code"])
        return offering_code(state, self.region_code)

    async def record_supervision_no(self, plan_id: str, number: str, by: str) -> None:
        """The 电子监管号 once checked: its structure, and that it was given in the parcel's 行政区
        (the parcel's own region code, else this center's)."""
        state = await self.plans.state(plan_id)  # NOT_FOUND for an unknown plan
        parsed = parse_supervision_no(number, this_year=china_date(now_us()).year)
        if state.draft is not None:
            check_supervision_region(parsed, state.draft.parcel.region_code or self.region_code)
        await outbox.record_supervision_no(self.pool, plan_id, number, by)

    async def _session(self, plan_id: str) -> tuple[str, SessionState]:
        """The session created from the plan (`SESSION_NOT_SOLD` when there is none)."""
        session_id = await self.plans.store.session_of(plan_id)
        if session_id is None:
            raise Rejected(Code.SESSION_NOT_SOLD, "no session was created from this plan", phase=None)
        return session_id, await self.plans.sessions.state(session_id)

    async def deal(self, plan_id: str) -> Deal:
        """The close of the plan's session (or the award of its tender): only a sale has a result to publish."""
        if self.tenders is not None and (awarded := await self.tenders.deal(plan_id)) is not None:
            return awarded
        session_id, session = await self._session(plan_id)
        closed = session.closed
        if session.phase is not Phase.CLOSED or closed is None or closed.outcome != "SOLD" \
                or closed.winner_bidder_no is None or closed.price is None:
            raise Rejected(Code.SESSION_NOT_SOLD, phase=session.phase.value)
        holder = await session_rows.legal_name(self.pool, session_id, closed.winner_bidder_no)
        if holder is None:  # pragma: no cover - every qualified bidder has a row
            raise Rejected(Code.CONFLICT, "the winner's registration is missing")
        return Deal(session_id=session_id, closed_at=closed.at, price_fen=closed.price, holder=holder)

    async def publish_result(self, plan_id: str, entry: ResultEntry, *, by: str, now: int) -> dict[str, Any]:
        state = await self.plans.fresh_state(plan_id)
        deal = await self.deal(plan_id)
        number = await outbox.supervision_no(self.pool, plan_id)
        if number is None:
            raise Rejected(Code.SUPERVISION_NUMBER_REQUIRED, "enter it first: POST /api/plans/{id}/supervision-number")
        document = result_document(state, deal, entry, supervision_no=number, published_at=now,
                                   divisions=self.divisions, unified_deal_code=await self._offering_code(self.pool, state))
        await self.check_contract_date(deal.session_id, entry.contract_date)
        return await self._publish_result(plan_id, document, by=by, now=now)

    async def contract_signed_on(self, session_id: str) -> date | None:
        """The day (CST) the contract's signing was recorded on the Q42 row, None before."""
        rows = await deadline_rows.of_session(self.pool, session_id, DeadlineKind.CONTRACT_SIGNING)
        done = [r.deadline.done_at for r in rows if r.deadline.state is DeadlineState.DONE]
        return china_date(done[0]) if done and done[0] is not None else None

    async def check_contract_date(self, session_id: str, contract_date: date) -> None:
        """The result states the contract's date (合同签订日期) as the Q42 row records it: the
        signing is recorded once, by its own act (`POST /api/sessions/{id}/contract-signed`, the
        close page's 合同已签订), and the result, filled in from the signed contract, quotes it.
        Before that the result is refused, rather than a typed date standing beside a Q42 row
        still PENDING."""
        signed = await self.contract_signed_on(session_id)
        if signed is None:
            raise Rejected(Code.CONTRACT_NOT_RECORDED, session_id=session_id, field="contract_date")
        if signed != contract_date:
            raise Rejected(Code.CONTRACT_DATE_MISMATCH, field="contract_date", recorded=signed.isoformat(),
                           given=contract_date.isoformat())

    async def _publish_result(self, plan_id: str, document: dict[str, Any], *, by: str, now: int) -> dict[str, Any]:
        """A result (sold or not) and its outbox rows, once per plan."""
        async with unit_of_work(self.pool) as work:
            if not await outbox.insert_document(work.con, document, by=by, published_at=to_datetime(now),
                                                channels=self.channels):
                raise Rejected(Code.RESULT_ALREADY_PUBLISHED, plan_id=plan_id)
            work.after_commit(self.wake)
        log.info("plan %s: %s %s published to %s", plan_id, document["kind"], document["document_id"],
                 self.channels)
        return document

    async def record_post_deal(self, plan_id: str, recording: PostDealRecording, *, by: str,
                               now: int) -> dict[str, Any]:
        """Facts known only after the deal, recorded on the sale's published result: one row
        (never changed) and the result's next version (RES-{plan_id}-2, -3, ...) with its outbox
        rows, in one transaction; every channel gets it after the versions before it."""
        await self.plans.state(plan_id)  # NOT_FOUND for an unknown plan
        original = await outbox.document(self.pool, document_id(RESULT, plan_id))
        if original is None or original["kind"] != RESULT:
            raise Rejected(Code.POSTDEAL_NO_RESULT, plan_id=plan_id,
                           kind=original["kind"] if original is not None else None)
        contract_date, installments = contract_terms(original)
        async with unit_of_work(self.pool) as work:
            so_far = await outbox.post_deal_recordings(work.con, plan_id)
            facts = check_recording(fold(so_far), recording, contract_date=contract_date,
                                    installments=installments, today=china_date(now))
            version = len(so_far) + 2
            document = updated_result_document(original, facts, version=version, published_at=now)
            # A recording made at the same moment took this version: its document id is taken.
            if not await outbox.insert_document(work.con, document, by=by, published_at=to_datetime(now),
                                                channels=self.channels):
                raise Rejected(Code.CONFLICT, "another recording was made at the same time: retry")
            await outbox.insert_post_deal(work.con, plan_id, version, recording, document_id=document["document_id"],
                                        by=by)
            work.after_commit(self.wake)
        log.info("plan %s: result version %d (%s) published to %s", plan_id, version, document["document_id"],
                 self.channels)
        return document

    async def no_sale(self, plan_id: str) -> NoSale:
        """The end of the plan's session (or tender) when it did not sell (or was terminated)."""
        if self.tenders is not None and (ended := await self.tenders.no_sale(plan_id)) is not None:
            return ended
        session_id, session = await self._session(plan_id)
        closed = session.closed
        if session.phase is Phase.TERMINATED:
            return NoSale(session_id, session.last_at, "终止",
                          no_sale_reason(session.end_reason or "", terminated=True))
        if session.phase is not Phase.CLOSED or closed is None:
            raise Rejected(Code.SESSION_NOT_SOLD, "the session has not ended", phase=session.phase.value)
        if closed.outcome != "SOLD":
            return NoSale(session_id, closed.at, "流拍", no_sale_reason(closed.reason, terminated=False))
        # Q42: a sale whose contract was not signed in time is cancelled; its notice says so.
        defaulted = await deadline_rows.contract_defaulted_at(self.pool, session_id)
        if defaulted is None:
            raise Rejected(Code.SESSION_SOLD, plan_id=plan_id)
        return NoSale(session_id, closed.at, "成交取消", CONTRACT_DEFAULT_REASON)

    async def publish_unsold(self, plan_id: str, *, by: str, now: int) -> dict[str, Any]:
        """RULES 8.3: the result is published whatever it was; for no sale, this notice
        (no 电子监管号: nothing was supplied). It meets Q29 like a sale's result."""
        state = await self.plans.fresh_state(plan_id)
        no_sale = await self.no_sale(plan_id)
        document = unsold_document(state, no_sale, region_code=self.region_code, published_at=now,
                                   unified_deal_code=await self._offering_code(self.pool, state))
        return await self._publish_result(plan_id, document, by=by, now=now)

    async def result_due(self, plan_id: str) -> str | None:
        """The result the plan's session calls for (RULES 8.3): RESULT after a sale, RESULT_UNSOLD
        after none (流拍, 终止, a sale cancelled by the Q42 default); None before it ended."""
        try:
            await self.no_sale(plan_id)
        except Rejected as r:
            if r.code is Code.SESSION_SOLD:
                return RESULT
            if r.code is Code.SESSION_NOT_SOLD:
                return None
            raise
        return UNSOLD

    async def result_published(self, plan_id: str) -> bool:
        """Whether the plan's result (sold or not: one per plan) has been published."""
        return await outbox.document(self.pool, document_id(RESULT, plan_id)) is not None

    async def q29_status(self, plan_id: str) -> dict[str, Any]:
        """Whether the result counts as published for Q29: every required channel confirmed."""
        confirmed: datetime | None = await outbox.result_confirmed_at(self.pool, plan_id)
        return {"plan_id": plan_id, "required_channels": self.channels, "met": confirmed is not None,
                "confirmed_at": confirmed}
