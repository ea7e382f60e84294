"""Deposits (RULES 3.4, Q31): sub-account numbers, the double-entry ledger, payments and qualification.

Every refusal leaves the ledger exactly as it was (the same object), and the
ledger balances after every operation (`TestLedgerProperties`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction.domain.codes import Code, Rejected
from auction.domain.deposit.deposits import (
    Application,
    NotYet,
    Payment,
    Qualified,
    Receipt,
    RefundDue,
    Refused,
    close_deposits,
    confirm_refund,
    forfeit_deposit,
    qualify,
    receive_payment,
    same_name,
)
from auction.domain.deposit.ledger import (
    BANK_CLEARING, Account, AccountKind, DepositLedger, Entry, EntryKind, Posting, transfer, unmatched_ref,
)
from auction.domain.deposit.subaccounts import is_valid_sub_account, luhn_check_digit, new_sub_account

from .beijing import cst as us

WAN = 1_000_000  # fen


DEADLINE = us(2026, 9, 20, 17, 0)  # 保证金到账截止: 2026-09-20 17:00 Beijing time
REQUIRED = 2_000 * WAN  # 2,000 万元
RNG = random.Random(20260930)
SUB_A = new_sub_account(RNG.randrange)
SUB_B = new_sub_account(RNG.randrange, {SUB_A})
SUB_C = new_sub_account(RNG.randrange, {SUB_A, SUB_B})
A = Application("app-a", SUB_A, "曲靖市甲房地产开发有限公司（本部）", "91530300MA6K000001")
B = Application("app-b", SUB_B, "云南乙置业有限公司", "91530000MA6K000002")
C = Application("app-c", SUB_C, "张三", "530302199001010011")
APPS = {a.sub_account: a for a in (A, B, C)}


def pay(txn: str, app: Application, amount: int, at: int = us(2026, 9, 10, 10), name: str | None = None) -> Payment:
    return Payment(txn, app.sub_account, amount, app.applicant_name if name is None else name, at)


def receive(ledger: DepositLedger, payment: Payment) -> Receipt:
    return receive_payment(
        ledger, payment, APPS.get(payment.sub_account), deadline=DEADLINE, required_amount=REQUIRED
    )


def refused(code: Code, ledger: DepositLedger, op: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """`op` is refused with `code` and the ledger is untouched."""
    before = (ledger.entries, ledger.balances())
    with pytest.raises(Rejected) as caught:
        op(*args, **kwargs)
    assert caught.value.code is code
    assert (ledger.entries, ledger.balances()) == before


class TestSubAccounts:
    def test_luhn_reference_vector(self) -> None:
        assert luhn_check_digit("7992739871") == "3"  # ISO/IEC 7812-1 worked example

    def test_generated_numbers_are_13_digits_with_a_check_digit(self) -> None:
        rng = random.Random(1)
        numbers = {new_sub_account(rng.randrange) for _ in range(1000)}
        assert len(numbers) == 1000
        for number in numbers:
            assert len(number) == 13 and number.isdigit() and number[0] != "0"
            assert is_valid_sub_account(number)

    def test_every_single_digit_error_is_caught(self) -> None:
        for i in range(13):
            for d in "0123456789":
                if d != SUB_A[i]:
                    assert not is_valid_sub_account(SUB_A[:i] + d + SUB_A[i + 1 :])

    def test_adjacent_swaps_are_caught_except_09_90(self) -> None:
        for i in range(12):
            a, b = SUB_A[i], SUB_A[i + 1]
            if a != b and {a, b} != {"0", "9"} and not (i == 0 and b == "0"):
                assert not is_valid_sub_account(SUB_A[:i] + b + a + SUB_A[i + 2 :])

    @pytest.mark.parametrize("number", ["", "123", 1234567890123, "0" * 13, "12345678901234", "１２３４５６７８９０１２３"])
    def test_malformed_numbers(self, number: object) -> None:
        assert not is_valid_sub_account(number)

    def test_a_leading_zero_is_refused_even_with_a_right_check_digit(self) -> None:
        body = "012345678901"
        assert not is_valid_sub_account(body + luhn_check_digit(body))

    def test_taken_numbers_are_skipped(self) -> None:
        first = new_sub_account(random.Random(7).randrange)
        second = new_sub_account(random.Random(7).randrange, {first})
        assert second != first and is_valid_sub_account(second)
        with pytest.raises(RuntimeError):
            new_sub_account(lambda n: 0, {"1000000000009"}, attempts=3)
        assert is_valid_sub_account("1000000000009")


class TestQ31Qualification:
    def test_several_payments_add_up(self) -> None:
        payments = [pay("T1", A, 1_200 * WAN, us(2026, 9, 10, 10)), pay("T2", A, 800 * WAN, us(2026, 9, 18, 15))]
        result = qualify(A, payments, DEADLINE, REQUIRED, now=us(2026, 9, 18, 16))
        assert result == Qualified("app-a", us(2026, 9, 18, 15), 2_000 * WAN, result.verdicts)
        assert [v.counted for v in result.verdicts] == [True, True]

    def test_short_before_the_deadline_is_not_yet(self) -> None:
        result = qualify(A, [pay("T1", A, 1_200 * WAN)], DEADLINE, REQUIRED, now=DEADLINE - 1)
        assert isinstance(result, NotYet)
        assert (result.paid, result.missing) == (1_200 * WAN, 800 * WAN)

    def test_short_at_the_deadline_is_refused(self) -> None:
        result = qualify(A, [pay("T1", A, 1_200 * WAN)], DEADLINE, REQUIRED, now=DEADLINE)
        assert isinstance(result, Refused)
        assert (result.code, result.missing) == (Code.Q31_DEPOSIT_NOT_IN_FULL, 800 * WAN)
        assert qualify(A, [], DEADLINE, REQUIRED, now=DEADLINE) == Refused("app-a", Code.Q31_DEPOSIT_NOT_IN_FULL, 0, REQUIRED)

    def test_a_payment_at_the_deadline_is_late(self) -> None:
        payments = [pay("T1", A, 1_200 * WAN), pay("T2", A, 800 * WAN, DEADLINE)]
        result = qualify(A, payments, DEADLINE, REQUIRED, now=DEADLINE + 1)
        assert isinstance(result, Refused)
        assert result.verdicts[1].code is Code.Q31_DEPOSIT_LATE and not result.verdicts[1].counted
        one_before = [pay("T1", A, 1_200 * WAN), pay("T2", A, 800 * WAN, DEADLINE - 1)]
        assert isinstance(qualify(A, one_before, DEADLINE, REQUIRED, now=DEADLINE), Qualified)

    def test_a_payer_in_another_name_does_not_count(self) -> None:
        payments = [pay("T1", A, REQUIRED, name="曲靖市甲房地产开发有限公司子公司")]
        result = qualify(A, payments, DEADLINE, REQUIRED, now=DEADLINE)
        assert isinstance(result, Refused)
        assert result.verdicts[0].code is Code.DEPOSIT_PAYER_NAME_MISMATCH

    def test_names_match_across_full_and_half_width_and_spaces(self) -> None:
        assert same_name("曲靖市甲房地产开发有限公司（本部）", " 曲靖市甲房地产开发有限公司 (本部) ")
        assert same_name("Yunnan Yi Real Estate Co., Ltd.", "YUNNAN YI REAL ESTATE CO., LTD.")
        assert not same_name("张三", "张三丰")
        assert not same_name("", " ")

    def test_payments_after_qualifying_are_held(self) -> None:
        payments = [pay("T1", A, REQUIRED), pay("T2", A, 1)]
        result = qualify(A, payments, DEADLINE, REQUIRED, now=DEADLINE)
        assert isinstance(result, Qualified) and result.paid == REQUIRED
        assert result.verdicts[1].code is Code.DEPOSIT_ALREADY_QUALIFIED

    def test_payments_to_other_sub_accounts_are_ignored(self) -> None:
        result = qualify(A, [pay("T1", B, REQUIRED)], DEADLINE, REQUIRED, now=0)
        assert result == NotYet("app-a", 0, REQUIRED)

    def test_a_repeated_transaction_counts_once(self) -> None:
        payments = [pay("T1", A, 1_200 * WAN), pay("T1", A, 1_200 * WAN)]
        assert qualify(A, payments, DEADLINE, REQUIRED, now=0) == NotYet(
            "app-a", 1_200 * WAN, 800 * WAN, qualify(A, payments[:1], DEADLINE, REQUIRED, now=0).verdicts
        )
        with pytest.raises(Rejected) as caught:
            qualify(A, [pay("T1", A, 1), pay("T1", A, 2)], DEADLINE, REQUIRED, now=0)
        assert caught.value.code is Code.DEPOSIT_TXN_CONFLICT

    def test_qualify_agrees_with_recording_one_by_one(self) -> None:
        payments = [
            pay("T1", A, 500 * WAN),
            pay("T2", A, 500 * WAN, name="别人"),
            pay("T3", A, 1_500 * WAN),
            pay("T4", A, 9, DEADLINE + 5),
            pay("T5", A, 7),
        ]
        ledger = DepositLedger()
        verdicts = []
        for p in payments:
            receipt = receive(ledger, p)
            ledger = receipt.ledger
            verdicts.append(receipt.verdict)
        assert tuple(verdicts) == qualify(A, payments, DEADLINE, REQUIRED, now=DEADLINE).verdicts
        assert ledger.held(AccountKind.DEPOSIT, SUB_A) == 2_000 * WAN
        assert ledger.held(AccountKind.HELD_FOR_REFUND, SUB_A) == 500 * WAN + 9 + 7


class TestQ31Payments:
    def test_the_payment_that_completes_the_deposit_qualifies(self) -> None:
        r1 = receive(DepositLedger(), pay("T1", A, 1_200 * WAN))
        r2 = receive(r1.ledger, pay("T2", A, 800 * WAN))
        assert (r1.verdict.counted, r1.qualified_now) == (True, False)
        assert (r2.verdict.counted, r2.qualified_now, r2.code) == (True, True, None)
        assert r2.ledger.held(AccountKind.DEPOSIT, SUB_A) == REQUIRED
        assert r2.ledger.balance(BANK_CLEARING) == REQUIRED
        r3 = receive(r2.ledger, pay("T3", A, 5))
        assert (r3.verdict.counted, r3.qualified_now, r3.code) == (False, False, Code.DEPOSIT_ALREADY_QUALIFIED)
        assert r3.ledger.held(AccountKind.HELD_FOR_REFUND, SUB_A) == 5

    def test_a_late_payment_is_money_to_refund(self) -> None:
        r = receive(DepositLedger(), pay("T1", A, REQUIRED, DEADLINE + 1))
        assert (r.verdict.counted, r.code, r.qualified_now) == (False, Code.Q31_DEPOSIT_LATE, False)
        assert r.ledger.held(AccountKind.HELD_FOR_REFUND, SUB_A) == REQUIRED
        assert r.ledger.held(AccountKind.DEPOSIT, SUB_A) == 0
        assert r.entry.reason is Code.Q31_DEPOSIT_LATE

    def test_a_name_mismatch_is_money_to_refund(self) -> None:
        r = receive(DepositLedger(), pay("T1", B, REQUIRED, name="云南乙置业有限公司法定代表人"))
        assert r.code is Code.DEPOSIT_PAYER_NAME_MISMATCH
        assert r.ledger.held(AccountKind.HELD_FOR_REFUND, SUB_B) == REQUIRED

    def test_an_unknown_sub_account_is_held_under_the_transaction(self) -> None:
        stray = Payment("T9", "1234567890123", 50 * WAN, "某公司", us(2026, 9, 10))
        r = receive(DepositLedger(), stray)
        assert r.code is Code.DEPOSIT_UNKNOWN_SUBACCOUNT
        assert r.ledger.held(AccountKind.HELD_FOR_REFUND, unmatched_ref("T9")) == 50 * WAN
        assert r.ledger.held(AccountKind.HELD_FOR_REFUND, "1234567890123") == 0
        assert r.entry.note == "1234567890123"

    def test_the_same_transaction_gets_the_same_answer_and_no_second_entry(self) -> None:
        first = receive(DepositLedger(), pay("T1", A, REQUIRED, DEADLINE + 1))
        again = receive(first.ledger, pay("T1", A, REQUIRED, DEADLINE + 1))
        assert again.duplicate and again.code is Code.DEPOSIT_DUPLICATE_TXN
        assert again.verdict == first.verdict
        assert again.ledger is first.ledger and len(again.ledger.entries) == 1
        ok = receive(DepositLedger(), pay("T2", A, REQUIRED))
        assert receive(ok.ledger, pay("T2", A, REQUIRED)).verdict == ok.verdict

    @pytest.mark.parametrize(
        "changed",
        [
            pay("T1", A, 1_000 * WAN + 1),
            pay("T1", B, 1_000 * WAN),
            pay("T1", A, 1_000 * WAN, name="别人"),
            pay("T1", A, 1_000 * WAN, us(2026, 9, 10, 11)),
        ],
    )
    def test_the_same_transaction_with_other_contents_is_refused(self, changed: Payment) -> None:
        ledger = receive(DepositLedger(), pay("T1", A, 1_000 * WAN)).ledger
        refused(Code.DEPOSIT_TXN_CONFLICT, ledger, receive, ledger, changed)

    @pytest.mark.parametrize("amount", [0, -1, -REQUIRED, 1.5, 100.0, Fraction(1, 2), True, "100", None, 10**15 + 1])
    def test_what_is_not_money_is_refused(self, amount: object) -> None:
        ledger = receive(DepositLedger(), pay("T0", A, 1)).ledger
        payment = Payment("T1", SUB_A, amount, A.applicant_name, us(2026, 9, 10))  # type: ignore[arg-type]
        refused(Code.INVALID_AMOUNT, ledger, receive, ledger, payment)
        with pytest.raises(Rejected) as caught:
            qualify(A, [payment], DEADLINE, REQUIRED, now=0)
        assert caught.value.code is Code.INVALID_AMOUNT

    def test_a_payment_without_a_transaction_id_is_refused(self) -> None:
        ledger = DepositLedger()
        refused(Code.INVALID_FIELD, ledger, receive, ledger, pay("", A, 1))


class TestLedger:
    def test_an_unbalanced_entry_is_refused(self) -> None:
        ledger = receive(DepositLedger(), pay("T1", A, 100)).ledger
        bad = Entry("x", 0, EntryKind.PAYMENT, (Posting(BANK_CLEARING, 100), Posting(Account(AccountKind.DEPOSIT, SUB_A), -99)))
        refused(Code.LEDGER_UNBALANCED, ledger, ledger.post, bad)
        refused(Code.LEDGER_UNBALANCED, ledger, ledger.post, Entry("y", 0, EntryKind.PAYMENT, ()))
        zero = Entry("z", 0, EntryKind.PAYMENT, (Posting(BANK_CLEARING, 0), Posting(Account(AccountKind.DEPOSIT, SUB_A), 0)))
        refused(Code.INVALID_AMOUNT, ledger, ledger.post, zero)

    def test_an_entry_id_is_used_once(self) -> None:
        entry = transfer("e1", 0, EntryKind.PAYMENT, BANK_CLEARING, Account(AccountKind.DEPOSIT, SUB_A), 100)
        ledger = DepositLedger().post(entry)
        assert ledger.post(entry) is ledger
        other = transfer("e1", 0, EntryKind.PAYMENT, BANK_CLEARING, Account(AccountKind.DEPOSIT, SUB_A), 101)
        refused(Code.LEDGER_ENTRY_CONFLICT, ledger, ledger.post, other)

    def test_no_account_is_overdrawn(self) -> None:
        ledger = receive(DepositLedger(), pay("T1", A, 100, DEADLINE)).ledger
        refused(Code.LEDGER_INSUFFICIENT_FUNDS, ledger, confirm_refund, ledger, ref=SUB_A, amount=101, bank_txn_id="R1", at=0)
        backwards = transfer("b", 0, EntryKind.REFUND, Account(AccountKind.DEPOSIT, SUB_B), BANK_CLEARING, 1)
        refused(Code.LEDGER_INSUFFICIENT_FUNDS, ledger, ledger.post, backwards)

    def test_rebuilt_from_its_entries(self) -> None:
        ledger = DepositLedger()
        for p in [pay("T1", A, REQUIRED), pay("T2", B, 3, DEADLINE), pay("T3", C, 4)]:
            ledger = receive(ledger, p).ledger
        rebuilt = DepositLedger.from_entries(ledger.entries)
        assert rebuilt.balances() == ledger.balances() and rebuilt.is_balanced()
        assert ledger.balances() == {
            BANK_CLEARING: REQUIRED + 7,
            Account(AccountKind.DEPOSIT, SUB_A): REQUIRED,
            Account(AccountKind.DEPOSIT, SUB_C): 4,
            Account(AccountKind.HELD_FOR_REFUND, SUB_B): 3,
        }
        assert ledger.total(AccountKind.DEPOSIT) == REQUIRED + 4


class TestQ31CloseAndRefunds:
    def closed(self) -> tuple[DepositLedger, tuple[RefundDue, ...]]:
        ledger = DepositLedger()
        for p in [
            pay("T1", A, REQUIRED),
            pay("T2", B, 1_500 * WAN),
            pay("T3", B, 500 * WAN),
            pay("T4", C, 700 * WAN),  # C never completed its deposit
            pay("T5", A, 3, DEADLINE + 1),  # the winner's late extra
        ]:
            ledger = receive(ledger, p).ledger
        return close_deposits(ledger, session_id="S1", sub_accounts=[SUB_A, SUB_B, SUB_C], winner=SUB_A, at=us(2026, 9, 30, 15))

    def test_the_winners_deposit_becomes_part_of_the_price(self) -> None:
        ledger, _ = self.closed()
        assert ledger.held(AccountKind.APPLIED_TO_PRICE, SUB_A) == REQUIRED
        assert ledger.held(AccountKind.DEPOSIT, SUB_A) == 0
        assert ledger.is_balanced()

    def test_every_other_deposit_and_held_money_is_due_back(self) -> None:
        ledger, refunds = self.closed()
        assert set(refunds) == {RefundDue(SUB_A, 3), RefundDue(SUB_B, REQUIRED), RefundDue(SUB_C, 700 * WAN)}
        assert ledger.total(AccountKind.DEPOSIT) == 0

    def test_closing_twice_books_nothing_new(self) -> None:
        ledger, refunds = self.closed()
        again, refunds_again = close_deposits(ledger, session_id="S1", sub_accounts=[SUB_A, SUB_B, SUB_C], winner=SUB_A, at=0)
        assert again.entries == ledger.entries and refunds_again == refunds

    def test_nobody_won(self) -> None:
        ledger = receive(DepositLedger(), pay("T1", A, REQUIRED)).ledger
        ledger, refunds = close_deposits(ledger, session_id="S1", sub_accounts=[SUB_A], winner=None, at=0)
        assert refunds == (RefundDue(SUB_A, REQUIRED),)

    def test_a_confirmed_refund_is_refunded_without_interest(self) -> None:
        ledger, _ = self.closed()
        ledger = confirm_refund(ledger, ref=SUB_B, amount=REQUIRED, bank_txn_id="R1", at=us(2026, 10, 8))
        assert ledger.held(AccountKind.HELD_FOR_REFUND, SUB_B) == 0
        assert ledger.held(AccountKind.REFUNDED, SUB_B) == REQUIRED  # exactly what was paid: no interest
        assert confirm_refund(ledger, ref=SUB_B, amount=REQUIRED, bank_txn_id="R1", at=us(2026, 10, 8)) is ledger
        refused(Code.LEDGER_INSUFFICIENT_FUNDS, ledger, confirm_refund, ledger, ref=SUB_B, amount=1, bank_txn_id="R2", at=0)
        refused(Code.INVALID_AMOUNT, ledger, confirm_refund, ledger, ref=SUB_C, amount=0, bank_txn_id="R3", at=0)
        refused(Code.INVALID_FIELD, ledger, confirm_refund, ledger, ref=SUB_C, amount=1, bank_txn_id="", at=0)

    def test_q42_forfeiture(self) -> None:
        ledger, _ = self.closed()
        ledger, amount = forfeit_deposit(ledger, session_id="S1", sub_account=SUB_A, at=1)
        assert amount == REQUIRED
        assert ledger.held(AccountKind.FORFEITED, SUB_A) == REQUIRED
        assert ledger.held(AccountKind.APPLIED_TO_PRICE, SUB_A) == 0
        assert forfeit_deposit(ledger, session_id="S1", sub_account=SUB_A, at=2) == (ledger, REQUIRED)
        assert forfeit_deposit(ledger, session_id="S1", sub_account=SUB_B, at=2) == (ledger, 0)


# ---------------------------------------------------------------------------
# property: the ledger balances after every operation; refusals change nothing

SUBS = [SUB_A, SUB_B, SUB_C, "1234567890123"]

ops = st.one_of(
    st.tuples(
        st.just("pay"),
        st.integers(0, 12),  # txn id: small, so repeats happen
        st.sampled_from(SUBS),
        st.one_of(st.integers(-5, 3 * REQUIRED // 2), st.just(0)),
        st.booleans(),  # payer name right?
        st.booleans(),  # late?
    ),
    st.tuples(st.just("close"), st.sampled_from([SUB_A, SUB_B, SUB_C, None])),
    st.tuples(st.just("refund"), st.integers(0, 5), st.sampled_from(SUBS[:3]), st.integers(-1, 2 * REQUIRED)),
    st.tuples(st.just("forfeit"), st.sampled_from(SUBS[:3])),
)


def assert_balanced(ledger: DepositLedger) -> None:
    assert ledger.is_balanced()
    others = sum(v for a, v in ledger.balances().items() if a != BANK_CLEARING)
    assert ledger.balance(BANK_CLEARING) == others
    assert all(v > 0 for v in ledger.balances().values())
    for entry in ledger.entries:
        assert sum(p.amount for p in entry.postings) == 0


class TestLedgerProperties:
    @settings(max_examples=200, deadline=None)
    @given(st.lists(ops, max_size=40))
    def test_balanced_after_every_operation(self, steps: list[tuple[object, ...]]) -> None:
        ledger = DepositLedger()
        received = 0
        for step in steps:
            before = ledger
            snapshot = (ledger.entries, ledger.balances())
            try:
                if step[0] == "pay":
                    _, n, sub, amount, right_name, late = step
                    app = APPS.get(str(sub))
                    name = app.applicant_name if (app and right_name) else "别人"
                    at = DEADLINE + 1 if late else DEADLINE - 1
                    receipt = receive(ledger, Payment(f"T{n}", str(sub), amount, name, at))  # type: ignore[arg-type]
                    if not receipt.duplicate:
                        received += int(amount)  # type: ignore[call-overload]
                    ledger = receipt.ledger
                elif step[0] == "close":
                    ledger, _ = close_deposits(
                        ledger, session_id="S", sub_accounts=SUBS[:3], winner=step[1], at=DEADLINE  # type: ignore[arg-type]
                    )
                elif step[0] == "refund":
                    _, n, sub, amount = step
                    ledger = confirm_refund(
                        ledger, ref=str(sub), amount=amount, bank_txn_id=f"R{n}", at=DEADLINE  # type: ignore[arg-type]
                    )
                else:
                    ledger, _ = forfeit_deposit(ledger, session_id="S", sub_account=str(step[1]), at=DEADLINE)
            except Rejected:
                # a refusal changes nothing
                assert ledger is before and (ledger.entries, ledger.balances()) == snapshot
            assert_balanced(ledger)
            assert ledger.balance(BANK_CLEARING) == received
