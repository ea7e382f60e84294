"""The supply plan (供地方案) engine: `decide(state, command, now) -> events`,
`evolve(state, event) -> state`, `replay(events)`. Pure, like `session.py`.

Lifecycle (RULES 1-3, Q22-Q29):

    NEW -> DRAFT (-> edited, any number of times) -> COMMITTEE_PASSED -> APPROVED -> ANNOUNCED -> RESERVE_SEALED
                \\-> COMMITTEE_REJECTED --(another meeting)--/
    any status -> WITHDRAWN

Appraisals (Q25) may be recorded at any time before the reserve is decided.
A refused command raises `Rejected` and produces no event, so it changes nothing.

Interpretations, each with its reason:

- Q22 "到会成员2/3以上赞成": 以上 includes the number itself (民法典 第一千二百五十九条),
  so the plan passes when yes / present >= 2/3, tested in integers as
  `yes * 3 >= present * 2`. Abstentions count as present and not in favour.
  A vote that falls short is a fact to archive, not a refusal: it is recorded
  (COMMITTEE_REJECTED) and every step that needs approval is then refused with
  `Q22_NOT_APPROVED`. The committee may meet again; every meeting stays in the log.
- Q29 "20 days": 20 x 24 hours from publication to the start, in µs. Publication
  counts from max(published_at, now): a backdated publication gains no days.
- Q26 window: the reserve is decided at or after start - 60 min and strictly
  before the start; it must also be recorded before the start.
- Q27 dates: the appraisal is expired when its last valid day (inclusive) is
  before the China date of the decision; it is "after the decision" when its
  valuation date is after that date or it was recorded after `decided_at`.
- Q27(三): the reserve (for a no-reserve auction, the starting price) is
  compared with the benchmark land price x area exactly in integers.
- Q27(五) (no inverted procedure): the committee meets after the plan was
  drafted (and after its last edit: the committee reviews the plan as it stands),
  and the government approves after the committee passed it.
- Editing (`EditDraft`): only while the status is DRAFT, i.e. before any committee
  meeting, so no vote ever concerned other facts than the ones it recorded. The new
  parcel and terms are checked as a draft's are; anything later is a withdrawal
  and a new plan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any, TypeVar, cast

from auction.domain.china import china_date
from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount, percent_ceil
from auction.domain.plan.floor_price import floor_total
from auction.domain.plan.parcels import READINESS_LABELS, Parcel, check_parcel
from auction.domain.plan.plan_commands import (
    Announce,
    ChangeAnnouncement,
    DecideReserve,
    DraftPlan,
    EditDraft,
    PlanCommand,
    RecordAppraisal,
    RecordCommitteeMeeting,
    RecordGovernmentApproval,
    WithdrawPlan,
)
from auction.domain.plan import plan_events as pe
from auction.domain.plan.plan_events import PlanEvent
from auction.domain.plan.plan_terms import Channel, PlanMethod, PlanRules, Schedule
from auction.domain.bidding.terms import Method, SessionRules, SessionTerms
from auction.domain import event_log

COMMITMENT = re.compile(r"[0-9a-f]{64}")
E = TypeVar("E")


class PlanStatus(str, Enum):
    NEW = "NEW"
    DRAFT = "DRAFT"  # 已编制
    COMMITTEE_PASSED = "COMMITTEE_PASSED"  # 委员会审议通过
    COMMITTEE_REJECTED = "COMMITTEE_REJECTED"  # 未获2/3以上赞成
    APPROVED = "APPROVED"  # 政府批准
    ANNOUNCED = "ANNOUNCED"  # 已公告
    RESERVE_SEALED = "RESERVE_SEALED"  # 底价已集体确定并密封 (or: no reserve, decided)
    WITHDRAWN = "WITHDRAWN"  # 撤回


@dataclass(frozen=True)
class PlanState:
    version: int = 0  # position in the plan's log
    draft: pe.PlanDrafted | None = None  # as drafted, with the last edit's parcel and terms
    edits: tuple[pe.PlanDraftEdited, ...] = ()
    meetings: tuple[pe.CommitteeMeetingRecorded, ...] = ()
    approval: pe.GovernmentApprovalRecorded | None = None
    announced: pe.PlanAnnounced | None = None
    changes: tuple[pe.AnnouncementChanged, ...] = ()
    schedule: Schedule | None = None  # in force: the announcement's, after every change
    appraisals: tuple[pe.AppraisalRecorded, ...] = ()
    reserve: pe.ReserveDecided | None = None
    withdrawn: pe.PlanWithdrawn | None = None
    last_at: int = 0

    @property
    def status(self) -> PlanStatus:
        if self.withdrawn is not None:
            return PlanStatus.WITHDRAWN
        if self.reserve is not None:
            return PlanStatus.RESERVE_SEALED
        if self.announced is not None:
            return PlanStatus.ANNOUNCED
        if self.approval is not None:
            return PlanStatus.APPROVED
        if self.meetings:
            return PlanStatus.COMMITTEE_PASSED if self.meetings[-1].passed else PlanStatus.COMMITTEE_REJECTED
        if self.draft is not None:
            return PlanStatus.DRAFT
        return PlanStatus.NEW

    @property
    def drafted_at(self) -> int | None:
        """When the plan took its present form: the last edit, else the draft (Q27(五))."""
        if self.edits:
            return self.edits[-1].at
        return self.draft.at if self.draft is not None else None

    @property
    def plan_id(self) -> str | None:
        return self.draft.plan_id if self.draft is not None else None

    @property
    def parcel(self) -> Parcel | None:
        return self.draft.parcel if self.draft is not None else None

    @property
    def method(self) -> PlanMethod | None:
        return self.draft.method if self.draft is not None else None

    @property
    def rules(self) -> PlanRules:
        return self.draft.rules if self.draft is not None else PlanRules()

    def appraisal(self, appraisal_id: str) -> pe.AppraisalRecorded | None:
        for record in self.appraisals:
            if record.appraisal.appraisal_id == appraisal_id:
                return record
        return None


def committee_passes(yes: int, present: int, rules: PlanRules) -> bool:
    """Q22: yes / present >= 2/3 (以上 includes the bound), in integers."""
    return present > 0 and yes * rules.committee_pass_denominator >= present * rules.committee_pass_numerator


# ---------------------------------------------------------------------------
# decide


def decide(state: PlanState, command: PlanCommand, now: int) -> list[PlanEvent]:
    """The events `command` produces at `now`, or `Rejected` (which changes nothing)."""
    by = getattr(command, "by", None)
    if not isinstance(by, str) or not by.strip():
        raise Rejected(Code.INVALID_FIELD, "by is required", field="by")
    if isinstance(command, DraftPlan):
        return _draft(state, command, now)
    if state.draft is None:
        raise Rejected(Code.NOT_FOUND, "no such plan")
    if state.status is PlanStatus.WITHDRAWN:
        raise _wrong_status(state)
    if isinstance(command, EditDraft):
        return _edit(state, command, now)
    if isinstance(command, RecordCommitteeMeeting):
        return _meeting(state, command, now)
    if isinstance(command, RecordGovernmentApproval):
        return _approval(state, command, now)
    if isinstance(command, Announce):
        return _announce(state, command, now)
    if isinstance(command, ChangeAnnouncement):
        return _change(state, command, now)
    if isinstance(command, RecordAppraisal):
        return _appraisal(state, command, now)
    if isinstance(command, DecideReserve):
        return _reserve(state, command, now)
    if isinstance(command, WithdrawPlan):
        if not command.reason.strip():
            raise Rejected(Code.REASON_REQUIRED)
        return [pe.PlanWithdrawn(at=now, by=command.by, reason=command.reason)]
    raise TypeError(f"not a plan command: {command!r}")


def _recorded(kind: Callable[..., E], source: object, **decided: Any) -> E:
    """The dataclass `kind` built from what the engine `decided` and, for every other field,
    `source`'s field of the same name: how an event records its command (and a session's
    terms carry the plan's inputs). A required field neither gives is a TypeError."""
    names = [f.name for f in fields(cast(Any, kind)) if f.name not in decided]
    return kind(**{n: getattr(source, n) for n in names if hasattr(source, n)}, **decided)


