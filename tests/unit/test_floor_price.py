"""Prices per floor area (起始价 5500元/建筑平方米, 加价幅度 5元/平方米) and the announcement's
title and type (公告标题, 公告类型), as real announcements state them (docs/publication.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.plan.floor_price import floor_area, floor_area_text, yuan_text
from auction.domain.plan.parcels import Parcel, PlanningConditions, check_parcel
from auction.domain.plan.plan_commands import Announce
from auction.domain.plan.plan_events import PlanDrafted, event_from_dict, event_to_dict
from auction.domain.plan.plan_terms import Announcement, PlanMethod
from auction.documents.landchina import ANNOUNCEMENT_LABELS, announcement_document, to_xml
from tests.e2e.publication_receiver import check_document
from auction.domain.plan.plans import PlanState
from tests.unit.plan_helpers import (
    DEPOSIT, INCREMENT, PUB, START_PRICE, T0, announced, announcement, approved, draft, drafted, edit, parcel, rejection,
    schedule_for,
)

# The helpers' parcel: 20000 m² with a plot ratio up to 2.50, so 50000 m² of floor area.
START_PER_M2 = 100_000  # 1000 元/建筑平方米 -> 5000 万元, the helpers' start price
INCREMENT_PER_M2 = 200  # 2 元/建筑平方米 -> 10 万元, the helpers' increment
PER_FLOOR: dict[str, Any] = {"start_price": 0, "increment": 0, "start_fen_per_floor_m2": START_PER_M2,
                             "increment_fen_per_floor_m2": INCREMENT_PER_M2}


def fields_of(state: PlanState) -> dict[str, Any]:
    return announcement_document(state, region_code="530300")["fields"]


class TestDerivation:
    def test_floor_area_is_land_times_the_plot_ratio_upper_limit(self) -> None:
        assert floor_area(parcel()) == 2_000_000 * 250  # 0.0001 m²
        assert floor_area_text(2_000_000 * 250) == "50000.00"
        assert floor_area_text(1_234_567 * 235) == "29012.3245"  # 12345.67 m² x 2.35, exactly
        assert yuan_text(550_000) == "5500" and yuan_text(550_050) == "5500.5"

    def test_a_stated_floor_area_wins(self) -> None:
        assert floor_area(parcel(floor_area_m2_hundredths=4_800_000)) == 480_000_000

    def test_no_floor_area_without_a_closed_upper_limit(self) -> None:
        assert floor_area(parcel(plot_ratio_max=None)) is None
        open_top = parcel(planning=PlanningConditions(open_bounds=("plot_ratio_max",)))
        assert floor_area(open_top) is None
        assert floor_area(replace(open_top, floor_area_m2_hundredths=4_000_000)) == 400_000_000

    def test_the_plan_bids_on_the_derived_totals(self) -> None:
        state = drafted(**PER_FLOOR).state
        assert state.draft is not None
        assert (state.draft.start_price, state.draft.increment) == (START_PRICE, INCREMENT)
        assert (state.draft.start_fen_per_floor_m2, state.draft.increment_fen_per_floor_m2) == (
            START_PER_M2, INCREMENT_PER_M2)

    def test_a_total_given_beside_must_match(self) -> None:
        assert drafted(**(PER_FLOOR | {"start_price": START_PRICE})).state.draft is not None
        refused = rejection(PlanState(), draft(**(PER_FLOOR | {"start_price": START_PRICE + 1})), T0)
        assert refused.code is Code.FLOOR_PRICE_TOTAL_MISMATCH
        assert refused.details == {"field": "start_fen_per_floor_m2", "derived_fen": START_PRICE,
                                   "stated_fen": START_PRICE + 1}

    def test_an_edit_derives_and_drops_them_again(self) -> None:
        plan = drafted()
        plan.do(edit(**PER_FLOOR), T0 + 1)
        assert plan.state.draft is not None and plan.state.draft.start_fen_per_floor_m2 == START_PER_M2
        plan.do(edit(), T0 + 2)
        assert plan.state.draft is not None and plan.state.draft.start_fen_per_floor_m2 is None

    def test_the_deposit_is_judged_against_the_derived_total(self) -> None:
        refused = rejection(PlanState(), draft(**(PER_FLOOR | {"start_fen_per_floor_m2": 2 * START_PER_M2})), T0)
        assert refused.code is Code.Q31_DEPOSIT_BELOW_20_PERCENT and refused.details["minimum_deposit"] == 2 * DEPOSIT


class TestRefusals:
    def test_not_whole_fen_is_refused_never_rounded(self) -> None:
        odd = parcel(area_m2_hundredths=1_234_567, plot_ratio_max=235)  # 29012.3245 m²
        # 1000 元 x 29012.3245 m² is 2901232450 fen, whole; 2 元 x 29012.3245 m² is 5802464.9 fen.
        refused = rejection(PlanState(), draft(parcels=(odd,), deposit=600_000_000, **PER_FLOOR), T0)
        assert refused.code is Code.FLOOR_PRICE_NOT_WHOLE_FEN
        assert refused.details == {"field": "increment_fen_per_floor_m2", "floor_area_m2": "29012.3245",
                                   "total_fen": "5802464.9"}
        plan = drafted(parcels=(odd,), deposit=600_000_000, **(PER_FLOOR | {"increment_fen_per_floor_m2": 2000}))
        assert plan.state.draft is not None
        assert (plan.state.draft.start_price, plan.state.draft.increment) == (2_901_232_450, 58_024_649)  # 20 元: whole fen

    def test_no_floor_area(self) -> None:
        refused = rejection(PlanState(), draft(parcels=(parcel(plot_ratio_max=None),), **PER_FLOOR), T0)
        assert refused.code is Code.FLOOR_AREA_UNKNOWN and refused.details == {"field": "start_fen_per_floor_m2"}

    @pytest.mark.parametrize("unit", [0, -5, 1.5, True])
    def test_a_unit_price_is_a_positive_whole_number_of_fen(self, unit: object) -> None:
        refused = rejection(PlanState(), draft(**(PER_FLOOR | {"increment_fen_per_floor_m2": unit})), T0)
        assert refused.code is Code.INVALID_TERMS and refused.details == {"field": "increment_fen_per_floor_m2"}

    @pytest.mark.parametrize("floor", [0, 5_000_001, 1_999_999])  # above 2.50 or below 1.00 x the land
    def test_a_stated_floor_area_the_plot_ratio_does_not_allow(self, floor: int) -> None:
        with pytest.raises(Rejected) as refused:
            check_parcel(parcel(floor_area_m2_hundredths=floor))
        assert refused.value.code is Code.INVALID_PARCEL
        assert refused.value.rejection.details == {"field": "floor_area_m2_hundredths"}


class TestStored:
    def test_unset_fields_stay_out_and_old_payloads_load(self) -> None:
        event = drafted().log[0]
        data = event_to_dict(event)  # type: ignore[arg-type]
        assert "start_fen_per_floor_m2" not in data and "floor_area_m2_hundredths" not in data["parcel"]
        assert event_from_dict("PlanDrafted", json.loads(json.dumps(data))) == event

    def test_round_trip_with_prices_per_floor_area(self) -> None:
        p = parcel(floor_area_m2_hundredths=5_000_000)
        event = drafted(parcels=(p,), **PER_FLOOR).log[0]
        assert isinstance(event, PlanDrafted)
        data = json.loads(json.dumps(event_to_dict(event)))
        assert data["start_fen_per_floor_m2"] == START_PER_M2 and data["parcel"]["floor_area_m2_hundredths"]
        assert event_from_dict("PlanDrafted", data) == event
        assert Parcel.from_dict(data["parcel"]) == p

    def test_an_announcement_without_a_title_stores_as_before(self) -> None:
        a = announcement(schedule_for(PlanMethod.LISTING))
        assert "title" not in a.to_dict()
        titled = replace(a, title="曲靖市国有建设用地使用权挂牌出让公告（2026-7号）")
        assert Announcement.from_dict(json.loads(json.dumps(titled.to_dict()))) == titled


class TestDocument:
    def test_unit_prices_beside_the_totals(self) -> None:
        doc = announcement_document(announced(**PER_FLOOR).state, region_code="530300")
        f = doc["fields"]
        assert list(f) == list(ANNOUNCEMENT_LABELS)
        assert f["floor_area_m2"] == "50000.00"
        assert (f["start_price_wan"], f["start_price_fen"], f["start_price_yuan_per_floor_m2"]) == (
            "5000", str(START_PRICE), "1000")
        assert (f["increment_wan"], f["increment_fen"], f["increment_yuan_per_floor_m2"]) == ("10", str(INCREMENT), "2")
        assert check_document(doc) == []
        assert '<start_price_yuan_per_floor_m2 label="起始价(元/建筑平方米)">1000<' in to_xml(doc)

    def test_totals_leave_them_empty(self) -> None:
        f = fields_of(announced().state)
        assert (f["floor_area_m2"], f["start_price_yuan_per_floor_m2"], f["increment_yuan_per_floor_m2"]) == (
            "", "", "")

    def test_a_stated_floor_area_shows_with_totals(self) -> None:
        f = fields_of(announced(parcels=(parcel(floor_area_m2_hundredths=4_812_345),)).state)
        assert (f["floor_area_m2"], f["start_price_yuan_per_floor_m2"]) == ("48123.45", "")

    @pytest.mark.parametrize("method, kind", [(PlanMethod.LISTING, "挂牌出让公告"), (PlanMethod.AUCTION, "拍卖出让公告"),
                                              (PlanMethod.TENDER, "招标出让公告")])
    def test_title_and_type_from_the_method(self, method: PlanMethod, kind: str) -> None:
        f = fields_of(announced(method).state)
        assert f["announcement_type"] == kind
        assert f["announcement_title"] == f"{f['seller']}国有建设用地使用权{kind}"

    def test_the_operators_title(self) -> None:
        plan = approved()
        title = "曲靖市国有建设用地使用权挂牌出让公告（曲自然资告〔2026〕7号）"
        plan.do(Announce(by="op-li", announcement=announcement(schedule_for(PlanMethod.LISTING), title=title)), PUB)
        f = fields_of(plan.state)
        assert (f["announcement_title"], f["announcement_type"]) == (title, "挂牌出让公告")


def test_the_console_shows_the_unit_price_beside_each_total() -> None:
    from auction.entrypoints.console.plan_view import prices

    labels = [label for label, _ in prices(drafted(**PER_FLOOR).state)]
    assert labels[1:5] == ["起始价 / Starting price", "起始价 / Starting price（楼面单价 / per floor area）",
                           "增价幅度 / Increment", "增价幅度 / Increment（楼面单价 / per floor area）"]
    assert dict(prices(drafted(**PER_FLOOR).state))["增价幅度 / Increment（楼面单价 / per floor area）"] == "2 元/建筑平方米"
    assert len(prices(drafted().state)) == 6  # with the reserve row (listing)
