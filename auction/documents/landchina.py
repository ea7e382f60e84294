"""The documents Q29 publishes, generated from the records (never typed twice): the
transfer announcement (出让公告), its changes (变更公告), the supply result (结果公示 /
供地结果), and the result of a session that sold nothing (结果公示（未成交）).

Pure functions, no I/O: a plan's state (and, for the result, the close and what
the operator enters from paper: the 电子监管号, the contract's dates) in, a JSON-
ready document out. `to_xml` is the same document as XML. The schema is
docs/publication.md.

Units are those of the China Land Market website, exact: 面积 in 公顷 as a decimal
of up to six places (0.01 m² exactly) beside the square metres; prices in 万元 as a
decimal of up to six places (the fen exactly) beside the fen. Times are ISO 8601
in China time (+08:00).

Confidentiality (RULES 3.5, Q26): the announcement is built from the draft and the
announcement only; it never reads bidders or the reserve. The result names the
winner (土地使用权人) and the price, and is only built from a close.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from typing import Any

from auction.domain.china import china_date, iso_cst_seconds
from auction.domain.codes import Code, Rejected
from auction.domain.money import format_wan, is_valid_amount, wan_number
from auction.domain.divisions import CODE as REGION_CODE
from auction.domain.divisions import Divisions
from auction.domain.plan.floor_price import floor_area, floor_area_text, yuan_text
from auction.domain.plan.limits import plain, range_text
from auction.domain.plan.parcels import Parcel, format_basis_points, format_hundredths, to_hectares, to_square_metres
from auction.domain.plan.plan_events import PlanDrafted
from auction.domain.plan.plan_terms import Announcement, PlanMethod, Schedule
from auction.domain.plan.plans import PlanState
from auction.domain.plan.supervision import check_supervision_region, parse_supervision_no

SCHEMA = "qj-land-publication/1"
ANNOUNCEMENT = "ANNOUNCEMENT"
CHANGE = "ANNOUNCEMENT_CHANGE"  # 变更公告: a change to a published announcement (RULES 3.1)
RESULT = "RESULT"
UNSOLD = "RESULT_UNSOLD"  # 结果公示（未成交）: no sale (流拍) or terminated (终止), RULES 8.3
# 结果公示（更新）: the result again, whole, with facts recorded after the deal (实际开工时间 ...):
# auction/documents/result_update.py. `RES-{plan_id}-{version}`, version 2, 3, ...
UPDATE = "RESULT_UPDATE"

SUPPLY_METHODS = {  # 供地方式, as the China Land Market website names them
    PlanMethod.TENDER: "招标出让",
    PlanMethod.AUCTION: "拍卖出让",
    PlanMethod.LISTING: "挂牌出让",
}
ANNOUNCEMENT_TYPES = {method: f"{name}公告" for method, name in SUPPLY_METHODS.items()}  # 公告类型: 挂牌出让公告
INDUSTRY_CODE = re.compile(r"[A-T]([0-9]{2}([0-9]{1,2})?)?")  # 行业分类 (GB/T 4754): K, K72, C3011
LAND_GRADE_CODE = re.compile(r"dj[1-9][0-9]?")  # 土地级别 as the site codes it: dj1 一级
LAND_SOURCES = ("新增建设用地", "现有建设用地", "新增建设用地(来自存量库)")  # 土地来源
# 电子监管号: its structure and checks are auction/domain/plan/supervision.py.

# Field labels, in the order the site shows them. Keys are the JSON/XML names.
# The schedule's, where an announcement and a change show it:
SCHEDULE_LABELS: dict[str, str] = {
    "listing_start_at": "挂牌开始时间",
    "listing_end_at": "挂牌截止时间",
    "auction_start_at": "拍卖开始时间",
    "registration_closes_at": "竞买申请截止时间",
    "deposit_deadline": "缴纳竞买保证金截止时间",
    "qualification_confirmed_by": "确认竞买资格时间",
}
ANNOUNCEMENT_LABELS: dict[str, str] = {
    "announcement_title": "公告标题",
    "announcement_type": "公告类型",
    "announcement_no": "公告编号",
    "seller": "出让人",
    "supply_method": "出让方式",
    "parcel_no": "宗地编号",
    "location": "宗地坐落",
    "boundaries": "四至",
    "current_state": "现状土地条件",
    "area_hectares": "宗地总面积(公顷)",
    "area_m2": "宗地总面积(平方米)",
    "land_use_code": "主要用途代码",
    "land_use_name": "主要用途",
    "term_years": "出让年限(年)",
    "plot_ratio_min": "容积率下限",
    "plot_ratio_max": "容积率上限",
    "building_density_max": "建筑密度(上限)",
    "green_ratio_min": "绿化率(下限)",
    "height_limit_m": "建筑限高(米)",
    # The same limits in the site's words, open or closed ends (limits.py): 大于1并且小于或等于2.2
    "plot_ratio": "容积率",
    "building_density": "建筑密度(%)",
    "green_ratio": "绿化率(%)",
    "height_limit": "建筑限高(米)范围",
    "investment_intensity_wan": "投资强度(万元/公顷)",
    "remarks": "备注",
    # Prices per floor area (floor_price.py): the floor area the totals come from and each unit
    # price beside its total; empty when the plan states totals.
    "floor_area_m2": "建筑面积(平方米)",
    "start_price_wan": "起始价(万元)",
    "start_price_fen": "起始价(分)",
    "start_price_yuan_per_floor_m2": "起始价(元/建筑平方米)",
    "increment_wan": "加价幅度(万元)",
    "increment_fen": "加价幅度(分)",
    "increment_yuan_per_floor_m2": "加价幅度(元/建筑平方米)",
    "deposit_wan": "保证金(万元)",
    "deposit_fen": "保证金(分)",
    "appraisal_filing_no": "估价报告备案号",
    **SCHEDULE_LABELS,
    "place_and_method": "出让地点和方式",
    "application": "竞买申请",
    "bidder_conditions": "竞买条件",
    "contacts": "联系方式",
    "other_matters": "其他事项",
    # The trading center's transparency key (docs/protocol.md section 9): published with the
    # announcement, so whoever kept it can check every tree head signed later.
    "transparency_key_id": "交易系统透明日志公钥标识",
    "transparency_public_key": "交易系统透明日志公钥(Ed25519)",
}

CHANGE_LABELS: dict[str, str] = {
    "announcement_no": "原公告编号",
    "change_no": "变更次序",
    "parcel_no": "宗地编号",
    "location": "宗地坐落",
    "supply_method": "出让方式",
    "reason": "变更原因",
    "content": "变更内容",
    **SCHEDULE_LABELS,
    "pushed_back_days": "开始时间顺延(日)",
    "contacts": "联系方式",
}

UNSOLD_LABELS: dict[str, str] = {
    "announcement_no": "原公告编号",
    "parcel_no": "宗地编号",
    "location": "宗地坐落",
    "supply_method": "出让方式",
    "outcome": "交易结果",
    "reason": "原因",
    "ended_at": "结束时间",
    "start_price_wan": "起始价(万元)",
    "start_price_fen": "起始价(分)",
}

# The China Land Market website's 供地结果信息 page: its labels, in its order, and the result's
# keys that carry them (docs/publication.md, "Site fields"). Fields of the page the result does
# not carry are listed there with the reason.
SITE_RESULT_FIELDS: dict[str, str] = {
    "行政区": "region_name",
    "电子监管号": "supervision_no",
    "项目名称": "project_name",
    "项目位置": "project_location",
    "面积(公顷)": "area_hectares",
    "土地来源": "land_source",
    "土地用途": "land_use_name",
    "供地方式": "supply_method",
    "土地使用年限": "term_years",
    "行业分类": "industry",
    "土地级别": "land_grade",
    "成交价格(万元)": "price_wan",
    "土地使用权人": "holder",
    "约定容积率下限": "plot_ratio_min",
    "约定容积率上限": "plot_ratio_max",
    "约定交地时间": "delivery_date",
    "约定开工时间": "construction_start_date",
    "约定竣工时间": "completion_date",
    "实际开工时间": "actual_start_date",  # empty until recorded after the deal (result_update.py)
    "实际竣工时间": "actual_completion_date",
    "批准单位": "approver",
    "合同签订日期": "contract_date",
}
SITE_INSTALLMENT_FIELDS = {"支付期号": "period", "约定支付日期": "due_date", "约定支付金额(万元)": "amount_wan",
                           "备注": "note"}

# Why a session did not sell, in the words of a notice: a close's reason (流拍), a
# termination by the engine (终止), and the Q42 default (成交取消).
CLOSE_REASONS = {
    "NO_BIDS": "无人报价，流拍",
    "BELOW_RESERVE": "最高报价未达底价，流拍",
}
TERMINATION_REASONS = {
    "TOO_FEW_QUALIFIED_BIDDERS": "取得竞买资格的竞买人不足，交易终止",
}
WITHDRAWN_PREFIX = ("PLAN_WITHDRAWN: ", "出让计划撤回：")
CONTRACT_DEFAULT_REASON = "竞得人未在规定期限内签订出让合同，成交结果取消，保证金不予退还（第四十二条）"

RESULT_LABELS: dict[str, str] = {
    "region_name": "行政区",  # the site shows the name (顺德区, 崇左市本级) ...
    "region_code": "行政区划代码",  # ... and carries the code behind it
    "supervision_no": "电子监管号",
    "project_name": "项目名称",
    "project_location": "项目位置",
    "parcel_no": "宗地编号",
    "area_hectares": "面积(公顷)",
    "area_m2": "面积(平方米)",
    "land_source": "土地来源",
    "land_use_code": "土地用途代码",
    "land_use_name": "土地用途",
    "supply_method": "供地方式",
    "term_years": "土地使用年限(年)",
    "industry": "行业分类",
    "industry_code": "行业分类代码",
    "land_grade": "土地级别",
    "land_grade_code": "土地级别代码",
    "price_wan": "成交价格(万元)",
    "price_fen": "成交价格(分)",
    "installments": "分期支付约定",
    "holder": "土地使用权人",
    "plot_ratio_min": "约定容积率下限",
    "plot_ratio_max": "约定容积率上限",
    "delivery_date": "约定交地时间",
    "construction_start_date": "约定开工时间",
    "completion_date": "约定竣工时间",
    # Known only after the deal (empty until recorded; a RESULT_UPDATE carries them):
    "actual_start_date": "实际开工时间",
    "actual_completion_date": "实际竣工时间",
    "approver": "批准单位",
    "contract_date": "合同签订日期",
    "deal_at": "成交时间",
}


def document_id(kind: str, plan_id: str, change_no: int | None = None) -> str:
    if kind == CHANGE:
        return f"CHG-{plan_id}-{change_no}"
    if kind == UPDATE:  # the result's version `change_no` (2, 3, ...): a new id, so delivered anew
        return f"RES-{plan_id}-{change_no}"
    return f"{'ANN' if kind == ANNOUNCEMENT else 'RES'}-{plan_id}"  # one result per plan, sold or not


def labels_of(kind: str) -> dict[str, str]:
    return {ANNOUNCEMENT: ANNOUNCEMENT_LABELS, CHANGE: CHANGE_LABELS, UNSOLD: UNSOLD_LABELS}.get(kind, RESULT_LABELS)


@dataclass(frozen=True)
class NoSale:
    """How a plan's session ended without a sale, from its log (and the Q42 default)."""

    session_id: str
    ended_at: int  # µs UTC
    outcome: str  # 流拍, 终止 or 成交取消
    reason: str  # in the notice's words (see `no_sale_reason`)


