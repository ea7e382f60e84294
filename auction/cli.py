"""`auction serve | migrate | demo | keys init | verify | verify-reserve | committee keygen|public-key|sign |
calendar load FILE | users add|list|disable | db grants-sql`.

Every command that needs the database on the embedded default shares it with a
server running on the same data folder: it connects to the running PostgreSQL and
leaves it running (store/database/embedded.py, `EmbeddedPostgres.release`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import asyncpg

from auction.adapters import logs
from auction.entrypoints.cli import committee as committee_cli
from auction.entrypoints.cli.parser import Parser
from auction.settings import Settings
from auction.store.database import embedded

log = logging.getLogger("auction")


@dataclass(frozen=True)
class Database:
    """Where the server's data is: `dsn` is the server's login, `migration_dsn` the
    schema owner's (None: DATABASE_URL alone, which then migrates too)."""

    dsn: str
    migration_dsn: str | None
    role: str  # the server's role, given its rights after each migration ("" : none)
    pg: embedded.EmbeddedPostgres | None = None


def _database(settings: Settings) -> Database:
    if settings.database_url:
        return Database(settings.database_url, settings.migration_url, settings.db_role)
    from auction.store.database.roles import APP_ROLE

    pg = embedded.start(settings.data_dir, server_role=settings.db_role or APP_ROLE)
    return Database(pg.server_dsn, pg.owner_dsn, pg.server_role, pg)


async def _migrated(db: Database) -> None:
    """The schema is current before a command works on it: migrated by the owner, or,
    with DATABASE_URL alone, by that login if anything is left to apply."""
    from auction.store.database.migrate import migrate, pending

    con = await asyncpg.connect(db.migration_dsn or db.dsn)
    try:
        if db.migration_dsn is not None or await pending(con):
            await migrate(con, role=db.role or None)
    finally:
        await con.close()


def _operator_key(settings: Settings) -> Settings:
    if settings.operator_key:
        return settings
    path = settings.data_dir / "keys" / "operator.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
    return replace(settings, operator_key=path.read_text().strip())


async def _load_demo(settings: Settings, db: Database) -> None:
    from auction import bootstrap, demo
    from auction.demo.day import DemoClock

    # The server's own wiring (bootstrap), with the demo's clock: its history is written at its own times.
    clock = DemoClock()
    runtime = await bootstrap.build(settings, db.dsn, db.migration_dsn, clock=clock)
    try:
        loaded = await demo.load(runtime, clock, settings, settings.data_dir / "demo-tokens.json")
    finally:
        await runtime.stop()
    rows = loaded.rows
    url = f"ws://{settings.host}:{settings.port}/ws"
    print("\n=== 演示数据 / Demo data (DEMO: time compressed, listing 10 min instead of 10 days) ===")
    for note in loaded.notes:
        print(note)
    print(f"WebSocket: {url}    operator API key: {settings.operator_key}")
    site = f"http://{settings.host}:{settings.port}"
    current = None
    for r in rows:
        tender = r["method"] == "TENDER"
        if r["session_id"] != current:
            current = r["session_id"]
            if tender:
                print(f"\n{demo.METHOD_WORDS['TENDER']} {current}  (密封投标：在 {site}/bid 输入凭证 / sealed bids: "
                      f"paste the token on {site}/bid; 旁观 / watch: {site}/hall/tenders/{current})")
            else:
                print(f"\n{demo.METHOD_WORDS.get(r['method'], r['method'])} session {current}")
                print(f"  旁观 / watch:  .venv/bin/auction-bidder --url {url} watch {current}")
        if tender:
            print(f"  投标人编号 / bidder {r['bidder_no']}  {r['legal_name']}  凭证 / token {r['token']}\n"
                  f"    AUCTION_BIDDER_TOKEN={r['token']} .venv/bin/python -m clients.tender_cli --server {site} "
                  f"{current} --bidder-no {r['bidder_no']} --price-wan 3600")
            continue
        print(f"  竞买号 / bidder {r['bidder_no']}  {r['legal_name']}\n    .venv/bin/auction-bidder --url {url} "
              f"bid {current} --token {r['token']}")
    print(f"\nTokens saved in {settings.data_dir / 'demo-tokens.json'} (mode 600).\n")
    from auction.staff.accounts import print_demo_accounts

    await print_demo_accounts(db.dsn, settings.data_dir, f"http://{settings.host}:{settings.port}")


