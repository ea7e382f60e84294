"""A tender bidder bids in the browser (投标, RULES 6.2), in real Chromium against a real server.

The bidder signs in on /bid with its tender's token and lands on the tender's bid page,
which refuses a price below the starting price before sealing, asks to confirm the bid (万元,
大写, the file), then seals the typed price (万元, with fen) and an attached file to the escrow
key in the browser (static/sealing.js, the scheme of auction/adapters/sealing/escrow.py) and
posts only the commitment and the envelope. The receipt and the salt are shown and
downloadable; a second submission from a tab opened earlier is refused in words, and that
tab, and any new one, then shows the bid is in (the server's receipt, `you.bid`) with the form
off. Two other bidders bid with clients/tender.py. At the opening the browser's envelope
opens to exactly the typed price and the file's digest, and its commitment is the one the
downloaded record recomputes; before it, no request the pages sent holds the price, the file
or the salt; at the end the page shows the revealed reserve and that the bidder won (the
other's page, that it did not). Another bidder's page, on a 390 px phone in English, is first
refused a wrong token in both languages, then told to wait the Retry-After's seconds, and says
why it cannot bid before bids open. The public page counts down to the deadline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from playwright.async_api import Browser, Page, Request, expect

from auction.domain.tender.tender import bid_commitment
from tests.browser.pages import TIMEOUT_MS, collect_errors, in_china
from tests.browser.test_narrow_screens import PHONE, SLACK
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN
from tests.e2e.test_tender import RESERVE, a_tender, forms, opened_on_time, tender_server, until

TYPED = "5,301.2345"  # 万元, to the fen
PRICE_FEN = 5_301_234_500
PROPOSAL = "开发建设方案：珠江源大道综合开发 · proposal-7f3a".encode()
BIDS_OPEN_MS = 60_000  # bids open at the plan's start, SETUP_SECONDS after the announcement
GUESSES = "2"  # wrong tokens a minute from one address before 429 (AUCTION_WS_TOKEN_FAILURES_PER_MINUTE)


def recorded(page: Page, bodies: list[str]) -> None:
    """Every request body the page sends (what left the browser)."""
    def keep(request: Request) -> None:
        bodies.append(f"{request.method} {request.url} {request.post_data or ''}")
    page.on("request", keep)


async def signed_in_to_the_tender(page: Page, base: str, token: str, tender_id: str) -> None:
    """The token typed on /bid: the page goes on to the tender's bid page, the token in the tab only."""
    await page.goto(f"{base}/bid")
    await page.fill("#token", token)
    await page.click("#signin-button")
    await page.wait_for_url(f"{base}/bid/tender")
    await expect(page.locator("#t-tender")).to_have_text(tender_id, timeout=TIMEOUT_MS)


async def seal_and_submit(page: Page, price: str, proposal: bytes | None) -> None:
    """The form filled and sent through its last step (确认密封并提交)."""
    await page.fill("#price", price)
    if proposal is not None:
        await page.set_input_files("#proposal", {"name": "方案.txt", "mimeType": "text/plain", "buffer": proposal})
    await page.check("#irrevocable")
    await page.click("#seal-submit")
    await page.click("#confirm-yes")


def posted_bids(bodies: list[str]) -> list[str]:
    return [b for b in bodies if b.startswith("POST ") and b.split()[1].endswith("/bid")]