def no_sale_reason(code_or_text: str, *, terminated: bool) -> str:
    """A close's or a termination's reason as a notice words it; an operator's own
    words stay as they are (a withdrawn plan's prefix is put in Chinese)."""
    if not terminated:
        return CLOSE_REASONS.get(code_or_text, code_or_text)
    if code_or_text.startswith(WITHDRAWN_PREFIX[0]):
        return WITHDRAWN_PREFIX[1] + code_or_text[len(WITHDRAWN_PREFIX[0]):]
    return TERMINATION_REASONS.get(code_or_text, code_or_text)


def unsold_document(state: PlanState, no_sale: NoSale, *, region_code: str, published_at: int,
                    unified_deal_code: str | None = None) -> dict[str, Any]:
    """结果公示（未成交）: the parcel did not sell (流拍), its session was terminated (终止),
    or the winner did not sign in time (成交取消, Q42). Neither bids nor bidders nor the
    reserve: only that it ended, when and why."""
    draft, announced = state.draft, state.announced
    if draft is None or announced is None:
        raise Rejected(Code.PLAN_WRONG_STATUS, "the plan has not been announced", status=state.status.value)
    fields: dict[str, Any] = {
        "announcement_no": announced.announcement.announcement_no,
        "parcel_no": draft.parcel.parcel_no,
        "location": draft.parcel.location,
        "supply_method": SUPPLY_METHODS[draft.method],
        "outcome": no_sale.outcome,
        "reason": no_sale.reason,
        "ended_at": iso_cst_seconds(no_sale.ended_at),
        "start_price_wan": wan_number(draft.start_price),
        "start_price_fen": str(draft.start_price),
    }
    document = _envelope(UNSOLD, state, unified_deal_code or offering_code(state, region_code), published_at, fields)
    document["session_id"] = no_sale.session_id
    return site_order(document)


