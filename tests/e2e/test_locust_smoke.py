"""A short headless Locust run (loadtests/locustfile.py) against a real server.

Locust runs as a subprocess (gevent never enters the pytest process). The
figures asserted are Locust's own, read from its CSV output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.harness import BID, BROADCAST, LOST_RACE, ROOT, prepare_sessions, start_locust, write_pool
from tests.conftest import ServerProcess

SESSIONS = 2
BIDDERS = 3
WATCHERS = 2
SECONDS = 6


def test_locust_smoke_run_bids_and_broadcasts(server: ServerProcess, tmp_path: Path) -> None:
    with server.api() as api:
        pool = prepare_sessions(api, server.ws, SESSIONS, BIDDERS)
    run = start_locust(write_pool(tmp_path / "pool.json", pool), tmp_path / "locust", seconds=SECONDS,
                       bidders=SESSIONS * BIDDERS, watchers=WATCHERS)
    result = run.wait(grace=60)
    assert result.returncode == 0, result.output[-3000:]

    bid = result.stats.get(BID)
    assert bid is not None, f"no 'bid' entry in Locust's CSV: {sorted(result.stats)}\n{result.output[-3000:]}"
    assert bid["Type"] == "WS"
    assert int(bid["Request Count"]) > 0
    assert float(bid["Average Response Time"]) > 0
    assert float(bid["Max Response Time"]) > 0
    assert int(bid["Failure Count"]) == 0

    # Every failure Locust recorded would be an error: lost races are reported as their own
    # successful entry, never as failures. No exceptions inside the users either.
    assert result.failures == [], result.failures
    assert result.exceptions == [], result.exceptions
    assert result.samples.get("errors") == {}, result.samples.get("errors")
    for name, row in result.stats.items():
        assert int(row["Failure Count"]) == 0, (name, row)
    print(f"locust smoke: {bid['Request Count']} bids accepted, "
          f"{result.count(LOST_RACE)} lost races, {result.count(BROADCAST)} broadcasts seen")

    assert result.count(BROADCAST) > 0, "the watchers saw no BidAccepted broadcast"
    assert float(result.stats[BROADCAST]["Average Response Time"]) > 0

    # The server agrees: bids were accepted and committed.
    with server.api() as api:
        accepted = sum(api.get(f"/api/sessions/{s['session_id']}").json()["state"]["bid_count"]
                       for s in pool["sessions"])
        verified = [api.get(f"/api/sessions/{s['session_id']}/verify").json()["ok"] for s in pool["sessions"]]
    assert accepted >= int(bid["Request Count"]) > 0
    assert all(verified)


@pytest.mark.slow
def test_full_benchmark_runs() -> None:
    """The whole `python -m loadtests.bench`: every scenario at full size with both limits
    (about 12 minutes on 2 cores); prints the table, writes nothing."""
    done = subprocess.run([sys.executable, "-m", "loadtests.bench", "--no-write"], cwd=ROOT, capture_output=True,
                          text=True, timeout=2400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for row in ("accepted bids/s", "bid-to-broadcast p50 / p99", "server memory per connection",
                "LIMIT 1: raw INSERT+commit/s", "LIMIT 2: bare websockets"):
        assert row in done.stdout, row
    for name in ("city-day", "hot-parcel", "max-throughput"):
        assert name in done.stdout
