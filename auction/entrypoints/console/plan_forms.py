"""The console's supply plan forms: what each form holds, how its typed values
become the plan's commands, and where a refusal is shown.

People type 万元, m², 元/m², percentages, metres and China Standard Time; the
commands hold fen, 0.01 m², basis points, centimetres and µs UTC (the same
commands the operator API builds, so the services judge both alike). Parsing
only reads the typed values; every rule is the engine's (auction/domain/plan/plans.py).

A refusal names a form field when its code or its `details.field` points at one
(`FIELDS`, `RENAMED`); otherwise it is shown at the top of the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from auction.domain.china import to_cst
from auction.domain.codes import Code, Rejected, Rejection
from auction.domain.plan import parcels
from auction.domain.plan import plan_commands as pc
from auction.domain.money import wan_number
from auction.domain.plan.plan_events import PlanDrafted
from auction.domain.plan.plan_terms import Announcement, Appraisal, Channel, PlanMethod, Schedule
from auction.domain.plan.plans import PlanState
from auction.domain.bidding.terms import DAY, HOUR
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.inputs import calendar_day, instant
from auction.entrypoints.api.plans import ID, MEMBER_ID
from auction.entrypoints.console.people import CATEGORY_LABELS
from auction.entrypoints.console.views import local_input, parse_cst, parse_wan, reason_of

SCHEDULE_FIELDS = ("start_at", "listing_end_at", "deposit_deadline", "registration_closes_at")

# Domain names in `details.field` -> the form's field.
RENAMED = {
    "area_m2_hundredths": "area_m2", "benchmark_fen_per_m2": "benchmark_yuan_per_m2",
    "building_density_max_bp": "building_density_pct", "green_ratio_min_bp": "green_ratio_pct",
    "height_limit_cm": "height_limit_m", "notes": "planning_notes", "start_price": "start_price_wan",
    "increment": "increment_wan", "deposit": "deposit_wan", "unit_price_fen_per_m2": "unit_price_yuan_per_m2",
    "total_price_fen": "total_price_wan", "schedule": "start_at", "members_present": "members_present",
    "start_fen_per_floor_m2": "start_yuan_per_floor_m2", "increment_fen_per_floor_m2": "increment_yuan_per_floor_m2",
    "floor_area_m2_hundredths": "floor_area_m2",
}

_ARTICLE = re.compile(r"^(Q|N)(\d+)_")


def article(code: Code) -> str | None:
    """The article a code cites: 'Q31', 'N Art.18' (docs/rules.md's marks), or None."""
    found = _ARTICLE.match(code.value)
    if found is None:
        return None
    return f"Q{found.group(2)}" if found.group(1) == "Q" else f"N Art.{found.group(2)}"


@dataclass(frozen=True)
class Step:
    """One form of the plan's steps."""

    name: str  # the path segment: /console/plans/{id}/{name}
    title: str
    template: str
    action: str  # the audit record's action name
    fields: tuple[str, ...]  # every field the form has, for mapping refusals
    codes: dict[Code, str]  # codes that always concern one field


def _fields(*names: str) -> tuple[str, ...]:
    return names


DRAFT = Step(
    "new", "新建供应计划 / New supply plan", "plan_draft.html", "PLAN_DRAFT",
    _fields("plan_id", "method", "start_price_wan", "increment_wan", "deposit_wan", "bidder_conditions",
            "start_yuan_per_floor_m2", "increment_yuan_per_floor_m2", "floor_area_m2",
            "parcel_no", "location", "area_m2", "land_use", "term_years", "plot_ratio_min", "plot_ratio_max",
            "benchmark_yuan_per_m2", "conditions_category", "boundaries", "current_state", "building_density_pct",
            "green_ratio_pct", "height_limit_m", "planning_notes", "readiness"),
    {Code.Q31_DEPOSIT_BELOW_20_PERCENT: "deposit_wan", Code.Q23_PARCEL_NOT_READY: "readiness",
     Code.Q24_CONDITIONS_NOT_ALLOWED: "bidder_conditions", Code.PLAN_EXISTS: "plan_id"},
)
EDIT = Step(
    "edit", "修改供地方案 / Edit the draft plan", "plan_edit.html", "PLAN_EDIT_DRAFT",
    tuple(f for f in DRAFT.fields if f != "plan_id"),
    {code: name for code, name in DRAFT.codes.items() if code is not Code.PLAN_EXISTS},
)
COMMITTEE = Step(
    "committee", "委员会审议 / Committee meeting (Q22)", "plan_committee.html", "PLAN_COMMITTEE_MEETING",
    _fields("held_at", "chair", "members_present", "yes", "no", "abstain", "chair_spoke_last"),
    {Code.Q22_TALLY_MISMATCH: "yes", Code.Q22_CHAIR_NOT_LAST: "chair_spoke_last",
     Code.Q27_PROCEDURE_INVERTED: "held_at"},
)
APPROVAL = Step(
    "approval", "政府批准 / Government approval (Q22)", "plan_approval.html", "PLAN_GOVERNMENT_APPROVAL",
    _fields("approver", "document_no", "approved_at"),
    {Code.Q27_PROCEDURE_INVERTED: "approved_at"},
)
APPRAISAL = Step(
    "appraisal", "估价报告 / Appraisal report (Q25)", "plan_appraisal.html", "PLAN_APPRAISAL",
    _fields("appraisal_id", "agency", "qualification_cert", "filing_no", "valuation_date", "valid_until",
            "unit_price_yuan_per_m2", "total_price_wan"),
    {},
)
ANNOUNCE = Step(
    "announce", "出让公告 / Announcement (Q29)", "plan_announce.html", "PLAN_ANNOUNCE",
    _fields("announcement_no", "title", "seller", "published_at", *SCHEDULE_FIELDS, "place_and_method", "application",
            "contacts", "other_matters", "channels"),
    {Code.Q29_ANNOUNCEMENT_TOO_SHORT: "start_at", Code.Q29_CHANNELS_MISSING: "channels",
     Code.N18_LISTING_PERIOD_TOO_SHORT: "listing_end_at"},
)
CHANGE = Step(
    "change", "变更公告 / Change notice (RULES 3.1)", "plan_change.html", "PLAN_ANNOUNCEMENT_CHANGE",
    _fields("published_at", "reason", "content", "change_schedule", *SCHEDULE_FIELDS),
    {Code.REASON_REQUIRED: "reason", Code.Q29_ANNOUNCEMENT_TOO_SHORT: "start_at",
     Code.N18_LISTING_PERIOD_TOO_SHORT: "listing_end_at"},
)
SESSION = Step(
    "session", "创建交易场次 / Create the trading session", "plan_session.html", "PLAN_CREATE_SESSION",
    _fields("countdown_seconds"), {},
)
TENDER = Step(  # a tender plan's next step instead of the session (RULES 6.1)
    "tender", "创建招标 / Create the tender", "plan_tender.html", "PLAN_CREATE_TENDER",
    _fields("evaluation", "bid_deadline", "opening_at", "price_weight", "criteria"), {},
)
STEPS = {s.name: s for s in (EDIT, COMMITTEE, APPROVAL, APPRAISAL, ANNOUNCE, CHANGE, SESSION, TENDER)}


@dataclass(frozen=True)
class Shown:
    """A refusal as a form shows it: Chinese message, code, article."""

    code: str
    message: str
    article: str | None
    details: dict[str, Any]


def shown(rejection: Rejection) -> Shown:
    return Shown(rejection.code.value, rejection.message, article(rejection.code), rejection.details)


def errors_beside(rejection: Rejection, fields: tuple[str, ...]) -> dict[str, Shown]:
    """A refusal shown beside the field it names when the form has that field, else at the top ("form")."""
    target = rejection.details.get("field")
    return {str(target) if target in fields else "form": shown(rejection)}


def field_of(step: Step, rejection: Rejection) -> str | None:
    """The form field a refusal concerns, or None (shown at the top)."""
    if rejection.code in step.codes:
        return step.codes[rejection.code]
    name = rejection.details.get("field")
    if not isinstance(name, str):
        return None
    name = RENAMED.get(name, name)
    if name.startswith("readiness"):
        name = "readiness"
    return name if name in step.fields else None


# ---------------------------------------------------------------------------
# reading typed values


def _text(form: dict[str, str], name: str, max_len: int = 200, required: bool = True) -> str:
    return text_field(form, name, max_len, required=required)


def _instant(form: dict[str, str], name: str, required: bool = True) -> int | None:
    iso = parse_cst(form, name, required=required)
    return None if iso is None else instant(iso, name)


def _at(form: dict[str, str], name: str) -> int:
    value = _instant(form, name)
    assert value is not None
    return value


def _whole(form: dict[str, str], name: str, required: bool = True) -> int | None:
    text = form.get(name, "").strip()
    if not text and not required:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise Rejected(Code.INVALID_FIELD, f"{name}: 整数 / a whole number", field=name)
    return int(text)


def _count(form: dict[str, str], name: str) -> int:
    value = _whole(form, name)
    assert value is not None
    return value


def _hundredths(form: dict[str, str], name: str, required: bool = True) -> int | None:
    """A decimal with at most two places (m², 元, %, m) as hundredths."""
    text = form.get(name, "").strip().replace(",", "")
    if not text and not required:
        return None
    try:
        return parcels.parse_hundredths(text)
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, f"{name}: 最多两位小数 / at most two decimals", field=name) from None


