"""The demo's trading day (`make run`): supply plans at the steps an operator walks
through in the console, the committee that decides their reserves, and something
published on the public pages. README, "A trading day in the browser (演示)".

Everything goes through the services `auction/bootstrap.py` builds, with the legal
periods (Q29's 20 days, Q26's hour before the start): only the clock is the demo's.
The history is written at the times it happened, the clock set back (`DemoClock`),
then the clock follows real time again.

- The committee (Q26): three members whose console user names are their member
  ids (the accounts are `auction/staff/accounts.py`'s demo accounts), each with an
  Ed25519 key file in `var/demo-committee/` (mode 600) that the browser imports on
  the reserve page, its public key registered as `POST /api/committee-members` does.
- `GD-DEMO-{stamp}-A`, sold: drafted 30 days before its auction, committee, approval,
  appraisal, announced 21 days before, three companies paid their deposits (one first
  from another company's account). Bids cannot be backdated (the log takes a bid only
  before the deadline by the database's clock), so its auction runs at start-up: the
  members decide the reserve, it opens half a second later with a 2-second countdown
  (DEMO), four bids, sold; the contract signed and the result published. Its refunds
  (Q31) wait on the deadline board for the operator.
- `GD-DEMO-{stamp}-B`, announced and waiting for the reserve: its auction starts
  in 20 minutes, so the reserve window (the hour before the start) is open; its
  session exists and the same companies have paid. Its bidders are printed with
  the other demo bidders (and kept in the tokens file, so a restart reuses it).
- `GD-DEMO-{stamp}-C`, a draft: the parcel typed in, for the operator to walk from
  the committee meeting on.
- `GD-DEMO-{stamp}-D`, a tender (招标, RULES 6, highest price): announced 21 days before
  its bids opened (a minute before start-up), the reserve decided by the committee in
  the hour before, four companies qualified by their deposits. Two of them have
  sealed their bids already (as clients/tender.py does); the other two are printed
  with their tokens, to bid on the bidder page (`/bid`) or with `clients.tender_cli`.
  Bids close some 20 minutes after start-up and are opened together then (the
  tender's timer): with at least three bids the highest price wins, and the award,
  the contract and the deadlines follow on the tender's console page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from auction.adapters.sealing import signatures
from auction.adapters.sealing.tender_bids import seal_bid
from auction.bootstrap import Runtime
from auction.documents.landchina import Installment, ResultEntry
from auction.domain.china import china_date, chinese_time
from auction.domain.codes import Rejected
from auction.domain.bidding.commands import PlaceBid
from auction.domain.money import format_wan
from auction.domain.plan.parcels import Parcel, PlanningConditions, Readiness
from auction.domain.plan.plan_commands import (
    Announce,
    DraftPlan,
    RecordAppraisal,
    RecordCommitteeMeeting,
    RecordGovernmentApproval,
)
from auction.domain.plan.plan_terms import Announcement, Appraisal, Channel, PlanMethod, Schedule
from auction.domain.bidding.terms import DAY, HOUR, MINUTE, SECOND
from auction.domain.tender.terms import Evaluation
from auction.services.plans import ReserveRequest
from auction.services.tender.service import TenderRequest
from auction.services.runner import now_us
from auction.staff.accounts import DEMO_ACCOUNTS
from auction.staff.roles import Role

WAN = 1_000_000  # fen per 万元
MEMBERS = tuple((username, name) for username, name, role in DEMO_ACCOUNTS if role is Role.COMMITTEE)
OPERATOR = "demo-operator"
COUNTDOWN = 5 * MINUTE
SOLD_STARTS_IN = SECOND // 2  # plan A's auction: at once, with a short countdown (DEMO)
SOLD_COUNTDOWN = 2 * SECOND
STARTS_IN = 20 * MINUTE  # plan B: inside the hour before the start (Q26), time to sign in and sign
FLOOR_PRICE = 450_000  # fen per m² of floor area (区域楼面地价, Q26)
TENDER_OPEN_FOR = 20 * MINUTE  # plan D: bids taken for some 20 minutes from start-up (as plan B starts), then opened
TENDER_SEALED = (3_612_345_600, 3_588_000_000)  # fen (3,612.3456 and 3,588 万元): the two bids the demo seals
PLACE_AND_METHOD = {PlanMethod.AUCTION: "网上拍卖", PlanMethod.TENDER: "网上招标"}


class DemoClock:
    """Real time, unless set back to write the demo's history at the times it happened."""

    def __init__(self) -> None:
        self.at: int | None = None

    def __call__(self) -> int:
        return now_us() if self.at is None else self.at


