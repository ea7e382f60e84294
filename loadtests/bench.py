"""`python -m loadtests.bench`: the load scenarios against the hardware's two limits, one table.

For each scenario (loadtests/scenarios.py: city-day, hot-parcel, max-throughput) it

1. starts what the scenario needs: an embedded PostgreSQL with fsync ON and
   synchronous_commit on (every acknowledged bid is on disk, as in production),
   one server process (`python -m auction.cli serve`) on 127.0.0.1, or two
   nodes sharing that PostgreSQL and a Redis (the Debian package `redis-server`)
   for the fan-out;
2. creates the sessions and bidders through the operator API and waits until they open;
3. connects the watcher swarm (loadtests/watchers.py) and measures the server's
   memory per idle connection (RSS delta / connections);
4. runs Locust headless (loadtests/locustfile.py: bidders, a few watchers) and the
   swarm's measured window together;
5. measures the two limits of this hardware for the same load:
   - single-row INSERT + commit through asyncpg at the same concurrency (one
     commit in flight per session: the server's session lock allows no more),
   - a bare `websockets` server (loadtests/bare_ws_server.py, a subprocess)
     answering the same bidders and broadcasting the same messages to the same
     number of connections;
6. prints one table (figures, limits, ratios) and writes it to docs/benchmarks.md.

    python -m loadtests.bench                          # every scenario, full size (~10 min)
    python -m loadtests.bench --scenario hot-parcel    # one scenario
    python -m loadtests.bench --scenario all --smoke   # every scenario in seconds, writes nothing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from auction.store.database import embedded
from loadtests.harness import ROOT, RedisProcess, ServerProcess, free_port, percentile
from loadtests import hotlot
from loadtests.lean import LeanResult, ms_per_bid, run_processes, run_swarm_load
from loadtests.scenarios import (HOT_LOT, SCENARIOS, RunResult, Scenario, Target, check_sessions, make_pool,
                                 run_on_bare, run_on_servers, scenario)
from loadtests.watchers import raise_fd_limit

DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"


# ---------------------------------------------------------------------------
# PostgreSQL


async def _pg_facts(dsn: str) -> dict[str, str]:
    con = await asyncpg.connect(dsn)
    try:
        facts = {}
        for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes",
                     "wal_level", "max_connections"):
            facts[name] = await con.fetchval(f"SHOW {name}")
        return facts
    finally:
        await con.close()


async def _create_databases(dsn: str, *names: str) -> dict[str, str]:
    con = await asyncpg.connect(dsn)
    try:
        for name in names:
            await con.execute(f'CREATE DATABASE "{name}"')
    finally:
        await con.close()
    base = dsn.rsplit("/", 1)[0]
    return {name: f"{base}/{name}" for name in names}


async def _server_side_counts(dsn: str) -> dict[str, int]:
    con = await asyncpg.connect(dsn)
    try:
        accepted = await con.fetchval("SELECT count(*) FROM session_events WHERE type = 'BidAccepted'")
        events = await con.fetchval("SELECT count(*) FROM session_events")
        return {"accepted": int(accepted), "events": int(events)}
    finally:
        await con.close()


@dataclass
class RawResult:
    concurrency: int
    seconds: float
    commits: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.commits / self.seconds


async def raw_commit_rate(dsn: str, concurrency: int, seconds: float, warmup: float = 0.5) -> RawResult:
    """`concurrency` connections, each looping one autocommit single-row INSERT (one
    commit per row, like one bid) for `seconds` after a short warm-up."""
    con = await asyncpg.connect(dsn)
    try:
        await con.execute(
            """CREATE TABLE IF NOT EXISTS raw_commits (
                   id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                   k text NOT NULL,
                   at timestamptz NOT NULL DEFAULT clock_timestamp(),
                   payload jsonb NOT NULL)"""
        )
    finally:
        await con.close()
    cons = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    insert = "INSERT INTO raw_commits (k, payload) VALUES ($1, $2::jsonb)"
    loop = asyncio.get_running_loop()
    begin = loop.time() + warmup
    end = begin + seconds
    latencies: list[float] = []

    async def worker(i: int, c: asyncpg.Connection) -> None:
        while True:
            now = loop.time()
            if now >= end:
                return
            payload = json.dumps({"at": time.time_ns() // 1000, "bid_id": uuid.uuid4().hex, "bidder_no": 1000 + i,
                                  "amount": 100_000_000 + i, "deadline": time.time_ns() // 1000 + 3_600_000_000})
            t0 = time.perf_counter()
            await c.execute(insert, f"w{i}", payload)
            ms = (time.perf_counter() - t0) * 1000
            if now >= begin:
                latencies.append(ms)

    try:
        await asyncio.gather(*(worker(i, c) for i, c in enumerate(cons)))
    finally:
        await asyncio.gather(*(c.close() for c in cons))
    return RawResult(concurrency, seconds, len(latencies), percentile(latencies, 50), percentile(latencies, 99))


# ---------------------------------------------------------------------------
# CPU of the processes involved


def _postgres_processes(pg: embedded.EmbeddedPostgres) -> list[psutil.Process]:
    try:
        pid = int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
        master = psutil.Process(pid)
        return [master, *master.children(recursive=True)]
    except (OSError, ValueError, psutil.Error):
        return []


# ---------------------------------------------------------------------------
# the table


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _ratio(value: float | None, limit: float | None, digits: int = 0) -> str:
    if value is None or limit is None or not limit or math.isnan(value) or math.isnan(limit):
        return "n/a"
    return f"{100 * value / limit:,.{digits}f} %"


@dataclass
class ScenarioReport:
    sc: Scenario
    ours: RunResult
    bare: RunResult | None
    raw: RawResult
    locust_cmd: str
    lean: LeanResult | None = None  # the same server driven by the lean bidder swarm (`--generator`)
    processes: LeanResult | None = None  # the same load on `--processes N` server processes, lean swarm
    paced: LeanResult | None = None  # the lean swarm paced at PACED_SHARE of what the unpaced run accepted


def _errors(f: dict[str, Any]) -> str:
    total = sum(f["errors"].values()) + f["exceptions"] + f.get("server_log_errors", 0)
    if not total:
        return "0"
    parts = [f"{k} {v}" for k, v in sorted(f["errors"].items(), key=lambda kv: -kv[1])[:3]]
    if f.get("server_log_errors"):
        parts.append(f"server log ERROR {f['server_log_errors']}")
    return f"{total:,} ({'; '.join(parts)})"


def table(reports: list[ScenarioReport]) -> str:
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, fn: Any) -> None:
        rows.append((name, [fn(r) for r in reports]))

    row("setup", lambda r: f"{r.sc.sessions} x {r.sc.bidders} bidders ({r.sc.mode}), "
                           f"{r.sc.watchers + r.sc.locust_watchers:,} watchers, {r.sc.nodes} node(s), "
                           f"{r.sc.seconds:g} s")
    row("accepted bids/s", lambda r: f"{_fmt(r.ours.figures['accepted_rate'])} ({r.ours.figures['accepted']:,})")
    row("bids lost to a race / too late", lambda r: f"{r.ours.figures['lost']:,} / {r.ours.figures['too_late']:,}")
    row("bid ack p50 / p99 (ms)", lambda r: f"{_fmt(r.ours.figures['bid_p50'], 1)} / "
                                           f"{_fmt(r.ours.figures['bid_p99'], 1)}")
    row("bid-to-broadcast p50 / p99 at the watchers (ms)",
        lambda r: f"{_fmt(r.ours.figures['broadcast_p50'], 1)} / {_fmt(r.ours.figures['broadcast_p99'], 1)}")
    row("broadcast deliveries/s (swarm)", lambda r: _fmt(r.ours.figures["deliveries_rate"], 0))
    row("peak connections", lambda r: f"{r.ours.figures['peak_connections']:,}")
    row("server memory per connection: idle / at peak (KiB)",
        lambda r: f"{_fmt(r.ours.figures['kib_per_idle_conn'])} / {_fmt(r.ours.figures['kib_per_conn_peak'])}")
    row("errors", lambda r: _errors(r.ours.figures))
    row("sessions verified (log replays) / phases at the end",
        lambda r: f"{r.ours.figures.get('verified', 0)} of {r.ours.figures.get('sessions', 0)}; "
                  + ", ".join(f"{k} {v}" for k, v in r.ours.figures.get("phases", {}).items()))
    row("LIMIT 1: raw INSERT+commit/s at the same concurrency (p50 / p99 ms)",
        lambda r: f"{_fmt(r.raw.rate)} at {r.raw.concurrency} conn(s) ({_fmt(r.raw.p50_ms, 1)} / "
                  f"{_fmt(r.raw.p99_ms, 1)})")
    row("  accepted bids/s : raw commits/s", lambda r: _ratio(r.ours.figures["accepted_rate"], r.raw.rate, 1))
    row("  bid ack p99 : raw commit p99", lambda r: _ratio(r.ours.figures["bid_p99"], r.raw.p99_ms))

    def bare(fn: Any) -> Any:
        return lambda r: fn(r.bare.figures) if r.bare is not None else "not run"

    row("LIMIT 2: bare websockets, same load: bids/s; ack p50 / p99 (ms)",
        bare(lambda b: f"{_fmt(b['accepted_rate'])}; {_fmt(b['bid_p50'], 1)} / {_fmt(b['bid_p99'], 1)}"))
    row("  bare: broadcast p50 / p99 (ms); deliveries/s",
        bare(lambda b: f"{_fmt(b['broadcast_p50'], 1)} / {_fmt(b['broadcast_p99'], 1)}; "
                       f"{_fmt(b['deliveries_rate'], 0)}"))
    row("  bare: memory per idle connection (KiB); errors",
        bare(lambda b: f"{_fmt(b['kib_per_idle_conn'])}; {_errors(b)}"))
    row("  broadcast p99 : bare p99", lambda r: _ratio(r.ours.figures["broadcast_p99"], r.bare.figures["broadcast_p99"])
        if r.bare else "n/a")
    row("  deliveries/s : bare deliveries/s", lambda r: _ratio(r.ours.figures["deliveries_rate"],
                                                               r.bare.figures["deliveries_rate"]) if r.bare else "n/a")
    row("  memory per idle connection : bare", lambda r: _ratio(r.ours.figures["kib_per_idle_conn"],
                                                                r.bare.figures["kib_per_idle_conn"]) if r.bare else "n/a")
    row("CPU, % of one core (server, postgres, locust, swarm, other)",
        lambda r: ", ".join(f"{r.ours.figures['cpu'].get(k, 0):.0f}"
                            for k in ("server", "postgres", "locust", "swarm", "other")))
    lean_rows(row)
    row("targets", targets)

    names = [r.sc.name for r in reports]
    width0 = max(len(n) for n, _ in rows)
    widths = [max(len(names[i]), *(len(v[i]) for _, v in rows)) for i in range(len(reports))]
    lines = ["| " + "measure".ljust(width0) + " | " + " | ".join(n.ljust(w) for n, w in zip(names, widths)) + " |",
             "|" + "-" * (width0 + 2) + "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for name, values in rows:
        lines.append("| " + name.ljust(width0) + " | " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |")
    return "\n".join(lines)


def targets(r: ScenarioReport) -> str:
    f = r.ours.figures
    if r.sc.name == "max-throughput":
        by = ""
        if r.lean is not None:  # the server's figure, not the load generator's
            f, by = r.lean.figures, " (lean swarm)"
        share = 100 * f["accepted_rate"] / r.raw.rate if r.raw.rate else math.nan
        ok1, ok2 = share >= 40, f["bid_p99"] <= 50
        text = (f"{'met' if ok1 else 'MISSED'}: >= 40 % of raw ({share:.1f} %){by}; "
                f"{'met' if ok2 else 'MISSED'}: ack p99 <= 50 ms ({f['bid_p99']:.1f}){by}")
        if r.paced is not None:
            p = r.paced.figures
            share = 100 * p["accepted_rate"] / r.raw.rate if r.raw.rate else math.nan
            ok = share >= 40 and p["bid_p99"] <= 50 and _errors(p) == "0"
            text += (f"; {'met' if ok else 'MISSED'}: ack p99 <= 50 ms at >= 40 % of raw, paced "
                     f"({p['bid_p99']:.1f} ms at {share:.1f} %)")
        return text
    if r.sc.name == "hot-parcel":
        ok1 = f["swarm_connected"] >= 5000
        ok2 = (f["broadcast_p99"] or math.inf) <= 250
        ok3 = f["kib_per_idle_conn"] <= 32
        return (f"{'met' if ok1 else 'MISSED'}: 5,000 watchers ({f['swarm_connected']:,}); "
                f"{'met' if ok2 else 'MISSED'}: broadcast p99 <= 250 ms; "
                f"{'met' if ok3 else 'MISSED'}: <= 32 KiB/idle conn")
    return "none set (figures only)"


def lean_rows(row: Any) -> None:
    """The rows of the lean bidder swarm's run and of the run on several processes (loadtests/lean.py)."""

    def of(kind: str, fn: Any) -> Any:
        def cell(r: ScenarioReport) -> str:
            run = getattr(r, kind)
            return fn(run.figures, r) if run is not None else "not run"
        return cell

    def cpu(*groups: str) -> Any:
        return lambda f, r: ", ".join(f"{f['cpu'].get(k, 0):.0f}" for k in groups)

    def per_bid(*groups: str) -> Any:
        return lambda f, r: ", ".join(_fmt(ms_per_bid(f, k), 2) for k in groups)

    def latencies(f: dict[str, Any], r: ScenarioReport) -> str:
        return f"{_fmt(f['bid_p50'])} / {_fmt(f['bid_p99'])}; {_fmt(f['broadcast_p50'])} / {_fmt(f['broadcast_p99'])}"

    row("CPU per accepted bid, ms (server, locust)",
        lambda r: ", ".join(_fmt(ms_per_bid(r.ours.figures, k), 2) for k in ("server", "locust"))
        if "locust" in r.ours.figures.get("cpu", {}) else "n/a")
    row("LEAN SWARM (loadtests/bidders.py), same server: accepted bids/s",
        of("lean", lambda f, r: f"{_fmt(f['accepted_rate'])} ({f['accepted']:,})"))
    row("  lean: accepted bids/s : raw commits/s", of("lean", lambda f, r: _ratio(f["accepted_rate"], r.raw.rate, 1)))
    row("  lean: bid ack p50 / p99 (ms); bid-to-broadcast p50 / p99 (ms)", of("lean", latencies))
    row("  lean: lost to a race / too late; errors",
        of("lean", lambda f, r: f"{f['lost']:,} / {f['too_late']:,}; {_errors(f)}"))
    row("  lean: CPU, % of one core (server, postgres, bidders, swarm, other)",
        of("lean", cpu("server", "postgres", "bidders", "swarm", "other")))
    row("  lean: CPU per accepted bid, ms (server, bidders)", of("lean", per_bid("server", "bidders")))
    row("LEAN SWARM PACED (--rate): bids/s offered; accepted bids/s : raw commits/s",
        of("paced", lambda f, r: f"{_fmt(f.get('offered_rate'))}; {_fmt(f['accepted_rate'])} "
                                 f"({_ratio(f['accepted_rate'], r.raw.rate, 1)})"))
    row("  paced: bid ack p50 / p99 (ms); bid-to-broadcast p50 / p99 (ms)", of("paced", latencies))
    row("  paced: errors; CPU, % of one core (server, postgres, bidders, swarm, other)",
        of("paced", lambda f, r: f"{_errors(f)}; " + cpu("server", "postgres", "bidders", "swarm", "other")(f, r)))
    row("SEVERAL PROCESSES on one port (serve --workers N, Redis), lean swarm: N; accepted bids/s",
        of("processes", lambda f, r: f"{r.processes.label}; {_fmt(f['accepted_rate'])} ({f['accepted']:,})"))
    row("  processes: accepted bids/s : raw commits/s; : one process (lean)",
        of("processes", lambda f, r: f"{_ratio(f['accepted_rate'], r.raw.rate, 1)}; "
                                     + (_ratio(f["accepted_rate"], r.lean.figures["accepted_rate"])
                                        if r.lean is not None else "n/a")))
    row("  processes: bid ack p50 / p99 (ms); bid-to-broadcast p50 / p99 (ms)", of("processes", latencies))
    row("  processes: errors; sessions verified",
        of("processes", lambda f, r: f"{_errors(f)}; {f.get('verified', 0)} of {f.get('sessions', 0)}"))
    row("  processes: CPU, % of one core (servers, postgres, redis, bidders, swarm, other)",
        of("processes", cpu("server", "postgres", "redis", "bidders", "swarm", "other")))
    row("  processes: CPU per accepted bid, ms (servers, bidders)", of("processes", per_bid("server", "bidders")))


