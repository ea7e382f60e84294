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
            await term.expect(rf"已连接 {s.id} \(竞买号 {me.bidder_no}\)")
            await term.expect("输入报价")
            term.type("+\n")  # the minimum next bid: the starting price
            await term.expect(r"✔ 报价已接受 / accepted: 100 万元 \(seq \d+\)")
            # The rival's bid appears live, with the new price and the countdown from the server's clock.
            assert (await rival.bid(101 * WAN))["type"] == "ack"
            await term.expect(r"#\d+ BidAccepted")
            await term.expect(rf"当前最高价 101 万元 \(竞买号 {other.bidder_no}\)\s+最低可报 102 万元 .*剩余 \d+:\d\d")
            term.type("101.5\n")  # below the minimum: the server's code and message
            await term.expect(r"✘ BELOW_MINIMUM: 报价低于最低可接受价")
            term.type("abc\n")  # not a number: said locally, nothing sent
            await term.expect(r"! not a number")
            term.type("102.000001\n")  # 万元 with a fen: exact
            await term.expect(r"✔ 报价已接受 / accepted: 102\.000001 万元")
            term.type("\n")  # Enter alone: the state again
            await term.expect(rf"当前最高价 102\.000001 万元 \(竞买号 {me.bidder_no}\)")
            term.type("\x04")  # Ctrl-D: leave
            assert await term.wait() == 0
            assert_no_traceback(term.output)
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

        async def bid(token: str, wan: str) -> tuple[int, str]:
            proc = await asyncio.create_subprocess_exec(CLI, "--url", server.ws, "bid", s.id, "--token", token,
                                                        "--amount-wan", wan, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT)
            out, _ = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode is not None
            return proc.returncode, out.decode()

        assert (await bid(a.token, "100"))[0] == 0
        assert (await bid(b.token, "150"))[0] == 0
        code, out = await bid(a.token, "200")
        assert code == 0 and "accepted: 200 万元" in out, out
        code, out = await bid(b.token, "149")
        assert code == 3 and "BELOW_MINIMUM" in out
        closed = await watcher.wait_event("SessionClosed", timeout=40)
        assert closed["data"]["outcome"] == "SOLD" and closed["data"]["winner_bidder_no"] == a.bidder_no
        assert closed["data"]["price_fen"] == 200 * WAN
        # The watcher CLI shows the outcome of a closed session at once.
        proc = await asyncio.create_subprocess_exec(CLI, "--url", server.ws, "watch", s.id,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            assert proc.stdout is not None
            text = ""
            while "成交价" not in text:
                text += (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
            assert re.search(rf"结果 SOLD \(SOLD\) 竞得人竞买号 {a.bidder_no} 成交价 200 万元", text), text
        finally:
            proc.terminate()
            await proc.wait()
        await watcher.close()
