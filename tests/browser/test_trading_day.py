"""The whole trading day in the browser: one parcel from the draft supply plan to the
published result, through pages only, in real Chromium against a server in
production mode (no stand-ins) with the real escrow key, locked until the
operator unlocks it.

The operator drafts the plan and records each step in the console; three committee
members, each in a browser of their own, make their signing keys there, the
operator registers the public keys, and they seal and sign the reserve (Q26); two
companies register in the bidders' portal, apply, pay the deposit (the fake bank's
notification: the only request here that is not a page's), see themselves
qualified and bid on the bidding page; after the close the operator sees the
outcome, the 成交确认书 and the result's delivery per channel (a test receiver),
and the public pages show the result.

Time is compressed by the server's settings as in tests/e2e/plan_flow.py: the
announcement period is seconds, the reserve window an hour. The start is set
after the steps before it took their time, with room for as much again, and the
test waits on page conditions, never on the clock. Every page is saved as
var/screenshots/day-NN-*.png (1366x768).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from auction.staff.accounts import add_user
from auction.staff.roles import Role
from loadtests.harness import ROOT, TEST_ESCROW_PASSPHRASE
from tests.browser.pages import TIMEOUT_MS, collect_errors, console_sign_in, cst_input, in_china, place_bid
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank
from tests.e2e.console_helpers import Account, make_accounts
from tests.e2e.helpers import WAN
from tests.e2e.publication_receiver import Receiver
from tests.e2e.test_portal import PASSWORD, new_uscc

VIEWPORT = {"width": 1366, "height": 768}
ANNOUNCEMENT_SECONDS = 5  # Q29's 20 days, compressed
COUNTDOWN = 15  # seconds after each accepted bid (RULES 4.5)
DEPOSIT_WAN = 1000
RESERVE_WAN = "5600.123456"  # above the benchmark (4,000 万元), below the winning bid
READINESS = ("compensation_settled", "no_legal_dispute", "title_clear", "old_certificate_cancelled",
             "planning_conditions_set", "development_ready")
COMPANIES = ("曲靖市麒麟城投置业有限公司", "云南珠江源房地产开发有限公司")
SUPERVISION_NO = "5303022026B00123"
SLOW_MS = 120_000  # a bound for what waits on the server's clock or workers, not a measure


@dataclass
class Day:
    """The day's browsers and its screenshots, numbered in the order the pages were seen."""

    browser: Browser
    directory: Path
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    count: int = 0

    async def page(self, who: str) -> Page:
        context = await in_china(self.browser, VIEWPORT)
        self.contexts.append(context)
        page = await context.new_page()
        self.errors[who] = collect_errors(page)
        return page

    async def shot(self, page: Page, name: str) -> None:
        self.count += 1
        await page.screenshot(path=str(self.directory / f"day-{self.count:02d}-{name}.png"), full_page=True)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The China Land Market website (JSON) and the provincial platform (XML), answering at once."""
    r = Receiver(keys={"landchina": b"landchina-hmac-key-0123456789", "province": b"province-hmac-key-abcdefgh"},
                 formats={"landchina": "json", "province": "xml"}, failing=False)
    await r.start()
    yield r
    await r.stop()


def escrow_key_ceremony(directory: Path) -> dict[str, str]:
    """The custodians make the escrow key with its passphrase; the server starts without it."""
    keys = {"AUCTION_ESCROW_KEY": str(directory / "escrow.key"), "AUCTION_ESCROW_PUBLIC_KEY": str(directory / "escrow.pub")}
    subprocess.run([sys.executable, "-m", "auction.cli", "keys", "init"], check=True, cwd=ROOT, capture_output=True,
                   env={**os.environ, **keys, "AUCTION_ESCROW_PASSPHRASE": TEST_ESCROW_PASSPHRASE})
    return {**keys, "AUCTION_ESCROW_PASSPHRASE": ""}


async def submitted(page: Page, done: str) -> None:
    await page.wait_for_url(re.compile(rf"/console/plans/[^/?]+\?done={done}$"), timeout=TIMEOUT_MS)
    await expect(page.locator("#done")).to_have_attribute("data-done", done)


async def fill(page: Page, by_label: dict[str, str]) -> None:
    for label, value in by_label.items():
        await page.get_by_label(label).fill(value)


async def draft_to_appraisal(day: Day, op: Page, members: list[str]) -> str:
    """The operator's plan, drafted and taken through the committee, the approval and the appraisal."""
    await op.click("#new-plan")
    await expect(op.locator("#new-form")).to_be_visible()
    plan_id = f"GD-DAY-{uuid.uuid4().hex[:6].upper()}"
    await op.get_by_label("方案编号").fill(plan_id)
    await op.get_by_label("出让方式").select_option("AUCTION")
    await fill(op, {"起始价（万元）": "5000", "增价幅度（万元）": "10", "竞买保证金（万元）": str(DEPOSIT_WAN),
                    "宗地编号": f"QJ2026-{plan_id[-6:]}", "坐落": "曲靖市麒麟区珠江源大道以东、寥廓南路以北",
                    "出让年限（年）": "70", "容积率下限": "1.0", "容积率上限": "2.5",
                    "基准地价（元/m²）": "2000", "建筑限高（m）": "80", "四至": "东至规划路，南至寥廓路，西至现状用地，北至规划绿地",
                    "现状": "净地"})
    await op.get_by_label(re.compile("^面积（m²）")).fill("20000")  # the land's area (not 建筑面积（m²）)
    await op.get_by_label("用途（GB/T 21010）").select_option("0701")
    for name in READINESS:
        await op.check(f"#f-readiness_{name}")
    await day.shot(op, "plan-draft")
    await op.click("#submit-button")
    await submitted(op, "new")
    await day.shot(op, "plan-drafted")

    await op.wait_for_timeout(1100)  # the meeting's default time is when its form is drawn: after the draft
    await op.click("#next-form")
    await fill(op, {"主持人（成员编号）": members[0], "到会成员（成员编号，逗号或换行分隔）": ", ".join(members),
                    "赞成": str(len(members)), "反对": "0"})
    await op.check("#f-chair_spoke_last")
    await day.shot(op, "plan-committee")
    await op.click("#submit-button")
    await submitted(op, "committee")

    await op.click("#next-form")
    await fill(op, {"批准机关": "曲靖市人民政府", "批复文号": "曲政复〔2026〕88号"})
    await day.shot(op, "plan-approval")
    await op.click("#submit-button")
    await submitted(op, "approval")

    await op.click("#form-link-appraisal")
    await fill(op, {"估价机构": "云南某土地房地产评估有限公司", "资质证书编号": "土估资A2026001",
                    "电子备案号": "5301262026000123", "评估单价（元/m²）": "2800", "评估总价（万元）": "5600"})
    await day.shot(op, "plan-appraisal")
    await op.click("#submit-button")
    await submitted(op, "appraisal")
    return plan_id


