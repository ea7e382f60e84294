"""The legal clock after the close (RULES 8): Q29, Q31, Q32, Q42 on the real 2026 calendar.

The story: a listing closes at 15:00 Beijing time on Wednesday 2026-09-30, the
day before the National Day holiday (10-01 Thu to 10-07 Wed; Saturday 10-10 is a
make-up working day). Counting from the close day (which does not count):

    10-08 Thu (1)  10-09 Fri (2)  10-10 Sat make-up (3)  10-12 Mon (4)  10-13 (5)
    10-14 (6)  10-15 (7)  10-16 Fri (8)  10-19 Mon (9)  10-20 Tue (10)

so the Q31 refunds are due by the end of 10-10, the Q29 publication and the Q42
contract by the end of 10-20, with the publication warning from 00:00 on 10-16
(2 working days before the due day).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.clock.deadlines import (
    ClockRules,
    CloseOutcome,
    ContractDefault,
    Deadline,
    DeadlineKind,
    DeadlineState,
    DepositForfeited,
    ReofferRequested,
    WinCancelled,
    contract_default,
    deadlines_at_close,
    mark_overdue,
    recompute,
    record_contract_signed,
    record_done,
    working_days_left,
)
from auction.domain.deposit.deposits import Application, Payment, close_deposits, receive_payment
from auction.domain.deposit.ledger import AccountKind, DepositLedger
from auction.domain.clock.workdays import CalendarYearMissing, WorkCalendar, parse_year_file

from .beijing import cst
from .driving import refused
from .test_workdays import TEST_2027_FILE, official_calendar

CAL = official_calendar(2025, 2026)
RULES = ClockRules()
WAN = 1_000_000


CLOSE = cst(2026, 9, 30, 15, 0)
OUTCOME = CloseOutcome("S1", "PLAN-7", CLOSE, winner="app-a", refunds=("1000000000009", "2000000000008"))


def rows(outcome: CloseOutcome = OUTCOME, calendar: WorkCalendar = CAL, rules: ClockRules = RULES) -> dict[str, Deadline]:
    return {d.deadline_id: d for d in deadlines_at_close(outcome, calendar, rules)}


def publication() -> Deadline:
    return rows()["S1:RESULT_PUBLICATION"]


def contract() -> Deadline:
    return rows()["S1:CONTRACT_SIGNING:app-a"]


def sign(deadline: Deadline, *, signed_at: int, now: int) -> object:
    """Record the contract signed, by an operator on the official calendar."""
    return record_contract_signed(deadline, by="op", signed_at=signed_at, now=now, calendar=CAL, rules=RULES)


class TestQ31Refunds:
    def test_every_non_winning_deposit_is_due_back_in_3_working_days(self) -> None:
        found = rows()
        refunds = [d for d in found.values() if d.kind is DeadlineKind.DEPOSIT_REFUND]
        assert [d.subject for d in refunds] == ["1000000000009", "2000000000008"]
        for d in refunds:
            # 10-08 (1), 10-09 (2), 10-10 Sat make-up working day (3)
            assert d.due_date == date(2026, 10, 10)
            assert d.due_at == cst(2026, 10, 10, 23, 59, 59, 999_999)
            assert d.state is DeadlineState.PENDING and d.warn_at is None
            assert d.counted_from == date(2026, 9, 30) and d.working_days == 3

    def test_a_center_on_the_national_rule_allows_5(self) -> None:
        d = rows(rules=ClockRules(refund_working_days=5))["S1:DEPOSIT_REFUND:1000000000009"]
        # ... 10-10 (3), 10-11 Sun no, 10-12 Mon (4), 10-13 Tue (5)
        assert d.due_date == date(2026, 10, 13)

    @pytest.mark.parametrize("bad", [0, 6, -1, 3.0])
    def test_the_setting_stays_within_the_national_rule(self, bad: object) -> None:
        with pytest.raises(ValueError):
            ClockRules(refund_working_days=bad)  # type: ignore[arg-type]

    def test_the_bank_confirmation_closes_the_row(self) -> None:
        d = rows()["S1:DEPOSIT_REFUND:2000000000008"]
        done = record_done(d, by="bank:R1", done_at=cst(2026, 10, 9, 11), now=cst(2026, 10, 9, 11, 1))
        assert (done.state, done.done_by, done.done_late) == (DeadlineState.DONE, "bank:R1", False)
        assert not done.is_open
        refused(Code.DEADLINE_ALREADY_DONE, record_done, done, by="x", done_at=cst(2026, 10, 9, 12), now=cst(2026, 10, 9, 12))

    def test_a_refund_past_the_limit_is_overdue_then_done_late(self) -> None:
        d = rows()["S1:DEPOSIT_REFUND:2000000000008"]
        overdue = mark_overdue(d, cst(2026, 10, 11))
        assert overdue.state is DeadlineState.OVERDUE
        done = record_done(overdue, by="bank:R2", done_at=cst(2026, 10, 12, 9), now=cst(2026, 10, 12, 9))
        assert (done.state, done.done_late) == (DeadlineState.DONE, True)

    def test_an_unsold_session_refunds_everybody_and_signs_nothing(self) -> None:
        found = rows(replace(OUTCOME, winner=None, refunds=("1000000000009",)))
        assert sorted(d.kind.value for d in found.values()) == ["DEPOSIT_REFUND", "RESULT_PUBLICATION"]


class TestQ29ResultPublication:
    def test_due_in_10_working_days_with_a_warning_2_before(self) -> None:
        d = publication()
        assert d.due_date == date(2026, 10, 20)
        assert d.due_at == cst(2026, 10, 20, 23, 59, 59, 999_999)
        # 8th working day: Fri 10-16; the warning shows from its first instant.
        assert d.warn_at == cst(2026, 10, 16, 0, 0)
        assert not d.is_warning(cst(2026, 10, 15, 23, 59))
        assert d.is_warning(cst(2026, 10, 16, 0, 0))
        assert d.due_at is not None and d.is_warning(d.due_at)

    def test_the_whole_last_day_is_in_time(self) -> None:
        d = publication()
        assert d.overdue_from == cst(2026, 10, 21, 0, 0)
        assert mark_overdue(d, cst(2026, 10, 20, 23, 59, 59, 999_999)) == d
        assert mark_overdue(d, cst(2026, 10, 21, 0, 0)).state is DeadlineState.OVERDUE
        assert not mark_overdue(d, cst(2026, 10, 21)).is_warning(cst(2026, 10, 21))

    def test_working_days_left(self) -> None:
        d = publication()
        assert working_days_left(d, CAL, CLOSE) == 10
        assert working_days_left(d, CAL, cst(2026, 10, 3, 12)) == 10  # holiday: nothing used up
        assert working_days_left(d, CAL, cst(2026, 10, 16, 9)) == 2  # 10-19, 10-20
        assert working_days_left(d, CAL, cst(2026, 10, 20, 9)) == 0  # due today
        assert working_days_left(d, CAL, cst(2026, 10, 21, 9)) == -1

    def test_published_in_time(self) -> None:
        done = record_done(publication(), by="op:li", done_at=cst(2026, 10, 19, 10), now=cst(2026, 10, 19, 10))
        assert (done.state, done.done_late, done.done_at) == (DeadlineState.DONE, False, cst(2026, 10, 19, 10))
        assert mark_overdue(done, cst(2026, 12, 1)) == done

    def test_done_needs_who_and_a_time_not_in_the_future(self) -> None:
        refused(Code.INVALID_FIELD, record_done, publication(), by="", done_at=CLOSE, now=CLOSE)
        refused(Code.INVALID_FIELD, record_done, publication(), by="op", done_at=CLOSE + 1, now=CLOSE)

    def test_the_rows_survive_storage(self) -> None:
        for d in rows().values():
            assert Deadline.from_dict(d.to_dict()) == d
        assert publication().to_dict()["due_date"] == "2026-10-20"
        assert ClockRules.from_dict(RULES.to_dict()) == RULES


class TestQ42ContractDefault:
    def ledger(self) -> DepositLedger:
        app = Application("app-a", "1000000000009", "曲靖市甲房地产开发有限公司")
        payment = Payment("T1", app.sub_account, 2_000 * WAN, app.applicant_name, cst(2026, 9, 10))
        ledger = receive_payment(DepositLedger(), payment, app, deadline=cst(2026, 9, 20, 17), required_amount=2_000 * WAN).ledger
        return close_deposits(ledger, session_id="S1", sub_accounts=[app.sub_account], winner=app.sub_account, at=CLOSE)[0]

    def test_due_in_10_working_days(self) -> None:
        d = contract()
        assert (d.due_date, d.subject, d.warn_at) == (date(2026, 10, 20), "app-a", None)

    def test_signing_starts_the_q32_notice(self) -> None:
        done, notice = record_contract_signed(
            contract(), by="op:li", signed_at=cst(2026, 10, 16, 10), now=cst(2026, 10, 16, 10, 5), calendar=CAL, rules=RULES
        )
        assert (done.state, done.done_late) == (DeadlineState.DONE, False)
        assert notice.kind is DeadlineKind.Q32_NOTICE and notice.deadline_id == "S1:Q32_NOTICE"
        # Signed Fri 10-16: 10-17/18 weekend, 10-19 Mon (1), 10-20 (2), 10-21 Wed (3).
        assert notice.due_date == date(2026, 10, 21)

    def test_a_signing_recorded_late_but_dated_in_time_counts(self) -> None:
        late_record = cst(2026, 10, 21, 9)
        d = mark_overdue(contract(), late_record)
        assert d.state is DeadlineState.OVERDUE
        done, _ = record_contract_signed(
            d, by="op", signed_at=cst(2026, 10, 20, 16), now=late_record, calendar=CAL, rules=RULES
        )
        assert (done.state, done.done_late) == (DeadlineState.DONE, False)

    def test_a_signing_after_the_limit_is_refused(self) -> None:
        late = cst(2026, 10, 21, 0, 0)  # the first instant past the limit
        refused(Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME, sign, contract(), signed_at=late, now=cst(2026, 10, 21, 1))

    def test_the_contract_follows_the_sale_and_is_not_dated_ahead(self) -> None:
        with pytest.raises(Rejected) as caught:
            sign(contract(), signed_at=CLOSE - 1, now=cst(2026, 10, 9))
        assert caught.value.code is Code.CONTRACT_BEFORE_SALE
        assert caught.value.rejection.details == {"field": "signed_at", "closed_at": "2026-09-30T15:00:00+08:00",
                                                  "signed_at": "2026-09-30T14:59:59.999999+08:00"}
        now = cst(2026, 10, 9, 10)
        with pytest.raises(Rejected) as caught:
            sign(contract(), signed_at=now + 1, now=now)
        assert caught.value.code is Code.INVALID_FIELD and caught.value.rejection.details == {"field": "signed_at"}
        assert "签订时间不得晚于现在" in caught.value.rejection.message
        done, _ = record_contract_signed(contract(), by="op", signed_at=CLOSE, now=now, calendar=CAL, rules=RULES)
        assert done.done_at == CLOSE  # at the close itself: not before the sale
        # Typed to the second: a signing in the second the sale ended in is not before it.
        late_close = replace(contract(), started_at=CLOSE + 700_000)
        done, _ = record_contract_signed(late_close, by="op", signed_at=CLOSE, now=now, calendar=CAL, rules=RULES)
        assert done.done_at == CLOSE

    def test_the_default_path(self) -> None:
        ledger = self.ledger()
        at = cst(2026, 10, 21, 0, 0)  # the first instant past the limit
        result = contract_default(contract(), ledger=ledger, winner_sub_account="1000000000009", plan_id="PLAN-7", now=at)
        assert isinstance(result, ContractDefault)
        assert result.deadline.state is DeadlineState.DEFAULTED
        assert result.events == (
            WinCancelled("S1", "app-a", at),
            DepositForfeited("S1", "1000000000009", 2_000 * WAN, at),
            ReofferRequested("S1", "PLAN-7", at),
        )
        assert isinstance(result.events[0], WinCancelled)
        assert result.events[0].code is Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME
        assert result.ledger.held(AccountKind.FORFEITED, "1000000000009") == 2_000 * WAN
        assert result.ledger.held(AccountKind.APPLIED_TO_PRICE, "1000000000009") == 0
        assert result.ledger.is_balanced()
        # Once defaulted, neither a signing nor a second default is possible.
        refused(Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME, sign, result.deadline, signed_at=cst(2026, 10, 20, 9), now=at)
        refused(
            Code.Q42_CONTRACT_NOT_OVERDUE,
            contract_default,
            result.deadline,
            ledger=result.ledger,
            winner_sub_account="1000000000009",
            plan_id="PLAN-7",
            now=at,
        )

    def test_no_default_before_the_limit_or_after_signing(self) -> None:
        ledger = self.ledger()
        kwargs = {"ledger": ledger, "winner_sub_account": "1000000000009", "plan_id": "PLAN-7"}
        last_instant = cst(2026, 10, 20, 23, 59, 59, 999_999)
        refused(Code.Q42_CONTRACT_NOT_OVERDUE, contract_default, contract(), now=last_instant, **kwargs)
        signed = cst(2026, 10, 9)
        done, _ = record_contract_signed(contract(), by="op", signed_at=signed, now=signed, calendar=CAL, rules=RULES)
        refused(Code.Q42_CONTRACT_NOT_OVERDUE, contract_default, done, now=cst(2026, 11, 1), **kwargs)
        refused(Code.DEADLINE_WRONG_KIND, contract_default, publication(), now=cst(2026, 11, 1), **kwargs)

    def test_signing_steps_only_apply_to_contracts(self) -> None:
        refused(Code.DEADLINE_WRONG_KIND, sign, publication(), signed_at=CLOSE, now=CLOSE)
        refused(Code.DEADLINE_WRONG_KIND, record_done, contract(), by="op", done_at=CLOSE, now=CLOSE)


class TestQ32Notice:
    def test_across_the_new_year(self) -> None:
        closed = CloseOutcome("S0", "PLAN-6", cst(2025, 12, 19, 15), "app-y")
        signing = rows(closed)["S0:CONTRACT_SIGNING:app-y"]
        _, notice = record_contract_signed(
            signing, by="op", signed_at=cst(2025, 12, 30, 10), now=cst(2025, 12, 30, 10), calendar=CAL, rules=RULES
        )
        # Signed Tue 2025-12-30: 12-31 (1), 2026-01-01..03 holiday, 01-04 Sun make-up (2), 01-05 Mon (3).
        assert notice.due_date == date(2026, 1, 5)
        assert notice.due_at == cst(2026, 1, 5, 23, 59, 59, 999_999)

    def test_the_notice_is_done_when_sent(self) -> None:
        _, notice = record_contract_signed(
            contract(), by="op", signed_at=cst(2026, 10, 16, 10), now=cst(2026, 10, 16, 10), calendar=CAL, rules=RULES
        )
        sent = record_done(notice, by="op:wang", done_at=cst(2026, 10, 21, 17), now=cst(2026, 10, 21, 17))
        assert (sent.state, sent.done_late) == (DeadlineState.DONE, False)


class TestRule9CalendarMissing:
    LATE_CLOSE = cst(2026, 12, 28, 15)  # Mon; the 2027 calendar is not loaded

    def late_rows(self) -> dict[str, Deadline]:
        return rows(CloseOutcome("S2", "PLAN-8", self.LATE_CLOSE, "app-z", ("3000000000007",)))

    def test_a_limit_in_a_missing_year_is_an_explicit_state(self) -> None:
        found = self.late_rows()
        # 12-29 (1), 12-30 (2), 12-31 (3): the refunds stay inside 2026.
        assert found["S2:DEPOSIT_REFUND:3000000000007"].due_date == date(2026, 12, 31)
        for key in ("S2:RESULT_PUBLICATION", "S2:CONTRACT_SIGNING:app-z"):
            d = found[key]
            assert (d.state, d.missing_year, d.due_at, d.warn_at) == (DeadlineState.CALENDAR_MISSING, 2027, None, None)
            assert working_days_left(d, CAL, self.LATE_CLOSE) == CalendarYearMissing(2027)
            assert mark_overdue(d, cst(2030, 1, 1)) == d  # never overdue on a guess

    def test_recomputed_once_the_year_is_loaded(self) -> None:
        loaded = CAL.with_year(parse_year_file(TEST_2027_FILE))
        d = recompute(self.late_rows()["S2:RESULT_PUBLICATION"], loaded, self.LATE_CLOSE)
        # 12-29 (1), 12-30 (2), 12-31 (3), 2027-01-01..03 off (test file), 01-04 (4), 01-05 (5),
        # 01-06 (6), 01-07 (7), 01-08 Fri (8), 01-11 Mon (9), 01-12 Tue (10).
        assert (d.state, d.due_date, d.missing_year) == (DeadlineState.PENDING, date(2027, 1, 12), None)
        assert d.warn_at == cst(2027, 1, 8)
        assert working_days_left(d, loaded, self.LATE_CLOSE) == 10
        late = recompute(self.late_rows()["S2:RESULT_PUBLICATION"], loaded, cst(2027, 1, 13, 9))
        assert late.state is DeadlineState.OVERDUE

    def test_done_while_missing_is_judged_when_the_year_arrives(self) -> None:
        d = self.late_rows()["S2:RESULT_PUBLICATION"]
        done = record_done(d, by="op", done_at=cst(2027, 1, 13, 9), now=cst(2027, 1, 13, 9))
        assert (done.state, done.done_late) == (DeadlineState.DONE, None)
        assert recompute(done, CAL, cst(2027, 1, 14)) == done
        judged = recompute(done, CAL.with_year(parse_year_file(TEST_2027_FILE)), cst(2027, 1, 14))
        assert (judged.state, judged.due_date, judged.done_late) == (DeadlineState.DONE, date(2027, 1, 12), True)

    def test_no_default_while_the_year_is_missing(self) -> None:
        d = self.late_rows()["S2:CONTRACT_SIGNING:app-z"]
        refused(Code.Q42_CONTRACT_NOT_OVERDUE, contract_default, d, ledger=DepositLedger(), winner_sub_account="x",
                plan_id=None, now=cst(2027, 6, 1))

    def test_a_signing_in_a_missing_year_leaves_the_q32_notice_missing(self) -> None:
        d = self.late_rows()["S2:CONTRACT_SIGNING:app-z"]
        done, notice = record_contract_signed(
            d, by="op", signed_at=cst(2026, 12, 30, 10), now=cst(2026, 12, 30, 10), calendar=CAL, rules=RULES
        )
        assert (done.state, done.done_late) == (DeadlineState.DONE, None)
        # 12-31 (1), then 2027.
        assert (notice.state, notice.missing_year) == (DeadlineState.CALENDAR_MISSING, 2027)
        loaded = CAL.with_year(parse_year_file(TEST_2027_FILE))
        # 12-31 (1), 2027-01-04 Mon (2), 01-05 Tue (3)
        assert recompute(notice, loaded, cst(2027, 1, 4)).due_date == date(2027, 1, 5)
        assert recompute(done, loaded, cst(2027, 1, 4)).done_late is False


class TestRule9ProvisionalYear:
    """2027 counted on its statutory days only (auction/services/calendar.py's provisional
    year), then on the official year: a make-up Saturday (test data) moves the limit."""

    CLOSE = cst(2026, 12, 20, 15)  # Sun

    @staticmethod
    def provisional() -> WorkCalendar:
        from auction.domain.clock.workdays import provisional_year
        from auction.services.calendar import lunar_festivals

        lunar = lunar_festivals(2027)
        assert lunar is not None
        return CAL.with_year(provisional_year(lunar))

    @staticmethod
    def official() -> WorkCalendar:
        data = json.loads(TEST_2027_FILE)
        data["holidays"].remove("2027-01-02")
        data["workdays"] = ["2027-01-02"]  # a make-up Saturday in the window (test data)
        return CAL.with_year(parse_year_file(json.dumps(data)))

    def close_rows(self) -> dict[str, Deadline]:
        return rows(CloseOutcome("S3", "PLAN-9", self.CLOSE, "app-y", ("3000000000009",)), self.provisional())

    def test_the_close_gets_provisional_dates(self) -> None:
        found = self.close_rows()
        # 12-21 (1) .. 12-25 (5), 12-28 (6) .. 12-31 (9), 01-01 元旦, 01-02/03 weekend, 01-04 Mon (10)
        for key in ("S3:RESULT_PUBLICATION", "S3:CONTRACT_SIGNING:app-y"):
            assert (found[key].state, found[key].due_date, found[key].provisional_years) == (
                DeadlineState.PENDING, date(2027, 1, 4), (2027,))
        refund = found["S3:DEPOSIT_REFUND:3000000000009"]
        assert (refund.due_date, refund.provisional) == (date(2026, 12, 23), False)
        assert Deadline.from_dict(found["S3:RESULT_PUBLICATION"].to_dict()) == found["S3:RESULT_PUBLICATION"]

    def test_the_official_year_moves_it_and_says_so(self) -> None:
        from auction.domain.clock.deadlines import deadline_moved

        old = self.close_rows()["S3:RESULT_PUBLICATION"]
        official = self.official()
        new = recompute(old, official, cst(2026, 12, 21))
        assert (new.due_date, new.provisional_years) == (date(2027, 1, 2), ())
        move = deadline_moved(old, new, official, cst(2026, 12, 21))
        assert move is not None
        assert (move.old_due_date, move.new_due_date, move.old_provisional_years) == (
            date(2027, 1, 4), date(2027, 1, 2), (2027,))
        assert "2027" in move.reason and "测试用" in move.reason
        assert deadline_moved(new, recompute(new, official, cst(2026, 12, 21)), official, 0) is None

    def test_no_q42_default_on_a_provisional_date(self) -> None:
        contract = self.close_rows()["S3:CONTRACT_SIGNING:app-y"]
        late = cst(2027, 1, 5, 9)
        assert mark_overdue(contract, late).state is DeadlineState.OVERDUE  # shown overdue ...
        refused(Code.Q42_DEADLINE_PROVISIONAL, contract_default, contract, ledger=DepositLedger(),
                winner_sub_account="x", plan_id=None, now=late)  # ... but not defaulted
        # A signing after the provisional date is accepted, and judged on the official year.
        done, _ = record_contract_signed(contract, by="op", signed_at=cst(2027, 1, 4, 10), now=late,
                                         calendar=self.provisional(), rules=RULES)
        judged = recompute(done, self.official(), late)
        assert (judged.due_date, judged.done_late, judged.provisional) == (date(2027, 1, 2), True, False)

    def test_an_overdue_provisional_row_is_recounted(self) -> None:
        row = mark_overdue(self.close_rows()["S3:RESULT_PUBLICATION"], cst(2027, 1, 5))
        assert row.state is DeadlineState.OVERDUE
        later = json.loads(TEST_2027_FILE)
        later["holidays"] += ["2027-01-04", "2027-01-05"]  # bridging days (test data)
        recounted = recompute(row, CAL.with_year(parse_year_file(json.dumps(later))), cst(2027, 1, 5))
        assert (recounted.state, recounted.due_date) == (DeadlineState.PENDING, date(2027, 1, 6))
