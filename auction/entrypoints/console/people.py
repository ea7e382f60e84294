"""Values as people read them on the console's pages: dates in China Standard Time
written 2026年12月06日, amounts in 万元 with the exact fen, the audit trail's action
codes in Chinese (the code small beside), its details without `None`s or raw µs."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from jinja2 import Environment

from auction.entrypoints.http import i18n
from auction.domain.china import CST, chinese_date, chinese_time, to_cst
from auction.domain.money import fen_of_wan_text, format_wan, wan_number
from auction.domain.plan.parcels import READINESS_LABELS, ConditionsCategory
from auction.domain.plan.plan_terms import Channel
from auction.staff.roles import Role
from auction.store.events import to_micros


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_cst(to_micros(value))
    if isinstance(value, int):
        return to_cst(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return to_cst(to_micros(parsed)) if parsed.tzinfo is not None else None
    return None


def cn_day(value: Any) -> str:
    """'2026年12月06日' (CST) from µs, an aware datetime, an ISO text or a date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return chinese_date(value)
    if isinstance(value, str) and len(value) == 10:
        try:
            return chinese_date(date.fromisoformat(value))
        except ValueError:
            return value
    t = _moment(value)
    return "—" if t is None else chinese_date(t.date())


def cn_time(value: Any, seconds: bool = False) -> str:
    """'2026年12月06日 14:30' (CST); with `seconds` '… 14:30:05'."""
    t = _moment(value)
    return "—" if t is None else chinese_time(to_micros(t), seconds)


def wan_only(fen: int | None) -> str:
    """'8,040.5' 万元 (the fen kept exactly), '—' for none."""
    return "—" if fen is None else wan_number(fen)