GENERATORS = ("both", "locust", "swarm")  # `--generator`: who drives the max-throughput bidders
# The paced run offers this share of what the unpaced run accepted (the server's capacity under
# this load): the ack latency a bidder sees below saturation, where the unpaced run shows only
# Little's law (bids in flight over throughput). The targets row judges it against the raw
# commit rate measured after the runs, as every other row is (>= 40 % with ack p99 <= 50 ms).
PACED_SHARE = 0.85


def _lean_applies(sc: Scenario) -> bool:
    """The lean swarm plays "fast" bidders only (max-throughput); the other scenarios keep Locust."""
    return sc.mode == "fast"


def _lean_only(sc: Scenario, servers: list[ServerProcess], out_dir: Path,
               extra_cpu: dict[str, list[int]], rate: float = 0.0) -> LeanResult:
    """The lean run on new sessions of the running server(s): it starts, as Locust's run did, from
    sessions without bids (what a bid costs grows with the bids a session holds). With `--generator
    swarm` it is the scenario's run (no Locust)."""
    with servers[0].api() as api:
        pool = make_pool(sc, api, [s.ws for s in servers])
    result = run_swarm_load(sc, pool, _target(servers), out_dir, extra_cpu=extra_cpu, rate=rate)
    check_sessions(servers, pool, result.figures)
    f = result.figures
    f.update(kib_per_idle_conn=math.nan, kib_per_conn_peak=math.nan,
             peak_connections=f["bidders_connected"] + f["swarm_connected"])
    return result


