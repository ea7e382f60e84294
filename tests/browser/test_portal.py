"""The bidders' portal in a real Chromium, on a desktop (1366x768) and a phone (390x844):
register (a mistyped 统一社会信用代码 refused beside the field, what was typed kept),
apply for the announced parcel, see the deposit sub-account and the deadline, the fake
bank's notification qualifies the company, take the credentials and reach the bidding
page signed in, with the token never in the address bar; for a tender (招标) the same
credentials lead on to the tender's bid page. Screenshots in var/screenshots."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.pages import TIMEOUT_MS, collect_errors
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank, now_iso
from tests.e2e.helpers import Api
from tests.e2e.plan_flow import COMPRESSED, START_PRICE, announced_plan, iso, ok, session_of
from tests.e2e.test_portal import PASSWORD, RESERVE, TENDER_START_IN, new_uscc, off_by_one

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


async def no_sideways_scroll(page: Page) -> None:
    """Usable on a phone: the page is no wider than the screen (wide tables scroll in their box)."""
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def register_and_apply(page: Page, base: str, name: str, uscc: str, session_id: str, shots: Path,
                             size: str) -> str:
    """Through the pages: a refused registration, a good one, the parcel, the application.
    Returns the sub-account."""
    await page.goto(f"{base}/portal/register")
    await page.fill("#legal_name", name)
    await page.fill("#uscc", off_by_one(uscc))
    await page.fill("#contact_name", "李经理")
    await page.fill("#contact_phone", "13812345678")
    await page.fill("#password", PASSWORD)
    await page.fill("#password_again", PASSWORD)
    await page.click("#register")
    await expect(page.locator("#uscc-error")).to_contain_text("USCC_INVALID", timeout=TIMEOUT_MS)
    await expect(page.locator("#legal_name")).to_have_value(name)  # what was typed is kept
    await expect(page.locator("#password")).to_have_value("")  # never a password
    await no_sideways_scroll(page)
    await page.screenshot(path=str(shots / f"portal-register-refused-{size}.png"), full_page=True)
    await page.fill("#uscc", uscc)
    await page.fill("#password", PASSWORD)
    await page.fill("#password_again", PASSWORD)
    await page.click("#register")
    await expect(page).to_have_url(f"{base}/portal/parcels", timeout=TIMEOUT_MS)
    await expect(page.locator("#company")).to_have_text(name)
    parcel = page.locator(f'section.parcel[data-session="{session_id}"]')
    await expect(parcel).to_contain_text("1000 万元")
    await no_sideways_scroll(page)
    await page.screenshot(path=str(shots / f"portal-parcels-{size}.png"), full_page=True)
    await parcel.locator("form.apply-form button").click()
    await expect(page.locator("#application")).to_have_attribute("data-status", "AWAITING_DEPOSIT",
                                                                  timeout=TIMEOUT_MS)
    await expect(page.locator("#deposit-deadline")).to_contain_text(re.compile(r"\d{4}年\d{2}月\d{2}日 \d{2}时\d{2}分"))
    await no_sideways_scroll(page)
    await page.screenshot(path=str(shots / f"portal-application-{size}.png"), full_page=True)
    return (await page.locator("#sub-account").text_content() or "").strip()


async def to_the_bidding_page(page: Page, base: str, shots: Path, size: str) -> None:
    await page.reload()  # the bank's confirmation has come
    await expect(page.locator("#application")).to_have_attribute("data-status", "QUALIFIED", timeout=TIMEOUT_MS)
    number = (await page.locator("#bidder-no").text_content() or "").strip()
    await page.click("#take-credentials")
    await expect(page.locator("#token")).to_contain_text("bt_", timeout=TIMEOUT_MS)
    await no_sideways_scroll(page)
    await page.screenshot(path=str(shots / f"portal-credentials-{size}.png"), full_page=True)
    await page.click("#open-bid")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
    await expect(page.locator("#my-no")).to_have_text(number)  # signed in as the company's own number
    assert page.url == f"{base}/bid"  # the token left the address bar at once
    assert "token" not in await page.evaluate("location.hash + document.referrer")
    await page.screenshot(path=str(shots / f"portal-bid-page-{size}.png"), full_page=True)


async def test_a_company_registers_applies_is_qualified_and_reaches_the_bidding_page(
    server_factory: Callable[..., ServerProcess], browser: Browser, screenshots: Path
) -> None:
    server = server_factory(stand_ins=False, **COMPRESSED, **BANK_ENV)
    server.start()
    api, bank = Api(server), FakeBank(server)
    try:
        plan_id, _ = await announced_plan(api, "AUCTION", start_in=600)  # registration stays open
        sid = await session_of(api, plan_id)
        for size, viewport in SIZES.items():
            context = await browser.new_context(viewport=viewport, locale="zh-CN",
                                                is_mobile=size == "phone", has_touch=size == "phone")
            try:
                page = await context.new_page()
                errors = collect_errors(page)
                name = f"曲靖{size}置业有限公司{uuid.uuid4().hex[:4]}"
                sub_account = await register_and_apply(page, server.http, name, new_uscc(), sid, screenshots, size)
                paid = await bank.pay(sub_account, START_PRICE // 5, name, received_at=now_iso(-2))
                assert paid.status == 200 and paid.body["qualified_now"], paid.body
                await to_the_bidding_page(page, server.http, screenshots, size)
                # The refused registration is answered 422 by design (the form again, with the reason).
                assert [e for e in errors if "status of 422" not in e] == []
            finally:
                await context.close()
    finally:
        await bank.close()
        await api.http.aclose()


async def test_a_company_applies_to_a_tender_and_its_credentials_lead_to_the_tender_bid_page(
    server_factory: Callable[..., ServerProcess], browser: Browser, screenshots: Path
) -> None:
    """A tender's parcel in the portal (desktop only: the pages are the session's), applied for
    and paid; the credentials' link signs in on /bid, which goes on to /bid/tender as the
    company's own bidder number, the token out of the address bar."""
    server = server_factory(stand_ins=False, **COMPRESSED, **BANK_ENV)
    server.start()
    api, bank = Api(server), FakeBank(server)
    base = server.http
    context = await browser.new_context(viewport=SIZES["desktop"], locale="zh-CN")
    try:
        plan_id, start = await announced_plan(api, "TENDER", start_in=TENDER_START_IN)  # applications stay open
        deadline = iso(start + timedelta(seconds=60))
        tender_id = (await ok(api, f"/api/plans/{plan_id}/tender", {
            "evaluation": "HIGHEST_PRICE", "reserve_fen": RESERVE, "bid_deadline": deadline,
            "opening_at": deadline}, 201))["tender_id"]
        page = await context.new_page()
        errors = collect_errors(page)
        name = f"曲靖招标置业有限公司{uuid.uuid4().hex[:4]}"
        sub_account = await register_and_apply(page, base, name, new_uscc(), tender_id, screenshots, "tender")
        await expect(page.locator("#sale-status")).to_have_attribute("data-status", "BIDS_NOT_OPEN")
        paid = await bank.pay(sub_account, START_PRICE // 5, name, received_at=now_iso(-2))
        assert paid.status == 200 and paid.body["qualified_now"], paid.body
        await page.reload()
        await expect(page.locator("#application")).to_have_attribute("data-status", "QUALIFIED", timeout=TIMEOUT_MS)
        number = (await page.locator("#bidder-no").text_content() or "").strip()
        await page.click("#take-credentials")
        await expect(page.locator("#token")).to_contain_text("bt_", timeout=TIMEOUT_MS)
        await page.click("#open-bid")
        await page.wait_for_url(f"{base}/bid/tender", timeout=TIMEOUT_MS)
        await expect(page.locator("#t-tender")).to_have_text(tender_id, timeout=TIMEOUT_MS)
        await expect(page.locator("#my-no")).to_have_text(number)
        assert "token" not in await page.evaluate("location.hash + document.referrer")
        await page.screenshot(path=str(screenshots / "portal-tender-bid-page.png"), full_page=True)
        assert [e for e in errors if "status of 422" not in e] == []  # the refused registration: 422 by design
    finally:
        await context.close()
        await bank.close()
        await api.http.aclose()