def unified_deal_code(region_code: str, plan_id: str) -> str:
    """统一交易编码 for the trading platform: the region and the plan, stable across documents."""
    return f"{region_code}-TD-{plan_id}"


def offering_code(state: PlanState, region_code: str) -> str:
    """The 统一交易编码 of the plan's offering: the parcel's own 行政区 when the plan states one,
    else the seller's (`region_code`). The announcement fixes it; the change notices and the
    result carry the announcement's (`unified_deal_code=`), whatever the operator enters later."""
    assert state.draft is not None
    return unified_deal_code(state.draft.parcel.region_code or region_code, state.draft.plan_id)


def _envelope(kind: str, state: PlanState, code: str, published_at: int, fields: dict[str, Any],
              change_no: int | None = None) -> dict[str, Any]:
    assert state.draft is not None
    return {
        "schema": SCHEMA,
        "document_id": document_id(kind, state.draft.plan_id, change_no),
        "kind": kind,
        "plan_id": state.draft.plan_id,
        "parcel_no": state.draft.parcel.parcel_no,
        "unified_deal_code": code,
        "published_at": iso_cst_seconds(published_at),
        "fields": fields,
    }


def _optional(value: int | None, show: Any) -> str:
    return "" if value is None else str(show(value))


def planning_words(parcel: Parcel) -> dict[str, str]:
    """The planning limits as the site's announcements write them, ends open or closed."""
    p = parcel.planning

    def words(low_name: str, low: int | None, high_name: str, high: int | None) -> str:
        return range_text(low, high, places=2, low_open=low_name in p.open_bounds,
                          high_open=high_name in p.open_bounds)

    return {
        "plot_ratio": words("plot_ratio_min", parcel.plot_ratio_min, "plot_ratio_max", parcel.plot_ratio_max),
        "building_density": words("building_density_min_bp", p.building_density_min_bp, "building_density_max_bp",
                                  p.building_density_max_bp),
        "green_ratio": words("green_ratio_min_bp", p.green_ratio_min_bp, "green_ratio_max_bp", p.green_ratio_max_bp),
        "height_limit": words("height_min_cm", p.height_min_cm, "height_limit_cm", p.height_limit_cm),
        "investment_intensity_wan": "" if p.investment_fen_per_hectare is None else plain(
            p.investment_fen_per_hectare, 6),
        "remarks": p.notes,
    }


