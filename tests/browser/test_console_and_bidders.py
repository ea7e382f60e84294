"""The operator console and the bidder page in a real headless Chromium against a
real server: a whole sale run from the console with two bidders in two
browsers, a bidder page that loses its network and catches up, and the page's
own converters checked against the server's."""

from __future__ import annotations

import random
import re
from pathlib import Path

from playwright.async_api import Browser, expect

from auction.domain.amount_words import fen_to_capital
from auction.domain.money import format_wan
from auction.staff.roles import Role
from tests.browser.pages import (
    TIMEOUT_MS,
    bidder_sign_in,
    collect_errors,
    console_sign_in,
    cst_input,
    ladder,
    place_bid,
    wait_ladder,
)
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import make_accounts
from tests.e2e.helpers import WAN, Api, WsClient
from tests.storage.proxy import TcpProxy

WINNER, OTHER = "云岭置业有限公司", "珠江城建集团有限公司"
PROTOCOL = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")


async def test_a_sale_run_from_the_console_with_two_bidders_in_browsers(
    server: ServerProcess, database: str, browser: Browser, screenshots: Path
) -> None:
    accounts = await make_accounts(database)
    base = server.http
    console_context = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN",
                                                timezone_id="Asia/Shanghai")
    op = await console_context.new_page()
    op_errors = collect_errors(op)
    await console_sign_in(op, base, accounts[Role.OPERATOR])

    # The operator creates the session through the console's form (the stand-in until plans).
    await op.select_option("#f-method", "AUCTION")
    await op.fill("#f-parcel", "曲靖市麒麟区 QJ2026-099 号地块（浏览器测试）")
    await op.fill("#f-start-price", "8000")
    await op.fill("#f-increment", "50")
    await op.fill("#f-deposit", "1600")
    await op.fill("#f-reserve", "8040")
    await op.fill("#f-start-at", cst_input(14))
    await op.fill("#f-countdown", "20")
    await op.click("#create-button")
    await op.wait_for_url(re.compile(r"/console/sessions/[^/?]+\?done=CREATED"))
    session_id = op.url.split("/console/sessions/")[1].split("?")[0]

    # ... and qualifies two bidders (the stand-in until deposits); each token is shown once.
    tokens: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name in (WINNER, OTHER):
        await op.fill("#f-legal-name", name)
        await op.click("#qualify-button")
        await expect(op.locator("#q-token")).to_be_visible()
        tokens[name] = (await op.text_content("#q-token") or "").strip()
        numbers[name] = int((await op.text_content("#q-bidder-no") or "").strip())
        await op.click("#back-to-session")
        await expect(op.locator("#live")).to_be_visible()
    page_text = await op.content()
    assert WINNER not in page_text and OTHER not in page_text  # identities only after the close
    assert f'data-bidder="{numbers[WINNER]}"' in page_text

    # Two bidders, two browsers (separate contexts: no shared storage).
    contexts = [await browser.new_context(viewport={"width": 1200, "height": 1100}, locale="zh-CN",
                                          timezone_id="Asia/Shanghai") for _ in range(2)]
    a, b = [await c.new_page() for c in contexts]
    a_errors, b_errors = collect_errors(a), collect_errors(b)
    await bidder_sign_in(a, base, tokens[WINNER])
    await bidder_sign_in(b, base, tokens[OTHER])
    await expect(a.locator("#t-parcel")).to_have_text("曲靖市麒麟区 QJ2026-099 号地块（浏览器测试）")
    await expect(a.locator("#my-no")).to_have_text(str(numbers[WINNER]))
    for page in (a, b, op):
        await expect(page.locator("#phase")).to_have_attribute("data-phase", "AUCTION", timeout=25_000)
    await expect(a.locator("#min-next")).to_have_text("8000 万元")

    # They bid against each other, each with the confirmation step in 万元 and 大写.
    kind, text = await place_bid(a, "8000", words="人民币捌仟万元整")
    assert kind == "ok" and "8000 万元" in text, text
    await expect(b.locator("#highest")).to_have_text("8000 万元")
    kind, text = await place_bid(b, "8050", words="人民币捌仟零伍拾万元整")
    assert kind == "ok", text
    await expect(a.locator("#highest")).to_have_text("8050 万元")
    await expect(a.locator("#min-next")).to_have_text("8100 万元")
    kind, text = await place_bid(a, "8060.5", words="人民币捌仟零陆拾万伍仟元整")
    assert kind == "error" and "报价低于最低可接受价" in text and "8100 万元" in text and "BELOW_MINIMUM" in text
    kind, text = await place_bid(b, "8200")
    assert kind == "error" and "您已是当前最高报价者" in text, text
    await expect(op.locator("#highest")).to_have_text("8050 万元")
    await wait_ladder(op, 2)
    await op.screenshot(path=str(screenshots / "console-live.png"), full_page=True)

    # The operator suspends (a reason is required) ...
    await op.fill("#suspend-reason", "网络线路故障，暂停竞价")
    await op.click("#suspend-button")
    await op.wait_for_url(re.compile(r"\?done=SUSPEND"))
    for page in (a, b):
        await expect(page.locator("#phase")).to_have_attribute("data-phase", "SUSPENDED", timeout=TIMEOUT_MS)
    await expect(a.locator("#notice")).to_contain_text("网络线路故障")
    await expect(a.locator("#bid-button")).to_be_disabled()  # no bids while suspended, and the page says why
    await expect(a.locator("#bid-closed")).to_contain_text("交易已中止")
    # ... and resumes: the full countdown starts again (RULES 7.2).
    await op.fill("#resume-reason", "故障已排除，恢复竞价")
    await op.click("#resume-button")
    await op.wait_for_url(re.compile(r"\?done=RESUME"))
    for page in (a, b, op):
        await expect(page.locator("#phase")).to_have_attribute("data-phase", "AUCTION", timeout=TIMEOUT_MS)
    kind, text = await place_bid(a, "8100", words="人民币捌仟壹佰万元整")
    assert kind == "ok", text
    await expect(a.locator("#my-bids tr")).to_have_count(2)
    await expect(b.locator("#highest-no")).to_have_text(str(numbers[WINNER]))
    await a.screenshot(path=str(screenshots / "bidder-page.png"), full_page=True)

    # The countdown runs out: the outcome appears on every page.
    for page in (a, b):
        await expect(page.locator("#outcome")).to_have_attribute("data-outcome", "SOLD", timeout=25_000)
    await expect(a.locator("#outcome-text")).to_contain_text(f"竞得人竞买号 {numbers[WINNER]}")
    await expect(a.locator("#outcome-text")).to_contain_text("人民币捌仟壹佰万元整")
    await expect(a.locator("#outcome-mine")).to_contain_text("恭喜")
    await expect(b.locator("#outcome-mine")).to_contain_text("您未竞得")
    await expect(a.locator("#reserve-check")).to_have_attribute("data-ok", "true")  # SubtleCrypto in the page
    await expect(a.locator("#reserve-wan")).to_have_text("8040 万元")
    await expect(op.locator("#outcome")).to_have_attribute("data-outcome", "SOLD", timeout=TIMEOUT_MS)
    await expect(op.locator("#winner-name")).to_have_text(WINNER)  # identities now, for the operator
    await expect(op.locator("#server-check")).to_have_attribute("data-ok", "true")
    await expect(op.locator("#browser-check")).to_have_attribute("data-ok", "true")
    assert [r["amount"] for r in await ladder(op)] == [8100 * WAN, 8050 * WAN, 8000 * WAN]
    await op.screenshot(path=str(screenshots / "console-closed.png"), full_page=True)
    await b.screenshot(path=str(screenshots / "bidder-page-closed.png"), full_page=True)

    # Signing out is one click and really ends the console session.
    await op.click("#sign-out")
    await expect(op.locator("#login-form")).to_be_visible()
    await op.goto(f"{base}/console/sessions/{session_id}")
    await expect(op.locator("#login-form")).to_be_visible()
    for context in (console_context, *contexts):
        await context.close()
    assert op_errors == [] and a_errors == [] and b_errors == [], (op_errors, a_errors, b_errors)


