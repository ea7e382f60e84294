"""The one place that builds and wires the server: `running(settings, dsn, migration_dsn)`.

`build` makes every part from the settings and the DSNs (the pool, the store,
the broker, the sealer, the services, the timers, publication, the limits),
each receiving its collaborators in its constructor; `_react` writes the one
table of what follows what (`auction/reactions.py`) and freezes it; `start`
then brings the parts up in an order that is part of the contract:

1. migrations (as the schema's owner), then the pool (as the server's role);
2. the broker, then this node's heartbeat, read first for RULES 7.5's
   "last known alive", then recovery of every open session and unfinished tender;
3. the deadline timers, then publication delivery, and only then the session
   timers: every reaction is in the table before anything can close a session
   (and requests come only after `start` returns).

The Starlette lifespan (`auction/app.py`) enters `running` and hands
`Runtime.state()` to requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from pathlib import Path
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from auction.adapters.channels import parse_channels
from auction.adapters.delivery import Backoff, DeliveryWorker
from auction.adapters.fanout.broker import Broker, InProcessBroker
from auction.adapters.fanout.redis_broker import RedisBroker
from auction.adapters.jobs.deadlines import DeadlineTimers
from auction.adapters.jobs.tender_timers import TenderTimers
from auction.adapters.jobs.timers import SessionTimers
from auction.adapters.keys import open_sealer
from auction.adapters.metrics import Metrics
from auction.adapters.sealing.center_key import CenterKey
from auction.services.calendar import CalendarStore, official_calendar
from auction.services.divisions import load_divisions
from auction.services.deadlines import DeadlineService
from auction.services.deposits import DepositService
from auction.services.plans import PlanService
from auction.services.tender import TenderService
from auction.services.portal import PortalService
from auction.documents.landchina import CenterPublicKey
from auction.services.publication import Publisher
from auction.staff.refusals import RefusalRollup
from auction.reactions import (
    AppendedElsewhere,
    DeadlineWritten,
    FollowersBehind,
    HeldAfterClose,
    PlanAppended,
    PublicAppended,
    Reactions,
    SessionFinal,
    TenderDue,
    TenderFinal,
    WakeupChanged,
)
from auction.entrypoints.http.limits import Limits
from auction.services.runner import now_us
from auction.services.session import SessionService
from auction.services.transparency import TransparencyLog
from auction.settings import Settings
from auction.store import nodes
from auction.store.events import EventStore, GroupCommit, to_datetime
from auction.store.database.migrate import migrate
from auction.store.plans import PlanStore
from auction.store.tender.log import TenderStore
from auction.domain.tender.terms import TenderRules
from auction.store.database.roles import assume, login_name, with_role_possible
from auction.adapters.tasks import cancel_all
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything one server node runs, built and wired by `build`."""

    settings: Settings
    pool: asyncpg.Pool
    group_commit: GroupCommit | None
    broker: Broker
    reactions: Reactions
    service: SessionService
    timers: SessionTimers
    plans: PlanService
    deposits: DepositService
    deadlines: DeadlineService
    deadline_timers: DeadlineTimers
    delivery: DeliveryWorker
    publisher: Publisher
    limits: Limits
    refusals: RefusalRollup
    portal: PortalService  # the bidders' portal: registration, applications, credentials
    tenders: TenderService  # tenders (RULES 6): sealed bids, the opening, the evaluation
    tender_timers: TenderTimers  # each tender's opening at its set time (RULES 6.3)
    metrics: Metrics  # GET /metrics (auction/adapters/metrics.py): this app's own registry
    last_alive: int | None = None  # µs UTC: until when the service was known alive (RULES 7.5)
    booted_at: int = field(default_factory=now_us)  # µs UTC: this node's start, before its migrations
    beat: asyncio.Task[None] | None = field(default=None, repr=False)
    transparency: TransparencyLog | None = None  # the sessions' signed Merkle logs (docs/protocol.md)

    def state(self) -> dict[str, object]:
        """What requests read as `request.state.<key>`."""
        return {"service": self.service, "plans": self.plans, "publisher": self.publisher,
                "deposits": self.deposits, "deadlines": self.deadlines,
                "limits": self.limits, "refusals": self.refusals, "portal": self.portal,
                "metrics": self.metrics,
                "transparency": self.transparency, "tenders": self.tenders}

    async def start(self) -> None:
        settings, pool = self.settings, self.pool
        others = await nodes.others_beating(pool, settings.node_id)
        gone = [n for n in others if not maybe_running(n)]
        if gone:
            log.info("the earlier run on this host (%s) stopped without saying so (killed?)", ", ".join(gone))
        if settings.redis_url is None and len(gone) < len(others):
            log.warning("another node beat on this database in the last 10 s and REDIS_URL is unset: if it "
                        "is still running, set REDIS_URL on every node, or bidders on one node will not see the "
                        "other's events")
        await self.broker.start()
        # RULES 7.5: until when was the service known alive? (before this node says it is)
        # (other nodes of this same restart, which registered while this one migrated, do not count)
        self.last_alive = await nodes.last_beat(pool, started_before=self.booted_at)
        await nodes.register(pool, settings.node_id)
        self.beat = asyncio.create_task(_beat(pool, settings.node_id, settings.node_beat_seconds))
        for session_id in await self.service.store.open_sessions():
            try:
                await self.service.recover(session_id, self.last_alive)
            except Exception:
                log.exception("recovery of session %s failed", session_id)
        # RULES 6.7: a tender whose bid deadline passed meanwhile is held, before its timer could open it.
        for tender_id, _ in await self.tenders.unfinished():
            try:
                await self.tenders.recover(tender_id, self.last_alive)
            except Exception:
                log.exception("recovery of tender %s failed", tender_id)
        # The legal clock (RULES 8-9): its rows' timers, and the sweep that books any close not yet booked.
        await self.deadline_timers.start()
        self.delivery.start()
        self.timers.start()
        await self.tender_timers.start()
        self.refusals.start()
        log.info("ready: node %s, last alive %s", settings.node_id,
                 to_datetime(self.last_alive).isoformat() if self.last_alive else "never")
        if settings.stand_ins_on:
            log.warning("stand-ins on (demo mode or AUCTION_STAND_INS=on): sessions without a plan and bidders "
                        "without a deposit can be made; tests and demos only, never in production")

    async def stop(self) -> None:
        """Timers first (no close starts while the rest stops), the pool last. A step that
        fails is logged and the later ones still run: the pool is always closed."""
        self.timers.shutdown()
        self.deadline_timers.shutdown()
        self.tender_timers.shutdown()
        for step in (self.transparency.stop if self.transparency is not None else None,
                     self.refusals.stop, self.delivery.stop, self._stop_beat, self.broker.stop,
                     self.group_commit.close if self.group_commit is not None else None):
            if step is None:
                continue
            try:
                await step()
            except Exception:
                log.exception("stopping: %s failed", getattr(step, "__qualname__", step))
        await self.pool.close()

    async def _stop_beat(self) -> None:
        if self.beat is not None:
            await cancel_all(self.beat)
            with contextlib.suppress(Exception):
                await nodes.beat(self.pool, self.settings.node_id)


