"""`auction-bidder` against a real server: the interactive mode driven through a
pseudo-terminal (as a person at a terminal uses it), and a scripted bidder that
wins a session."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, assert_no_traceback, wait_opened

CLI = str(Path(sys.executable).parent / "auction-bidder")


class Terminal:
    """A process on a pseudo-terminal: what it prints is read as a terminal shows it."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        self.master = master
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", COLUMNS="200")
        self.proc = subprocess.Popen([CLI, *args], stdin=slave, stdout=slave, stderr=slave, close_fds=True, env=env)
        os.close(slave)
        self.output = ""
        self._seen = 0
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
        self.output += data.decode("utf-8", "replace")
        self._changed.set()

    async def expect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The next output (after what was matched before) matching `pattern`."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            found = re.compile(pattern).search(self.output, self._seen)
            if found:
                self._seen = found.end()
                return found
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout}s; terminal shows:\n{self.output[-2000:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    async def wait(self, timeout: float = 10.0) -> int:
        end = asyncio.get_running_loop().time() + timeout
        while self.proc.poll() is None:
            assert asyncio.get_running_loop().time() < end, f"still running:\n{self.output[-2000:]}"
            await asyncio.sleep(0.05)
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        try:
            asyncio.get_running_loop().remove_reader(self.master)
        except (ValueError, OSError):
            pass
        os.close(self.master)


async def test_interactive_mode_through_a_pseudo_terminal(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.0, countdown=60)
        me, other = s.bidders
        rival = await WsClient.join(server.ws, s.id, other.token)
        await wait_opened(rival)
        term = Terminal("--url", server.ws, "bid", s.id, "--token", me.token)
        try:
            await term.expect(rf"已连接 / connected: {s.id} \(竞买号 / bidder {me.bidder_no}\)")
            await term.expect("输入报价")
            term.type("+\n")  # the minimum next bid: the starting price, confirmed before it is sent
            await term.expect(r"请确认报价 / Confirm the bid")
            await term.expect(r"万元 / 10k yuan:  100 万元\s+元 / yuan:        1,000,000.00 元（100,000,000 分 / fen）"
                              r"\s+大写 / in words:  人民币壹佰万元整")
            await term.expect(r"\[y/N\]")
            term.type("y\n")
            await term.expect(r"✔ 报价已接受 / accepted: 100 万元 \(seq \d+\)")
            # The rival's bid appears live, with the new price and the countdown from the server's clock.
            assert (await rival.bid(101 * WAN))["type"] == "ack"
            await term.expect(r"#\d+ 报价 / Bid accepted \[BidAccepted\]")
            await term.expect(rf"当前最高价 / highest 101 万元 \(竞买号 / bidder {other.bidder_no}\)\s+"
                              r"最低可报 / minimum next bid 102 万元 .*剩余 / left \d+:\d\d")
            term.type("101.5\n")  # below the minimum: the server's code and message, the minimum in 万元
            await term.expect(r"\[y/N\]")
            term.type("y\n")
            await term.expect(r"✘ 报价未被接受 / refused: BELOW_MINIMUM: 报价低于最低可接受价 / .*"
                              r"最低可报 / minimum next bid 102 万元")
            term.type("abc\n")  # not a number: said locally, in both languages, nothing sent
            await term.expect(r"! 金额无效：'abc' 不是以万元为单位的数字 / invalid amount")
            term.type("1e4\n")  # an exponent is not read as 10,000 万元
            await term.expect(r"! 金额无效：'1e4'")
            term.type("500\n")  # asked, then declined: nothing sent
            await term.expect(r"大写 / in words:  人民币伍佰万元整")
            term.type("n\n")
            await term.expect(r"已取消，报价未发送 / cancelled: no bid was sent")
            term.type("102.000001\n")  # 万元 with a fen: exact
            await term.expect(r"人民币壹佰零贰万元零壹分")
            term.type("y\n")
            await term.expect(r"✔ 报价已接受 / accepted: 102\.000001 万元")
            term.type("\n")  # Enter alone: the state again
            await term.expect(rf"当前最高价 / highest 102\.000001 万元 \(竞买号 / bidder {me.bidder_no}\)")
            term.type("\x04")  # Ctrl-D: leave
            assert await term.wait() == 0
            assert_no_traceback(term.output)
            assert "SOLD" not in term.output and not re.search(r"(?<![\w.-])\d+(\.\d+)?[eE][+-]?\d+(?!\w)",
                                                                 term.output.replace("1e4", ""))  # typed and quoted back
        finally:
            term.close()
            await rival.close()
        bids = [(e["data"]["bidder_no"], e["data"]["amount"]) for e in await api.events(s.id)
                if e["type"] == "BidAccepted"]
        assert bids == [(me.bidder_no, 100 * WAN), (other.bidder_no, 101 * WAN), (me.bidder_no, 102 * WAN + 1)]


async def test_a_scripted_bidder_wins_a_session(server: ServerProcess) -> None:
    async with Api(server) as api:
        # Each accepted bid restarts the countdown; after each, one CLI run (a process start)
        # must come before the deadline: 8 s leave room on a loaded machine.
        s = await api.auction(bidders=2, start_in=2.0, countdown=8, reserve=150 * WAN)
        a, b = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        await wait_opened(watcher)
        # A person follows it in the terminal (interactive, no bid typed): it ends by itself with the outcome.
        follower = Terminal("--url", server.ws, "bid", s.id, "--token", b.token)
        watching = await asyncio.create_subprocess_exec(CLI, "--url", server.ws, "watch", s.id,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT)

        async def bid(token: str, wan: str) -> tuple[int, str]:
            proc = await asyncio.create_subprocess_exec(CLI, "--url", server.ws, "bid", s.id, "--token", token,
                                                        "--amount-wan", wan, "--yes",
                                                        stdin=asyncio.subprocess.DEVNULL,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT)
            out, _ = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode is not None
            return proc.returncode, out.decode()

        try:
            await follower.expect("输入报价")
            assert (await bid(a.token, "100"))[0] == 0
            assert (await bid(b.token, "150"))[0] == 0
            code, out = await bid(a.token, "200")
            assert code == 0 and "accepted: 200 万元" in out, out
            assert "请确认报价" not in out  # --yes: no question
            code, out = await bid(b.token, "149")
            assert code == 3 and "BELOW_MINIMUM" in out
            closed = await watcher.wait_event("SessionClosed", timeout=40)
            assert closed["data"]["outcome"] == "SOLD" and closed["data"]["winner_bidder_no"] == a.bidder_no
            assert closed["data"]["price_fen"] == 200 * WAN

            # `watch` ends after the close with the outcome in words, exit 0.
            out, _ = await asyncio.wait_for(watching.communicate(), 30)
            text = out.decode()
            assert watching.returncode == 0, text
            assert re.search(rf"结果 / outcome: 成交 / Sold  竞得人竞买号 / winning bidder {a.bidder_no}"
                             r"  成交价 / price 200 万元（人民币贰佰万元整）", text), text
            assert "SOLD" not in text.replace("[SessionClosed]", "")
            # So does the interactive bidder, without a key pressed.
            await follower.expect(r"结果 / outcome: 成交 / Sold")
            assert await follower.wait(30) == 0
            assert_no_traceback(follower.output)
        finally:
            follower.close()
            if watching.returncode is None:
                watching.terminate()
                await watching.wait()

        # The watcher CLI shows the outcome of a closed session at once, and ends.
        proc = await asyncio.create_subprocess_exec(CLI, "--url", server.ws, "watch", s.id,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0 and "结果 / outcome: 成交 / Sold" in out.decode(), out.decode()
        # A bid after the close is not asked about: the session has ended.
        code, text = await bid(b.token, "300")
        assert code == 3 and "交易已结束，不再接受报价 / the session has ended" in text, text
        await watcher.close()


async def test_an_unsold_session_ends_the_watch_with_liupai(server: ServerProcess) -> None:
    """流拍 (not sold): no bid above the reserve; `watch` says so and exits 0."""
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=2.0, countdown=3, reserve=150 * WAN)
        watching = await asyncio.create_subprocess_exec(CLI, "--url", server.ws, "watch", s.id,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(watching.communicate(), 60)
        text = out.decode()
        assert watching.returncode == 0, text
        assert "结果 / outcome: 流拍 / Not sold（无人报价 / no bids）" in text, text
        assert "UNSOLD" not in text and "NO_BIDS" not in text
