"""The legal clock after the close (RULES 8; Q29, Q31, Q32, Q42): deadline rows and their states.

Pure: the calendar (`workdays.WorkCalendar`), the rules and `now` come in;
rows and events come out. The shell stores each row (`to_dict`/`from_dict`),
sets a timer for `warn_at` and `overdue_from`, and on start-up rebuilds the
timers from the rows. A timer that fires late changes nothing: every step
judges by the instants in the row, not by when it runs.

At the close (`deadlines_at_close`):

    DEPOSIT_REFUND       one per sub-account with money to refund   3 working days (Q31; N Art.21 allows 5)
    RESULT_PUBLICATION   the result, sold or not                    10 working days (Q29), warning 2 before
    CONTRACT_SIGNING     only when there is a winner                10 working days (Q42)

and at the signing (`record_contract_signed`):

    Q32_NOTICE           start/completion dates and use conditions  3 working days after the signing (Q32)

Counting follows `workdays`: the day of the event does not count; a limit of N
working days ends at 23:59:59.999999 China time on the N-th working day after
it (`due_at`, the last instant that is still in time). A row is overdue from
`due_at + 1` (00:00 of the next day), not at `due_at` itself: the whole N-th day
is inside the limit. The warning (`warn_at`) is 00:00 China time on the working
day `warn_working_days` working days before the due day (publication: the 8th
working day), from when the row shows as `warning`.

States:

    PENDING ---------(now > due_at)---------> OVERDUE --(Q42 only: contract_default)--> DEFAULTED
       |  \\---------(record_done)----------> DONE <--------(record_done, late)--/
    CALENDAR_MISSING --(recompute after the year is loaded)--> PENDING / OVERDUE

A row whose count needs a year that is not loaded is CALENDAR_MISSING with
`missing_year`: no due date is guessed. It can still be recorded DONE; its
lateness is settled when the year arrives (`recompute`).

A row counted through a provisional year (`workdays.provisional_year`: the
statutory holidays only, the State Council's notice not loaded yet) has its due
date and `provisional_years`; it is shown as provisional everywhere, and
recomputed whatever its state (but DEFAULTED) when the official year arrives.
If that moves its due date, `deadline_moved` gives the `DeadlineMoved` event
(old and new dates) the shell records for operators. An overdue contract row
on a provisional date is not defaulted (`Q42_DEADLINE_PROVISIONAL`): the
deposit is forfeited only on the official calendar; a signing after a
provisional due date is accepted and judged when the year is confirmed.

The Q42 default (`contract_default`): the contract deadline passed unsigned,
so the win is cancelled, the deposit applied to the price is forfeited (ledger
entry), and the parcel is offered again: the result carries a `ReofferRequested`
instruction naming the old plan; the shell drafts the new plan linked to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import Enum
from typing import Any

from auction.domain.china import china_date, iso_cst
from auction.domain.codes import Code, Rejected
from auction.domain.deposit.deposits import forfeit_deposit
from auction.domain.deposit.ledger import DepositLedger
from auction.domain.clock.workdays import (
    CalendarYearMissing,
    WorkCalendar,
    add_working_days,
    end_of_day,
    start_of_day,
    working_days_between,
)


class DeadlineKind(str, Enum):
    DEPOSIT_REFUND = "DEPOSIT_REFUND"  # 退还保证金 (Q31)
    RESULT_PUBLICATION = "RESULT_PUBLICATION"  # 公布出让结果 (Q29)
    CONTRACT_SIGNING = "CONTRACT_SIGNING"  # 签订出让合同 (Q42)
    Q32_NOTICE = "Q32_NOTICE"  # 印送开竣工时间、用途及开发利用条件 (Q32)


class DeadlineState(str, Enum):
    PENDING = "PENDING"
    DONE = "DONE"
    OVERDUE = "OVERDUE"
    CALENDAR_MISSING = "CALENDAR_MISSING"
    DEFAULTED = "DEFAULTED"  # Q42: the contract deadline passed unsigned and the default was applied


@dataclass(frozen=True)
class ClockRules:
    """Per-trading-center working-day limits, each with its source (RULES 8)."""

    # Q31: other deposits are refunded within 3 working days of the close (N Art.21 allows 5).
    refund_working_days: int = 3
    # Q29: the result is published within 10 working days of the close ...
    publication_working_days: int = 10
    # ... and operators are warned this many working days before (a setting, AUCTION_PUBLICATION_WARN_WORKING_DAYS).
    publication_warn_working_days: int = 2
    # Q42: the winner signs the contract within 10 working days.
    contract_working_days: int = 10
    # Q32: the contract's dates and conditions go out within 3 working days of the signing.
    q32_notice_working_days: int = 3

    def __post_init__(self) -> None:
        limits = ("refund_working_days", "publication_working_days", "contract_working_days", "q32_notice_working_days")
        for name in limits:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.refund_working_days > 5:
            raise ValueError("refund_working_days: N Art.21 allows at most 5")
        warn = self.publication_warn_working_days
        if type(warn) is not int or warn < 0:
            raise ValueError(f"publication_warn_working_days must be >= 0, got {warn!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClockRules:
        return cls(**data)


@dataclass(frozen=True)
class Deadline:
    deadline_id: str  # "<session>:<KIND>" or "<session>:<KIND>:<subject>"
    session_id: str
    kind: DeadlineKind
    subject: str  # the refund's ledger ref; the session id otherwise
    started_at: int  # µs UTC: the close, or the signing
    counted_from: date  # its China date: the count starts the day after
    working_days: int
    warn_working_days: int | None
    state: DeadlineState
    due_date: date | None = None  # the N-th working day
    due_at: int | None = None  # its last instant, µs UTC
    warn_at: int | None = None
    missing_year: int | None = None
    done_at: int | None = None
    done_by: str | None = None
    done_late: bool | None = None  # None while the due date is unknown
    provisional_years: tuple[int, ...] = ()  # counted through these provisional calendar years

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    @property
    def overdue_from(self) -> int | None:
        """The first instant at which the row is overdue (the shell's timer)."""
        return None if self.due_at is None else self.due_at + 1

    @property
    def is_open(self) -> bool:
        return self.state in (DeadlineState.PENDING, DeadlineState.OVERDUE, DeadlineState.CALENDAR_MISSING)

    def is_warning(self, now: int) -> bool:
        return (
            self.state is DeadlineState.PENDING
            and self.warn_at is not None
            and self.due_at is not None
            and self.warn_at <= now <= self.due_at
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["state"] = self.state.value
        data["provisional_years"] = list(self.provisional_years)
        for key in ("counted_from", "due_date"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        values = dict(data)
        values["kind"] = DeadlineKind(values["kind"])
        values["state"] = DeadlineState(values["state"])
        values["counted_from"] = date.fromisoformat(values["counted_from"])
        if values.get("due_date") is not None:
            values["due_date"] = date.fromisoformat(values["due_date"])
        values["provisional_years"] = tuple(values.get("provisional_years") or ())
        return cls(**values)


@dataclass(frozen=True)
class CloseOutcome:
    """What the close decided, as far as the clock cares."""

    session_id: str
    plan_id: str | None  # the supply plan the session came from (for a re-offer)
    closed_at: int  # µs UTC
    winner: str | None  # the winner's application id; None when unsold
    refunds: tuple[str, ...] = ()  # ledger refs with money to refund (`deposits.close_deposits`)


# ---------------------------------------------------------------------------
# events of the Q42 default


@dataclass(frozen=True)
class WinCancelled:
    session_id: str
    application_id: str
    at: int
    code: Code = Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME


@dataclass(frozen=True)
class DepositForfeited:
    session_id: str
    sub_account: str
    amount: int  # fen; 0 if nothing had been applied to the price
    at: int


@dataclass(frozen=True)
class ReofferRequested:
    """An instruction: draft a new supply plan for the same parcel, linked to `old_plan_id`."""

    session_id: str
    old_plan_id: str | None
    at: int
    reason: Code = Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME


ClockEvent = WinCancelled | DepositForfeited | ReofferRequested


@dataclass(frozen=True)
class DeadlineMoved:
    """A recount moved a row's due date (e.g. the official year replaced a provisional one)."""

    deadline_id: str
    session_id: str
    kind: DeadlineKind
    old_due_date: date
    new_due_date: date
    old_provisional_years: tuple[int, ...]
    new_provisional_years: tuple[int, ...]
    reason: str
    at: int


def deadline_moved(old: Deadline, new: Deadline, calendar: WorkCalendar, at: int) -> DeadlineMoved | None:
    """The event when `recompute` moved a due date that was known; None otherwise."""
    if old.due_date is None or new.due_date is None or old.due_date == new.due_date:
        return None
    confirmed = [y for y in old.provisional_years if calendar.confirmed(y)]
    if confirmed:
        sources = "; ".join(f"{y}: {calendar.years[y].source}" for y in confirmed)
        reason = f"{'、'.join(map(str, confirmed))}年工作日历已确认 / calendar confirmed ({sources})"
    else:
        reason = "工作日历变更 / the working-day calendar changed"
    return DeadlineMoved(old.deadline_id, old.session_id, old.kind, old.due_date, new.due_date,
                         old.provisional_years, new.provisional_years, reason, at)


@dataclass(frozen=True)
class ContractDefault:
    deadline: Deadline  # DEFAULTED
    ledger: DepositLedger
    events: tuple[ClockEvent, ...]


# ---------------------------------------------------------------------------
# making rows


def make_deadline(
    *,
    deadline_id: str,
    session_id: str,
    kind: DeadlineKind,
    subject: str,
    started_at: int,
    working_days: int,
    calendar: WorkCalendar,
    now: int,
    warn_working_days: int | None = None,
) -> Deadline:
    """A row counted from the China date of `started_at`, in its state at `now`."""
    row = Deadline(
        deadline_id=deadline_id,
        session_id=session_id,
        kind=kind,
        subject=subject,
        started_at=started_at,
        counted_from=china_date(started_at),
        working_days=working_days,
        warn_working_days=warn_working_days,
        state=DeadlineState.CALENDAR_MISSING,
    )
    return recompute(row, calendar, now)


def deadlines_at_close(
    outcome: CloseOutcome, calendar: WorkCalendar, rules: ClockRules, *, now: int | None = None
) -> tuple[Deadline, ...]:
    """Every row the close starts (table in the module docstring); `now` defaults to the close."""
    now = outcome.closed_at if now is None else now
    sid = outcome.session_id

    def row(kind: DeadlineKind, subject: str, n: int, warn: int | None = None) -> Deadline:
        suffix = f":{subject}" if subject != sid else ""
        return make_deadline(
            deadline_id=f"{sid}:{kind.value}{suffix}",
            session_id=sid,
            kind=kind,
            subject=subject,
            started_at=outcome.closed_at,
            working_days=n,
            calendar=calendar,
            now=now,
            warn_working_days=warn,
        )

    rows = [row(DeadlineKind.DEPOSIT_REFUND, ref, rules.refund_working_days) for ref in outcome.refunds]
    rows.append(
        row(
            DeadlineKind.RESULT_PUBLICATION,
            sid,
            rules.publication_working_days,
            rules.publication_warn_working_days,
        )
    )
    if outcome.winner is not None:
        rows.append(row(DeadlineKind.CONTRACT_SIGNING, outcome.winner, rules.contract_working_days))
    return tuple(rows)


# ---------------------------------------------------------------------------
# transitions


def recompute(row: Deadline, calendar: WorkCalendar, now: int) -> Deadline:
    """Fill in the due date once the calendar has the years it needs, then `mark_overdue`.

    Changes only rows whose due date is unknown (CALENDAR_MISSING, or DONE while
    missing), PENDING rows, and rows counted on a provisional year (whatever their
    state, but DEFAULTED). Other rows that are OVERDUE or DONE stay as they are:
    that already happened.
    """
    if row.state is DeadlineState.DEFAULTED:
        return row
    if row.state is DeadlineState.OVERDUE and not row.provisional:
        return row
    if row.state is DeadlineState.DONE and row.due_at is not None and not row.provisional:
        return row
    due = add_working_days(calendar, row.counted_from, row.working_days)
    warn_at: int | None = None
    if isinstance(due, date) and row.warn_working_days is not None:
        lead = row.working_days - row.warn_working_days
        warn_day = add_working_days(calendar, row.counted_from, lead) if lead >= 1 else None
        # The warning day comes before the due day, so every year it needs is loaded.
        assert not isinstance(warn_day, CalendarYearMissing)
        warn_at = row.started_at if warn_day is None else start_of_day(warn_day)
    if isinstance(due, CalendarYearMissing):
        if row.state is DeadlineState.DONE:
            return replace(row, missing_year=due.year)
        return replace(
            row, state=DeadlineState.CALENDAR_MISSING, missing_year=due.year, due_date=None, due_at=None, warn_at=None,
            provisional_years=(),
        )
    due_at = end_of_day(due)
    provisional = calendar.provisional_between(row.counted_from, due)
    if row.state is DeadlineState.DONE:
        assert row.done_at is not None
        late = row.done_at > due_at
        return replace(row, due_date=due, due_at=due_at, warn_at=warn_at, missing_year=None, done_late=late,
                       provisional_years=provisional)
    fresh = replace(
        row, state=DeadlineState.PENDING, due_date=due, due_at=due_at, warn_at=warn_at, missing_year=None,
        provisional_years=provisional,
    )
    return mark_overdue(fresh, now)


def mark_overdue(row: Deadline, now: int) -> Deadline:
    """PENDING -> OVERDUE once `now` is past the last instant of the limit; otherwise unchanged."""
    if row.state is DeadlineState.PENDING and row.due_at is not None and now > row.due_at:
        return replace(row, state=DeadlineState.OVERDUE)
    return row


def record_done(row: Deadline, *, by: str, done_at: int, now: int) -> Deadline:
    """Operators (or the bank's confirmation) record the thing done at `done_at` (<= `now`).

    Allowed from PENDING, OVERDUE (then `done_late`) and CALENDAR_MISSING; a
    contract signing goes through `record_contract_signed`.
    """
    if row.kind is DeadlineKind.CONTRACT_SIGNING:
        raise Rejected(Code.DEADLINE_WRONG_KIND, "use record_contract_signed", kind=row.kind.value)
    return _done(row, by=by, done_at=done_at, now=now)


def record_contract_signed(
    row: Deadline, *, by: str, signed_at: int, now: int, calendar: WorkCalendar, rules: ClockRules
) -> tuple[Deadline, Deadline]:
    """Q42 signing recorded; returns the contract row (DONE) and the new Q32 notice row.

    A signing after the limit is refused (`Q42_CONTRACT_NOT_SIGNED_IN_TIME`):
    Q42 cancels the win instead. A signing recorded late but dated in time is accepted.
    The contract follows the sale: a signing dated before the row's start (the close, or
    a tender's award) is `CONTRACT_BEFORE_SALE`; one dated after `now` is `INVALID_FIELD`
    (`signed_at`), as every dated act recorded by hand.
    """
    if row.kind is not DeadlineKind.CONTRACT_SIGNING:
        raise Rejected(Code.DEADLINE_WRONG_KIND, kind=row.kind.value)
    late = row.due_at is not None and signed_at > row.due_at and not row.provisional
    if row.state is DeadlineState.DEFAULTED or late:
        raise Rejected(Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME, due_at=row.due_at, signed_at=signed_at)
    if row.state is not DeadlineState.DONE:  # signed twice: DEADLINE_ALREADY_DONE (`_done`), whatever the date
        if type(signed_at) is not int or signed_at > now:
            raise Rejected(Code.INVALID_FIELD, "签订时间不得晚于现在 / the signing time must not be in the future",
                           field="signed_at")
        # Dates are typed to the second: a signing in the sale's own second is not before it.
        if signed_at < row.started_at - row.started_at % 1_000_000:
            raise Rejected(Code.CONTRACT_BEFORE_SALE, field="signed_at", closed_at=iso_cst(row.started_at),
                           signed_at=iso_cst(signed_at))
    done = _done(row, by=by, done_at=signed_at, now=now)
    notice = make_deadline(
        deadline_id=f"{row.session_id}:{DeadlineKind.Q32_NOTICE.value}",
        session_id=row.session_id,
        kind=DeadlineKind.Q32_NOTICE,
        subject=row.session_id,
        started_at=signed_at,
        working_days=rules.q32_notice_working_days,
        calendar=calendar,
        now=now,
    )
    return done, notice


def _done(row: Deadline, *, by: str, done_at: int, now: int) -> Deadline:
    if row.state in (DeadlineState.DONE, DeadlineState.DEFAULTED):
        raise Rejected(Code.DEADLINE_ALREADY_DONE, row.deadline_id, state=row.state.value, done_at=row.done_at)
    if not by:
        raise Rejected(Code.INVALID_FIELD, "by", field="by")
    if type(done_at) is not int or done_at > now:
        raise Rejected(Code.INVALID_FIELD, "办结时间不得晚于现在 / done_at must not be in the future", field="done_at")
    late = None if row.due_at is None else done_at > row.due_at
    return replace(row, state=DeadlineState.DONE, done_at=done_at, done_by=by, done_late=late)


def contract_default(
    row: Deadline, *, ledger: DepositLedger, winner_sub_account: str, plan_id: str | None, now: int
) -> ContractDefault:
    """Q42: the contract was not signed in time. Cancel the win, forfeit the deposit, re-offer.

    Refused (`Q42_CONTRACT_NOT_OVERDUE`) unless the row is a contract deadline
    past its limit and not signed; idempotent per session in the ledger.
    """
    if row.kind is not DeadlineKind.CONTRACT_SIGNING:
        raise Rejected(Code.DEADLINE_WRONG_KIND, kind=row.kind.value)
    current = mark_overdue(row, now)
    if current.provisional:
        raise Rejected(Code.Q42_DEADLINE_PROVISIONAL, years=list(current.provisional_years))
    if current.state is not DeadlineState.OVERDUE:
        raise Rejected(Code.Q42_CONTRACT_NOT_OVERDUE, state=current.state.value, overdue_from=current.overdue_from)
    ledger, amount = forfeit_deposit(ledger, session_id=row.session_id, sub_account=winner_sub_account, at=now)
    events: tuple[ClockEvent, ...] = (
        WinCancelled(row.session_id, row.subject, now),
        DepositForfeited(row.session_id, winner_sub_account, amount, now),
        ReofferRequested(row.session_id, plan_id, now),
    )
    return ContractDefault(replace(current, state=DeadlineState.DEFAULTED), ledger, events)


def working_days_left(row: Deadline, calendar: WorkCalendar, now: int) -> int | CalendarYearMissing:
    """Working days after today (China date of `now`) up to the due day: 0 on the due day,
    negative once past. The operator view's "working days left"."""
    if row.due_date is None:
        return CalendarYearMissing(row.missing_year if row.missing_year is not None else row.counted_from.year)
    return working_days_between(calendar, china_date(now), row.due_date)