def _target(servers: list[ServerProcess]) -> Target:
    return Target("server", [s.ws for s in servers], [s.proc.pid for s in servers if s.proc is not None], [])


def _several_processes(sc: Scenario, pg: embedded.EmbeddedPostgres, work: Path, n: int) -> LeanResult:
    """The same load on one server started with `--workers n` (its own database, a Redis for the fan-out)."""
    db = "s_" + sc.name.replace("-", "_") + f"_p{n}"
    dsn = asyncio.run(_create_databases(pg.dsn, db))[db]
    redis = RedisProcess(work / "redis")
    redis.start()
    try:
        [server] = _servers(replace(sc, nodes=1), dsn, work, redis.url)
        server.workers = n
        assert redis.proc is not None
        result = run_processes(sc, server, work / "lean", extra_cpu={"postgres": _pg_pids(pg),
                                                                      "redis": [redis.proc.pid]})
        result.label = f"{n} processes"
        return result
    finally:
        redis.stop()


# ---------------------------------------------------------------------------


def _servers(sc: Scenario, dsn: str, work: Path, redis_url: str | None) -> list[ServerProcess]:
    keys = work / "shared-keys"
    env = {"AUCTION_ESCROW_KEY": str(keys / "escrow.key"), "AUCTION_ESCROW_PUBLIC_KEY": str(keys / "escrow.pub"),
           "AUCTION_LOG_LEVEL": "WARNING",
           # The swarm's thousands of watchers all come from 127.0.0.1: the per-address cap (README,
           # Security) is off unless `--watcher-cap` sets it; then the swarm is one address opening
           # thousands of watchers, most refused (4029, counted as "not connected"), and the bidders'
           # ack latency beside it is the figure to compare with a run without the flag.
           "AUCTION_WS_MAX_WATCHERS_PER_ADDRESS": str(WATCHER_CAP), **sc.server_env}
    if redis_url:
        env["REDIS_URL"] = redis_url
    # stand_ins: the session pool is made through the stand-ins (sessions without a plan,
    # bidders without a deposit, harness.prepare_sessions); a benchmark measures bidding, not registration.
    servers = [ServerProcess(dsn=dsn, data_dir=work / f"node{i}", env_extra=dict(env), stand_ins=True)
               for i in range(sc.nodes)]
    if SERVER_ROOT is not None:  # `--server-root`: the server from another checkout (before/after runs)
        for s in servers:
            s.env_extra["PYTHONPATH"] = str(SERVER_ROOT)
            s.command = ["-c", f"import sys; sys.path.insert(0, {str(SERVER_ROOT)!r}); import runpy; "
                               "runpy.run_module('auction.cli', run_name='__main__')", "serve"]
    return servers