def announcement_heading(announcement: Announcement, method: PlanMethod) -> dict[str, str]:
    """公告标题 and 公告类型: the operator's title, else `{出让人}国有建设用地使用权{挂牌出让}公告`;
    the type from the method (挂牌出让公告, 拍卖出让公告, 招标出让公告)."""
    kind = ANNOUNCEMENT_TYPES[method]
    return {"announcement_title": announcement.title or f"{announcement.seller}国有建设用地使用权{kind}",
            "announcement_type": kind}


def floor_prices(draft: PlanDrafted) -> dict[str, str]:
    """起始价 and 加价幅度, each total (万元, fen) with its unit price per floor area beside it when the
    plan states one (元/建筑平方米), and the floor area they come from; the parcel's stated 建筑面积
    shows even with totals."""
    per_floor = draft.start_fen_per_floor_m2 is not None or draft.increment_fen_per_floor_m2 is not None
    area = floor_area(draft.parcel) if per_floor or draft.parcel.floor_area_m2_hundredths is not None else None
    return {
        "floor_area_m2": "" if area is None else floor_area_text(area),
        "start_price_wan": wan_number(draft.start_price),
        "start_price_fen": str(draft.start_price),
        "start_price_yuan_per_floor_m2": _optional(draft.start_fen_per_floor_m2, yuan_text),
        "increment_wan": wan_number(draft.increment),
        "increment_fen": str(draft.increment),
        "increment_yuan_per_floor_m2": _optional(draft.increment_fen_per_floor_m2, yuan_text),
    }


