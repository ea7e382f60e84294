"""A tender held for an outage across its bid deadline (RULES 6.7), as its bidder sees it in real
Chromium: the bid page says it is suspended and since when, and sealing is off; the public page
says it too. Once the operator resumes it with a new deadline, the bid page (by its own poll)
takes the bid: the button comes on and the sealed bid's receipt is shown.

The outage is tests/e2e/test_tender_outage.py's: a real server killed with SIGKILL while bids are
taken, started again after the deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.pages import TIMEOUT_MS, collect_errors, in_china
from tests.browser.test_tender_bid import seal_and_submit, signed_in_to_the_tender
from tests.conftest import ServerProcess
from tests.e2e.plan_flow import iso, ok
from tests.e2e.test_tender import tender_server
from tests.e2e.test_tender_outage import held_tender

POLL_MS = 15_000  # the bid page asks for the tender every 5 s: a resumption is seen within that, with room


async def test_the_bid_page_of_a_held_tender_takes_no_bid_until_it_is_resumed(
    server_factory: Callable[..., ServerProcess], browser: Browser, screenshots: Path
) -> None:
    async with tender_server(server_factory) as (server, api):
        held = await held_tender(api, server)
        late = held.bidders[2]  # its bid was to come in the deadline's last stretch
        context = await in_china(browser)
        page = await context.new_page()
        errors = collect_errors(page)
        await signed_in_to_the_tender(page, server.http, late.token, held.tender_id)
        await expect(page.locator("#status")).to_have_attribute("data-status", "SUSPENDED", timeout=TIMEOUT_MS)
        await expect(page.locator("#status")).to_contain_text("已中止")
        await expect(page.locator("#status-at")).to_contain_text("中止时间")
        await expect(page.locator("#seal-submit")).to_be_disabled()
        for shown in ("#t-deadline", "#t-opening"):  # the old times no longer hold (RULES 6.7)
            await expect(page.locator(shown)).to_contain_text("新时间待恢复时公告")
        await expect(page.locator("#bid-closed")).to_have_attribute("data-status", "SUSPENDED")
        await page.screenshot(path=str(screenshots / "tender-bid-suspended.png"), full_page=True)
        watch = await context.new_page()
        await watch.goto(f"{server.http}/hall/tenders/{held.tender_id}")
        await expect(watch.locator("#tender-status")).to_have_attribute("data-status", "SUSPENDED")
        await expect(watch.locator("#tender-suspension")).to_contain_text("系统停机期间截止时间已过")

        deadline = datetime.now(UTC) + timedelta(minutes=5)
        await ok(api, f"/api/tenders/{held.tender_id}/resume", {
            "reason": "停机故障已排除", "bid_deadline": iso(deadline), "opening_at": iso(deadline)})
        await expect(page.locator("#status")).to_have_attribute("data-status", "TAKING_BIDS", timeout=POLL_MS)
        await expect(page.locator("#seal-submit")).to_be_enabled()
        await expect(page.locator("#t-deadline")).not_to_contain_text("新时间待恢复时公告")  # the new one, as it is
        await seal_and_submit(page, "5300", None)
        await expect(page.locator("#receipt-card")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.locator("#seal-submit")).to_be_disabled()
        # The public page follows: it reloads on the status's change and counts down to the new deadline.
        await expect(watch.locator("#tender-status")).to_have_attribute("data-status", "TAKING_BIDS", timeout=POLL_MS)
        await expect(watch.locator("#tender-countdown")).to_be_visible()
        assert errors == []
        await context.close()
