"""The bidders' portal (竞买人自助): a company registers, applies for an announced parcel,
follows its deposit, takes its bidding credentials and, after the close, its result.

A parcel is sold by a session (auction, listing) or by a tender (招标, RULES 6): its *sale*
(migrations/0018_sales.sql). Both take applications, deposits and tokens by the sale's id
through the same deposit service; the portal differs only in what it shows of the sale (a
session's phase, a tender's status: auction/domain/tender/status.py).

Nothing here decides what the desk's path decides: an application is made by the
deposit service (`DepositService.apply`, as `POST /api/sessions/{id}/applications`
does), the bank's confirmation qualifies the company inside the webhook's
transaction (`DepositService.receive`), and the bidding token is drawn by
`DepositService.issue_token` / `reissue_token`, shown to the company once.

Anonymity (RULES 3.5, 8.1): the company sees its own bidder number; nothing the
portal writes tells staff which number a company bids under (no audit rows, the
token issued `by` "portal", never by the company's name).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.companies import is_valid_phone, is_valid_uscc, normalize_phone, normalize_uscc
from auction.domain.clock.deadlines import DeadlineKind
from auction.domain.plan.plan_terms import PlanMethod
from auction.domain.plan.plans import PlanState, PlanStatus
from auction.domain.bidding.session import SessionState
from auction.domain.tender.status import StatusNow, tender_status
from auction.domain.tender.tender import TenderState
from auction.services.deadlines import DeadlineService
from auction.services.deposits import DepositService, IssuedToken
from auction.services.plans import PlanService
from auction.services.session import now_us
from auction.staff.passwords import acceptable, burn_time, hash_password, needs_rehash, verify_password
from auction.store import deadlines as deadline_rows
from auction.store import deposits as deposit_rows
from auction.store import portal as store
from auction.store.portal import Company, SignedInCompany

log = logging.getLogger(__name__)

ISSUED_BY = "portal"  # who issued a token, as the application row keeps it: never the company
REISSUE_REASON = "竞买人在自助门户重新获取凭证 / the bidder took new credentials in the portal"
OPEN_PLANS = (PlanStatus.ANNOUNCED, PlanStatus.RESERVE_SEALED)


@dataclass(frozen=True)
class Registration:
    """The registration form as typed."""

    uscc: str
    legal_name: str
    contact_name: str
    contact_phone: str
    password: str
    password_again: str

    @property
    def company(self) -> Company:
        return Company(normalize_uscc(self.uscc), self.legal_name.strip(), self.contact_name.strip(),
                       normalize_phone(self.contact_phone))


def problems(form: Registration) -> dict[str, Code]:
    """What is wrong with the form, by field (empty: nothing)."""
    c = form.company
    found: dict[str, Code] = {}
    if not is_valid_uscc(c.uscc):
        found["uscc"] = Code.USCC_INVALID
    if not 2 <= len(c.legal_name) <= 200:
        found["legal_name"] = Code.INVALID_FIELD
    if not 1 <= len(c.contact_name) <= 100:
        found["contact_name"] = Code.INVALID_FIELD
    if not is_valid_phone(c.contact_phone):
        found["contact_phone"] = Code.PHONE_INVALID
    weak = acceptable(form.password)
    if weak is not None:
        found["password"] = weak
    elif form.password != form.password_again:
        found["password_again"] = Code.PASSWORDS_DIFFER
    return found


@dataclass(frozen=True)
class Parcel:
    """An announced parcel and its sale (a session, or a tender for a TENDER plan), as the
    portal lists it. `sale_id` is None until the session or tender is created."""

    plan_id: str
    sale_id: str | None
    plan: PlanState
    session: SessionState | None
    open_for_applications: bool
    tender: TenderState | None = None
    status_now: StatusNow | None = None  # a tender's status now (its words name the deadline, the opening)

    @property
    def is_tender(self) -> bool:
        return self.plan.draft is not None and self.plan.draft.method is PlanMethod.TENDER


class PortalService:
    def __init__(self, pool: asyncpg.Pool, deposits: DepositService, plans: PlanService,
                 deadlines: DeadlineService, clock: Callable[[], int] = now_us) -> None:
        self.pool = pool
        self.deposits = deposits
        self.plans = plans
        self.deadlines = deadlines
        self.clock = clock

    # ------------------------------------------------------------------
    # accounts

    async def register(self, form: Registration) -> Company:
        """A new company account. The same form sent twice (same code, same password) is the
        same registration: the second answer is the first's (a double submit)."""
        found = problems(form)
        if found:
            field, code = next(iter(found.items()))
            raise Rejected(code, field=field)
        company = form.company
        password_hash = await asyncio.to_thread(hash_password, form.password)
        if await store.add_company(self.pool, company, password_hash):
            log.info("portal: company %s registered", company.uscc)
            return company
        again = await self.authenticate(company.uscc, form.password)
        if again is not None and again.legal_name == company.legal_name:
            return again
        raise Rejected(Code.COMPANY_EXISTS, field="uscc")

    async def authenticate(self, uscc: str, password: str) -> Company | None:
        """The company if the password is its own; as slow for an unknown code as for a wrong
        password (the answer's timing must not tell which codes are registered)."""
        account = await store.company_account(self.pool, normalize_uscc(uscc)) if uscc else None
        if account is None:
            await asyncio.to_thread(burn_time, password)
            return None
        if not await asyncio.to_thread(verify_password, password, account.password_hash):
            return None
        if needs_rehash(account.password_hash):
            await store.set_password_hash(self.pool, account.company.uscc,
                                          await asyncio.to_thread(hash_password, password))
        return account.company

    async def open_session(self, company: Company, client_ip: str | None) -> str:
        """A signed-in session for the company: the cookie's value."""
        await store.purge_sessions(self.pool)
        cookie, _csrf = await store.open_session(self.pool, company.uscc, client_ip)
        return cookie

    async def signed_in(self, cookie: str) -> SignedInCompany | None:
        return await store.signed_in(self.pool, cookie)

    async def close_session(self, cookie: str) -> None:
        await store.close_session(self.pool, cookie)

    # ------------------------------------------------------------------
    # parcels and applications

    async def parcels(self) -> list[Parcel]:
        """Announced parcels (plans announced, or with their reserve sealed) whose sale (session
        or tender), if it exists, has not ended."""
        now = self.clock()
        out = []
        for row in await self.plans.store.rows():
            if row["status"] not in {s.value for s in OPEN_PLANS}:
                continue
            plan = await self.plans.state(row["plan_id"])
            if plan.draft is not None and plan.draft.method is PlanMethod.TENDER:
                parcel = await self._tender_parcel(row["plan_id"], plan, now)
            else:
                parcel = await self._session_parcel(row["plan_id"], row["session_id"], plan, now)
            if parcel is not None:
                out.append(parcel)
        return out

    async def _session_parcel(self, plan_id: str, session_id: str | None, plan: PlanState, now: int) -> Parcel | None:
        session = await self.deposits.sessions.state(session_id) if session_id else None
        if session is not None and session.final:
            return None
        open_ = session is not None and session.terms is not None and now < session.terms.registration_closes_at
        return Parcel(plan_id, session_id, plan, session, open_)

    async def _tender_parcel(self, plan_id: str, plan: PlanState, now: int) -> Parcel | None:
        """A tender plan's parcel: its tender (`T-<plan id>`) takes applications until its
        registration closes, which is at the latest its bid deadline (TenderTerms)."""
        tenders = self.deposits.tenders
        tender_id = await tenders.store.tender_of(plan_id) if tenders is not None else None
        if tenders is None or tender_id is None:
            return Parcel(plan_id, None, plan, None, False)
        tender = await tenders.fresh_state(tender_id)
        if tender.final or tender.terms is None:
            return None
        open_ = now < tender.terms.registration_closes_at
        return Parcel(plan_id, tender_id, plan, None, open_, tender, tender_status(tender, now))

    async def apply(self, company: Company, sale_id: str) -> str:
        """The company's application for the parcel of a sale (a session or a tender): made
        once; a second submit (or a retry) gets the first one's id. The deposit deadline is the
        one the announcement states. Refusals are the deposit service's (`REGISTRATION_CLOSED`,
        `SESSION_CLOSED`, `APPLICATION_EXISTS` for a code that applied at the desk, ...)."""
        session_id = sale_id  # the portal's and the deposits' tables name a sale `session_id` (0018)
        plan_id = await self.deadlines.plan_of(session_id)
        if plan_id is None:
            raise Rejected(Code.NOT_FOUND, "no announced parcel for this sale", session_id=session_id)
        deposit_deadline = await self.deadlines.announced_deposit_deadline(session_id)
        async with self.pool.acquire() as con, con.transaction():
            await store.lock_applying(con, company.uscc, session_id)
            existing = await store.application_of(con, company.uscc, session_id)
            if existing is not None:
                return existing
            row = await self.deposits.apply(
                session_id, legal_name=company.legal_name, registration_no=company.uscc, kind="COMPANY",
                default_deadline=deposit_deadline, con=con,
            )
            await store.link_application(con, company.uscc, session_id, row.application_id)
        log.info("portal: application %s for %s", row.application_id, session_id)
        return row.application_id

    async def applied(self, company: Company) -> dict[str, str]:
        """{sale id: application id} of the company's applications."""
        return {sid: app_id for app_id, sid in await store.applications_of(self.pool, company.uscc)}

    async def applications(self, company: Company) -> list[dict[str, Any]]:
        return [await self.application(company, app_id) for app_id, _ in await store.applications_of(
            self.pool, company.uscc)]

    async def _own(self, company: Company, application_id: str) -> deposit_rows.ApplicationRow:
        app = await deposit_rows.application(self.pool, application_id)
        if app is None or not await store.owns(self.pool, company.uscc, application_id):
            raise Rejected(Code.NOT_FOUND, "no such application", application_id=application_id)
        return app

    async def application(self, company: Company, application_id: str) -> dict[str, Any]:
        """The company's own application: its sub-account and deposit (as the desk sees them),
        its own bidder number once qualified, and after the close its result and refund."""
        app = await self._own(company, application_id)
        desk = next(v for v in await self.deposits.view(app.session_id) if v["application_id"] == application_id)
        refunds = [r for r in await deadline_rows.of_session(self.pool, app.session_id, DeadlineKind.DEPOSIT_REFUND)
                   if r.deadline.subject == app.sub_account]
        plan_id = await self.deadlines.plan_of(app.session_id)
        return {
            **desk,
            **await self._sale(app),
            "bidder_no": app.bidder_no,  # its own number: the company may know it
            "plan_id": plan_id,
            "deposit_deadline_us": app.deposit_deadline,
            "refunds": await self.deadlines.view(refunds),
        }

    async def _sale(self, app: deposit_rows.ApplicationRow) -> dict[str, Any]:
        """The application's sale as its company may see it: a session's state, or a tender's
        status now; whether it has ended and whether the company won. A tender's state holds
        the other bidders' sealed bids and numbers: only its status leaves here before the end,
        and after it only the outcome and whether the winner is the company (RULES 3.5)."""
        mine = app.bidder_no
        tenders = self.deposits.tenders
        if tenders is not None and await tenders.is_tender(app.session_id):
            tender = await tenders.fresh_state(app.session_id)
            assert tender.terms is not None
            ended = tender.ended
            return {
                "tender_terms": tender.terms, "ended": ended, "session": None, "parcel_ref": tender.terms.parcel_ref,
                "final": tender.final,
                "status_now": tender_status(tender, self.clock()),
                "won": ended is not None and ended.outcome == "AWARDED" and mine is not None
                and ended.winner_bidder_no == mine,
            }
        session = await self.deposits.sessions.state(app.session_id)
        assert session.terms is not None
        closed = session.closed
        return {
            "tender_terms": None, "ended": None, "session": session, "parcel_ref": session.terms.parcel_ref,
            "final": session.final,
            "won": closed is not None and closed.outcome == "SOLD" and mine is not None
            and closed.winner_bidder_no == mine,
        }

    async def credentials(self, company: Company, application_id: str) -> IssuedToken:
        """The bidding token for the company's qualified application, shown once: the first
        time issued, after that re-issued (the older token stops working: only the latest
        credentials the company took can bid). So a double submit leaves the company one
        working token, the one on the page it sees."""
        app = await self._own(company, application_id)
        if app.bidder_no is None:
            raise Rejected(Code.NOT_QUALIFIED, "the deposit has not qualified this application")
        if app.token_issued_at is None:
            try:
                return await self.deposits.issue_token(application_id, ISSUED_BY)
            except Rejected as r:
                if r.code is not Code.TOKEN_ALREADY_ISSUED:  # a concurrent submit issued it first
                    raise
        return await self.deposits.reissue_token(application_id, ISSUED_BY, REISSUE_REASON)
