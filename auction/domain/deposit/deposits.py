"""Deposits and qualification (RULES 3.4, Q31): payments in, the bidder qualified or not,
money held for refund with its reason, and the deposits' fate at the close.

Pure: the ledger (`ledger.py`) is a value; every function returns the new
ledger and what happened. `now` and times are µs UTC arguments.

A payment is judged once, when it is recorded, against the ledger as it then
stands; the first reason that applies wins:

1. `DEPOSIT_UNKNOWN_SUBACCOUNT`: no application holds the sub-account it was paid to.
2. `Q31_DEPOSIT_LATE`: received at or after the deposit deadline (保证金须在截止时间前到账).
3. `DEPOSIT_PAYER_NAME_MISMATCH`: the paying account's name is not the applicant's
   (compared after NFKC normalisation, dropping whitespace and ignoring case, so
   full-width （） and half-width () in a company name are the same name).
4. `DEPOSIT_ALREADY_QUALIFIED`: the deposit had already reached the required amount.

Money caught by a rule is real: it is booked to HELD_FOR_REFUND with the code
as the entry's reason, and counts for nobody. Otherwise it is booked to the
applicant's DEPOSIT account; several payments add up, and the payment that
brings the deposit to the required amount qualifies the bidder (`Receipt.qualified_now`;
the shell then issues the bidder number and token). Money is whole fen:
zero, negative, non-integer and boolean amounts are refused (`INVALID_AMOUNT`)
and change nothing, as nothing was received.

The bank's transaction id is the idempotency key: the same notification again
gets the same verdict and adds no entry (`Receipt.duplicate`, reported as
`DEPOSIT_DUPLICATE_TXN`); the same id with a different amount, account, payer
or time is refused (`DEPOSIT_TXN_CONFLICT`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auction.domain.codes import Code, Rejected
from auction.domain.deposit.ledger import (
    BANK_CLEARING,
    Account,
    AccountKind,
    DepositLedger,
    Entry,
    EntryKind,
    transfer,
    unmatched_ref,
)
from auction.domain.money import is_valid_amount


@dataclass(frozen=True)
class Application:
    """竞买申请: one bidder, one parcel, one dedicated sub-account."""

    application_id: str
    sub_account: str
    applicant_name: str  # legal name: company (营业执照) or person (身份证)
    registration_no: str = ""  # 统一社会信用代码 or ID number; not judged here


@dataclass(frozen=True)
class Payment:
    """One incoming transfer as the bank reported it."""

    txn_id: str  # the bank's transaction id (银行流水号)
    sub_account: str  # the sub-account it was paid to
    amount: int  # fen
    payer_name: str  # the paying account's name (付款户名)
    received_at: int  # µs UTC, when the money arrived (到账时间)


@dataclass(frozen=True)
class PaymentVerdict:
    txn_id: str
    amount: int
    counted: bool  # toward the deposit; otherwise held for refund
    code: Code | None  # why it is held for refund (None when counted)


@dataclass(frozen=True)
class Qualified:
    application_id: str
    at: int  # received_at of the payment that completed the deposit
    paid: int  # fen counted
    verdicts: tuple[PaymentVerdict, ...] = ()


@dataclass(frozen=True)
class NotYet:
    application_id: str
    paid: int
    missing: int
    verdicts: tuple[PaymentVerdict, ...] = ()


@dataclass(frozen=True)
class Refused:
    application_id: str
    code: Code  # Q31_DEPOSIT_NOT_IN_FULL
    paid: int
    missing: int
    verdicts: tuple[PaymentVerdict, ...] = ()


Qualification = Qualified | NotYet | Refused


@dataclass(frozen=True)
class Receipt:
    """What recording one payment did."""

    ledger: DepositLedger
    verdict: PaymentVerdict
    entry: Entry
    duplicate: bool = False  # same txn id seen before: nothing new was booked
    qualified_now: bool = False  # this payment completed the deposit

    @property
    def code(self) -> Code | None:
        """The code to show: the hold reason, or DEPOSIT_DUPLICATE_TXN for a repeat."""
        return Code.DEPOSIT_DUPLICATE_TXN if self.duplicate else self.verdict.code


@dataclass(frozen=True)
class RefundDue:
    """Money to send back (Q31: within 3 working days of the close, without interest)."""

    ref: str  # sub-account, or unmatched_ref(txn) for unmatched money
    amount: int


def same_name(a: str, b: str) -> bool:
    """Names compared after NFKC, without whitespace, case-insensitively."""
    return _name_key(a) == _name_key(b) and _name_key(a) != ""


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def check_payment(payment: Payment) -> None:
    """Refuses what is not money (`INVALID_AMOUNT`) or not a bank report (`INVALID_FIELD`)."""
    if not is_valid_amount(payment.amount):
        raise Rejected(Code.INVALID_AMOUNT, repr(payment.amount), txn_id=payment.txn_id)
    if not isinstance(payment.txn_id, str) or not payment.txn_id:
        raise Rejected(Code.INVALID_FIELD, "txn_id", field="txn_id")
    if type(payment.received_at) is not int:
        raise Rejected(Code.INVALID_FIELD, "received_at", field="received_at")


def judge_payment(
    payment: Payment,
    application: Application | None,
    *,
    deadline: int,
    required_amount: int,
    paid_so_far: int,
    closed: bool = False,
) -> PaymentVerdict:
    """The verdict on one payment, given what already counts toward the deposit.
    `closed`: the session's close has been booked; nothing counts any more."""

    def held(code: Code) -> PaymentVerdict:
        return PaymentVerdict(payment.txn_id, payment.amount, False, code)

    if application is None or application.sub_account != payment.sub_account:
        return held(Code.DEPOSIT_UNKNOWN_SUBACCOUNT)
    if closed:
        return held(Code.DEPOSIT_AFTER_CLOSE)
    if payment.received_at >= deadline:
        return held(Code.Q31_DEPOSIT_LATE)
    if not same_name(payment.payer_name, application.applicant_name):
        return held(Code.DEPOSIT_PAYER_NAME_MISMATCH)
    if paid_so_far >= required_amount:
        return held(Code.DEPOSIT_ALREADY_QUALIFIED)
    return PaymentVerdict(payment.txn_id, payment.amount, True, None)


