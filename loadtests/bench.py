"""`python -m loadtests.bench`: the bidding path under load, against the raw commit limit.

1. starts an embedded PostgreSQL in a temporary folder with fsync ON (and
   synchronous_commit on): every acknowledged bid is on disk, as in production;
2. starts one server (`python -m auction.cli serve`) on 127.0.0.1;
3. creates N AUCTION sessions (countdown 3600 s, so they stay open) with M
   qualified bidders each, and waits until they are open;
4. runs Locust headless for T seconds: N*M BidderUsers bidding min_next_fen as
   fast as answers come back, W WatcherUsers following the sessions
   (loadtests/locustfile.py);
5. measures the raw limit: single-row INSERT + commit through asyncpg against the
   same PostgreSQL, with N*M concurrent connections (the bidders' concurrency) and
   with N (one commit in flight per session, which is what the server allows);
6. prints one table and writes it to docs/benchmarks.md.

    python -m loadtests.bench                       # 10 sessions x 5 bidders, 20 watchers, 30 s
    python -m loadtests.bench --smoke               # a few seconds, nothing written
    python -m loadtests.bench --sessions 20 --bidders 3 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from auction.store import embedded
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
    write_pool,
)

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


def _cpu(procs: dict[str, list[psutil.Process]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, plist in procs.items():
        total = 0.0
        for p in plist:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        out[name] = total
    return out


@dataclass
class CpuWindow:
    seconds: float
    percent: dict[str, float]  # of one core
    machine_percent: float  # all cores busy = 100


def _measure_cpu(pg: embedded.EmbeddedPostgres, server_pid: int, locust_pid: int,
                 start: float, stop: float) -> CpuWindow | None:
    """CPU used by server, PostgreSQL and Locust between monotonic `start` and `stop`."""
    def groups() -> dict[str, list[psutil.Process]]:
        return {"server": [psutil.Process(server_pid)], "postgres": _postgres_processes(pg),
                "locust": [psutil.Process(locust_pid)]}

    try:
        time.sleep(max(0.0, start - time.monotonic()))
        before_procs = groups()
        before = _cpu(before_procs)
        psutil.cpu_percent(None)
        t0 = time.monotonic()
        time.sleep(max(0.0, stop - time.monotonic()))
        after_procs = groups()  # backends started in between count from their start
        after = _cpu(after_procs)
        machine = psutil.cpu_percent(None)
        wall = time.monotonic() - t0
    except psutil.Error:
        return None
    return CpuWindow(wall, {k: 100 * (after[k] - before.get(k, 0.0)) / wall for k in after}, machine)


# ---------------------------------------------------------------------------
# figures


def _others(cpu: CpuWindow) -> float:
    """CPU used by everything else on the machine in the window, % of one core."""
    return max(0.0, cpu.machine_percent * (os.cpu_count() or 1) - sum(cpu.percent.values()))


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _rate_over(samples: list[list[float]], t_from: float, t_to: float) -> float:
    n = sum(1 for t, _ in samples if t_from <= t < t_to)
    return n / (t_to - t_from) if t_to > t_from else math.nan


def _figures(result: LocustResult, seconds: float) -> dict[str, Any]:
    s = result.samples
    bids = s.get("bid", [])
    lost = s.get("lost_race", [])
    broadcast = s.get("broadcast", [])
    started, stopped = s.get("started"), s.get("stopped")
    window = (stopped - started) if started and stopped else seconds
    bid_ms = [ms for _, ms in bids]
    lost_ms = [ms for _, ms in lost]
    broadcast_ms = [ms for _, ms in broadcast]
    thirds = {}
    if started and stopped:
        third = window / 3
        thirds = {
            "first": _rate_over(bids, started, started + third),
            "last": _rate_over(bids, stopped - third, stopped),
        }
    failures = {f"{f['Name']}: {f['Error']}": int(f["Occurrences"]) for f in result.failures}
    return {
        "window": window,
        "accepted": len(bids),
        "accepted_rate": len(bids) / window if window else math.nan,
        "lost": len(lost),
        "bid_p50": percentile(bid_ms, 50),
        "bid_p99": percentile(bid_ms, 99),
        "bid_mean": statistics.fmean(bid_ms) if bid_ms else math.nan,
        "lost_p50": percentile(lost_ms, 50),
        "broadcast_n": len(broadcast_ms),
        "broadcast_p50": percentile(broadcast_ms, 50),
        "broadcast_p99": percentile(broadcast_ms, 99),
        "failures": failures,
        "errors": s.get("errors", {}),
        "exceptions": len(result.exceptions),
        "ack_before_event": s.get("ack_before_event", 0),
        "thirds": thirds,
        "locust_bid": result.stats.get(BID, {}),
        "locust_broadcast": result.stats.get(BROADCAST, {}),
        "locust_lost": result.stats.get(LOST_RACE, {}),
    }


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    vwidth = max(len(v) for _, v in rows)
    lines = [f"| {'measure'.ljust(width)} | {'value'.ljust(vwidth)} |", f"|{'-' * (width + 2)}|{'-' * (vwidth + 2)}|"]
    lines += [f"| {k.ljust(width)} | {v.ljust(vwidth)} |" for k, v in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--bidders", type=int, default=5, help="qualified bidders per session (one user each)")
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="Locust run time")
    parser.add_argument("--raw-seconds", type=float, default=10.0, help="duration of each raw commit measurement")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds with 2x3 bidders and 2 watchers; writes no report unless --output")
    parser.add_argument("--output", type=Path, help=f"report file (default {DEFAULT_OUTPUT.relative_to(ROOT)})")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, CSV)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sessions, args.bidders, args.watchers = 2, 3, 2
        args.seconds, args.raw_seconds = 5.0, 2.0
    output = args.output or (None if (args.smoke or args.no_write) else DEFAULT_OUTPUT)
    if args.no_write:
        output = None
    n_bidders = args.sessions * args.bidders

    tmp = Path(tempfile.mkdtemp(prefix="auction-bench-"))
    print(f"work folder: {tmp}")
    pg = embedded.start(tmp / "db", fsync=True)
    try:
        facts = asyncio.run(_pg_facts(pg.dsn))
        if facts["fsync"] != "on" or facts["synchronous_commit"] != "on":
            raise SystemExit(f"refusing to benchmark without durability: {facts}")
        print(f"PostgreSQL {facts['server_version']} (embedded) on 127.0.0.1:{pg.port}: fsync={facts['fsync']}, "
              f"synchronous_commit={facts['synchronous_commit']}, wal_sync_method={facts['wal_sync_method']}, "
              f"full_page_writes={facts['full_page_writes']} -- real durability: each ack waits for a WAL flush")
        dsns = asyncio.run(_create_databases(pg.dsn, "auction_bench", "raw_bench"))

        server = ServerProcess(dsn=dsns["auction_bench"], data_dir=tmp / "server")
        server.start()
        try:
            t = time.monotonic()
            with server.api() as api:
                pool = prepare_sessions(api, server.ws, args.sessions, args.bidders)
            print(f"{args.sessions} sessions x {args.bidders} bidders created and open "
                  f"({time.monotonic() - t:.1f} s); server {server.ws} (pid {server.proc.pid})")
            pool_path = write_pool(tmp / "pool.json", pool)
            run = start_locust(pool_path, tmp / "locust", seconds=args.seconds, bidders=n_bidders,
                               watchers=args.watchers)
            locust_cmd = locust_command_line(run)
            print(f"locust: {locust_cmd}")
            assert server.proc is not None
            cpu = _measure_cpu(pg, server.proc.pid, run.proc.pid, run.started + 1.5,
                               run.started + args.seconds + 0.5)
            result = run.wait()
            if result.returncode != 0:
                print(result.output[-3000:], file=sys.stderr)
                raise SystemExit(f"locust exited with {result.returncode}")
            counts = asyncio.run(_server_side_counts(dsns["auction_bench"]))
            with server.api() as api:
                verified = [api.get(f"/api/sessions/{s['session_id']}/verify").json()["ok"] for s in pool["sessions"]]
        finally:
            server.stop()
        server_errors = server.log_text().count("ERROR")

        print(f"raw commits: {n_bidders} connections, {args.raw_seconds:g} s ...")
        raw = asyncio.run(raw_commit_rate(dsns["raw_bench"], n_bidders, args.raw_seconds))
        print(f"raw commits: {args.sessions} connections, {args.raw_seconds:g} s ...")
        raw_s = asyncio.run(raw_commit_rate(dsns["raw_bench"], args.sessions, args.raw_seconds))
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    f = _figures(result, args.seconds)
    lb = f["locust_bid"]
    rows = [
        ("accepted bids/s (acks / run window)", f"{_fmt(f['accepted_rate'])}  ({f['accepted']:,} acks in "
                                                 f"{f['window']:.1f} s)"),
        ("  first third / last third of the run", f"{_fmt(f['thirds'].get('first', math.nan))} / "
                                                   f"{_fmt(f['thirds'].get('last', math.nan))} bids/s"),
        ("bid ack latency p50 / p99", f"{_fmt(f['bid_p50'], 2)} / {_fmt(f['bid_p99'], 2)} ms"),
        ("  Locust's own (rounded) p50 / p99 / avg",
         f"{lb.get('50%', 'n/a')} / {lb.get('99%', 'n/a')} / {_fmt(float(lb.get('Average Response Time', 'nan')), 2)} ms"),
        ("bids lost to a race (BELOW_MINIMUM etc.)", f"{f['lost']:,}  (round trip p50 {_fmt(f['lost_p50'], 2)} ms)"),
        ("bid-to-broadcast at watchers p50 / p99", f"{_fmt(f['broadcast_p50'], 2)} / {_fmt(f['broadcast_p99'], 2)} ms "
                                                   f"({f['broadcast_n']:,} deliveries)"),
        ("errors (failures + user exceptions)", f"{sum(f['failures'].values())} + {f['exceptions']}"
                                                + (f"  {f['failures']}" if f["failures"] else "")),
        ("server-side BidAccepted rows / sessions verified",
         f"{counts['accepted']:,} / {sum(verified)} of {len(verified)} ok; server log ERROR lines: {server_errors}"),
        (f"raw INSERT+commit/s, {raw.concurrency} conns (= bidders)",
         f"{_fmt(raw.rate)}  (p50 {_fmt(raw.p50_ms, 2)} / p99 {_fmt(raw.p99_ms, 2)} ms)"),
        (f"raw INSERT+commit/s, {raw_s.concurrency} conns (= sessions)",
         f"{_fmt(raw_s.rate)}  (p50 {_fmt(raw_s.p50_ms, 2)} / p99 {_fmt(raw_s.p99_ms, 2)} ms)"),
        ("ratio accepted bids/s : raw commits/s", f"1 : {_fmt(raw.rate / f['accepted_rate'], 2)}  "
                                                  f"({_fmt(100 * f['accepted_rate'] / raw.rate)} % of raw at "
                                                  f"{raw.concurrency} conns; "
                                                  f"{_fmt(100 * f['accepted_rate'] / raw_s.rate)} % at "
                                                  f"{raw_s.concurrency})"),
    ]
    rows.append(("acks that arrived before the bidder's own event",
                 f"{f['ack_before_event']:,} of {f['accepted']:,}"))
    if cpu is not None:
        server_ms = 1000 * cpu.percent["server"] / 100 / f["accepted_rate"] if f["accepted_rate"] else math.nan
        rows.append(("server CPU per accepted bid", f"{_fmt(server_ms, 2)} ms (incl. the lost-race bids and fan-out)"))
        rows.append(("CPU during the run (% of one core)",
                     ", ".join(f"{k} {v:.0f}" for k, v in cpu.percent.items())
                     + f", other processes {_others(cpu):.0f}; machine {cpu.machine_percent:.0f} % busy "
                       f"({os.cpu_count()} cores)"))
    table = _table(rows)
    warning = ""
    if cpu is not None and _others(cpu) > 25:
        warning = (f"Warning: other processes on this machine used {_others(cpu):.0f} % of a core during the run "
                   f"(machine {cpu.machine_percent:.0f} % busy): the figures are lower and noisier than on an "
                   f"idle machine.")
    setup = (f"{args.sessions} AUCTION sessions x {args.bidders} bidders ({n_bidders} BidderUsers), "
             f"{args.watchers} WatcherUsers, {args.seconds:g} s; one server process; embedded PostgreSQL "
             f"{facts['server_version']} with fsync={facts['fsync']}, synchronous_commit={facts['synchronous_commit']}")
    print()
    print(setup)
    print(table)
    if warning:
        print(warning)
    print()

    if output is not None:
        _write_report(output, args, argv, setup, table, warning, facts, locust_cmd)
        print(f"written to {output}")
    return 0


def _write_report(output: Path, args: argparse.Namespace, argv: list[str] | None, setup: str, table: str,
                  warning: str, facts: dict[str, str], locust_cmd: str) -> None:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    command = "python -m loadtests.bench" + ("" if not (argv or sys.argv[1:]) else " " + " ".join(argv or sys.argv[1:]))
    locust_cmd = locust_cmd.replace(sys.executable, "python").replace(str(ROOT) + "/", "")
    tmp_prefix = locust_cmd.split("--csv ", 1)[-1].split(" ", 1)[0] if "--csv " in locust_cmd else ""
    if tmp_prefix:
        locust_cmd = locust_cmd.replace(tmp_prefix, "<tmp>/locust")
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m loadtests.bench` (`make bench`); each run replaces this file.",
        "",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: `{uname}`",
        f"- CPUs: {os.cpu_count()}",
        f"- Python: {platform.python_version()} ({sys.implementation.name})",
        f"- PostgreSQL: {facts['server_version']} (embedded, same machine), fsync={facts['fsync']}, "
        f"synchronous_commit={facts['synchronous_commit']}, wal_sync_method={facts['wal_sync_method']}, "
        f"full_page_writes={facts['full_page_writes']}: real durability, every ack waited for a WAL flush",
        f"- command: `{command}`",
        f"- Locust: `{locust_cmd}`",
        "",
        f"Setup: {setup}. Server, PostgreSQL and Locust share the machine.",
        "",
        table,
        "",
        *([warning, ""] if warning else []),
        "How the figures are taken:",
        "",
        "- *accepted bids/s*: acks received by the BidderUsers over the Locust run window (all users start at"
        " once, so the window includes connecting). Bidders bid the `min_next_fen` of the latest event they saw,"
        " one bid in flight per connection, no think time; a bidder holding the highest bid waits to be outbid.",
        "- *bid ack latency*: from sending `bid` to receiving its `ack` (sent after the commit), exact values"
        " from the Locust users; Locust's own CSV figures (bucketed to whole ms) are shown beside them.",
        "- *lost races*: `reject` with BELOW_MINIMUM or ALREADY_HIGHEST because another bid for the same amount"
        " committed first; expected with several bidders per session, not errors.",
        "- *bid-to-broadcast*: at each watcher, receive time minus the event's `at_us` (the server's decision"
        " time, taken before the commit): commit + fan-out + delivery. Same machine, same clock.",
        "- *raw INSERT+commit/s*: asyncpg connections to the same PostgreSQL, each looping one autocommit"
        f" single-row INSERT (jsonb payload) for {args.raw_seconds:g} s after a 0.5 s warm-up, with as many"
        " connections as bidders, and with as many as sessions (the server holds a per-session lock across"
        " each commit, so at most one bid commit per session is in flight).",
        "- *acks before the bidder's own event*: the server sends the `ack` inline on the bidder's connection"
        " and the `BidAccepted` event through that connection's writer task, so the ack can arrive first;"
        " the bidders wait for their own event before bidding again (otherwise they would bid on stale state).",
        "- *CPU*: user+system time of the server process, all PostgreSQL processes and the Locust process"
        " over the run (minus the first 1.5 s), as % of one core; *server CPU per accepted bid* divides the"
        " server's share by the accepted rate (it includes handling the lost-race bids and the fan-out).",
        "",
        "Reading the figures: the server takes a session's lock before deciding a bid and holds it until the"
        " append has committed (and the event is published), so each session has at most one commit in flight"
        " and every other bid for it, including those that will be refused, waits for that commit. The raw"
        " commit rate with as many connections as sessions is therefore the relevant ceiling; the rate with as"
        " many connections as bidders is what PostgreSQL alone could absorb at the bidders' concurrency.",
        "",
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