async def member_key(day: Day, page: Page, base: str, account: Account, plan_id: str) -> str:
    """A member signs in, opens the plan's reserve page and makes a key in this browser."""
    await console_sign_in(page, base, account)
    await page.goto(f"{base}/console/plans/{plan_id}")
    await page.click("#stage-reserve-link")  # the plan's timeline leads to the reserve page
    await expect(page.locator("#key-panel")).to_be_visible()
    # The panel's script has run once it says which key this browser holds (before that, "…"): a
    # click on the button earlier, while the page's scripts still load, would do nothing.
    await expect(page.locator("#key-status")).not_to_have_text("…", timeout=TIMEOUT_MS)
    await page.click("#key-generate")
    await expect(page.locator("#key-status")).to_have_attribute("data-match", "unregistered", timeout=TIMEOUT_MS)
    return (await page.text_content("#key-public") or "").strip()


async def register_company(day: Day, page: Page, base: str, name: str, index: int) -> None:
    await page.goto(f"{base}/portal/register")
    await page.fill("#legal_name", name)
    await page.fill("#uscc", new_uscc())
    await page.fill("#contact_name", "李经理" if index == 0 else "王经理")
    await page.fill("#contact_phone", f"1381234567{index}")
    await page.fill("#password", PASSWORD)
    await page.fill("#password_again", PASSWORD)
    await day.shot(page, f"portal-register-{index + 1}")
    await page.click("#register")
    await expect(page.locator("#company")).to_have_text(name, timeout=TIMEOUT_MS)


