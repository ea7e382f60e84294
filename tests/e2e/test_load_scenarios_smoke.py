"""The smoke variants of the load scenarios (loadtests/scenarios.py), each in seconds.

Each runs the real thing at small size: server process(es), Locust bidders in a
subprocess, the asyncio watcher swarm in a subprocess; city-day on two nodes with
the fan-out over a real Redis. The full-size runs and the hardware limits are
`python -m loadtests.bench` (`make bench`); the last test here only checks that
the bare websockets limit server answers the same load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.harness import BID, BROADCAST, free_port
from loadtests.lean import LeanResult, run_swarm_load
from loadtests.scenarios import RunResult, Target, make_pool, run_on_bare, run_on_servers, scenario
from tests.conftest import RedisServer, ServerProcess


def _check(result: RunResult, *, min_accepted: int = 1) -> None:
    f: dict[str, Any] = result.figures
    out = result.locust.output[-2000:]
    assert f["errors"] == {}, f["errors"]
    assert f["exceptions"] == 0, result.locust.exceptions
    bid = result.locust.stats.get(BID)
    assert bid is not None, f"no 'bid' entry in Locust's statistics\n{out}"
    # Locust's own statistics carry the bid round trips (custom request events), not zeros.
    assert int(bid["Request Count"]) >= min_accepted, out
    assert float(bid["Average Response Time"]) > 0 and float(bid["Max Response Time"]) > 0
    assert int(bid["Failure Count"]) == 0
    assert f["accepted"] >= min_accepted
    assert f["bid_p50"] > 0
    # The swarm saw the broadcasts, every watcher connected, no gap in any seq.
    assert f["swarm_connected"] == result.swarm["watchers"], result.swarm
    assert result.swarm["gaps"] == 0 and result.swarm["closed"] == {}
    assert f["deliveries"] > 0 and f["broadcast_p99"] is not None and f["broadcast_p99"] > 0
    assert f["kib_per_idle_conn"] > 0
    assert f["peak_connections"] >= result.swarm["watchers"]


def _servers(server_factory: Callable[..., ServerProcess], n: int, **env: str) -> list[ServerProcess]:
    # The swarm's watchers all come from 127.0.0.1: no watcher cap per address, as in loadtests/bench.py.
    servers = [server_factory(AUCTION_LOG_LEVEL="WARNING", AUCTION_WS_MAX_WATCHERS_PER_ADDRESS="0", **env)
               for _ in range(n)]
    for s in servers:
        s.start()
    return servers


def test_city_day_smoke_two_nodes_over_redis(server_factory: Callable[..., ServerProcess],
                                             redis_server: RedisServer, tmp_path: Path) -> None:
    sc = scenario("city-day", smoke=True)
    assert sc.nodes == 2 and sc.mode == "snipe" and sc.listing_sessions > 0
    servers = _servers(server_factory, sc.nodes, REDIS_URL=redis_server.url)
    result, pool = run_on_servers(sc, servers, tmp_path, settle=0.5)
    _check(result)
    assert result.figures["verified"] == sc.sessions
    assert set(result.figures["phases"]) <= {"AUCTION", "TIMED_BIDDING", "LISTING", "CLOSED"}
    assert len(pool["ws_urls"]) == 2


def test_hot_parcel_smoke(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    sc = scenario("hot-parcel", smoke=True)
    [server] = _servers(server_factory, 1)
    result, _ = run_on_servers(sc, [server], tmp_path, settle=0.5)
    _check(result)
    assert result.figures["verified"] == 1
    assert result.locust.count(BROADCAST) > 0  # Locust's own watchers too


def test_max_throughput_smoke_and_the_bare_limit(server_factory: Callable[..., ServerProcess],
                                                  tmp_path: Path) -> None:
    sc = scenario("max-throughput", smoke=True)
    [server] = _servers(server_factory, 1, **sc.server_env)
    result, pool = run_on_servers(sc, [server], tmp_path / "ours", settle=0.5)
    # A smoke run shows the parts work together. How many bids fit in its few seconds is
    # how fast the machine is (and what else it runs): `make bench` measures that.
    _check(result)
    assert result.figures["verified"] == sc.sessions
    assert result.figures["lost"] <= result.figures["accepted"]  # two bidders a session: they take turns

    # The lean bidder swarm (loadtests/bidders.py) on the same server and sessions.
    assert server.proc is not None
    lean = run_swarm_load(sc, pool, Target("server", [server.ws], [server.proc.pid], []), tmp_path / "lean",
                          seconds=2.0)
    f = lean.figures
    assert f["errors"] == {}, f["errors"]
    assert lean.bidders["connected"] == sc.bidder_users and lean.swarm["connected"] == sc.watchers
    assert f["accepted"] >= 1 and f["bid_p50"] > 0 and f["deliveries"] > 0
    assert f["cpu"]["bidders"] > 0 and f["cpu"]["server"] > 0

    # Paced (`--rate`, the bench's paced run): the same swarm offering a rate, on new sessions.
    with server.api() as api:
        fresh = make_pool(sc, api, [server.ws])
    paced = run_swarm_load(sc, fresh, Target("server", [server.ws], [server.proc.pid], []), tmp_path / "paced",
                           seconds=2.0, rate=50.0)
    p = paced.figures
    assert p["errors"] == {}, p["errors"]
    assert p["offered_rate"] == 50.0 and paced.bidders["rate"] == 50.0 and p["accepted"] >= 1

    bare = run_on_bare(sc, pool, tmp_path / "bare", free_port(), settle=0.2)
    _check(bare)


def test_the_bench_table_has_every_figure_limit_and_ratio() -> None:
    """The table `python -m loadtests.bench` prints and writes, from made-up figures."""
    from loadtests.bench import RawResult, ScenarioReport, table
    from loadtests.harness import LocustResult

    def run(label: str, rate: float) -> RunResult:
        figures: dict[str, Any] = {
            "accepted_rate": rate, "accepted": int(rate * 60), "lost": 5, "too_late": 1, "bid_p50": 4.0,
            "bid_p99": 40.0, "broadcast_p50": 20.0, "broadcast_p99": 120.0, "deliveries_rate": 9000.0,
            "peak_connections": 5060, "kib_per_idle_conn": 24.0, "kib_per_conn_peak": 26.0, "errors": {},
            "exceptions": 0, "swarm_connected": 5000, "cpu": {"server": 90.0, "postgres": 20.0},
            "verified": 1, "sessions": 1, "phases": {"AUCTION": 1},
        }
        return RunResult(label, figures, LocustResult(0, 60.0, {}, [], [], {}, ""), {}, "locust ...")

    reports = [ScenarioReport(scenario(name), run("server", 100.0), run("bare", 200.0),
                              RawResult(100, 8.0, 8000, 2.0, 9.0), "locust ...")
               for name in ("city-day", "hot-parcel", "max-throughput")]
    lean = {**run("server", 500.0).figures, "cpu": {"server": 50.0, "bidders": 10.0}}
    reports[2].lean = LeanResult("server", lean, {}, {})
    reports[2].processes = LeanResult("2 processes", {**lean, "accepted_rate": 600.0}, {}, {})
    reports[2].paced = LeanResult("server", {**lean, "accepted_rate": 420.0, "offered_rate": 420.0,
                                             "bid_p99": 30.0}, {}, {})
    text = table(reports)
    assert "LEAN SWARM PACED" in text and "420.0; 420.0 (42.0 %)" in text
    assert "met: ack p99 <= 50 ms at >= 40 % of raw, paced (30.0 ms at 42.0 %)" in text
    for row in ("LEAN SWARM", "lean: CPU per accepted bid, ms (server, bidders)", "SEVERAL PROCESSES"):
        assert row in text, row
    assert "1.00, 0.20" in text  # 50 % and 10 % of a core at 500 bids/s: 1 ms and 0.2 ms a bid
    assert "2 processes; 600.0" in text and "120 %" in text  # 600 bids/s against one process's 500
    assert "(50.0 %) (lean swarm)" in text  # the target is judged on the lean figure
    for row in ("accepted bids/s", "bid ack p50 / p99", "bid-to-broadcast p50 / p99", "peak connections",
                "server memory per connection", "errors", "LIMIT 1", "LIMIT 2", "broadcast p99 : bare p99",
                "accepted bids/s : raw commits/s", "targets"):
        assert row in text, row
    assert "10.0 %" in text  # 100 bids/s against 1,000 raw commits/s
    assert "met: >= 40 % of raw" in text and "met: ack p99 <= 50 ms" in text
    assert "met: 5,000 watchers" in text and "met: broadcast p99 <= 250 ms" in text
