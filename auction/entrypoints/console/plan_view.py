"""A supply plan as people read it: the parcel's facts in 公顷 and m², prices in
万元, dates as 2026年12月06日 and times in China Standard Time, the steps done
(who, when), the next step with its legal deadline, and the log as sentences.

Pure functions of the plan's state and log (no I/O): the page handler in
plans.py fetches, this arranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from auction.documents.landchina import RESULT, NoSale
from auction.domain.bidding.session import Phase
from auction.domain.china import china_date, chinese_date, chinese_time
from auction.domain.money import wan_number
from auction.domain.plan.parcels import (
    CATEGORY_USES,
    READINESS_LABELS,
    Parcel,
    format_basis_points,
    format_hundredths,
    plot_ratio_text,
)
from auction.domain.plan.plan_events import (
    AnnouncementChanged,
    AppraisalRecorded,
    CommitteeMeetingRecorded,
    GovernmentApprovalRecorded,
    PlanAnnounced,
    PlanDrafted,
    PlanDraftEdited,
    PlanEvent,
    PlanWithdrawn,
    ReserveDecided,
)
from auction.domain.plan.floor_price import yuan_text
from auction.domain.plan.plan_terms import PlanMethod
from auction.domain.plan.plans import PlanState, PlanStatus
from auction.domain.tender.status import TenderStatus, tender_status
from auction.domain.tender.tender import TenderState
from auction.domain.bidding.terms import DAY, HOUR, MINUTE, SECOND
from auction.entrypoints.console.people import CHANNEL_LABELS, grouped
from auction.entrypoints.console.people import CATEGORY_LABELS
from auction.entrypoints.console.views import METHODS
from auction.entrypoints.http.i18n import Pair

STATUSES = {
    PlanStatus.NEW: "新建 / New",
    PlanStatus.DRAFT: "已编制 / Drafted",
    PlanStatus.COMMITTEE_PASSED: "委员会审议通过 / Passed by the committee",
    PlanStatus.COMMITTEE_REJECTED: "委员会未通过 / Not passed by the committee",
    PlanStatus.APPROVED: "政府已批准 / Approved",
    PlanStatus.ANNOUNCED: "已公告 / Announced",
    PlanStatus.RESERVE_SEALED: "底价已密封 / Reserve sealed",
    PlanStatus.WITHDRAWN: "已撤回 / Withdrawn",
}
SCHEDULE_LABELS = {
    "start_at": "开始时间 / Bidding starts",
    "listing_end_at": "挂牌截止 / Listing ends",
    "deposit_deadline": "保证金到账截止 / Deposit deadline",
    "registration_closes_at": "报名截止 / Registration closes",
}
CATEGORY_NAMES = {c.value: label for c, label in CATEGORY_LABELS.items()}
assert set(CATEGORY_LABELS) == set(CATEGORY_USES)


# ---------------------------------------------------------------------------
# formats (the values: auction/domain/money.py, parcels.py, china.py)


def wan(fen: int | None) -> str:
    """'1,234.5678 万元': exact (six decimals of 万元 are the fen), thousands grouped."""
    return "—" if fen is None else f"{grouped(wan_number(fen))} 万元"


def day(micros: int | None) -> str:
    """'2026年12月06日' (the CST calendar date)."""
    return "—" if micros is None else chinese_date(china_date(micros))


def when(micros: int | None) -> str:
    """'2026年12月06日 14:00:05' in CST, whole seconds."""
    return "—" if micros is None else chinese_time(micros)


def duration(micros: int) -> str:
    """'20 日', '1 小时', '6 秒' (the largest unit that divides it)."""
    for unit, name in ((DAY, "日 / days"), (HOUR, "小时 / hours"), (MINUTE, "分钟 / minutes")):
        if micros and micros % unit == 0:
            return f"{micros // unit} {name}"
    return f"{micros / SECOND:g} 秒 / seconds"


def area(parcel: Parcel) -> str:
    return f"{parcel.area_hectares} 公顷（{grouped(parcel.area_m2)} m²）"


def yuan_per_m2(fen: int) -> str:
    return f"{format_hundredths(fen)} 元/m²"


def parcel_facts(parcel: Parcel) -> list[tuple[str, str]]:
    """The parcel's facts with Chinese labels (English second), formatted for people."""
    planning = parcel.planning
    facts = [
        ("宗地编号 / Parcel no.", parcel.parcel_no),
        ("坐落 / Location", parcel.location),
        ("面积 / Area", area(parcel)),
        ("用途 / Land use", f"{parcel.land_use_name}（GB/T 21010 {parcel.land_use}）"),
        ("出让年限 / Term", Pair(f"{parcel.term_years} 年 / {parcel.term_years} years")),
        ("容积率 / Plot ratio", plot_ratio_text(parcel)),
        ("基准地价 / Benchmark price", yuan_per_m2(parcel.benchmark_fen_per_m2)),
        ("基准地价总额 / Benchmark total (Q27)", wan(parcel.benchmark_total_fen())),
    ]
    if planning.building_density_max_bp is not None:
        facts.append(("建筑密度上限 / Building density ≤", format_basis_points(planning.building_density_max_bp)))
    if planning.green_ratio_min_bp is not None:
        facts.append(("绿地率下限 / Green ratio ≥", format_basis_points(planning.green_ratio_min_bp)))
    if planning.height_limit_cm is not None:
        facts.append(("建筑限高 / Height limit", f"{format_hundredths(planning.height_limit_cm)} m"))
    if planning.notes:
        facts.append(("其他规划条件 / Other planning conditions", planning.notes))
    if parcel.boundaries:
        facts.append(("四至 / Boundaries", parcel.boundaries))
    if parcel.current_state:
        facts.append(("现状 / Current state", parcel.current_state))
    facts.append(("竞买条件类别 / Q24 category", CATEGORY_NAMES.get(parcel.conditions_category.value, "")))
    return facts


