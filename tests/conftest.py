"""Shared fixtures: one real embedded PostgreSQL for the whole run, a fresh
database per test that asks for one, and a real server process.

Test clusters run with fsync off: they are thrown away after the run, and the
crash tests kill the *server*, not the machine, so commit semantics are intact.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from auction.store import embedded

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg() -> Iterator[embedded.EmbeddedPostgres]:
    base = Path(tempfile.mkdtemp(prefix="auction-test-pg-"))
    server = embedded.start(base, fsync=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _admin_dsn(pg: embedded.EmbeddedPostgres) -> str:
    return pg.dsn


@pytest.fixture
async def database(pg: embedded.EmbeddedPostgres) -> str:
    """A fresh, empty database on the shared cluster; returns its DSN."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    con = await asyncpg.connect(pg.dsn)
    try:
        await con.execute(f'CREATE DATABASE "{name}"')
    finally:
        await con.close()
    return pg.dsn.rsplit("/", 1)[0] + f"/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A real `auction serve` in a subprocess (stdout/stderr to a log file)."""

    dsn: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    operator_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout: float = 30.0) -> None:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.dsn,
                "AUCTION_DATA_DIR": str(self.data_dir),
                "AUCTION_PORT": str(self.port),
                "AUCTION_OPERATOR_KEY": self.operator_key,
                "AUCTION_MIN_LISTING_SECONDS": "0",  # tests compress time; the rule itself is unit-tested
                "AUCTION_LOG_LEVEL": "INFO",
            }
        )
        env.update(self.env_extra)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = self.data_dir / "keys" / "reserve.key"
        if not key.exists():
            subprocess.run([sys.executable, "-m", "auction.cli", "keys", "init"], env=env, check=True,
                           capture_output=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "auction.cli", "serve"], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.http, headers={"Authorization": f"Bearer {self.operator_key}"}, timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def server_factory(database: str, tmp_path: Path) -> Iterator[type[ServerProcess] | object]:
    started: list[ServerProcess] = []

    def make(**env: str) -> ServerProcess:
        s = ServerProcess(dsn=database, data_dir=tmp_path / f"node{len(started)}", env_extra=env)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def server(server_factory: object) -> ServerProcess:
    s: ServerProcess = server_factory()  # type: ignore[operator]
    s.start()
    return s
