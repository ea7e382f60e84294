"""Chinese first, English second: the one table of interface labels, and the language switch.

A label is a pair (Chinese, English). Pages show the chosen language first and the other
one second, smaller (`tt`), or the chosen one alone (`t`). The choice is a cookie
(`lang`, "zh" or "en"; default Chinese), set by `GET /lang/{zh|en}?next=...`; the static
bidder page reads the same table from `/i18n.js` and keeps the choice in localStorage too.
Codes' messages stay in auction/domain/codes.py (Chinese, then English).
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.domain.china import to_cst

COOKIE = "lang"
LANGS = ("zh", "en")
DEFAULT = "zh"

LABELS: dict[str, tuple[str, str]] = {
    # the layout
    "product": ("国有建设用地使用权网上交易", "Online trading of state-owned construction land use rights"),
    "product.short": ("国有建设用地使用权网上交易", "Land use rights online trading"),
    "center": ("曲靖市公共资源交易中心", "Qujing Public Resource Trading Center"),
    "nav.home": ("首页", "Home"),
    "nav.hall": ("交易大厅", "Trading hall"),
    "nav.announcements": ("出让公告", "Announcements"),
    "nav.results": ("结果公示", "Results"),
    "nav.bid": ("竞买人报价", "Bidder page"),
    "nav.console": ("交易中心操作台", "Operator console"),
    "nav.sessions": ("交易场次", "Sessions"),
    "nav.plans": ("供地方案", "Plans"),
    "nav.deadlines": ("期限看板", "Deadlines"),
    "nav.audit": ("操作审计", "Audit trail"),
    "nav.sign_out": ("退出登录", "Sign out"),
    "lang.switch": ("语言", "Language"),
    "skip": ("跳到正文", "Skip to content"),
    "footer.times": ("时间均为北京时间（UTC+8），倒计时以服务器时钟为准",
                     "Times in China Standard Time (UTC+8); countdowns follow the server's clock"),
    "footer.amounts": ("金额以万元显示，括注精确到分", "Amounts in 万元 with the exact fen"),
    "console.title": ("操作台", "Console"),
    "not_found.title": ("页面未找到", "Page not found"),
    "not_found.text": ("您访问的页面不存在或已被移除。", "The page you asked for does not exist or was removed."),
    "back.home": ("返回首页", "Back to the home page"),
    "unavailable": ("服务暂不可用，请稍后再试。", "The service is unavailable; please try again later."),
    "none_yet": ("暂无", "None yet"),
    # the home page
    "home.intro": ("网上挂牌、拍卖出让国有建设用地使用权：公告、实时交易、结果公示。",
                   "Listing and auction of state-owned construction land use rights online: "
                   "announcements, live trading, results."),
    "home.hall": ("查看今日及近期交易场次，实时旁观竞价", "Today's and coming sessions, watched live"),
    "home.bid": ("以竞买凭证登录报价", "Sign in with your bidding token to bid"),
    "home.console": ("交易中心工作人员登录", "For the trading center's staff"),
    "home.documents": ("出让公告与成交结果", "Announcements and results"),
    # the hall
    "hall.title": ("交易大厅", "Trading hall"),
    "hall.intro": ("公开旁观：只显示匿名竞买号与公开报价，底价在交易结束前保密。",
                   "Public view: anonymous bidder numbers and public bids only; the reserve stays sealed "
                   "until the close."),
    "hall.today": ("今日交易", "Today"),
    "hall.upcoming": ("即将开始", "Upcoming"),
    "hall.closed": ("近期结束", "Recently closed"),
    "hall.empty": ("暂无交易场次", "No sessions"),
    "hall.watch": ("实时旁观", "Watch live"),
    "hall.view": ("查看", "View"),
    "hall.back": ("返回交易大厅", "Back to the trading hall"),
    "hall.live_note": ("本页以旁观者身份实时接收交易动态，不能报价。竞买人请到竞买人报价页登录。",
                       "This page follows the session as a watcher and cannot bid. Bidders sign in on "
                       "the bidder page."),
    "col.session": ("场次", "Session"),
    "col.parcel": ("地块名称", "Parcel"),
    "col.location": ("坐落", "Location"),
    "col.area": ("面积（公顷）", "Area (ha)"),
    "col.method": ("出让方式", "Method"),
    "col.start_price": ("起始价", "Starting price"),
    "col.increment": ("增价幅度", "Increment"),
    "col.start_at": ("开始时间", "Starts"),
    "col.end_at": ("挂牌截止", "Listing ends"),
    "col.phase": ("状态", "Status"),
    "col.highest": ("当前价", "Current price"),
    "col.bids": ("报价次数", "Bids"),
    "col.created": ("创建时间", "Created"),
    "col.next": ("下一时点", "Next deadline"),
    "col.seq": ("序号", "Seq"),
    "col.time": ("时间", "Time"),
    "col.bidder": ("竞买号", "Bidder no."),
    "col.amount": ("金额", "Amount"),
    "live.phase": ("交易阶段", "Phase"),
    "live.highest": ("当前最高价", "Current price"),
    "live.min_next": ("最低可报价", "Minimum next bid"),
    "live.time_left": ("剩余时间", "Time left"),
    "live.until_start": ("距开始", "Starts in"),
    "live.server_time": ("服务器时间", "Server time"),
    "live.bidder_no": ("竞买号", "Bidder no."),
    "live.increment": ("增价幅度", "Increment"),
    "live.bid_count": ("报价次数", "Bids"),
    "live.ladder": ("报价记录", "Bid ladder"),
    "live.events": ("交易动态", "Session events"),
    "live.outcome": ("交易结果", "Outcome"),
    "live.terms": ("宗地与交易条件", "Parcel and terms"),
    "live.connecting": ("正在连接…", "Connecting…"),
    "live.live": ("实时", "Live"),
    "live.reconnecting": ("连接中断，正在重连…", "Reconnecting…"),
    "live.no_bids": ("尚无报价", "No bids yet"),
    "live.sold": ("成交", "Sold"),
    "live.unsold": ("流拍", "Not sold"),
    "live.winner": ("竞得人竞买号", "Winner's number"),
    "live.price": ("成交价", "Price"),
    "term.method": ("出让方式", "Method"),
    "term.start_price": ("起始价", "Starting price"),
    "term.increment": ("增价幅度", "Increment"),
    "term.deposit": ("竞买保证金", "Deposit"),
    "term.start_at": ("开始时间", "Starts"),
    "term.listing_end": ("挂牌截止", "Listing ends"),
    "term.countdown": ("倒计时时长", "Countdown"),
    "term.reserve": ("底价", "Reserve"),
    "term.session": ("交易场次", "Session"),
    "term.parcel": ("地块", "Parcel"),
    "term.parcel_no": ("宗地编号", "Parcel no."),
    "term.location": ("坐落", "Location"),
    "term.area": ("面积", "Area"),
    "term.land_use": ("用途", "Land use"),
    "term.term_years": ("出让年限", "Term"),
    "term.plot_ratio": ("容积率", "Plot ratio"),
    "term.registration": ("登记截止", "Registration closes"),
    "term.commitment": ("底价承诺值", "Reserve commitment"),
    "reserve.sealed": ("有底价（保密，交易结束时公开并可校验）", "Sealed (secret until the close, then checkable)"),
    "reserve.none": ("无底价，以起始价为底价（第二十八条）", "None: the starting price stands in (Q28)"),
    "reserve.not_sealed": ("尚未密封", "Not yet sealed"),
    "method.LISTING": ("挂牌", "Listing"),
    "method.AUCTION": ("拍卖", "Auction"),
    "method.TENDER": ("招标", "Tender"),
    "phase.NEW": ("新建", "New"),
    "phase.SCHEDULED": ("未开始", "Scheduled"),
    "phase.LISTING": ("挂牌期", "Listing"),
    "phase.TIMED_BIDDING": ("限时竞价", "Timed bidding"),
    "phase.AUCTION": ("拍卖", "Auction"),
    "phase.SUSPENDED": ("中止", "Suspended"),
    "phase.CLOSED": ("已结束", "Closed"),
    "phase.HELD": ("暂缓处理", "Held"),
    "phase.TERMINATED": ("终止", "Terminated"),
    # the console's sessions pages
    "sessions.title": ("交易场次", "Trading sessions"),
    "sessions.none": ("尚无交易场次", "No sessions yet"),
    "session.title": ("交易场次", "Session"),
    "session.export": ("事件日志导出", "Export the event log"),
    "session.bidders": ("竞买人", "Bidders"),
    "session.control": ("场次控制", "Session control"),
    "session.trail": ("操作审计（本场次）", "Operator actions on this session"),
    "session.terms": ("交易条件", "Terms"),
    "seconds": ("秒", "s"),
    # the bidder page (static: read by JavaScript from /i18n.js)
    "bid.title": ("竞买人报价", "Bidder page"),
    "bid.signin": ("竞买人登录", "Bidder sign-in"),
    "bid.signin_help": ("请输入交易中心发放的竞买凭证（取得竞买资格后获得，仅限本宗地本场次）。",
                        "Enter the bidding token the trading center gave you (valid for one session)."),
    "bid.token": ("竞买凭证", "Bidding token"),
    "bid.signin_button": ("登录", "Sign in"),
    "bid.place": ("报价", "Place a bid"),
    "bid.my_no": ("竞买号", "Your number"),
    "bid.amount": ("报价金额（万元）", "Amount in 万元"),
    "bid.use_min": ("填入最低可报价", "Minimum"),
    "bid.submit": ("提交报价", "Bid"),
    "bid.confirm": ("请确认报价", "Confirm your bid"),
    "bid.confirm_amount": ("报价金额", "Amount"),
    "bid.confirm_words": ("大写金额", "In words"),
    "bid.irrevocable": ("报价一经提交不可撤回。", "A bid cannot be withdrawn once placed."),
    "bid.confirm_yes": ("确认报价", "Confirm"),
    "bid.confirm_no": ("返回修改", "Back"),
    "bid.mine": ("我的报价", "My accepted bids"),
    "bid.connected": ("已连接，实时更新", "Connected, live"),
    "bid.reconnecting": ("连接中断，正在自动重连，重连后补齐期间的报价…",
                         "Connection lost: reconnecting, missed bids will be filled in"),
    "bid.reserve_box": ("底价", "Reserve"),
    "bid.salt": ("盐值", "Salt"),
    "bid.commitment": ("承诺值", "Commitment"),
}


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGS else DEFAULT


def label(lang: str, key: str) -> str:
    """The label in `lang` (the key itself for an unknown one, so a gap shows, never breaks)."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def both(lang: str, key: str) -> Markup:
    """The chosen language first, the other second and smaller."""
    pair = LABELS.get(key)
    if pair is None:
        return Markup(escape(key))
    first, second = (pair[1], pair[0]) if lang == "en" else pair
    return Markup(f"{escape(first)} <small>{escape(second)}</small>")


