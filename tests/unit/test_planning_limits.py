"""Planning limits as real announcements state them (ranges with open or closed ends, 投资强度,
备注) and the result's coded 行业分类 / 土地级别 (docs/publication.md)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.plan.limits import contains, range_text
from auction.domain.plan.parcels import Parcel, PlanningConditions, check_parcel
from auction.domain.plan.plan_terms import PlanMethod
from auction.documents.landchina import ANNOUNCEMENT_LABELS, announcement_document, result_document
from tests.unit.plan_helpers import START, announced, parcel, sealed
from tests.unit.test_publication_documents import SUPERVISION_NO, deal, entry

WAN = 1_000_000


@pytest.mark.parametrize("low, high, low_open, high_open, words", [
    (100, 220, True, False, "大于1并且小于或等于2.2"),
    (3000, None, False, False, "大于或等于30"),
    (None, 2000, False, False, "小于或等于20"),
    (3000, 5400, False, True, "大于或等于30并且小于54"),
    (None, None, False, False, ""),
])
def test_the_sites_words(low: int | None, high: int | None, low_open: bool, high_open: bool, words: str) -> None:
    assert range_text(low, high, places=2, low_open=low_open, high_open=high_open) == words


def test_open_ends_exclude_their_value() -> None:
    assert contains(220, 100, 220) and not contains(220, 100, 220, high_open=True)
    assert not contains(100, 100, 220, low_open=True) and contains(101, 100, 220, low_open=True)


def planned() -> Parcel:
    planning = PlanningConditions(building_density_min_bp=3000, green_ratio_max_bp=2000, height_min_cm=3000,
                                  height_limit_cm=5400, investment_fen_per_hectare=4500 * WAN,
                                  open_bounds=("plot_ratio_min", "height_limit_cm"), notes="须配建幼儿园一所")
    return parcel(plot_ratio_min=100, plot_ratio_max=220, planning=planning)


class TestAnnouncement:
    def test_limits_investment_and_remarks_in_the_sites_words(self) -> None:
        state = announced(PlanMethod.LISTING, parcels=(planned(),)).state
        f = announcement_document(state, region_code="530300")["fields"]
        assert list(f) == list(ANNOUNCEMENT_LABELS)
        assert f["plot_ratio"] == "大于1并且小于或等于2.2"
        assert (f["building_density"], f["green_ratio"]) == ("大于或等于30", "小于或等于20")
        assert f["height_limit"] == "大于或等于30并且小于54"
        assert (f["investment_intensity_wan"], f["remarks"]) == ("4500", "须配建幼儿园一所")

    def test_a_plan_of_before_shows_its_closed_limits(self) -> None:
        f = announcement_document(announced(PlanMethod.LISTING).state, region_code="530300")["fields"]
        assert (f["plot_ratio"], f["building_density"], f["green_ratio"]) == (
            "大于或等于1并且小于或等于2.5", "小于或等于30", "大于或等于35")
        assert f["investment_intensity_wan"] == ""


class TestStoredParcels:
    def test_round_trip_and_unset_bounds_stay_out(self) -> None:
        p = planned()
        check_parcel(p)
        assert Parcel.from_dict(json.loads(json.dumps(p.to_dict()))) == p
        data = parcel().to_dict()["planning"]
        assert set(data) == {"building_density_max_bp", "green_ratio_min_bp", "height_limit_cm", "notes"}

    @pytest.mark.parametrize("planning, field", [
        (PlanningConditions(building_density_min_bp=4000, building_density_max_bp=3000), "building_density_min_bp"),
        (PlanningConditions(height_min_cm=6000, height_limit_cm=5400), "height_min_cm"),
        (PlanningConditions(open_bounds=("price",)), "open_bounds"),
        (PlanningConditions(investment_fen_per_hectare=0), "investment_fen_per_hectare"),
    ])
    def test_inconsistent_refused(self, planning: PlanningConditions, field: str) -> None:
        with pytest.raises(Rejected) as refused:
            check_parcel(replace(parcel(), planning=planning))
        assert refused.value.code is Code.INVALID_PARCEL and refused.value.rejection.details["field"] == field


class TestCodedResultFields:
    def test_the_sites_codes_beside_the_words(self) -> None:
        doc = result_document(sealed().state, deal(), entry(industry_code="K72", land_grade_code="dj1"),
                              supervision_no=SUPERVISION_NO, published_at=START)
        f = doc["fields"]
        assert (f["industry"], f["industry_code"], f["land_grade"], f["land_grade_code"]) == (
            "房地产业", "K72", "二级", "dj1")

    @pytest.mark.parametrize("overrides", [{"industry_code": "k72"}, {"land_grade_code": "1"}])
    def test_malformed_codes_refused(self, overrides: dict[str, str]) -> None:
        with pytest.raises(Rejected) as refused:
            result_document(sealed().state, deal(), entry(**overrides), supervision_no=SUPERVISION_NO,
                            published_at=START)
        assert refused.value.code is Code.INVALID_FIELD