@dataclass(frozen=True)
class CenterPublicKey:
    """The public half of the trading center's transparency key: its id and the raw Ed25519 key in hex."""

    key_id: str
    public_key_hex: str


def announcement_document(state: PlanState, *, region_code: str,
                          transparency_key: CenterPublicKey | None = None) -> dict[str, Any]:
    """出让公告 of an announced plan. Reads the draft, the announcement, the schedule in
    force and the appraisals: nothing about bidders or the reserve exists in these.
    `transparency_key` is the key that will sign the session's tree heads (empty without one)."""
    draft, announced, schedule = state.draft, state.announced, state.schedule
    if draft is None or announced is None or schedule is None:
        raise Rejected(Code.PLAN_WRONG_STATUS, "the plan has not been announced", status=state.status.value)
    parcel, a = draft.parcel, announced.announcement
    listing = draft.method is PlanMethod.LISTING
    fields: dict[str, Any] = {
        **announcement_heading(a, draft.method),
        "announcement_no": a.announcement_no,
        "seller": a.seller,
        "supply_method": SUPPLY_METHODS[draft.method],
        "parcel_no": parcel.parcel_no,
        "location": parcel.location,
        "boundaries": parcel.boundaries,
        "current_state": parcel.current_state,
        "area_hectares": to_hectares(parcel.area_m2_hundredths),
        "area_m2": to_square_metres(parcel.area_m2_hundredths),
        "land_use_code": parcel.land_use,
        "land_use_name": parcel.land_use_name,
        "term_years": parcel.term_text,
        "plot_ratio_min": _optional(parcel.plot_ratio_min, format_hundredths),
        "plot_ratio_max": _optional(parcel.plot_ratio_max, format_hundredths),
        "building_density_max": _optional(parcel.planning.building_density_max_bp, format_basis_points),
        "green_ratio_min": _optional(parcel.planning.green_ratio_min_bp, format_basis_points),
        "height_limit_m": _optional(parcel.planning.height_limit_cm, format_hundredths),
        **planning_words(parcel),
        **floor_prices(draft),
        "deposit_wan": wan_number(draft.deposit),
        "deposit_fen": str(draft.deposit),
        "appraisal_filing_no": state.appraisals[-1].appraisal.filing_no if state.appraisals else "",
        **_schedule_fields(schedule, listing),
        "place_and_method": a.place_and_method,
        "application": a.application,
        "bidder_conditions": draft.bidder_conditions,
        "contacts": a.contacts,
        "other_matters": a.other_matters,
        "transparency_key_id": transparency_key.key_id if transparency_key else "",
        "transparency_public_key": transparency_key.public_key_hex if transparency_key else "",
    }
    return _envelope(ANNOUNCEMENT, state, offering_code(state, region_code), announced.effective_published_at, fields)