def readiness(parcel: Parcel) -> list[tuple[str, bool]]:
    return [(label, getattr(parcel.readiness, name) is True) for name, label in READINESS_LABELS.items()]


# ---------------------------------------------------------------------------
# the log as sentences


def event_lines(event: PlanEvent) -> tuple[str, list[tuple[str, str]]]:
    """(what happened, [(label, value)]) for one plan event."""
    if isinstance(event, PlanDrafted | PlanDraftEdited):
        what = "编制供地方案 / Plan drafted" if isinstance(event, PlanDrafted) else "修改供地方案 / Draft edited"
        return what, [
            ("宗地 / Parcel", f"{event.parcel.parcel_no} · {event.parcel.location}"),
            ("出让方式 / Method", Pair(METHODS.get(event.method.value, event.method.value))),
            ("起始价 / Starting price", wan(event.start_price)),
            ("增价幅度 / Increment", wan(event.increment)),
            ("竞买保证金 / Deposit", wan(event.deposit)),
            ("竞买条件 / Bidder conditions", event.bidder_conditions or Pair("无 / none")),
        ]
    if isinstance(event, CommitteeMeetingRecorded):
        return ("委员会审议：通过 / Committee meeting: passed" if event.passed
                else "委员会审议：未通过 / Committee meeting: not passed"), [
            ("会议时间 / Held", when(event.held_at)),
            ("主持 / Chair", event.chair),
            ("到会成员 / Present", f"{len(event.members_present)} 人：{'、'.join(event.members_present)}"),
            ("表决 / Ballot", f"赞成 {event.yes} · 反对 {event.no} · 弃权 {event.abstain}（无记名 / secret）"),
            ("主要领导末位表态 / Chair spoke last", Pair("是 / yes" if event.chair_spoke_last else "否 / no")),
        ]
    if isinstance(event, GovernmentApprovalRecorded):
        return "政府批准 / Government approval", [
            ("批准机关 / Approver", event.approver), ("批复文号 / Document", event.document_no),
            ("批准时间 / Approved", when(event.approved_at)),
        ]
    if isinstance(event, PlanAnnounced):
        a = event.announcement
        return "发布出让公告 / Announcement published", [
            ("公告编号 / No.", a.announcement_no), ("出让人 / Seller", a.seller),
            ("发布时间 / Published", when(event.effective_published_at)),
            *[(SCHEDULE_LABELS[k], when(v)) for k, v in a.schedule.to_dict().items() if v is not None],
            ("发布渠道 / Channels", "、".join(CHANNEL_LABELS[c].split(" / ")[0] for c in sorted(a.channels))),
        ]
    if isinstance(event, AnnouncementChanged):
        lines = [("发布时间 / Published", when(event.effective_published_at)), ("理由 / Reason", event.reason),
                 ("内容 / Content", event.content)]
        if event.pushed_back_by:
            lines.append(("顺延 / Pushed back", f"{duration(event.pushed_back_by)}（保证公告期 / keeps the "
                                                 "announcement period, RULES 3.1）"))
        lines += [(SCHEDULE_LABELS[k], when(v)) for k, v in event.schedule.to_dict().items() if v is not None]
        return "变更公告 / Change notice", lines
    if isinstance(event, AppraisalRecorded):
        r = event.appraisal
        return "登记估价报告 / Appraisal recorded", [
            ("报告 / Report", r.appraisal_id), ("估价机构 / Agency", r.agency),
            ("资质证书 / Qualification", r.qualification_cert), ("电子备案号 / Filing no.", r.filing_no),
            ("估价期日 / Valuation date", f"{r.valuation_date:%Y年%m月%d日}"),
            ("有效期至 / Valid until", chinese_date(r.valid_until)),
            ("评估单价 / Unit price", yuan_per_m2(r.unit_price_fen_per_m2)),
            ("评估总价 / Total", wan(r.total_price_fen)),
        ]
    if isinstance(event, ReserveDecided):
        return "底价集体确定并密封 / Reserve decided and sealed (Q26)", [
            ("确定时间 / Decided", when(event.decided_at)), ("成员 / Members", "、".join(event.members)),
            ("底价 / Reserve", Pair("已设定（密封至结束） / set, sealed until the close" if event.has_reserve
                                   else "无底价，以起始价为底价 / none: the starting price stands in (Q28)")),
            ("依据 / Basis", f"{event.appraisal_id} · 楼面地价 {yuan_per_m2(event.floor_price_fen_per_m2)}"),
        ]
    if isinstance(event, PlanWithdrawn):
        return "撤回 / Withdrawn", [("理由 / Reason", event.reason)]
    raise TypeError(f"not a plan event: {event!r}")


