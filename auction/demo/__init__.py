"""Demo data for `make run`: one listing and one auction, four demo bidders each.

DEMO ONLY: time is compressed (a 10-minute listing instead of the legal 10 days,
N Art.18) so a person can watch a whole session. Sessions are created through
the same service as the operator API's stand-in path.

On a restart the demo first says which demo sessions it left and in what state
(open, suspended, closed). It goes back into any that has not ended, printing
the tokens it kept (never drawing new ones over them), and creates a new pair
only when every earlier one has ended, saying so.

The auction's bidders qualify the real way (RULES 3.4, Q31): each applies, gets
a sub-account, and the bank reports the deposit arriving on it; one of them
first pays from another company's account, which is held for refund (refunded
after the close with the losers' deposits, Q31). The listing's bidders are
qualified by the stand-in (no deposit), as the operator API's demo path does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from auction.domain.china import CST, china_date, chinese_time
from auction.domain.codes import MESSAGES, Rejected
from auction.domain.bidding.commands import CreateSession
from auction.domain.deposit.deposits import Payment
from auction.domain.money import format_wan
from auction.domain.bidding.session import FINAL_PHASES, PHASE_WORDS, Phase, SessionState, recovery_suspension
from auction.domain.bidding.terms import MINUTE, SECOND, Method, SessionRules, SessionTerms
from auction.domain.tender.status import TenderStatus, tender_status
from auction.domain.tender.tender import TenderState
from auction.domain.tender.tender import recovery_suspension as tender_recovery
from auction.entrypoints.http.i18n import LABELS
from auction.services.deposits import DepositService
from auction.services.registration import qualify
from auction.services.session import SessionService
from auction.services.tender import TenderService
from auction.settings import Settings
from auction.store import nodes
from auction.demo import day as demo_day
from auction.bootstrap import Runtime
from auction.demo.day import DemoClock

WAN = 1_000_000  # fen per 万元
NAMES = ["云岭置业有限公司", "珠江城建集团有限公司", "麒麟房地产开发有限公司", "南盘江投资有限公司"]
# Unified social credit codes (统一社会信用代码) of the demo companies: made up, in the right shape.
REGISTRATION_NOS = ["91530300DEMO00001A", "91530300DEMO00002B", "91530300DEMO00003C", "91530300DEMO00004D"]
TOKEN_TTL = timedelta(days=30)
METHOD_WORDS = {"LISTING": "挂牌 / listing", "AUCTION": "拍卖 / auction", "TENDER": "招标 / tender"}


@dataclass
class Demo:
    """What `make run` prints: the bidders of the demo sessions in play, and what happened."""

    rows: list[dict[str, Any]] = field(default_factory=list)  # session_id, method, bidder_no, legal_name, token
    notes: list[str] = field(default_factory=list)  # lines to print, Chinese first


async def load(runtime: Runtime, clock: DemoClock, settings: Settings, tokens_file: Path) -> Demo:
    """Go back into the demo sessions left open or suspended; else create a new pair
    (and the demo's supply plans, auction/demo/day.py)."""
    members = await demo_day.committee(runtime, settings.data_dir / "demo-committee")
    demo = await _sessions(runtime, clock, settings, tokens_file, members)
    demo.notes += demo_day.key_notes(members)
    return demo


async def _sessions(runtime: Runtime, clock: DemoClock, settings: Settings, tokens_file: Path,
                    members: list[demo_day.Member]) -> Demo:
    service = runtime.service
    demo = Demo()
    if tokens_file.exists():
        rows: list[dict[str, Any]] = json.loads(tokens_file.read_text())
        ended = await _earlier(service, runtime.tenders, rows, demo.notes)
        if not all(ended.values()):
            demo.rows = [r for r in rows if not ended.get(r["session_id"], True)]
            demo.notes.append(f"继续使用未结束的演示场次，凭证不变（见 {tokens_file}） / going back into the demo "
                              f"sessions that have not ended, same tokens (in {tokens_file})")
            return demo
        demo.notes.append("上次的演示场次均已结束，新建一对演示场次和凭证 / the earlier demo sessions have all "
                          "ended: creating a new pair, with new tokens")
    else:
        demo.notes.append("尚无演示场次，新建一对 / no demo sessions yet: creating a pair")
    stamp = service.clock() // SECOND % 1_000_000
    demo.rows = await _create(runtime, settings, demo.notes, stamp)
    demo.rows += await demo_day.create(runtime, clock, members, stamp, demo.notes)
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(demo.rows, ensure_ascii=False, indent=1))
    tokens_file.chmod(0o600)
    return demo


