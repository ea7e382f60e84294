"""Supply plans over HTTP (JSON, operator key): from a draft plan to a session with
a sealed reserve (RULES 1-3, Q22-Q31). Same conventions as the operator API:
times are ISO 8601 with an offset in, `+08:00` out; amounts are integer fen;
a refusal is `{"error": {"code", "message", "details"}}` and changes nothing.

Every command names `by`, the person acting. (The bearer key authenticates the
trading center's operator desk, not a person; `by` is what the log records.)

The reserve amount and the committee's salt arrive in one request body and go
no further than the plan service: no response, log line or row holds them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from auction.domain.china import iso_cst
from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount
from auction.domain.plan.parcels import Parcel
from auction.domain.plan.plan_commands import (
    Announce,
    ChangeAnnouncement,
    DraftPlan,
    EditDraft,
    RecordAppraisal,
    RecordCommitteeMeeting,
    RecordGovernmentApproval,
    WithdrawPlan,
)
from auction.adapters.protocol import storable_text
from auction.adapters.sealing.signatures import PUBLIC_KEY_BYTES, SALT, public_key
from auction.domain.plan.plan_events import event_to_dict, plan_event_type
from auction.domain.plan.plan_terms import Announcement, Appraisal, Channel, PlanMethod, Schedule
from auction.domain.plan.plans import PlanState
from auction.domain.plan.progress import SaleFacts, sale_progress
from auction.domain.bidding.terms import SECOND
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.inputs import calendar_day, instant
from auction.entrypoints.api.operator import _reason, session_view
from auction.entrypoints.api.routes import (
    BOOL, DATE, INT, OBJECT, TIME, Endpoint, RouteTable, Schema, Writer, get, obj, post, text
)
from auction.services.plans import PlanService, ReserveRequest
from auction.store.events import to_micros
from auction.store.plans import Member, RecordedPlanEvent

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
MEMBER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
HEX = re.compile(r"[0-9a-fA-F]*")
# Fields holding an instant (µs UTC in the log): shown as ISO 8601 in China time.
TIME_FIELDS = frozenset({
    "at", "held_at", "approved_at", "published_at", "effective_published_at", "decided_at",
    "start_at", "listing_end_at", "deposit_deadline", "registration_closes_at",
})
# Durations (µs in the log): shown with a `_us` suffix so nobody takes them for seconds.
DURATION_FIELDS = frozenset({
    "pushed_back_by", "min_announcement_period", "min_listing_period", "registration_lead", "reserve_window",
})


# ---------------------------------------------------------------------------
# reading a body


def _field(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise Rejected(Code.INVALID_FIELD, f"{name} is required", field=name)
    return body[name]


def _int(body: dict[str, Any], name: str) -> int:
    value = _field(body, name)
    if type(value) is not int:
        raise Rejected(Code.INVALID_FIELD, f"{name} must be a whole number", field=name)
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    return None if body.get(name) is None else _int(body, name)


def _time(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if value is None:
        raise Rejected(Code.INVALID_FIELD, f"{name}: ISO 8601 with a UTC offset, e.g. +08:00", field=name)
    return instant(value, name)


def _date(body: dict[str, Any], name: str) -> date:
    return calendar_day(_field(body, name), name)


def _ids(body: dict[str, Any], name: str) -> tuple[str, ...]:
    value = _field(body, name)
    if not isinstance(value, list) or not all(isinstance(v, str) and MEMBER_ID.fullmatch(v) for v in value):
        raise Rejected(Code.INVALID_FIELD, f"{name}: a list of member ids", field=name)
    return tuple(value)


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = _field(body, name)
    if not isinstance(value, dict):
        raise Rejected(Code.INVALID_FIELD, f"{name} must be an object", field=name)
    return value


def _all_storable(value: Any) -> bool:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return all(_all_storable(k) and _all_storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_storable(v) for v in value)
    return True


def _parcel(data: Any) -> Parcel:
    """A parcel from its JSON form (the `Parcel` field names); the engine judges the values."""
    bad = Rejected(Code.INVALID_PARCEL, "a parcel object with the Parcel fields", field="parcels")
    if not isinstance(data, dict) or not _all_storable(data):
        raise bad
    planning = data.get("planning", {})
    texts = [data.get("boundaries", ""), data.get("current_state", ""),
             planning.get("notes", "") if isinstance(planning, dict) else None]
    if not isinstance(planning, dict) or not isinstance(data.get("readiness"), dict) \
            or not all(isinstance(t, str) and len(t) <= 2000 for t in texts):
        raise bad
    try:
        return Parcel.from_dict(data)
    except (TypeError, KeyError, ValueError, AttributeError):
        raise bad from None


def _schedule(data: Any) -> Schedule:
    if not isinstance(data, dict):
        raise Rejected(Code.INVALID_FIELD, "schedule must be an object", field="schedule")
    start, end = _time(data, "start_at"), _time(data, "listing_end_at", required=False)
    deposit, registration = _time(data, "deposit_deadline"), _time(data, "registration_closes_at")
    assert start is not None and deposit is not None and registration is not None
    return Schedule(start_at=start, listing_end_at=end, deposit_deadline=deposit, registration_closes_at=registration)


def _channels(body: dict[str, Any]) -> frozenset[Channel]:
    value = _field(body, "channels")
    try:
        if not isinstance(value, list):
            raise ValueError
        return frozenset(Channel(c) for c in value)
    except ValueError:
        names = ", ".join(c.value for c in Channel)
        raise Rejected(Code.INVALID_FIELD, f"channels: a list of {names}", field="channels") from None


# ---------------------------------------------------------------------------
# showing a plan


def _shown(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in DURATION_FIELDS and type(v) is int:
                out[f"{k}_us"] = v
            else:
                out[k] = _shown(v, k)
        return out
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    if key in TIME_FIELDS and type(value) is int:
        return iso_cst(value)
    return value


def _iso(value: datetime | None) -> str | None:
    return iso_cst(to_micros(value)) if value is not None else None


def parcel_view(parcel: Parcel) -> dict[str, Any]:
    """A plan's parcel as `GET /api/plans/{id}` shows it (and the bidder page's announced facts)."""
    return parcel.to_dict() | {
        "land_use_name": parcel.land_use_name,
        "area_m2": parcel.area_m2,
        "area_hectares": parcel.area_hectares,
    }


def plan_view(state: PlanState, events: list[RecordedPlanEvent], session: dict[str, Any] | None,
              signed: dict[str, str]) -> dict[str, Any]:
    draft = state.draft
    assert draft is not None
    parcel = parcel_view(draft.parcel)
    reserve = state.reserve
    return {
        "plan_id": draft.plan_id,
        "status": state.status.value,
        "method": draft.method.value,
        "parcel": parcel,
        "start_price_fen": draft.start_price,
        "increment_fen": draft.increment,
        "deposit_fen": draft.deposit,
        "bidder_conditions": draft.bidder_conditions,
        "start_fen_per_floor_m2": draft.start_fen_per_floor_m2,  # None: the plan states totals
        "increment_fen_per_floor_m2": draft.increment_fen_per_floor_m2,
        "rules": _shown(draft.rules.to_dict()),
        "schedule": _shown(state.schedule.to_dict()) if state.schedule is not None else None,
        "appraisals": [_shown(r.appraisal.to_dict()) for r in state.appraisals],
        "reserve": None if reserve is None else {
            "has_reserve": reserve.has_reserve,
            "commitment": reserve.commitment,
            "decided_at": iso_cst(reserve.decided_at),
            "members": list(reserve.members),
            "appraisal_id": reserve.appraisal_id,
            "floor_price_fen_per_m2": reserve.floor_price_fen_per_m2,
            "signatures": signed,
        },
        "session": session,
        "version": state.version,
        "events": [
            {
                "seq": r.seq,
                "type": plan_event_type(r.event),
                "at": iso_cst(r.event.at),
                "by": r.event.by,
                "recorded_at": _iso(r.recorded_at),
                "data": _shown(event_to_dict(r.event)),
            }
            for r in events
        ],
    }


def plan_id_of(plan_id: str) -> str:
    """A plan id from a path; `NOT_FOUND` for what can never be one (no need to ask the database)."""
    if not ID.fullmatch(plan_id):
        raise Rejected(Code.NOT_FOUND, "no such plan")
    return plan_id


async def plan_document(plans: PlanService, plan_id: str) -> dict[str, Any]:
    """`GET /api/plans/{id}` and the console's plan page: the plan, its log, its session."""
    state = await plans.fresh_state(plan_id)
    events = await plans.store.load(plan_id)
    session = None
    session_id = await plans.store.session_of(plan_id)
    if session_id is not None:
        s = await plans.sessions.state(session_id)
        session = {"session_id": session_id, "phase": s.phase.value, "end_reason": s.end_reason}
    signed = {r["member_id"]: bytes(r["signature"]).hex() for r in await plans.store.signatures(plan_id)}
    progress = await progress_of(plans, [{"plan_id": plan_id, "status": state.status.value}])
    return plan_view(state, events, session, signed) | {"progress": progress[plan_id]}


