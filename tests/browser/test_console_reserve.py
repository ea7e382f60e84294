"""The reserve decision in the console (Q26), in real Chromium against a real server.

First the page's own cryptography (static/reserve.js, WebCrypto) against the
server's code: what the browser seals, the escrow code opens; what it signs, the
signature code verifies over the very bytes `decision_bytes` builds. Then the
whole flow: three committee members, three browsers (two keys made in the
browser, one imported from the file `auction committee keygen` writes), one
prepares and seals, the others sign, and the decision is sealed into the session
without the amount ever crossing the wire."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from playwright.async_api import Browser, BrowserContext, Page, expect

from auction.adapters.sealing import signatures
from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.bidding.session import reserve_commitment
from auction.staff.accounts import add_user
from auction.staff.roles import Role
from loadtests.harness import TEST_ESCROW_PASSPHRASE
from tests.browser.pages import TIMEOUT_MS, collect_errors, console_sign_in, in_china
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import Account
from tests.e2e.helpers import Api
from tests.e2e.plan_flow import COMPRESSED, announced_plan, session_of

VIEWPORT = {"width": 1366, "height": 768}
RESERVE_WAN = "5600.123456"  # above the parcel's benchmark (4,000 万元), exact to the fen
RESERVE_FEN = 56_001_234_56


async def _context(browser: Browser) -> BrowserContext:
    return await in_china(browser, VIEWPORT)


async def test_the_pages_sealing_and_signing_are_the_servers(
    server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    context = await _context(browser)
    page = await context.new_page()
    errors = collect_errors(page)
    await page.goto(f"{server.http}/console/login")
    await page.add_script_tag(url="/static/keystore.js")
    await page.add_script_tag(url="/static/sealing.js")
    await page.add_script_tag(url="/static/reserve.js")

    sealer = ReserveSealer.generate()
    escrow_hex = sealer.public.public_bytes_raw().hex()
    salt = signatures.new_salt()
    session_id = "S-GD-浏览器-1"
    sealed: dict[str, str] = await page.evaluate(
        "([k, s, f, salt]) => reserveCrypto.sealReserve(k, s, f, salt)",
        [escrow_hex, session_id, str(RESERVE_FEN), salt])
    assert sealed["key_id"] == sealer.key_id
    assert sealed["commitment"] == reserve_commitment(RESERVE_FEN, salt)
    opened = sealer.unseal(session_id, sealed["key_id"], bytes.fromhex(sealed["nonce_hex"]),
                           bytes.fromhex(sealed["ciphertext_hex"]))
    assert opened is not None and (opened.amount, opened.salt) == (RESERVE_FEN, salt)
    # Bound to its session (the associated data): it does not open as another session's.
    assert sealer.unseal("S-other", sealed["key_id"], bytes.fromhex(sealed["nonce_hex"]),
                         bytes.fromhex(sealed["ciphertext_hex"])) is None

    decision: dict[str, Any] = {
        "plan_id": "GD-浏览器-1", "decided_at": 1_796_000_000_123_456, "members": ["m1", "委员-2", "m3"],
        "commitment": sealed["commitment"], "appraisal_id": "评估〔2026〕1号", "floor_price_fen_per_m2": 450_000,
    }
    expected = signatures.decision_bytes(
        decision["plan_id"], amount=RESERVE_FEN, salt=salt, decided_at=decision["decided_at"],
        members=tuple(decision["members"]), appraisal_id=decision["appraisal_id"],
        floor_price_fen_per_m2=decision["floor_price_fen_per_m2"])
    record_hex = await page.evaluate("d => reserveCrypto.hex(reserveCrypto.decisionRecord(d))", decision)
    assert bytes.fromhex(record_hex) == expected
    no_reserve = {**decision, "commitment": None}
    assert bytes.fromhex(await page.evaluate("d => reserveCrypto.hex(reserveCrypto.decisionRecord(d))",
                                             no_reserve)) == signatures.decision_bytes(
        decision["plan_id"], amount=None, salt=None, decided_at=decision["decided_at"],
        members=tuple(decision["members"]), appraisal_id=decision["appraisal_id"],
        floor_price_fen_per_m2=decision["floor_price_fen_per_m2"])

    # A key made in the browser (kept, not extractable) signs what the server verifies.
    made: dict[str, Any] = await page.evaluate(
        """async (rec) => {
             const publicHex = await reserveCrypto.generateKey('m1');
             const entry = await reserveCrypto.loadKey('m1');
             const bytes = reserveCrypto.unhex(rec);
             return {publicHex, extractable: entry.privateKey.extractable,
                     signature: await reserveCrypto.signRecord(entry.privateKey, bytes)};
           }""", record_hex)
    assert made["extractable"] is False
    assert signatures.verify(bytes.fromhex(made["publicHex"]), bytes.fromhex(made["signature"]), expected)

    # The key file the CLI writes, imported: the same public key, signatures the server accepts.
    key_file = tmp_path / "m3.key"
    public_hex = signatures.write_private_key(key_file)
    imported: dict[str, Any] = await page.evaluate(
        """async ([pem, rec]) => {
             const publicHex = await reserveCrypto.importKeyFile('m3', pem);
             const entry = await reserveCrypto.loadKey('m3');
             return {publicHex, extractable: entry.privateKey.extractable,
                     signature: await reserveCrypto.signRecord(entry.privateKey, reserveCrypto.unhex(rec))};
           }""", [key_file.read_text(), record_hex])
    assert imported["publicHex"] == public_hex and imported["extractable"] is False
    cli_signature = signatures.sign(signatures.read_private_key(key_file), expected)
    assert bytes.fromhex(imported["signature"]) == cli_signature  # Ed25519 is deterministic: byte-identical
    assert await page.evaluate("() => [reserveCrypto.wanToFen('5600.123456'), reserveCrypto.wanToFen('0'),"
                               " reserveCrypto.yuanToFen('4500.5')]") == [str(RESERVE_FEN), None, "450050"]
    assert errors == []
    await context.close()


async def _member(browser: Browser, base: str, account: Account, plan_id: str
                  ) -> tuple[BrowserContext, Page, list[str], list[str]]:
    """A member's own browser, signed in, on the reserve page; and every request body it sends."""
    context = await _context(browser)
    page = await context.new_page()
    errors = collect_errors(page)
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(r.post_data or "") if r.method == "POST" else None)
    await console_sign_in(page, base, account)
    await page.goto(f"{base}/console/plans/{plan_id}/reserve")
    return context, page, errors, bodies