def qualify(
    application: Application,
    payments: Sequence[Payment],
    deadline: int,
    required_amount: int,
    *,
    now: int,
) -> Qualification:
    """Qualified, not yet, or refused, from the payments to the application's sub-account
    in the order they were recorded (payments to other sub-accounts are ignored).

    Qualified once the counted payments reach `required_amount`; before the
    deadline (`now < deadline`) a shortfall is `NotYet`, at or after it
    `Refused(Q31_DEPOSIT_NOT_IN_FULL)`. Agrees with recording the same payments
    one by one with `receive_payment`.
    """
    if not is_valid_amount(required_amount):
        raise Rejected(Code.INVALID_AMOUNT, "required_amount")
    seen: dict[str, Payment] = {}
    verdicts: list[PaymentVerdict] = []
    paid = 0
    qualified_at: int | None = None
    for payment in payments:
        if payment.sub_account != application.sub_account:
            continue
        check_payment(payment)
        if payment.txn_id in seen:
            if seen[payment.txn_id] != payment:
                raise Rejected(Code.DEPOSIT_TXN_CONFLICT, payment.txn_id, txn_id=payment.txn_id)
            continue
        seen[payment.txn_id] = payment
        verdict = judge_payment(
            payment, application, deadline=deadline, required_amount=required_amount, paid_so_far=paid
        )
        verdicts.append(verdict)
        if verdict.counted:
            paid += payment.amount
            if paid >= required_amount:
                qualified_at = payment.received_at
    result = tuple(verdicts)
    if qualified_at is not None:
        return Qualified(application.application_id, qualified_at, paid, result)
    missing = required_amount - paid
    if now < deadline:
        return NotYet(application.application_id, paid, missing, result)
    return Refused(application.application_id, Code.Q31_DEPOSIT_NOT_IN_FULL, paid, missing, result)


def receive_payment(
    ledger: DepositLedger,
    payment: Payment,
    application: Application | None,
    *,
    deadline: int,
    required_amount: int,
    closed: bool = False,
) -> Receipt:
    """Book one bank-reported payment. `application` is the one holding `payment.sub_account`
    (None if nobody does); `deadline` and `required_amount` are its parcel's deposit terms.

    Raises `Rejected` (nothing booked) for `INVALID_AMOUNT`, `INVALID_FIELD`,
    `DEPOSIT_TXN_CONFLICT`. Every other payment is booked exactly once.
    """
    check_payment(payment)
    entry_id = f"payment:{payment.txn_id}"
    known = ledger.entry(entry_id)
    if known is not None:
        if (known.at, known.counterparty, known.note, _received(known)) != (
            payment.received_at,
            payment.payer_name,
            payment.sub_account,
            payment.amount,
        ):
            raise Rejected(Code.DEPOSIT_TXN_CONFLICT, payment.txn_id, txn_id=payment.txn_id)
        counted = any(p.account.kind is AccountKind.DEPOSIT for p in known.postings)
        verdict = PaymentVerdict(payment.txn_id, payment.amount, counted, known.reason)
        return Receipt(ledger, verdict, known, duplicate=True)
    if application is not None and application.sub_account == payment.sub_account:
        deposit = Account(AccountKind.DEPOSIT, application.sub_account)
        paid_so_far = ledger.balance(deposit)
    else:
        application = None
        paid_so_far = 0
    verdict = judge_payment(
        payment, application, deadline=deadline, required_amount=required_amount, paid_so_far=paid_so_far,
        closed=closed,
    )
    if verdict.counted:
        credit = Account(AccountKind.DEPOSIT, payment.sub_account)
    elif verdict.code is Code.DEPOSIT_UNKNOWN_SUBACCOUNT:
        credit = Account(AccountKind.HELD_FOR_REFUND, unmatched_ref(payment.txn_id))
    else:
        credit = Account(AccountKind.HELD_FOR_REFUND, payment.sub_account)
    entry = transfer(
        entry_id,
        payment.received_at,
        EntryKind.PAYMENT,
        BANK_CLEARING,
        credit,
        payment.amount,
        reason=verdict.code,
        bank_txn_id=payment.txn_id,
        counterparty=payment.payer_name,
        note=payment.sub_account,
    )
    new = ledger.post(entry)
    qualified_now = verdict.counted and paid_so_far < required_amount <= paid_so_far + payment.amount
    return Receipt(new, verdict, entry, qualified_now=qualified_now)