def _amount(form: dict[str, str], name: str) -> int:
    fen = parse_wan(form, name)
    assert fen is not None
    return fen


def _priced(form: dict[str, str], total: str, unit: str) -> tuple[int, int | None]:
    """A price the plan states as a total in 万元, or per m² of floor area in 元 (元/建筑平方米,
    two decimals: whole fen), or both: (total fen, 0 when the unit price alone is given; unit fen or None).
    The engine derives the total from the unit price exactly, or refuses a total that disagrees."""
    unit_fen = _hundredths(form, unit, required=False)
    if unit_fen is None:
        return _amount(form, total), None
    return parse_wan(form, total, required=False) or 0, unit_fen


def _choice(form: dict[str, str], name: str, allowed: set[str]) -> str:
    value = form.get(name, "")
    if value not in allowed:
        raise Rejected(Code.INVALID_FIELD, f"{name}: 请选择 / choose one", field=name)
    return value


def _draft_terms(form: dict[str, str], by: str) -> dict[str, Any]:
    """The parcel and terms the draft form holds, as `DraftPlan` and `EditDraft` name them."""
    parcel = parcels.Parcel(
        parcel_no=_text(form, "parcel_no", 100),
        location=_text(form, "location", 500),
        area_m2_hundredths=_hundredths(form, "area_m2") or 0,
        land_use=_choice(form, "land_use", set(parcels.LAND_USES)),
        term_years=_count(form, "term_years"),
        plot_ratio_min=_hundredths(form, "plot_ratio_min", required=False),
        plot_ratio_max=_hundredths(form, "plot_ratio_max", required=False),
        benchmark_fen_per_m2=_hundredths(form, "benchmark_yuan_per_m2") or 0,
        readiness=parcels.Readiness(
            **{name: form.get(f"readiness_{name}") == "yes" for name in parcels.READINESS_LABELS}),
        planning=parcels.PlanningConditions(
            building_density_max_bp=_hundredths(form, "building_density_pct", required=False),
            green_ratio_min_bp=_hundredths(form, "green_ratio_pct", required=False),
            height_limit_cm=_hundredths(form, "height_limit_m", required=False),
            notes=_text(form, "planning_notes", 2000, required=False),
        ),
        conditions_category=parcels.ConditionsCategory(
            _choice(form, "conditions_category", {c.value for c in parcels.ConditionsCategory})),
        boundaries=_text(form, "boundaries", 2000, required=False),
        current_state=_text(form, "current_state", 2000, required=False),
        floor_area_m2_hundredths=_hundredths(form, "floor_area_m2", required=False),
    )
    start_price, start_unit = _priced(form, "start_price_wan", "start_yuan_per_floor_m2")
    increment, increment_unit = _priced(form, "increment_wan", "increment_yuan_per_floor_m2")
    return {
        "by": by, "parcels": (parcel,), "method": PlanMethod(_choice(form, "method", {m.value for m in PlanMethod})),
        "start_price": start_price, "increment": increment, "deposit": _amount(form, "deposit_wan"),
        "bidder_conditions": _text(form, "bidder_conditions", 2000, required=False),
        "start_fen_per_floor_m2": start_unit, "increment_fen_per_floor_m2": increment_unit,
    }


