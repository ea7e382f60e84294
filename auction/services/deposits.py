"""Applications and deposits (RULES 3.4, Q31): the shell around `domain/deposit/deposits.py`.

    application -> dedicated sub-account -> bank payments (webhook) -> ledger
                -> the payment that completes the deposit qualifies the applicant

A payment is booked in one transaction with everything it causes. When it
completes the deposit (`Receipt.qualified_now`), that transaction is the
session's: the `BidderQualified` event, the bidder row, the ledger entry and the
application's bidder number commit together (`registration.qualify(also=...)`).

Concurrency: the verdict is first computed from a read, then recomputed inside
the writing transaction under an advisory lock on the bank transaction id and a
row lock on the application. If the two differ (another payment for the same
application got in between), nothing is written and the payment is judged
again. So two payments never both count toward the same missing amount.

If the engine refuses the qualification although the deposit is complete
(e.g. the bank reported the payment after registration closed), the money is
still booked as a deposit, and the application shows why it did not qualify
(`qualification_refused`); it is refunded at the close like any other deposit.

The bidding token: qualification happens inside a bank callback, where nobody
can be shown a secret. The token drawn then is never stored or shown; an
operator issues the real one once with `issue_token` (POST
/api/applications/{id}/issue-token), which replaces the stored hash and is
refused the second time (`TOKEN_ALREADY_ISSUED`). Only hashes are ever stored.

A sale is a session or a tender (migrations/0018_sales.sql): an application's
`session_id` names either. For a tender (RULES 6) the same path applies, the tender's
own log qualifies the applicant (`TenderService.qualify`, the ledger entry in its
transaction) and the token is the tender's (`tender_bidders`).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from auction.domain.china import china_date, iso_cst
from auction.domain.codes import MESSAGES, Code, Rejected
from auction.domain.bidding.commands import ReissueToken
from auction.domain.bidding.session import SessionState
from auction.domain.deposit.deposits import (
    NotYet,
    Payment,
    Qualified as DepositQualified,
    Receipt,
    check_payment,
    qualify as judge_qualification,
    receive_payment,
)
from auction.domain.deposit.ledger import AccountKind, DepositLedger, EntryKind, unmatched_ref
from auction.domain.deposit.subaccounts import new_sub_account
from auction.reactions import HeldAfterClose, Reactions
from auction.services.registration import new_token, qualify, token_hash
from auction.services.runner import MAX_ATTEMPTS, Service, now_us
from auction.services.session import SessionService
from auction.store import deadlines as deadline_rows
from auction.store import deposits as store
from auction.store import sessions as session_rows
from auction.store.events import to_datetime
from auction.store.tender import sales as tender_rows

if TYPE_CHECKING:
    from auction.services.tender import TenderService

log = logging.getLogger(__name__)

KINDS = ("COMPANY", "PERSON")


class _Changed(Exception):
    """The verdict computed from the read no longer holds inside the transaction: judge again."""


@dataclass(frozen=True)
class PaymentOutcome:
    """What one bank notification did (the webhook's answer)."""

    txn_id: str
    duplicate: bool
    counted: bool  # toward a deposit; otherwise held for refund (or a duplicate of either)
    code: Code | None  # why it is held for refund, or DEPOSIT_DUPLICATE_TXN
    qualified_now: bool  # this payment completed the deposit and the applicant is qualified
    application_id: str | None
    paid_fen: int  # counted toward the application's deposit, after this payment
    required_fen: int | None
    qualification_refused: Code | None = None  # complete, but the engine refused to qualify

    def to_dict(self) -> dict[str, Any]:
        return {
            "txn_id": self.txn_id,
            "booked": True,
            "duplicate": self.duplicate,
            "counted": self.counted,
            "code": self.code.value if self.code else None,
            "message": MESSAGES[self.code] if self.code else None,
            "qualified_now": self.qualified_now,
            "application_id": self.application_id,
            "paid_fen": self.paid_fen,
            "required_fen": self.required_fen,
            "qualification_refused": self.qualification_refused.value if self.qualification_refused else None,
        }


@dataclass(frozen=True)
class IssuedToken:
    application_id: str
    session_id: str
    bidder_no: int
    token: str
    expires_at: datetime


class DepositService(Service):
    def __init__(
        self,
        pool: asyncpg.Pool,
        sessions: SessionService,
        token_ttl: timedelta,
        clock: Callable[[], int] = now_us,
        randbelow: Callable[[int], int] = secrets.randbelow,
        *,
        reactions: Reactions | None = None,
        tenders: TenderService | None = None,
    ) -> None:
        # `tenders`: applications to a tender are judged and qualified there (None: sessions only).
        # `reactions` are told HeldAfterClose: money held for refund on a closed session's
        # sub-account gets its Q31 refund row (DeadlineService.refund_arrived_after_close), in
        # the same transaction as the booking, and its timer is armed.
        super().__init__(pool, clock, reactions)
        self.sessions = sessions
        self.token_ttl = token_ttl
        self.randbelow = randbelow
        self.tenders = tenders

    async def is_tender(self, sale_id: str) -> bool:
        return self.tenders is not None and await self.tenders.is_tender(sale_id)

    async def _sale(self, sale_id: str) -> tuple[bool, int, int]:
        """(final, registration closes at, the deposit) of a session or a tender."""
        if self.tenders is not None and await self.tenders.is_tender(sale_id):
            tender = await self.tenders.fresh_state(sale_id)
            assert tender.terms is not None
            return tender.final, tender.terms.registration_closes_at, tender.terms.deposit
        state = await self.sessions.state(sale_id)
        assert state.terms is not None
        return state.final, state.terms.registration_closes_at, state.terms.deposit

    # ------------------------------------------------------------------
    # applications

    async def apply(
        self,
        session_id: str,
        *,
        legal_name: str,
        registration_no: str,
        kind: str,
        deposit_deadline: int | None = None,
        default_deadline: int | None = None,
        con: asyncpg.Connection | None = None,
    ) -> store.ApplicationRow:
        """A new application with its own sub-account. The deposit deadline is the one
        given, else `default_deadline` (the plan's), else the registration close; it
        may not be after the registration close (RULES 3.4). With `con` (in a transaction)
        the application is written in the caller's transaction: it stands or falls with
        what the caller writes beside it."""
        final, registration_closes_at, deposit = await self._sale(session_id)
        now = self.clock()
        if final:
            raise Rejected(Code.SESSION_CLOSED)
        if now >= registration_closes_at:
            raise Rejected(Code.REGISTRATION_CLOSED)
        if kind not in KINDS:
            raise Rejected(Code.INVALID_FIELD, "kind must be COMPANY or PERSON", field="kind")
        deadline = deposit_deadline or default_deadline or registration_closes_at
        if deadline > registration_closes_at:
            raise Rejected(Code.DEPOSIT_DEADLINE_AFTER_REGISTRATION, field="deposit_deadline",
                           registration_closes_at=iso_cst(registration_closes_at))
        if deadline <= now:
            raise Rejected(Code.INVALID_FIELD, "deposit_deadline has passed", field="deposit_deadline")
        applied = store.ApplicationRow(
            application_id="", session_id=session_id, kind=kind, legal_name=legal_name,
            registration_no=registration_no, sub_account="", required_fen=deposit, deposit_deadline=deadline,
            bidder_no=None, qualified_at=None, qualification_refused=None, token_issued_at=None,
            created_at=to_datetime(now),
        )
        for _ in range(8):
            # Drawn again on a clash: the id and the sub-account.
            row = replace(applied, application_id=f"A-{uuid.uuid4().hex[:12].upper()}",
                          sub_account=new_sub_account(self.randbelow))
            try:
                if con is None:
                    await store.insert_application(self.pool, row)
                else:
                    async with con.transaction():  # a savepoint: a clash leaves the caller's work intact
                        await store.insert_application(con, row)
            except asyncpg.UniqueViolationError as e:
                if "registration_no" in (e.constraint_name or ""):
                    raise Rejected(Code.APPLICATION_EXISTS, registration_no=registration_no) from None
                continue  # a sub-account (or id) clash: draw again
            log.info("application %s for %s: sub-account issued", row.application_id, session_id)
            return row
        raise Rejected(Code.CONFLICT)

    # ------------------------------------------------------------------
    # payments

    async def receive(self, payment: Payment) -> PaymentOutcome:
        """Book one bank-reported payment (see the module docstring). Raises `Rejected` for
        what is not money (`INVALID_AMOUNT`, `INVALID_FIELD`) or a conflicting repeat of a
        transaction id (`DEPOSIT_TXN_CONFLICT`); nothing is booked then."""
        check_payment(payment)
        for _ in range(MAX_ATTEMPTS):
            app = await store.application_by_sub_account(self.pool, payment.sub_account)
            ledger = await store.ledger_for(self.pool, self._refs(payment, app), [_entry_id(payment)])
            closed = app is not None and await deadline_rows.closing(self.pool, app.session_id) is not None
            receipt = self._judge(ledger, payment, app, closed=closed)
            if receipt.duplicate:
                return self._outcome(receipt, app)
            try:
                if receipt.qualified_now and app is not None:
                    return await self._receive_qualifying(payment, app)
                async with self.pool.acquire() as con, con.transaction():
                    booked, app = await self._book(con, payment, expect_qualified=False)
                return self._outcome(booked, app)
            except _Changed:
                continue
        raise Rejected(Code.CONFLICT)

    async def _receive_qualifying(self, payment: Payment, app: store.ApplicationRow) -> PaymentOutcome:
        booked: list[Receipt] = []

        async def also(con: asyncpg.Connection, bidder_no: int) -> None:
            receipt, _ = await self._book(con, payment, expect_qualified=True)
            await store.set_qualified(con, app.application_id, bidder_no, to_datetime(self.clock()))
            booked.append(receipt)

        try:
            # The token drawn here is never shown: see `issue_token`.
            if self.tenders is not None and await self.tenders.is_tender(app.session_id):
                await self.tenders.qualify(app.session_id, app.legal_name, self.token_ttl, also=also)
            else:
                await qualify(self.sessions, app.session_id, app.legal_name, self.token_ttl, also=also)
        except Rejected as r:
            if r.code in (Code.DEPOSIT_TXN_CONFLICT, Code.CONFLICT):
                raise
            # The engine refused (e.g. REGISTRATION_CLOSED): the money is real all the same.
            log.warning("application %s: deposit complete but not qualified: %s", app.application_id, r.code.value)
            async with self.pool.acquire() as con, con.transaction():
                receipt, _ = await self._book(con, payment, expect_qualified=True)
                await store.set_qualification_refused(con, app.application_id, r.code.value)
            return self._outcome(receipt, app, refused=r.code)
        log.info("application %s qualified by deposit (txn %s)", app.application_id, payment.txn_id)
        return self._outcome(booked[-1], app, qualified=True)

    async def _book(
        self, con: asyncpg.Connection, payment: Payment, *, expect_qualified: bool
    ) -> tuple[Receipt, store.ApplicationRow | None]:
        """Judge again under the locks and book; `_Changed` if the verdict moved."""
        await store.lock_txn(con, payment.txn_id)
        app = await store.application_by_sub_account(con, payment.sub_account)
        if app is not None:
            # Before reading the ledger: the close's booking either saw this payment or
            # comes after it, never half of each (services/deadlines.py `process_close`).
            await deadline_rows.lock_closing(con, app.session_id)
            app = await store.application(con, app.application_id, for_update=True)
        # Once the close is booked nothing counts toward a deposit, even money the bank
        # reports late but dated in time (DEPOSIT_AFTER_CLOSE): it is held for refund.
        closed = app is not None and await deadline_rows.closing(con, app.session_id) is not None
        ledger = await store.ledger_for(con, self._refs(payment, app), [_entry_id(payment)])
        receipt = self._judge(ledger, payment, app, closed=closed)
        if receipt.duplicate or receipt.qualified_now != expect_qualified:
            raise _Changed()
        await store.insert_entries(con, [receipt.entry], app.session_id if app is not None else None)
        if app is not None and receipt.ledger.held(AccountKind.HELD_FOR_REFUND, app.sub_account) > 0:
            await self.reactions.publish(
                HeldAfterClose(con, app.session_id, app.sub_account, payment.txn_id, payment.received_at))
        return receipt, app

    @staticmethod
    def _refs(payment: Payment, app: store.ApplicationRow | None) -> list[str]:
        return [app.sub_account] if app is not None else [unmatched_ref(payment.txn_id)]

    @staticmethod
    def _judge(ledger: DepositLedger, payment: Payment, app: store.ApplicationRow | None, *,
               closed: bool = False) -> Receipt:
        if app is None:
            return receive_payment(ledger, payment, None, deadline=0, required_amount=1)
        return receive_payment(
            ledger, payment, app.domain, deadline=app.deposit_deadline, required_amount=app.required_fen,
            closed=closed,
        )

    @staticmethod
    def _outcome(
        receipt: Receipt, app: store.ApplicationRow | None, *, qualified: bool = False, refused: Code | None = None
    ) -> PaymentOutcome:
        matched = app is not None and app.sub_account == receipt.entry.note
        paid = receipt.ledger.held(AccountKind.DEPOSIT, app.sub_account) if matched and app is not None else 0
        return PaymentOutcome(
            txn_id=receipt.verdict.txn_id,
            duplicate=receipt.duplicate,
            counted=receipt.verdict.counted,
            code=receipt.code,
            qualified_now=qualified,
            application_id=app.application_id if matched and app is not None else None,
            paid_fen=paid,
            required_fen=app.required_fen if matched and app is not None else None,
            qualification_refused=refused,
        )

    # ------------------------------------------------------------------
    # the token

    async def issue_token(self, application_id: str, by: str) -> IssuedToken:
        """The qualified applicant's bidding token, shown once (see the module docstring)."""
        token = new_token()
        expires = to_datetime(self.clock()) + self.token_ttl
        found = await store.application(self.pool, application_id)
        tender = found is not None and await self.is_tender(found.session_id)
        async with self.pool.acquire() as con, con.transaction():
            app = await store.application(con, application_id, for_update=True)
            if app is None:
                raise Rejected(Code.NOT_FOUND, "no such application", application_id=application_id)
            if app.bidder_no is None:
                raise Rejected(Code.NOT_QUALIFIED, "the deposit has not qualified this application",
                               application_id=application_id)
            if app.token_issued_at is not None:
                raise Rejected(Code.TOKEN_ALREADY_ISSUED, issued_at=iso_cst(app.token_issued_at))
            if tender:
                await tender_rows.set_token(con, app.session_id, app.bidder_no, token_hash(token), expires)
            else:
                await session_rows.set_token(con, app.session_id, app.bidder_no, token_hash(token), expires)
            await store.set_token_issued(con, application_id, to_datetime(self.clock()), by)
        return IssuedToken(application_id, app.session_id, app.bidder_no, token, expires)

    async def reissue_token(self, application_id: str, by: str, reason: str) -> IssuedToken:
        """A new token for a qualified bidder whose token was lost or exposed, shown once.

        In one transaction: the session's log gets `BidderTokenReissued` (the engine
        then refuses bids from connections signed in with an older token on every
        node, `TOKEN_REVOKED`), and the bidder row gets the new token's hash (the old
        one can no longer sign in). Refused once the session is over (`SESSION_CLOSED`)."""
        if not reason:
            raise Rejected(Code.INVALID_FIELD, "a re-issue needs its reason", field="reason")
        app = await store.application(self.pool, application_id)
        if app is None:
            raise Rejected(Code.NOT_FOUND, "no such application", application_id=application_id)
        if app.bidder_no is None:
            raise Rejected(Code.NOT_QUALIFIED, "the deposit has not qualified this application",
                           application_id=application_id)
        if app.token_issued_at is None:
            raise Rejected(Code.TOKEN_NOT_YET_ISSUED, application_id=application_id)
        bidder_no = app.bidder_no
        token = new_token()
        expires = to_datetime(self.clock()) + self.token_ttl
        if self.tenders is not None and await self.tenders.is_tender(app.session_id):
            # A tender bidder signs in with its token at every request: the new hash alone revokes the old.
            if (await self.tenders.fresh_state(app.session_id)).final:
                raise Rejected(Code.SESSION_CLOSED)
            async with self.pool.acquire() as con, con.transaction():
                await tender_rows.set_token(con, app.session_id, bidder_no, token_hash(token), expires)
                await store.set_token_reissued(con, application_id, to_datetime(self.clock()), by, reason)
            log.warning("application %s: tender token re-issued by %s", application_id, by)
            return IssuedToken(application_id, app.session_id, bidder_no, token, expires)

        async def also(con: asyncpg.Connection, after: SessionState) -> None:
            await session_rows.reissue_token(
                con, app.session_id, bidder_no, token_hash(token), after.token_epochs[bidder_no], expires
            )
            await store.set_token_reissued(con, application_id, to_datetime(self.clock()), by, reason)

        await self.sessions.execute(app.session_id, ReissueToken(bidder_no), also=also)
        log.warning("application %s: bidding token re-issued by %s", application_id, by)
        return IssuedToken(application_id, app.session_id, bidder_no, token, expires)

    # ------------------------------------------------------------------
    # what operators see

    async def view(self, session_id: str) -> list[dict[str, Any]]:
        """Each application with its payments, verdicts, status and the fate of its money.

        Staff see who applied, never which number a company bids under before the close
        (RULES 3.5, 8.1): until then no bidder number, and qualification only by its day
        (`qualified_on`); its exact time (`qualified_at`) would match the private
        `BidderQualified` event in the log. Both once the session has ended."""
        final = (await self._sale(session_id))[0]
        now = self.clock()
        rows = await store.applications(self.pool, session_id)
        entries = await store.entries_for(self.pool, [r.sub_account for r in rows])
        out = []
        for app in rows:
            mine = [e for e in entries if any(p.account.ref == app.sub_account for p in e.postings)]
            payments = [store.payment_of(e) for e in mine if e.kind is EntryKind.PAYMENT]
            by_id = {e.bank_txn_id: e for e in mine if e.kind is EntryKind.PAYMENT}
            judged = judge_qualification(app.domain, payments, app.deposit_deadline, app.required_fen, now=now)
            balances = {kind.value: 0 for kind in AccountKind if kind is not AccountKind.BANK_CLEARING}
            for e in mine:
                for p in e.postings:
                    if p.account.ref == app.sub_account:
                        balances[p.account.kind.value] -= p.amount  # credit-normal accounts
            code: Code | None = None
            if app.bidder_no is not None:
                status = "QUALIFIED"
            elif app.qualification_refused is not None:
                status, code = "NOT_QUALIFIED", Code(app.qualification_refused)
            elif isinstance(judged, DepositQualified):
                status = "QUALIFYING"
            elif isinstance(judged, NotYet):
                status = "AWAITING_DEPOSIT"
            else:
                status, code = "NOT_QUALIFIED", judged.code
            out.append({
                "application_id": app.application_id,
                "session_id": app.session_id,
                "kind": app.kind,
                "legal_name": app.legal_name,
                "registration_no": app.registration_no,
                "sub_account": app.sub_account,
                "required_fen": app.required_fen,
                "deposit_deadline": iso_cst(app.deposit_deadline),
                "status": status,
                "code": code.value if code else None,
                "message": MESSAGES[code] if code else None,
                "paid_fen": judged.paid,
                "missing_fen": max(0, app.required_fen - judged.paid),
                "qualified_on": china_date(app.qualified_at).isoformat() if app.qualified_at is not None else None,
                "qualified_at": iso_cst(app.qualified_at) if final else None,
                "bidder_no": app.bidder_no if final else None,
                "token_issued": app.token_issued_at is not None,
                "payments": [
                    {
                        "txn_id": v.txn_id,
                        "amount_fen": v.amount,
                        "payer_name": by_id[v.txn_id].counterparty,
                        "received_at": iso_cst(by_id[v.txn_id].at),
                        "counted": v.counted,
                        "code": v.code.value if v.code else None,
                        "reason": MESSAGES[v.code] if v.code else None,
                    }
                    for v in judged.verdicts
                ],
                "deposit": balances,
            })
        return out


def _entry_id(payment: Payment) -> str:
    return f"payment:{payment.txn_id}"
