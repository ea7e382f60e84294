"""`make run` again goes back into the demo sessions it left (`auction demo`, the
demo loader of `auction serve --demo`): it says which exist and in what state,
keeps the tokens of those open or suspended, and makes a new pair only when
every earlier one has ended, saying so. The auction's bidders qualify by their
deposits arriving; one payment from another company's account is held for refund."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.helpers import assert_no_traceback
from tests.e2e.test_run_default import _free_port, _ready, _start

AUCTION = str(Path(sys.executable).parent / "auction")


async def _demo(data: Path) -> str:
    """`auction demo` on the data folder (beside a running server, or alone)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AUCTION_STAND_INS")}
    env["AUCTION_DATA_DIR"] = str(data)
    proc = await asyncio.create_subprocess_exec(AUCTION, "demo", env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 180)
    text = out.decode()
    assert proc.returncode == 0, text[-3000:]
    assert_no_traceback(text)
    return text


def _sessions(data: Path) -> list[str]:
    rows = json.loads((data / "demo-tokens.json").read_text())
    return list(dict.fromkeys(r["session_id"] for r in rows))


async def test_the_demo_goes_back_into_the_sessions_it_left(data_dir: Path) -> None:
    data = data_dir
    first = await _demo(data)
    assert "尚无演示场次，新建一对 / no demo sessions yet: creating a pair" in first
    listing, auction, planned, tender = _sessions(data)
    assert listing.startswith("DEMO-L-") and auction.startswith("DEMO-A-")
    assert planned.startswith("S-GD-DEMO-")  # the demo plan waiting for its reserve (auction/demo/day.py)
    assert tender.startswith("T-GD-DEMO-")  # the demo tender taking sealed bids
    # Deposits arrive on the auction's sub-accounts; one from another company's account is held for refund.
    assert first.count("保证金 600 万元 已到账子账户") == 4 and first.count("deposit arrived: qualified") == 4
    assert "付款人为另一公司，不计入保证金，交易结束后退还 / arrived from another company's account: held for " \
           "refund after the close" in first
    tokens = (data / "demo-tokens.json").read_text()

    # Again, nothing ended: the same sessions, the same tokens, and it says so.
    again = await _demo(data)
    assert "上次的演示场次 / the demo sessions left from the last run:" in again
    assert f"{listing}: 挂牌 / listing，未结束" in again and f"{auction}: 拍卖 / auction，未结束" in again
    assert f"{tender}: 招标，投标中（密封）（投标截止时间 " in again and "/ tender: Taking sealed bids (bid deadline " in again
    assert "继续使用未结束的演示场次，凭证不变" in again and "same tokens" in again
    assert (data / "demo-tokens.json").read_text() == tokens
    assert "新建一对" not in again

    # With a server: the operator suspends the listing and terminates the auction.
    port = _free_port()
    server = _start(data, port, "--demo")
    try:
        await _ready(port, server)
        key = (data / "keys" / "operator.key").read_text().strip()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": f"Bearer {key}"}) as api:
            async def command(session_id: str, action: str) -> None:
                r = await api.post(f"/api/sessions/{session_id}/{action}", json={"reason": "演示 / demo"})
                assert r.status_code == 200, r.text

            await command(listing, "suspend")
            await command(auction, "terminate")
            beside = await _demo(data)  # beside the running server
            assert f"{listing}: 挂牌 / listing，已中止，由操作员在操作台恢复" in beside and "suspended" in beside
            assert f"{auction}: 拍卖 / auction，已终止 / terminated" in beside
            assert "继续使用未结束的演示场次" in beside and "新建一对" not in beside
            assert (data / "demo-tokens.json").read_text() == tokens  # the suspended one's tokens kept
            assert f"bid {listing} --token" in beside and f"bid {auction} --token" not in beside

            # Every earlier session ended: a new pair, said so.
            await command(listing, "terminate")
            await command(planned, "terminate")
            r = await api.post(f"/api/tenders/{tender}/terminate", json={"reason": "演示 / demo"})
            assert r.status_code == 200, r.text
            fresh = await _demo(data)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert f"{listing}: 挂牌 / listing，已终止 / terminated" in fresh
    assert f"{tender}: 招标，已结束 / tender: Ended" in fresh
    assert "上次的演示场次均已结束，新建一对演示场次和凭证 / the earlier demo sessions have all ended" in fresh
    assert not set(_sessions(data)) & {listing, auction, planned, tender}
