"""The README's run command on the embedded default: `auction serve --demo` with no
DATABASE_URL starts its own PostgreSQL in the data folder, loads the demo, answers
/healthz and serves a demo session over the WebSocket (with the stand-ins, demo
mode's, which a start without --demo no longer has); SIGTERM (kill, systemd,
docker stop) shuts it down with its PostgreSQL, and the next start finds the data."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.e2e.helpers import WsClient

AUCTION = str(Path(sys.executable).parent / "auction")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(int(timeout * 4)):
            assert proc.poll() is None, "the server exited"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise AssertionError("not ready")


def _postmaster_running(data: Path) -> bool:
    pid_file = data / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs as the unprivileged embedded_postgres user
        return True
    return True


def _start(data: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AUCTION_STAND_INS")}
    env.update(AUCTION_DATA_DIR=str(data), AUCTION_PORT=str(port))
    return subprocess.Popen([AUCTION, "serve", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@contextlib.contextmanager
def serving(data: Path, port: int, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`auction serve ARGS`, killed on the way out if the test has not stopped it."""
    proc = _start(data, port, *args)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def sigterm(proc: subprocess.Popen[bytes]) -> str:
    """Stop it as a supervisor does; its output."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)[0].decode()


async def test_serve_on_the_embedded_default_and_stop_on_sigterm(data_dir: Path) -> None:
    data, port = data_dir, _free_port()
    with serving(data, port, "--demo") as proc:
        await _ready(port, proc)
        assert _postmaster_running(data)
        watcher = await WsClient.join(f"ws://127.0.0.1:{port}/ws", _demo_session(data))
        await watcher.close()
        assert await _stand_in_answer(port) == (401, "UNAUTHORIZED")  # demo mode: there, behind the key
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:  # the hall has something to show
            hall = (await http.get(f"http://127.0.0.1:{port}/hall")).text
        assert _demo_session(data) in hall and "DEMO-U-" in hall and "DEMO-C-" in hall
        out = sigterm(proc)
    assert proc.returncode == -signal.SIGTERM, out[-2000:]  # died by the signal, as supervisors expect
    assert "Traceback" not in out, out[-3000:]
    assert not _postmaster_running(data), "the embedded PostgreSQL was left running"

    # The next start finds the data (the demo sessions are still there).
    again = _start(data, port)
    try:
        await _ready(port, again)
        watcher = await WsClient.join(f"ws://127.0.0.1:{port}/ws", _demo_session(data))
        await watcher.close()
        assert await _stand_in_answer(port) == (404, "NOT_FOUND")  # not demo mode: the stand-ins are gone
    finally:
        again.send_signal(signal.SIGINT)  # Ctrl-C
        again.communicate(timeout=60)
    assert not _postmaster_running(data)


async def _stand_in_answer(port: int) -> tuple[int, str]:
    """POST /api/sessions/{id}/bidders without a key: 401 where the stand-in exists, 404 where not."""
    async with httpx.AsyncClient() as http:
        r = await http.post(f"http://127.0.0.1:{port}/api/sessions/DEMO-A-1/bidders", json={"legal_name": "x"})
    return r.status_code, str(r.json()["error"]["code"])


def _demo_session(data: Path) -> str:
    text = (data / "demo-tokens.json").read_text()
    found = re.search(r"DEMO-[AL]-[0-9]+", text)
    assert found, text[:500]
    return found.group(0)
