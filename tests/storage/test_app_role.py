"""The server's connections work as `auction_app` (store/database/roles.py): the append-only
logs are protected by privileges as well as by triggers. A bug or a mistaken
statement in the server cannot rewrite history: no UPDATE, DELETE or TRUNCATE on
those tables, and no way to drop or disable their triggers (it owns nothing).
These tests take the role the way a login that may SET ROLE does (DATABASE_URL
alone); test_db_security.py logs in as the role itself, as the server does on the
embedded database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from auction.store.database.roles import APP_ROLE, _APPEND_ONLY_TABLES, assume, with_role_possible

APPEND_ONLY = {
    "session_events", "plan_events", "committee_members", "reserve_signatures", "ledger_entries", "tree_heads",
    "bidder_keys", "tender_events", "post_deal_records",
}


@pytest.fixture
async def app_con(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the server's pool makes them (app.py: init=assume)."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, init=assume)
    assert pool is not None
    try:
        async with pool.acquire() as con:
            yield con
    finally:
        await pool.close()


async def test_the_server_role_exists_and_the_login_may_take_it(dsn: str, db: asyncpg.Connection) -> None:
    assert await with_role_possible(dsn)
    # On the embedded database it is the server's own login (store/database/embedded.py), with no powers.
    row = await db.fetchrow("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", APP_ROLE)
    assert row is not None and not any(row.values())
    found = {r["relname"] for r in await db.fetch(_APPEND_ONLY_TABLES)}
    assert APPEND_ONLY <= found, found


async def test_the_role_survives_the_pool_reset(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, init=assume)
    assert pool is not None
    try:
        for _ in range(3):  # each release runs asyncpg's reset (RESET ALL ...)
            async with pool.acquire() as con:
                assert await con.fetchval("SELECT current_user") == APP_ROLE
    finally:
        await pool.close()


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
async def test_the_server_role_cannot_rewrite_an_append_only_table(app_con: asyncpg.Connection, table: str) -> None:
    for statement in (f"UPDATE {table} SET {await _a_column(app_con, table)} = {await _a_column(app_con, table)}",
                      f"DELETE FROM {table}", f"TRUNCATE {table}",
                      f"ALTER TABLE {table} DISABLE TRIGGER USER", f"DROP TABLE {table}"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_con.execute(statement)
    # Reading (and, for the logs, appending) is what it may do.
    await app_con.fetch(f"SELECT * FROM {table} LIMIT 1")
    privileges = await app_con.fetchrow(
        "SELECT has_table_privilege($1, 'INSERT') AS ins, has_table_privilege($1, 'UPDATE') AS upd", table)
    assert privileges is not None and privileges["ins"] and not privileges["upd"]


async def test_the_server_role_keeps_its_working_rights(app_con: asyncpg.Connection) -> None:
    """It writes the projections and queues it must (sessions, deadlines, outbox...),
    but not the migration record."""
    assert await app_con.fetchval("SELECT has_table_privilege('sessions', 'UPDATE')")
    assert await app_con.fetchval("SELECT has_table_privilege('deadlines', 'UPDATE')")
    assert await app_con.fetchval("SELECT has_table_privilege('schema_migrations', 'SELECT')")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_con.execute("DELETE FROM schema_migrations")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_con.execute("CREATE TABLE sneaky (x int)")  # PostgreSQL 15+: no CREATE on public for PUBLIC
    # Sequences: nextval yes (identity columns), setval no (the ledger's booking order).
    sequence = await app_con.fetchval(
        "SELECT pg_get_serial_sequence('ledger_entries', 'position')")
    if sequence is not None:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_con.execute("SELECT setval($1, 1)", sequence)


async def _a_column(con: asyncpg.Connection, table: str) -> str:
    name = await con.fetchval(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position LIMIT 1",
        table)
    assert isinstance(name, str)
    return name