def _wrong_status(state: PlanState, detail: str = "") -> Rejected:
    return Rejected(Code.PLAN_WRONG_STATUS, detail, status=state.status.value)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejected(Code.INVALID_FIELD, f"{name} is required", field=name)
    return value


def _member_ids(values: object, name: str) -> tuple[str, ...]:
    if not isinstance(values, tuple | list) or not values:
        raise Rejected(Code.INVALID_FIELD, f"{name}: at least one member id", field=name)
    ids = tuple(_text(v, name) for v in values)
    if len(set(ids)) != len(ids):
        raise Rejected(Code.INVALID_FIELD, f"{name}: a member is listed twice", field=name)
    return ids


def _draft(state: PlanState, command: DraftPlan, now: int) -> list[PlanEvent]:
    if state.draft is not None:
        raise Rejected(Code.PLAN_EXISTS, plan_id=state.draft.plan_id)
    _text(command.plan_id, "plan_id")
    parcel, prices = _checked_terms(command, command.rules)
    return [_recorded(pe.PlanDrafted, command, at=now, parcel=parcel, **prices)]


def _edit(state: PlanState, command: EditDraft, now: int) -> list[PlanEvent]:
    if state.status is not PlanStatus.DRAFT:
        raise _wrong_status(state, "only a draft is edited, before the committee meets; "
                            "withdraw the plan and draft a new one")
    parcel, prices = _checked_terms(command, state.rules)
    return [_recorded(pe.PlanDraftEdited, command, at=now, parcel=parcel, **prices)]


