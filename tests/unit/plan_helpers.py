"""Builders for the supply plan engine's unit tests.

One story, in µs UTC: the plan is drafted at T0, the committee meets a day
later, the government approves the next day, the announcement goes out at PUB
and bidding starts 21 days after it, at 09:00 Beijing time. Every call passes
`now`; no test patches a clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from auction.domain.codes import Rejection
from auction.domain.money import percent_ceil
from auction.domain.plan.parcels import ConditionsCategory, Parcel, PlanningConditions, Readiness
from auction.domain.plan.plan_commands import (
    Announce, DecideReserve, DraftPlan, EditDraft, PlanCommand, RecordAppraisal, RecordCommitteeMeeting,
    RecordGovernmentApproval,
)
from auction.domain.plan.plan_events import PlanEvent
from auction.domain.plan.plan_terms import Announcement, Appraisal, Channel, PlanMethod, Schedule
from auction.domain.plan.plans import PlanState, decide, evolve, replay
from auction.domain.bidding.session import reserve_commitment
from auction.domain.bidding.terms import DAY, HOUR, MINUTE, SECOND

from .driving import decide_then_evolve, refusal

__all__ = ["DAY", "HOUR", "MINUTE", "SECOND"]

WAN = 1_000_000  # fen in 1 万元

AREA = 2_000_000  # 0.01 m²: 20,000 m² = 2 公顷
BENCHMARK = 200_000  # fen/m² (2,000 元/m²): the parcel's benchmark total is 4,000 万元
BENCHMARK_TOTAL = BENCHMARK * AREA // 100
START_PRICE = 5_000 * WAN
INCREMENT = 10 * WAN
DEPOSIT = percent_ceil(START_PRICE, 20)
# A reserve no other number in a plan's log happens to equal.
RESERVE = 5_600 * WAN + 12_345
SALT = "5be0c1d2e3f40718"
COMMITMENT = reserve_commitment(RESERVE, SALT)
FLOOR_PRICE = 450_000  # fen/m² of floor area (区域楼面地价)

T0 = int(datetime(2026, 3, 2, 1, 0, tzinfo=UTC).timestamp()) * SECOND  # 09:00 Beijing
MEETING_AT = T0 + DAY
APPROVED_AT = T0 + 2 * DAY
PUB = T0 + 3 * DAY
START = PUB + 21 * DAY  # 2026-03-26 01:00 UTC, 09:00 Beijing
LISTING_END = START + 10 * DAY
DECIDED_AT = START - 30 * MINUTE
APPRAISAL_RECORDED_AT = APPROVED_AT + 2 * HOUR

MEMBERS = tuple(f"m{i}" for i in range(1, 10))  # nine members present
RESERVE_MEMBERS = ("m1", "m2", "m3")


def parcel(**overrides: Any) -> Parcel:
    base = Parcel(
        parcel_no="QJ-2026-07",
        location="曲靖市麒麟区珠江源大道以东",
        area_m2_hundredths=AREA,
        land_use="0701",
        term_years=70,
        plot_ratio_min=100,
        plot_ratio_max=250,
        benchmark_fen_per_m2=BENCHMARK,
        readiness=Readiness.all_true(),
        planning=PlanningConditions(
            building_density_max_bp=3000, green_ratio_min_bp=3500, height_limit_cm=8000, notes="退让道路红线10米"
        ),
        conditions_category=ConditionsCategory.NONE,
        boundaries="东至规划路，南至寥廓路，西至现状用地，北至规划绿地",
        current_state="净地",
    )
    return replace(base, **overrides)


def draft(method: PlanMethod = PlanMethod.LISTING, **overrides: Any) -> DraftPlan:
    values: dict[str, Any] = {
        "by": "op-li",
        "plan_id": "GD-2026-007",
        "parcels": (parcel(),),
        "method": method,
        "start_price": START_PRICE,
        "increment": INCREMENT,
        "deposit": DEPOSIT,
        "bidder_conditions": "",
    }
    values.update(overrides)
    return DraftPlan(**values)


def edit(**overrides: Any) -> EditDraft:
    """The draft's terms as `draft()` has them, with `overrides` (the whole new version)."""
    values = {f: v for f, v in vars(draft()).items() if f not in ("plan_id", "rules")} | {"by": "op-wang"}
    values.update(overrides)
    return EditDraft(**values)


def meeting(present: int = 9, yes: int = 6, **overrides: Any) -> RecordCommitteeMeeting:
    members = tuple(f"m{i}" for i in range(1, present + 1))
    values: dict[str, Any] = {
        "by": "op-li",
        "held_at": MEETING_AT,
        "chair": "m1",
        "members_present": members,
        "yes": yes,
        "no": present - yes,
        "abstain": 0,
        "chair_spoke_last": True,
    }
    values.update(overrides)
    return RecordCommitteeMeeting(**values)