async def plan_list(plans: PlanService) -> list[dict[str, Any]]:
    """`GET /api/plans` and the console's list: the newest 500, each with its `progress`."""
    rows = await plans.store.rows()
    progress = await progress_of(plans, rows)
    return [
        {"plan_id": r["plan_id"], "status": r["status"], "parcel_no": r["parcel_no"], "method": r["method"],
         "version": r["last_seq"], "session_id": r["session_id"], "created_at": _iso(r["created_at"]),
         "updated_at": _iso(r["updated_at"]), "progress": progress[r["plan_id"]]}
        for r in rows
    ]


async def progress_of(plans: PlanService, rows: list[Any]) -> dict[str, str]:
    """Each listed plan's `progress` (auction/domain/plan/progress.py), from its row's status."""
    facts = await plans.store.sale_facts([r["plan_id"] for r in rows])
    return {r["plan_id"]: sale_progress(r["status"], facts.get(r["plan_id"], SaleFacts())) for r in rows}


# ---------------------------------------------------------------------------
# a plan's steps, each read from its body


def _committee_meeting(body: dict[str, Any]) -> RecordCommitteeMeeting:
    """Q22: who attended and the secret ballot's tally, never who voted how."""
    chair_spoke_last = body.get("chair_spoke_last")
    if not isinstance(chair_spoke_last, bool):
        raise Rejected(Code.INVALID_FIELD, "chair_spoke_last: true or false", field="chair_spoke_last")
    return RecordCommitteeMeeting(
        by=text_field(body, "by", 100),
        held_at=_time(body, "held_at") or 0,
        chair=text_field(body, "chair", 64),
        members_present=_ids(body, "members_present"),
        yes=_int(body, "yes"),
        no=_int(body, "no"),
        abstain=_int(body, "abstain"),
        chair_spoke_last=chair_spoke_last,
    )


