"""The hot lot: one AUCTION session, every bidder rebidding the minimum at once when outbid.

    python -m loadtests.bench --scenario hot-lot                  # 2, 10 and 50 bidders
    python -m loadtests.bench --scenario hot-lot --server-root DIR   # the server from another checkout

The deadline's last seconds on one lot: each accepted bid is broadcast, and every
bidder it outbid answers at once with the new minimum, so one bid of each burst is
accepted and the others are refused (BELOW_MINIMUM, or ALREADY_HIGHEST for a bidder
that was not outbid after all). For each bidder count it runs three windows against
one server process:

1. *rebid*: the burst above for `--hot-seconds`; accepted bids/s, refusals/s, ack
   p50/p99, the server's CPU (user+system of its process) per accepted bid, and how
   many accepted bids each commit carried (distinct transaction ids, `xmin`, of the
   window's BidAccepted rows);
2. *refuse*: the same bidders send only bids below the minimum, each as soon as the
   previous one is answered, for half as long: the server's CPU per refusal, alone.

3. *jump*: as in 1, but each outbid bidder bids the minimum plus 0-3 increments (its own
   random choice), for half as long: several bids of one burst can be accepted, in arrival
   order, so the accepted bids per commit show the bids journaled together.

CPU per accepted bid "net" takes the refusals out of the rebid window's CPU at the
refuse window's price. The bidders are a lean asyncio client in a process of its own
(`python -m loadtests.hotlot client ...`), driven over its stdin/stdout: it connects
everyone, prints `ready`, starts on `go`, prints `end` when its window is over and
then one `result {json}` line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import asyncpg
import psutil

from loadtests.harness import ROOT, ServerProcess, percentile, prepare_sessions, write_pool

BIDDER_COUNTS = (2, 10, 50)
OPEN = ("AUCTION", "LISTING", "TIMED_BIDDING")


# ---------------------------------------------------------------------------
# the client (its own process)


@dataclass
class Tally:
    acks: int = 0
    refusals: int = 0
    other: int = 0
    ack_ms: list[float] | None = None
    refusal_ms: list[float] | None = None
    codes: dict[str, int] | None = None

    def __post_init__(self) -> None:
        self.ack_ms, self.refusal_ms, self.codes = [], [], {}


async def _bidder(url: str, session_id: str, token: str, mode: str, tally: Tally, ready: asyncio.Queue[None],
                  go: asyncio.Event, window: list[float]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, proxy=None, compression=None, max_size=None, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "session_id": session_id, "token": token}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        me, state = welcome["bidder_no"], welcome["state"]
        rng = random.Random(me)
        ready.put_nowait(None)
        await go.wait()
        sent: float | None = None
        n = 0

        async def maybe_bid() -> None:
            nonlocal sent, n
            if sent is not None or time.monotonic() >= window[1] or state.get("phase") not in OPEN:
                return
            if mode == "refuse":
                amount = 1  # below any minimum: BELOW_MINIMUM, decided on the cached state
            elif state.get("highest_bidder_no") == me or state.get("min_next_fen") is None:
                return  # not outbid: wait for the next event
            elif mode == "jump":
                amount = state["min_next_fen"] + rng.randrange(4) * state["increment_fen"]
            else:
                amount = state["min_next_fen"]
            n += 1
            sent = time.perf_counter()
            await ws.send(json.dumps({"type": "bid", "bid_id": f"{mode}-{me}-{n}", "amount_fen": amount}))

        await maybe_bid()
        while True:
            left = window[1] - time.monotonic()
            if sent is None and left <= 0:
                return
            try:
                raw = await asyncio.wait_for(ws.recv(), max(left, 0) + 10 if sent is not None else left)
            except TimeoutError:
                return
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "event":
                state = message["state"]
            elif kind in ("ack", "reject", "error") and sent is not None:
                ms = (time.perf_counter() - sent) * 1000
                sent = None
                assert tally.ack_ms is not None and tally.refusal_ms is not None and tally.codes is not None
                if kind == "ack":
                    tally.acks += 1
                    tally.ack_ms.append(ms)
                elif kind == "reject":
                    tally.refusals += 1
                    tally.refusal_ms.append(ms)
                    tally.codes[message["code"]] = tally.codes.get(message["code"], 0) + 1
                else:
                    tally.other += 1
            await maybe_bid()


async def _client(pool_path: Path, mode: str, seconds: float) -> None:
    pool = json.loads(pool_path.read_text())
    session = pool["sessions"][0]
    tally, ready, go = Tally(), asyncio.Queue[None](), asyncio.Event()
    window = [0.0, 0.0]
    tasks = [asyncio.create_task(_bidder(pool["ws_url"], session["session_id"], b["token"], mode, tally, ready,
                                         go, window)) for b in session["bidders"]]
    for _ in tasks:
        await ready.get()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    window[:] = [time.monotonic(), time.monotonic() + seconds]
    started = time.perf_counter()
    go.set()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    print("end", flush=True)
    await asyncio.gather(*tasks)
    assert tally.ack_ms is not None and tally.refusal_ms is not None
    print("result " + json.dumps({
        "seconds": elapsed, "acks": tally.acks, "refusals": tally.refusals, "other": tally.other,
        "codes": tally.codes, "ack_p50": percentile(tally.ack_ms, 50), "ack_p99": percentile(tally.ack_ms, 99),
        "refusal_p50": percentile(tally.refusal_ms, 50), "refusal_p99": percentile(tally.refusal_ms, 99),
    }), flush=True)


# ---------------------------------------------------------------------------
# the driver (in the bench's process)


def _cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _line(out: IO[str], want: str, proc: subprocess.Popen[str]) -> str:
    while True:
        line = out.readline()
        if not line:
            raise RuntimeError(f"the hot-lot client exited ({proc.wait(10)}) before {want!r}")
        if line.startswith(want):
            return line[len(want):].strip()


async def _batches(dsn: str, session_id: str, after_seq: int) -> tuple[int, int, int]:
    """Accepted bids after `after_seq`, the transactions that wrote them, and the log's last seq."""
    con = await asyncpg.connect(dsn)
    try:
        row = await con.fetchrow(
            "SELECT count(*) AS bids, count(DISTINCT xmin::text) AS commits FROM session_events"
            " WHERE session_id = $1 AND seq > $2 AND type = 'BidAccepted'", session_id, after_seq)
        last = await con.fetchval("SELECT last_seq FROM sessions WHERE session_id = $1", session_id)
        assert row is not None
        return int(row["bids"]), int(row["commits"]), int(last or 0)
    finally:
        await con.close()