def _checked_terms(command: DraftPlan | EditDraft, rules: PlanRules) -> tuple[Parcel, dict[str, int]]:
    """A draft's parcel and terms, judged (Q23, Q24, Q31): the one parcel and the total prices (derived
    from the prices per floor area when the plan states them), or `Rejected`."""
    parcels = command.parcels
    if not isinstance(parcels, tuple | list) or not parcels:
        raise Rejected(Code.INVALID_FIELD, "one parcel is required", field="parcels")
    if len(parcels) > 1:  # Q23: one parcel per plan, never bundled
        raise Rejected(Code.Q23_MORE_THAN_ONE_PARCEL, count=len(parcels))
    parcel = parcels[0]
    check_parcel(parcel)
    missing = parcel.readiness.missing()
    if missing:
        raise Rejected(
            Code.Q23_PARCEL_NOT_READY,
            "、".join(READINESS_LABELS[name] for name in missing),
            missing=list(missing),
        )
    if not isinstance(command.method, PlanMethod):
        raise Rejected(Code.INVALID_TERMS, "method: LISTING, AUCTION or TENDER", field="method")
    prices = {"start_price": command.start_price, "increment": command.increment, "deposit": command.deposit}
    for name, unit_name in (("start_price", "start_fen_per_floor_m2"), ("increment", "increment_fen_per_floor_m2")):
        unit = getattr(command, unit_name)
        if unit is not None:  # 元/建筑平方米: the total is derived, exactly
            prices[name] = floor_total(parcel, unit, unit_name, prices[name])
    for name, amount in prices.items():
        if not is_valid_amount(amount):
            raise Rejected(Code.INVALID_TERMS, f"{name} must be a positive whole number of fen", field=name)
    minimum_deposit = percent_ceil(prices["start_price"], rules.min_deposit_percent)
    if command.deposit < minimum_deposit:  # Q31
        raise Rejected(Code.Q31_DEPOSIT_BELOW_20_PERCENT, minimum_deposit=minimum_deposit)
    if not isinstance(command.bidder_conditions, str):
        raise Rejected(Code.INVALID_FIELD, "bidder_conditions must be text", field="bidder_conditions")
    if command.bidder_conditions.strip() and not parcel.conditions_allowed:  # Q24
        raise Rejected(
            Code.Q24_CONDITIONS_NOT_ALLOWED,
            land_use=parcel.land_use,
            conditions_category=parcel.conditions_category.value,
        )
    return parcel, prices