def _government_approval(body: dict[str, Any]) -> RecordGovernmentApproval:
    return RecordGovernmentApproval(
        by=text_field(body, "by", 100),
        approver=text_field(body, "approver", 200),
        document_no=text_field(body, "document_no", 200),
        approved_at=_time(body, "approved_at") or 0,
    )


def _announce(body: dict[str, Any]) -> Announce:
    """Q29 and N Art.9: the announcement with its schedule, on every channel."""
    return Announce(by=text_field(body, "by", 100), announcement=_announcement(body))


def _announcement(body: dict[str, Any]) -> Announcement:
    return Announcement(
        announcement_no=text_field(body, "announcement_no", 200),
        seller=text_field(body, "seller", 200),
        published_at=_time(body, "published_at") or 0,
        schedule=_schedule(_field(body, "schedule")),
        place_and_method=text_field(body, "place_and_method", 2000),
        application=text_field(body, "application", 4000),
        contacts=text_field(body, "contacts", 500),
        channels=_channels(body),
        other_matters=text_field(body, "other_matters", 4000, required=False),
        title=text_field(body, "title", 200, required=False),
    )


def _announcement_change(body: dict[str, Any]) -> ChangeAnnouncement:
    """A change (变更公告); a late one pushes the whole schedule back (RULES 3.1)."""
    schedule = body.get("schedule")
    return ChangeAnnouncement(
        by=text_field(body, "by", 100),
        published_at=_time(body, "published_at") or 0,
        reason=_reason(body),
        content=text_field(body, "content", 4000),
        schedule=_schedule(schedule) if schedule is not None else None,
    )


def _record_appraisal(body: dict[str, Any]) -> RecordAppraisal:
    """Q25: the land price appraisal report the reserve will rest on."""
    return RecordAppraisal(by=text_field(body, "by", 100), appraisal=_appraisal(body))


