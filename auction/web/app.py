"""`create_app(settings, dsn)`: the one wiring point. Resources are built in the lifespan."""

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

from auction.fanout.broker import Broker, InProcessBroker
from auction.fanout.redis_broker import RedisBroker
from auction.jobs.timers import SessionTimers
from auction.keys import open_sealer
from auction.service import SessionService, now_us
from auction.settings import Settings
from auction.store.events import EventStore, to_datetime, to_micros
from auction.store.migrate import migrate
from auction.web.bidder_ws import BidderEndpoint
from auction.web.operator_api import OperatorApi, unknown_route_message
from auction.web.plans_api import PlansApi, plan_service

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


def create_app(settings: Settings, dsn: str) -> Starlette:
    sealer = open_sealer(settings)
    broker: Broker = InProcessBroker() if not settings.redis_url else RedisBroker(settings.redis_url, settings.node_id)
    holder: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=settings.pool_size)
        assert pool is not None
        async with pool.acquire() as con:
            await migrate(con)
        store = EventStore(pool)
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
        timers.start()
        holder["rt"] = Runtime(pool, service, timers, beat)
        log.info("ready: node %s, last alive %s", settings.node_id,
                 to_datetime(last_alive).isoformat() if last_alive else "never")
        try:
            yield {"service": service, "plans": plan_service(pool, service, settings)}
        finally:
            timers.shutdown()
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat
            with contextlib.suppress(Exception):
                await pool.execute("UPDATE node_heartbeats SET beat_at = now() WHERE node_id = $1", settings.node_id)
            await broker.stop()
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
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws", endpoint.serve), *api.routes(), *PlansApi(settings).routes()],
        lifespan=lifespan,
        exception_handlers={404: not_found},
    )
    return app
