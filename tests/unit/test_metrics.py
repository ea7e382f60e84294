"""The metrics' registry (auction/adapters/metrics.py) and the dashboard that reads it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from auction.adapters.metrics import Metrics
from auction.domain.codes import Code

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "auction.json"


def _families(metrics: Metrics) -> set[str]:
    return {family.name for family in metrics.registry.collect()}


def _family(sample_name: str) -> str:
    return re.sub(r"_(bucket|count|sum|total|created)$", "", sample_name)


def test_each_app_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.bid_accepted(0.002)
    assert a.registry is not b.registry
    assert a.registry.get_sample_value("auction_bids_accepted_total") == 1
    assert b.registry.get_sample_value("auction_bids_accepted_total") == 0


def test_refusals_are_counted_by_code_with_one_child_each() -> None:
    m = Metrics()
    for _ in range(3):
        m.bid_refused(Code.BELOW_MINIMUM, 0.001)
    m.bid_refused(Code.DEADLINE_PASSED, 0.001)
    assert m.registry.get_sample_value("auction_bids_refused_total", {"code": "BELOW_MINIMUM"}) == 3
    assert m.registry.get_sample_value("auction_bids_refused_total", {"code": "DEADLINE_PASSED"}) == 1
    assert m.registry.get_sample_value("auction_bid_decision_seconds_count") == 4
    assert len(m._refused_by) == 2


def test_the_dashboard_shows_every_metric_and_no_other() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    shown = {_family(n) for e in exprs for n in re.findall(r"\bauction_[a-z_]+", e)}
    assert shown == _families(Metrics())