def _meeting(state: PlanState, command: RecordCommitteeMeeting, now: int) -> list[PlanEvent]:
    assert state.draft is not None
    if state.status not in (PlanStatus.DRAFT, PlanStatus.COMMITTEE_REJECTED):
        raise _wrong_status(state, "the committee has already passed this plan")
    present = _member_ids(command.members_present, "members_present")
    _text(command.chair, "chair")
    if command.chair not in present:
        raise Rejected(Code.INVALID_FIELD, "the chair must be among the members present", field="chair")
    if type(command.held_at) is not int or command.held_at > now:
        raise Rejected(Code.INVALID_FIELD, "会议时间不得晚于现在 / held_at must not be in the future", field="held_at")
    if command.held_at < (state.drafted_at or 0):  # Q27(五): the plan comes first, then its review
        raise Rejected(Code.Q27_PROCEDURE_INVERTED,
                       "会审早于方案编制或最后一次修改 / meeting before the plan was drafted or last edited")
    tally = (command.yes, command.no, command.abstain)
    if any(type(n) is not int or n < 0 for n in tally) or sum(tally) != len(present):
        raise Rejected(Code.Q22_TALLY_MISMATCH, present=len(present), ballots=sum(n for n in tally if type(n) is int))
    if command.chair_spoke_last is not True:
        raise Rejected(Code.Q22_CHAIR_NOT_LAST)
    passed = committee_passes(command.yes, len(present), state.rules)
    return [_recorded(pe.CommitteeMeetingRecorded, command, at=now, members_present=present, chair_spoke_last=True,
                      passed=passed)]


def _approval(state: PlanState, command: RecordGovernmentApproval, now: int) -> list[PlanEvent]:
    status = state.status
    if status in (PlanStatus.DRAFT, PlanStatus.COMMITTEE_REJECTED):
        raise Rejected(Code.Q22_NOT_APPROVED, "委员会未审议通过 / the committee has not passed the plan", status=status.value)
    if status is not PlanStatus.COMMITTEE_PASSED:
        raise _wrong_status(state, "already approved")
    _text(command.approver, "approver")
    _text(command.document_no, "document_no")
    if type(command.approved_at) is not int or command.approved_at > now:
        raise Rejected(Code.INVALID_FIELD, "批准时间不得晚于现在 / approved_at must not be in the future", field="approved_at")
    if command.approved_at < state.meetings[-1].held_at:  # Q27(五)
        raise Rejected(Code.Q27_PROCEDURE_INVERTED, "批准早于委员会会审 / approval before the committee meeting")
    return [_recorded(pe.GovernmentApprovalRecorded, command, at=now)]


def _check_schedule(state: PlanState, schedule: Schedule, published: int) -> None:
    """The schedule's own consistency and the 20-day rule, counted from `published` (µs)."""
    assert state.draft is not None
    rules = state.rules
    if not isinstance(schedule, Schedule):
        raise Rejected(Code.INVALID_TERMS, "schedule is required", field="schedule")
    for name in ("start_at", "deposit_deadline", "registration_closes_at"):
        if type(getattr(schedule, name)) is not int:
            raise Rejected(Code.INVALID_TERMS, f"{name} must be µs UTC", field=name)
    earliest = published + rules.min_announcement_period
    if schedule.start_at < earliest:  # Q29
        raise Rejected(
            Code.Q29_ANNOUNCEMENT_TOO_SHORT,
            earliest_start_at=earliest,
            min_announcement_period_us=rules.min_announcement_period,
        )
    end = schedule.listing_end_at
    if state.draft.method is PlanMethod.LISTING:
        if type(end) is not int or end <= schedule.start_at:
            raise Rejected(Code.INVALID_TERMS, "a listing needs listing_end_at after start_at", field="listing_end_at")
        if end - schedule.start_at < rules.min_listing_period:  # N Art.18
            raise Rejected(Code.N18_LISTING_PERIOD_TOO_SHORT, min_listing_period_us=rules.min_listing_period)
        latest_close = end - rules.registration_lead  # RULES 3.4
    else:
        if end is not None:
            raise Rejected(Code.INVALID_TERMS, "only a listing has listing_end_at", field="listing_end_at")
        latest_close = schedule.start_at
    if schedule.registration_closes_at > latest_close:
        raise Rejected(
            Code.INVALID_TERMS,
            "registration closes too late",
            field="registration_closes_at",
            latest=latest_close,
        )
    if not published < schedule.deposit_deadline <= schedule.registration_closes_at:
        raise Rejected(
            Code.INVALID_TERMS,
            "the deposit deadline falls after publication and no later than registration closes",
            field="deposit_deadline",
        )


