"""Supply plan events: what happened, append-only.

Every event carries `at` (µs UTC, when the server recorded it) and `by` (the
operator or member id the shell authenticated). No event ever holds how a
member voted (Q22) or the reserve amount (Q26): see `ReserveDecided`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from auction.domain.event_log import EventTypes

from auction.domain.plan.parcels import Parcel
from auction.domain.plan.plan_terms import Announcement, Appraisal, PlanMethod, PlanRules, Schedule


@dataclass(frozen=True)
class DraftFacts:
    """What a draft says of its parcel and terms: drafted first, then replaced in full by an edit."""

    at: int
    by: str
    parcel: Parcel
    method: PlanMethod
    start_price: int  # fen
    increment: int  # fen
    deposit: int  # fen
    bidder_conditions: str
    # The unit prices per m² of floor area the totals were derived from (floor_price.py); None: the
    # plan stated totals. Left out of stored payloads while None.
    start_fen_per_floor_m2: int | None = field(default=None, kw_only=True)
    increment_fen_per_floor_m2: int | None = field(default=None, kw_only=True)


FLOOR_PRICE_FIELDS = ("start_fen_per_floor_m2", "increment_fen_per_floor_m2")


@dataclass(frozen=True)
class PlanDrafted(DraftFacts):
    plan_id: str
    rules: PlanRules


@dataclass(frozen=True)
class PlanDraftEdited(DraftFacts):
    """The draft's parcel and terms replaced in full (only before the committee meets);
    the plan id, its rules and who drafted it stay as they were."""


@dataclass(frozen=True)
class CommitteeMeetingRecorded:
    at: int
    by: str
    held_at: int
    chair: str
    members_present: tuple[str, ...]
    yes: int
    no: int
    abstain: int
    chair_spoke_last: bool
    passed: bool  # yes x denominator >= present x numerator (Q22: 2/3以上, the bound included)


@dataclass(frozen=True)
class GovernmentApprovalRecorded:
    at: int
    by: str
    approver: str
    document_no: str
    approved_at: int


@dataclass(frozen=True)
class PlanAnnounced:
    at: int
    by: str
    announcement: Announcement
    effective_published_at: int  # max(published_at, at): the 20 days count from here (Q29)


@dataclass(frozen=True)
class AnnouncementChanged:
    at: int
    by: str
    published_at: int
    effective_published_at: int  # max(published_at, at)
    reason: str
    content: str
    requested: Schedule  # the schedule the change asked for (or the one in force)
    schedule: Schedule  # the schedule in force after it
    pushed_back_by: int  # µs the start was moved back to keep 20 days (RULES 3.1); 0 if none


@dataclass(frozen=True)
class AppraisalRecorded:
    at: int
    by: str
    appraisal: Appraisal


@dataclass(frozen=True)
class ReserveDecided:
    """Q26: the collective decision, archived. The amount is NOT here: only whether
    there is a reserve and the commitment the shell computed over the sealed value."""

    at: int
    by: str
    decided_at: int
    members: tuple[str, ...]
    has_reserve: bool  # False: an auction without a reserve (Q28)
    commitment: str | None  # SHA-256 hex over amount and salt; None without a reserve
    appraisal_id: str
    floor_price_fen_per_m2: int


@dataclass(frozen=True)
class PlanWithdrawn:
    at: int
    by: str
    reason: str


PlanEvent = (
    PlanDrafted
    | PlanDraftEdited
    | CommitteeMeetingRecorded
    | GovernmentApprovalRecorded
    | PlanAnnounced
    | AnnouncementChanged
    | AppraisalRecorded
    | ReserveDecided
    | PlanWithdrawn
)

# Each event's type name (what the log stores) -> its class, from the union above.
TYPES: EventTypes[PlanEvent] = EventTypes(PlanEvent, kind="plan event")
PLAN_EVENT_TYPES = TYPES.by_name
plan_event_type = TYPES.name


def event_to_dict(event: PlanEvent) -> dict[str, Any]:
    """Plain JSON-ready fields (without the type name)."""
    if isinstance(event, DraftFacts):
        data = asdict(event) | {"parcel": event.parcel.to_dict(), "method": event.method.value}
        for name in FLOOR_PRICE_FIELDS:
            if data[name] is None:
                del data[name]
        if isinstance(event, PlanDrafted):
            data["rules"] = event.rules.to_dict()
        return data
    if isinstance(event, CommitteeMeetingRecorded):
        return asdict(event) | {"members_present": list(event.members_present)}
    if isinstance(event, PlanAnnounced):
        return asdict(event) | {"announcement": event.announcement.to_dict()}
    if isinstance(event, AnnouncementChanged):
        return asdict(event) | {"requested": event.requested.to_dict(), "schedule": event.schedule.to_dict()}
    if isinstance(event, AppraisalRecorded):
        return asdict(event) | {"appraisal": event.appraisal.to_dict()}
    if isinstance(event, ReserveDecided):
        return asdict(event) | {"members": list(event.members)}
    return asdict(event)


def event_from_dict(type_name: str, data: dict[str, Any]) -> PlanEvent:
    """The inverse of `event_to_dict`. Unknown fields are ignored (a field added later)."""
    cls, values = TYPES.stored(type_name, data)
    if cls is PlanDrafted or cls is PlanDraftEdited:
        values["parcel"] = Parcel.from_dict(data["parcel"])
        values["method"] = PlanMethod(data["method"])
    if cls is PlanDrafted:
        values["rules"] = PlanRules.from_dict(data["rules"])
    elif cls is CommitteeMeetingRecorded:
        values["members_present"] = tuple(data["members_present"])
    elif cls is PlanAnnounced:
        values["announcement"] = Announcement.from_dict(data["announcement"])
    elif cls is AnnouncementChanged:
        values["requested"] = Schedule.from_dict(data["requested"])
        values["schedule"] = Schedule.from_dict(data["schedule"])
    elif cls is AppraisalRecorded:
        values["appraisal"] = Appraisal.from_dict(data["appraisal"])
    elif cls is ReserveDecided:
        values["members"] = tuple(data["members"])
    event: PlanEvent = cls(**values)
    return event