async def test_a_tender_bidder_seals_its_bid_in_the_browser(
    server_factory: Callable[..., ServerProcess], browser: Browser, screenshots: Any
) -> None:
    async with tender_server(server_factory, AUCTION_WS_TOKEN_FAILURES_PER_MINUTE=GUESSES) as (server, api):
        base = server.http
        tender_id, (me, other, third), start, deadline = await a_tender(api, server, "HIGHEST_PRICE", 3)
        bodies: list[str] = []
        # The sign-in's answer for a tender's token: the tender, no session (docs/protocol.md 10).
        answer = await api.http.post("/bid/session", json={"token": me.token})
        assert answer.status_code == 200 and answer.json() == {"tender_id": tender_id, "bidder_no": me.bidder_no}

        # Before bids open, another bidder's page on a phone, in English, by the portal's #token= link.
        phone = await in_china(browser, PHONE, is_mobile=True)
        small = await phone.new_page()
        small_errors = collect_errors(small)
        recorded(small, bodies)
        await small.goto(f"{base}/lang/en?next=/bid")  # English
        # A wrong token: refused in both languages; past the limit, how long to wait (Retry-After).
        for _ in range(int(GUESSES) + 1):
            await small.fill("#token", "bt_" + "0" * 40)
            await small.click("#signin-button")
            await expect(small.locator("#signin-error")).to_have_attribute("data-code", re.compile("."))
            if await small.locator("#signin-error").get_attribute("data-code") == "TOKEN_ATTEMPTS_LIMIT":
                break
            await expect(small.locator("#signin-error")).to_contain_text(
                "The bidding token is invalid or expired: check it and sign in again / 竞买凭证无效或已过期")
            await expect(small.locator("#signin-button")).to_be_enabled()
            await small.evaluate("() => { document.getElementById('signin-error').dataset.code = ''; }")
        waiting = small.locator("#signin-error")
        await expect(waiting).to_have_attribute("data-code", "TOKEN_ATTEMPTS_LIMIT")
        await expect(waiting).to_contain_text(re.compile(r"try again in \d+ s / 本网络地址输入无效竞买凭证的次数过多，请 \d+ 秒后再试"))
        seconds = int(re.findall(r"in (\d+) s", await waiting.text_content() or "")[0])
        assert 1 <= seconds <= 60
        await small.goto(f"{base}/hall")  # then a fresh load of /bid, by the portal's link
        await small.goto(f"{base}/bid#token={other.token}")
        await small.wait_for_url(f"{base}/bid/tender")
        await expect(small.locator("#status")).to_have_attribute("data-status", "BIDS_NOT_OPEN", timeout=TIMEOUT_MS)
        await expect(small.locator("#seal-submit")).to_be_disabled()
        await expect(small.locator("#bid-closed")).to_contain_text("No bid now")
        await expect(small.locator("#bid-closed")).to_contain_text("Bids not yet open")
        await expect(small.locator("#my-no")).to_have_text(str(other.bidder_no))
        assert await small.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"] + SLACK
        await small.screenshot(path=str(screenshots / "tender-bid-phone-en.png"), full_page=True)

        # The bidder, on the desktop in Chinese: the button comes on when bids open.
        context = await in_china(browser, accept_downloads=True)
        page = await context.new_page()
        errors = collect_errors(page)
        recorded(page, bodies)
        await signed_in_to_the_tender(page, base, me.token, tender_id)
        await expect(page.locator("#my-no")).to_have_text(str(me.bidder_no))
        await expect(page.locator("#seal-submit")).to_be_disabled()
        await expect(page.locator("#bid-closed")).to_contain_text("尚未开始投标")
        await until(start)
        await expect(page.locator("#status")).to_have_attribute("data-status", "TAKING_BIDS", timeout=BIDS_OPEN_MS)
        await expect(page.locator("#seal-submit")).to_be_enabled()
        # Another tab of the bidder's, opened now: it knows of no bid yet (it tries a second one below).
        again_context = await in_china(browser)
        again = await again_context.new_page()
        again_errors = collect_errors(again)
        recorded(again, bodies)
        await signed_in_to_the_tender(again, base, me.token, tender_id)
        await expect(again.locator("#seal-submit")).to_be_enabled(timeout=TIMEOUT_MS)
        # Below the starting price (5000 万元): refused beside the form, nothing sealed or sent.
        await page.fill("#price", "4999.999999")
        await page.check("#irrevocable")
        await page.click("#seal-submit")
        await expect(page.locator("#bid-error")).to_have_attribute("data-code", "BELOW_START_PRICE")
        await expect(page.locator("#bid-error")).to_contain_text("低于起始价 5000 万元")
        await expect(page.locator("#bid-error")).to_contain_text("below the starting price 5000 万元")
        await expect(page.locator("#confirm")).to_be_hidden()
        await page.uncheck("#irrevocable")
        await page.fill("#price", TYPED)
        await expect(page.locator("#price-words")).to_have_text("人民币伍仟叁佰零壹万贰仟叁佰肆拾伍元整")
        await page.fill("#price", "")
        # A file larger than one sealed bid can carry is refused in the page, before anything is sealed or sent.
        most = (await api.http.get(f"/tender/{tender_id}")).json()["proposal_max_bytes"]
        assert most >= 9_000_000  # some 9 MB within the sealed bid's 24 MiB (base64, then hex)
        await page.set_input_files("#proposal", {"name": "大文件.bin", "mimeType": "application/octet-stream",
                                                  "buffer": b"\0" * (most + 1)})
        await page.fill("#price", TYPED)
        await page.check("#irrevocable")
        await page.click("#seal-submit")
        await expect(page.locator("#bid-error")).to_contain_text("超过一份密封投标可携带的")
        await expect(page.locator("#bid-error")).to_have_attribute("data-code", "BODY_TOO_LARGE")
        # The last step shows the bid (万元, 大写, the file); 返回修改 sends nothing.
        await page.set_input_files("#proposal", {"name": "方案.txt", "mimeType": "text/plain", "buffer": PROPOSAL})
        await page.click("#seal-submit")
        await expect(page.locator("#confirm")).to_be_visible()
        await expect(page.locator("#confirm-wan")).to_have_text("5301.2345 万元")
        await expect(page.locator("#confirm-words")).to_have_text("人民币伍仟叁佰零壹万贰仟叁佰肆拾伍元整")
        await expect(page.locator("#confirm-file")).to_contain_text(f"方案.txt（{len(PROPOSAL)} 字节")
        await expect(page.locator("#confirm-yes")).to_have_text("确认密封并提交")
        await page.click("#confirm-no")
        await expect(page.locator("#confirm")).to_be_hidden()
        assert posted_bids(bodies) == []
        await seal_and_submit(page, TYPED, PROPOSAL)
        await expect(page.locator("#receipt-card")).to_be_visible(timeout=TIMEOUT_MS)
        salt = await page.locator("#r-salt").text_content() or ""
        assert len(salt) == 32
        commitment = await page.locator("#r-commitment").text_content() or ""
        assert commitment == bid_commitment(tender_id, me.bidder_no, PRICE_FEN, hashlib.sha256(PROPOSAL).hexdigest(),
                                            salt)
        await expect(page.locator("#r-price")).to_contain_text("5301.2345 万元")
        await expect(page.locator("#seal-submit")).to_be_disabled()
        await page.screenshot(path=str(screenshots / "tender-bid-receipt.png"), full_page=True)
        async with page.expect_download() as info:
            await page.click("#receipt-download")
        record = json.loads((await (await info.value).path()).read_text(encoding="utf-8"))
        assert (record["tender_id"], record["bidder_no"], record["price_fen"], record["salt"]) == (
            tender_id, me.bidder_no, PRICE_FEN, salt)
        assert record["proposal_sha256"] == hashlib.sha256(PROPOSAL).hexdigest()
        assert hashlib.sha256(record["commitment_text"].encode()).hexdigest() == record["commitment"] == commitment
        assert record["receipt"]["commitment"] == commitment and len(record["receipt"]["receipt"]) == 64
        await page.reload()  # the receipt and the salt stay in the tab
        await expect(page.locator("#r-salt")).to_have_text(salt, timeout=TIMEOUT_MS)

        # A second submission, from the tab opened before: refused, in words; then it shows the bid is in.
        await seal_and_submit(again, "5999", None)
        refusal = again.locator("#bid-error")
        await expect(refusal).to_have_attribute("data-code", "TENDER_BID_ALREADY_SUBMITTED", timeout=TIMEOUT_MS)
        await expect(refusal).to_contain_text("不得撤回或重复递交")
        receipt = record["receipt"]["receipt"]
        await expect(again.locator("#r-receipt")).to_have_text(receipt, timeout=TIMEOUT_MS)
        # Reloaded, this tab holds no record of the bid: the server's receipt says it is in, the form is off.
        await again.reload()
        await expect(again.locator("#r-receipt")).to_have_text(receipt, timeout=TIMEOUT_MS)
        await expect(again.locator("#r-commitment")).to_have_text(commitment)
        await expect(again.locator("#bid-closed")).to_have_attribute("data-status", "SUBMITTED")
        await expect(again.locator("#bid-closed")).to_contain_text("您的投标已递交")
        await expect(again.locator("#seal-submit")).to_be_disabled()
        await expect(again.locator("#price")).to_be_disabled()
        await expect(again.locator("#bid-elsewhere")).to_be_visible()
        await expect(again.locator("#r-salt")).to_contain_text("the salt is only where it was submitted: the downloaded file")
        await expect(again.locator("#receipt-download")).to_be_hidden()
        assert (await again.locator("#r-at").text_content()) not in ("", "—", None)
        # The public page counts down to the deadline on the server's clock.
        await again.goto(f"{base}/hall/tenders/{tender_id}")
        await expect(again.locator("#tender-countdown")).to_have_text(re.compile(r"^\d{2}:\d{2}$"), timeout=TIMEOUT_MS)
        await expect(again.locator("#tender-server-time")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))
        await again_context.close()

        # Two other bidders bid with the client library.
        await other.bid(5_100 * WAN, "方案 B".encode())
        await third.bid(5_200 * WAN, "方案 C".encode())

        # Nothing the pages sent before the opening holds the price, the file or the salt.
        secrets = [*forms(PRICE_FEN), "5301.2345", TYPED, *forms(5_999 * WAN), salt, PROPOSAL.decode(),
                   base64.b64encode(PROPOSAL).decode()]
        leaked = [(s, b[:120]) for b in bodies for s in secrets if s in b]
        assert leaked == []
        assert any(f"/tender/{tender_id}/bid" in b and commitment in b for b in bodies)  # what was sent: sealed

        # 开标: the browser's envelope opens to the typed price and the file's digest.
        await until(deadline)
        opened = await opened_on_time(api, tender_id)
        mine = next(b for b in opened["opening"]["bids"] if b["bidder_no"] == me.bidder_no)
        assert (mine["price_fen"], mine["valid"], mine["commitment"], mine["salt"]) == (
            PRICE_FEN, True, commitment, salt)
        assert mine["proposal_sha256"] == hashlib.sha256(PROPOSAL).hexdigest()
        assert opened["result"]["winner_bidder_no"] == me.bidder_no
        await expect(page.locator("#opened-mine")).to_have_attribute("data-price-fen", str(PRICE_FEN),
                                                                     timeout=TIMEOUT_MS)
        await expect(page.locator("#opened-mine")).to_contain_text("您的投标已开启")
        await expect(page.locator("#opened-mine")).to_contain_text("/ Your bid was opened: price 5301.2345 万元")
        # The end: the reserve revealed, and whether this bidder won; the other bidder's page, that it did not.
        await expect(page.locator("#result-mine")).to_have_attribute("data-outcome", "WON", timeout=TIMEOUT_MS)
        await expect(page.locator("#result-mine")).to_contain_text("中标：您是中标人，中标价 5301.2345 万元")
        await expect(page.locator("#result-mine")).to_contain_text("Awarded to you")
        await expect(page.locator("#t-reserve")).to_have_attribute("data-reserve-fen", str(RESERVE))
        await expect(page.locator("#t-reserve")).to_contain_text("5012.345678 万元（5,012,345,678 分）")
        # The revealed reserve, checked in the browser against the commitment published before the bids (RULES 6.6).
        await expect(page.locator("#reserve-check")).to_have_attribute("data-ok", "true", timeout=TIMEOUT_MS)
        await expect(page.locator("#reserve-commitment")).to_have_text(opened["reserve_commitment"])
        await expect(small.locator("#result-mine")).to_have_attribute("data-outcome", "NOT_AWARDED", timeout=TIMEOUT_MS)
        await expect(small.locator("#result-mine")).to_contain_text(f"Not awarded to you: bidder {me.bidder_no} won")
        await page.screenshot(path=str(screenshots / "tender-bid-result.png"), full_page=True)
        # Chromium logs the refused requests (401 and 429 at the sign-in, the second bid's 422) as failed
        # loads: the page's answers to them are above.
        assert errors == [] and [e for e in small_errors if not re.search("status of 4(01|29)", e)] == []
        assert [e for e in again_errors if "status of 422" not in e] == []
        await phone.close()
        await context.close()