def _announce(state: PlanState, command: Announce, now: int) -> list[PlanEvent]:
    status = state.status
    if status in (PlanStatus.DRAFT, PlanStatus.COMMITTEE_REJECTED, PlanStatus.COMMITTEE_PASSED):
        raise Rejected(Code.Q22_NOT_APPROVED, status=status.value)
    if status is not PlanStatus.APPROVED:
        raise _wrong_status(state, "already announced: publish a change instead")
    a = command.announcement
    for name in ("announcement_no", "seller", "place_and_method", "application", "contacts"):
        _text(getattr(a, name, None), name)
    if not isinstance(a.title, str):  # 公告标题: the operator's, or '' for the one made from the method
        raise Rejected(Code.INVALID_FIELD, "title must be text", field="title")
    if type(a.published_at) is not int:
        raise Rejected(Code.INVALID_FIELD, "published_at must be µs UTC", field="published_at")
    if not isinstance(a.channels, set | frozenset | list | tuple):
        raise Rejected(Code.INVALID_FIELD, "channels must be a set of channels", field="channels")
    known = {c.value for c in Channel}
    if any(c not in known for c in a.channels):
        raise Rejected(Code.INVALID_FIELD, "unknown channel", field="channels")
    missing = [c.value for c in Channel if c not in a.channels]
    if missing:  # Q29: every channel the article names
        raise Rejected(Code.Q29_CHANNELS_MISSING, missing=missing)
    a = replace(a, channels=frozenset(Channel(c) for c in a.channels))
    published = max(a.published_at, now)
    _check_schedule(state, a.schedule, published)
    return [pe.PlanAnnounced(at=now, by=command.by, announcement=a, effective_published_at=published)]


def _change(state: PlanState, command: ChangeAnnouncement, now: int) -> list[PlanEvent]:
    if state.status is not PlanStatus.ANNOUNCED:
        raise _wrong_status(state, "only an announced plan whose reserve is not yet decided can change")
    assert state.schedule is not None
    if not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    _text(command.content, "content")
    if type(command.published_at) is not int:
        raise Rejected(Code.INVALID_FIELD, "published_at must be µs UTC", field="published_at")
    published = max(command.published_at, now)
    requested = command.schedule if command.schedule is not None else state.schedule
    if not isinstance(requested, Schedule) or type(requested.start_at) is not int:
        raise Rejected(Code.INVALID_TERMS, "schedule", field="schedule")
    # RULES 3.1 (P: Wuxi): a late change pushes every time back, so the start is
    # the full period after the change and the schedule keeps its shape.
    push = max(0, published + state.rules.min_announcement_period - requested.start_at)
    schedule = requested.shifted(push)
    _check_schedule(state, schedule, published)
    return [_recorded(pe.AnnouncementChanged, command, at=now, effective_published_at=published, requested=requested,
                      schedule=schedule, pushed_back_by=push)]


def _appraisal(state: PlanState, command: RecordAppraisal, now: int) -> list[PlanEvent]:
    if state.status is PlanStatus.RESERVE_SEALED:
        raise _wrong_status(state, "the reserve is already decided")
    a = command.appraisal
    for name in ("appraisal_id", "agency", "qualification_cert", "filing_no"):  # Q25
        value = getattr(a, name, None)
        if not isinstance(value, str) or not value.strip():
            raise Rejected(Code.Q25_APPRAISAL_INCOMPLETE, name, field=name)
    if state.appraisal(a.appraisal_id) is not None:
        raise Rejected(Code.INVALID_FIELD, "appraisal_id already recorded", field="appraisal_id")
    for name in ("unit_price_fen_per_m2", "total_price_fen"):
        if not is_valid_amount(getattr(a, name)):
            raise Rejected(Code.INVALID_FIELD, f"{name} must be a positive whole number of fen", field=name)
    if a.valid_until < a.valuation_date:
        raise Rejected(Code.INVALID_FIELD, "valid_until before valuation_date", field="valid_until")
    return [pe.AppraisalRecorded(at=now, by=command.by, appraisal=a)]


