"""Operator commands beside a running server never disturb it (store/database/embedded.py).

A real server on the embedded default (no DATABASE_URL, its own data folder) runs
a live auction. Every documented operator command is run on the same data folder
beside it: each connects to the server's PostgreSQL and leaves it running, so the
server keeps answering /healthz and accepting bids after each one. When the server
stops (Ctrl-C), it is the last user and its PostgreSQL stops with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from loadtests.harness import ROOT, TEST_ESCROW_PASSPHRASE, ServerProcess
from auction.services.calendar import official_calendar
from tests.e2e.helpers import WAN, Api, WsClient, close_all
from tests.e2e.test_deadlines import statutory_year_file

# Assumed in the e2e tests' compressed time: the rule itself is unit-tested.
COMPRESSED = {"AUCTION_MIN_LISTING_SECONDS": "0"}


def _postmaster_pid(data: Path) -> int | None:
    try:
        pid = int((data / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


async def _cli(server: ServerProcess, *args: str, stdin: bytes = b"") -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AUCTION_MIGRATION_URL", "REDIS_URL")}
    env.update(AUCTION_DATA_DIR=str(server.data_dir), AUCTION_ESCROW_PASSPHRASE=TEST_ESCROW_PASSPHRASE,
               AUCTION_LOG_LEVEL="WARNING", USER="op-cli")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "auction.cli", *args, env=env, cwd=ROOT,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(stdin), 300)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, (args, text[-3000:])
    assert "Traceback" not in text, text[-3000:]
    return text


async def test_every_operator_command_beside_a_running_server(data_dir: Path, tmp_path: Path) -> None:
    # "": the embedded default. The live session is made through the stand-ins (no plan, no
    # deposit): what is under test is the operator commands beside it, not how it was made.
    server = ServerProcess(dsn="", data_dir=data_dir, env_extra=COMPRESSED, stand_ins=True)
    await asyncio.to_thread(server.start, 180.0)
    clients: list[WsClient] = []
    try:
        pid = _postmaster_pid(data_dir)
        assert pid is not None
        async with Api(server) as api:
            session = await api.auction(bidders=2, start_in=10, countdown=3600)
        clients = [await WsClient.join(server.ws, session.id, q.token) for q in session.bidders]
        await clients[0].wait_event("SessionOpened", timeout=60)
        price = 100 * WAN
        confirmed = official_calendar()  # the package and the repository's reviewed files
        year = next(y for y in range(datetime.now(UTC).year + 1, 2100) if not confirmed.confirmed(y))
        year_file = tmp_path / f"{year}.json"
        year_file.write_text(statutory_year_file(year), encoding="utf-8")

        commands: list[tuple[tuple[str, ...], bytes, str]] = [
            (("users", "add", "zhao.ops", "--role", "operator", "--password-stdin"), b"a-long-password-for-zhao\n",
             "zhao.ops"),
            (("users", "list"), b"", "zhao.ops\tOPERATOR"),
            (("users", "disable", "zhao.ops"), b"", ""),
            (("calendar", "load", str(year_file), "--yes"), b"", f"calendar {year} loaded"),
            (("verify", session.id), b"", "seq gap-free: True"),
            (("migrate",), b"", "applied: nothing (up to date)"),
            (("demo",), b"", "Demo data"),
        ]
        for n, (args, stdin, expected) in enumerate(commands):
            out = await _cli(server, *args, stdin=stdin)
            assert expected in out, (args, out[-2000:])
            # The server's database is still the same running postmaster ...
            assert _postmaster_pid(data_dir) == pid, args
            async with httpx.AsyncClient() as http:
                health = await http.get(f"{server.http}/healthz", timeout=30)
            assert health.status_code == 200, (args, health.text)
            # ... and bids keep being accepted.
            price += WAN
            ack = await clients[n % 2].bid(price, timeout=30)
            assert ack["type"] == "ack", (args, ack)
        assert "DEMO-" in (data_dir / "demo-tokens.json").read_text()
        assert re.search(r"zhao\.ops\tOPERATOR\t.*\[disabled\]", await _cli(server, "users", "list"))
    finally:
        await close_all(*clients)
        await asyncio.to_thread(server.stop)
    # The server was its last user: its PostgreSQL stopped with it.
    assert _postmaster_pid(data_dir) is None
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
