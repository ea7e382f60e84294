"""Storage-layer fixtures: a migrated fresh database per test, a hand-moved clock,
and "nodes": SessionService instances that each own a connection pool, the way
several server processes share one database. The in-process lock of one node
does not serialise another node's commands; only PostgreSQL orders them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from auction.adapters.fanout.broker import InProcessBroker
from auction.adapters.sealing.escrow import ReserveSealer
from auction.services.session import SessionService
from auction.store.database.embedded import EmbeddedPostgres
from auction.store.events import EventStore, GroupCommit
from auction.store.database.migrate import migrate
from tests.storage.helpers import Clock, connected
from tests.storage.proxy import TcpProxy

NodeFactory = Callable[..., Awaitable[SessionService]]


@pytest.fixture
async def dsn(database: str) -> str:
    """A fresh database with every migration applied."""
    async with connected(database) as con:
        await migrate(con)
    return database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sealer() -> ReserveSealer:
    # One escrow key for every node of a test, as a deployment shares it.
    return ReserveSealer.generate()


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for looking at what the database holds."""
    async with connected(dsn) as con:
        yield con


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the migrated database, for the stores that take one."""
    p = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert p is not None
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
async def node(dsn: str, clock: Clock, sealer: ReserveSealer) -> AsyncIterator[NodeFactory]:
    pools: list[asyncpg.Pool] = []
    groups: list[GroupCommit] = []

    async def make(*, via: str | None = None, max_size: int = 3, group_commit: bool = False) -> SessionService:
        """A node; with `group_commit`, its appends are batched as the server's are."""
        pool = await asyncpg.create_pool(via or dsn, min_size=1, max_size=max_size)
        assert pool is not None
        pools.append(pool)
        group = GroupCommit(pool) if group_commit else None
        if group is not None:
            groups.append(group)
        return SessionService(EventStore(pool, group_commit=group), InProcessBroker(), sealer, clock=clock)

    yield make
    for group in groups:
        await group.close()
    for pool in pools:
        try:
            await asyncio.wait_for(pool.close(), 10)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pool.terminate()


@pytest.fixture
async def proxy(pg: EmbeddedPostgres) -> AsyncIterator[TcpProxy]:
    """A TCP proxy in front of the test cluster (point a node at `proxy.dsn(dsn)`)."""
    p = TcpProxy(pg.port)
    await p.start()
    try:
        yield p
    finally:
        await p.cut()