SERVER_ROOT: Path | None = None
WATCHER_CAP = 0  # `--watcher-cap`


def run_scenario(sc: Scenario, pg: embedded.EmbeddedPostgres, work: Path, raw_seconds: float,
                 with_bare: bool = True, generator: str = "both", processes: int = 1,
                 paced: bool = True) -> ScenarioReport:
    db = "s_" + sc.name.replace("-", "_")
    dsns = asyncio.run(_create_databases(pg.dsn, db, db + "_raw"))
    redis = None
    if sc.nodes > 1:
        redis = RedisProcess(work / "redis")
        redis.start()
    servers = _servers(sc, dsns[db], work, redis.url if redis else None)
    try:
        for s in servers:
            s.start()
        print(f"[{sc.name}] {sc.describe()}; server(s) "
              + ", ".join(f"{s.ws} (pid {s.proc.pid if s.proc else '?'})" for s in servers), flush=True)
        lean = None
        lean_too = _lean_applies(sc) and generator != "locust"
        if lean_too and generator == "swarm":
            lean = _lean_only(sc, servers, work / "lean", {"postgres": _pg_pids(pg)})
            ours, pool = lean, None
        else:
            ours, pool = run_on_servers(sc, servers, work / "ours", extra_cpu={"postgres": _pg_pids(pg)})
        if lean_too and pool is not None:  # the same server right after Locust, on sessions of its own
            lean = _lean_only(sc, servers, work / "lean", {"postgres": _pg_pids(pg)})
        if lean is not None:
            g = lean.figures
            print(f"[{sc.name}] lean swarm: {g['accepted_rate']:.1f} bids/s, ack p50/p99 {_fmt(g['bid_p50'])}/"
                  f"{_fmt(g['bid_p99'])} ms, server {_fmt(ms_per_bid(g, 'server'), 2)} ms CPU/bid, "
                  f"errors {_errors(g)}", flush=True)
        paced_run = None
        if lean is not None and paced and lean.figures["accepted_rate"] > 0:
            rate = PACED_SHARE * lean.figures["accepted_rate"]
            paced_run = _lean_only(sc, servers, work / "paced", {"postgres": _pg_pids(pg)}, rate=round(rate))
            g = paced_run.figures
            print(f"[{sc.name}] lean swarm paced at {g['offered_rate']:.0f} bids/s: {g['accepted_rate']:.1f} "
                  f"bids/s, ack p50/p99 {_fmt(g['bid_p50'])}/{_fmt(g['bid_p99'])} ms, errors {_errors(g)}",
                  flush=True)
    finally:
        for s in servers:
            s.stop()
        if redis is not None:
            redis.stop()
    f = ours.figures
    print(f"[{sc.name}] ours: {f['accepted_rate']:.1f} bids/s, ack p50/p99 {_fmt(f['bid_p50'])}/{_fmt(f['bid_p99'])} "
          f"ms, broadcast p50/p99 {_fmt(f['broadcast_p50'])}/{_fmt(f['broadcast_p99'])} ms, "
          f"{_fmt(f['kib_per_idle_conn'])} KiB/idle conn, errors {_errors(f)}", flush=True)
    bare = None
    if with_bare and pool is not None:
        bare = run_on_bare(sc, pool, work / "bare", free_port())
        b = bare.figures
        print(f"[{sc.name}] bare websockets: {b['accepted_rate']:.1f} bids/s, broadcast p50/p99 "
              f"{_fmt(b['broadcast_p50'])}/{_fmt(b['broadcast_p99'])} ms", flush=True)
    raw = asyncio.run(raw_commit_rate(dsns[db + "_raw"], sc.concurrency, raw_seconds))
    print(f"[{sc.name}] raw INSERT+commit at {sc.concurrency} conn(s): {raw.rate:.0f}/s", flush=True)
    several = None
    if processes > 1 and _lean_applies(sc):
        several = _several_processes(sc, pg, work / "processes", processes)
        g = several.figures
        print(f"[{sc.name}] {several.label}: {g['accepted_rate']:.1f} bids/s, ack p50/p99 {_fmt(g['bid_p50'])}/"
              f"{_fmt(g['bid_p99'])} ms, errors {_errors(g)}", flush=True)
    return ScenarioReport(sc, ours, bare, raw, getattr(ours, "locust_cmd", ""), lean, several,  # type: ignore[arg-type]
                          paced_run)


