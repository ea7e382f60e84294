"""The `auction-bidder` command line client against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from clients.bidder_cli import _refusal_close
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, accepted_bids, assert_no_traceback, wait_opened

CLI = str(Path(sys.executable).parent / "auction-bidder")
EXPONENT = re.compile(r"(?<![\w.-])\d+(\.\d+)?[eE][+-]?\d+(?!\w)")  # 1e4, 1.5E+07: never printed, never read


async def _run(*args: str, timeout: float = 20, token_env: str | None = None,
               stdin: bytes = b"") -> tuple[int, str, str]:
    """One CLI run; `stdin` is what the person types (b"" is an empty input: no confirmation)."""
    env = {k: v for k, v in os.environ.items() if k != "AUCTION_BIDDER_TOKEN"}
    if token_env is not None:
        env["AUCTION_BIDDER_TOKEN"] = token_env
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    text_out, text_err = out.decode(), err.decode()
    assert_no_traceback(text_out + text_err)
    said = text_out + text_err
    for arg in args:  # a refused amount is quoted back as typed
        said = said.replace(repr(arg), "")
    assert not EXPONENT.search(said), said
    return proc.returncode, text_out, text_err


def _bilingual(text: str) -> None:
    """A message a bidder reads: Chinese first, English after it."""
    assert re.search(r"[\u4e00-\u9fff]", text) and re.search(r"[A-Za-z]{3}", text), text
    assert re.search(r"[\u4e00-\u9fff]", text).start() < re.search(r"[a-z]{3}", text).start(), text  # type: ignore[union-attr]


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
            line = (await asyncio.wait_for(watch.stdout.readline(), 10)).decode()
            assert f"已连接 / connected: {s.id} (旁观 / watcher)" in line, line

            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", a.token,
                                        "--amount-fen", str(100 * WAN), "--yes")
            assert code == 0, (out, err)
            assert "✔ 报价已接受 / accepted: 100 万元" in out

            # Refused by the server: its code and bilingual message, the minimum next bid in 万元 (not a dict in fen).
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", b.token,
                                        "--amount-fen", str(100 * WAN), "--yes")
            assert code == 3, (out, err)
            assert "✘ 报价未被接受 / refused: BELOW_MINIMUM: 报价低于最低可接受价 / The bid is below" in out
            assert "最低可报 / minimum next bid 101 万元" in out and "{" not in out and str(101 * WAN) not in out

            # 万元 with decimals is converted to fen exactly; the token from the
            # environment keeps it out of shell history and `ps`.
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--amount-wan", "101.000001", "-y",
                                        token_env=b.token)
            assert code == 0, (out, err)
            assert "101.000001 万元" in out

            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", b.token,
                                        "--amount-fen", str(200 * WAN), "--yes")
            assert code == 3 and "ALREADY_HIGHEST" in out and "您已是当前最高报价者" in out, (out, err)

            # Amounts that are not plain decimals of whole fen: refused locally, in Chinese and English,
            # with what to type; an exponent is never read as a number (1e4 is not 10,000 万元).
            for bad in ("1.0000001", "abc", "1e4", "1E4", "8.05e3", "-5", "0", "1_000", "NaN", "Infinity",
                        "８０５０", "8,050", ""):
                code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", a.token, "--amount-wan", bad)
                assert code == 2, (bad, code, out, err)
                assert "金额无效" in err and "invalid amount" in err, (bad, err)
                assert "用 --help 查看用法 / see --help" in err
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", a.token, "--amount-wan", "1e4")
            assert "如 8050 或 8050.5 / type an amount in 万元, e.g. 8050 or 8050.5" in err
            for bad in ("abc", "1e10", "+5", "1_000", "10.5"):
                code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", a.token, "--amount-fen", bad)
                assert code == 2 and "金额无效" in err and "whole number of fen" in err, (bad, err)
                assert "invalid int value" not in err

            # No token at all: refused locally with the way to give one.
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--amount-fen", "1")
            assert code == 2 and "需要竞买凭证" in err and "AUCTION_BIDDER_TOKEN" in err, (out, err)
            _bilingual(err)

            # A bad token or an unknown session: refused by the server, exit 3 (README: "3 refused by the
            # server"), the server's code and what to check.
            code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", "x" * 43, "--amount-fen", "1",
                                        "--yes")
            assert code == 3 and "服务器拒绝连接 / the server refused: INVALID_TOKEN" in err, (out, err)
            assert "请核对竞买凭证" in err and "check the bidding token" in err
            code, out, err = await _run("--url", server.ws, "watch", "S-NOSUCH")
            assert code == 3 and "UNKNOWN_SESSION" in err and "check the session id" in err, (out, err)
            code, out, err = await _run("--url", server.ws, "bid", "S-NOSUCH", "--token", "x" * 43, "--yes",
                                        "--amount-fen", "1")
            assert code == 3 and "UNKNOWN_SESSION" in err, (out, err)

            # The watcher printed both accepted bids as they happened.
            seen = b""
            while seen.count(b"BidAccepted") < 2:
                seen += await asyncio.wait_for(watch.stdout.readline(), 10)
            seen += await asyncio.wait_for(watch.stdout.readline(), 10)  # the state after it
            assert "当前最高价 / highest 101.000001 万元".encode() in seen
            assert "最低可报 / minimum next bid 102.000001 万元".encode() in seen
            assert not EXPONENT.search(seen.decode())
        finally:
            watch.terminate()
            await watch.wait()
            await watcher.close()

        bids = accepted_bids(await api.events(s.id))
        assert [(x["bidder_no"], x["amount"]) for x in bids] == [(a.bidder_no, 100 * WAN),
                                                                   (b.bidder_no, 101 * WAN + 1)]


async def test_a_bid_is_confirmed_before_it_is_sent(server: ServerProcess) -> None:
    """Without --yes the amount is repeated in 万元, in 元 and in 大写, and only y sends it."""
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=2.0, countdown=60, start_price=8050 * WAN, increment=50 * WAN)
        (me,) = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        await wait_opened(watcher)
        bid = ("--url", server.ws, "bid", s.id, "--token", me.token, "--amount-wan", "8050")

        for typed in (b"", b"\n", b"n\n", b"no\n", b"yes please\n"):  # anything but y / yes / 是 / 确认: not sent
            code, out, err = await _run(*bid, stdin=typed)
            assert code == 4, (typed, code, out, err)
            assert "已取消，报价未发送 / cancelled: no bid was sent" in out
            assert ("add --yes" in out) == (typed == b""), (typed, out)  # no input at all: a script, told how
        assert accepted_bids(await api.events(s.id)) == []

        code, out, err = await _run(*bid, stdin=b"y\n")
        assert code == 0, (out, err)
        confirm = out[out.index("请确认报价"):]
        assert "万元 / 10k yuan:  8050 万元" in confirm
        assert "元 / yuan:        80,500,000.00 元（8,050,000,000 分 / fen）" in confirm
        assert "大写 / in words:  人民币捌仟零伍拾万元整" in confirm
        assert "[y/N]" in confirm and confirm.index("[y/N]") < confirm.index("✔ 报价已接受 / accepted: 8050 万元")

        code, out, err = await _run("--url", server.ws, "bid", s.id, "--token", me.token, "--amount-fen",
                                    str(8100 * WAN + 5), stdin="是\n".encode())
        assert "人民币捌仟壹佰万元零伍分" in out and "8100.000005 万元" in out, out
        assert code == 3 and "ALREADY_HIGHEST" in out
        assert [x["amount"] for x in accepted_bids(await api.events(s.id))] == [8050 * WAN]
        await watcher.close()


async def test_no_server_is_said_in_both_languages() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = await _run("--url", f"ws://127.0.0.1:{port}/ws", "watch", "S-1")
    assert code == 1, (out, err)
    assert "无法连接服务器 / cannot connect to" in err and "连接被拒绝 / connection refused" in err
    assert "make run" in err and "--url" in err and "Connect call failed" not in err
    _bilingual(err)
    code, out, err = await _run("--url", "not-an-address", "watch", "S-1")
    assert code == 1 and "地址格式不对 / not a WebSocket address" in err, err


async def test_a_hello_refused_for_a_limit_exits_3(server_factory: Callable[..., ServerProcess]) -> None:
    # WATCHER_LIMIT (close 4029): the server refused the connection, exit 3 as for a bad token.
    server = server_factory(AUCTION_WS_MAX_WATCHERS_PER_ADDRESS="1")
    server.start()
    async with Api(server) as api:
        s = await api.auction(bidders=0, start_in=3600)
    holder = await WsClient.join(server.ws, s.id)  # the address's one watcher
    try:
        code, out, err = await _run("--url", server.ws, "watch", s.id)
        assert code == 3 and "服务器拒绝连接 / the server refused: WATCHER_LIMIT" in err, (out, err)
    finally:
        await holder.close()


def test_a_close_at_the_hello_without_an_error_frame_is_a_refusal() -> None:
    # docs/protocol.md section 1: 4001, 4004 and 4029 refuse the hello; other closes are no connection.
    assert _refusal_close(ConnectionClosed(Close(4029, "TOKEN_ATTEMPTS_LIMIT"), None)) == ("TOKEN_ATTEMPTS_LIMIT", 4029)
    assert _refusal_close(ConnectionClosed(Close(4004, "UNKNOWN_SESSION"), None)) == ("UNKNOWN_SESSION", 4004)
    assert _refusal_close(ConnectionClosed(Close(4001, ""), None)) == ("", 4001)
    assert _refusal_close(ConnectionClosed(Close(1001, "going away"), None)) is None
    assert _refusal_close(ConnectionClosed(None, None)) is None
    assert _refusal_close(ConnectionRefusedError()) is None