# ---------------------------------------------------------------------------
# the timeline


@dataclass
class Stage:
    key: str
    title: str
    article: str
    done: bool = False
    who: str = ""
    at: int | None = None
    summary: str = ""
    form: str | None = None  # the form's path segment, where it may be used now
    tags: list[str] = field(default_factory=list)  # "中文 / English" words after the summary, in the page's order
    current: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NextStep:
    title: str
    rule: str
    deadline: int | None = None  # µs UTC
    opens: int | None = None
    form: str | None = None
    link: str | None = None
    page: str | None = None  # a page to act on that is not a plan form (the reserve's, for the members)
    page_label: str = ""
    link_label: str = ""  # the link's words when it is not the session's (a tender's page)


@dataclass(frozen=True)
class SessionEnd:
    """The plan's session as its next step follows it (the page handler reads it)."""

    phase: Phase
    result_due: str | None  # `Publisher.result_due`: RESULT, RESULT_UNSOLD, or None before the end
    result_published: bool  # the plan's one result document exists
    no_sale: NoSale | None = None  # `Publisher.no_sale` when the result due is RESULT_UNSOLD


NO_SALE_TITLES = {
    "流拍": "未成交（流拍） / Not sold",
    "终止": "交易已终止 / The session was terminated",
    "成交取消": "成交已取消（第四十二条） / The sale was cancelled (Q42)",
}