def _schedule_fields(schedule: Schedule, listing: bool) -> dict[str, str]:
    """The schedule as the announcement and its change notice both state it, in the site's order."""
    return {
        "listing_start_at": iso_cst_seconds(schedule.start_at) if listing else "",
        "listing_end_at": iso_cst_seconds(schedule.listing_end_at) if listing and schedule.listing_end_at else "",
        "auction_start_at": "" if listing else iso_cst_seconds(schedule.start_at),
        "registration_closes_at": iso_cst_seconds(schedule.registration_closes_at),
        "deposit_deadline": iso_cst_seconds(schedule.deposit_deadline),
        # RULES 3.4: a bidder is qualified when the deposit is in full, so by the deposit deadline.
        "qualification_confirmed_by": iso_cst_seconds(schedule.deposit_deadline),
    }


def change_document(state: PlanState, change_no: int, *, region_code: str,
                    unified_deal_code: str | None = None) -> dict[str, Any]:
    """变更公告 for the plan's `change_no`-th announcement change (1-based): the reason,
    the content and the whole schedule in force after it, so channels that showed the
    announcement show the times that now hold (RULES 3.1: a late change pushes the start back)."""
    draft, announced = state.draft, state.announced
    if draft is None or announced is None or not 1 <= change_no <= len(state.changes):
        raise Rejected(Code.PLAN_WRONG_STATUS, "no such announcement change", status=state.status.value)
    change = state.changes[change_no - 1]
    schedule = change.schedule
    listing = draft.method is PlanMethod.LISTING
    fields: dict[str, Any] = {
        "announcement_no": announced.announcement.announcement_no,
        "change_no": str(change_no),
        "parcel_no": draft.parcel.parcel_no,
        "location": draft.parcel.location,
        "supply_method": SUPPLY_METHODS[draft.method],
        "reason": change.reason,
        "content": change.content,
        **_schedule_fields(schedule, listing),
        "pushed_back_days": _days(change.pushed_back_by),
        "contacts": announced.announcement.contacts,
    }
    return _envelope(CHANGE, state, unified_deal_code or offering_code(state, region_code),
                     change.effective_published_at, fields, change_no)