def _received(entry: Entry) -> int:
    return sum(p.amount for p in entry.postings if p.account == BANK_CLEARING)


def close_deposits(
    ledger: DepositLedger,
    *,
    session_id: str,
    sub_accounts: Iterable[str],
    winner: str | None,
    at: int,
) -> tuple[DepositLedger, tuple[RefundDue, ...]]:
    """At the close (Q31): the winner's deposit becomes part of the price (抵作土地出让价款),
    every other deposit of the session is held for refund.

    `sub_accounts` are the session's applications, `winner` the winner's
    sub-account (None when nobody won). Returns the new ledger and every refund
    now due among those sub-accounts (including late or mismatched money, and
    anything the winner paid beyond the counted deposit). Idempotent: a second
    call books nothing new and returns the same refunds.
    """
    accounts = sorted(set(sub_accounts) | ({winner} if winner else set()))
    for sub in accounts:
        amount = ledger.held(AccountKind.DEPOSIT, sub)
        if amount == 0:
            continue
        won = sub == winner
        entry = transfer(
            f"close:{session_id}:{sub}",
            at,
            EntryKind.CLOSE_APPLY if won else EntryKind.CLOSE_RELEASE,
            Account(AccountKind.DEPOSIT, sub),
            Account(AccountKind.APPLIED_TO_PRICE if won else AccountKind.HELD_FOR_REFUND, sub),
            amount,
        )
        ledger = ledger.post(entry)
    refunds = tuple(
        RefundDue(sub, ledger.held(AccountKind.HELD_FOR_REFUND, sub))
        for sub in accounts
        if ledger.held(AccountKind.HELD_FOR_REFUND, sub) > 0
    )
    return ledger, refunds


def confirm_refund(ledger: DepositLedger, *, ref: str, amount: int, bank_txn_id: str, at: int) -> DepositLedger:
    """The bank confirmed it paid `amount` back for `ref` (HELD_FOR_REFUND -> REFUNDED).

    Idempotent by `bank_txn_id`; more than is held is refused (`LEDGER_INSUFFICIENT_FUNDS`).
    """
    if not is_valid_amount(amount):
        raise Rejected(Code.INVALID_AMOUNT, repr(amount))
    if not bank_txn_id:
        raise Rejected(Code.INVALID_FIELD, "bank_txn_id", field="bank_txn_id")
    return ledger.post(
        transfer(
            f"refund:{bank_txn_id}",
            at,
            EntryKind.REFUND,
            Account(AccountKind.HELD_FOR_REFUND, ref),
            Account(AccountKind.REFUNDED, ref),
            amount,
            bank_txn_id=bank_txn_id,
        )
    )


def forfeit_deposit(ledger: DepositLedger, *, session_id: str, sub_account: str, at: int) -> tuple[DepositLedger, int]:
    """Q42 default: the deposit applied to the price is not returned (APPLIED_TO_PRICE -> FORFEITED).

    Returns the new ledger and the amount forfeited (0, and no entry, if nothing was applied).
    Idempotent.
    """
    amount = ledger.held(AccountKind.APPLIED_TO_PRICE, sub_account)
    entry_id = f"forfeit:{session_id}:{sub_account}"
    known = ledger.entry(entry_id)
    if known is not None:
        return ledger, -sum(p.amount for p in known.postings if p.amount < 0)
    if amount == 0:
        return ledger, 0
    entry = transfer(
        entry_id,
        at,
        EntryKind.FORFEIT,
        Account(AccountKind.APPLIED_TO_PRICE, sub_account),
        Account(AccountKind.FORFEITED, sub_account),
        amount,
        reason=Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME,
    )
    return ledger.post(entry), amount