def _reserve(state: PlanState, command: DecideReserve, now: int) -> list[PlanEvent]:
    """Q25-Q28. Nothing said here (message or details) may contain the amount."""
    assert state.draft is not None and state.parcel is not None
    if state.status is not PlanStatus.ANNOUNCED:
        raise _wrong_status(state, "the reserve is decided for an announced plan, once")
    assert state.schedule is not None
    rules = state.rules
    members = _member_ids(command.members, "members")
    _text(command.appraisal_id, "appraisal_id")
    if not is_valid_amount(command.floor_price_fen_per_m2):
        raise Rejected(Code.INVALID_FIELD, "floor price: positive fen per m²", field="floor_price_fen_per_m2")
    if type(command.decided_at) is not int or command.decided_at > now:
        raise Rejected(Code.INVALID_FIELD, "决定时间不得晚于现在 / decided_at must not be in the future", field="decided_at")
    amount = command.amount
    if amount is None:
        if state.draft.method is not PlanMethod.AUCTION:  # Q28
            raise Rejected(Code.Q28_RESERVE_REQUIRED, state.draft.method.value, method=state.draft.method.value)
        if command.commitment is not None:
            raise Rejected(Code.INVALID_FIELD, "no reserve, so no commitment", field="commitment")
    else:
        if not is_valid_amount(amount):
            raise Rejected(Code.INVALID_FIELD, "amount must be a positive whole number of fen", field="amount")
        if not isinstance(command.commitment, str) or not COMMITMENT.fullmatch(command.commitment):
            raise Rejected(Code.INVALID_FIELD, "commitment: 64 lowercase hex characters", field="commitment")
    start = state.schedule.start_at
    opens = start - rules.reserve_window
    if not opens <= command.decided_at < start or now >= start:  # Q26
        raise Rejected(Code.Q26_OUTSIDE_RESERVE_WINDOW, window_opens_at=opens, start_at=start)
    if len(members) < rules.reserve_min_members:  # Q26: 集体确定
        raise Rejected(Code.Q26_TOO_FEW_MEMBERS, minimum=rules.reserve_min_members)
    if command.signatures_ok is not True:
        raise Rejected(Code.Q26_BAD_SIGNATURE)
    record = state.appraisal(command.appraisal_id)
    if record is None:  # Q25, Q27(一)
        raise Rejected(Code.Q25_NO_APPRAISAL, appraisal_id=command.appraisal_id)
    day = china_date(command.decided_at)
    if record.appraisal.valuation_date > day or record.at > command.decided_at:  # Q27(四)
        raise Rejected(Code.Q27_APPRAISAL_AFTER_DECISION, appraisal_id=command.appraisal_id)
    if record.appraisal.valid_until < day:  # Q27(二)
        raise Rejected(
            Code.Q27_APPRAISAL_EXPIRED,
            appraisal_id=command.appraisal_id,
            valid_until=record.appraisal.valid_until.isoformat(),
        )
    effective = amount if amount is not None else state.draft.start_price  # Q28
    if state.parcel.is_below_benchmark(effective):  # Q27(三)
        raise Rejected(Code.Q27_BELOW_BENCHMARK, minimum=state.parcel.benchmark_total_fen())
    # Never the amount (Q26): the event has no field for it, only whether there is one.
    commitment = command.commitment if amount is not None else None
    return [_recorded(pe.ReserveDecided, command, at=now, members=members, has_reserve=amount is not None,
                      commitment=commitment)]


# ---------------------------------------------------------------------------
# evolve


def evolve(state: PlanState, event: PlanEvent) -> PlanState:
    """The state after `event`. Total for every event `decide` can produce."""
    s = replace(state, version=state.version + 1, last_at=max(state.last_at, event.at))
    if isinstance(event, pe.PlanDrafted):
        return replace(s, draft=event)
    if isinstance(event, pe.PlanDraftEdited):
        assert s.draft is not None
        edited = {f.name: getattr(event, f.name) for f in fields(event) if f.name not in ("at", "by")}
        return replace(s, draft=replace(s.draft, **edited), edits=s.edits + (event,))
    if isinstance(event, pe.CommitteeMeetingRecorded):
        return replace(s, meetings=s.meetings + (event,))
    if isinstance(event, pe.GovernmentApprovalRecorded):
        return replace(s, approval=event)
    if isinstance(event, pe.PlanAnnounced):
        return replace(s, announced=event, schedule=event.announcement.schedule)
    if isinstance(event, pe.AnnouncementChanged):
        return replace(s, changes=s.changes + (event,), schedule=event.schedule)
    if isinstance(event, pe.AppraisalRecorded):
        return replace(s, appraisals=s.appraisals + (event,))
    if isinstance(event, pe.ReserveDecided):
        return replace(s, reserve=event)
    if isinstance(event, pe.PlanWithdrawn):
        return replace(s, withdrawn=event)
    raise TypeError(f"not a plan event: {event!r}")