async def _earlier(service: SessionService, tenders: TenderService, rows: list[dict[str, Any]],
                   notes: list[str]) -> dict[str, bool]:
    """Each earlier demo session -> whether it has ended; its state said in `notes`."""
    last_alive = await nodes.last_beat(service.store.pool)
    now = service.clock()
    ended: dict[str, bool] = {}
    notes.append("上次的演示场次 / the demo sessions left from the last run:")
    for session_id, method in dict.fromkeys((r["session_id"], r["method"]) for r in rows):
        try:
            if method == "TENDER":
                tender = await tenders.state(session_id)
                ended[session_id] = tender.final
                notes.append(f"  {session_id}: {_tender_words(tender, last_alive, now)}")
                continue
            state = await service.state(session_id)
        except Rejected:
            ended[session_id] = True
            notes.append(f"  {session_id}: 数据库中已不存在 / no longer in the database")
            continue
        ended[session_id] = state.final
        notes.append(f"  {session_id}: {_state_words(state, last_alive, now)}")
    return ended


def _tender_words(state: TenderState, last_alive: int | None, now: int) -> str:
    """The tender's status in the words its pages use (labels.toml `tender.status.*`), with the time
    those words name (the bid deadline while bids are taken, the opening once they are closed, since
    when it is suspended); and, as a session's, what start-up will do about an outage (RULES 6.7)."""
    status = tender_status(state, now)
    chinese, english = LABELS[f"tender.status.{status.status.value}"]
    if status.at is None:
        words = f"招标，{chinese} / tender: {english}"
    else:
        at_chinese, at_english = LABELS[f"tender.status_at.{status.status.value}"]
        words = (f"招标，{chinese}（{at_chinese} {chinese_time(status.at)}） / tender: {english} ({at_english} "
                 f"{chinese_time(status.at)} CST)")
    if status.status is TenderStatus.SUSPENDED:
        words += f"；{RESUME_TENDER[0]} / {RESUME_TENDER[1]}"
    elif last_alive is not None and tender_recovery(state, last_alive, now) is not None:
        words += (f"；服务器停机期间已过投标截止时间，启动时将中止，不开标（RULES 6.7），{RESUME_TENDER[0]} / its bid "
                  f"deadline passed while the server was down: it is suspended at start, not opened; {RESUME_TENDER[1]}")
    return words


# What the operator does with a suspended tender (RULES 6.7), in both languages.
RESUME_TENDER = ("由操作员在操作台的招标页定出新的投标截止时间和开标时间后恢复，或经操作员接口终止招标",
                 "the operator resumes it on the console's tender page with a new bid deadline and opening, or "
                 "terminates it through the operator API")


def _state_words(state: SessionState, last_alive: int | None, now: int) -> str:
    method = METHOD_WORDS.get(state.terms.method.value, "") if state.terms else ""
    if state.phase in FINAL_PHASES:
        if state.phase is Phase.TERMINATED:
            return f"{method}，已终止 / terminated"
        outcome = state.closed
        if outcome is not None and outcome.outcome == "SOLD":
            return (f"{method}，已结束：成交，竞买号 {outcome.winner_bidder_no}，{format_wan(outcome.price or 0)} / "
                    "closed: sold")
        return f"{method}，已结束：流拍 / closed: not sold"
    if state.phase is Phase.SUSPENDED:
        return f"{method}，已中止，由操作员在操作台恢复（RULES 7） / suspended: the operator resumes it in the console"
    if state.phase is Phase.HELD:
        return f"{method}，结果暂缓，等待交易中心处理 / held for the trading center"
    words = f"{method}，未结束（{PHASE_WORDS.get(state.phase.value, state.phase.value)}） / open"
    if last_alive is not None and recovery_suspension(state, last_alive, now) is not None:
        words += ("；服务器停机期间已过截止时间，启动时将中止，由操作员恢复（RULES 7.5） / its deadline passed while the "
                  "server was down: it is suspended at start, and the operator resumes it")
    return words


