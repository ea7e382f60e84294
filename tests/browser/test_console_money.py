"""The applications ledger and the close page in Chromium at 1366x768: they fit the
window (no sideways scrolling), with a screenshot of each for people to look at."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Browser, expect

from auction.staff.roles import Role
from tests.browser.pages import collect_errors, console_sign_in, in_china
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank
from tests.e2e.console_helpers import Account, make_accounts
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened
from tests.e2e.test_deposits import DEPOSIT, apply, auction

WIDTH = 1366


async def bank_server(server_factory: Callable[..., ServerProcess], database: str
                      ) -> tuple[ServerProcess, dict[Role, Account]]:
    """A server that takes the fake bank's confirmations, started, with one console account per role."""
    server = server_factory(**BANK_ENV)
    server.start()
    return server, await make_accounts(database)


async def test_the_ledger_and_the_close_page_fit_1366_pixels(
    server_factory: Callable[..., ServerProcess], database: str, browser: Browser, screenshots: Path
) -> None:
    server, accounts = await bank_server(server_factory, database)
    async with Api(server) as api:
        bank = FakeBank(server)
        try:
            sid = (await auction(api, start_in=600))["terms"]["session_id"]
            for i, name in enumerate(("曲靖市己房地产开发有限责任公司（集团）", "云南庚置业有限公司", "曲靖辛建设投资有限公司")):
                app = await apply(api, sid, name, f"91530300MA6K0001{i}F")
                if i:
                    await bank.pay(app["sub_account"], DEPOSIT if i == 1 else 7 * WAN + 1, name)
        finally:
            await bank.close()
    context = await in_china(browser)
    page = await context.new_page()
    errors = collect_errors(page)
    await console_sign_in(page, server.http, accounts[Role.OPERATOR])
    for path, shot in ((f"/console/sessions/{sid}/applications", "console-applications.png"),
                       (f"/console/sessions/{sid}/close", "console-close.png"), ("/console/audit", "console-audit.png")):
        await page.goto(server.http + path)
        await expect(page.locator("main")).to_be_visible()
        await page.screenshot(path=str(screenshots / shot), full_page=True)
        assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
    assert errors == []
    await context.close()


# Every input on the page against the card it sits in: (path of the input, overhang in px).
INPUTS_OUTSIDE_THEIR_CARD = """() => [...document.querySelectorAll("main input:not([type=hidden]), main select, main button")]
  .map(el => {
    const card = el.closest(".card");
    if (!card) return null;
    const a = el.getBoundingClientRect(), c = card.getBoundingClientRect();
    const over = Math.max(a.right - c.right, c.left - a.left);
    return over > 0.5 ? `${el.name || el.id || el.tagName} in #${card.id}: ${over.toFixed(1)}px` : null;
  })
  .filter(Boolean)"""


async def test_the_close_pages_deadline_forms_stay_inside_their_card_at_1366_pixels(
    server_factory: Callable[..., ServerProcess], database: str, browser: Browser, screenshots: Path
) -> None:
    """After a sale the close page lists its deadlines with their forms (a refund's time, bank
    transaction and amount; the contract's signing time): at 1366x768 none sticks out."""
    server, accounts = await bank_server(server_factory, database)
    async with Api(server) as api:
        bank = FakeBank(server)
        try:
            sid = (await auction(api, start_in=8, countdown=2))["terms"]["session_id"]
            tokens = []
            for i, name in enumerate(("曲靖市壬房地产开发有限责任公司（集团）", "云南癸置业有限公司")):
                app = await apply(api, sid, name, f"91530300MA6K0002{i}F")
                await bank.pay(app["sub_account"], DEPOSIT, name)
                issued = await api.post(f"/api/applications/{app['application_id']}/issue-token", {"by": "op:li"})
                assert issued.status_code == 201, issued.text
                tokens.append(issued.json()["token"])
        finally:
            await bank.close()
        client = await WsClient.join(server.ws, sid, tokens[0])
        try:
            await wait_opened(client)
            assert (await client.bid(101 * WAN))["type"] == "ack"
            await client.wait_event("SessionClosed", timeout=30)
        finally:
            await close_all(client)
    context = await in_china(browser)
    page = await context.new_page()
    errors = collect_errors(page)
    await console_sign_in(page, server.http, accounts[Role.OPERATOR])
    await page.goto(f"{server.http}/console/sessions/{sid}/close")
    await expect(page.locator("#deadline-actions .done-form").first).to_be_visible()
    await expect(page.locator("#deadline-actions .contract-form")).to_be_visible()
    await page.screenshot(path=str(screenshots / "console-close-deadlines.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert await page.evaluate(INPUTS_OUTSIDE_THEIR_CARD) == []
    assert errors == []
    await context.close()