CHANNEL_LABELS = {  # the six channels of an announcement (Q29)
    Channel.LAND_MARKET: "当地土地有形市场 / local land market",
    Channel.MAINSTREAM_MEDIA: "当地主流媒体 / mainstream media",
    Channel.CHINA_LAND_MARKET: "中国土地市场网 / China Land Market website",
    Channel.PROVINCIAL_DEPARTMENT: "省自然资源厅网站 / provincial natural resources department",
    Channel.PUBLIC_RESOURCE_PLATFORM: "公共资源交易平台 / public resource trading platform",
    Channel.ONLINE_TRADING_SYSTEM: "本市网上交易系统 / the city's online trading system",
}
PLAN_STATUS = {
    "NEW": "新建", "DRAFT": "已编制", "COMMITTEE_PASSED": "委员会审议通过", "COMMITTEE_REJECTED": "委员会未通过",
    "APPROVED": "政府已批准", "ANNOUNCED": "已公告", "RESERVE_SEALED": "底价已密封", "WITHDRAWN": "已撤回",
}
ACTIONS = {
    "SIGN_IN": "登录",
    "SIGN_OUT": "退出登录",
    "CREATE_SESSION": "创建交易场次",
    "QUALIFY_BIDDER": "确认竞买资格",
    "ISSUE_TOKEN": "发放竞买凭证",
    "SUSPEND": "中止交易",
    "RESUME": "恢复交易",
    "TERMINATE": "终止交易",
    "EXPORT_EVENTS_CSV": "导出事件日志（CSV）",
    "EXPORT_EVENTS_JSON": "导出事件日志（JSON）",
    "EXPORT_AUDIT_CSV": "导出操作审计（CSV）",
    "EXPORT_AUDIT_JSON": "导出操作审计（JSON）",
    "VIEW_CONFIRMATION": "查看成交确认书",
    "VIEW_CONFIRMATION_PDF": "下载成交确认书（PDF）",
    "RESERVE_PREPARE": "起草并签署底价决策",
    "RESERVE_SIGN": "签署底价决策",
    "ESCROW_UNLOCK": "解锁托管密钥",
    "PUBLICATION_RETRY": "重新发布",
    "CONTRACT_SIGNED": "登记合同签订",
    "DEADLINE_DONE": "登记期限事项办结",
    "DEPOSIT_FORFEITED": "没收保证金（第四十二条）",
    "COMMITTEE_MEMBER_REGISTER": "登记委员会成员公钥",
    "RESULT_PUBLISH": "发布出让结果",
    "RESULT_UNSOLD_PUBLISH": "发布结果公示（未成交）",
    "POST_DEAL_RECORD": "登记成交后事项",
    # the supply plan's forms (plan_forms.py: each Step's action)
    "PLAN_DRAFT": "新建供应计划",
    "PLAN_EDIT_DRAFT": "修改供地方案",
    "PLAN_COMMITTEE_MEETING": "登记委员会审议",
    "PLAN_GOVERNMENT_APPROVAL": "登记政府批准",
    "PLAN_APPRAISAL": "登记估价报告",
    "PLAN_ANNOUNCE": "发布出让公告",
    "PLAN_ANNOUNCEMENT_CHANGE": "发布变更公告",
    "PLAN_CREATE_SESSION": "由方案创建交易场次",
    "PLAN_CREATE_TENDER": "由方案创建招标",
    "TENDER_SCORE": "签署招标评分",
    "TENDER_RESUME": "恢复招标",
    "VIEW_TENDER_NOTICE": "查看中标通知书",
}
# A form's "check first" (预检): asked of the engine, nothing recorded in the plan; audited as
# `<the step's action>_PREVIEW` with the outcome PREVIEW, never as the step itself.
PREVIEW = "PREVIEW"
OUTCOMES = {"OK": "成功", PREVIEW: "预检"}
DETAIL_NAMES = {
    "reason": "理由",
    "resume_at_us": "恢复时间",
    "message": "说明",
    "application_id": "申请编号",
    "mode": "方式",
    "reissue": "补发",
    "issue": "发放",
    "plan_id": "方案",
    "members": "成员",
    "has_reserve": "设底价",
    "commitment": "承诺值",
    "draft_id": "草案",
    "attempted": "尝试账号",
    "count": "次数",
    "samples": "示例",
    "bidder_no": "竞买号",
    "channel": "渠道",
    "deadline_id": "期限",
    "method": "方式",
    "parcel_ref": "宗地",
    "start_at": "开始时间",
    "listing_end_at": "挂牌截止",
    "countdown_seconds": "倒计时（秒）",
    "signed_at_us": "签订时间",
    "done_at_us": "办结时间",
    "bank_txn_id": "银行流水号",
    "amount_fen": "金额",
    "document_id": "文件",
    "status": "HTTP 状态",
    "member_id": "成员编号",
    "public_key_hex": "公钥",
    "supervision_no": "电子监管号",
    "tender_id": "招标",
    "repeated": "重复提交",
    "result": "预检结果",
    "from": "起",
    "until": "止",
    "session_id": "场次",
    "start_price_fen": "起始价",
    "increment_fen": "增价幅度",
    "deposit_fen": "竞买保证金",
    "reserve_fen": "底价",
    "reserve_wan": "底价",
    # the plan's forms (plan_forms.py), as the forms label them
    "start_price_wan": "起始价",
    "increment_wan": "增价幅度",
    "deposit_wan": "竞买保证金",
    "bidder_conditions": "竞买条件",
    "start_yuan_per_floor_m2": "起始楼面价（元/建筑平方米）",
    "increment_yuan_per_floor_m2": "增价幅度（元/建筑平方米）",
    "floor_area_m2": "建筑面积（m²）",
    "parcel_no": "宗地编号",
    "location": "位置",
    "area_m2": "面积（m²）",
    "land_use": "用途",
    "term_years": "出让年限（年）",
    "plot_ratio_min": "容积率下限",
    "plot_ratio_max": "容积率上限",
    "benchmark_yuan_per_m2": "基准地价（元/m²）",
    "conditions_category": "竞买条件类别",
    "boundaries": "四至",
    "current_state": "现状",
    "building_density_pct": "建筑密度（%）",
    "green_ratio_pct": "绿地率（%）",
    "height_limit_m": "限高（m）",
    "planning_notes": "其他规划条件",
    "held_at": "会议时间",
    "chair": "主持人",
    "members_present": "到会成员",
    "yes": "赞成",
    "no": "反对",
    "abstain": "弃权",
    "chair_spoke_last": "主持人最后发表意见",
    "approver": "批准机关",
    "document_no": "批准文号",
    "approved_at": "批准时间",
    "appraisal_id": "估价报告编号",
    "agency": "估价机构",
    "qualification_cert": "资质证书",
    "filing_no": "电子备案号",
    "valuation_date": "估价期日",
    "valid_until": "有效期至",
    "unit_price_yuan_per_m2": "单价（元/m²）",
    "total_price_wan": "总价",
    "announcement_no": "公告编号",
    "title": "公告标题",
    "seller": "出让人",
    "published_at": "发布时间",
    "deposit_deadline": "保证金截止",
    "registration_closes_at": "报名截止",
    "place_and_method": "地点与方式",
    "application": "申请与资格审查",
    "contacts": "联系方式",
    "other_matters": "其他事项",
    "content": "变更内容",
    "change_schedule": "同时变更日程",
    "signed_at": "签订时间",
    "done_at": "办结时间",
    "amount_wan": "退还金额",
    "resume_at": "恢复时间",
    "passphrase": "口令",
    "name": "名称",
    "confirm": "确认",
}
CATEGORY_LABELS = {  # Q24's categories, as the plan form offers them
    ConditionsCategory.NONE: "其他（不得设竞买条件） / other (no bidder conditions)",
    ConditionsCategory.INDUSTRIAL: "工业 / industrial",
    ConditionsCategory.COMMERCIAL_COMPLEX: "商业综合体 / commercial complex",
    ConditionsCategory.HIGH_END_HOTEL: "高档酒店 / high-end hotel",
    ConditionsCategory.HIGH_END_OFFICE: "高端商务办公 / high-end office",
}
DETAIL_NAMES |= {"criteria": "评分因素", "evaluation": "评标方法", "opening_at": "开标时间",
                 "bid_deadline": "投标截止时间", "price_weight": "价格分权重"}
