"""What happens after the deal, recorded later: the actual construction start and completion
(实际开工时间, 实际竣工时间, fields of the China Land Market website's 供地结果信息, empty
until the site's record is updated) and the installments as paid.

The site's 分期支付约定 rows carry only what was agreed (支付期号, 约定支付日期,
约定支付金额, 备注): the payments are this center's own record, shown beside each
installment (docs/publication.md, "After the deal").

Each recording is one row that is never changed (migrations/0017); the facts in force
are the fold of them all: a later start or completion date corrects an earlier one,
payments add up per installment. Pure: today's China date is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from auction.domain.codes import Code, Rejected
from auction.domain.event_log import replay
from auction.domain.money import is_valid_amount


@dataclass(frozen=True)
class Payment:
    """Money paid toward one installment (分期支付约定's 支付期号) on a day."""

    period: int
    paid_date: date
    amount_fen: int


@dataclass(frozen=True)
class Construction:
    """实际开工时间, 实际竣工时间: in a recording, the dates it states; in the facts, those in force."""

    actual_start_date: date | None = None
    actual_completion_date: date | None = None


@dataclass(frozen=True)
class PostDealRecording(Construction):
    """One recording by an operator: any of the three kinds of fact, at least one."""

    payments: tuple[Payment, ...] = ()


@dataclass(frozen=True)
class Paid:
    """An installment as paid so far: the sum and the day of the last payment."""

    amount_fen: int
    last_date: date


@dataclass(frozen=True)
class PostDealFacts(Construction):
    """The facts in force after every recording so far."""

    paid: dict[int, Paid] = field(default_factory=dict)  # period -> as paid


def apply(facts: PostDealFacts, recording: PostDealRecording) -> PostDealFacts:
    paid = dict(facts.paid)
    for p in recording.payments:
        before = paid.get(p.period)
        paid[p.period] = Paid(p.amount_fen + (before.amount_fen if before else 0),
                              max(p.paid_date, before.last_date) if before else p.paid_date)
    return replace(facts, paid=paid,
                   actual_start_date=recording.actual_start_date or facts.actual_start_date,
                   actual_completion_date=recording.actual_completion_date or facts.actual_completion_date)


def fold(recordings: list[PostDealRecording]) -> PostDealFacts:
    return replay(PostDealFacts, apply, recordings)


def check_recording(facts: PostDealFacts, recording: PostDealRecording, *, contract_date: date,
                    installments: dict[int, int], today: date) -> PostDealFacts:
    """The facts after `recording`, or its refusal: nothing recorded (`INVALID_FIELD`), a day after
    today (`DATE_OUT_OF_RANGE`), a day before the contract (`POSTDEAL_BEFORE_CONTRACT`), a completion
    before the start or without one (`POSTDEAL_COMPLETION_BEFORE_START`), a period the contract
    does not have (`INVALID_FIELD`), more paid toward a period than it owes (`POSTDEAL_OVERPAID`).
    `installments` is the contract's schedule: period -> amount in fen."""
    if recording.actual_start_date is None and recording.actual_completion_date is None \
            and not recording.payments:
        raise Rejected(Code.INVALID_FIELD, "nothing to record: actual_start_date, actual_completion_date or "
                       "payments", field="actual_start_date")
    days = [("actual_start_date", recording.actual_start_date),
            ("actual_completion_date", recording.actual_completion_date),
            *(("payments", p.paid_date) for p in recording.payments)]
    for name, day in days:
        if day is None:
            continue
        if day > today:
            raise Rejected(Code.DATE_OUT_OF_RANGE, f"{name}: {day.isoformat()} has not come yet", field=name,
                           today=today.isoformat())
        if day < contract_date:
            raise Rejected(Code.POSTDEAL_BEFORE_CONTRACT, f"{name}: {day.isoformat()}", field=name,
                           contract_date=contract_date.isoformat())
    for p in recording.payments:
        if p.period not in installments or not is_valid_amount(p.amount_fen):
            raise Rejected(Code.INVALID_FIELD, f"payments: period {p.period} with a positive amount of fen; the "
                           f"contract's periods are {sorted(installments)}", field="payments")
    after = apply(facts, recording)
    if after.actual_completion_date is not None and (
            after.actual_start_date is None or after.actual_completion_date < after.actual_start_date):
        start = after.actual_start_date.isoformat() if after.actual_start_date else None
        raise Rejected(Code.POSTDEAL_COMPLETION_BEFORE_START, f"start {start or '(not recorded)'}",
                       field="actual_completion_date", actual_start_date=start)
    for period, paid in after.paid.items():
        if paid.amount_fen > installments[period]:
            raise Rejected(Code.POSTDEAL_OVERPAID, f"period {period}", field="payments", period=period,
                           amount_fen=installments[period], paid_fen=paid.amount_fen)
    return after
