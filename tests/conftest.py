"""Shared fixtures: one real embedded PostgreSQL for the whole run, a fresh
database per test that asks for one, and a real server process.

Servers from `server_factory` / `server` have the stand-ins on (see `make`).

Test clusters run with fsync off: they are thrown away after the run, and the
crash tests kill the *server*, not the machine, so commit semantics are intact.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from auction.store.database import embedded
from loadtests.harness import RedisProcess, ServerProcess


@pytest.fixture(scope="session")
def pg() -> Iterator[embedded.EmbeddedPostgres]:
    """The test cluster: password logins only, like every embedded cluster. `pg.dsn_for(name)`
    is a database as its owner, `pg.dsn_for(name, server=True)` as the server's login."""
    base = Path(tempfile.mkdtemp(prefix="auction-test-pg-"))
    server = embedded.start(base, fsync=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def database(pg: embedded.EmbeddedPostgres) -> str:
    """A fresh, empty database on the shared cluster; returns its DSN (as the owner)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    con = await asyncpg.connect(pg.owner_dsn)
    try:
        await con.execute(f'CREATE DATABASE "{name}"')
    finally:
        await con.close()
    return pg.dsn_for(name)


@pytest.fixture
def server_factory(pg: embedded.EmbeddedPostgres, database: str, tmp_path: Path
                   ) -> Iterator[Callable[..., ServerProcess]]:
    """Servers on one database. Several of them are the nodes of one deployment:
    they share the escrow key, as a deployment does. Each logs in as the server's
    login (DATABASE_URL) and migrates as the owner (AUCTION_MIGRATION_URL);
    `server.dsn` is the owner's, for a test to look inside."""
    started: list[ServerProcess] = []
    keys = tmp_path / "shared-keys"
    shared = {"AUCTION_ESCROW_KEY": str(keys / "escrow.key"), "AUCTION_ESCROW_PUBLIC_KEY": str(keys / "escrow.pub"),
              "AUCTION_TRANSPARENCY_KEY": str(keys / "transparency.key")}

    def make(stand_ins: bool = True, **env: str) -> ServerProcess:
        # stand_ins=True (AUCTION_STAND_INS=on): most tests make their sessions and bidders
        # through the stand-ins (tests/e2e/helpers.py Api.create / Api.qualify: no plan, no
        # deposit), which production never has. A test of production behaviour passes
        # stand_ins=False; the real path (plan, application, bank-confirmed deposit) is
        # tested end to end in tests/e2e/test_plan_to_sale.py and test_deposits.py.
        s = ServerProcess(dsn=database, server_dsn=pg.dsn_for(database.rsplit("/", 1)[1], server=True),
                          data_dir=tmp_path / f"node{len(started)}", env_extra={**shared, **env},
                          stand_ins=stand_ins)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data folder for an `auction` command that starts its own embedded PostgreSQL. Not
    under pytest's tmp_path: when the tests run as root the postmaster runs as another user,
    and pytest takes other users' access to its root folder away again (any pytest started
    on the machine does), which would shut the postmaster out of its own files."""
    base = Path(tempfile.mkdtemp(prefix="auction-test-data-"))
    yield base / "var"
    shutil.rmtree(base, ignore_errors=True)


# A real redis-server (Debian package) on a free loopback port, restartable on that port.
RedisServer = RedisProcess


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    r = RedisServer(tmp_path)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    s = server_factory()
    s.start()
    return s
