"""The max-throughput load driven by the lean bidder swarm (loadtests/bidders.py), and
the same load on N server processes sharing one port (`auction serve --workers N`).

Locust's bidders take a good part of a core beside the server (the CPU row of the
table), so on this machine the Locust figure shows the client as much as the
server. Here the bidders are one asyncio process and the watchers the watcher
swarm (loadtests/watchers.py); each reports its own figures for one measured
window, which both start together (SIGUSR1) once every bidder and watcher is
connected and bidding has run for `WARM_UP` seconds.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from loadtests.harness import ROOT, ServerProcess, stop_process, write_pool
from loadtests.scenarios import (CpuGroups, Scenario, Target, _wait_file, check_sessions, cpu_percent, make_pool,
                                 start_swarm)

WARM_UP = 1.0  # seconds of bidding before the window: every bidder has sent its first bid


@dataclass
class LeanResult:
    """What a run with the lean swarm measured: the table's figures (the keys of
    scenarios.RunResult.figures it has), the bidders' and the watchers' own output."""

    label: str
    figures: dict[str, Any]
    bidders: dict[str, Any]
    swarm: dict[str, Any]


def start_bidders(pool_path: Path, out_dir: Path, max_seconds: float, rate: float = 0.0
                  ) -> tuple[subprocess.Popen[bytes], Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    ready = out_dir / "bidders.ready"
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "loadtests.bidders", "--pool", str(pool_path), "--out", str(out_dir / "bidders.json"),
           "--ready-file", str(ready), "--max-seconds", str(max_seconds), "--rate", str(rate)]
    with open(out_dir / "bidders.out", "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    return proc, ready


def _result(proc: subprocess.Popen[bytes] | None, path: Path, what: str) -> dict[str, Any]:
    if proc is None:
        return {}
    stop_process(proc, signal.SIGTERM, grace=60)
    return json.loads(path.read_text()) if path.exists() else {"errors": {f"no {what} result": 1}}


def run_swarm_load(sc: Scenario, pool: dict[str, Any], target: Target, out_dir: Path, *,
                   seconds: float | None = None, extra_cpu: dict[str, list[int]] | None = None,
                   rate: float = 0.0) -> LeanResult:
    """Every bidder of the pool in the lean swarm and `sc.watchers` in the watcher swarm, for `seconds`
    (`rate`: the bids per second offered in all, paced; 0: as fast as the answers come)."""
    seconds = sc.seconds if seconds is None else seconds
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = {**pool, "ws_url": target.ws_urls[0], "ws_urls": target.ws_urls}
    pool_path = write_pool(out_dir / "pool.json", pool)
    watchers = bidders = None
    try:
        if sc.watchers:
            watchers, ready = start_swarm(pool_path, out_dir, sc.watchers, max_seconds=seconds + 300)
            _wait_file(ready, watchers, timeout=120)
        bidders, ready = start_bidders(pool_path, out_dir, max_seconds=seconds + 300, rate=rate)
        connected = _wait_file(ready, bidders, timeout=120)
        groups = CpuGroups({"server": target.pids, **(extra_cpu or {}), "bidders": [bidders.pid],
                            **({"swarm": [watchers.pid]} if watchers else {})}, children={"postgres"})
        time.sleep(WARM_UP)
        for p in (bidders, watchers):
            if p is not None:
                p.send_signal(signal.SIGUSR1)
        before = groups.snapshot()
        time.sleep(seconds)
        after = groups.snapshot()
    finally:
        got = _result(bidders, out_dir / "bidders.json", "bidder swarm")
        swarm = _result(watchers, out_dir / "swarm.json", "watcher swarm")
    figures = _figures(got, swarm, sc)
    figures["cpu"] = cpu_percent(before, after)
    figures["bidders_connected"] = connected["connected"]
    figures["offered_rate"] = rate or None
    return LeanResult(target.label, figures, got, swarm)


def _errors(prefix: str, out: dict[str, Any], expected: int) -> dict[str, int]:
    errors = dict(out.get("errors", {}))
    if out.get("gaps"):
        errors["seq gaps"] = out["gaps"]
    errors.update({f"closed {k}": v for k, v in out.get("closed", {}).items()})
    if expected and out.get("connected", 0) < expected:
        errors["not connected"] = expected - out.get("connected", 0)
    return {f"{prefix}: {k}": v for k, v in errors.items()}


def _figures(got: dict[str, Any], swarm: dict[str, Any], sc: Scenario) -> dict[str, Any]:
    nan = math.nan
    window = got.get("window") or nan
    deliveries = swarm.get("deliveries", 0)
    return {
        "window": window,
        "accepted": got.get("accepted", 0),
        "accepted_rate": got.get("accepted_rate") or nan,
        "lost": got.get("lost_race", 0),
        "too_late": got.get("too_late", 0),
        "bid_p50": got.get("p50_ms") if got.get("p50_ms") is not None else nan,
        "bid_p99": got.get("p99_ms") if got.get("p99_ms") is not None else nan,
        "bid_mean": got.get("mean_ms") if got.get("mean_ms") is not None else nan,
        "broadcast_p50": swarm.get("p50_ms"),
        "broadcast_p99": swarm.get("p99_ms"),
        "deliveries": deliveries,
        "deliveries_rate": deliveries / swarm["window"] if swarm.get("window") else nan,
        "swarm_connected": swarm.get("connected", 0),
        "errors": {**_errors("bidders", got, sc.bidder_users), **_errors("swarm", swarm, sc.watchers)},
        "exceptions": 0,
    }


def ms_per_bid(figures: dict[str, Any], group: str) -> float:
    """CPU milliseconds of a process group per accepted bid over the window: % of a core / bids per second."""
    rate = figures.get("accepted_rate") or math.nan
    return float(figures.get("cpu", {}).get(group, math.nan)) * 10 / rate if rate else math.nan


def run_processes(sc: Scenario, server: ServerProcess, out_dir: Path, *, extra_cpu: dict[str, list[int]],
                  seconds: float | None = None) -> LeanResult:
    """The scenario's load, lean swarm, on `server` started with `server.workers` processes on its one port."""
    server.start()
    try:
        with server.api() as api:
            pool = make_pool(sc, api, [server.ws])
        assert server.proc is not None
        # The parent only supervises; its workers serve. /healthz answers for whichever
        # worker the connection lands on, so no connection count from the server here.
        target = Target(f"{server.workers} processes", [server.ws], [server.proc.pid, *server.worker_pids()], [])
        result = run_swarm_load(sc, pool, target, out_dir, seconds=seconds, extra_cpu=extra_cpu)
        try:
            check_sessions([server], pool, result.figures)
        except httpx.HTTPError as e:
            result.figures["errors"][f"verify: {type(e).__name__}"] = 1
        return result
    finally:
        server.stop()
