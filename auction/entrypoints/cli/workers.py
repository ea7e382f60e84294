"""`auction serve --workers N`: N server processes on one port (README, "Several processes on one host").

Each worker is a whole server (its own event loop, database pool, node id
`{host}-{pid}`), as a second node on another port would be: any of them takes
bids for any session, the session's log in PostgreSQL decides the order, and
Redis carries each event to the other workers' connections. So N > 1 needs
REDIS_URL.

The port is shared with SO_REUSEPORT: each worker binds and listens on a socket
of its own, and the kernel spreads new connections over the listening sockets
by a hash of the addresses. Why not one socket bound by the parent and shared
by the workers (uvicorn's `--workers`, `Config.bind_socket`): there every worker
waits on the one accept queue and a new connection goes to whichever wakes
first, so long-lived WebSockets pile onto the least busy worker of the moment;
and a worker here must be built by our own start-up (keys, the embedded
database), not imported by uvicorn from a string. A worker that dies takes its
socket with it: new connections go to the others at once (the few it had
queued but not accepted are refused, and clients reconnect as after any
drop); the parent starts it again.

The parent process serves nothing: it checks the port is free, starts the
embedded PostgreSQL once (unless DATABASE_URL is set), makes the transparency
key if it is missing (once, not N times at once), starts the workers, restarts
one that dies, and on SIGTERM / SIGINT stops them all (SIGTERM each, then
waits) before it stops the database. A worker dies with its parent
(PR_SET_PDEATHSIG), so a killed parent leaves no workers serving.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

from auction.adapters import logs
from auction.settings import Settings

log = logging.getLogger("auction")

STOP_GRACE = 30.0  # seconds a worker has to stop after SIGTERM before it is killed
QUICK_DEATH = 30.0  # a worker that dies this soon after its start failed to start
MAX_FAILED_STARTS = 3  # failed starts in a row after which the parent gives up
RESTART_PAUSE = 1.0
PR_SET_PDEATHSIG = 1


# The collector's thresholds in a server process (Python's default: 700, 10, 10). Under load the
# default made a collection every few hundred bids and a full one every few seconds, each walking
# every open session's accepted bids: 17 % of the server's CPU at max-throughput
# (docs/benchmarks.md). Nearly nothing the bid path allocates is cyclic (reference counting
# frees it), so collecting rarely costs little memory; a full collection still comes after ten
# of the middle ones, for the cycles a closed connection may leave.
GC_THRESHOLDS = (50_000, 20, 10)


def settle_heap() -> None:
    """Set once, just before a server process serves: what start-up made (modules, classes,
    the app) is moved out of the collector's way for good (`gc.freeze`), and collections
    come at `GC_THRESHOLDS`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How every server process runs uvicorn (one process or each worker)."""
    from auction.entrypoints.http.uvicorn_protocols import QuietWebSocketProtocol, http_protocol

    return dict(
        http=http_protocol(settings.header_timeout_seconds),  # a deadline for request headers
        ws=QuietWebSocketProtocol,  # websockets-sansio without frame logs or UTF-8 tracebacks
        ws_max_size=settings.ws_max_message_bytes,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=logs.uvicorn_log_config(settings.log_format),
    )


def refusal(settings: Settings, workers: int) -> str | None:
    """Why `--workers` cannot run with these settings (None: it can)."""
    if workers < 1:
        return "auction serve --workers: 至少一个进程 / at least 1"
    if workers > 1 and not settings.redis_url:
        return ("auction serve --workers: 多个进程须设置 REDIS_URL（各进程间的事件分发）/ "
                f"{workers} processes need REDIS_URL: each process sends its connections' events to the others "
                "through Redis (README, Several nodes)")
    return None


def check_port(host: str, port: int) -> None:
    """SystemExit if something already listens on host:port. The workers' SO_REUSEPORT would
    otherwise join another server's sockets of the same user and share its connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT does not count
        try:
            probe.bind((host, port))
        except OSError as e:
            raise SystemExit(f"auction serve: {host}:{port}: {e.strerror or e}") from None


def _shared_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))  # uvicorn listens once the app's start-up is done: no connection before
    return sock


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM still stops the workers
        pass


def worker(settings: Settings, dsn: str, migration_dsn: str | None) -> None:
    """One server process on the shared port (the target of each worker process)."""
    import uvicorn

    from auction.app import create_app

    _die_with_parent()
    # Its own node id: the parent's Settings carried the parent's pid (node ids are `{host}-{pid}`).
    settings = replace(settings, node_id=f"{socket.gethostname()}-{os.getpid()}")
    logs.configure(settings.log_level, settings.log_format)
    app = create_app(settings, dsn, migration_dsn=migration_dsn)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, **uvicorn_options(settings)))
    settle_heap()
    server.run(sockets=[_shared_socket(settings.host, settings.port)])
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the start-up failed


def supervise(settings: Settings, dsn: str, migration_dsn: str | None, workers: int) -> None:
    """Run `workers` worker processes until SIGTERM / SIGINT (which unwinds through here)."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited loop, pool or threads
    procs: dict[int, BaseProcess] = {}
    started: dict[int, float] = {}
    failed_starts = 0

    def start(slot: int) -> None:
        p = context.Process(target=worker, args=(settings, dsn, migration_dsn), name=f"auction-worker-{slot}",
                            daemon=False)
        p.start()
        procs[slot] = p
        started[slot] = time.monotonic()

    try:
        for slot in range(workers):
            start(slot)
        log.info("%d workers on %s:%d (pids %s)", workers, settings.host, settings.port,
                 ", ".join(str(p.pid) for p in procs.values()))
        while True:
            multiprocessing.connection.wait([p.sentinel for p in procs.values()])
            for slot, p in list(procs.items()):
                if p.is_alive():
                    continue
                p.join()
                quick = time.monotonic() - started[slot] < QUICK_DEATH
                failed_starts = failed_starts + 1 if quick else 0
                log.warning("worker %d (pid %s) ended with %s%s", slot, p.pid, p.exitcode,
                            "" if failed_starts < MAX_FAILED_STARTS else ": giving up")
                if failed_starts >= MAX_FAILED_STARTS:
                    raise SystemExit(f"auction serve: workers failed to start {failed_starts} times in a row "
                                     "(see the log above)")
                time.sleep(RESTART_PAUSE if quick else 0)
                start(slot)
    except KeyboardInterrupt:  # SIGINT (Ctrl-C): stop as on SIGTERM, without a traceback
        pass
    finally:
        _stop_all(list(procs.values()))


def _stop_all(procs: list[BaseProcess]) -> None:
    for p in procs:
        if p.is_alive() and p.pid is not None:
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(5)
