"""`create_app(settings, dsn, migration_dsn=...)`: the one wiring point. Resources are built in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from auction.console.refusals import RefusalRollup
from auction.fanout.broker import Broker, InProcessBroker
from auction.fanout.redis_broker import RedisBroker
from auction.jobs.timers import SessionTimers
from auction.keys import open_sealer
from auction.post_trade import PostTrade
from auction.post_trade import routes as post_trade_routes
from auction.publication.channels import parse_channels
from auction.publication.delivery import Backoff, DeliveryWorker
from auction.publication.service import Publisher
from auction.service import SessionService, now_us
from auction.settings import Settings
from auction.store.events import EventStore, GroupCommit, to_datetime, to_micros
from auction.store.roles import assume, login_name, with_role_possible
from auction.store.migrate import migrate
from auction.web.bidder_ws import BidderEndpoint
from auction.web.bidder_page import routes as bidder_page_routes
from auction.web.console import ConsolePages
from auction.web.input_guards import BodyLimit, SafePath
from auction.web.limits import Limits
from auction.web.middleware import ApiAudit, SecurityHeaders
from auction.web.operator_api import OperatorApi, unknown_route_message
from auction.web.plans_api import PlansApi, plan_service
from auction.web.public_pages import routes as public_page_routes
from auction.web.publication_api import PublicationApi

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    pool: asyncpg.Pool
    service: SessionService
    timers: SessionTimers
    beat: asyncio.Task[None]


async def _beat(pool: asyncpg.Pool, node_id: str, every: float) -> None:
    while True:
        try:
            await pool.execute("UPDATE node_heartbeats SET beat_at = now() WHERE node_id = $1", node_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("heartbeat write failed")
        await asyncio.sleep(every)


def create_app(settings: Settings, dsn: str, *, migration_dsn: str | None = None) -> Starlette:
    """`dsn`: the server's login; `migration_dsn`: the schema owner's, which runs the
    migrations (None: `dsn` migrates, and so owns the schema; warned at start-up)."""
    sealer = open_sealer(settings)
    broker: Broker = InProcessBroker() if not settings.redis_url else RedisBroker(settings.redis_url, settings.node_id)
    holder: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        # Migrations run as the schema's owner; the pool works as the server's role,
        # which may not rewrite the logs (store/roles.py): it logs in as that role
        # (embedded PostgreSQL, or a login made by `auction db grants-sql`) or SET ROLEs to it.
        role = settings.db_role
        if migration_dsn is None:
            log.warning("AUCTION_MIGRATION_URL is unset: the server migrates with its own login (DATABASE_URL), "
                        "which then owns the schema; set AUCTION_MIGRATION_URL to the owner's login and make the "
                        "server's with `auction db grants-sql` (README, Database security)")
        con = await asyncpg.connect(migration_dsn or dsn)
        try:
            await migrate(con, role=role or None)  # and grants the server's role its rights
        finally:
            await con.close()
        if role and await login_name(dsn) == role:
            role = ""  # already logged in as the role: nothing to take
        elif role and not await with_role_possible(dsn, role):
            log.warning("cannot SET ROLE %s: the server works with its login account's rights, and only the "
                        "triggers keep the logs append-only (see README, Database security)", role)
            role = ""
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=settings.pool_size,
                                         init=(lambda c: assume(c, role)) if role else None)
        assert pool is not None
        group_commit = GroupCommit(pool, settings.group_commit_writers) if settings.group_commit_writers > 0 else None
        store = EventStore(pool, group_commit=group_commit)
        service = SessionService(store, broker, sealer, sole_writer=settings.redis_url is None)
        if settings.redis_url is None:
            others = await pool.fetchval(
                "SELECT count(*) FROM node_heartbeats WHERE node_id <> $1 AND beat_at > now() - interval '10 seconds'",
                settings.node_id,
            )
            if others:
                log.warning("another node beat on this database in the last 10 s and REDIS_URL is unset: if it "
                            "is still running, set REDIS_URL on every node, or bidders on one node will not see the "
                            "other's events")
        if isinstance(broker, RedisBroker):
            local = broker.local

            async def resync(session_id: str) -> None:
                message = await service.latest_message(session_id)
                if message is not None:
                    await local.publish([message])

            broker.on_resync = resync
            broker.on_remote = service.remote_event
        await broker.start()
        timers = SessionTimers(service)
        # RULES 7.5: until when was the service known alive? (before this node says it is)
        last_beat = await pool.fetchval("SELECT max(beat_at) FROM node_heartbeats")
        last_alive = to_micros(last_beat) if last_beat is not None else None
        await pool.execute(
            """INSERT INTO node_heartbeats (node_id, started_at, beat_at) VALUES ($1, now(), now())
               ON CONFLICT (node_id) DO UPDATE SET started_at = now(), beat_at = now()""",
            settings.node_id,
        )
        beat = asyncio.create_task(_beat(pool, settings.node_id, settings.node_beat_seconds))
        for session_id in await store.open_sessions():
            try:
                await service.recover(session_id, last_alive)
            except Exception:
                log.exception("recovery of session %s failed", session_id)
        plans = plan_service(pool, service, settings)
        # Deposits and the legal clock (RULES 8-9): hooked into the close before any timer can close.
        post_trade = await PostTrade.start(pool, service, settings, plans)
        # Publication (docs/publication.md): the announcement joins PlanAnnounced's transaction; a worker delivers.
        channels = parse_channels(settings.publication_channels)
        delivery = DeliveryWorker(
            pool, channels,
            Backoff(settings.publication_retry_base_seconds, settings.publication_retry_cap_seconds,
                    settings.publication_max_attempts),
            timeout=settings.publication_timeout_seconds, poll=settings.publication_poll_seconds,
            node_id=settings.node_id,
        )
        publisher = Publisher(pool, plans, channels, settings.region_code, wake=delivery.wake)
        plans.on_append = publisher.on_plan_events
        delivery.start()
        timers.start()
        # Abuse limits per client address, and the roll-up of strangers' refusals (README, Security).
        refusals = RefusalRollup(pool, settings.audit_rollup_seconds)
        refusals.start()
        holder["rt"] = Runtime(pool, service, timers, beat)
        log.info("ready: node %s, last alive %s", settings.node_id,
                 to_datetime(last_alive).isoformat() if last_alive else "never")
        if settings.stand_ins_on:
            log.warning("stand-ins on (demo mode or AUCTION_STAND_INS=on): sessions without a plan and bidders "
                        "without a deposit can be made; tests and demos only, never in production")
        try:
            yield {"service": service, "plans": plans, "publisher": publisher, **post_trade.state(),
                   "limits": Limits.from_settings(settings), "refusals": refusals}
        finally:
            await refusals.stop()
            await delivery.stop()
            timers.shutdown()
            post_trade.shutdown()
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat
            with contextlib.suppress(Exception):
                await pool.execute("UPDATE node_heartbeats SET beat_at = now() WHERE node_id = $1", settings.node_id)
            await broker.stop()
            if group_commit is not None:
                await group_commit.close()
            await pool.close()

    api = OperatorApi(settings)
    endpoint = BidderEndpoint(settings)

    async def healthz(request: Request) -> Response:
        rt = holder.get("rt")
        if rt is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await rt.pool.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "node": settings.node_id, "server_time_us": now_us(),
                             "connections": endpoint.connections})

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse(unknown_route_message(), status_code=404)

    app = Starlette(
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws", endpoint.serve), *api.routes(), *PlansApi(settings).routes(),
                *post_trade_routes(settings), *ConsolePages(settings).routes(), *bidder_page_routes(settings),
                *PublicationApi(settings).routes(), *public_page_routes(settings)],
        lifespan=lifespan,
        exception_handlers={404: not_found},
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # inside the audit: a 413 is recorded
    app.add_middleware(ApiAudit, operator_key=settings.operator_key)  # every console action and POST /api/... (README, Security)
    app.add_middleware(SafePath)  # outside it: a path with NUL names nothing and cannot be stored
    app.add_middleware(SecurityHeaders)
    return app