def stages(state: PlanState, session_id: str | None, tender_id: str | None = None,
           session_made: tuple[str, int | None] = ("", None)) -> list[Stage]:
    """The timeline; a tender plan's sale is its tender (`tender_id`), not a session (RULES 6.1).
    `session_made`: who created the session (the console's user, '' if not known) and when (µs UTC).
    The session's or tender's id is the stage's link, not repeated in its summary."""
    draft = state.draft
    assert draft is not None
    sale = session_id or tender_id
    status = state.status
    live = status is not PlanStatus.WITHDRAWN
    meeting = state.meetings[-1] if state.meetings else None
    edited = [f"修改 {len(state.edits)} 次 / edited {len(state.edits)}×"] if state.edits else []
    out = [Stage("draft", "编制供地方案 / Draft", "RULES 1", True, draft.by, draft.at, draft.parcel.parcel_no,
                 tags=[METHODS.get(draft.method.value, draft.method.value), *edited])]
    out.append(Stage("committee", "委员会审议（2/3以上赞成） / Committee (a two-thirds vote)", "Q22",
                     bool(meeting and meeting.passed), meeting.by if meeting else "", meeting.at if meeting else None,
                     form="committee" if live and status in (PlanStatus.DRAFT, PlanStatus.COMMITTEE_REJECTED) else None,
                     tags=[f"赞成 {meeting.yes}/{n} / {meeting.yes} of {n} in favour"
                           for n in [len(meeting.members_present)]] if meeting else []))
    if meeting and not meeting.passed:
        out[-1].notes.append("上次会议未获2/3以上赞成，可再次审议 / the last meeting fell short; the committee may meet again")
    approval = state.approval
    out.append(Stage("approval", "政府批准 / Government approval", "Q22", approval is not None,
                     approval.by if approval else "", approval.at if approval else None,
                     approval.document_no if approval else "",
                     "approval" if live and status is PlanStatus.COMMITTEE_PASSED else None))
    last = state.appraisals[-1] if state.appraisals else None
    out.append(Stage("appraisal", "估价报告 / Appraisal", "Q25", last is not None, last.by if last else "",
                     last.at if last else None,
                     "、".join(r.appraisal.appraisal_id for r in state.appraisals),
                     "appraisal" if live and status is not PlanStatus.RESERVE_SEALED else None))
    announced = state.announced
    out.append(Stage("announce", "出让公告 / Announcement", "Q29", announced is not None,
                     announced.by if announced else "", announced.at if announced else None,
                     announced.announcement.announcement_no if announced else "",
                     "announce" if live and status is PlanStatus.APPROVED else None))
    if state.changes:
        c = state.changes[-1]
        out.append(Stage("change", "变更公告 / Change notice", "RULES 3.1", True, c.by, c.at,
                         form="change" if live and status is PlanStatus.ANNOUNCED and sale is None else None,
                         tags=[f"{len(state.changes)} 次 / {len(state.changes)} times"]))
    elif live and status is PlanStatus.ANNOUNCED and sale is None:
        out.append(Stage("change", "变更公告（如需） / Change notice (if needed)", "RULES 3.1", form="change"))
    if draft.method is PlanMethod.TENDER:
        out.append(Stage("tender", "创建招标 / The tender", "RULES 6.1", tender_id is not None,
                         form="tender" if live and status is PlanStatus.ANNOUNCED and tender_id is None else None))
    else:
        made_by, made_at = session_made if session_id is not None else ("", None)
        out.append(Stage("session", "创建交易场次 / Trading session", "Q30", session_id is not None, made_by, made_at,
                         form="session" if live and status is PlanStatus.ANNOUNCED and session_id is None else None))
    reserve = state.reserve
    out.append(Stage("reserve", "底价集体确定 / Reserve decision", "Q26", reserve is not None,
                     reserve.by if reserve else "", reserve.at if reserve else None))
    if state.withdrawn is not None:
        w = state.withdrawn
        out.append(Stage("withdrawn", "撤回 / Withdrawn", "", True, w.by, w.at, w.reason))
    for s in out:
        if not s.done:
            s.current = True
            break
    return out


def next_step(state: PlanState, session_id: str | None, now: int, session: SessionEnd | None = None,
              tender: TenderProgress | None = None) -> NextStep | None:
    """What comes next and the legal limit on it, from the plan's own rules (copied at drafting);
    once the session has ended (or is held at its close), what its end calls for; for a tender
    plan, what its tender calls for (`tender_next`). A limit already passed is never shown as
    the next one."""
    if session_id is not None and session is not None and session.phase in (Phase.CLOSED, Phase.TERMINATED,
                                                                             Phase.HELD):
        return after_session(session_id, session)
    step: NextStep | None
    if state.method is PlanMethod.TENDER and state.status is not PlanStatus.WITHDRAWN and state.schedule is not None:
        step = tender_next(state, tender, now)
    else:
        step = _before_session_end(state, session_id, now)
    if step is not None and step.deadline is not None and step.deadline <= now:
        step = replace(step, deadline=None)
    return step


