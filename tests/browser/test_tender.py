"""A scored tender (招标, RULES 6) in real Chromium against a real server.

Three companies seal their bids with the client library (clients/tender.py); a
watcher finds the tender in the trading hall and follows its public page, which shows that bids are sealed (never how
many) and then, at the set time, the opening with every price, with nobody
pressing a button; five panel members, each in their own browser with the key
file `auction committee keygen` writes, score every bid and sign their sheets;
the last signature concludes the evaluation; the operator opens the 中标通知书
and publishes the result, which the public results page then shows.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from playwright.async_api import Browser, Page, expect

from auction.domain.money import format_wan
from auction.staff.accounts import add_user
from auction.staff.roles import Role
from tests.browser.pages import TIMEOUT_MS, collect_errors, console_sign_in, in_china
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import Account, make_accounts
from tests.e2e.helpers import WAN
from tests.e2e.plan_flow import Committee, ok
from tests.e2e.test_secrecy import RecordingApi
from tests.e2e.test_tender import BID_SECONDS, CRITERIA, SETUP_SECONDS, TENDER_ENV, a_tender, until

# Long enough for the setup, the bid window and a loaded machine: the page waits on what it shows.
OPENING_MS = int((SETUP_SECONDS + BID_SECONDS + 120) * 1000)
SCORES = ({"scheme": 95, "design": 60}, {"scheme": 50, "design": 50}, {"scheme": 85, "design": 95})
PRICES = (5_100 * WAN, 6_000 * WAN, 5_500 * WAN)
RESULT_FIELDS = {"电子监管号": "5303022026B00123", "项目名称": "珠江源大道综合开发项目", "行业分类": "房地产业",
                 "土地级别": "二级"}


async def _scores(page: Page, bidder_nos: list[int]) -> None:
    for no, scores in zip(bidder_nos, SCORES, strict=True):
        for key, value in scores.items():
            await page.fill(f"#score-{no}-{key}", str(value))


async def test_a_scored_tender_opened_live_scored_by_five_and_published(
    server_factory: Callable[..., ServerProcess], database: str, browser: Browser, tmp_path: Path,
    screenshots: Path
) -> None:
    server = server_factory(**TENDER_ENV)
    server.start()
    base = server.http
    api = RecordingApi(server)
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    assert pool is not None
    try:
        accounts = await make_accounts(database)
        panel = await Committee.register(api, tmp_path, 5)
        members = [Account(m.member_id, f"panel-password-{m.member_id}", Role.COMMITTEE) for m in panel.members]
        for i, a in enumerate(members, start=1):
            await add_user(pool, a.username, f"评标委员{i}", Role.COMMITTEE, a.password)

        tender_id, bidders, start, _deadline = await a_tender(api, server, "SCORING", 3, price_weight=40,
                                                              criteria=CRITERIA)
        await ok(api, f"/api/tenders/{tender_id}/panel", {"members": panel.ids})

        # The watcher: the public page, before the opening only that the bids are sealed.
        watch_context = await in_china(browser)
        watcher = await watch_context.new_page()
        watch_errors = collect_errors(watcher)
        await watcher.goto(f"{base}/hall")  # the trading hall lists the tenders
        await watcher.click(f"#tenders li[data-tender-id='{tender_id}'] a")
        await watcher.wait_for_url(f"**/hall/tenders/{tender_id}")
        await expect(watcher.locator("#tender-phase")).to_have_attribute("data-phase", "CREATED")
        await expect(watcher.locator("#bids-sealed")).to_be_visible()

        await until(start)
        for bidder, price in zip(bidders, PRICES, strict=True):
            await bidder.bid(price, f"方案 {bidder.bidder_no}".encode())
        await watcher.reload()
        await expect(watcher.locator("#bids-sealed")).to_be_visible()
        assert format_wan(PRICES[1]).split()[0] not in await watcher.content()
        await watcher.screenshot(path=str(screenshots / "tender-sealed.png"), full_page=True)

        # 开标 at the set time, seen live: the page reloads itself with every price.
        opened = watcher.locator("#opening-table tbody tr")
        await expect(opened).to_have_count(3, timeout=OPENING_MS)
        await expect(watcher.locator("#valid-count")).to_have_text("3")
        for bidder, price in zip(bidders, PRICES, strict=True):
            await expect(watcher.locator(f"#opening-table tr[data-bidder-no='{bidder.bidder_no}']")
                         ).to_have_attribute("data-price-fen", str(price))
        await watcher.screenshot(path=str(screenshots / "tender-opened.png"), full_page=True)

        # 评标: five members, five browsers, each with its own key file.
        bidder_nos = [b.bidder_no for b in bidders]
        for member, account in zip(panel.members, members, strict=True):
            context = await in_china(browser)
            page = await context.new_page()
            errors = collect_errors(page)
            await console_sign_in(page, base, account)
            await page.goto(f"{base}/console/tenders/{tender_id}")
            await page.set_input_files("#key-file", str(member.key_file))
            await expect(page.locator("#key-status")).to_have_attribute("data-match", "yes", timeout=TIMEOUT_MS)
            await expect(page.locator("#score-button")).to_be_enabled()
            await _scores(page, bidder_nos)
            if member is panel.members[0]:
                await page.screenshot(path=str(screenshots / "tender-score-sheet.png"), full_page=True)
            await page.click("#score-button")
            await page.wait_for_url(re.compile(r"\?done=SIGNED"))
            await expect(page.locator("#signed-by-me")).to_be_visible()
            assert errors == []
            await context.close()

        # The result, live on the watchers' page: C wins on price and design together (RULES 6.5).
        await expect(watcher.locator("#tender-result")).to_have_attribute("data-outcome", "AWARDED",
                                                                          timeout=TIMEOUT_MS * 2)
        await expect(watcher.locator("#winner-no")).to_have_text(str(bidders[2].bidder_no))
        await expect(watcher.locator("#ranking tbody tr").first).to_have_attribute(
            "data-bidder-no", str(bidders[2].bidder_no))
        await watcher.screenshot(path=str(screenshots / "tender-result.png"), full_page=True)
        assert watch_errors == []

        # The operator: the winner's 中标通知书, then the result published like any other.
        op_context = await in_china(browser)
        op = await op_context.new_page()
        op_errors = collect_errors(op)
        await console_sign_in(op, base, accounts[Role.OPERATOR])
        await op.goto(f"{base}/console/tenders/{tender_id}")
        await expect(op.locator("#winner-name")).to_have_text("投标企业2有限公司")
        await op.click("#notice-link")
        await expect(op.locator("body")).to_contain_text("中标通知书")
        await expect(op.locator("body")).to_contain_text("投标企业2有限公司")
        await expect(op.locator("body")).to_contain_text(format_wan(PRICES[2]))
        await op.screenshot(path=str(screenshots / "tender-notice.png"), full_page=True)
        await op.go_back()
        # The contract signed (Q42, RULES 6.6): the result quotes the recorded signing's day.
        signed = {"by": "op-li", "signed_at": datetime.now(UTC).isoformat()}
        for _ in range(240):  # the award's bookkeeping writes the Q42 row after the award
            r = await api.post(f"/api/tenders/{tender_id}/contract-signed", signed)
            if r.status_code != 404:
                break
            await asyncio.sleep(0.5)
        assert r.status_code == 200, r.text
        await op.click("#publish-link")
        await expect(op.locator("#deal-holder")).to_have_text("投标企业2有限公司")
        for label, value in RESULT_FIELDS.items():
            await op.get_by_label(label).fill(value)
        await op.click("#publish-result")
        await expect(op.locator("#done")).to_have_attribute("data-done", "PUBLISHED", timeout=TIMEOUT_MS)
        await op.click("#published-link")
        await expect(op.locator("body")).to_contain_text("投标企业2有限公司")
        await expect(op.locator("body")).to_contain_text("珠江源大道综合开发项目")
        await op.screenshot(path=str(screenshots / "tender-published.png"), full_page=True)
        assert op_errors == []
        await op_context.close()
        await watch_context.close()
    finally:
        await pool.close()
        await api.http.aclose()