def _window(server: ServerProcess, pool_path: Path, mode: str, seconds: float, dsn: str, session_id: str
            ) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    proc = subprocess.Popen([sys.executable, "-m", "loadtests.hotlot", "client", str(pool_path), mode, str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        _line(proc.stdout, "ready", proc)
        _, _, last_seq = asyncio.run(_batches(dsn, session_id, 0))
        cpu, load = _cpu(pid), os.getloadavg()[0]
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _line(proc.stdout, "end", proc)
        cpu = _cpu(pid) - cpu
        result: dict[str, Any] = json.loads(_line(proc.stdout, "result", proc))
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdin.close()
        proc.stdout.close()
    bids, commits, _ = asyncio.run(_batches(dsn, session_id, last_seq))
    return {**result, "server_cpu_s": cpu, "load1": load, "bids_in_log": bids, "commits": commits}


def run(server: ServerProcess, dsn: str, work: Path, hot_seconds: float,
        counts: tuple[int, ...] = BIDDER_COUNTS) -> list[dict[str, Any]]:
    """One row per bidder count: the rebid window and the refuse window (see the module's doc)."""
    rows = []
    for n in counts:
        with server.api() as api:
            pool = prepare_sessions(api, server.ws, 1, n, countdown_seconds=3600, increment_fen=100)
        session_id = pool["sessions"][0]["session_id"]
        pool_path = write_pool(work / f"hot-lot-{n}.json", pool)
        hot = _window(server, pool_path, "rebid", hot_seconds, dsn, session_id)
        refuse = _window(server, pool_path, "refuse", max(hot_seconds / 2, 1.0), dsn, session_id)
        jump = _window(server, pool_path, "jump", max(hot_seconds / 2, 1.0), dsn, session_id)
        per_refusal = refuse["server_cpu_s"] / refuse["refusals"] if refuse["refusals"] else None
        accepted = hot["acks"]
        row = {
            "bidders": n,
            "accepted_rate": accepted / hot["seconds"],
            "refusal_rate": hot["refusals"] / hot["seconds"],
            "ack_p50": hot["ack_p50"], "ack_p99": hot["ack_p99"], "refusal_p99": hot["refusal_p99"],
            "server_cpu_pct": 100 * hot["server_cpu_s"] / hot["seconds"],
            "cpu_ms_per_accepted": 1000 * hot["server_cpu_s"] / accepted if accepted else None,
            "cpu_us_per_refusal": 1e6 * per_refusal if per_refusal is not None else None,
            "cpu_ms_per_accepted_net": (1000 * (hot["server_cpu_s"] - hot["refusals"] * per_refusal) / accepted
                                        if accepted and per_refusal is not None else None),
            "bids_per_commit": hot["bids_in_log"] / hot["commits"] if hot["commits"] else None,
            "refusals_alone_rate": refuse["refusals"] / refuse["seconds"],
            "load1": hot["load1"], "codes": hot["codes"], "errors": hot["other"] + refuse["other"] + jump["other"],
            "acked_vs_log": (accepted, hot["bids_in_log"]),
            "jump_accepted_rate": jump["acks"] / jump["seconds"], "jump_ack_p99": jump["ack_p99"],
            "jump_bids_per_commit": jump["bids_in_log"] / jump["commits"] if jump["commits"] else None,
            "jump_cpu_ms_per_accepted": 1000 * jump["server_cpu_s"] / jump["acks"] if jump["acks"] else None,
        }
        print(f"[hot-lot] {n} bidders: {row['accepted_rate']:.1f} accepted/s, {row['refusal_rate']:.1f} refused/s, "
              f"ack p99 {_f(row['ack_p99'])} ms, {_f(row['bids_per_commit'], 2)} bids/commit, server CPU "
              f"{_f(row['cpu_ms_per_accepted'], 3)} ms/accepted, {_f(row['cpu_us_per_refusal'])} us/refusal "
              f"(load {row['load1']:.2f})", flush=True)
        rows.append(row)
    return rows


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| hot lot (1 AUCTION session, 1 node) | " + " | ".join(f"{r['bidders']} bidders" for r in rows) + " |",
             "|---|" + "---|" * len(rows)]

    def row(name: str, fn: Any) -> None:
        lines.append(f"| {name} | " + " | ".join(fn(r) for r in rows) + " |")

    row("accepted bids/s", lambda r: _f(r["accepted_rate"]))
    row("refusals/s (BELOW_MINIMUM, ALREADY_HIGHEST)", lambda r: _f(r["refusal_rate"]))
    row("bid ack p50 / p99 (ms)", lambda r: f"{_f(r['ack_p50'])} / {_f(r['ack_p99'])}")
    row("refusal reply p99 (ms)", lambda r: _f(r["refusal_p99"]))
    row("accepted bids per commit", lambda r: _f(r["bids_per_commit"], 2))
    row("server CPU, % of one core", lambda r: _f(r["server_cpu_pct"], 0))
    row("server CPU per accepted bid, all (ms)", lambda r: _f(r["cpu_ms_per_accepted"], 3))
    row("server CPU per refusal, refusals alone (us)", lambda r: _f(r["cpu_us_per_refusal"]))
    row("  refusals alone/s", lambda r: _f(r["refusals_alone_rate"]))
    row("server CPU per accepted bid, net of refusals (ms)", lambda r: _f(r["cpu_ms_per_accepted_net"], 3))
    row("acks / accepted bids in the log; errors", lambda r: f"{r['acked_vs_log'][0]:,} / {r['acked_vs_log'][1]:,}; "
                                                            f"{r['errors']}")
    row("jump: accepted bids/s; ack p99 (ms)", lambda r: f"{_f(r['jump_accepted_rate'])}; {_f(r['jump_ack_p99'])}")
    row("jump: accepted bids per commit", lambda r: _f(r["jump_bids_per_commit"], 2))
    row("jump: server CPU per accepted bid, all (ms)", lambda r: _f(r["jump_cpu_ms_per_accepted"], 3))
    row("load average (1 min) at the start", lambda r: f"{r['load1']:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "client":
        try:
            import uvloop

            uvloop.install()
        except ImportError:  # pragma: no cover
            pass
        asyncio.run(_client(Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])))
    else:
        raise SystemExit("usage: python -m loadtests.hotlot client POOL_JSON rebid|refuse|jump SECONDS "
                         "(run the scenario with `python -m loadtests.bench --scenario hot-lot`)")