def _appraisal(body: dict[str, Any]) -> Appraisal:
    return Appraisal(
        appraisal_id=text_field(body, "appraisal_id", 64),
        agency=text_field(body, "agency", 200, required=False),
        qualification_cert=text_field(body, "qualification_cert", 200, required=False),
        filing_no=text_field(body, "filing_no", 200, required=False),
        valuation_date=_date(body, "valuation_date"),
        valid_until=_date(body, "valid_until"),
        unit_price_fen_per_m2=_int(body, "unit_price_fen_per_m2"),
        total_price_fen=_int(body, "total_price_fen"),
    )


def _draft_terms(body: dict[str, Any]) -> dict[str, Any]:
    """A draft's parcel and terms as `DraftPlan` and `EditDraft` name them (the body of
    `POST /api/plans` and of `POST /api/plans/{id}/draft`)."""
    if "parcels" in body:
        raw = body["parcels"]
        if not isinstance(raw, list):
            raise Rejected(Code.INVALID_FIELD, "parcels must be a list", field="parcels")
    else:
        raw = [_object(body, "parcel")]
    parcels = tuple(_parcel(p) for p in raw)
    try:
        method = PlanMethod(body.get("method"))
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, "method: LISTING, AUCTION or TENDER", field="method") from None
    return {
        "by": text_field(body, "by", 100),
        "parcels": parcels,
        "method": method,
        "start_price": _int(body, "start_price_fen"),
        "increment": _int(body, "increment_fen"),
        "deposit": _int(body, "deposit_fen"),
        "bidder_conditions": text_field(body, "bidder_conditions", 2000, required=False),
        # 元/建筑平方米 (in fen per m² of floor area): the totals are then derived (0 or absent: derive)
        "start_fen_per_floor_m2": _optional_int(body, "start_fen_per_floor_m2"),
        "increment_fen_per_floor_m2": _optional_int(body, "increment_fen_per_floor_m2"),
    }


def _edit_draft(body: dict[str, Any]) -> EditDraft:
    """The draft's whole new version (only while no committee has met)."""
    return EditDraft(**_draft_terms(body))


def _withdraw(body: dict[str, Any]) -> WithdrawPlan:
    return WithdrawPlan(by=text_field(body, "by", 100), reason=_reason(body))


# What GET /api/openapi.json says the plan steps' bodies hold (the readers above judge them).
DRAFT: Schema = obj("by", "method", "start_price_fen", "increment_fen", "deposit_fen",
                    by=text(100), plan_id=text(64), method={"enum": ["LISTING", "AUCTION", "TENDER"]},
                    parcel=OBJECT, parcels={"type": "array", "items": OBJECT}, start_price_fen=INT,
                    increment_fen=INT, deposit_fen=INT, bidder_conditions={"type": "string", "maxLength": 2000},
                    start_fen_per_floor_m2=INT, increment_fen_per_floor_m2=INT)
SCHEDULE: Schema = obj("start_at", "deposit_deadline", "registration_closes_at", start_at=TIME,
                       listing_end_at=TIME, deposit_deadline=TIME, registration_closes_at=TIME)