def _check_pdf_font() -> None:
    """Said at start-up, not first at a winner's confirmation: the PDFs need their font file."""
    from auction.documents.fonts import PdfFontMissing, find_font

    try:
        find_font()
    except PdfFontMissing as e:
        print(f"auction: 警告 / warning: {e}", file=sys.stderr)


class _Terminated(BaseException):
    """SIGTERM arrived: unwind (stopping what was started), then die by the signal."""


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise _Terminated


def serve(settings: Settings, workers: int = 1) -> None:
    import uvicorn

    from auction.app import create_app
    from auction.entrypoints.cli import workers as multi

    from auction.adapters.keys import KeySetupError, demo_keys, open_sealer

    refused = multi.refusal(settings, workers)
    if refused:
        raise SystemExit(refused)
    settings = _operator_key(settings)
    if settings.demo:
        settings = demo_keys(settings)
    try:
        open_sealer(settings)  # fail fast on a missing key or a wrong passphrase
    except (KeySetupError, OSError, RuntimeError) as e:
        raise SystemExit(f"auction: {e}") from None
    _check_pdf_font()
    if workers > 1:
        from auction.adapters.sealing.center_key import CenterKey

        multi.check_port(settings.host, settings.port)
        CenterKey.from_file(settings.transparency_key_file)  # made once here if missing, not by N workers at once
    # SIGTERM (kill, systemd, docker stop): uvicorn shuts down gracefully and re-raises
    # the signal, which lands in `_on_sigterm`; the embedded PostgreSQL is stopped, and
    # the process then dies by SIGTERM as a supervisor expects. Held off while the
    # database starts, so a SIGTERM then cannot leave it running.
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    pg = None
    terminated = False
    try:
        db = _database(settings)
        pg = db.pg
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        if pg is not None:  # the embedded database's server login is the role itself
            settings = replace(settings, db_role=pg.server_role)
        if settings.demo:
            asyncio.run(_load_demo(settings, db))
        if workers > 1:  # this process only watches its workers (entrypoints/cli/workers.py)
            multi.supervise(settings, db.dsn, db.migration_dsn, workers)
        else:
            app = create_app(settings, db.dsn, migration_dsn=db.migration_dsn)
            multi.settle_heap()
            uvicorn.run(app, host=settings.host, port=settings.port, **multi.uvicorn_options(settings))
    except _Terminated:
        terminated = True
    finally:
        if pg is not None:
            # Stopped when this server is its last user (a command beside it keeps it running).
            pg.release(stop=os.environ.get("AUCTION_KEEP_DB") != "1")
    if terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="auction", description="Land-use-rights online trading server")
    # Every subcommand's parser is a `Parser` too (argparse makes them like their parent).
    sub = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
               parser.add_subparsers(dest="command", required=True))
    p_serve = sub.add_parser("serve", help="run the server (embedded PostgreSQL unless DATABASE_URL is set)")
    p_serve.add_argument("--demo", action="store_true", help="load demo sessions and bidders, print their tokens")
    p_serve.add_argument("--host")
    p_serve.add_argument("--port", type=int)
    p_serve.add_argument("--workers", type=int, default=1, metavar="N",
                         help="N server processes sharing the port (SO_REUSEPORT); N > 1 needs REDIS_URL")
    sub.add_parser("migrate", help="apply SQL migrations")
    sub.add_parser("demo", help="load demo data (without serving)")
    p_keys = sub.add_parser("keys", help="escrow key ceremony: create the escrow key pair")
    p_keys.add_argument("action", choices=["init"])
    p_verify = sub.add_parser("verify", help="replay a session's log and check it")
    p_verify.add_argument("session_id")
    p_cal = sub.add_parser("calendar", help="working-day calendar (RULES 9): load an operator's year file")
    p_cal.add_argument("action", choices=["load"])
    p_cal.add_argument("file", type=Path, help="year file (JSON): year, source, holidays, workdays")
    p_cal.add_argument("--by", default=os.environ.get("USER") or "operator", help="who loads it (recorded)")
    p_cal.add_argument("--yes", action="store_true",
                       help="accept the difference from the provisional year without asking")
    committee_cli.add_parsers(sub)  # `verify-reserve`, `committee keygen|public-key|sign`
    from auction.staff import accounts

    accounts.add_parser(sub)  # `auction users add|list|disable`: operator console accounts
    p_db = sub.add_parser("db", help="database set-up for an external PostgreSQL")
    db_actions = p_db.add_subparsers(dest="action", required=True)
    p_grants = db_actions.add_parser(
        "grants-sql", help="print the SQL a DBA runs to create the server's login and its grants",
        description="The server's login owns nothing and may not rewrite the append-only logs. Run the output "
                    "as the schema owner (AUCTION_MIGRATION_URL) after `auction migrate`; DATABASE_URL then "
                    "logs in as this role.")
    p_grants.add_argument("--role", default=os.environ.get("AUCTION_DB_ROLE") or "auction_app",
                          help="the server's login role (default: AUCTION_DB_ROLE, or auction_app)")
    p_grants.add_argument("--schema", default="public", help="the schema the migrations ran in")
    args = parser.parse_args(argv)
    if args.command == "committee":  # a member's own machine: no server, no database, no settings
        return committee_cli.committee(args)
    if args.command == "verify-reserve":  # anyone: no server, no database
        return committee_cli.verify_reserve(args)
    if args.command == "db":  # prints SQL; no database needed
        from auction.store.database.roles import grants_sql

        try:
            print(grants_sql(args.role, args.schema), end="")
        except ValueError as e:
            print(f"auction db grants-sql: {e}", file=sys.stderr)
            return 2
        return 0

    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)  # text, or JSON lines (AUCTION_LOG_FORMAT)
    if args.command == "serve":
        if args.demo:
            settings = replace(settings, demo=True)
        if args.host:
            settings = replace(settings, host=args.host)
        if args.port:
            settings = replace(settings, port=args.port)
        serve(settings, args.workers)
        return 0
    if args.command == "keys":
        return _keys_init(settings)
    db = _database(settings)
    try:
        if args.command == "migrate":
            return asyncio.run(_migrate(db))
        if args.command == "demo":
            from auction.adapters.keys import demo_keys

            settings = demo_keys(_operator_key(replace(settings, demo=True)))
            asyncio.run(_load_demo(settings, db))
            return 0
        if args.command == "users":
            asyncio.run(_migrated(db))
            return asyncio.run(accounts.run(args, db.dsn))
        if args.command == "verify":
            return asyncio.run(_verify(db.dsn, args.session_id))
        if args.command == "calendar":
            asyncio.run(_migrated(db))
            return asyncio.run(_calendar_load(db.dsn, args.file, args.by, args.yes))
    finally:
        if db.pg is not None:
            # Left running if a server (or another command) is using it, or if it was
            # running before this command: a command never takes a live server down.
            db.pg.release()
    return 2