def _days(micros: int) -> str:
    """µs as days to two places, never in exponent form: 0 -> '0', 3 days 12 h -> '3.50',
    5 s -> '0.01' (a push of any length shows; rounded up)."""
    if micros <= 0:
        return "0"
    day = 86_400_000_000
    if micros % day == 0:
        return str(micros // day)
    hundredths = -(-micros * 100 // day)  # ceiling
    return f"{hundredths // 100}.{hundredths % 100:02d}"


# ---------------------------------------------------------------------------
# the result


INSTALLMENT_ORDER = ("period", "due_date", "amount_wan", "amount_fen", "note",  # 支付期号, 约定支付日期, 约定支付金额
                     "paid_date", "paid_wan", "paid_fen")  # as paid: this center's own record, empty until recorded


@dataclass(frozen=True)
class Installment:
    """分期支付约定: one period of the contract's payment schedule."""

    period: int
    due_date: date
    amount_fen: int
    note: str = ""


@dataclass(frozen=True)
class ResultEntry:
    """What the operator enters from the signed contract: the rest comes from the records."""

    region_code: str  # 行政区: 6 digits, or 9 with the township part 000 (440606000)
    project_name: str
    land_source: str  # one of LAND_SOURCES
    industry: str  # 行业分类
    land_grade: str  # 土地级别
    installments: tuple[Installment, ...]
    delivery_date: date  # 约定交地时间
    construction_start_date: date  # 约定开工时间
    completion_date: date  # 约定竣工时间
    contract_date: date  # 合同签订日期
    # The site's codes behind the words (its hidden values): 行业分类 by GB/T 4754 (`K72` 房地产业),
    # 土地级别 `dj1` (一级) ... ; '' when not entered.
    industry_code: str = ""
    land_grade_code: str = ""


@dataclass(frozen=True)
class Deal:
    """The close, as the session log and the bidders table have it."""

    session_id: str
    closed_at: int  # µs UTC
    price_fen: int
    holder: str  # the winner's legal name (bidders.legal_name)


def check_result_entry(entry: ResultEntry, price_fen: int, divisions: Divisions | None = None) -> None:
    """Refuse an entry that cannot be published (`INVALID_FIELD`, `details.field`; a region code the
    division table does not name, `REGION_CODE_UNKNOWN`)."""

    def bad(name: str, zh: str, en: str) -> Rejected:  # Chinese first, as every refusal reads
        return Rejected(Code.INVALID_FIELD, f"{zh} / {name}: {en}", field=name)

    if not REGION_CODE.fullmatch(entry.region_code):
        raise bad("region_code", "行政区划代码：6位（GB/T 2260）或其9位形式",
                  "6-digit administrative division code (GB/T 2260), or its 9-digit form")
    if divisions is not None and divisions.name(entry.region_code) is None:
        raise Rejected(Code.REGION_CODE_UNKNOWN, entry.region_code, field="region_code")
    for name in ("project_name", "industry", "land_grade"):
        if not getattr(entry, name).strip():
            raise bad(name, f"请填写{RESULT_LABELS.get(name, name)}", "required")
    if entry.industry_code and not INDUSTRY_CODE.fullmatch(entry.industry_code):
        raise bad("industry_code", "行业代码：按土地市场网的 GB/T 4754 代码，如 K72、C3011",
                  "a GB/T 4754 code as the site gives it: K72, C3011")
    if entry.land_grade_code and not LAND_GRADE_CODE.fullmatch(entry.land_grade_code):
        raise bad("land_grade_code", "土地级别：dj1（一级）至 dj99", "the site's grade code: dj1 (一级) to dj99")
    if entry.land_source not in LAND_SOURCES:
        raise bad("land_source", "土地来源：" + "、".join(LAND_SOURCES) + "之一", "one of " + "、".join(LAND_SOURCES))
    if not entry.installments:
        raise bad("installments", "分期支付：至少一期（一次性付清为一期）", "at least one period (一次性付清 is one period)")
    for i, part in enumerate(entry.installments, start=1):
        if part.period != i or not is_valid_amount(part.amount_fen):
            raise bad("installments", f"分期支付第{i}期：期号依次为1、2……，金额为正", f"period {i}: periods numbered 1, 2, ... with a positive amount of fen")
    if sum(p.amount_fen for p in entry.installments) != price_fen:
        raise bad("installments", f"分期支付：各期金额合计须等于成交价 {format_wan(price_fen)}（{price_fen:,} 分）",
                  f"the periods must add up to the price, {price_fen} fen")
    if entry.construction_start_date > entry.completion_date:
        raise bad("completion_date", "约定竣工时间早于约定开工时间", "before the construction start")


def result_document(
    state: PlanState, deal: Deal, entry: ResultEntry, *, supervision_no: str, published_at: int,
    divisions: Divisions | None = None, unified_deal_code: str | None = None,
) -> dict[str, Any]:
    """结果公示 of a sold parcel. Only the close gives a `Deal`: the winner and the price
    appear nowhere before it. `divisions` names the 行政区 (and refuses a code it lacks)."""
    draft = state.draft
    if draft is None or state.approval is None:
        raise Rejected(Code.PLAN_WRONG_STATUS, "no approved plan", status=state.status.value)
    number = parse_supervision_no(supervision_no, this_year=china_date(published_at).year)
    check_result_entry(entry, deal.price_fen, divisions)
    check_supervision_region(number, entry.region_code)
    parcel = draft.parcel
    fields: dict[str, Any] = {
        "region_name": (divisions.site_name(entry.region_code) or "") if divisions is not None else "",
        "region_code": entry.region_code,
        "supervision_no": supervision_no,
        "project_name": entry.project_name,
        "project_location": parcel.location,
        "parcel_no": parcel.parcel_no,
        "area_hectares": to_hectares(parcel.area_m2_hundredths),
        "area_m2": to_square_metres(parcel.area_m2_hundredths),
        "land_source": entry.land_source,
        "land_use_code": parcel.land_use,
        "land_use_name": parcel.land_use_name,
        "supply_method": SUPPLY_METHODS[draft.method],
        "term_years": parcel.term_text,
        "industry": entry.industry,
        "industry_code": entry.industry_code,
        "land_grade": entry.land_grade,
        "land_grade_code": entry.land_grade_code,
        "price_wan": wan_number(deal.price_fen),
        "price_fen": str(deal.price_fen),
        "installments": [
            {"period": str(p.period), "due_date": p.due_date.isoformat(), "amount_wan": wan_number(p.amount_fen),
             "amount_fen": str(p.amount_fen), "note": p.note, "paid_date": "", "paid_wan": "", "paid_fen": ""}
            for p in entry.installments
        ],
        "holder": deal.holder,
        "plot_ratio_min": _optional(parcel.plot_ratio_min, format_hundredths),
        "plot_ratio_max": _optional(parcel.plot_ratio_max, format_hundredths),
        "delivery_date": entry.delivery_date.isoformat(),
        "construction_start_date": entry.construction_start_date.isoformat(),
        "completion_date": entry.completion_date.isoformat(),
        "actual_start_date": "",
        "actual_completion_date": "",
        "approver": state.approval.approver,
        "contract_date": entry.contract_date.isoformat(),
        "deal_at": iso_cst_seconds(deal.closed_at),
    }
    # The announcement's code (RULES 3.2: one code for the offering), never one made from the
    # region the operator enters now; without it (no announcement stored), the plan's.
    document = _envelope(RESULT, state, unified_deal_code or offering_code(state, entry.region_code), published_at,
                         fields)
    document["session_id"] = deal.session_id
    return site_order(document)


# ---------------------------------------------------------------------------
# the site's field order

ENVELOPE_ORDER = ("schema", "document_id", "kind", "plan_id", "parcel_no", "unified_deal_code", "published_at",
                  "session_id", "version", "supersedes", "fields")


def site_order(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its envelope and its fields in the site's order (the labels' order),
    whatever order it was read back in: PostgreSQL's jsonb keeps keys by length, not as written.
    Keys the order does not know (a newer version's) follow, as they came."""
    def ordered(data: dict[str, Any], order: Any) -> dict[str, Any]:
        return {**{k: data[k] for k in order if k in data}, **{k: v for k, v in data.items() if k not in order}}

    out = ordered(document, ENVELOPE_ORDER)
    if isinstance(out.get("fields"), dict):
        fields = ordered(out["fields"], labels_of(str(out.get("kind"))))
        if isinstance(fields.get("installments"), list):
            fields["installments"] = [ordered(p, INSTALLMENT_ORDER) if isinstance(p, dict) else p
                                      for p in fields["installments"]]
        out["fields"] = fields
    return out


# ---------------------------------------------------------------------------
# XML


def to_xml(document: dict[str, Any]) -> str:
    """The same document as XML (docs/publication.md): one element per field, its
    Chinese label as the `label` attribute; installments as <installment> elements."""
    labels = labels_of(document["kind"])
    root = ET.Element("publication", {"schema": document["schema"], "kind": document["kind"]})
    for key in ("document_id", "plan_id", "parcel_no", "unified_deal_code", "published_at", "session_id", "version",
                "supersedes"):
        if key in document:
            ET.SubElement(root, key).text = str(document[key])
    fields = ET.SubElement(root, "fields")
    for key, value in document["fields"].items():
        element = ET.SubElement(fields, key, {"label": labels.get(key, key)})
        if isinstance(value, list):
            for item in value:
                child = ET.SubElement(element, "installment")
                for name, text in item.items():
                    ET.SubElement(child, name).text = str(text)
        else:
            element.text = str(value)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