async def apply(day: Day, page: Page, plan_id: str, index: int) -> str:
    """The company applies for the parcel: its deposit sub-account."""
    await page.reload()
    parcel = page.locator(f"#parcel-{plan_id}")
    await expect(parcel).to_contain_text(f"{DEPOSIT_WAN} 万元")
    await day.shot(page, f"portal-parcels-{index + 1}")
    await parcel.locator("form.apply-form button").click()
    await expect(page.locator("#application")).to_have_attribute("data-status", "AWAITING_DEPOSIT", timeout=TIMEOUT_MS)
    await day.shot(page, f"portal-application-{index + 1}")
    return (await page.locator("#sub-account").text_content() or "").strip()


async def to_the_bidding_page(day: Day, page: Page, base: str, index: int) -> str:
    """Qualified: the credentials, and the bidding page signed in with them. The bidder number."""
    await page.reload()
    await expect(page.locator("#application")).to_have_attribute("data-status", "QUALIFIED", timeout=TIMEOUT_MS)
    number = (await page.locator("#bidder-no").text_content() or "").strip()
    await day.shot(page, f"portal-qualified-{index + 1}")
    await page.click("#take-credentials")
    await expect(page.locator("#token")).to_contain_text("bt_", timeout=TIMEOUT_MS)
    await day.shot(page, f"portal-credentials-{index + 1}")
    await page.click("#open-bid")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
    await expect(page.locator("#my-no")).to_have_text(number)
    assert page.url == f"{base}/bid"  # the token left the address bar
    await day.shot(page, f"bid-page-{index + 1}")
    return number


async def test_one_parcel_from_draft_plan_to_published_result_through_pages_only(
    server_factory: Callable[..., ServerProcess], database: str, browser: Browser, screenshots: Path,
    receiver: Receiver, tmp_path: Path
) -> None:
    server = server_factory(stand_ins=False, **BANK_ENV, **escrow_key_ceremony(tmp_path / "shared-keys"),
                            AUCTION_ANNOUNCEMENT_MIN_SECONDS=str(ANNOUNCEMENT_SECONDS),
                            AUCTION_RESERVE_WINDOW_SECONDS="3600", AUCTION_REGISTRATION_LEAD_SECONDS="0",
                            AUCTION_CHANNELS=receiver.env(), AUCTION_PUBLICATION_POLL_SECONDS="0.2")
    server.start()
    base = server.http
    # The accounts, as `auction users add` makes them: the operator, and the three members whose
    # console user names are their member ids.
    operator = (await make_accounts(database))[Role.OPERATOR]
    tag = uuid.uuid4().hex[:4]
    members = [Account(f"wy-{n}-{tag}", f"committee-{n}-password-{tag}", Role.COMMITTEE)
               for n in ("zhang", "li", "wang")]
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    assert pool is not None
    try:
        for m, name in zip(members, ("张委员", "李委员", "王委员"), strict=True):
            await add_user(pool, m.username, name, Role.COMMITTEE, m.password)
    finally:
        await pool.close()
    day = Day(browser, screenshots)
    bank = FakeBank(server)
    try:
        await the_day(day, base, operator, members, bank)
    finally:
        await bank.close()
        await day.close()
    # The channels received what the pages said they did, and found nothing wrong with it.
    assert receiver.problems == []
    kinds = sorted((r.channel, r.document["kind"]) for r in receiver.accepted.values())
    assert kinds == [("landchina", "ANNOUNCEMENT"), ("landchina", "RESULT"), ("province", "ANNOUNCEMENT"),
                     ("province", "RESULT")]
    for who, errors in day.errors.items():
        # The one refused step (the seal before the unlock) is answered 422: nothing else went wrong.
        assert [e for e in errors if "status of 422" not in e] == [], (who, errors)