async def test_a_bidder_page_that_loses_its_network_catches_up_in_order(
    server: ServerProcess, browser: Browser, screenshots: Path
) -> None:
    """The page reaches the server through a TCP proxy; cutting the proxy is the network
    drop. Others bid meanwhile; the page reconnects by itself, resumes from its last seq,
    and shows every missed bid once, in order."""
    proxy = TcpProxy(server.port)
    await proxy.start()
    async with Api(server) as api:
        s = await api.auction(bidders=3, start_in=2.5, countdown=120)
        mine, b, c = s.bidders
        context = await browser.new_context(viewport={"width": 1200, "height": 1100}, locale="zh-CN")
        page = await context.new_page()
        errors = collect_errors(page)
        others = [await WsClient.join(server.ws, s.id, b.token), await WsClient.join(server.ws, s.id, c.token)]
        try:
            await bidder_sign_in(page, f"http://127.0.0.1:{proxy.port}", mine.token)
            await expect(page.locator("#phase")).to_have_attribute("data-phase", "AUCTION", timeout=TIMEOUT_MS)
            kind, _ = await place_bid(page, "100")
            assert kind == "ok"
            assert (await others[0].bid(101 * WAN))["type"] == "ack"
            await wait_ladder(page, 2)

            await proxy.cut()  # the network goes away
            await expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting", timeout=TIMEOUT_MS)
            amount = 101
            for i in range(6):  # the other two bid while the page is away
                amount += 1
                assert (await others[(i + 1) % 2].bid(amount * WAN))["type"] == "ack"
            await page.wait_for_timeout(3000)  # a few seconds offline
            assert len(await ladder(page)) == 2
            await page.screenshot(path=str(screenshots / "bidder-page-offline.png"), full_page=True)
            await proxy.start()  # back, on the same address

            await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
            rows = await wait_ladder(page, 8)
            log = [e for e in await api.events(s.id) if e["type"] == "BidAccepted"]
            assert [r["seq"] for r in rows] == sorted((e["pub_seq"] for e in log), reverse=True)
            assert [r["amount"] for r in reversed(rows)] == [e["data"]["amount"] for e in log]
            assert [r["amount"] for r in reversed(rows)] == [100 * WAN] + [n * WAN for n in range(101, 108)]
            await expect(page.locator("#highest")).to_have_text("107 万元")
            assert await page.evaluate("window.auctionFeed.reconnects") >= 1
            # Still a working connection: it can bid again.
            kind, text = await place_bid(page, "108")
            assert kind == "ok", text
            assert len(await wait_ladder(page, 9)) == 9
            assert errors == [] or all("WebSocket" in e or "ERR_" in e for e in errors), errors
        finally:
            for other in others:
                await other.close()
            await context.close()
            await proxy.cut()


