"""What the benchmark and the Locust smoke test share: a server subprocess, the
session pool (sessions and bidder tokens made through the operator API's
stand-ins: the server must run with `stand_ins=True`), a
headless Locust run as a subprocess, and reading what it measured.

Nothing here imports Locust or gevent (the Locust run is always a separate
process, so gevent's monkey-patching never reaches pytest or asyncio code).
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Test and benchmark servers only: a throwaway escrow key for throwaway data.
TEST_ESCROW_PASSPHRASE = "test-escrow-passphrase-not-for-production"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"

# Names of the entries the Locust file reports (request_type "WS").
BID = "bid"  # an accepted bid: time from sending it to its ack
LOST_RACE = "bid lost race"  # BELOW_MINIMUM / ALREADY_HIGHEST: another bid got there first
BROADCAST = "broadcast"  # at a watcher: receive time minus the event's server at_us
CONNECT = "connect"  # connect + hello + welcome

# Environment the Locust file reads.
ENV_POOL = "LOADTEST_POOL"
ENV_SAMPLES = "LOADTEST_SAMPLES"
ENV_BIDDERS = "LOADTEST_BIDDERS"
ENV_WATCHERS = "LOADTEST_WATCHERS"
ENV_MAX_SECONDS = "LOADTEST_MAX_SECONDS"


def stop_process(proc: subprocess.Popen[Any], sig: int, *, grace: float, after_kill: float = 10) -> None:
    """Ask `proc` to stop with `sig`; kill it if it has not stopped within `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(after_kill)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """`python -m auction.cli serve` in a subprocess on 127.0.0.1, its output in a
    log file. The test suite uses it too (tests/conftest.py).

    `dsn` is the database as its owner sees it. With `server_dsn` (the server's own
    login) the server gets DATABASE_URL=server_dsn and AUCTION_MIGRATION_URL=dsn, as
    a deployment does; without it, DATABASE_URL=dsn. `dsn=""`: no DATABASE_URL, the
    server starts (or shares) the embedded PostgreSQL of its data folder."""

    dsn: str
    data_dir: Path
    server_dsn: str | None = None
    port: int = field(default_factory=free_port)
    operator_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    env_extra: dict[str, str] = field(default_factory=dict)
    # AUCTION_STAND_INS: whether `POST /api/sessions` and `POST /api/sessions/{id}/bidders`
    # exist. Off, as in production, unless a caller says so: the load tests and most
    # end-to-end tests make their sessions and bidders through these stand-ins (no plan,
    # no deposit), and each one that does turns them on explicitly (tests/conftest.py,
    # loadtests/bench.py).
    stand_ins: bool = False
    command: list[str] = field(default_factory=lambda: ["-m", "auction.cli", "serve"])  # after the interpreter
    proc: subprocess.Popen[bytes] | None = None
    # `auction serve --workers N`: N processes on the one port (needs REDIS_URL in env_extra when N > 1);
    # start() returns once every worker listens.
    workers: int = 1

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout: float = 120.0) -> None:  # a bound, not a measure: starts are slow under load
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AUCTION_MIGRATION_URL")}
        if self.server_dsn:
            env.update(DATABASE_URL=self.server_dsn, AUCTION_MIGRATION_URL=self.dsn)
        elif self.dsn:
            env["DATABASE_URL"] = self.dsn
        env.update(
            {
                "AUCTION_DATA_DIR": str(self.data_dir),
                "AUCTION_HOST": "127.0.0.1",
                "AUCTION_PORT": str(self.port),
                "AUCTION_OPERATOR_KEY": self.operator_key,
                "AUCTION_MIN_LISTING_SECONDS": "0",  # compressed time; the rule itself is unit-tested
                "AUCTION_LOG_LEVEL": "INFO",
                "AUCTION_ESCROW_PASSPHRASE": TEST_ESCROW_PASSPHRASE,
                "AUCTION_STAND_INS": "on" if self.stand_ins else "off",
            }
        )
        env.update(self.env_extra)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not Path(env.get("AUCTION_ESCROW_KEY") or self.data_dir / "keys" / "escrow.key").exists():
            subprocess.run([sys.executable, "-m", "auction.cli", "keys", "init"], env=env, check=True,
                           capture_output=True, cwd=ROOT)
        command = [*self.command, "--workers", str(self.workers)] if self.workers > 1 else self.command
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, *command], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_text()[-3000:]}")
            try:
                if (httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200
                        and (self.workers == 1 or len(self.worker_pids()) == self.workers)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready: {self.log_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        """With `workers` > 1: the worker processes listening on the port (a worker listens once started)."""
        import psutil

        if self.proc is None:
            return []
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.Error:
            return []
        pids = []
        for child in children:
            try:
                if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
                       for c in child.net_connections("tcp")):
                    pids.append(child.pid)
            except psutil.Error:
                pass
        return sorted(pids)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, signal.SIGINT, grace=15)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.http, headers={"Authorization": f"Bearer {self.operator_key}"}, timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# ---------------------------------------------------------------------------
# the session pool


def _check_loopback(url: str) -> None:
    host = httpx.URL(url).host
    if host != "127.0.0.1":
        raise ValueError(f"load tests talk to 127.0.0.1 only, not {host!r}")


def prepare_sessions(
    api: httpx.Client,
    ws_url: str | Sequence[str],
    sessions: int,
    bidders: int,
    *,
    countdown_seconds: int = 3600,
    start_price_fen: int = 100_000_000,
    increment_fen: int = 100,
    open_timeout: float = 30.0,
    listing_sessions: int = 0,
    listing_seconds: float = 10.0,
    parallel: int = 8,
    open_delay: float = 0.0,
) -> dict[str, Any]:
    """Create `sessions` sessions with `bidders` qualified bidders each, wait until all
    are open, and return the pool (what the Locust file and the watcher swarm read).

    The first `listing_sessions` are LISTING sessions (listing period `listing_seconds`,
    then timed bidding with `countdown_seconds` if two or more bidders bid); the rest
    are AUCTION sessions (each accepted bid restarts the `countdown_seconds` countdown).
    Bidders must be qualified before `start_at` (registration closes then), so
    `start_at` is set far enough ahead for all the qualifications to commit
    (`parallel` requests at a time). `ws_url` may list several nodes.

    With `open_delay` the sessions open no sooner than that many seconds from now and
    this returns at once (pool["opens_at"] says when, epoch seconds): for short
    countdowns, which must not run out before the bidders are connected.
    """
    urls = [ws_url] if isinstance(ws_url, str) else list(ws_url)
    for url in urls:
        _check_loopback(url)
    _check_loopback(str(api.base_url))
    lead = 1.5 + 0.03 * sessions * (bidders + 1) * 8 / max(1, parallel)  # generous: a loaded machine commits slowly
    start_at = datetime.now(UTC) + timedelta(seconds=max(lead, open_delay))
    pool: dict[str, Any] = {"ws_url": urls[0], "ws_urls": urls, "sessions": [], "opens_at": start_at.timestamp()}
    for i in range(sessions):
        listing = i < listing_sessions
        body: dict[str, Any] = {
            "method": "LISTING" if listing else "AUCTION",
            "parcel_ref": f"LOADTEST-{i + 1:03d}",
            "start_price_fen": start_price_fen,
            "increment_fen": increment_fen,
            "deposit_fen": start_price_fen // 5,
            "start_at": start_at.isoformat(),
            "countdown_seconds": countdown_seconds,
        }
        if listing:  # a listing must have a reserve (Q28): sealed at creation on this stand-in path
            body["listing_end_at"] = (start_at + timedelta(seconds=listing_seconds)).isoformat()
            body["reserve_fen"] = start_price_fen
        r = api.post("/api/sessions", json=body)
        if r.status_code == 404:
            raise RuntimeError("POST /api/sessions is not there: the server needs the stand-ins "
                               "(AUCTION_STAND_INS=on, ServerProcess(stand_ins=True))")
        if r.status_code >= 400:
            raise RuntimeError(f"creating a {body['method']} session: {r.status_code} {r.text[:500]}")
        session_id = r.json()["terms"]["session_id"]
        pool["sessions"].append({"session_id": session_id, "method": body["method"], "bidders": [],
                                 "start_price_fen": start_price_fen, "increment_fen": increment_fen})

    def qualify(job: tuple[int, int]) -> dict[str, Any]:
        i, j = job
        session_id = pool["sessions"][i]["session_id"]
        q = api.post(f"/api/sessions/{session_id}/bidders", json={"legal_name": f"Load test bidder {i}-{j}"})
        q.raise_for_status()
        return {"bidder_no": q.json()["bidder_no"], "token": q.json()["token"]}

    jobs = [(i, j) for i in range(sessions) for j in range(bidders)]
    with ThreadPoolExecutor(max(1, parallel)) as ex:
        for (i, _), bidder in zip(jobs, ex.map(qualify, jobs)):
            pool["sessions"][i]["bidders"].append(bidder)
    if datetime.now(UTC) >= start_at:
        raise RuntimeError("qualification took longer than the lead before start_at; increase the lead")
    if open_delay:
        return pool
    wait_open(api, [s["session_id"] for s in pool["sessions"]], timeout=lead + open_timeout)
    return pool


def wait_open(api: httpx.Client, session_ids: Sequence[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(session_ids)
    while waiting:
        if time.monotonic() > deadline:
            raise RuntimeError(f"sessions not open in time: {waiting}")
        phase = api.get(f"/api/sessions/{waiting[0]}").json()["state"]["phase"]
        if phase in ("AUCTION", "LISTING"):
            waiting.pop(0)
        elif phase in ("SCHEDULED", "NEW"):
            time.sleep(0.1)
        else:
            raise RuntimeError(f"session {waiting[0]} is {phase}, not open for bidding")


def write_pool(path: Path, pool: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds bidder tokens
    with os.fdopen(fd, "w") as f:
        json.dump(pool, f)
    return path


# ---------------------------------------------------------------------------
# the Locust run


@dataclass
class LocustResult:
    returncode: int
    elapsed: float  # wall seconds of the locust process
    stats: dict[str, dict[str, str]]  # name -> row of <prefix>_stats.csv ("Aggregated" included)
    failures: list[dict[str, str]]
    exceptions: list[dict[str, str]]
    samples: dict[str, Any]  # the Locust file's own raw measurements (exact, not bucketed)
    output: str

    def count(self, name: str) -> int:
        row = self.stats.get(name)
        return int(row["Request Count"]) if row else 0

    def failure_count(self, name: str | None = None) -> int:
        if name is None:
            return sum(int(f["Occurrences"]) for f in self.failures)
        return sum(int(f["Occurrences"]) for f in self.failures if f["Name"] == name)


@dataclass
class LocustRun:
    proc: subprocess.Popen[bytes]
    out_dir: Path
    started: float
    seconds: float

    @property
    def csv_prefix(self) -> Path:
        return self.out_dir / "locust"

    def wait(self, grace: float = 60.0) -> LocustResult:
        try:
            self.proc.wait(self.seconds + grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise RuntimeError(f"locust did not stop in time:\n{_tail(self.out_dir / 'locust.out')}") from None
        elapsed = time.monotonic() - self.started
        # The final statistics from the JSON file Locust writes as it exits: its CSV files are
        # rewritten once a second and not at exit, so a short run can end before the last bids
        # reach them. The CSV rows stay as a fallback, in the same shape.
        stats = {row["Name"]: row for row in _csv(Path(f"{self.csv_prefix}_stats.csv"))}
        stats.update(_json_stats(Path(f"{self.csv_prefix}.json")))
        samples = merge_samples(self.out_dir / "samples.json")
        return LocustResult(
            returncode=self.proc.returncode,
            elapsed=elapsed,
            stats=stats,
            failures=_csv(Path(f"{self.csv_prefix}_failures.csv")),
            exceptions=_csv(Path(f"{self.csv_prefix}_exceptions.csv")),
            samples=samples,
            output=(self.out_dir / "locust.out").read_text(errors="replace"),
        )


def merge_samples(path: Path) -> dict[str, Any]:
    """The Locust file's exact measurements, one file per Locust process, merged."""
    merged: dict[str, Any] = {"bid": [], "lost_race": [], "broadcast": [], "errors": {}, "too_late": 0,
                              "ack_before_event": 0, "started": None, "stopped": None}
    found = False
    for name in sorted(glob.glob(f"{path}.*")):
        found = True
        part = json.loads(Path(name).read_text())
        for key in ("bid", "lost_race", "broadcast"):
            merged[key].extend(part.get(key, []))
        for key in ("too_late", "ack_before_event"):
            merged[key] += part.get(key, 0)
        for k, v in part.get("errors", {}).items():
            merged["errors"][k] = merged["errors"].get(k, 0) + v
        if part.get("started"):
            merged["started"] = min(filter(None, [merged["started"], part["started"]]))
        if part.get("stopped"):
            merged["stopped"] = max(filter(None, [merged["stopped"], part["stopped"]]))
    return merged if found else {}


def start_locust(pool_path: Path, out_dir: Path, *, seconds: float, bidders: int, watchers: int,
                 processes: int = 1, env_extra: dict[str, str] | None = None) -> LocustRun:
    """Start `locust --headless` for `seconds` with exactly `bidders` BidderUsers and
    `watchers` WatcherUsers, all spawned at once (in `processes` worker processes when
    more than 1). CSV files go to out_dir/locust_*.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    users = bidders + watchers
    slots = Path(f"{pool_path}.slots")
    slots.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(env_extra or {})
    env.update({
        "LOADTEST_SLOTS": str(slots),
        ENV_POOL: str(pool_path),
        ENV_SAMPLES: str(out_dir / "samples.json"),
        ENV_BIDDERS: str(bidders),
        ENV_WATCHERS: str(watchers),
        ENV_MAX_SECONDS: str(int(seconds) + 30),  # a second fuse inside the Locust file
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    })
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--users", str(users),
        "--spawn-rate", str(users),
        "--run-time", f"{max(1, round(seconds))}s",
        "--stop-timeout", "1",
        "--csv", str(out_dir / "locust"),
        "--json-file", str(out_dir / "locust"),  # locust.json: the final statistics, written at exit
        "--only-summary",
        "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]
    if processes > 1:
        cmd += ["--processes", str(processes)]
    with open(out_dir / "locust.out", "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    return LocustRun(proc, out_dir, time.monotonic(), seconds)


def locust_command_line(run: LocustRun) -> str:
    return " ".join(str(a) for a in run.proc.args)  # type: ignore[union-attr]


def _json_stats(path: Path) -> dict[str, dict[str, str]]:
    """Locust's `--json-file` entries as rows shaped like its `_stats.csv` (the columns we read)."""
    if not path.exists():
        return {}
    rows: dict[str, dict[str, str]] = {}
    for e in json.loads(path.read_text()):
        count = int(e["num_requests"])
        rows[e["name"]] = {
            "Type": e["method"], "Name": e["name"], "Request Count": str(count),
            "Failure Count": str(e["num_failures"]),
            "Average Response Time": str(e["total_response_time"] / count if count else 0),
            "Min Response Time": str(e["min_response_time"] or 0),
            "Max Response Time": str(e["max_response_time"]),
        }
    return rows


def _csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


# ---------------------------------------------------------------------------
# figures


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of exact values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# ---------------------------------------------------------------------------
# Redis (the Debian package redis-server), for scenarios on two nodes


@dataclass
class RedisProcess:
    """A throwaway redis-server on a free loopback port, nothing persisted."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server (Debian package)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")