def draft_command(form: dict[str, str], by: str) -> pc.DraftPlan:
    plan_id = form.get("plan_id", "").strip()
    if not ID.fullmatch(plan_id):
        raise Rejected(Code.INVALID_FIELD, "plan_id: 1-48 letters, digits, _ . -", field="plan_id")
    return pc.DraftPlan(plan_id=plan_id, **_draft_terms(form, by))


def edit_command(form: dict[str, str], by: str) -> pc.EditDraft:
    return pc.EditDraft(**_draft_terms(form, by))


def draft_values(draft: PlanDrafted) -> dict[str, str]:
    """The draft form's values for a plan as it stands (the inverse of `_draft_terms`):
    what the edit form starts with."""
    p, planning = draft.parcel, draft.parcel.planning

    def decimal(value: int | None) -> str:
        return "" if value is None else parcels.format_hundredths(value)

    return {
        "method": draft.method.value, "start_price_wan": wan_number(draft.start_price),
        "increment_wan": wan_number(draft.increment), "deposit_wan": wan_number(draft.deposit),
        "bidder_conditions": draft.bidder_conditions, "parcel_no": p.parcel_no, "location": p.location,
        "area_m2": decimal(p.area_m2_hundredths), "land_use": p.land_use, "term_years": str(p.term_years),
        "plot_ratio_min": decimal(p.plot_ratio_min), "plot_ratio_max": decimal(p.plot_ratio_max),
        "benchmark_yuan_per_m2": decimal(p.benchmark_fen_per_m2), "boundaries": p.boundaries,
        "current_state": p.current_state, "building_density_pct": decimal(planning.building_density_max_bp),
        "green_ratio_pct": decimal(planning.green_ratio_min_bp), "height_limit_m": decimal(planning.height_limit_cm),
        "planning_notes": planning.notes, "conditions_category": p.conditions_category.value,
        "floor_area_m2": decimal(p.floor_area_m2_hundredths),
        "start_yuan_per_floor_m2": decimal(draft.start_fen_per_floor_m2),
        "increment_yuan_per_floor_m2": decimal(draft.increment_fen_per_floor_m2),
        **{f"readiness_{name}": "yes" for name in parcels.READINESS_LABELS if getattr(p.readiness, name) is True},
    }