async def the_day(day: Day, base: str, operator: Account, members: list[Account], bank: FakeBank) -> None:
    began = time.monotonic()
    op = await day.page("operator")
    await console_sign_in(op, base, operator)
    await day.shot(op, "console-sessions")
    await op.click("nav.main-nav a[href='/console/plans']")
    await expect(op.locator("#new-plan")).to_be_visible()
    await day.shot(op, "plan-list")
    plan_id = await draft_to_appraisal(day, op, [m.username for m in members])

    # The members make their keys in their own browsers; the operator registers the public keys.
    member_pages = [await day.page(m.username) for m in members]
    keys = [await member_key(day, p, base, m, plan_id) for p, m in zip(member_pages, members, strict=True)]
    await day.shot(member_pages[0], "reserve-key-made")
    await op.goto(f"{base}/console/plans")
    await op.click("#committee-keys")
    for m, name, key in zip(members, ("张委员", "李委员", "王委员"), keys, strict=True):
        await fill(op, {"成员编号（操作台用户名）": m.username, "姓名": name, "公钥（十六进制）": key})
        await op.click("#register-member")
        await expect(op.locator("#done")).to_have_attribute("data-done", m.username, timeout=TIMEOUT_MS)
    await expect(op.locator("#members-table tbody tr")).to_have_count(3)
    await day.shot(op, "committee-keys")

    # Two companies register in the bidders' portal.
    companies = [await day.page(f"company-{i + 1}") for i in range(2)]
    for i, (page, name) in enumerate(zip(companies, COMPANIES, strict=True)):
        await register_company(day, page, base, name, i)

    # The announcement. What remains before the start (the session, the applications, the
    # deposits, the reserve) is about as much as was done so far: the start leaves room for it
    # twice over, whatever this machine's pace, and never less than a minute.
    await op.goto(f"{base}/console/plans/{plan_id}")
    await op.click("#next-form")
    lead = max(60.0, 2 * (time.monotonic() - began))
    await fill(op, {"公告编号": "曲公资土告〔2026〕18号", "出让人": "曲靖市自然资源和规划局",
                    "开始时间": cst_input(lead), "保证金到账截止": cst_input(lead - 2), "报名截止": cst_input(lead - 1),
                    "出让时间、地点和方式": "曲靖中心城市国有建设用地使用权网上交易系统，网上拍卖",
                    "竞买申请（资格、文件、取得资格方式）": "境内法人、自然人和其他组织均可申请，保证金到账后取得竞买资格",
                    "联系方式": "曲靖市公共资源交易中心 0874-0000000"})
    await day.shot(op, "plan-announce")
    await op.click("#submit-button")
    await submitted(op, "announce")
    await op.click("#next-form")
    await op.get_by_label("倒计时（秒）").fill(str(COUNTDOWN))
    await day.shot(op, "plan-session")
    await op.click("#submit-button")
    await submitted(op, "session")
    session_id = (await op.text_content("#session-link") or "").strip()
    assert session_id
    await day.shot(op, "plan-timeline")

    # The companies apply; the bank reports each deposit on its sub-account.
    for i, (page, name) in enumerate(zip(companies, COMPANIES, strict=True)):
        sub_account = await apply(day, page, plan_id, i)
        paid = await bank.pay(sub_account, DEPOSIT_WAN * WAN, name)
        assert paid.status == 200 and paid.body["qualified_now"], paid.body

    # The reserve: member 1 seals the amount in the browser and signs, the others sign.
    m1, m2, m3 = member_pages
    await m1.reload()
    await expect(m1.locator("#key-status")).to_have_attribute("data-match", "yes", timeout=TIMEOUT_MS)
    await m1.fill("#amount", RESERVE_WAN)
    await m1.fill("input[name=floor_price_yuan_per_m2]", "2240.00")
    for m in members[1:]:
        await m1.check(f"input.member[value='{m.username}']")
    await day.shot(m1, "reserve-prepare")
    await m1.click("#prepare-button")
    await m1.wait_for_url(re.compile(r"\?done=PREPARED"), timeout=TIMEOUT_MS)
    await expect(m1.locator("#draft-floor-price")).to_have_text("2,240.00 元/平方米")
    await day.shot(m1, "reserve-prepared")
    await m2.reload()
    await expect(m2.locator("#sign-button")).to_be_enabled(timeout=TIMEOUT_MS)
    await m2.click("#sign-button")
    await m2.wait_for_url(re.compile(r"\?done=SIGNED"), timeout=TIMEOUT_MS)
    # The last signature seals, and the server checks the sealed amount against the benchmark
    # (Q27): it needs the escrow key, still locked. The operator unlocks it, then the member seals.
    await m3.reload()
    await expect(m3.locator("#sign-button")).to_be_enabled(timeout=TIMEOUT_MS)
    await m3.click("#sign-button")
    await expect(m3.locator("#error-signature")).to_have_attribute("data-code", "ESCROW_KEY_UNAVAILABLE",
                                                                    timeout=TIMEOUT_MS)
    await day.shot(m3, "reserve-waits-for-the-key")
    await op.goto(f"{base}/console/plans/{plan_id}/reserve")
    await day.shot(op, "reserve-operator-view")
    await op.click("#unlock-link")
    await expect(op.locator("#escrow-state")).to_have_attribute("data-unlocked", "no")
    await op.fill("input[name=passphrase]", TEST_ESCROW_PASSPHRASE)
    await op.click("#unlock-button")
    await expect(op.locator("#done")).to_have_attribute("data-done", "UNLOCKED", timeout=TIMEOUT_MS)
    await day.shot(op, "escrow-unlocked")
    await m3.goto(f"{base}/console/plans/{plan_id}/reserve")
    await expect(m3.locator("#sign-button")).to_be_enabled(timeout=TIMEOUT_MS)
    await m3.click("#sign-button")
    await m3.wait_for_url(re.compile(r"\?done=SEALED"), timeout=TIMEOUT_MS)
    await expect(m3.locator("#sealed-commitment")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    await day.shot(m3, "reserve-sealed")

    # Each company sees itself qualified and takes its credentials to the bidding page.
    numbers = [await to_the_bidding_page(day, page, base, i) for i, page in enumerate(companies)]
    await op.goto(f"{base}/console/sessions/{session_id}")
    await day.shot(op, "session-before-the-start")

    # The start (the server's clock), then the bids.
    a, b = companies
    for page in companies:
        await expect(page.locator("#bid-button")).to_be_enabled(timeout=int(lead * 1000) + SLOW_MS)
    assert (await place_bid(a, "5000"))[0] == "ok"
    assert (await place_bid(b, "5010"))[0] == "ok"
    assert (await place_bid(a, "5700"))[0] == "ok"
    await day.shot(a, "bid-page-bidding")
    for page in companies:
        await expect(page.locator("#outcome")).to_have_attribute("data-outcome", "SOLD", timeout=SLOW_MS)
    await expect(a.locator("#outcome-mine")).to_contain_text("恭喜")
    await day.shot(a, "bid-page-won")
    await day.shot(b, "bid-page-lost")

    # The operator: the outcome with the reserve revealed, the confirmation, the result. The live
    # view draws the close again from the server by itself (a navigation of its own: no goto here,
    # which that reload could interrupt).
    await expect(op.locator("#live")).to_have_attribute("data-final", "true", timeout=SLOW_MS)
    await day.shot(op, "session-closed")
    await op.click("#close-link")
    await expect(op.locator("#outcome-value")).to_have_attribute("data-outcome", "SOLD")
    await expect(op.locator("#reserve-check")).to_have_class("ok")
    await expect(op.locator("#outcome")).to_contain_text("5,700")
    await expect(op.locator("#outcome")).to_contain_text(numbers[0])
    await day.shot(op, "close-outcome")
    await op.click("#confirmation-link")
    await expect(op.locator("body")).to_contain_text("成交确认书")
    await expect(op.locator("body")).to_contain_text(COMPANIES[0])
    await day.shot(op, "confirmation")
    await op.go_back()
    # The contract signed (Q42), recorded on the close page: the result quotes this record's day.
    contract = op.locator("tr[data-kind='CONTRACT_SIGNING']")
    for _ in range(SLOW_MS // 500):  # the close's bookkeeping writes the row after the close
        if await contract.count():
            break
        await op.wait_for_timeout(500)
        await op.reload()
    # Signed now: not before the close (CONTRACT_BEFORE_SALE), not ahead (the field keeps whole seconds).
    await contract.locator("input[name=signed_at]").fill(cst_input(0))
    await contract.locator("input[name=confirm]").check()
    await contract.locator("form.contract-form button").click()
    await expect(op.locator("tr[data-kind='CONTRACT_SIGNING']")).to_have_attribute("data-state", "DONE")
    await op.click("#publish-result-link")
    await expect(op.locator("#deal-holder")).to_have_text(COMPANIES[0])
    await fill(op, {"电子监管号": SUPERVISION_NO, "项目名称": "珠江源大道住宅项目", "行业分类": "房地产业",
                    "土地级别": "二级"})
    await day.shot(op, "result-form")
    await op.click("#publish-result")
    await expect(op.locator("#done")).to_have_attribute("data-done", "PUBLISHED", timeout=TIMEOUT_MS)
    result = op.locator(f"table.publication[data-document='RES-{plan_id}']")
    for _ in range(SLOW_MS // 500):  # the outbox's workers deliver in the background; the page shows it
        if await result.locator("tr[data-state='DELIVERED']").count() == 2:
            break
        await op.wait_for_timeout(500)
        await op.reload()
    await expect(result.locator("tr[data-state='DELIVERED']")).to_have_count(2)
    await expect(op.locator(f"table.publication[data-document='ANN-{plan_id}'] tr[data-state='DELIVERED']")
                 ).to_have_count(2)
    # Every channel confirmed the result: the operator records the Q29 deadline as met.
    await op.wait_for_timeout(1100)  # done_at is typed to the second: not before the last confirmation
    q29 = op.locator("#deadline-actions tr[data-kind='RESULT_PUBLICATION']")
    await q29.locator("input[name=done_at]").fill(cst_input(0))
    await q29.locator("input[name=confirm]").check()
    await q29.locator("button[type=submit]").click()
    await expect(op.locator("#done")).to_have_attribute("data-done", "DONE", timeout=TIMEOUT_MS)
    await expect(op.locator("#deadline-actions tr[data-kind='RESULT_PUBLICATION']")).to_have_attribute(
        "data-state", "DONE")
    await day.shot(op, "close-published")

    # The winner's portal: the result and its own confirmation.
    winner = companies[0]
    await winner.goto(f"{base}/portal")
    await winner.click("table a[href^='/portal/applications/']")
    await expect(winner.locator("#won")).to_be_visible()
    await day.shot(winner, "portal-won")
    await winner.click("#confirmation-link")
    await expect(winner.locator("body")).to_contain_text(COMPANIES[0])
    await day.shot(winner, "portal-confirmation")

    # The public pages: the result and the announcement, for anyone.
    public = await day.page("public")
    await public.goto(f"{base}/public/results")
    await day.shot(public, "public-results")
    await public.click(f"a[href='/public/results/RES-{plan_id}']")
    await expect(public.locator("main")).to_contain_text(COMPANIES[0])
    await expect(public.locator("main")).to_contain_text("5700")
    await day.shot(public, "public-result")
    await public.goto(f"{base}/public/announcements")
    await public.click(f"a[href='/public/announcements/ANN-{plan_id}']")
    await expect(public.locator("main")).to_contain_text("曲公资土告〔2026〕18号")
    await day.shot(public, "public-announcement")