def approval(**overrides: Any) -> RecordGovernmentApproval:
    values: dict[str, Any] = {
        "by": "op-li",
        "approver": "曲靖市人民政府",
        "document_no": "曲政复〔2026〕12号",
        "approved_at": APPROVED_AT,
    }
    values.update(overrides)
    return RecordGovernmentApproval(**values)


def listing_schedule(start: int = START, **overrides: Any) -> Schedule:
    end = start + 10 * DAY
    base = Schedule(
        start_at=start,
        listing_end_at=end,
        deposit_deadline=end - 2 * DAY - HOUR,
        registration_closes_at=end - 2 * DAY,
    )
    return replace(base, **overrides)


def auction_schedule(start: int = START, **overrides: Any) -> Schedule:
    base = Schedule(
        start_at=start,
        listing_end_at=None,
        deposit_deadline=start - DAY - HOUR,
        registration_closes_at=start - DAY,
    )
    return replace(base, **overrides)


def schedule_for(method: PlanMethod, start: int = START) -> Schedule:
    return listing_schedule(start) if method is PlanMethod.LISTING else auction_schedule(start)


def announcement(schedule: Schedule, published_at: int = PUB, **overrides: Any) -> Announcement:
    base = Announcement(
        announcement_no="曲公资土告〔2026〕7号",
        seller="曲靖市自然资源和规划局",
        published_at=published_at,
        schedule=schedule,
        place_and_method="曲靖中心城市国有建设用地使用权网上交易系统，网上挂牌",
        application="中华人民共和国境内的法人、自然人和其他组织均可申请，竞买保证金到账后取得竞买资格",
        contacts="曲靖市公共资源交易中心 0874-0000000",
        channels=frozenset(Channel),
        other_matters="",
    )
    return replace(base, **overrides)


def appraisal(**overrides: Any) -> Appraisal:
    base = Appraisal(
        appraisal_id="AP-1",
        agency="云南某土地房地产评估有限公司",
        qualification_cert="土估资A2026001",
        filing_no="5301262026000123",
        valuation_date=date(2026, 3, 1),
        valid_until=date(2026, 9, 1),
        unit_price_fen_per_m2=280_000,
        total_price_fen=5_600 * WAN,
    )
    return replace(base, **overrides)


def reserve(amount: int | None = RESERVE, **overrides: Any) -> DecideReserve:
    values: dict[str, Any] = {
        "by": "m1",
        "amount": amount,
        "commitment": COMMITMENT if amount is not None else None,
        "decided_at": DECIDED_AT,
        "members": RESERVE_MEMBERS,
        "appraisal_id": "AP-1",
        "floor_price_fen_per_m2": FLOOR_PRICE,
        "signatures_ok": True,
    }
    values.update(overrides)
    return DecideReserve(**values)


def run(state: PlanState, cmd: PlanCommand, now: int) -> tuple[PlanState, list[PlanEvent]]:
    return decide_then_evolve(decide, evolve, state, cmd, now)


def rejection(state: PlanState, cmd: PlanCommand, now: int) -> Rejection:
    """The refusal `cmd` gets; also checks that the refusal left the state as it was."""
    return refusal(decide, state, cmd, now)


class PlanRecorder:
    """A plan driven command by command, keeping its log; after every accepted
    command the log must replay to the live state."""

    def __init__(self) -> None:
        self.state = PlanState()
        self.log: list[PlanEvent] = []

    def do(self, cmd: PlanCommand, now: int) -> list[PlanEvent]:
        self.state, events = run(self.state, cmd, now)
        self.log.extend(events)
        assert replay(self.log) == self.state
        return events

    def reject(self, cmd: PlanCommand, now: int) -> Rejection:
        return rejection(self.state, cmd, now)


def drafted(method: PlanMethod = PlanMethod.LISTING, **overrides: Any) -> PlanRecorder:
    plan = PlanRecorder()
    plan.do(draft(method, **overrides), T0)
    return plan


def approved(method: PlanMethod = PlanMethod.LISTING, **overrides: Any) -> PlanRecorder:
    plan = drafted(method, **overrides)
    plan.do(meeting(), MEETING_AT + HOUR)
    plan.do(approval(), APPROVED_AT + HOUR)
    return plan


def announced(method: PlanMethod = PlanMethod.LISTING, start: int = START, **overrides: Any) -> PlanRecorder:
    plan = approved(method, **overrides)
    plan.do(RecordAppraisal(by="op-wang", appraisal=appraisal()), APPRAISAL_RECORDED_AT)
    plan.do(Announce(by="op-li", announcement=announcement(schedule_for(method, start))), PUB)
    return plan


def sealed(method: PlanMethod = PlanMethod.LISTING, amount: int | None = RESERVE) -> PlanRecorder:
    plan = announced(method)
    plan.do(reserve(amount), START - 20 * MINUTE)
    return plan