def _members(form: dict[str, str], name: str) -> tuple[str, ...]:
    ids = tuple(v for v in re.split(r"[\s,，、;；]+", form.get(name, "")) if v)
    if not ids or not all(MEMBER_ID.fullmatch(v) for v in ids):
        raise Rejected(Code.INVALID_FIELD, f"{name}: 成员编号，逗号或换行分隔 / member ids, comma or line separated",
                       field=name)
    return ids


def committee_command(form: dict[str, str], by: str) -> pc.RecordCommitteeMeeting:
    return pc.RecordCommitteeMeeting(
        by=by, held_at=_at(form, "held_at"), chair=_text(form, "chair", 64),
        members_present=_members(form, "members_present"),
        yes=_count(form, "yes"), no=_count(form, "no"), abstain=_count(form, "abstain"),
        chair_spoke_last=form.get("chair_spoke_last") == "yes",
    )


def approval_command(form: dict[str, str], by: str) -> pc.RecordGovernmentApproval:
    return pc.RecordGovernmentApproval(by=by, approver=_text(form, "approver"), document_no=_text(form, "document_no"),
                                    approved_at=_at(form, "approved_at"))


def appraisal_command(form: dict[str, str], by: str) -> pc.RecordAppraisal:
    return pc.RecordAppraisal(by=by, appraisal=Appraisal(
        appraisal_id=_text(form, "appraisal_id", 64),
        agency=_text(form, "agency", required=False),
        qualification_cert=_text(form, "qualification_cert", required=False),
        filing_no=_text(form, "filing_no", required=False),
        valuation_date=calendar_day(form.get("valuation_date", ""), "valuation_date"),
        valid_until=calendar_day(form.get("valid_until", ""), "valid_until"),
        unit_price_fen_per_m2=_hundredths(form, "unit_price_yuan_per_m2") or 0,
        total_price_fen=_amount(form, "total_price_wan"),
    ))


def _schedule(form: dict[str, str], method: PlanMethod | None) -> Schedule:
    return Schedule(
        start_at=_at(form, "start_at"),
        listing_end_at=_instant(form, "listing_end_at") if method is PlanMethod.LISTING else None,
        deposit_deadline=_at(form, "deposit_deadline"),
        registration_closes_at=_at(form, "registration_closes_at"),
    )


def announce_command(form: dict[str, str], by: str, state: PlanState) -> pc.Announce:
    return pc.Announce(by=by, announcement=Announcement(
        announcement_no=_text(form, "announcement_no"),
        seller=_text(form, "seller"),
        published_at=_at(form, "published_at"),
        schedule=_schedule(form, state.method),
        place_and_method=_text(form, "place_and_method", 2000),
        application=_text(form, "application", 4000),
        contacts=_text(form, "contacts", 500),
        channels=frozenset(c for c in Channel if form.get(f"channel_{c.value}") == "yes"),
        other_matters=_text(form, "other_matters", 4000, required=False),
        title=_text(form, "title", required=False),
    ))


def change_command(form: dict[str, str], by: str, state: PlanState) -> pc.ChangeAnnouncement:
    return pc.ChangeAnnouncement(
        by=by, published_at=_at(form, "published_at"), reason=reason_of(form),
        content=_text(form, "content", 4000),
        schedule=_schedule(form, state.method) if form.get("change_schedule") == "yes" else None,
    )


