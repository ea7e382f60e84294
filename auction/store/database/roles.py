"""The role the server works as: it may read and write what it must, and may
not rewrite history.

The append-only logs (the session and plan event logs, committee members,
reserve signatures, the deposit ledger and the other tables whose triggers
refuse UPDATE and DELETE) are also protected by privileges. The server's role
(`auction_app`, AUCTION_DB_ROLE) owns nothing (so it cannot drop, alter or
disable a trigger) and holds no UPDATE, DELETE or TRUNCATE on those tables. Only
the owner, the account that runs migrations, owns the schema.

Two logins, so no statement on the server's connections can reach the owner's
rights (README, Database security):

- embedded PostgreSQL (store/database/embedded.py): `auction_app` is itself a LOGIN role
  with its own password; the server's pool logs in as it (no SET ROLE), and the
  owner (`postgres`) is used only by migrations and operator commands;
- external database: DATABASE_URL is the server's login, AUCTION_MIGRATION_URL the
  owner's. A DBA creates the server's login with the SQL `auction db grants-sql`
  prints (`grants_sql`). With DATABASE_URL alone the server migrates with its own
  login (which then owns the schema; it warns) and its pool `SET ROLE`s to the
  role: that guards against bugs and mistaken statements only (`RESET ROLE`
  gives the owner's rights back).

`grant(con)` runs after every migration, as the migrating account: it creates the
role (NOLOGIN) if missing and allowed, and gives it the server's rights on what
now exists. If it cannot, the server warns at start-up that it runs with its
login's rights.
"""

from __future__ import annotations

import logging
import re

import asyncpg

log = logging.getLogger(__name__)

APP_ROLE = "auction_app"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def ident(role: str) -> str:
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
            await con.execute(f"SET LOCAL ROLE {ident(role)}")
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
            await con.execute(f"CREATE ROLE {ident(role)} NOLOGIN")
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            pass  # created at the same moment for another database of this cluster
    if not await _may_set_role(con, role):
        # A non-superuser login must be granted the role (with SET on 16+) to take it.
        for statement in (f"GRANT {ident(role)} TO CURRENT_USER WITH SET TRUE, INHERIT FALSE",
                          f"GRANT {ident(role)} TO CURRENT_USER"):  # before PostgreSQL 16
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
        for statement in grant_statements(role, schema, tables):
            await con.execute(statement)
    return True


def grant_statements(role: str, schema: str, append_only: list[str]) -> list[str]:
    """The server's rights on `schema`: read and write what it must, but no UPDATE,
    DELETE or TRUNCATE on the `append_only` tables nor on the migration record."""
    r = ident(role)
    s = f'"{schema}"'
    return [
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        # USAGE is what nextval needs; no UPDATE, so setval cannot renumber (ledger order).
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        f"REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.schema_migrations FROM {r}",
        *(f'REVOKE UPDATE, DELETE, TRUNCATE ON {s}."{table}" FROM {r}' for table in append_only),
    ]


def grants_sql(role: str = APP_ROLE, schema: str = "public") -> str:
    """What a DBA runs (as the schema's owner, after `auction migrate`) to make the
    server's login on an external PostgreSQL: `auction db grants-sql`. The grants are
    the ones `grant` applies; each later `auction migrate` by the owner renews them."""
    r = ident(role)
    if not _NAME.fullmatch(schema):
        raise ValueError(f"the schema must be a plain lower-case name, not {schema!r}")
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    append_only = " ".join(_APPEND_ONLY_TABLES.replace("current_schema()", f"'{schema}'").split())
    return "\n".join([
        f"-- The auction server's login {role}: owns nothing, no superuser, cannot create roles or",
        "-- databases, no UPDATE/DELETE/TRUNCATE on the append-only tables, not a member of the owner.",
        "-- Run as the owner of the schema (the AUCTION_MIGRATION_URL login) in the auction database,",
        f"-- after `auction migrate`; then give it a password (psql: \\password {role}) for DATABASE_URL.",
        "DO $$ BEGIN",
        f"  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN",
        f"    CREATE ROLE {r} {attributes};",
        "  END IF;",
        "END $$;",
        f"ALTER ROLE {r} {attributes};",
        *(statement + ";" for statement in grant_statements(role, schema, [])),
        "-- The append-only tables: each has a trigger running one of the *_append_only() functions.",
        "DO $$ DECLARE append_only_table text; BEGIN",
        f"  FOR append_only_table IN {append_only} LOOP",
        f"    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM {r}', '{schema}', append_only_table);",
        "  END LOOP;",
        "END $$;",
    ]) + "\n"


async def assume(con: asyncpg.Connection, role: str = APP_ROLE) -> None:
    """Each new connection of the server's pool: work as `role` from now on. The pool's
    reset between uses (RESET ALL) leaves the role as it is."""
    await con.execute(f"SET ROLE {ident(role)}")


async def with_role_possible(dsn: str, role: str = APP_ROLE) -> bool:
    con = await asyncpg.connect(dsn)
    try:
        return await _may_set_role(con, role)
    finally:
        await con.close()


async def login_name(dsn: str) -> str:
    """The role `dsn` logs in as."""
    con = await asyncpg.connect(dsn)
    try:
        name: str = await con.fetchval("SELECT session_user")
        return name
    finally:
        await con.close()
