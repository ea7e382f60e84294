"""The console on a 390 px phone, on `make run`'s trading day (auction/demo/day.py, no
publication channels configured): the supply plans, the audit trail, the sold plan's close
page and its deposit ledger never scroll the page sideways; a wide table scrolls inside its
own box, its headers do not run into each other and no column is squeezed to one character
a line; a publication table without channels says so instead of showing only its headers.
At 1366x768 the ledger's and the close page's headers stay inside their cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, ViewportSize, expect

from auction.staff.roles import Role
from tests.browser.pages import DESKTOP, collect_errors, console_sign_in, in_china
from tests.e2e.console_helpers import Account
from tests.e2e.test_run_default import _free_port, _ready, serving, sigterm

PHONE: ViewportSize = {"width": 390, "height": 844}
SLACK = 4  # px: rounding of the scrollbar's edge, not a table's width

# Per table on the page: does it scroll in its own box, how many headers run out of their cell
# into the next, how narrow is its narrowest filled cell, in characters of the table's font.
TABLES = """() => [...document.querySelectorAll("table.grid")].filter(t => t.offsetParent !== null).map(t => {
  const overlaps = [...t.querySelectorAll("thead th")].filter(th => th.scrollWidth > th.clientWidth + 1).length;
  const cells = [...t.querySelectorAll("tbody td")].filter(td => td.textContent.trim() && td.colSpan === 1);
  const em = parseFloat(getComputedStyle(t).fontSize);
  const narrowest = Math.min(...cells.map(td => td.getBoundingClientRect().width / em));
  return {id: t.id || t.className, box: t.getBoundingClientRect().right, overflow: getComputedStyle(t).overflowX,
          overlaps, narrowest};
})"""


async def fits(page: Page, path: str) -> list[dict[str, Any]]:
    await page.goto(path)
    await expect(page.locator("#who")).to_be_visible()
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + SLACK, (path, width)
    tables: list[dict[str, Any]] = await page.evaluate(TABLES)
    for t in tables:
        assert t["box"] <= PHONE["width"] + SLACK and t["overlaps"] == 0, (path, t)
        assert t["narrowest"] >= 2.5, (path, t)  # wider than two characters: never one a line
    return tables


async def test_the_console_fits_a_390_px_phone(data_dir: Path, browser: Browser, screenshots: Path) -> None:
    data, port = data_dir, _free_port()
    with serving(data, port, "--demo") as proc:
        await _ready(port, proc)
        accounts = {a["username"]: a for a in json.loads((data / "demo-accounts.json").read_text(encoding="utf-8"))}
        operator = accounts["demo-operator"]
        plans = sorted(r["session_id"] for r in json.loads((data / "demo-tokens.json").read_text())
                       if r["session_id"].startswith("S-GD-DEMO-"))
        sold = plans[0].removesuffix("-B") + "-A"  # plan A: sold, its result published to no channel
        base = f"http://127.0.0.1:{port}"
        context = await in_china(browser, PHONE, is_mobile=True)
        page = await context.new_page()
        errors = collect_errors(page)
        await console_sign_in(page, base, Account(operator["username"], operator["password"], Role.OPERATOR))

        await fits(page, f"{base}/console/plans")
        await page.screenshot(path=str(screenshots / "plans-phone.png"), full_page=True)
        await fits(page, f"{base}/console/audit")
        tables = await fits(page, f"{base}/console/sessions/{sold}/close")
        await page.screenshot(path=str(screenshots / "close-phone.png"), full_page=True)
        assert any(t["id"] == "deadline-actions" for t in tables), tables
        # The wide deadline table scrolls in its own box instead of widening the page.
        assert next(t for t in tables if t["id"] == "deadline-actions")["overflow"] == "auto"
        # No channel configured (the demo has none): each published document's table says so.
        publication = page.locator("table.publication")
        assert await publication.count() >= 1
        for i in range(await publication.count()):
            await expect(publication.nth(i).locator("tr.empty")).to_contain_text("未配置发布渠道")
        await fits(page, f"{base}/console/sessions/{sold}/applications")
        # Long "中文 / English" buttons and links wrap inside the screen: the plan waiting for its
        # reserve (its next step's button) and a plan form (its cancel link).
        plan = sold.removeprefix("S-").removesuffix("-A")
        await fits(page, f"{base}/console/plans/{plan}-B")
        await fits(page, f"{base}/console/plans/{plan}-C/announce")
        assert errors == []
        await context.close()

        # On the trading center's screen too, the ledger's and the close page's headers stay in their cells.
        context = await in_china(browser, DESKTOP)
        page = await context.new_page()
        await console_sign_in(page, base, Account(operator["username"], operator["password"], Role.OPERATOR))
        for path in (f"/console/sessions/{sold}/applications", f"/console/sessions/{sold}/close"):
            await page.goto(f"{base}{path}")
            tables = await page.evaluate(TABLES)
            assert tables and all(t["overlaps"] == 0 for t in tables), (path, tables)
        await context.close()
        sigterm(proc)
