"""The public trading hall and the one layout in a real headless Chromium: the hall and a
live session at 1366x768 and on a 390 px phone, a bid by a real bidder over the WebSocket
appearing in the hall's live view, and the console's sessions page and the bidder page in
Chinese and in English (screenshots in var/screenshots)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from auction.staff.roles import Role
from tests.browser.pages import (TIMEOUT_MS, bidder_sign_in, collect_errors, console_sign_in, in_china,
                                 wait_ladder)
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import make_accounts
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
RESERVE = 8_040 * WAN
# How many lines the first text of each matching element takes.
ONE_LINE = """(selector) => [...document.querySelectorAll(selector)].map(e => {
  const range = document.createRange();
  range.selectNodeContents(e.firstChild);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
})"""


async def no_sideways_scroll(page: Page) -> None:
    """The page fits its viewport's width (a phone never scrolls sideways)."""
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"], (width, viewport)


async def test_the_hall_and_a_live_session_on_a_desktop_and_a_phone(
    server: ServerProcess, browser: Browser, screenshots: Path
) -> None:
    async with Api(server) as api:
        listing = await api.listing(bidders=2, reserve=RESERVE, start_in=1, listing_seconds=600,
                                    start_price=8_000 * WAN, increment=50 * WAN, countdown=120)
        await api.auction(bidders=0, start_in=3600, start_price=3_000 * WAN, increment=20 * WAN)
    bidder = await WsClient.join(server.ws, listing.id, listing.bidders[0].token)
    await wait_opened(bidder)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = await in_china(browser, viewport, is_mobile=name == "phone")
        page = await context.new_page()
        errors = collect_errors(page)
        await page.goto(f"{server.http}/")
        await page.click("#entry-hall")
        await expect(page.locator(f'#hall-today tr[data-session-id="{listing.id}"]')).to_be_visible()
        await no_sideways_scroll(page)
        assert set(await page.evaluate(ONE_LINE, "#hall-today td.num")) == {1}
        await page.screenshot(path=str(screenshots / f"hall-{name}.png"), full_page=True)

        await page.click(f'#hall-today tr[data-session-id="{listing.id}"] a.button')
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
        await expect(page.locator("#min-next")).to_have_text("8000 万元" if name == "desktop" else "8050 万元")
        if name == "desktop":  # a real bidder bids; the watcher page shows it, by number only
            ack = await bidder.bid(8_000 * WAN)
            assert ack["type"] == "ack", ack
        rows = await wait_ladder(page, 1)
        assert rows[0]["bidder"] == listing.bidders[0].bidder_no and rows[0]["amount"] == 8_000 * WAN
        await expect(page.locator("#highest")).to_have_text("8000 万元")
        await expect(page.locator("#min-next")).to_have_text("8050 万元")
        await expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
        await expect(page.locator("#server-time")).to_contain_text("时")
        # The ladder's times as the house writes them beside a date (CST), not ISO.
        await expect(page.locator("#ladder-rows tr td").nth(1)).to_have_text(
            re.compile(r"^\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}$"))
        # An amount stays on one line: never "8000 万" above "元".
        assert set(await page.evaluate(ONE_LINE, "#highest, #min-next, #ladder-rows td.num")) == {1}
        html = await page.content()
        # The reserve in any form (fen, 万元, grouped), but not as digits inside a hex commitment or
        # salt, where "8040" turns up by chance.
        assert str(RESERVE) not in html and "8,040" not in html and listing.bidders[0].token not in html
        assert not re.search(r"(?<![0-9a-f])8040(?![0-9a-f])", html), "the reserve on the page before the close"
        await no_sideways_scroll(page)
        await page.screenshot(path=str(screenshots / f"hall-live-{name}.png"), full_page=True)
        assert errors == []
        await context.close()
    await close_all(bidder)


async def test_the_hall_reveals_the_reserve_at_the_close_live_and_after_a_reload(
    server: ServerProcess, browser: Browser, screenshots: Path
) -> None:
    """SessionClosed gives every watcher the reserve and its salt: the live view shows them in
    万元 with exact fen and checks them against the commitment in the browser (common.js
    showReserve, as the bidder page does); a reload shows the same from the server."""
    reserve = 4_500_123_456  # 4500.123456 万元
    async with Api(server) as api:
        session = await api.auction(bidders=1, start_in=2, countdown=2, start_price=4_000 * WAN,
                                    increment=10 * WAN, reserve=reserve)
    context = await in_china(browser, DESKTOP)
    page = await context.new_page()
    errors = collect_errors(page)
    await page.goto(f"{server.http}/hall/{session.id}")  # before the close: hall.js sees it happen
    for attempt in ("live", "reload"):
        await expect(page.locator("#reserve-check")).to_have_attribute("data-ok", "true", timeout=TIMEOUT_MS)
        await expect(page.locator("#reserve-box")).to_be_visible()
        await expect(page.locator("#reserve-wan")).to_have_text("4500.123456 万元")
        await expect(page.locator("#reserve-salt")).to_have_text(re.compile(r"^[0-9a-f]{32,}$"))
        await expect(page.locator("#t-reserve")).to_have_text("4500.123456 万元（交易结束后已公开）")
        await expect(page.locator("#reserve-check")).to_contain_text("一致")
        await expect(page.locator("#outcome")).to_be_visible()
        if attempt == "live":
            await page.screenshot(path=str(screenshots / "hall-closed-desktop.png"), full_page=True)
            await page.reload()
    assert errors == []
    await context.close()