def countdown_of(form: dict[str, str]) -> int:
    """Seconds of the session's countdown (RULES 4.5, 5.2; default 5 minutes)."""
    seconds = _whole(form, "countdown_seconds", required=False)
    if seconds is None:
        return 300
    if not 1 <= seconds <= 3600:
        raise Rejected(Code.INVALID_FIELD, "countdown_seconds: 1..3600", field="countdown_seconds")
    return seconds


def _criteria(form: dict[str, str]) -> list[dict[str, Any]]:
    """The scored criteria, one a line: `key 名称 权重` (e.g. `scheme 开发建设方案 40`)."""
    out: list[dict[str, Any]] = []
    for line in form.get("criteria", "").splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3 or not parts[-1].isascii() or not parts[-1].isdigit() or len(parts[-1]) > 3:
            raise Rejected(Code.INVALID_FIELD, f"criteria: 每行“代码 名称 权重” / one a line, 'key name weight': "
                                               f"{line.strip()[:60]}", field="criteria")
        out.append({"key": parts[0], "name": " ".join(parts[1:-1]), "weight": int(parts[-1])})
    return out


def tender_body(form: dict[str, str]) -> dict[str, Any]:
    """The tender form as the body of `POST /api/plans/{id}/tender`, for the API's own reading
    (`tender_request`) and the same service call: times typed in CST, the reserve left to the
    committee (Q26, the reserve page)."""
    return {
        "evaluation": form.get("evaluation", ""),
        "bid_deadline": parse_cst(form, "bid_deadline"), "opening_at": parse_cst(form, "opening_at"),
        "price_weight": _whole(form, "price_weight", required=False) or 0, "criteria": _criteria(form),
    }


def command_of(step: Step, form: dict[str, str], by: str, state: PlanState) -> pc.PlanCommand:
    if step is EDIT:
        return edit_command(form, by)
    if step is COMMITTEE:
        return committee_command(form, by)
    if step is APPROVAL:
        return approval_command(form, by)
    if step is APPRAISAL:
        return appraisal_command(form, by)
    if step is ANNOUNCE:
        return announce_command(form, by, state)
    if step is CHANGE:
        return change_command(form, by, state)
    raise ValueError(step.name)


# ---------------------------------------------------------------------------
# what a new form shows


def _schedule_values(schedule: Schedule) -> dict[str, str]:
    return {name: local_input(getattr(schedule, name)) if getattr(schedule, name) is not None else ""
            for name in SCHEDULE_FIELDS}


def defaults(step: Step, state: PlanState, now: int) -> dict[str, str]:
    """The values a freshly drawn form starts with (the operator changes what differs)."""
    stamp = local_input(now)  # whole seconds: not before a step recorded earlier (Q27(五))
    if step is DRAFT:
        return {"term_years": "", "conditions_category": parcels.ConditionsCategory.NONE.value, "method": "LISTING"}
    if step is EDIT:  # (a plan past its draft: the engine will say so when it is sent)
        return draft_values(state.draft) if state.draft is not None else {}
    if step is COMMITTEE:
        return {"held_at": stamp, "abstain": "0"}
    if step is APPROVAL:
        return {"approved_at": stamp}
    if step is APPRAISAL:
        today = to_cst(now).date()
        return {"appraisal_id": f"AP-{len(state.appraisals) + 1}", "valuation_date": today.isoformat(),
                "valid_until": (today + timedelta(days=180)).isoformat()}
    if step is ANNOUNCE:
        rules = state.rules
        midnight = now - (now + 8 * HOUR) % DAY  # the CST day's start
        start = midnight + rules.min_announcement_period + 2 * DAY + 10 * HOUR
        listing = state.method is PlanMethod.LISTING
        end = start + rules.min_listing_period if listing else None
        closes = (end - rules.registration_lead - 7 * HOUR if end is not None else start - HOUR)
        values = _schedule_values(Schedule(start, end, closes - HOUR, closes))
        return values | {"published_at": stamp, **{f"channel_{c.value}": "yes" for c in Channel}}
    if step is CHANGE:  # (a plan not announced yet: the engine will say so when it is sent)
        return {"published_at": stamp, **(_schedule_values(state.schedule) if state.schedule is not None else {})}
    if step is SESSION:
        return {"countdown_seconds": "300"}
    if step is TENDER:  # bids open at the plan's start; the deadline and the opening a listing period on
        start = state.schedule.start_at if state.schedule is not None else now
        deadline = local_input(start + state.rules.min_listing_period)
        return {"evaluation": "HIGHEST_PRICE", "bid_deadline": deadline, "opening_at": deadline}
    return {}