def _keys_init(settings: Settings) -> int:
    import getpass

    from auction.adapters.sealing.escrow import EscrowKeyError, init_keys

    passphrase = settings.escrow_passphrase
    if not passphrase:
        passphrase = getpass.getpass("escrow key passphrase (>= 12 characters): ")
        if passphrase != getpass.getpass("again: "):
            print("the two passphrases differ", file=sys.stderr)
            return 1
    try:
        key_id = init_keys(settings.escrow_private_key_file, settings.escrow_public_key_file, passphrase.encode())
    except EscrowKeyError as e:
        print(f"auction keys init: {e}", file=sys.stderr)
        return 1
    print(f"escrow key {key_id}: private key (encrypted) {settings.escrow_private_key_file}, "
          f"public key {settings.escrow_public_key_file}")
    return 0


async def _calendar_load(dsn: str, path: Path, by: str, yes: bool = False) -> int:
    """Check a year file, show how it differs from the provisional year (and which deadlines
    it moves), ask (unless --yes), then store it and recompute every deadline it affects (a
    running server's sweep picks the rows up; its next count uses the year at once).
    A refused file changes nothing: the code and the line at fault are printed."""
    from auction.domain.codes import Code, Rejected
    from auction.services.calendar import CalendarStore, official_calendar
    from auction.services.deadlines import preview_rows, recompute_rows
    from auction.services.session import now_us
    from auction.store import deadlines as rows_store

    try:
        text = path.read_bytes()
    except OSError as e:
        print(f"auction calendar load: {e}", file=sys.stderr)
        return 1
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        store = CalendarStore(pool, official_calendar())
        try:
            preview = await store.preview(text)
        except Rejected as r:
            line = r.rejection.details.get("line")
            where = f"{path}:{line}" if line else str(path)
            print(f"auction calendar load: {where}: {r.code.value}: {r.rejection.message} {r.rejection.details}",
                  file=sys.stderr)
            return 1
        print("\n".join(preview.lines()))
        if preview.already:
            return 0
        now = now_us()
        records = [rec for i in await rows_store.ids_to_recompute(pool) if (rec := await rows_store.get(pool, i))]
        moving = preview_rows(records, (await store.calendar()).with_year(preview.year), now)
        print(f"deadlines it recomputes: {len(moving)}")
        print("\n".join(moving))
        if not yes:
            try:
                answer = input(f"load {preview.year.year} ({preview.year.source})? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print(f"auction calendar load: {Code.CALENDAR_NOT_ACCEPTED.value}: nothing changed", file=sys.stderr)
                return 1
        try:
            preview = await store.load(text, by)
        except Rejected as r:
            print(f"auction calendar load: {r.code.value}: {r.rejection.message} {r.rejection.details}",
                  file=sys.stderr)
            return 1
        changed, moved = await recompute_rows(pool, await store.calendar(), now)
    finally:
        await pool.close()
    year = preview.year
    print(f"calendar {year.year} loaded ({year.source}): {len(year.holidays)} holidays, "
          f"{len(year.workdays)} make-up working days; {len(changed)} deadlines recomputed, {len(moved)} moved")
    for row in changed:
        print(f"  {row.deadline_id}: {row.state.value} due {row.due_date}" + (" (provisional)" if row.provisional else ""))
    for move in moved:
        print(f"  moved {move.deadline_id}: {move.old_due_date} -> {move.new_due_date}")
    return 0


async def _migrate(db: Database) -> int:
    from auction.store.database.migrate import migrate

    if db.migration_dsn is None:
        log.warning("AUCTION_MIGRATION_URL is unset: migrating with DATABASE_URL, whose login then owns the "
                    "schema (README, Database security)")
    con = await asyncpg.connect(db.migration_dsn or db.dsn)
    try:
        applied = await migrate(con, role=db.role or None)
    finally:
        await con.close()
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


async def _verify(dsn: str, session_id: str) -> int:
    """Replay the log through the engine: gap-free seq, and a revealed reserve matching its commitment."""
    from auction.domain.bidding.session import replay, reserve_commitment
    from auction.store.events import EventStore

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        recorded = await EventStore(pool).load(session_id)
    finally:
        await pool.close()
    if not recorded:
        print(f"no session {session_id}", file=sys.stderr)
        return 1
    ok = [r.seq for r in recorded] == list(range(1, len(recorded) + 1))
    state = replay([r.event for r in recorded])
    print(f"{len(recorded)} events, seq gap-free: {ok}, phase {state.phase.value}")
    if state.closed is not None:
        c = state.closed
        print(f"outcome {c.outcome} ({c.reason}), winner {c.winner_bidder_no}, price {c.price} fen")
        if c.reserve is not None and c.reserve_salt is not None:
            match = reserve_commitment(c.reserve, c.reserve_salt) == state.reserve_commitment
            print(f"reserve {c.reserve} fen matches its commitment: {match}")
            ok = ok and match
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
