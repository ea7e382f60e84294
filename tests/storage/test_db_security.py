"""The embedded PostgreSQL is locked down (store/database/embedded.py, README: Database security).

- Nobody logs in without a password, over TCP or the Unix socket, as any user
  (asyncpg, and the wheel's own `psql`); pg_hba.conf has no `trust`; the socket's
  folder and the password files are private.
- The server's login owns nothing and cannot rewrite history nor reach the owner's
  rights: no UPDATE, DELETE, TRUNCATE, ALTER, DROP or DISABLE TRIGGER on an
  append-only table, no SET ROLE or GRANT to the owner, no superuser, no CREATE ROLE.
- A data folder made the old way (initdb --auth=trust, no passwords) is upgraded in
  place at the next start, with its data, whether its postmaster was stopped or
  still running.
- Several processes share one data folder: only the last user stops it, and a
  pool finds the database again after it was restarted underneath it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from auction.store.database import embedded
from auction.store.database.migrate import migrate
from auction.store.database.roles import APP_ROLE, grants_sql
from tests.storage.test_app_role import APPEND_ONLY, _a_column

REFUSED = (asyncpg.PostgresError, asyncpg.InterfaceError)  # no password: "password authentication failed" & co


def _folder() -> Path:
    # Not under pytest's tmp_path: pytest takes the other users' access to its own root
    # folder away again, and the postmaster runs as another user when the tests run as root.
    return Path(tempfile.mkdtemp(prefix="auction-test-db-"))


@pytest.fixture
def folder() -> Iterator[Path]:
    path = _folder()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fresh() -> Iterator[embedded.EmbeddedPostgres]:
    """A brand-new embedded data folder, as `auction serve` makes one."""
    base = _folder()
    pg = embedded.start(base / "var", fsync=False)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def _no_password_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


@pytest.mark.parametrize("user", ["postgres", APP_ROLE, "root", embedded.SYSTEM_USER])
async def test_no_login_without_the_password(fresh: embedded.EmbeddedPostgres, user: str) -> None:
    for host in ("127.0.0.1", str(fresh.socket_dir)):
        for password in (None, "", "wrong-password"):
            with pytest.raises(REFUSED):
                con = await asyncpg.connect(host=host, port=fresh.port, user=user, password=password,
                                            database="postgres", timeout=30)
                await con.close()  # not reached
        # The wheel's psql, the way a local process would try.
        for where in (["-h", str(fresh.socket_dir)], ["-h", "127.0.0.1"]):
            r = subprocess.run([fresh.bin("psql"), *where, "-p", str(fresh.port), "-U", user, "-d", "postgres", "-w",
                                "-X", "-c", "SELECT 1"], capture_output=True, text=True, timeout=60,
                               env=_no_password_env())
            assert r.returncode != 0 and "password" in r.stderr, (where, r.stdout, r.stderr)


async def test_the_two_logins_with_their_passwords(fresh: embedded.EmbeddedPostgres) -> None:
    keys = fresh.data_dir.parent / "keys"
    assert (keys / embedded.OWNER_PASSWORD_FILE).read_text().strip() == fresh.owner_password
    assert (keys / embedded.SERVER_PASSWORD_FILE).read_text().strip() == fresh.server_password
    assert fresh.owner_password != fresh.server_password
    owner = await asyncpg.connect(fresh.owner_dsn)
    try:
        assert await owner.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    finally:
        await owner.close()
    # Over the socket too, with the password.
    r = subprocess.run([fresh.bin("psql"), "-h", str(fresh.socket_dir), "-p", str(fresh.port), "-U", APP_ROLE,
                        "-d", "postgres", "-w", "-X", "-At", "-c", "SELECT current_user"], capture_output=True,
                       text=True, timeout=60, env={**_no_password_env(), "PGPASSWORD": fresh.server_password})
    assert (r.returncode, r.stdout.strip()) == (0, APP_ROLE), r.stderr
    server = await asyncpg.connect(fresh.server_dsn)
    try:
        row = await server.fetchrow(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user")
        assert row is not None and row["rolcanlogin"] and not any(list(row.values())[1:]), row
        assert not await server.fetchval("SELECT pg_has_role(current_user, 'postgres', 'MEMBER')")
    finally:
        await server.close()


def test_pg_hba_has_no_trust_and_the_files_are_private(fresh: embedded.EmbeddedPostgres) -> None:
    hba = (fresh.data_dir / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), hba
    assert "trust" not in hba
    assert [rule[3] for rule in rules if rule[0] == "host"] == ["127.0.0.1/32"]  # it listens nowhere else
    mode = stat.S_IMODE
    assert mode(fresh.socket_dir.stat().st_mode) == 0o700  # the socket's folder is the data folder
    assert (fresh.socket_dir / f".s.PGSQL.{fresh.port}").is_socket()
    keys = fresh.data_dir.parent / "keys"
    assert mode(keys.stat().st_mode) == 0o700
    for name in (embedded.OWNER_PASSWORD_FILE, embedded.SERVER_PASSWORD_FILE):
        assert mode((keys / name).stat().st_mode) == 0o600, name


# ---------------------------------------------------------------------------
# the server's login, on a migrated database of the shared test cluster


@pytest.fixture
async def server_con(pg: embedded.EmbeddedPostgres, dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """Logged in as the server's pool is on the embedded database: as auction_app itself."""
    con = await asyncpg.connect(pg.dsn_for(dsn.rsplit("/", 1)[1], server=True))
    try:
        yield con
    finally:
        await con.close()


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
async def test_the_server_login_cannot_rewrite_an_append_only_table(server_con: asyncpg.Connection,
                                                                    table: str) -> None:
    assert await server_con.fetchval("SELECT current_user") == APP_ROLE
    column = await _a_column(server_con, table)
    for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}", f"TRUNCATE {table}",
                      f"ALTER TABLE {table} DISABLE TRIGGER USER", f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                      f"ALTER TABLE {table} ADD COLUMN sneaky int", f"ALTER TABLE {table} OWNER TO {APP_ROLE}",
                      f"DROP TABLE {table}", f"DROP TABLE {table} CASCADE"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await server_con.execute(statement)
    await server_con.fetch(f"SELECT * FROM {table} LIMIT 1")  # reading is what it may do


