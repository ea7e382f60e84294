"""Migrations: applied in order, each once, recorded with a checksum; an edited
applied migration or a badly named file stops the run (auction/store/database/migrate.py)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from auction.store.database.migrate import MigrationError, migrate, migrations_dir
from tests.storage.helpers import connected

MIGRATIONS_DIR = migrations_dir()
SHIPPED = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))


@pytest.fixture
async def con(database: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh database with nothing applied yet."""
    async with connected(database) as c:
        yield c


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A private copy of the shipped migrations, free to edit."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


async def recorded(con: asyncpg.Connection) -> list[tuple[int, str, str]]:
    rows = await con.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    return [(r["version"], r["name"], r["checksum"]) for r in rows]


async def tables(con: asyncpg.Connection) -> set[str]:
    rows = await con.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def lock_is_free(database: str) -> bool:
    """Another session can take the migration lock at once (it was released)."""
    other = await asyncpg.connect(database)
    try:
        got = await other.fetchval("SELECT pg_try_advisory_lock(7042026)")
        if got:
            await other.execute("SELECT pg_advisory_unlock(7042026)")
        return bool(got)
    finally:
        await other.close()


async def test_migrating_twice_applies_each_migration_once(con: asyncpg.Connection) -> None:
    assert SHIPPED, "the project ships migrations"
    assert await migrate(con) == SHIPPED
    first = await recorded(con)
    assert [name for _, name, _ in first] == SHIPPED
    for _, name, checksum in first:
        assert checksum == hashlib.sha256((MIGRATIONS_DIR / name).read_bytes()).hexdigest()
    assert {"sessions", "session_events", "bidders", "sealed_reserves", "node_heartbeats"} <= await tables(con)

    assert await migrate(con) == []
    assert await recorded(con) == first


async def test_two_nodes_migrating_at_once_apply_each_migration_once(
    con: asyncpg.Connection, database: str
) -> None:
    other = await asyncpg.connect(database)
    try:
        done = await asyncio.gather(migrate(con), migrate(other))
    finally:
        await other.close()
    assert sorted(done[0] + done[1]) == SHIPPED
    assert [name for _, name, _ in await recorded(con)] == SHIPPED


async def test_an_applied_migration_that_was_edited_is_refused(
    con: asyncpg.Connection, database: str, migrations: Path
) -> None:
    assert await migrate(con, migrations) == SHIPPED
    before = await recorded(con)
    first = migrations / SHIPPED[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking comment\n")
    # A new migration after it must not be applied past the refusal.
    (migrations / "9998_after_edit.sql").write_text("CREATE TABLE after_edit (x int);\n")

    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(con, migrations)
    assert await recorded(con) == before
    assert "after_edit" not in await tables(con)
    assert await lock_is_free(database)


@pytest.mark.parametrize("bad", ["1_short.sql", "0002-dash.sql", "0002_UpperCase.sql", "0002_name.SQL.sql"])
async def test_a_badly_named_migration_file_is_refused(
    con: asyncpg.Connection, database: str, migrations: Path, bad: str
) -> None:
    (migrations / bad).write_text("CREATE TABLE should_not_exist (x int);\n")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        await migrate(con, migrations)
    # Nothing at all was applied: the names are checked before any migration runs.
    assert await recorded(con) == []
    assert "sessions" not in await tables(con)
    assert "should_not_exist" not in await tables(con)
    assert await lock_is_free(database)


async def test_two_migrations_with_one_number_are_refused(con: asyncpg.Connection, migrations: Path) -> None:
    number = SHIPPED[0][:4]
    (migrations / f"{number}_twin.sql").write_text("CREATE TABLE twin (x int);\n")
    with pytest.raises(MigrationError, match="share a number"):
        await migrate(con, migrations)
    assert await recorded(con) == []


async def test_a_failing_migration_leaves_no_trace_and_is_retried(
    con: asyncpg.Connection, database: str, migrations: Path
) -> None:
    broken = migrations / "9999_broken.sql"
    broken.write_text("CREATE TABLE half_done (x int);\nSELECT 1 / 0;\n")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await migrate(con, migrations)
    # The migrations before it are in; the broken one left neither its table nor a record.
    assert [name for _, name, _ in await recorded(con)] == SHIPPED
    assert "half_done" not in await tables(con)
    assert await lock_is_free(database)

    broken.write_text("CREATE TABLE half_done (x int);\n")
    assert await migrate(con, migrations) == ["9999_broken.sql"]
    assert "half_done" in await tables(con)
