"""SQL migrations: `migrations/NNNN_name.sql`, applied in order, each recorded once.

A checksum is kept so an edited, already-applied migration is noticed rather
than silently skipped. An advisory lock keeps two nodes from migrating at once.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import asyncpg

from auction.store.database.roles import APP_ROLE, grant


def migrations_dir() -> Path:
    """`migrations/` at the top of the checkout, or AUCTION_MIGRATIONS_DIR (installed packages, images)."""
    return Path(os.environ.get("AUCTION_MIGRATIONS_DIR") or Path(__file__).resolve().parents[3] / "migrations")

NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
LOCK_KEY = 7_042_026  # arbitrary, fixed: pg_advisory_lock key for migrations


class MigrationError(RuntimeError):
    pass


def available(directory: Path | None = None) -> list[tuple[int, str, str]]:
    directory = directory or migrations_dir()
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name not NNNN_name.sql: {path.name}")
        found.append((int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a number")
    return found


async def pending(con: asyncpg.Connection, directory: Path | None = None) -> list[str]:
    """Migrations not applied yet (read-only: any login that may read the schema can ask)."""
    if await con.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return [name for _, name, _ in available(directory)]
    done = {r["version"] for r in await con.fetch("SELECT version FROM schema_migrations")}
    return [name for version, name, _ in available(directory) if version not in done]


async def migrate(con: asyncpg.Connection, directory: Path | None = None, *, role: str | None = APP_ROLE
                  ) -> list[str]:
    """Apply every migration not yet applied; return the names applied now. Then give
    `role` (the server's, store/database/roles.py) its rights on what now exists."""
    applied_now: list[str] = []
    await con.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await con.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"]: r for r in await con.fetch("SELECT version, name, checksum FROM schema_migrations")}
        for version, name, sql in available(directory):
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version]["checksum"] != checksum:
                    raise MigrationError(f"{name} was changed after it was applied")
                continue
            async with con.transaction():
                await con.execute(sql)
                await con.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    version, name, checksum,
                )
            applied_now.append(name)
        # After every run: new tables get the server role's rights, append-only ones without
        # UPDATE or DELETE (store/database/roles.py).
        if role:
            await grant(con, role)
    finally:
        await con.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now
