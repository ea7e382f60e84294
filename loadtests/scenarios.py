"""The load scenarios and how one is run against running servers.

    python -m loadtests.bench --scenario city-day        # one scenario, full size, with its limits
    python -m loadtests.bench --scenario hot-parcel
    python -m loadtests.bench --scenario max-throughput
    python -m loadtests.bench --scenario all --smoke     # every scenario in seconds

A scenario is: sessions made through the operator API, Locust BidderUsers (their
bid round trips are Locust request events), a few Locust WatcherUsers (so Locust's
own statistics show "broadcast" too), and the bulk of the watchers in one asyncio
process (loadtests/watchers.py). Everything talks to 127.0.0.1 only and every run
is bounded in time (Locust --run-time, the swarm's --max-seconds, and fuses inside).
"""

from __future__ import annotations

import json
import math
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import psutil

from loadtests.harness import (
    BID,
    BROADCAST,
    LOST_RACE,
    ROOT,
    LocustResult,
    ServerProcess,
    locust_command_line,
    percentile,
    prepare_sessions,
    start_locust,
    stop_process,
    write_pool,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    sessions: int
    bidders: int  # per session, one Locust BidderUser each
    watchers: int  # the asyncio swarm
    locust_watchers: int  # Locust WatcherUsers (Locust's own "broadcast" entry)
    seconds: float
    mode: str  # the bidders' behaviour: fast | paced | snipe (loadtests/locustfile.py)
    countdown: int = 3600
    listing_sessions: int = 0
    listing_seconds: float = 10.0
    nodes: int = 1  # 2: two server processes sharing PostgreSQL, fan-out over Redis
    think_max: float = 0.0
    snipe_window: str = "0.15,0.9"
    snipe_share: float = 0.5
    locust_processes: int = 1
    server_env: dict[str, str] = field(default_factory=dict)
    bare_seconds: float = 20.0
    # Seconds between creating the sessions and their opening (short countdowns must not run
    # out before the bidders are there); the measured window starts at the opening.
    open_delay: float = 0.0

    @property
    def bidder_users(self) -> int:
        return self.sessions * self.bidders

    @property
    def concurrency(self) -> int:
        """Bid commits that can be in flight at once: one per session (the session lock), at most one per bidder."""
        return min(self.sessions, self.bidder_users)

    def locust_env(self) -> dict[str, str]:
        return {"LOADTEST_BID_MODE": self.mode, "LOADTEST_THINK_MAX": str(self.think_max),
                "LOADTEST_SNIPE_WINDOW": self.snipe_window, "LOADTEST_SNIPE_SHARE": str(self.snipe_share)}

    def describe(self) -> str:
        kind = {"fast": "bidding as fast as answered", "paced": f"think time U(0, {self.think_max:g}) s",
                "snipe": f"bursts as {self.countdown} s countdowns run out"}[self.mode]
        listing = (f" ({self.listing_sessions} LISTING with {self.listing_seconds:g} s listing, then timed bidding)"
                   if self.listing_sessions else "")
        return (f"{self.sessions} session(s){listing} x {self.bidders} bidders ({kind}), {self.watchers:,} swarm + "
                f"{self.locust_watchers} Locust watchers, {self.seconds:g} s, {self.nodes} node(s)")


SCENARIOS: dict[str, Scenario] = {
    "city-day": Scenario(
        "city-day", "a provincial platform's day: many cities' sessions at once, bursts at the countdowns",
        sessions=20, bidders=30, watchers=2000, locust_watchers=20, seconds=60, mode="snipe", countdown=3,
        listing_sessions=10, listing_seconds=8, nodes=2, snipe_share=0.5, snipe_window="0.15,0.9", open_delay=25,
    ),
    "hot-parcel": Scenario(
        "hot-parcel", "one parcel in its last minutes: 50 bidders, thousands watching",
        sessions=1, bidders=50, watchers=5000, locust_watchers=10, seconds=60, mode="paced", think_max=10.0,
        countdown=60,
    ),
    "max-throughput": Scenario(
        "max-throughput", "100 sessions, two bidders each bidding as fast as they are answered",
        sessions=100, bidders=2, watchers=100, locust_watchers=0, seconds=60, mode="fast",
        server_env={"AUCTION_DB_POOL_SIZE": "100"},
    ),
}

SMOKE: dict[str, Scenario] = {
    "city-day": replace(SCENARIOS["city-day"], sessions=4, bidders=5, watchers=100, locust_watchers=2, seconds=4,
                        listing_sessions=2, listing_seconds=1.5, countdown=2, snipe_share=0.8, bare_seconds=4,
                        open_delay=5),
    "hot-parcel": replace(SCENARIOS["hot-parcel"], bidders=8, watchers=300, locust_watchers=2, seconds=3.5,
                          think_max=0.6, bare_seconds=3),
    "max-throughput": replace(SCENARIOS["max-throughput"], sessions=8, watchers=8, seconds=3.5, bare_seconds=4,
                              server_env={}),
}


# One lot, every bidder rebidding the minimum at once when outbid (loadtests/hotlot.py, its own
# lean client rather than Locust): `python -m loadtests.bench --scenario hot-lot`. Not in "all".
HOT_LOT = Scenario(
    "hot-lot", "the deadline's last seconds on one lot: every outbid bidder rebids the minimum at once",
    sessions=1, bidders=50, watchers=0, locust_watchers=0, seconds=20, mode="fast",
)


def scenario(name: str, smoke: bool = False) -> Scenario:
    return (SMOKE if smoke else SCENARIOS)[name]


# ---------------------------------------------------------------------------
# watching the processes during a run


def _rss(pid: int) -> int:
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def _cpu_seconds(pids: list[int], children: bool = False) -> float:
    total = 0.0
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)] if children else [p]
            for q in procs:
                t = q.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