def _before_session_end(state: PlanState, session_id: str | None, now: int) -> NextStep | None:
    rules = state.rules
    status = state.status
    schedule = state.schedule
    period = duration(rules.min_announcement_period)
    if status in (PlanStatus.DRAFT, PlanStatus.COMMITTEE_REJECTED):
        return NextStep("委员会审议 / Committee meeting",
                        f"到会成员{rules.committee_pass_numerator}/{rules.committee_pass_denominator}以上赞成，"
                        "主要领导末位表态（Q22） / a 2/3 vote of those present, the chair last", form="committee")
    if status is PlanStatus.COMMITTEE_PASSED:
        return NextStep("政府批准 / Government approval", "委员会通过后报政府批准（Q22, Q27(五)）", form="approval")
    if status is PlanStatus.APPROVED:
        return NextStep("发布出让公告 / Publish the announcement",
                        f"公告至开始不少于 {period}（Q29）：今日发布，最早 {when(now + rules.min_announcement_period)} "
                        "开始 / published now, bidding starts no earlier than that", form="announce")
    if schedule is None:
        return None
    if status is PlanStatus.ANNOUNCED and session_id is None:
        late = schedule.start_at - rules.min_announcement_period
        return NextStep("创建交易场次 / Create the trading session",
                        f"开始前创建，以便报名和缴纳保证金；{when(late)} 之后发布的变更公告将使开始时间顺延（RULES 3.1） / "
                        "a change notice after that pushes the start back",
                        deadline=schedule.registration_closes_at, form="session")
    if status is PlanStatus.ANNOUNCED:
        return NextStep("底价集体确定并密封 / Reserve decision (Q26)",
                        f"开始前 {duration(rules.reserve_window)} 内由不少于 {rules.reserve_min_members} 名委员集体确定 / "
                        "within the window before the start, collectively",
                        deadline=schedule.start_at, opens=schedule.start_at - rules.reserve_window,
                        link=f"/console/sessions/{session_id}", page=f"/console/plans/{quote(state.plan_id or '')}/reserve",
                        page_label="委员会成员签署底价 / The members sign the reserve")
    if status is PlanStatus.RESERVE_SEALED:
        link = f"/console/sessions/{session_id}" if session_id else None
        if now >= schedule.start_at:
            return NextStep("交易进行中 / Bidding under way", "交易结束后办理成交确认与结果公示 / "
                            "the confirmation and the result follow the close", link=link)
        return NextStep("交易开始 / Bidding starts", "按公告时间开始 / as announced", deadline=schedule.start_at,
                        link=link)
    return None


@dataclass(frozen=True)
class TenderProgress:
    """A tender plan's tender as its next step follows it (the page handler reads it)."""

    tender_id: str
    state: TenderState
    result_published: bool = False


