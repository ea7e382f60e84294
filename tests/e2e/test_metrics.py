"""`GET /metrics` on a real server (docs/operations.md): scraped before and after real
WebSocket bids, its histograms and counters move by what the bids did; who may read it
follows `AUCTION_METRICS`; `AUCTION_LOG_FORMAT=json` writes one JSON object a line."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess
from tests.e2e.helpers import KEEPALIVE, WAN, Api, WsClient, close_all, wait_opened

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(api: Api) -> Samples:
    r = await api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_bids_move_the_histograms_and_counters(server: ServerProcess) -> None:
    async with Api(server) as api:
        before = await scrape(api)
        s = await api.listing(bidders=2, reserve=100 * WAN, start_in=1.0, listing_seconds=600)
        a, b = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        try:
            await wait_opened(watcher)
            during = await scrape(api)
            assert value(during, "auction_ws_connections", kind="bidder") == 2
            assert value(during, "auction_ws_connections", kind="watcher") == 1
            assert (await ca.bid(100 * WAN))["type"] == "ack"
            assert (await cb.bid(101 * WAN))["type"] == "ack"
            low = await ca.bid(100 * WAN)
            assert (low["type"], low["code"]) == ("reject", "BELOW_MINIMUM"), low
            after = await scrape(api)
        finally:
            await close_all(watcher, ca, cb)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("auction_bids_accepted_total") == 2
    assert moved("auction_bids_refused_total", code="BELOW_MINIMUM") == 1
    assert moved("auction_bid_decision_seconds_count") == 3
    assert moved("auction_bid_decision_seconds_sum") > 0
    assert moved("auction_bid_decision_seconds_bucket", le="+Inf") == 3
    # The two accepted bids were each committed (and the session's own events before them).
    assert moved("auction_commit_seconds_count") >= 2
    assert moved("auction_group_commit_batch_size_count") >= 2
    assert moved("auction_group_commit_batch_size_sum") >= 2
    # Read from the database at scrape time: the board's gauges exist, zero on a fresh one.
    assert value(after, "auction_deadlines_open", kind="DEPOSIT_REFUND", state="PENDING") == 0
    assert ("auction_publication_outbox", (("state", "PENDING"),)) in after
    assert ("auction_ws_slow_consumer_closes_total", ()) in after
    assert ("auction_publication_attempts_total", (("outcome", "delivered"),)) in after


def _get(server: ServerProcess, path: str, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=server.http, timeout=10, trust_env=False, limits=KEEPALIVE) as http:
        return http.get(path, headers=headers)


def test_operator_mode_asks_for_the_operator_key(server: ServerProcess) -> None:
    # The default (AUCTION_METRICS=operator): the operator API's guard and its error body.
    for key in (None, "wrong-key"):
        r = _get(server, "/metrics", key)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "UNAUTHORIZED"
    assert _get(server, "/metrics", server.operator_key).status_code == 200


def test_open_and_off_modes_and_json_logs(server_factory: Callable[..., ServerProcess]) -> None:
    opened = server_factory(AUCTION_METRICS="open", AUCTION_LOG_FORMAT="json")
    off = server_factory(AUCTION_METRICS="off")
    opened.start()
    off.start()
    r = _get(opened, "/metrics")
    assert r.status_code == 200 and "auction_bid_decision_seconds_bucket" in r.text
    r = _get(off, "/metrics", off.operator_key)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"

    lines = [line for line in opened.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries), entries[:3]
    assert any(e["logger"] == "auction.bootstrap" and e["message"].startswith("ready") for e in entries)
    assert opened.operator_key not in opened.log_path.read_text(encoding="utf-8")
