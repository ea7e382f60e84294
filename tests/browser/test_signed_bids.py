"""Signed bids from the bidder page (docs/protocol.md section 9) in a real headless Chromium.

In a session that requires them (AUCTION_SIGNED_BIDS=on) the page makes the bidder's
Ed25519 key with WebCrypto (not extractable, kept in IndexedDB), registers its public half
and signs each bid as clients/bidder.py does; after a reload it signs with the same key;
the receipts of its acks survive the reload and are downloaded, and `auction-verify`
checks them against the public record after the close. A browser without Ed25519 is told
so and cannot bid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.async_api import Browser, Page, expect

from clients.bidder import BidderClient
from tests.browser.pages import TIMEOUT_MS, bidder_sign_in, collect_errors, in_china, place_bid
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened

NO_ED25519 = """crypto.subtle.generateKey = async () => {
  throw new DOMException("Ed25519 is not supported", "NotSupportedError");
};"""


async def registered_key(page: Page) -> str:
    status = page.locator("#key-status")
    await expect(status).to_have_attribute("data-state", "registered", timeout=TIMEOUT_MS)
    return (await page.locator("#key-public").text_content() or "").strip()


async def test_the_bid_page_signs_its_bids_keeps_its_key_and_its_receipts(
    server_factory: Callable[..., ServerProcess], browser: Browser, tmp_path: Path, screenshots: Path
) -> None:
    server = server_factory(AUCTION_SIGNED_BIDS="on", AUCTION_TREE_HEAD_SECONDS="0.2")
    server.start()
    async with Api(server) as api:
        # A countdown far longer than a reload: the close comes after the page's second bid.
        s = await api.auction(bidders=3, start_in=4.0, countdown=20, reserve=101 * WAN)
        (a, b, c) = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        other = BidderClient(server.ws, s.id, b.token, signing_key=Ed25519PrivateKey.generate())
        context = await in_china(browser, accept_downloads=True)
        try:
            await other.connect()
            await other.register_key()
            page = await context.new_page()
            errors = collect_errors(page)
            await bidder_sign_in(page, server.http, a.token)
            public_key = await registered_key(page)
            assert len(public_key) == 64
            # The private key is a CryptoKey no script can read out.
            extractable = await page.evaluate(
                "async ([s, n]) => (await BidSigning.keyFor(s, n)).privateKey.extractable", [s.id, a.bidder_no])
            assert extractable is False

            await wait_opened(watcher)
            cls, text = await place_bid(page, "100")
            assert cls == "ok", text
            assert (await other.bid(101 * WAN))["type"] == "ack"
            await expect(page.locator("#receipts-download")).to_have_attribute("data-count", "1")

            # A reload: the same key from IndexedDB (the server would refuse another), the receipt kept.
            await page.reload()
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
            assert await registered_key(page) == public_key
            await expect(page.locator("#receipts-download")).to_have_attribute("data-count", "1")
            cls, text = await place_bid(page, "102")
            assert cls == "ok", text
            await expect(page.locator("#receipts-download")).to_have_attribute("data-count", "2")
            await page.screenshot(path=str(screenshots / "bid-signed.png"), full_page=True)

            # A browser without Ed25519 in WebCrypto says so and keeps the bid button off.
            bare = await in_china(browser)
            try:
                await bare.add_init_script(NO_ED25519)
                plain = await bare.new_page()
                await bidder_sign_in(plain, server.http, c.token)
                await expect(plain.locator("#key-status")).to_have_attribute("data-state", "unsupported",
                                                                           timeout=TIMEOUT_MS)
                await expect(plain.locator("#key-status")).to_contain_text("不支持 Ed25519")
                await expect(plain.locator("#bid-button")).to_be_disabled()
            finally:
                await bare.close()

            await watcher.wait_event("SessionClosed", timeout=120)
            await expect(page.locator("#outcome")).to_be_visible(timeout=TIMEOUT_MS)
            # In English the key's line is English first.
            await page.click('a[data-lang="en"]')
            await expect(page.locator("#key-status")).to_contain_text("Signed bids: this browser's key")
            async with page.expect_download() as downloading:
                await page.click("#receipts-download")
            receipts_file = tmp_path / "receipts.json"
            await (await downloading.value).save_as(receipts_file)
            assert errors == [], errors
        finally:
            await other.close()
            await close_all(watcher)
            await context.close()

        kept = json.loads(receipts_file.read_text(encoding="utf-8"))
        assert kept["session_id"] == s.id and [r["seq"] for r in kept["receipts"]] == sorted(
            r["seq"] for r in kept["receipts"]) and len(kept["receipts"]) == 2
        record = (await api.get(f"/public/sessions/{s.id}/record.json")).json()
        center = (await api.get("/public/transparency/key")).json()
    assert {"bidder_no": a.bidder_no, "public_key": public_key} in record["bidder_keys"]
    page_bids = [e["event"] for e in record["events"]
                 if e["type"] == "BidAccepted" and e["event"]["bidder_no"] == a.bidder_no]
    assert len(page_bids) == 2 and all(len(e["signature"]) == 128 for e in page_bids)
    assert record["outcome"]["outcome"] == "SOLD" and record["outcome"]["winner_bidder_no"] == a.bidder_no
    record_file = tmp_path / "record.json"
    record_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "clients.verify", str(record_file), "--receipts", str(receipts_file),
                           "--key", center["public_key"]], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "VERIFIED" in done.stdout and "2 receipts" in done.stdout, \
        done.stdout + done.stderr