def tender_next(state: PlanState, tender: TenderProgress | None, now: int) -> NextStep:
    """A tender plan's next step once announced: create the tender, then what its status calls for
    (auction/domain/tender/status.py): the reserve before bids open (Q26), bids, the opening, the
    evaluation, the result's publication."""
    schedule, rules = state.schedule, state.rules
    assert schedule is not None
    if tender is None:
        return NextStep("创建招标 / Create the tender",
                        "招标文件确定评标方法、投标截止和开标时间；开始投标前创建，以便报名和缴纳保证金（RULES 6.1） / "
                        "the tender documents fix the evaluation, the bid deadline and the opening; create it before "
                        "bids open, for registration and deposits", deadline=schedule.registration_closes_at,
                        form="tender")
    tid = quote(tender.tender_id)
    page, label = f"/console/tenders/{tid}", "前往招标 / Go to the tender"
    terms = tender.state.terms
    assert terms is not None
    now_status = tender_status(tender.state, now)
    status = now_status.status
    if status is TenderStatus.RESERVE_PENDING:
        return NextStep("底价集体确定并密封 / Reserve decision (Q26)",
                        f"投标开始前 {duration(rules.reserve_window)} 内由不少于 {rules.reserve_min_members} 名委员集体"
                        "确定；密封前不接受投标 / within the window before bids open, collectively; no bid is taken "
                        "before it is sealed", deadline=terms.bids_open_at, opens=terms.bids_open_at - rules.reserve_window,
                        link=page, link_label=label, page=f"/console/plans/{quote(state.plan_id or '')}/reserve",
                        page_label="委员会成员签署底价 / The members sign the reserve")
    if status is TenderStatus.BIDS_NOT_OPEN:
        return NextStep("开始投标 / Bids open", "按公告时间开始接受密封投标 / sealed bids are taken from the announced "
                        "start", deadline=terms.bids_open_at, link=page, link_label=label)
    if status is TenderStatus.NO_RESERVE:
        return NextStep("底价未按时密封，不接受投标 / No reserve was sealed: no bids are taken",
                        "底价须在投标开始前集体确定并密封（第二十六条）；可经操作员接口终止招标 / the reserve had to be sealed "
                        "before bids opened (Q26); the tender may be terminated (the operator API)", link=page, link_label=label)
    if status is TenderStatus.TAKING_BIDS:
        return NextStep("投标中（密封） / Taking sealed bids", "投标截止前接受密封投标，每人一次（RULES 6.2） / sealed "
                        "bids until the deadline, one each", deadline=terms.bid_deadline, link=page, link_label=label)
    if status is TenderStatus.BIDS_CLOSED:
        return NextStep("开标 / The opening", "开标时间一到，所有投标同时解密并公布（RULES 6.3） / at the opening time "
                        "every bid is opened together, in public", opens=terms.opening_at, link=page, link_label=label)
    if status is TenderStatus.SUSPENDED:  # RULES 6.7: held for an outage across its bid deadline
        return NextStep("招标已中止：恢复或终止 / The tender is suspended: resume or terminate it",
                        "停机期间投标截止时间已过；在招标页定出新的投标截止时间和开标时间后恢复（RULES 7.3），或经操作员接口终止招标 / "
                        "its bid deadline passed while the server was down; resume it on the tender's page with a new "
                        "deadline and opening, or terminate it through the operator API", link=f"{page}#resume", link_label=label)
    if status is TenderStatus.OPENED:
        return NextStep("评标 / The evaluation", "评标委员会成员签署评分表，最后一份决定结果（RULES 6.5） / the panel "
                        "members sign their score sheets; the last decides", link=page, link_label=label)
    # After the end: the close's rows (contract, refunds, Q29/Q32) and their actions are on the tender's page.
    rows, rows_label = f"{page}#deadlines", "招标页：合同与期限 / The tender: the contract and deadlines"
    if not tender.result_published:
        return NextStep("招标结束：发布结果公示 / The tender has ended: publish the result",
                        "无论中标与否，结果均须公示（RULES 6.6, 8.3，Q29）；中标的，先在招标页登记合同已签订（第四十二条）"
                        " / the result is published whatever it was; for an award, record the contract's signing on "
                        "the tender's page first (Q42)", link=rows, link_label=rows_label,
                        page=f"/console/sessions/{tid}/result", page_label="发布结果公示 / Publish the result")
    return NextStep("招标结束，结果已公示 / The tender has ended; the result is published",
                    "合同签订（第四十二条）、保证金退还（第三十一条）等期限在招标页办理 / the contract and refund "
                    "deadlines are on the tender's page", link=rows, link_label=rows_label)


