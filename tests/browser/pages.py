"""What the browser tests do on the console and the bidder page, step by step."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.e2e.console_helpers import Account

CST = timezone(timedelta(hours=8))
TIMEOUT_MS = 15_000


DESKTOP: ViewportSize = {"width": 1366, "height": 768}  # the trading center's common screen


async def in_china(browser: Browser, viewport: ViewportSize = DESKTOP, **options: Any) -> BrowserContext:
    """A browser as the trading center's staff and bidders have it: Chinese, China Standard Time."""
    return await browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **options)


def collect_errors(page: Page) -> list[str]:
    """Script errors and failed loads on a page: a test ends by asserting there were none."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    return errors


def cst_input(seconds_from_now: float) -> str:
    """A `datetime-local` value in China Standard Time."""
    return (datetime.now(CST) + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%S")


async def console_sign_in(page: Page, base: str, account: Account) -> None:
    await page.goto(f"{base}/console")
    await expect(page.locator("#login-form")).to_be_visible()
    await page.fill("#username", account.username)
    await page.fill("#password", account.password)
    await page.click("#sign-in")
    await expect(page.locator("#who")).to_have_attribute("data-username", account.username, timeout=TIMEOUT_MS)


async def bidder_sign_in(page: Page, base: str, token: str) -> None:
    await page.goto(f"{base}/bid")
    await page.fill("#token", token)
    await page.click("#signin-button")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)


async def place_bid(page: Page, wan: str, words: str | None = None) -> tuple[str, str]:
    """Type an amount in 万元, check the confirmation step, confirm; return (class, text) of the answer."""
    await page.fill("#amount", wan)
    await page.click("#bid-button")
    confirm = page.locator("#confirm")
    await expect(confirm).to_be_visible()
    if words is not None:
        await expect(page.locator("#confirm-words")).to_have_text(words)
    await page.click("#confirm-yes")
    result = page.locator("#bid-result")
    await page.wait_for_function(
        "() => ['ok', 'error'].includes(document.getElementById('bid-result').className)", timeout=TIMEOUT_MS
    )
    return (await result.get_attribute("class") or ""), (await result.text_content() or "")


async def ladder(page: Page) -> list[dict[str, Any]]:
    """The bid ladder as shown, newest first: seq, bidder number, amount in fen."""
    rows: list[dict[str, Any]] = await page.eval_on_selector_all(
        "#ladder-rows tr",
        "rows => rows.map(r => ({seq: Number(r.dataset.seq), bidder: Number(r.dataset.bidder),"
        " amount: Number(r.dataset.amount)}))",
    )
    return rows


async def wait_ladder(page: Page, count: int) -> list[dict[str, Any]]:
    await page.wait_for_function(f"() => document.querySelectorAll('#ladder-rows tr').length >= {count}",
                                 timeout=TIMEOUT_MS)
    return await ladder(page)