# A detail's enumerated value in words ('TENDER' -> '招标'), by the detail's name.
VALUE_WORDS: dict[str, dict[str, str]] = {
    "method": {"LISTING": "挂牌", "AUCTION": "拍卖", "TENDER": "招标"},
    "evaluation": {"HIGHEST_PRICE": "价高者得", "SCORING": "综合评分"},
    "conditions_category": {c.value: label.split(" / ")[0] for c, label in CATEGORY_LABELS.items()},
}
DETAIL_NAMES |= {f"readiness_{k}": v for k, v in READINESS_LABELS.items()}
DETAIL_NAMES |= {f"channel_{c.value}": label.split(" / ")[0] for c, label in CHANNEL_LABELS.items()}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
TICKED = frozenset({"yes", "on", "true"})


def field_label(name: str) -> str:
    """A form field's or detail's Chinese name ('amount_wan' -> '退还金额'), the name itself if none."""
    return DETAIL_NAMES.get(name, name)


def action_label(code: str) -> str:
    if code.startswith("API "):
        return "接口调用"
    if code.endswith(f"_{PREVIEW}") and code.removesuffix(f"_{PREVIEW}") in ACTIONS:
        return f"预检：{ACTIONS[code.removesuffix(f'_{PREVIEW}')]}"
    return ACTIONS.get(code, code)


def outcome_label(code: str) -> str:
    return OUTCOMES.get(code, "拒绝")


def cn_moment(value: Any) -> str:
    """'2026年12月07日 11时40分' (CST, `i18n.time_text`; '… 11时40分38秒' when the seconds are not
    zero) from µs, an aware datetime or an ISO text; an ISO text without an offset is China
    Standard Time, as the console's forms are typed. '—' when it is none of these."""
    micros: int | None = None
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return "—"
        micros = to_micros(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=CST))
    else:
        moment = _moment(value)
        micros = None if moment is None else to_micros(moment)
    if micros is None:
        return "—"
    second = to_cst(micros).second
    return i18n.time_text(micros) + (f"{second:02d}秒" if second else "")


def grouped(number: str) -> str:
    """An exact decimal's whole part with thousands separators: '1234.5678' -> '1,234.5678'."""
    whole, dot, rest = number.partition(".")
    return f"{int(whole):,}{dot}{rest}"


def wan_and_fen(fen: int) -> str:
    """'5,600 万元（5,600,000,000 分）': grouped, exact, the fen beside."""
    return f"{grouped(wan_number(fen))} 万元（{fen:,} 分）"


def _typed_amount(text: str) -> str:
    """An amount typed in 万元 as the house writes it, exact fen beside; the text if it is none."""
    fen = fen_of_wan_text(text.strip().replace(",", ""))
    return text if fen is None else wan_and_fen(fen)


def _value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if name.endswith("_us") and isinstance(value, int):
        return cn_moment(value)
    if name.endswith("_fen") and isinstance(value, int):
        return wan_and_fen(value)
    if isinstance(value, str):
        if value in VALUE_WORDS.get(name, {}):
            return VALUE_WORDS[name][value]
        if name.endswith("_wan"):
            return _typed_amount(value)
        if name.startswith(("readiness_", "channel_")) or name in ("chair_spoke_last", "change_schedule", "confirm"):
            return "是" if value.lower() in TICKED else "否"
        if _ISO_DAY.match(value):
            return cn_day(value)
        if _ISO_TIME.match(value):
            shown = cn_moment(value)
            return value if shown == "—" else shown
    if isinstance(value, list):
        return "、".join(_value(name, v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{DETAIL_NAMES.get(k, k)}：{_value(k, v)}" for k, v in value.items() if v is not None)
    return str(value)


def detail_items(detail: Any) -> list[tuple[str, str, str]]:
    """An audit row's detail as (Chinese name, field name, value) for people: `None`s left
    out, µs and ISO times in CST, amounts in 万元."""
    if not isinstance(detail, dict):
        return [] if detail in (None, "", {}) else [("", "", str(detail))]
    return [(field_label(str(k)), str(k), _value(str(k), v)) for k, v in detail.items() if v is not None and v != ""]


def role_label(value: str | None) -> str:
    try:
        return Role(value).label.split(" / ")[0] if value else ""
    except ValueError:
        return value or ""


def add_filters(env: Environment) -> None:
    env.filters.update(cn_day=cn_day, cn_time=cn_time, wan_only=wan_only, action_label=action_label,
                       outcome_label=outcome_label, detail_items=detail_items, role_label=role_label,
                       plan_status=lambda s: PLAN_STATUS.get(s, s))
    i18n.localize_filters(env, "action_label", "outcome_label", "plan_status")
