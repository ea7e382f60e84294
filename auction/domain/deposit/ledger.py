"""The deposit ledger (保证金台账): pure double-entry bookkeeping in whole fen.

One ledger for the trading center's deposit bank account. It records where
every fen the bank reported ends up; it never moves money itself (the bank
does, and the shell reports what the bank confirmed).

Accounts, each an `(AccountKind, ref)` pair:

    BANK_CLEARING              debit   all money the bank reported received into the deposit account
    DEPOSIT:<sub-account>      credit  保证金 counting toward that bidder's qualification
    HELD_FOR_REFUND:<ref>      credit  money owed back (late, payer name mismatch, paid after
                                       qualifying, unknown sub-account, a non-winner after the close)
    APPLIED_TO_PRICE:<sub>     credit  the winner's deposit, 抵作土地出让价款 (Q31)
    FORFEITED:<sub>            credit  not returned: contract not signed in time (Q42)
    REFUNDED:<ref>             credit  paid back, confirmed by the bank

`ref` is the 13-digit sub-account, or `txn:<bank txn id>` for money that came
to a sub-account nobody holds (`unmatched_ref`). So BANK_CLEARING always equals
the sum of the other balances: every fen received is in exactly one of the
five fates. Cash still in the bank for deposits is BANK_CLEARING - REFUNDED
(minus what finance has moved on to the treasury, outside this ledger).

An entry is a list of postings, debits positive and credits negative, that sum
to zero (`LEDGER_UNBALANCED` otherwise). No account may go below zero in its
normal direction (`LEDGER_INSUFFICIENT_FUNDS`). Entry ids are idempotency keys:
posting the same entry again changes nothing; a different entry under a known id
is refused (`LEDGER_ENTRY_CONFLICT`). A refused entry changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from auction.domain.codes import Code, Rejected
from auction.domain.money import MAX_AMOUNT_FEN


class AccountKind(str, Enum):
    BANK_CLEARING = "BANK_CLEARING"  # 银行清算（已到账）
    DEPOSIT = "DEPOSIT"  # 竞买保证金
    HELD_FOR_REFUND = "HELD_FOR_REFUND"  # 待退款
    APPLIED_TO_PRICE = "APPLIED_TO_PRICE"  # 抵作土地出让价款
    FORFEITED = "FORFEITED"  # 不予退还（第四十二条）
    REFUNDED = "REFUNDED"  # 已退还


DEBIT_NORMAL = frozenset({AccountKind.BANK_CLEARING})


class EntryKind(str, Enum):
    PAYMENT = "PAYMENT"  # the bank reported money in
    CLOSE_APPLY = "CLOSE_APPLY"  # winner's deposit -> price
    CLOSE_RELEASE = "CLOSE_RELEASE"  # other deposits -> held for refund
    REFUND = "REFUND"  # the bank confirmed a refund
    FORFEIT = "FORFEIT"  # Q42 default


@dataclass(frozen=True, order=True)
class Account:
    kind: AccountKind
    ref: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.ref}" if self.ref else self.kind.value


BANK_CLEARING = Account(AccountKind.BANK_CLEARING)


def unmatched_ref(txn_id: str) -> str:
    """The ledger ref for money that came to a sub-account nobody holds."""
    return f"txn:{txn_id}"


@dataclass(frozen=True)
class Posting:
    account: Account
    amount: int  # fen; debit > 0, credit < 0


@dataclass(frozen=True)
class Entry:
    entry_id: str  # idempotency key, e.g. "payment:<bank txn id>"
    at: int  # µs UTC
    kind: EntryKind
    postings: tuple[Posting, ...]
    reason: Code | None = None  # why money is held for refund or forfeited
    bank_txn_id: str = ""
    counterparty: str = ""  # payer account name as the bank reported it
    note: str = ""  # e.g. the sub-account as the bank reported it


def transfer(
    entry_id: str,
    at: int,
    kind: EntryKind,
    debit: Account,
    credit: Account,
    amount: int,
    *,
    reason: Code | None = None,
    bank_txn_id: str = "",
    counterparty: str = "",
    note: str = "",
) -> Entry:
    """A two-posting entry: `amount` fen debited to `debit`, credited to `credit`."""
    return Entry(
        entry_id,
        at,
        kind,
        (Posting(debit, amount), Posting(credit, -amount)),
        reason,
        bank_txn_id,
        counterparty,
        note,
    )


@dataclass(frozen=True)
class DepositLedger:
    """Immutable: `post` returns a new ledger. The shell persists `entries` (append-only)
    and rebuilds with `from_entries`."""

    entries: tuple[Entry, ...] = ()
    _balances: Mapping[Account, int] = field(default_factory=dict, repr=False)  # debit-positive
    _by_id: Mapping[str, Entry] = field(default_factory=dict, repr=False)

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> DepositLedger:
        ledger = cls()
        for entry in entries:
            ledger = ledger.post(entry)
        return ledger

    def entry(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def balance(self, account: Account) -> int:
        """In the account's normal direction: BANK_CLEARING debit, every other account credit."""
        raw = self._balances.get(account, 0)
        return raw if account.kind in DEBIT_NORMAL else -raw

    def held(self, kind: AccountKind, ref: str) -> int:
        return self.balance(Account(kind, ref))

    def balances(self) -> dict[Account, int]:
        """Every account with a non-zero balance, in its normal direction."""
        return {a: self.balance(a) for a in sorted(self._balances) if self._balances[a]}

    def total(self, kind: AccountKind) -> int:
        return sum(self.balance(a) for a in self._balances if a.kind is kind)

    def is_balanced(self) -> bool:
        """Debits equal credits over the whole ledger, and no account is overdrawn."""
        return sum(self._balances.values()) == 0 and all(self.balance(a) >= 0 for a in self._balances)

    def post(self, entry: Entry) -> DepositLedger:
        known = self._by_id.get(entry.entry_id)
        if known is not None:
            if known == entry:
                return self
            raise Rejected(Code.LEDGER_ENTRY_CONFLICT, entry.entry_id, entry_id=entry.entry_id)
        _check_entry(entry)
        balances = dict(self._balances)
        for posting in entry.postings:
            balances[posting.account] = balances.get(posting.account, 0) + posting.amount
        for posting in entry.postings:
            raw = balances[posting.account]
            natural = raw if posting.account.kind in DEBIT_NORMAL else -raw
            if natural < 0:
                raise Rejected(
                    Code.LEDGER_INSUFFICIENT_FUNDS,
                    str(posting.account),
                    account=str(posting.account),
                    balance=self.balance(posting.account),
                )
        return DepositLedger(self.entries + (entry,), balances, {**self._by_id, entry.entry_id: entry})


def _check_entry(entry: Entry) -> None:
    if not entry.entry_id or not entry.postings:
        raise Rejected(Code.LEDGER_UNBALANCED, "an entry needs an id and postings", entry_id=entry.entry_id)
    for posting in entry.postings:
        if type(posting.amount) is not int or posting.amount == 0 or abs(posting.amount) > MAX_AMOUNT_FEN:
            raise Rejected(Code.INVALID_AMOUNT, str(posting.account), entry_id=entry.entry_id)
    if sum(p.amount for p in entry.postings) != 0:
        raise Rejected(Code.LEDGER_UNBALANCED, entry.entry_id, entry_id=entry.entry_id)