async def test_the_console_and_the_bidder_page_in_both_languages(
    server: ServerProcess, database: str, browser: Browser, screenshots: Path
) -> None:
    accounts = await make_accounts(database)
    async with Api(server) as api:
        listing = await api.listing(bidders=1, reserve=RESERVE, start_in=1, listing_seconds=600,
                                    start_price=8_000 * WAN, increment=50 * WAN, countdown=120)
    context = await in_china(browser, DESKTOP)
    op = await context.new_page()
    errors = collect_errors(op)
    await console_sign_in(op, server.http, accounts[Role.OPERATOR])
    await expect(op.locator("h1")).to_have_text("交易场次 Trading sessions")
    await op.screenshot(path=str(screenshots / "console-sessions-zh.png"), full_page=True)
    await op.click('a[data-lang="en"]')
    await expect(op.locator("h1")).to_have_text("Trading sessions 交易场次")
    await expect(op.locator("html")).to_have_attribute("lang", "en")
    await op.screenshot(path=str(screenshots / "console-sessions-en.png"), full_page=True)
    await op.click('a[data-lang="zh"]')
    await expect(op.locator("h1")).to_have_text("交易场次 Trading sessions")
    # The live view's words are the script's: the phase badge and the link's state follow the switch.
    await op.goto(f"{server.http}/console/sessions/{listing.id}")
    await expect(op.locator("#conn")).to_have_text("实时 / Live")
    await expect(op.locator("#phase")).to_have_text("挂牌期 / Listing")
    await op.click('a[data-lang="en"]')
    await expect(op.locator("#conn")).to_have_text("Live / 实时")
    await expect(op.locator("#phase")).to_have_text("Listing / 挂牌期")
    await expect(op.locator("h2").first).to_have_text("Terms 交易条件")
    await op.click('a[data-lang="zh"]')
    await expect(op.locator("#phase")).to_have_text("挂牌期 / Listing")
    assert errors == []

    phone = await in_china(browser, PHONE, is_mobile=True)
    page = await phone.new_page()
    errors = collect_errors(page)
    await bidder_sign_in(page, server.http, listing.bidders[0].token)
    await expect(page.locator("#conn")).to_have_text("已连接，实时更新")
    await expect(page.locator("#bid-button")).to_have_text("提交报价")
    # A refusal, written by the script in the chosen language.
    await page.fill("#amount", "1")
    await page.click("#bid-button")
    await page.click("#confirm-yes")
    await expect(page.locator("#bid-result")).to_contain_text("报价未被接受：报价低于最低可接受价")
    await expect(page.locator("#bid-result")).to_contain_text("[BELOW_MINIMUM]")
    await no_sideways_scroll(page)
    await page.screenshot(path=str(screenshots / "bid-page-zh.png"), full_page=True)
    # The switch works in place: the token, the connection and the countdown stay.
    await page.click('a[data-lang="en"]')
    await expect(page.locator("#bid-button")).to_have_text("Bid")
    await expect(page.locator("#conn")).to_have_text("Connected, live")
    await expect(page.locator("#countdown-label")).to_contain_text("Time left")
    await expect(page.locator("#phase")).to_have_text("Listing")
    await expect(page.locator("#bid-result")).to_contain_text("Bid refused：")
    await expect(page.locator("#bid-result")).to_contain_text("The bid is below the minimum acceptable amount")
    await expect(page.locator("#bid-result")).to_contain_text("[BELOW_MINIMUM]")
    assert await page.evaluate("() => localStorage.getItem('auction.lang')") == "en"
    await no_sideways_scroll(page)
    await page.screenshot(path=str(screenshots / "bid-page-en.png"), full_page=True)
    # Remembered: a reload, and the server's pages, speak English now.
    await page.reload()
    await expect(page.locator("#bid-button")).to_have_text("Bid")
    await page.goto(f"{server.http}/hall")
    await expect(page.locator("h1")).to_have_text("Trading hall 交易大厅")
    assert errors == []
    await phone.close()
    await context.close()