@dataclass(frozen=True)
class Member:
    member_id: str
    name: str
    key_file: Path


async def committee(runtime: Runtime, folder: Path) -> list[Member]:
    """The demo members' key files (made once, mode 600) and their registered public keys."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    members = []
    for member_id, name in MEMBERS:
        key_file = folder / f"{member_id}.key"
        if not key_file.exists():
            signatures.write_private_key(key_file)
        public = signatures.raw_public(signatures.read_private_key(key_file))
        await runtime.plans.store.register_member(member_id, name, public)
        members.append(Member(member_id, name, key_file))
    return members


def _parcel(no: str, location: str, area_m2: int, land_use: str, benchmark_fen_per_m2: int,
            term_years: int = 70) -> Parcel:
    return Parcel(
        parcel_no=no, location=location, area_m2_hundredths=area_m2 * 100, land_use=land_use, term_years=term_years,
        plot_ratio_min=100, plot_ratio_max=250, benchmark_fen_per_m2=benchmark_fen_per_m2,
        readiness=Readiness(True, True, True, True, True, True),
        planning=PlanningConditions(building_density_max_bp=3000, green_ratio_min_bp=3500, height_limit_cm=8000,
                                    notes="退让道路红线10米"),
        boundaries="东至规划路，南至寥廓路，西至现状用地，北至规划绿地", current_state="净地",
    )


def _draft(plan_id: str, parcel: Parcel, start_price_wan: int) -> DraftPlan:
    return DraftPlan(by=OPERATOR, plan_id=plan_id, parcels=(parcel,), method=PlanMethod.AUCTION,
                     start_price=start_price_wan * WAN, increment=20 * WAN, deposit=start_price_wan * WAN // 5)


async def _to_announced(runtime: Runtime, clock: DemoClock, draft: DraftPlan, start: int,
                        countdown: int = COUNTDOWN, tender: TenderRequest | None = None) -> None:
    """Draft, committee (Q22), approval, appraisal (Q25) and announcement (Q29, 21 days
    before `start`), each at its own moment; then the session (or, with `tender`, the
    tender), the day after."""
    plans, plan_id = runtime.plans, draft.plan_id
    clock.at = start - 30 * DAY
    await plans.draft(draft)
    clock.at = start - 29 * DAY
    present = (*(m for m, _ in MEMBERS), "qj-member-4", "qj-member-5")
    await plans.execute(plan_id, RecordCommitteeMeeting(
        by=OPERATOR, held_at=clock.at - HOUR, chair=MEMBERS[0][0], members_present=present, yes=len(present),
        no=0, abstain=0, chair_spoke_last=True))
    clock.at = start - 27 * DAY
    await plans.execute(plan_id, RecordGovernmentApproval(
        by=OPERATOR, approver="曲靖市人民政府", document_no=f"曲政复〔{china_date(clock.at).year}〕{plan_id[-1]}号",
        approved_at=clock.at - HOUR))
    clock.at = start - 26 * DAY
    area_m2 = draft.parcels[0].area_m2_hundredths // 100
    await plans.execute(plan_id, RecordAppraisal(by=OPERATOR, appraisal=Appraisal(
        appraisal_id="AP-1", agency="云南某土地房地产评估有限公司（演示）", qualification_cert="土估资A2026001",
        filing_no="5303002026000123", valuation_date=china_date(clock.at - DAY),
        valid_until=china_date(start) + timedelta(days=150), unit_price_fen_per_m2=draft.start_price // area_m2,
        total_price_fen=draft.start_price)))
    clock.at = start - 21 * DAY
    schedule = Schedule(start_at=start, listing_end_at=None, deposit_deadline=start - 10 * MINUTE,
                        registration_closes_at=start)
    await plans.execute(plan_id, Announce(by=OPERATOR, announcement=Announcement(
        announcement_no=f"曲公资土告〔{china_date(clock.at).year}〕{plan_id[-1]}号（演示）",
        seller="曲靖市自然资源和规划局", published_at=clock.at, schedule=schedule,
        place_and_method=f"曲靖中心城市国有建设用地使用权网上交易系统，{PLACE_AND_METHOD[draft.method]}",
        application="境内法人、自然人和其他组织均可申请，保证金到账后取得竞买资格",
        contacts="曲靖市公共资源交易中心 0874-0000000", channels=frozenset(Channel))))
    clock.at = start - 20 * DAY
    if tender is not None:
        await runtime.tenders.create_from_plan(plan_id, tender)
    else:
        await plans.create_session(plan_id, countdown)


async def _applicants(runtime: Runtime, clock: DemoClock, plan_id: str, sale_id: str,
                      start: int, companies: int = 3) -> list[dict[str, Any]]:
    """The demo companies apply to the sale (a session or a tender) and pay, days before the
    start (as for the demo auction), each application with the announcement's deposit
    deadline, as the portal and the API give it."""
    from auction import demo

    plan = await runtime.plans.state(plan_id)
    assert plan.schedule is not None and plan.draft is not None
    rows = []
    for n, (name, registration_no) in enumerate(zip(demo.NAMES[:companies], demo.REGISTRATION_NOS, strict=False)):
        clock.at = start - (10 - n) * DAY
        rows.append(await demo.apply_and_pay(runtime.deposits, sale_id, plan.draft.method.value, plan.draft.deposit,
                                             name, registration_no, n == 2, [],
                                             deposit_deadline=plan.schedule.deposit_deadline))
    return rows


async def _decide_reserve(runtime: Runtime, members: list[Member], plan_id: str, amount: int,
                          decided_at: int | None = None) -> None:
    """The members sign the decision with their keys (as their browsers do on the reserve page),
    now or at `decided_at` (with the demo's clock set there); into the plan's session or tender."""
    request = ReserveRequest(by=members[0].member_id, amount=amount, salt=signatures.new_salt(),
                             decided_at=(decided_at or now_us()) - SECOND, members=tuple(m.member_id for m in members),
                             appraisal_id="AP-1", floor_price_fen_per_m2=FLOOR_PRICE)
    record = signatures.decision_bytes(plan_id, **request.decision())
    signed = tuple((m.member_id, signatures.sign(signatures.read_private_key(m.key_file), record)) for m in members)
    await runtime.tenders.decide_reserve(plan_id, replace(request, signatures=signed))


async def _sold(runtime: Runtime, clock: DemoClock, members: list[Member], stamp: int, notes: list[str]) -> None:
    """Plan A: its history written at its own times; its auction (bids cannot be backdated:
    the log takes a bid only before the deadline by the database's clock) runs now, with a
    short countdown; then the contract and the result."""
    start = now_us() + SOLD_STARTS_IN
    plan_id = f"GD-DEMO-{stamp}-A"
    draft = _draft(plan_id, _parcel(f"QJ2026-012-{stamp}", "曲靖市麒麟区珠江源大道以东（演示）", 20_000, "0701",
                                    200_000), 5_000)
    await _to_announced(runtime, clock, draft, start, SOLD_COUNTDOWN)
    session_id = (await runtime.plans.store.session_of(plan_id)) or ""
    bidders = [r["bidder_no"] for r in await _applicants(runtime, clock, plan_id, session_id, start)]
    clock.at = None
    await _decide_reserve(runtime, members, plan_id, 5_050 * WAN)
    await asyncio.sleep(max(0, start - now_us()) / SECOND)
    service = runtime.service
    state = await service.tick(session_id)  # opens (RULES 5)
    price = draft.start_price
    try:
        for n, bidder_no in enumerate((*bidders, bidders[0])):
            await service.execute(session_id, PlaceBid(bidder_no, f"demo-{n}", price))
            price += draft.increment
    except Rejected:  # a machine slow enough to miss the countdown: the session closes as it stands
        pass
    while not state.final:
        await asyncio.sleep(0.2)
        state = await service.tick(session_id)
    clock.at = None
    if state.closed is not None and state.closed.outcome == "SOLD" and state.closed.price is not None:
        await runtime.deadlines.contract_signed(session_id, by=OPERATOR, signed_at=now_us())  # Q42
        await runtime.publisher.record_supervision_no(plan_id, f"5303002026B{stamp % 100_000:05d}", OPERATOR)
        await runtime.publisher.publish_result(plan_id, _entry(runtime, state.closed.price), by=OPERATOR, now=now_us())
        words = f"成交 {format_wan(state.closed.price)}，结果已公示 / sold, result published"
    else:
        await runtime.publisher.publish_unsold(plan_id, by=OPERATOR, now=now_us())
        words = "流拍，结果已公示 / not sold, result published"
    notes.append(f"{plan_id}: 刚刚拍卖（演示倒计时 {SOLD_COUNTDOWN // SECOND} 秒），{words} (session {session_id})")


async def _tender(runtime: Runtime, clock: DemoClock, members: list[Member], stamp: int,
                  notes: list[str]) -> list[dict[str, Any]]:
    """Plan D, a tender with its bids open: its history written at its own times; two of the
    four qualified companies seal their bids now (as their clients would); the other two are
    returned, with their tokens, for the browser."""
    now = now_us()
    start = now - MINUTE  # bids open
    deadline = (now + TENDER_OPEN_FOR) // MINUTE * MINUTE
    plan_id = f"GD-DEMO-{stamp}-D"
    draft = replace(_draft(plan_id, _parcel(f"QJ2026-052-{stamp}", "曲靖市麒麟区太和街道学府路南侧（演示）", 14_000,
                                            "0701", 190_000), 3_500), method=PlanMethod.TENDER)
    await _to_announced(runtime, clock, draft, start, tender=TenderRequest(
        bid_deadline=deadline, opening_at=deadline, evaluation=Evaluation.HIGHEST_PRICE, reserve=None))
    tender_id = (await runtime.tenders.store.tender_of(plan_id)) or ""
    clock.at = start - 30 * MINUTE  # Q26: in the hour before bids open
    await _decide_reserve(runtime, members, plan_id, 3_550 * WAN, decided_at=clock.at)
    rows = await _applicants(runtime, clock, plan_id, tender_id, start, companies=4)
    clock.at = None
    escrow = runtime.tenders.sealer.public_hex
    for row, price in zip(rows, TENDER_SEALED, strict=False):
        sealed = seal_bid(escrow, tender_id, row["bidder_no"], price)
        await runtime.tenders.submit(tender_id, row["bidder_no"], sealed.commitment, sealed.envelope)
    left = rows[len(TENDER_SEALED):]
    notes.append(f"{plan_id}: 招标（价高者得），投标进行中，{len(TENDER_SEALED)} 家已密封投标，另 {len(left)} 家的凭证见下，"
                 f"在竞买页面 /bid 投标；{chinese_time(deadline)} 投标截止并统一开标（有效投标不少于三家） / a tender "
                 f"(highest price) taking sealed bids: {len(TENDER_SEALED)} companies have bid, the other {len(left)} "
                 f"below may bid on /bid; bids close and are opened together at {chinese_time(deadline)} CST (at least "
                 f"three valid bids): tender {tender_id}")
    return left


def _entry(runtime: Runtime, price: int) -> ResultEntry:
    """What the operator types from the signed contract (the result's fields, Q29)."""
    day = china_date(now_us())
    return ResultEntry(
        region_code=runtime.settings.region_code, project_name="珠江源大道住宅项目（演示）", land_source="现有建设用地",
        industry="房地产业", land_grade="二级",
        installments=(Installment(1, day + timedelta(days=30), price // 2, "首期50%"),
                      Installment(2, day + timedelta(days=180), price - price // 2)),
        delivery_date=day + timedelta(days=60), construction_start_date=day + timedelta(days=240),
        completion_date=day + timedelta(days=1100), contract_date=day)


def key_notes(members: list[Member]) -> list[str]:
    return ["委员会成员的签名密钥（在底价页面导入） / the committee members' signing keys (import on the reserve "
            "page, /console/plans/{plan}/reserve):", *(f"  {m.member_id} ({m.name}): {m.key_file}" for m in members)]


async def create(runtime: Runtime, clock: DemoClock, members: list[Member], stamp: int,
                 notes: list[str]) -> list[dict[str, Any]]:
    """The demo's plans; returns the bidders of plan B's session and plan D's tender who have
    not bid (for the tokens file)."""
    try:
        await _sold(runtime, clock, members, stamp, notes)
        now = now_us()
        start = (now + STARTS_IN) // MINUTE * MINUTE + MINUTE
        plan_b = f"GD-DEMO-{stamp}-B"
        await _to_announced(runtime, clock, _draft(plan_b, _parcel(
            f"QJ2026-031-{stamp}", "曲靖市沾益区西平街道龙华路北侧（演示）", 16_000, "0701", 180_000), 4_000), start)
        session_id = (await runtime.plans.store.session_of(plan_b)) or ""
        notes.append(f"{plan_b}: 已公告，三家竞买人已交保证金，等待委员会在开始前一小时内确定底价（第二十六条） / announced, "
                     f"three bidders paid their deposits, waiting for the committee's reserve decision (Q26): "
                     f"session {session_id}")
        rows = await _applicants(runtime, clock, plan_b, session_id, start)
        rows += await _tender(runtime, clock, members, stamp, notes)
        clock.at = now
        plan_c = f"GD-DEMO-{stamp}-C"
        await runtime.plans.draft(_draft(plan_c, _parcel(
            f"QJ2026-040-{stamp}", "曲靖市麒麟区南宁街道三江大道东侧（演示）", 12_000, "0501", 150_000, 40), 3_000))
        notes.append(f"{plan_c}: 草案，从委员会会审开始走一遍 / a draft to walk from the committee meeting on")
    finally:
        clock.at = None
    return rows