def _pg_pids(pg: embedded.EmbeddedPostgres) -> list[int]:
    return [p.pid for p in _postgres_processes(pg)[:1]]


def background_load() -> str:
    load1, load5, _ = os.getloadavg()
    busy = [p for p in psutil.process_iter(["pid", "name", "cmdline", "cpu_percent"])
            if p.info["pid"] != os.getpid()]
    del busy
    return f"load average {load1:.2f} (1 min), {load5:.2f} (5 min) before the run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", default="all", choices=[*SCENARIOS, "all", HOT_LOT.name])
    parser.add_argument("--smoke", action="store_true", help="the smoke variants: seconds each; writes no report")
    parser.add_argument("--raw-seconds", type=float, default=8.0, help="duration of each raw commit measurement")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare websockets limit")
    parser.add_argument("--output", type=Path, help=f"report file (default {DEFAULT_OUTPUT.relative_to(ROOT)})")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, CSV)")
    parser.add_argument("--json", type=Path, help="also save the figures as JSON here")
    parser.add_argument("--server-root", type=Path,
                        help="run the server from this checkout instead (e.g. a `git worktree` of an older commit)")
    parser.add_argument("--watcher-cap", type=int, default=0, metavar="N",
                        help="keep the server's watcher cap per address at N (default 0: off); the swarm then "
                             "is one address opening thousands of watchers beside the bidders")
    parser.add_argument("--hot-seconds", type=float, default=HOT_LOT.seconds,
                        help="hot-lot: seconds of rebidding per bidder count (the refusals alone: half)")
    parser.add_argument("--watchers", type=int, metavar="N",
                        help="the swarm's size instead of the scenario's (e.g. hot-parcel with 20000; the same "
                             "number for the bare websockets server)")
    parser.add_argument("--generator", choices=GENERATORS, default="both",
                        help="who drives max-throughput's bidders: Locust, the lean swarm (loadtests/bidders.py), "
                             "or both, one after the other on the same server (default); the other scenarios "
                             "always use Locust")
    parser.add_argument("--no-paced", action="store_true",
                        help="skip max-throughput's paced run (the lean swarm offering "
                             f"{PACED_SHARE:.0%}% of what the unpaced run accepted)")
    parser.add_argument("--processes", type=int, default=2, metavar="N",
                        help="also run max-throughput on one server of N processes sharing its port (`auction "
                             "serve --workers N`, fan-out over Redis), driven by the lean swarm (default 2; "
                             "1: not run)")
    args = parser.parse_args(argv)
    global SERVER_ROOT, WATCHER_CAP
    SERVER_ROOT = args.server_root.resolve() if args.server_root else None
    WATCHER_CAP = args.watcher_cap
    if args.scenario == HOT_LOT.name:
        return run_hot_lot(args)
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    if args.smoke:
        args.raw_seconds = min(args.raw_seconds, 2.0)
    output = None if (args.no_write or (args.smoke and not args.output)) else (args.output or DEFAULT_OUTPUT)
    fds = raise_fd_limit(max(65536, 2 * (args.watchers or 0) + 4096))  # thousands of sockets in the children (inherited)
    if args.watchers is not None and fds < args.watchers + 200:  # the server's own files, the bidders, the pool
        raise SystemExit(f"the open-files limit is {fds} (`ulimit -n`; its hard limit can be raised only with "
                         f"CAP_SYS_RESOURCE): too low for a server with {args.watchers} watchers; at most about "
                         f"{fds - 200}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (servers, PostgreSQL) on SIGTERM too
    before = background_load()

    tmp = Path(tempfile.mkdtemp(prefix="auction-bench-"))
    print(f"work folder: {tmp}; {before}", flush=True)
    pg = embedded.start(tmp / "db", fsync=True)
    reports: list[ScenarioReport] = []
    try:
        facts = asyncio.run(_pg_facts(pg.dsn))
        if facts["fsync"] != "on" or facts["synchronous_commit"] != "on":
            raise SystemExit(f"refusing to benchmark without durability: {facts}")
        print(f"PostgreSQL {facts['server_version']} (embedded) on 127.0.0.1:{pg.port}: fsync={facts['fsync']}, "
              f"synchronous_commit={facts['synchronous_commit']}, wal_sync_method={facts['wal_sync_method']}",
              flush=True)
        for name in names:
            sc = scenario(name, args.smoke)
            if args.watchers is not None:
                # Tens of thousands take minutes to connect on a busy machine: an hour's countdown, so that
                # the session (and the bare server's) is still open when the bidders come.
                sc = replace(sc, watchers=args.watchers, countdown=max(sc.countdown, 3600))
            reports.append(run_scenario(sc, pg, tmp / name, args.raw_seconds, with_bare=not args.no_bare,
                                        generator=args.generator, processes=args.processes,
                                        paced=not args.no_paced))
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    text = table(reports)
    print()
    print(text)
    print()
    if args.json:
        args.json.write_text(json.dumps([{"scenario": r.sc.name, "ours": r.ours.figures,
                                          "bare": r.bare.figures if r.bare else None,
                                          "lean": r.lean.figures if r.lean else None,
                                          "processes": r.processes.figures if r.processes else None,
                                          "paced": r.paced.figures if r.paced else None,
                                          "raw": {"rate": r.raw.rate, "p50": r.raw.p50_ms, "p99": r.raw.p99_ms,
                                                  "concurrency": r.raw.concurrency}}
                                         for r in reports], default=str, indent=1))
    if output is not None:
        write_report(output, argv, text, facts, reports, before)
        print(f"written to {output}")
    return 0


def run_hot_lot(args: argparse.Namespace) -> int:
    """`--scenario hot-lot` (loadtests/hotlot.py): one server, one session per bidder count; prints its table."""
    seconds = 3.0 if args.smoke else args.hot_seconds
    tmp = Path(tempfile.mkdtemp(prefix="auction-bench-"))
    print(f"work folder: {tmp}; {background_load()}", flush=True)
    pg = embedded.start(tmp / "db", fsync=True)
    try:
        dsn = asyncio.run(_create_databases(pg.dsn, "s_hot_lot"))["s_hot_lot"]
        [server] = _servers(HOT_LOT, dsn, tmp / "hot-lot", None)
        server.start()
        try:
            rows = hotlot.run(server, dsn, tmp, seconds, (2, 10) if args.smoke else hotlot.BIDDER_COUNTS)
        finally:
            server.stop()
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(hotlot.table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


HISTORY_MARKER = "<!-- history: kept by the writer below this line -->"


def write_report(output: Path, argv: list[str] | None, text: str, facts: dict[str, str],
                 reports: list[ScenarioReport], before: str) -> None:
    uname = subprocess.run(["uname", "-srvm"], capture_output=True, text=True).stdout.strip()
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = psutil.virtual_memory().total / 2**30
    command = "python -m loadtests.bench" + ("" if not (argv or sys.argv[1:]) else " " + " ".join(argv or sys.argv[1:]))
    history = ""
    if output.exists():
        old = output.read_text()
        if HISTORY_MARKER in old:
            history = old[old.index(HISTORY_MARKER):]
    locust = "\n".join(f"  - {r.sc.name}: " + (f"`{_clean(r.locust_cmd)}`" if r.locust_cmd else "not run (`--generator swarm`)")
                       for r in reports)
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m loadtests.bench` (`make bench`); each run replaces the part above the history.",
        "",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model or platform.machine()}), {mem_gib:.0f} GiB RAM, `{uname}`",
        f"- background: {before}; the CPU row shows what other processes used during each run",
        f"- Python {platform.python_version()}, uvicorn + websockets-sansio, uvloop; PostgreSQL "
        f"{facts['server_version']} (embedded, same machine), fsync={facts['fsync']}, "
        f"synchronous_commit={facts['synchronous_commit']}, wal_sync_method={facts['wal_sync_method']}: every ack "
        "waited for a WAL flush",
        f"- command: `{command}`",
        "- Locust (one per scenario):",
        locust,
        *([f"- lean bidder swarm (max-throughput, `--generator`{'' if not any(r.processes for r in reports) else ', --processes'}): "
           "`python -m loadtests.bidders --pool <tmp>/pool.json --out <tmp>/bidders.json --ready-file <tmp>/ready`, "
           "beside `python -m loadtests.watchers`"] if any(r.lean or r.processes for r in reports) else []),
        "",
        "Server(s), PostgreSQL, Redis, Locust and the watcher swarm all share this machine.",
        "",
        text,
        "",
        HOW,
        "",
    ]
    body = "\n".join(lines)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(body + ("\n" + history if history else ""))


def _clean(cmd: str) -> str:
    cmd = cmd.replace(sys.executable, "python").replace(str(ROOT) + "/", "")
    if "--csv " in cmd:
        prefix = cmd.split("--csv ", 1)[1].split(" ", 1)[0]
        cmd = cmd.replace(prefix, "<tmp>/locust")
    return cmd


HOW = """How the figures are taken:

- *Scenarios* (loadtests/scenarios.py): **city-day** 20 sessions (10 LISTING that go on to timed bidding, 10
  AUCTION), 30 bidders each, 3 s countdowns; each bidder joins a round with probability 0.5 and bids at a moment
  0.15-0.9 s before the deadline, and an event in its last 0.2-0.4 s (its reaction time) does not stop it, so bids
  arrive in bursts as the countdowns run out; 2,000 watchers; two server nodes with the fan-out over Redis. **hot-parcel** one AUCTION session, 50 bidders each bidding the minimum after
  a think time U(0, 10) s, 5,000 watchers, one node. **max-throughput** 100 AUCTION sessions, 2 bidders each bidding
  as soon as they are answered and outbid (so one bid per session is always in flight), one watcher per session,
  one node with a 100-connection database pool.
- *accepted bids/s*: acks received by the Locust bidders over the Locust run (which includes connecting).
  *bid ack*: from sending `bid` to its `ack`, which the server sends after the commit; exact values from the
  Locust users (Locust's own statistics carry the same round trips as the request entry "bid").
- *lost to a race*: BELOW_MINIMUM / ALREADY_HIGHEST because another bid committed first; *too late*:
  DEADLINE_PASSED / SESSION_CLOSED in a burst at the deadline. Neither is an error.
- *bid-to-broadcast*: at each swarm watcher, receive time minus the event's `at_us` (the server's decision
  time, before the commit): commit + fan-out + delivery, same machine, same clock; over the measured window.
- *memory per connection*: RSS of the server process(es) after the swarm connected and went idle (2 s) minus
  before it connected, divided by the connections (idle); and the peak RSS during the run minus the same
  baseline, divided by the peak connection count (at peak).
- *errors*: Locust failures and user exceptions, the swarm's connection failures, closes and seq gaps, and
  ERROR lines in the server logs.
- *LIMIT 1*: asyncpg connections to the same PostgreSQL, each looping a single-row autocommit INSERT (jsonb
  payload), as many connections as bid commits can be in flight in the scenario (one per session).
- *LIMIT 2*: loadtests/bare_ws_server.py, a bare `websockets` server (uvloop, no compression) deciding the
  bids in memory and broadcasting each accepted bid's event (same shape and size) with `websockets.broadcast`,
  driven by the same Locust bidders and swarm for a shorter window. Ratios put our figure over the limit's:
  under 100 % for a rate means slower than the limit, over 100 % for a latency or memory means more.
- *CPU*: user+system time of each process group over the run's middle, as % of one core; *other* is everything
  else on the machine (other people's work included).
- *LEAN SWARM* (max-throughput, `--generator both`, the default; `swarm` runs it alone, `locust` not at all):
  loadtests/bidders.py, the same bidders as Locust's "fast" users (hello with the token, the minimum next bid
  when answered and outbid, one bid in flight each) in one asyncio process on the watcher swarm's bare
  protocol, right after the Locust run on the same server, on sessions of its own (made like Locust's: what
  a bid costs grows with the bids its session holds, so both runs start from none). The window (the scenario's length)
  starts once every bidder and watcher is connected and bidding has run a second; acks, races and ack
  latencies are counted in it. *CPU per accepted bid*: a group's % of one core over the window divided by
  the accepted bids per second: what one bid costs the server, and what it costs the generator.
- *SEVERAL PROCESSES* (`--processes N`, default 2; 1: not run): the same load with the lean swarm on one
  server started as `auction serve --workers N` (N processes sharing the port with SO_REUSEPORT, the
  fan-out over Redis, as production runs several processes on one host), its own database and sessions;
  *servers* CPU is the N workers and their parent. Compare with the lean row above it, one process without
  Redis."""


if __name__ == "__main__":
    raise SystemExit(main())
