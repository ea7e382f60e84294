"""Values as people read them on the console's pages: dates in China Standard Time
written 2026年12月06日, amounts in 万元 with the exact fen, the audit trail's action
codes in Chinese (the code small beside), its details without `None`s or raw µs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jinja2 import Environment

from auction.entrypoints.http import i18n
from auction.domain.china import chinese_date, chinese_time, to_cst
from auction.domain.money import format_wan, wan_number
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
}
OUTCOMES = {"OK": "成功"}
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
}


def action_label(code: str) -> str:
    if code.startswith("API "):
        return "接口调用"
    return ACTIONS.get(code, code)


def outcome_label(code: str) -> str:
    return OUTCOMES.get(code, "拒绝")


def _value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if name.endswith("_us") and isinstance(value, int):
        return cn_time(value, seconds=True)
    if name.endswith("_fen") and isinstance(value, int):
        return format_wan(value)
    if name.endswith(("_at", "_on")) and isinstance(value, str):
        shown = cn_time(value, seconds=True)
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
    return [(DETAIL_NAMES.get(str(k), str(k)), str(k), _value(str(k), v)) for k, v in detail.items() if v is not None and v != ""]


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