def maybe_running(node_id: str) -> bool:
    """False for a node of this host whose process is gone: this server's own earlier run,
    killed (node ids are `{host}-{pid}`, Settings.node_id). Any other node may be running."""
    host, _, pid = node_id.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: alive
        return True
    return True


@contextlib.asynccontextmanager
async def running(settings: Settings, dsn: str, migration_dsn: str | None = None) -> AsyncIterator[Runtime]:
    """Build, start, and on the way out stop: the server's whole life."""
    runtime = await build(settings, dsn, migration_dsn)
    try:
        await runtime.start()
        yield runtime
    finally:
        await runtime.stop()


async def build(settings: Settings, dsn: str, migration_dsn: str | None = None, *,
                clock: Callable[[], int] = now_us) -> Runtime:
    """`dsn`: the server's login; `migration_dsn`: the schema owner's, which runs the
    migrations (None: `dsn` migrates, and so owns the schema; warned here). `clock`: every
    service's clock (µs UTC); only the demo's history (auction/demo/day.py) passes another."""
    booted_at = now_us()  # before the migrations' lock, which makes the nodes of one restart start in turn
    sealer = open_sealer(settings)
    pool = await _migrated_pool(settings, dsn, migration_dsn)
    metrics = Metrics(pool)
    group_commit = (GroupCommit(pool, settings.group_commit_writers, observe=metrics.committed)
                    if settings.group_commit_writers > 0 else None)
    reactions = Reactions()
    broker: Broker = (InProcessBroker() if not settings.redis_url
                      else RedisBroker(settings.redis_url, settings.node_id, reactions))
    events = EventStore(pool, group_commit=group_commit, observe=metrics.committed)
    service = SessionService(events, broker, sealer, clock,
                             sole_writer=settings.redis_url is None, reactions=reactions)
    plans = PlanService(PlanStore(pool), service, settings.plan_rules, settings.rules, clock,
                        reactions=reactions)
    # Tenders (RULES 6) take deposits and start the legal clock as sessions do (migrations/0018_sales.sql).
    tenders = TenderService(TenderStore(pool), plans, sealer, TenderRules(), clock, reactions)
    deposits = DepositService(pool, service, timedelta(days=settings.token_ttl_days), clock, reactions=reactions,
                              tenders=tenders)
    armed: dict[str, int] = {}  # deadline id -> when its timer fires: the timers write it, the service reads it
    deadlines = DeadlineService(pool, service, CalendarStore(pool, official_calendar()), settings.clock_rules,
                                plans=plans, clock=clock, reactions=reactions, timer_of=armed.get,
                                tenders=tenders)
    # Publication (docs/publication.md): the announcement joins PlanAnnounced's transaction; a worker delivers.
    channels = parse_channels(settings.publication_channels)
    delivery = DeliveryWorker(
        pool, channels,
        Backoff(settings.publication_retry_base_seconds, settings.publication_retry_cap_seconds,
                settings.publication_max_attempts),
        timeout=settings.publication_timeout_seconds, poll=settings.publication_poll_seconds,
        node_id=settings.node_id, on_attempt=metrics.delivery,
    )
    center_key = CenterKey.from_file(settings.transparency_key_file)
    runtime = Runtime(
        settings=settings, pool=pool, booted_at=booted_at, group_commit=group_commit, broker=broker, reactions=reactions,
        service=service, timers=SessionTimers(service), plans=plans, deposits=deposits, deadlines=deadlines,
        deadline_timers=DeadlineTimers(deadlines, settings.deadline_sweep_seconds, armed),
        delivery=delivery,
        publisher=Publisher(pool, plans, channels, settings.region_code, wake=delivery.wake,
                            divisions=load_divisions(Path(settings.divisions_file) if settings.divisions_file else None),
                            transparency_key=CenterPublicKey(center_key.key_id, center_key.public.hex()),
                            tenders=tenders),
        # Abuse limits per client address, and the roll-up of strangers' refusals (README, Security).
        limits=Limits.from_settings(settings),
        refusals=RefusalRollup(pool, settings.audit_rollup_seconds),
        portal=PortalService(pool, deposits, plans, deadlines, clock),
        metrics=metrics,
        transparency=TransparencyLog(service.store, broker, center_key,
                                     clock, head_seconds=settings.tree_head_seconds),
        tenders=tenders,
        tender_timers=TenderTimers(tenders, settings.deadline_sweep_seconds),
    )
    _react(runtime)
    return runtime