async def test_three_members_decide_the_reserve_in_their_browsers(
    server_factory: Callable[..., ServerProcess], database: str, browser: Browser, tmp_path: Path,
    screenshots: Path
) -> None:
    # A wide reserve window, so the test never races the start.
    server = server_factory(**{**COMPRESSED, "AUCTION_RESERVE_WINDOW_SECONDS": "3600"})
    server.start()
    base = server.http
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    assert pool is not None
    async with Api(server) as api:
        plan_id, _start = await announced_plan(api, "AUCTION", start_in=900)
        session_id = await session_of(api, plan_id)
        tag = plan_id[-6:].lower()
        accounts = [Account(f"m{i}-{tag}", f"committee-password-{i}-{tag}", Role.COMMITTEE) for i in (1, 2, 3)]
        for a in accounts:
            await add_user(pool, a.username, f"委员{a.username[1]}", Role.COMMITTEE, a.password)

        members = [await _member(browser, base, a, plan_id) for a in accounts]
        pages = [m[1] for m in members]
        await expect(pages[0].locator("#window")).to_contain_text("年")
        # Members 1 and 2 make their keys in the browser; member 3 imports the CLI's key file.
        for a, page in zip(accounts[:2], pages[:2], strict=True):
            await page.click("#key-generate")
            await expect(page.locator("#key-status")).to_have_attribute("data-match", "unregistered")
            public = (await page.text_content("#key-public") or "").strip()
            r = await api.post("/api/committee-members", {"member_id": a.username, "name": f"委员 {a.username}",
                                                          "public_key_hex": public})
            assert r.status_code == 201, r.text
        key_file = tmp_path / "m3.key"
        r = await api.post("/api/committee-members", {"member_id": accounts[2].username, "name": "委员三",
                                                      "public_key_hex": signatures.write_private_key(key_file)})
        assert r.status_code == 201, r.text
        await pages[2].set_input_files("#key-file", str(key_file))
        for page in pages:
            await page.reload()
            await expect(page.locator("#key-status")).to_have_attribute("data-match", "yes", timeout=TIMEOUT_MS)
        await pages[0].screenshot(path=str(screenshots / "console-reserve-keys.png"), full_page=True)

        # Below the benchmark total the page shows (Q27, 4,000 万元): refused in the browser, in the
        # code's words, before anything is sealed, signed or sent.
        p1 = pages[0]
        await expect(p1.locator("#key-status")).to_have_attribute("data-match", "yes", timeout=TIMEOUT_MS)
        await p1.fill("#amount", "2000")
        await p1.fill("input[name=floor_price_yuan_per_m2]", "4500.00")
        sent: list[str] = []
        p1.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        await p1.click("#prepare-button")
        await expect(p1.locator("#amount-error")).to_contain_text("[Q27_BELOW_BENCHMARK]")
        await expect(p1.locator("#amount-error")).to_contain_text("基准地价")
        await expect(p1.locator("#amount-error")).to_contain_text("4000 万元")
        assert sent == [] and "done=" not in p1.url

        # Member 1 prepares alone first: too few members, refused beside the field, what was typed kept.
        await p1.fill("#amount", RESERVE_WAN)
        await expect(p1.locator("#amount-check")).to_have_text("= 5,600,123,456 分")  # the exact fen, grouped
        await p1.fill("input[name=floor_price_yuan_per_m2]", "4500.00")
        await p1.click("#prepare-button")
        await expect(p1.locator("#error-members")).to_have_attribute("data-code", "Q26_TOO_FEW_MEMBERS")
        await expect(p1.locator("input[name=floor_price_yuan_per_m2]")).to_have_value("4500.00")
        await expect(p1.locator("#amount")).to_have_value(RESERVE_WAN)
        await p1.screenshot(path=str(screenshots / "console-reserve-refused.png"), full_page=True)
        assert (await api.get(f"/api/plans/{plan_id}")).json()["reserve"] is None  # nothing changed

        await expect(p1.locator("#key-status")).to_have_attribute("data-match", "yes", timeout=TIMEOUT_MS)
        for a in accounts[1:]:
            await p1.check(f"input.member[value='{a.username}']")
        await p1.click("#prepare-button")
        await p1.wait_for_url(re.compile(r"\?done=PREPARED"))
        await p1.screenshot(path=str(screenshots / "console-reserve-prepared.png"), full_page=True)

        for page, done in ((pages[1], "SIGNED"), (pages[2], "SEALED")):
            await page.reload()
            await expect(page.locator("#sign-button")).to_be_enabled(timeout=TIMEOUT_MS)
            await page.click("#sign-button")
            await page.wait_for_url(re.compile(rf"\?done={done}"))
        await expect(pages[2].locator("#sealed-commitment")).to_have_text(re.compile("^[0-9a-f]{64}$"))
        await pages[2].screenshot(path=str(screenshots / "console-reserve-sealed.png"), full_page=True)
        for page in pages:
            assert await page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]

        view = (await api.get(f"/api/plans/{plan_id}")).json()["reserve"]
        assert view["has_reserve"] is True and sorted(view["members"]) == sorted(a.username for a in accounts)
        assert sorted(view["signatures"]) == sorted(a.username for a in accounts)
        # The session holds the envelope the browser made: it opens to the amount typed there.
        row = await pool.fetchrow("SELECT key_id, nonce, ciphertext FROM sealed_reserves WHERE session_id = $1",
                                  session_id)
        escrow = ReserveSealer.from_files(server.data_dir.parent / "shared-keys" / "escrow.pub",
                                          server.data_dir.parent / "shared-keys" / "escrow.key")
        escrow.unlock(TEST_ESCROW_PASSPHRASE.encode())
        opened = escrow.unseal(session_id, row["key_id"], bytes(row["nonce"]), bytes(row["ciphertext"]))
        assert opened is not None and opened.amount == RESERVE_FEN
        assert view["commitment"] == reserve_commitment(RESERVE_FEN, opened.salt)

        # Neither the amount nor the salt ever crossed the wire, nor reached the audit trail.
        sent = "\n".join(b for m in members for b in m[3])
        trail = "\n".join(r["detail"] or "" for r in await pool.fetch("SELECT detail::text FROM console_audit"))
        for secret in (str(RESERVE_FEN), RESERVE_WAN, opened.salt):
            assert secret not in sent and secret not in trail
        for m in members:
            assert [e for e in m[2] if "status of 422" not in e] == []  # the refusal above: nothing else
            await m[0].close()
    await pool.close()