class PlansApi(RouteTable):
    def table(self) -> list[Endpoint]:
        return [
            post("/api/committee-members", self.register_member, "登记委员会成员 / Register a committee member's key",
                 status=201, body=obj("member_id", "name", "public_key_hex", member_id=text(64), name=text(),
                                      public_key_hex={"type": "string", "pattern": "^[0-9a-fA-F]{64}$"})),
            get("/api/committee-members", self.list_members, "委员会成员 / The committee members"),
            post("/api/plans", self.draft, "新建供应计划 / Draft a supply plan", status=201, body=DRAFT),
            get("/api/plans", self.list_plans, "供地方案 / The supply plans"),
            get("/api/plans/{plan_id}", self.get_plan, "供地方案 / A plan, its steps and log"),
            post("/api/plans/{plan_id}/draft", self._step(_edit_draft), "编辑草稿 / Replace the draft", body=DRAFT),
            post("/api/plans/{plan_id}/committee-meeting", self._step(_committee_meeting),
                 "集体决策 / The committee's meeting (Q22)", body=obj(
                     "by", "held_at", "chair", "members_present", "yes", "no", "abstain", "chair_spoke_last",
                     by=text(100), held_at=TIME, chair=text(64), members_present={"type": "array", "items": text(64)},
                     yes=INT, no=INT, abstain=INT, chair_spoke_last=BOOL)),
            post("/api/plans/{plan_id}/government-approval", self._step(_government_approval),
                 "政府批准 / The government's approval", body=obj(
                     "by", "approver", "document_no", "approved_at", by=text(100), approver=text(), document_no=text(),
                     approved_at=TIME)),
            post("/api/plans/{plan_id}/announce", self._step(_announce), "发布出让公告 / Announce (Q29)", body=obj(
                "by", "announcement_no", "seller", "published_at", "schedule", "place_and_method", "application",
                "contacts", "channels", by=text(100), announcement_no=text(), seller=text(), published_at=TIME,
                schedule=SCHEDULE, place_and_method=text(2000), application=text(4000), contacts=text(500),
                channels={"type": "array", "items": {"type": "string"}}, other_matters={"type": "string"},
                title={"type": "string", "maxLength": 200})),
            post("/api/plans/{plan_id}/announcement-change", self._step(_announcement_change),
                 "变更公告 / A change notice (RULES 3.1)", body=obj(
                     "by", "published_at", "reason", "content", by=text(100), published_at=TIME, reason=text(500),
                     content=text(4000), schedule=SCHEDULE)),
            post("/api/plans/{plan_id}/appraisal", self._step(_record_appraisal), "地价评估 / The appraisal (Q25)",
                 body=obj("by", "appraisal_id", "valuation_date", "valid_until", "unit_price_fen_per_m2",
                          "total_price_fen", by=text(100), appraisal_id=text(64), agency=text(), valuation_date=DATE,
                          valid_until=DATE, unit_price_fen_per_m2=INT, total_price_fen=INT)),
            post("/api/plans/{plan_id}/withdraw", self._step(_withdraw), "撤回 / Withdraw the plan",
                 body=obj("by", "reason", by=text(100), reason=text(500))),
            post("/api/plans/{plan_id}/session", self.create_session, "创建交易场次 / The plan's trading session",
                 body=obj(countdown_seconds=INT)),
            post("/api/plans/{plan_id}/reserve", self.reserve, "底价集体决策 / Seal the reserve (Q26)", body=obj(
                "by", "decided_at", "members", "appraisal_id", "floor_price_fen_per_m2", "amount_fen", "salt",
                "signatures", by=text(100), decided_at=TIME, members={"type": "array", "items": text(64)},
                appraisal_id=text(64), floor_price_fen_per_m2=INT, amount_fen=INT, salt={"type": "string"},
                signatures=OBJECT)),
        ]

    @staticmethod
    def _plan_id(request: Request) -> str:
        return plan_id_of(request.path_params["plan_id"])

    @staticmethod
    def _plans(request: Request) -> PlanService:
        service: PlanService = request.state.plans
        return service

    def _step(self, command: Callable[[dict[str, Any]], Any]) -> Writer:
        """A plan step: its command read from the body, run on the plan, the plan shown."""
        async def run(request: Request, body: dict[str, Any]) -> Any:
            step = command(body)
            plan_id = self._plan_id(request)
            await self._plans(request).execute(plan_id, step)
            return await plan_document(self._plans(request), plan_id)

        return run

    # committee members

    async def register_member(self, request: Request, body: dict[str, Any]) -> Any:
        """Register a member's Ed25519 public key (made by `auction committee keygen`)."""
        member_id = body.get("member_id")
        if not isinstance(member_id, str) or not MEMBER_ID.fullmatch(member_id):
            raise Rejected(Code.INVALID_FIELD, "member_id: 1-64 letters, digits, _ . @ -", field="member_id")
        name = text_field(body, "name", 200)
        key_hex = body.get("public_key_hex")
        try:
            if not isinstance(key_hex, str) or len(key_hex) != 2 * PUBLIC_KEY_BYTES or not HEX.fullmatch(key_hex):
                raise ValueError
            raw = bytes.fromhex(key_hex)
            public_key(raw)
        except ValueError:
            raise Rejected(Code.INVALID_FIELD, "public_key_hex: the 32-byte Ed25519 public key in hex "
                           "(printed by `auction committee keygen`)", field="public_key_hex") from None
        return self._member(await self._plans(request).store.register_member(member_id, name, raw))

    @staticmethod
    def _member(m: Member) -> dict[str, Any]:
        return {"member_id": m.member_id, "name": m.name, "public_key_hex": m.public_key.hex(),
                "registered_at": _iso(m.registered_at)}

    async def list_members(self, request: Request) -> Any:
        return [self._member(m) for m in await self._plans(request).store.members()]

    # plans

    async def draft(self, request: Request, body: dict[str, Any]) -> Any:
        plan_id = body.get("plan_id") or f"P-{uuid.uuid4().hex[:12].upper()}"
        if not isinstance(plan_id, str) or not ID.fullmatch(plan_id):
            raise Rejected(Code.INVALID_FIELD, "plan_id: 1-48 letters, digits, _ . -", field="plan_id")
        command = DraftPlan(plan_id=plan_id, **_draft_terms(body))
        try:
            await self._plans(request).draft(command)
        except Rejected as r:
            if r.code is Code.PLAN_EXISTS:
                return JSONResponse({"error": r.rejection.to_dict()}, status_code=409)
            raise
        return await plan_document(self._plans(request), plan_id)

    async def list_plans(self, request: Request) -> Any:
        return await plan_list(self._plans(request))

    async def get_plan(self, request: Request) -> Any:
        return await plan_document(self._plans(request), self._plan_id(request))

    async def create_session(self, request: Request, body: dict[str, Any]) -> Any:
        """The trading session of an announced plan (201), or the one already created (200)."""
        plan_id = self._plan_id(request)
        if (await self._plans(request).fresh_state(plan_id)).method is PlanMethod.TENDER:
            # A tender plan becomes a tender (RULES 6.1); that API imports this module.
            from auction.entrypoints.api.tenders import create_tender
            return await create_tender(request, plan_id, body)
        countdown = body.get("countdown_seconds", 300)  # RULES 4.5/5.2 default 5 min
        if type(countdown) is not int or not 1 <= countdown <= 3600:
            raise Rejected(Code.INVALID_FIELD, "countdown_seconds must be 1..3600", field="countdown_seconds")
        link = await self._plans(request).create_session(plan_id, countdown * SECOND)
        view = session_view(link.state) | {"plan_id": plan_id, "created": link.created}
        return JSONResponse(view, status_code=201 if link.created else 200)

    async def reserve(self, request: Request, body: dict[str, Any]) -> Any:
        """Q26: the committee's reserve decision, signed by each member, sealed to the escrow key."""
        plan_id = self._plan_id(request)
        amount = _field(body, "amount_fen")
        if amount is not None and not is_valid_amount(amount):
            # The value is never echoed, not even when it is refused.
            raise Rejected(Code.INVALID_FIELD, "amount_fen: a positive whole number of fen, or null for "
                           "an auction without a reserve", field="amount_fen")
        salt = body.get("salt")
        if amount is not None and (not isinstance(salt, str) or not SALT.fullmatch(salt)):
            raise Rejected(Code.INVALID_FIELD, "salt: 32 to 128 lowercase hex digits "
                           "(`auction committee sign --new-salt`)", field="salt")
        given = _object(body, "signatures")
        signed: list[tuple[str, bytes]] = []
        for member_id, value in given.items():
            if not isinstance(value, str):
                raise Rejected(Code.INVALID_FIELD, "signatures: {member_id: hex}", field="signatures")
            try:
                signed.append((member_id, bytes.fromhex(value)))
            except ValueError:
                signed.append((member_id, b""))  # does not verify: Q26_BAD_SIGNATURE names the member
        request_ = ReserveRequest(
            by=text_field(body, "by", 100),
            amount=amount,
            salt=salt if amount is not None else None,
            decided_at=_time(body, "decided_at") or 0,
            members=_ids(body, "members"),
            appraisal_id=text_field(body, "appraisal_id", 64),
            floor_price_fen_per_m2=_int(body, "floor_price_fen_per_m2"),
            signatures=tuple(signed),
        )
        # into the plan's session, or its tender (RULES 6.1, services/tender/service.py)
        await request.state.tenders.decide_reserve(plan_id, request_)
        return await plan_document(self._plans(request), plan_id)
