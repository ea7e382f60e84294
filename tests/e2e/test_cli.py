"""The `auction-bidder` command line client against a real server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, accepted_bids, assert_no_traceback, wait_opened

CLI = str(Path(sys.executable).parent / "auction-bidder")


async def _run(*args: str, timeout: float = 20, token_env: str | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AUCTION_BIDDER_TOKEN"}
    if token_env is not None:
        env["AUCTION_BIDDER_TOKEN"] = token_env
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    text_out, text_err = out.decode(), err.decode()
    assert_no_traceback(text_out + text_err)
    return proc.returncode, text_out, text_err


async def test_cli_bids_and_reports_rejections(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.0, countdown=60)
        a, b = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        await wait_opened(watcher)
        watch = await asyncio.create_subprocess_exec(
            CLI, "--url", server.ws, "watch", s.id, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            assert watch.stdout is not None
            line = await asyncio.wait_for(watch.stdout.readline(), 10)
            assert s.id in line.decode() and "watcher" in line.decode()

            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", a.token,
                                        "--amount-fen", str(100 * WAN))
            assert code == 0, (out, err)
            assert "accepted" in out and "100 万元" in out

            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", b.token,
                                        "--amount-fen", str(100 * WAN))
            assert code == 3, (out, err)
            assert "BELOW_MINIMUM" in out and str(101 * WAN) in out  # the code and the minimum

            # 万元 with decimals is converted to fen exactly; the token from the
            # environment keeps it out of shell history and `ps`.
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--amount-wan", "101.000001",
                                        token_env=b.token)
            assert code == 0, (out, err)
            assert "101.000001 万元" in out

            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", b.token,
                                        "--amount-fen", str(200 * WAN))
            assert code == 3 and "ALREADY_HIGHEST" in out, (out, err)

            # Amounts that are not whole fen, or not numbers: refused locally, no traceback.
            for bad in ("1.0000001", "abc"):
                code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", a.token, "--amount-wan", bad)
                assert code == 2, (bad, code, out, err)
                assert "amount" in err.lower()

            # No token at all: refused locally with the way to give one.
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--amount-fen", "1")
            assert code == 2 and "AUCTION_BIDDER_TOKEN" in err, (out, err)

            # A bad token or an unknown session: cannot connect, exit 1, the server's code shown.
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", "x" * 43, "--amount-fen", "1")
            assert code == 1 and "INVALID_TOKEN" in err, (out, err)
            code, out, err = await _run("--url", server.ws, "watch", "S-NOSUCH")
            assert code == 1 and "UNKNOWN_SESSION" in err, (out, err)

            # The watcher printed both accepted bids as they happened.
            seen = b""
            while seen.count(b"BidAccepted") < 2:
                seen += await asyncio.wait_for(watch.stdout.readline(), 10)
            seen += await asyncio.wait_for(watch.stdout.readline(), 10)  # the state after it
            assert "当前最高价 101.000001 万元".encode() in seen
        finally:
            watch.terminate()
            await watch.wait()
            await watcher.close()

        bids = accepted_bids(await api.events(s.id))
        assert [(x["bidder_no"], x["amount"]) for x in bids] == [(a.bidder_no, 100 * WAN),
                                                                   (b.bidder_no, 101 * WAN + 1)]