async def test_the_page_writes_amounts_and_rejections_as_the_server_does(browser: Browser, server: ServerProcess) -> None:
    """The page's 大写 converter and 万元 formatting agree with the server's
    (auction/domain/amount_words.py, money.py); every code a bidder can meet has its Chinese text."""
    page = await browser.new_page()
    await page.goto(f"{server.http}/bid")
    rng = random.Random(20261201)
    values = [0, 1, 10, 12, 100, 1000, 10_001_00, 8050 * WAN, 101 * WAN + 1, 10**15, 1_000_000_000_001_00]
    values += [rng.randrange(0, 10**15) for _ in range(300)] + [rng.randrange(0, 10**9) for _ in range(100)]
    written = await page.evaluate("vs => vs.map(v => [Auction.fenToCapital(v), Auction.formatWan(Number(v))])",
                                  [str(v) for v in values])
    assert written == [[fen_to_capital(v), format_wan(v)] for v in values]
    parsed = await page.evaluate("ts => ts.map(t => Auction.parseWan(t))", ["8050", "8050.5", "101.000001", "0.01"])
    assert parsed == [8050 * WAN, 8050 * WAN + 500_000, 101 * WAN + 1, 10_000]

    section = PROTOCOL.split("## 7. Codes", 1)[1].split("Operator API codes", 1)[0]
    bidder_codes = re.findall(r"^\| `([A-Z_0-9]+)` \|", section, flags=re.M)
    assert len(bidder_codes) >= 20
    texts = await page.evaluate(
        "codes => codes.map(c => [c in Auction.CODES, Auction.rejectionText({code: c, details: {}})])", bidder_codes
    )
    for code, (known, text) in zip(bidder_codes, texts):
        assert known, code
        assert re.search(r"[\u4e00-\u9fff]", text) and text.endswith(f"[{code}]"), (code, text)
    detail = await page.evaluate("Auction.rejectionText({code: 'BELOW_MINIMUM', details: {minimum: 8100000000}})")
    assert "8100 万元" in detail
    await page.close()