class Monitor(threading.Thread):
    """Polls the servers' connection counts and memory while a run goes on."""

    def __init__(self, server_pids: list[int], health_urls: list[str], every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.server_pids = server_pids
        self.health_urls = health_urls
        self.every = every
        self.peak_connections = 0
        self.peak_rss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self._stop_event.wait(self.every):
                total = 0
                for url in self.health_urls:
                    try:
                        total += int(client.get(url).json().get("connections", 0))
                    except (httpx.HTTPError, ValueError):
                        pass
                self.peak_connections = max(self.peak_connections, total)
                self.peak_rss = max(self.peak_rss, sum(_rss(p) for p in self.server_pids))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


@dataclass
class CpuGroups:
    pids: dict[str, list[int]]
    children: set[str] = field(default_factory=set)

    def snapshot(self) -> tuple[float, dict[str, float], float]:
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return time.monotonic(), {k: _cpu_seconds(v, k in self.children) for k, v in self.pids.items()}, busy


def cpu_percent(before: tuple[float, dict[str, float], float], after: tuple[float, dict[str, float], float]
                ) -> dict[str, float]:
    wall = after[0] - before[0]
    out = {k: 100 * (after[1][k] - before[1].get(k, 0.0)) / wall for k in after[1]}
    machine = 100 * (after[2] - before[2]) / wall  # % of one core, all processes
    out["other"] = max(0.0, machine - sum(out.values()))
    out["machine"] = machine
    return out


# ---------------------------------------------------------------------------
# one run


@dataclass
class Target:
    """What one run talks to: our server nodes, or the bare websockets server."""

    label: str
    ws_urls: list[str]
    pids: list[int]
    health_urls: list[str]  # empty: no connection count from the server itself


@dataclass
class RunResult:
    """What one run measured on one target: the table's figures, Locust's own statistics,
    the connection swarm's counts, and the Locust command that produced them."""

    label: str
    figures: dict[str, Any]
    locust: LocustResult
    swarm: dict[str, Any]
    locust_cmd: str


def start_swarm(pool_path: Path, out_dir: Path, count: int, max_seconds: float) -> tuple[subprocess.Popen[bytes], Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    ready = out_dir / "swarm.ready"
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "loadtests.watchers", "--pool", str(pool_path), "--count", str(count),
           "--out", str(out_dir / "swarm.json"), "--ready-file", str(ready), "--max-seconds", str(max_seconds)]
    with open(out_dir / "swarm.out", "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    return proc, ready


def _wait_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text())
            return data
        if proc.poll() is not None:
            raise RuntimeError(f"the watcher swarm exited early ({proc.returncode}): "
                               f"{(path.parent / 'swarm.out').read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError("the watcher swarm did not connect in time")


def run_load(sc: Scenario, pool: dict[str, Any], target: Target, out_dir: Path, *, seconds: float | None = None,
             extra_cpu: dict[str, list[int]] | None = None, settle: float = 2.0) -> RunResult:
    """Connect the swarm (and measure the idle memory per connection), then run Locust
    bidders + watchers and the swarm's measured window together for `seconds`."""
    seconds = sc.seconds if seconds is None else seconds
    out_dir.mkdir(parents=True, exist_ok=True)
    opens_at = float(pool.get("opens_at") or 0)
    pool = {**pool, "ws_url": target.ws_urls[0], "ws_urls": target.ws_urls}
    pool_path = write_pool(out_dir / "pool.json", pool)
    rss_before = sum(_rss(p) for p in target.pids)
    swarm_proc = None
    swarm_ready: dict[str, Any] = {"connected": 0}
    if sc.watchers:
        swarm_proc, ready = start_swarm(pool_path, out_dir, sc.watchers, max_seconds=seconds + 300)
        swarm_ready = _wait_file(ready, swarm_proc, timeout=max(120, sc.watchers / 50))  # 20,000 take a while
    time.sleep(settle)  # let the connections go idle (welcomes sent, buffers released)
    rss_idle = sum(_rss(p) for p in target.pids)
    idle_conns = swarm_ready["connected"]
    monitor = Monitor(target.pids, target.health_urls)
    monitor.start()
    wait_open = max(0.0, opens_at - time.time() - 2.5) if target.label != "bare" else 0.0
    seconds += wait_open  # the bidders connect and wait for the opening; the window starts there
    groups = CpuGroups({"server": target.pids, **(extra_cpu or {})}, children={"postgres"})
    run = start_locust(pool_path, out_dir / "locust", seconds=seconds, bidders=sc.bidder_users,
                       watchers=sc.locust_watchers, processes=sc.locust_processes, env_extra=sc.locust_env())
    groups.pids["locust"] = [run.proc.pid]
    groups.children.add("locust")
    if swarm_proc is not None:
        groups.pids["swarm"] = [swarm_proc.pid]
    try:
        time.sleep(2.0 + wait_open)  # Locust imports and connects its users (and the sessions open)
        if swarm_proc is not None:
            swarm_proc.send_signal(signal.SIGUSR1)
        before = groups.snapshot()
        time.sleep(max(0.5, seconds - wait_open - 3.0))
        after = groups.snapshot()
        result = run.wait()
    finally:
        monitor.stop()
        swarm: dict[str, Any] = {}
        if swarm_proc is not None:
            stop_process(swarm_proc, signal.SIGTERM, grace=60)
            path = out_dir / "swarm.json"
            swarm = json.loads(path.read_text()) if path.exists() else {"errors": {"no swarm result": 1}}
    if result.returncode != 0:
        raise RuntimeError(f"locust exited with {result.returncode}: {result.output[-3000:]}")
    figures = _figures(sc, result, swarm, seconds, opens_at if target.label != "bare" else 0.0)
    figures["cpu"] = cpu_percent(before, after)
    figures["idle_connections"] = idle_conns
    figures["kib_per_idle_conn"] = (rss_idle - rss_before) / 1024 / idle_conns if idle_conns else math.nan
    peak = monitor.peak_connections or (swarm.get("peak_open", 0) + sc.bidder_users + sc.locust_watchers)
    figures["peak_connections"] = peak
    figures["kib_per_conn_peak"] = (monitor.peak_rss - rss_before) / 1024 / peak if peak else math.nan
    return RunResult(target.label, figures, result, swarm, locust_command_line(run))


def _figures(sc: Scenario, result: LocustResult, swarm: dict[str, Any], seconds: float,
             opens_at: float = 0.0) -> dict[str, Any]:
    s = result.samples
    bids = s.get("bid", [])
    lost = s.get("lost_race", [])
    started, stopped = s.get("started"), s.get("stopped")
    if started and opens_at > started:
        started = opens_at
    window = (stopped - started) if started and stopped else seconds
    bid_ms = [ms for _, ms in bids]
    locust_broadcast = [ms for _, ms in s.get("broadcast", [])]
    failures = {f"{f['Name']}: {f['Error']}": int(f["Occurrences"]) for f in result.failures}
    swarm_errors = dict(swarm.get("errors", {}))
    if swarm.get("gaps"):
        swarm_errors["seq gaps"] = swarm["gaps"]
    closed = {k: v for k, v in swarm.get("closed", {}).items()}
    if closed:
        swarm_errors.update({f"closed {k}": v for k, v in closed.items()})
    if swarm.get("watchers") and swarm.get("connected", 0) < swarm["watchers"]:
        swarm_errors["not connected"] = swarm["watchers"] - swarm["connected"]
    locust_errors = dict(s.get("errors", {}))
    deliveries = swarm.get("deliveries", 0)
    swarm_window = swarm.get("window") or window
    return {
        "window": window,
        "accepted": len(bids),
        "accepted_rate": len(bids) / window if window else math.nan,
        "lost": len(lost),
        "too_late": s.get("too_late", 0),
        "bid_p50": percentile(bid_ms, 50),
        "bid_p99": percentile(bid_ms, 99),
        "bid_mean": statistics.fmean(bid_ms) if bid_ms else math.nan,
        "broadcast_p50": swarm.get("p50_ms") if swarm.get("p50_ms") is not None else percentile(locust_broadcast, 50),
        "broadcast_p99": swarm.get("p99_ms") if swarm.get("p99_ms") is not None else percentile(locust_broadcast, 99),
        "broadcast_max": swarm.get("max_ms"),
        "deliveries": deliveries,
        "deliveries_rate": deliveries / swarm_window if swarm_window else math.nan,
        "locust_broadcast_p99": percentile(locust_broadcast, 99),
        "swarm_connected": swarm.get("connected", 0),
        "errors": {**failures, **{f"locust: {k}": v for k, v in locust_errors.items() if k not in failures},
                   **{f"swarm: {k}": v for k, v in swarm_errors.items()}},
        "exceptions": len(result.exceptions),
        "locust_bid": result.stats.get(BID, {}),
        "locust_broadcast": result.stats.get(BROADCAST, {}),
        "locust_lost": result.stats.get(LOST_RACE, {}),
    }


def make_pool(sc: Scenario, api: httpx.Client, ws_urls: list[str]) -> dict[str, Any]:
    return prepare_sessions(api, ws_urls, sc.sessions, sc.bidders, countdown_seconds=sc.countdown,
                            listing_sessions=sc.listing_sessions, listing_seconds=sc.listing_seconds,
                            open_delay=sc.open_delay)


def run_on_servers(sc: Scenario, servers: list[ServerProcess], out_dir: Path,
                   extra_cpu: dict[str, list[int]] | None = None, settle: float = 2.0
                   ) -> tuple[RunResult, dict[str, Any]]:
    """The scenario against running server nodes; returns the run and the pool."""
    with servers[0].api() as api:
        pool = make_pool(sc, api, [s.ws for s in servers])
    pids = [s.proc.pid for s in servers if s.proc is not None]
    target = Target("server", [s.ws for s in servers], pids, [f"{s.http}/healthz" for s in servers])
    result = run_load(sc, pool, target, out_dir, extra_cpu=extra_cpu, settle=settle)
    check_sessions(servers, pool, result.figures)
    return result, pool


def check_sessions(servers: list[ServerProcess], pool: dict[str, Any], figures: dict[str, Any]) -> None:
    """Replay every session's log (GET /api/sessions/{id}/verify), count the phases and the
    servers' ERROR lines, into `figures`."""
    with servers[0].api() as api:
        verified = [api.get(f"/api/sessions/{p['session_id']}/verify").json().get("ok") for p in pool["sessions"]]
        phases = [api.get(f"/api/sessions/{p['session_id']}").json()["state"]["phase"] for p in pool["sessions"]]
    figures["verified"] = sum(1 for v in verified if v)
    figures["sessions"] = len(verified)
    figures["phases"] = {ph: phases.count(ph) for ph in sorted(set(phases))}
    figures["server_log_errors"] = sum(s.log_text().count(" ERROR ") for s in servers)


def run_on_bare(sc: Scenario, pool: dict[str, Any], out_dir: Path, port: int, settle: float = 2.0) -> RunResult:
    """The same load against the bare websockets server (loadtests/bare_ws_server.py)."""
    from loadtests.harness import wait_port

    out_dir.mkdir(parents=True, exist_ok=True)
    pool_path = write_pool(out_dir / "bare-pool.json", pool)
    with open(out_dir / "bare.out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "loadtests.bare_ws_server", "--pool", str(pool_path),
                                 "--port", str(port), "--countdown", str(sc.countdown),
                                 "--max-seconds", str(sc.bare_seconds + 400)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_port(port)
        target = Target("bare", [f"ws://127.0.0.1:{port}/ws"], [proc.pid], [])
        return run_load(sc, pool, target, out_dir, seconds=sc.bare_seconds, settle=settle)
    finally:
        stop_process(proc, signal.SIGTERM, grace=15, after_kill=5)