def _react(rt: Runtime) -> None:
    """What follows what: the whole table, here and nowhere else."""
    on = rt.reactions.on
    # A session's timer follows its next wake-up.
    on(WakeupChanged, lambda e: rt.timers.set(e.session_id, e.when_us))
    # A close starts the legal clock: the deposits' fate and the deadline rows (RULES 8-9).
    on(SessionFinal, lambda e: rt.deadlines.process_close(e.session_id))
    # Money held after the close starts a refund (Q31), in the booking's transaction.
    on(HeldAfterClose, lambda e: _refund_clock(rt, e))
    # A deadline row's timer follows the row.
    on(DeadlineWritten, lambda e: rt.deadline_timers.arm(e.row, e.warned_at))
    # A tender's opening follows its set time (RULES 6.3).
    on(TenderDue, lambda e: rt.tender_timers.arm(e.tender_id, e.when_us))
    # A tender's end starts the same legal clock: the deposits' fate and the winner's deadlines (RULES 6.6, 8-9).
    on(TenderFinal, lambda e: rt.deadlines.process_close(e.tender_id))
    # An announcement (or its change) starts publication: its outbox rows join the plan's append.
    on(PlanAppended, lambda e: rt.publisher.on_plan_events(e.con, e.recorded, e.after))
    # Committed public events are the transparency log's leaves; a phase change or bids make a head due.
    if rt.transparency is not None:
        on(PublicAppended, rt.transparency.appended)
    if isinstance(rt.broker, RedisBroker):
        # Another node's event: this node's cached state is behind the log.
        on(AppendedElsewhere, lambda e: rt.service.remote_event(e.session_id, e.pub_seq))
        # Fan-out may have lost messages: offer the log's latest event again, so followers fill the gap.
        redis = rt.broker
        on(FollowersBehind, lambda e: _resync(rt.service, redis, e))
    rt.reactions.freeze()


async def _refund_clock(rt: Runtime, e: HeldAfterClose) -> None:
    row = await rt.deadlines.refund_arrived_after_close(e.con, e.session_id, e.sub_account, e.txn_id, e.received_at)
    if row is not None:
        # Armed now; should the booking roll back, the timer finds no row and does nothing.
        rt.reactions.notify(DeadlineWritten(row, None))


async def _resync(service: SessionService, broker: RedisBroker, e: FollowersBehind) -> None:
    message = await service.latest_message(e.session_id)
    if message is not None:
        await broker.local.publish([message])


async def _migrated_pool(settings: Settings, dsn: str, migration_dsn: str | None) -> asyncpg.Pool:
    # Migrations run as the schema's owner; the pool works as the server's role,
    # which may not rewrite the logs (store/database/roles.py): it logs in as that role
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
                                     init=(lambda c: assume(c, role)) if role else None, reset=_released)
    assert pool is not None
    return pool


async def _released(con: asyncpg.Connection) -> None:
    """A connection going back to the pool, its open transaction (if any) already rolled back
    by asyncpg. asyncpg's default would also send `pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` on every release, a round trip each time, for session state this
    server never makes: its advisory locks are transaction-scoped, it listens to nothing,
    holds no cursor and sets no parameter but the role taken at connect (which is to stay;
    tests/unit/test_pool_session_state.py reads the code for anything else)."""


async def _beat(pool: asyncpg.Pool, node_id: str, every: float) -> None:
    while True:
        try:
            await nodes.beat(pool, node_id)
        except DATABASE_ERRORS:
            log.warning("heartbeat write failed")
        await asyncio.sleep(every)