async def _create(runtime: Runtime, settings: Settings, notes: list[str], stamp: int) -> list[dict[str, Any]]:
    service, deposits = runtime.service, runtime.deposits
    now = service.clock()
    rules = replace(settings.rules, min_listing_period=0)  # DEMO: compressed time
    listing = SessionTerms(
        session_id=f"DEMO-L-{stamp}", parcel_ref="曲靖市麒麟区 QJ2026-017 号地块（演示）",
        method=Method.LISTING, start_price=8_000 * WAN, increment=50 * WAN, deposit=1_600 * WAN,
        start_at=now + 10 * SECOND, listing_end_at=now + 10 * MINUTE, countdown=2 * MINUTE,
        registration_closes_at=now + 10 * SECOND, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    auction = SessionTerms(
        session_id=f"DEMO-A-{stamp}", parcel_ref="曲靖市沾益区 QJ2026-021 号地块（演示）",
        method=Method.AUCTION, start_price=3_000 * WAN, increment=20 * WAN, deposit=600 * WAN,
        start_at=now + 3 * MINUTE, listing_end_at=None, countdown=5 * MINUTE,
        registration_closes_at=now + 3 * MINUTE, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    rows = []
    await service.create(CreateSession(listing), 8_100 * WAN)
    for name in NAMES:
        q = await qualify(service, listing.session_id, name, TOKEN_TTL)
        rows.append({"session_id": listing.session_id, "method": listing.method.value, "bidder_no": q.bidder_no,
                     "legal_name": name, "token": q.token})
    await service.create(CreateSession(auction), None)
    notes.append(f"{auction.session_id}: 竞买申请与保证金（RULES 3.4，第三十一条） / applications and deposits:")
    for n, (name, registration_no) in enumerate(zip(NAMES, REGISTRATION_NOS, strict=True)):
        rows.append(await apply_and_pay(deposits, auction.session_id, auction.method.value, auction.deposit, name,
                                        registration_no, n == len(NAMES) - 1, notes))
    await hall_sessions(service, rules, now, stamp)
    return rows


async def apply_and_pay(deposits: DepositService, sale_id: str, method: str, deposit: int, name: str,
                        registration_no: str, held_first: bool, notes: list[str],
                        deposit_deadline: int | None = None) -> dict[str, Any]:
    """One applicant to a sale (a session or a tender): a sub-account, the bank's report of the
    deposit arriving on it, the token. `held_first`: paid first from another company's account,
    which is held for refund (Q31). `deposit_deadline`: the announced one of a plan's sale (else
    the registration close)."""
    app = await deposits.apply(sale_id, legal_name=name, registration_no=registration_no, kind="COMPANY",
                               default_deadline=deposit_deadline)
    if held_first:
        held = await deposits.receive(Payment(f"DEMO-{app.sub_account}-1", app.sub_account, deposit,
                                              "曲靖某某贸易有限公司", deposits.clock()))
        reason = MESSAGES[held.code] if held.code else ""
        notes.append(f"  {name}: 子账户 {app.sub_account} 收到 {format_wan(deposit)}，付款人为另一公司，"
                     f"不计入保证金，交易结束后退还 / arrived from another company's account: held for refund "
                     f"after the close ({reason})")
    await deposits.receive(Payment(f"DEMO-{app.sub_account}-2", app.sub_account, deposit, name, deposits.clock()))
    token = await deposits.issue_token(app.application_id, by="demo")
    notes.append(f"  {name}: 保证金 {format_wan(deposit)} 已到账子账户 {app.sub_account}，取得竞买资格，"
                 f"竞买号 {token.bidder_no} / deposit arrived: qualified")
    return {"session_id": sale_id, "method": method, "bidder_no": token.bidder_no, "legal_name": name,
            "token": token.token}


async def hall_sessions(service: SessionService, rules: SessionRules, now: int, stamp: int) -> None:
    """Two more sessions for the public trading hall (/hall), without bidders: an auction
    tomorrow at 10:00 CST (upcoming) and one due to open at once which, with no qualified
    bidder, is terminated at its start (TOO_FEW_QUALIFIED_BIDDERS, RULES 5.4: recently ended). Not in the tokens file:
    a restart keeps reusing the demo sessions while those are open."""
    tomorrow = datetime.combine(china_date(now) + timedelta(days=1), time(10), CST)
    start = int(tomorrow.timestamp()) * SECOND
    upcoming = SessionTerms(
        session_id=f"DEMO-U-{stamp}", parcel_ref="曲靖市马龙区 QJ2026-025 号地块（演示）",
        method=Method.AUCTION, start_price=5_200 * WAN, increment=30 * WAN, deposit=1_040 * WAN,
        start_at=start, listing_end_at=None, countdown=5 * MINUTE,
        registration_closes_at=start, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    brief = SessionTerms(
        session_id=f"DEMO-C-{stamp}", parcel_ref="曲靖市陆良县 QJ2026-009 号地块（演示）",
        method=Method.AUCTION, start_price=1_200 * WAN, increment=10 * WAN, deposit=240 * WAN,
        start_at=now + 5 * SECOND, listing_end_at=None, countdown=MINUTE,
        registration_closes_at=now + 5 * SECOND, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    for terms in (upcoming, brief):
        await service.create(CreateSession(terms), None)