def time_text(micros: int | None, lang: str = DEFAULT) -> str:
    """'2026年12月06日 10时00分' (CST), or '2026-12-06 10:00 CST' in English."""
    if micros is None:
        return "—"
    t = to_cst(micros)
    if lang == "en":
        return t.strftime("%Y-%m-%d %H:%M CST")
    return f"{t.year}年{t.month:02d}月{t.day:02d}日 {t.hour:02d}时{t.minute:02d}分"


def local_path(target: str | None) -> str:
    """A path of this site to go back to, nothing else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def context(request: Request) -> dict[str, Any]:
    """For every template (a Jinja2Templates context processor): `lang`, `t(key)`, `tt(key)`,
    `when(micros)` and `here` (this page, for the language switch to come back to)."""
    lang = lang_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "lang": lang,
        "html_lang": "en" if lang == "en" else "zh-CN",
        "t": lambda key: label(lang, key),
        "tt": lambda key: both(lang, key),
        "when": lambda micros: time_text(micros, lang),
        "here": here,
    }


async def switch(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    if lang in LANGS:
        # A preference, not a secret: readable by the static pages' script, sent only to this site.
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax")
    response.headers["cache-control"] = "no-store"
    return response


SCRIPT = "window.AUCTION_I18N = " + json.dumps(LABELS, ensure_ascii=False, sort_keys=True) + ";\n"


async def script(request: Request) -> Response:
    """The same table for the static pages' JavaScript (auction/entrypoints/static/common.js)."""
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "public, max-age=300"})


def routes() -> list[Route]:
    return [Route("/lang/{lang}", switch, methods=["GET"]), Route("/i18n.js", script, methods=["GET"])]