def after_session(session_id: str, end: SessionEnd) -> NextStep:
    """The next step once the plan's session has ended: it follows how it ended."""
    sid = quote(session_id)
    session, close, result = f"/console/sessions/{sid}", f"/console/sessions/{sid}/close", \
        f"/console/sessions/{sid}/result"
    if end.result_due == RESULT:
        if not end.result_published:
            return NextStep("成交：确认、结果公示与合同 / Sold: confirmation, result and contract",
                            "签订成交确认书；按签订的出让合同发布出让结果公示（Q29，RULES 8.3）；合同签订期限见交易结束页"
                            "（Q42） / sign the confirmation, publish the result from the contract; the contract's "
                            "deadline is on the close page", link=session, page=result,
                            page_label="发布出让结果 / Publish the result")
        return NextStep("成交：合同与后续期限 / Sold: the contract and what follows",
                        "出让结果已发布；合同签订（Q42）、保证金退还（Q31）等期限在交易结束页办理 / the result is "
                        "published; the contract and refund deadlines are on the close page", link=session, page=close,
                        page_label="交易结束与后续事项 / The close")
    if end.no_sale is not None:
        title = NO_SALE_TITLES.get(end.no_sale.outcome, end.no_sale.outcome)
        why = end.no_sale.reason
        if not end.result_published:
            title_zh, _, title_en = title.partition(" / ")
            return NextStep(f"{title_zh}：发布结果公示（未成交） / {title_en}: publish the no-sale result",
                            f"{why}。无论成交与否，结果均须公示（RULES 8.3，Q29） / the result is published whatever "
                            "it was", link=session, page=result,
                            page_label="发布结果公示（未成交） / Publish the no-sale result")
        return NextStep(title, f"{why}。结果公示（未成交）已发布；再次供应须重新编制供地方案 / the no-sale result is "
                        "published; to offer the parcel again, draft a new plan", link=session, page=close,
                        page_label="交易结束与后续事项 / The close")
    return NextStep("交易待结束 / The close is held",
                    "已到结束时间，待核验底价或解锁托管密钥后结束（交易结束页） / due to close: unlock the escrow key "
                    "on the close page", link=session, page=close, page_label="交易结束与后续事项 / The close")


def schedule_rows(state: PlanState) -> list[tuple[str, str]]:
    if state.schedule is None:
        return []
    return [(SCHEDULE_LABELS[k], when(v)) for k, v in state.schedule.to_dict().items() if v is not None]


def prices(state: PlanState) -> list[tuple[str, str]]:
    draft = state.draft
    assert draft is not None
    rows = [
        ("出让方式 / Method", Pair(METHODS.get(draft.method.value, draft.method.value))),
        ("起始价 / Starting price", f"{wan(draft.start_price)}（{draft.start_price:,} 分）"),
        ("增价幅度 / Increment", wan(draft.increment)),
        ("竞买保证金 / Deposit", f"{wan(draft.deposit)}（起始价的 {draft.deposit * 100 / draft.start_price:.2f}%，"
                                 f"不低于 {draft.rules.min_deposit_percent}%，Q31）"),
        ("竞买条件 / Bidder conditions", draft.bidder_conditions or Pair("无 / none")),
    ]
    for at, label, unit in ((3, "增价幅度 / Increment", draft.increment_fen_per_floor_m2),
                            (2, "起始价 / Starting price", draft.start_fen_per_floor_m2)):
        if unit is not None:  # stated per floor area; the total beside it derived from it (floor_price.py)
            rows.insert(at, (f"{label}（楼面单价 / per floor area）", f"{yuan_text(unit)} 元/建筑平方米"))
    if draft.method is not PlanMethod.AUCTION:
        rows.append(("底价 / Reserve", Pair("须设定，开始前集体确定（Q26, Q28） / required, decided before the start")))
    return rows


def plan_row(row: Any, state: PlanState) -> dict[str, Any]:
    """One line of the plans list."""
    draft = state.draft
    assert draft is not None
    start = state.schedule.start_at if state.schedule is not None else None
    return {
        "plan_id": row["plan_id"], "parcel_no": draft.parcel.parcel_no, "location": draft.parcel.location,
        "area": f"{draft.parcel.area_hectares} 公顷", "use": draft.parcel.land_use_name,
        "method": METHODS.get(draft.method.value, draft.method.value), "status": state.status.value,
        "status_text": STATUSES[state.status], "start_price": wan(draft.start_price),
        "start_price_fen": f"{draft.start_price:,} 分", "deposit": wan(draft.deposit), "starts": day(start),
        "session_id": row["session_id"], "created": day(draft.at), "updated": when(state.last_at),
    }
