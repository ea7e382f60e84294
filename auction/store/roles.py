"""The role the server works as: it may read and write what it must, and may
not rewrite history.

The append-only logs (the session and plan event logs, committee members,
reserve signatures, the deposit ledger and the other tables whose triggers
refuse UPDATE and DELETE) are also protected by privileges: the server's
connections `SET ROLE` to `auction_app`, which owns nothing (so it cannot
drop or disable a trigger) and holds no UPDATE, DELETE or TRUNCATE on those
tables. Only the account that runs migrations owns the schema.

What this guards against: a bug or a mistaken statement in the server. It is
not a wall against someone who can run arbitrary SQL on the server's
connections: they log in as the owner, and `RESET ROLE` gives its rights back.
That needs a separate login for the server and migrations run only by the
owner, which is not built yet (the server migrates at start-up).

`grant(con)` runs after every migration (the migrating account creates the
role once, if it is allowed to; otherwise a DBA creates it, and the server
warns at start-up that it runs with its login role's rights).
"""

from __future__ import annotations

import logging
import re

import asyncpg

log = logging.getLogger(__name__)

APP_ROLE = "auction_app"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _ident(role: str) -> str:
    """The role as a quoted SQL identifier; only plain lower-case names are taken."""
    if not _NAME.fullmatch(role):
        raise ValueError(f"AUCTION_DB_ROLE must be a plain lower-case name ([a-z_][a-z0-9_]*), not {role!r}")
    return f'"{role}"'

# Tables whose rows must never change once written: every table with a trigger
# that runs one of the *_append_only() functions of the migrations.
_APPEND_ONLY_TABLES = """
SELECT DISTINCT c.relname
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE NOT t.tgisinternal AND n.nspname = current_schema() AND p.proname LIKE '%\\_append\\_only'
 ORDER BY 1
"""


async def _may_set_role(con: asyncpg.Connection, role: str) -> bool:
    """Try it: on PostgreSQL 16+ membership alone (e.g. the ADMIN option a role's
    creator gets) does not allow SET ROLE."""
    try:
        async with con.transaction():
            await con.execute(f"SET LOCAL ROLE {_ident(role)}")
    except asyncpg.PostgresError:
        return False
    return True


async def grant(con: asyncpg.Connection, role: str = APP_ROLE) -> bool:
    """Create `role` if missing (and allowed) and give it the server's rights on the
    current schema. Returns False, with a warning, when the role cannot be created
    or taken by this account (the server then works with the login's rights)."""
    exists = await con.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        may = await con.fetchval("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        if not may:
            log.warning("role %s does not exist and %s may not create it: the server will work with its "
                        "login role's rights", role, await con.fetchval("SELECT current_user"))
            return False
        try:
            await con.execute(f"CREATE ROLE {_ident(role)} NOLOGIN")
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            pass  # created at the same moment for another database of this cluster
    if not await _may_set_role(con, role):
        # A non-superuser login must be granted the role (with SET on 16+) to take it.
        for statement in (f"GRANT {_ident(role)} TO CURRENT_USER WITH SET TRUE, INHERIT FALSE",
                          f"GRANT {_ident(role)} TO CURRENT_USER"):  # before PostgreSQL 16
            try:
                await con.execute(statement)
                break
            except asyncpg.PostgresError:
                continue
        if not await _may_set_role(con, role):
            log.warning("%s may not take role %s: the server will work with its login role's rights",
                        await con.fetchval("SELECT current_user"), role)
            return False
    tables = [r["relname"] for r in await con.fetch(_APPEND_ONLY_TABLES)]
    schema = await con.fetchval("SELECT current_schema()")
    async with con.transaction():
        await con.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {_ident(role)}')
        await con.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {_ident(role)}')
        # USAGE is what nextval needs; no UPDATE, so setval cannot renumber (ledger order).
        await con.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {_ident(role)}')
        await con.execute(f'REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {_ident(role)}')
        await con.execute(f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM {_ident(role)}')
        for table in tables:
            await con.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM {_ident(role)}')
    return True


async def assume(con: asyncpg.Connection, role: str = APP_ROLE) -> None:
    """Each new connection of the server's pool: work as `role` from now on. The pool's
    reset between uses (RESET ALL) leaves the role as it is."""
    await con.execute(f"SET ROLE {_ident(role)}")


async def with_role_possible(dsn: str, role: str = APP_ROLE) -> bool:
    con = await asyncpg.connect(dsn)
    try:
        return await _may_set_role(con, role)
    finally:
        await con.close()