async def test_the_server_login_cannot_reach_the_owners_rights(server_con: asyncpg.Connection) -> None:
    for statement in ("SET ROLE postgres", "SET SESSION AUTHORIZATION postgres", f"GRANT postgres TO {APP_ROLE}",
                      f"ALTER ROLE {APP_ROLE} SUPERUSER", f"ALTER ROLE {APP_ROLE} CREATEROLE",
                      "CREATE ROLE sneaky LOGIN SUPERUSER", "CREATE ROLE sneaky", "CREATE DATABASE sneaky",
                      "ALTER ROLE postgres PASSWORD 'sneaky'", "CREATE TABLE sneaky (x int)"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await server_con.execute(statement)
    await server_con.execute("RESET ROLE")  # gives nothing back: it logged in as itself
    assert await server_con.fetchval("SELECT current_user") == APP_ROLE
    assert not await server_con.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")


async def test_grants_sql_makes_the_same_login_on_an_external_database(
    pg: embedded.EmbeddedPostgres, dsn: str, db: asyncpg.Connection
) -> None:
    """`auction db grants-sql --role NAME`, run by the owner, gives NAME the rights grant() gives."""
    role = "auction_dba_made"
    r = subprocess.run([pg.bin("psql"), "-d", dsn, "-w", "-X", "-v", "ON_ERROR_STOP=1", "-q"],
                       input=grants_sql(role), capture_output=True, text=True, timeout=60, env=_no_password_env())
    assert r.returncode == 0, r.stderr
    await db.execute(f"ALTER ROLE {role} PASSWORD 'dba-chosen-password'")
    row = await db.fetchrow("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                            "WHERE rolname = $1", role)
    assert row is not None and row["rolcanlogin"] and not (row["rolsuper"] or row["rolcreaterole"]
                                                          or row["rolcreatedb"])
    con = await asyncpg.connect(dsn.replace(f"postgres:{pg.owner_password}@", f"{role}:dba-chosen-password@"))
    try:
        assert await con.fetchval("SELECT has_table_privilege('sessions', 'UPDATE')")
        for table in sorted(APPEND_ONLY):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await con.execute(f"DELETE FROM {table}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await con.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await con.execute("DELETE FROM schema_migrations")
    finally:
        await con.close()


# ---------------------------------------------------------------------------
# a data folder of the earlier version


def _old_folder(data_dir: Path) -> embedded.EmbeddedPostgres:
    """Made the way the earlier version made it: initdb --auth=trust, no passwords, running."""
    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True)
    old = embedded.EmbeddedPostgres(pgdata, embedded._free_port(), embedded._prepare_root_user(pgdata))
    old._run(embedded._bin("initdb"), "-D", str(pgdata), "--auth=trust", "-U", "postgres", "--encoding=UTF8",
             "--locale=C", "--no-sync")
    old._run(embedded._bin("pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l", str(pgdata / "server.log"),
             "-o", f"-h 127.0.0.1 -p {old.port} -k {pgdata} -c fsync=off", "start")
    return old


@pytest.mark.parametrize("still_running", [False, True])
async def test_an_old_trust_folder_is_upgraded_in_place_with_its_data(folder: Path, still_running: bool) -> None:
    data_dir = folder / "var"
    old = _old_folder(data_dir)
    con = await asyncpg.connect(host="127.0.0.1", port=old.port, user="postgres", database="postgres")
    try:
        await migrate(con)  # as the old server did at start-up: auction_app made NOLOGIN
        await con.execute("CREATE TABLE kept (note text)")
        await con.execute("INSERT INTO kept VALUES ('history')")
    finally:
        await con.close()
    if not still_running:
        old._run(embedded._bin("pg_ctl"), "-D", str(old.data_dir), "-m", "fast", "-w", "stop")

    pg = embedded.start(data_dir, fsync=False)
    try:
        assert pg.started is not still_running
        assert "trust" not in (pg.data_dir / "pg_hba.conf").read_text()
        for user in ("postgres", APP_ROLE):
            with pytest.raises(REFUSED):
                con = await asyncpg.connect(host="127.0.0.1", port=pg.port, user=user, database="postgres",
                                            timeout=30)
                await con.close()
        owner = await asyncpg.connect(pg.owner_dsn)
        try:
            assert await owner.fetchval("SELECT note FROM kept") == "history"
            assert await owner.fetchval("SELECT count(*) FROM schema_migrations") > 0
        finally:
            await owner.close()
        server = await asyncpg.connect(pg.server_dsn)
        try:
            assert await server.fetchval("SELECT current_user") == APP_ROLE
            await server.fetch("SELECT * FROM sessions LIMIT 1")  # its grants from the old migration hold
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await server.execute("DELETE FROM session_events")
        finally:
            await server.close()
    finally:
        pg.stop()
    # And the next start finds it locked down already.
    again = embedded.start(data_dir, fsync=False)
    try:
        assert (again.owner_password, again.server_password) == (pg.owner_password, pg.server_password)
        con = await asyncpg.connect(again.server_dsn)
        await con.close()
    finally:
        again.stop()


# ---------------------------------------------------------------------------
# sharing the data folder


def _running(pg: embedded.EmbeddedPostgres) -> bool:
    return embedded._running_port(pg.data_dir) is not None


async def test_only_the_last_user_stops_it_and_a_pool_finds_it_again(folder: Path) -> None:
    first = embedded.start(folder / "var", fsync=False)
    try:
        assert first.started
        # A second user (another process's start would be the same: the locks are per open file).
        second = embedded.start(folder / "var", fsync=False)
        assert not second.started and second.port == first.port
        assert not second.release() and _running(first)  # it did not start it: left running
        third = embedded.start(folder / "var", fsync=False)
        assert not first.release() and _running(first)  # started it, but `third` still uses it
        pool = await asyncpg.create_pool(third.server_dsn, min_size=1, max_size=1)
        assert pool is not None
        try:
            assert await pool.fetchval("SELECT 1") == 1
            assert third.stop() and not _running(third)  # the last user: stopped
            restarted = embedded.start(folder / "var", fsync=False)
            assert restarted.started and restarted.port == first.port  # back on the same port
            # The pool drops its dead connection and connects again on its own.
            results = []
            for _ in range(3):
                try:
                    results.append(await pool.fetchval("SELECT 1"))
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    results.append(None)
            assert results[-1] == 1, results
        finally:
            await pool.close()
        assert restarted.stop()
    finally:
        if _running(first):
            first._run(embedded._bin("pg_ctl"), "-D", str(first.data_dir), "-m", "immediate", "-w", "stop")
    assert not _running(first)