def replay(events: list[PlanEvent]) -> PlanState:
    return event_log.replay(PlanState, evolve, events)


# ---------------------------------------------------------------------------
# for the shell


def decision_record(plan_id: str, command: DecideReserve) -> bytes:
    """The bytes each member signs for a reserve decision (Q26): canonical JSON
    (sorted keys, no spaces, UTF-8) of everything the event will hold, never the
    amount. The commitment binds the amount; the signatures bind the commitment."""
    record = {
        "plan_id": plan_id,
        "decided_at": command.decided_at,
        "members": list(command.members),
        "has_reserve": command.amount is not None,
        "commitment": command.commitment,
        "appraisal_id": command.appraisal_id,
        "floor_price_fen_per_m2": command.floor_price_fen_per_m2,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class SessionInputs:
    """What a trading session is created from: an announced plan's terms and schedule."""

    plan_id: str
    parcel_ref: str  # the parcel number (宗地编号)
    method: PlanMethod
    start_price: int
    increment: int
    deposit: int
    start_at: int
    listing_end_at: int | None
    registration_closes_at: int
    deposit_deadline: int
    reserve_required: bool  # listing and tender (Q28)
    reserve_decided: bool  # the Q26 decision is recorded
    has_reserve: bool | None  # None until decided
    reserve_commitment: str | None


def session_inputs(state: PlanState) -> SessionInputs:
    """The session's inputs from an announced plan (with the schedule after every change)."""
    if state.status not in (PlanStatus.ANNOUNCED, PlanStatus.RESERVE_SEALED):
        raise _wrong_status(state, "a session is created from an announced plan")
    draft, schedule = state.draft, state.schedule
    assert draft is not None and schedule is not None
    reserve = state.reserve
    return SessionInputs(
        plan_id=draft.plan_id,
        parcel_ref=draft.parcel.parcel_no,
        method=draft.method,
        start_price=draft.start_price,
        increment=draft.increment,
        deposit=draft.deposit,
        start_at=schedule.start_at,
        listing_end_at=schedule.listing_end_at,
        registration_closes_at=schedule.registration_closes_at,
        deposit_deadline=schedule.deposit_deadline,
        reserve_required=draft.method is not PlanMethod.AUCTION,
        reserve_decided=reserve is not None,
        has_reserve=None if reserve is None else reserve.has_reserve,
        reserve_commitment=None if reserve is None else reserve.commitment,
    )


def session_terms(
    state: PlanState, *, session_id: str, countdown: int, rules: SessionRules | None = None
) -> SessionTerms:
    """`SessionTerms` for the session engine, once the reserve is decided (Q26).

    Refused with `Q26_RESERVE_NOT_SEALED` before the decision (operators see
    why the session cannot start) and `TENDER_NOT_SUPPORTED` for a tender.
    Without `rules`, the session gets the plan's deposit and listing settings.
    """
    inputs = session_inputs(state)
    if inputs.method is PlanMethod.TENDER:
        raise Rejected(Code.TENDER_NOT_SUPPORTED)
    if not inputs.reserve_decided:
        raise Rejected(Code.Q26_RESERVE_NOT_SEALED, start_at=inputs.start_at)
    if rules is None:
        rules = SessionRules(
            min_listing_period=state.rules.min_listing_period,
            min_deposit_percent=state.rules.min_deposit_percent,
        )
    return terms_from_inputs(
        inputs, session_id=session_id, countdown=countdown, rules=rules,
        has_reserve=bool(inputs.has_reserve), reserve_commitment=inputs.reserve_commitment,
    )


def terms_from_inputs(
    inputs: SessionInputs,
    *,
    session_id: str,
    countdown: int,
    rules: SessionRules,
    has_reserve: bool = False,
    reserve_commitment: str | None = None,
    reserve_by_decision: bool = False,
) -> SessionTerms:
    """The session engine's terms from an announced plan's inputs (one place for both
    paths: a session created at the announcement, whose reserve the committee seals
    later with `reserve_by_decision`, and one created after the decision)."""
    return _recorded(SessionTerms, inputs, session_id=session_id, method=Method(inputs.method.value),
                     countdown=countdown, has_reserve=has_reserve, reserve_commitment=reserve_commitment, rules=rules,
                     reserve_by_decision=reserve_by_decision)
