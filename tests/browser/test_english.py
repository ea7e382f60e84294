"""The script-written pages in English, in a real Chromium: the bidder page of a session made
from a supply plan (its title, the announced parcel facts, the times of its terms) and the
hall's live view (its table's headings, the increment with its fen) show English first and
Chinese second, with no label twice; the same pages in Chinese are Chinese first."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.async_api import Browser, expect

from tests.browser.pages import TIMEOUT_MS, bidder_sign_in, collect_errors, in_china
from tests.conftest import ServerProcess
from tests.e2e.plan_flow import plan_session_bidder
from tests.e2e.test_language import assert_no_doubled

MINUTE = r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}"


async def test_the_bid_page_and_the_hall_in_english_and_in_chinese(
    server_factory: Callable[..., ServerProcess], browser: Browser
) -> None:
    server, session_id, bidder = await plan_session_bidder(server_factory)
    for lang in ("en", "zh"):
        english = lang == "en"
        context = await in_china(browser)
        await context.add_cookies([{"name": "lang", "value": lang, "url": server.http}])
        page = await context.new_page()
        errors = collect_errors(page)
        await bidder_sign_in(page, server.http, bidder.token)
        title = ("Bidder page · Online trading of land use rights / 竞买人报价 · 国有建设用地使用权网上交易" if english
                 else "竞买人报价 · 国有建设用地使用权网上交易 / Bidder page · Online trading of land use rights")
        await expect(page).to_have_title(title)
        facts = page.locator("#parcel-facts dt")
        await expect(facts.first).to_have_text("Parcel no. 宗地编号" if english else "宗地编号 Parcel no.", timeout=TIMEOUT_MS)
        zone = "China Standard Time / 北京时间" if english else "北京时间 / China Standard Time"
        # to the minute, with its seconds when it is not on a whole minute (a test plan starts at any second)
        await expect(page.locator("#t-start-at")).to_have_text(re.compile(f"^{MINUTE}(:\\d{{2}})? {zone}$"))
        await expect(page.locator("#whoami")).to_contain_text("Bidder" if english else "竞买号")
        assert_no_doubled(await page.content(), (lang, "/bid"))

        await page.goto(f"{server.http}/hall/{session_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
        await expect(page.locator("#ladder th").first).to_have_text("Seq 序号" if english else "序号 Seq")
        await expect(page.locator("#increment-fen")).to_have_text(re.compile(r"^[\d,]+ 分$"))
        assert_no_doubled(await page.content(), (lang, "/hall/…"))
        assert errors == []
        await context.close()
