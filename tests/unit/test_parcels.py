"""Parcels (宗地): exact numbers, the land use table, Q23 readiness facts, Q24 categories."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.plan.parcels import (
    CATEGORY_USES,
    LAND_USES,
    READINESS_LABELS,
    ConditionsCategory,
    Parcel,
    PlanningConditions,
    Readiness,
    check_parcel,
    format_basis_points,
    format_hundredths,
    parse_hundredths,
    plot_ratio_text,
    to_hectares,
    to_square_metres,
)

from .plan_helpers import AREA, BENCHMARK, parcel


def invalid_field(p: Parcel) -> str:
    with pytest.raises(Rejected) as info:
        check_parcel(p)
    assert info.value.code is Code.INVALID_PARCEL
    field: str = info.value.rejection.details["field"]
    return field


class TestExactArea:
    @pytest.mark.parametrize(
        ("hundredths", "hectares", "square_metres"),
        [
            (2_000_000, "2", "20000.00"),
            (1_234_567, "1.234567", "12345.67"),
            (500_000, "0.5", "5000.00"),
            (1, "0.000001", "0.01"),
            (10**17 + 3, "100000000000.000003", "1000000000000000.03"),  # no float would keep the 3
        ],
    )
    def test_conversions_are_exact(self, hundredths: int, hectares: str, square_metres: str) -> None:
        assert to_hectares(hundredths) == hectares
        assert to_square_metres(hundredths) == square_metres
        assert parse_hundredths(square_metres) == hundredths

    def test_parcel_properties(self) -> None:
        p = parcel(area_m2_hundredths=1_234_567)
        assert (p.area_m2, p.area_hectares) == ("12345.67", "1.234567")

    @pytest.mark.parametrize(("text", "value"), [("2.5", 250), ("3", 300), ("0.05", 5), (" 12345.67 ", 1_234_567)])
    def test_parse(self, text: str, value: int) -> None:
        assert parse_hundredths(text) == value

    @pytest.mark.parametrize("text", ["1.234", "-1", "1e3", "", ".5", "1.", "1,000", "NaN", "２.5"])
    def test_parse_refuses_what_is_not_exact_hundredths(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_hundredths(text)

    def test_hundredths_and_basis_points(self) -> None:
        assert format_hundredths(250) == "2.50"
        assert format_hundredths(5) == "0.05"
        assert format_basis_points(3050) == "30.50%"


class TestLandUses:
    @pytest.mark.parametrize(
        ("code", "name"),
        [
            ("0701", "城镇住宅用地"),
            ("0601", "工业用地"),
            ("0602", "采矿用地"),
            ("0501", "零售商业用地"),
            ("0502", "批发市场用地"),
            ("0503", "餐饮用地"),
            ("0504", "旅馆用地"),
            ("0505", "商务金融用地"),
            ("0507", "其他商服用地"),
        ],
    )
    def test_table(self, code: str, name: str) -> None:
        assert LAND_USES[code].name == name
        assert parcel(land_use=code, term_years=40).land_use_name == name

    def test_unknown_code_refused(self) -> None:
        assert invalid_field(parcel(land_use="9999")) == "land_use"

    @pytest.mark.parametrize(("code", "longest"), [("0701", 70), ("0601", 50), ("0505", 40)])
    def test_term_of_use_up_to_the_legal_maximum(self, code: str, longest: int) -> None:
        check_parcel(parcel(land_use=code, term_years=longest))
        assert invalid_field(parcel(land_use=code, term_years=longest + 1)) == "term_years"
        assert invalid_field(parcel(land_use=code, term_years=0)) == "term_years"


class TestQ23Readiness:
    def test_all_six_facts_in_the_articles_order(self) -> None:
        assert list(READINESS_LABELS) == [
            "compensation_settled",
            "no_legal_dispute",
            "title_clear",
            "old_certificate_cancelled",
            "planning_conditions_set",
            "development_ready",
        ]
        assert Readiness().missing() == tuple(READINESS_LABELS)
        assert Readiness.all_true().ready

    @pytest.mark.parametrize("name", list(READINESS_LABELS))
    def test_each_fact_is_named_when_missing(self, name: str) -> None:
        readiness = replace(Readiness.all_true(), **{name: False})
        assert readiness.missing() == (name,)
        assert not readiness.ready

    def test_only_true_counts(self) -> None:
        readiness = replace(Readiness.all_true(), title_clear=1)  # type: ignore[arg-type]
        assert readiness.missing() == ("title_clear",)
        assert invalid_field(parcel(readiness=readiness)) == "readiness"


class TestQ24Categories:
    @pytest.mark.parametrize(
        ("category", "code"),
        [
            (ConditionsCategory.INDUSTRIAL, "0601"),
            (ConditionsCategory.COMMERCIAL_COMPLEX, "0501"),
            (ConditionsCategory.COMMERCIAL_COMPLEX, "0507"),
            (ConditionsCategory.HIGH_END_HOTEL, "0504"),
            (ConditionsCategory.HIGH_END_OFFICE, "0505"),
        ],
    )
    def test_the_four_kinds_allow_conditions(self, category: ConditionsCategory, code: str) -> None:
        p = parcel(land_use=code, term_years=40, conditions_category=category)
        check_parcel(p)
        assert p.conditions_allowed

    @pytest.mark.parametrize("code", ["0701", "0601", "0504", "0505", "0602"])
    def test_no_category_no_conditions(self, code: str) -> None:
        assert not parcel(land_use=code, term_years=40).conditions_allowed

    @pytest.mark.parametrize(
        ("category", "code"),
        [
            (ConditionsCategory.INDUSTRIAL, "0701"),  # residential land marked industrial
            (ConditionsCategory.INDUSTRIAL, "0602"),  # mining is not industry
            (ConditionsCategory.HIGH_END_HOTEL, "0505"),
            (ConditionsCategory.HIGH_END_OFFICE, "0701"),
            (ConditionsCategory.COMMERCIAL_COMPLEX, "0601"),
        ],
    )
    def test_a_category_must_fit_the_use(self, category: ConditionsCategory, code: str) -> None:
        p = parcel(land_use=code, term_years=40, conditions_category=category)
        assert not p.conditions_allowed
        assert invalid_field(p) == "conditions_category"

    def test_residential_fits_no_category(self) -> None:
        assert [c for c, uses in CATEGORY_USES.items() if "0701" in uses] == [ConditionsCategory.NONE]


class TestCheckParcel:
    def test_the_sample_is_valid(self) -> None:
        check_parcel(parcel())

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"parcel_no": " "}, "parcel_no"),
            ({"location": ""}, "location"),
            ({"area_m2_hundredths": 0}, "area_m2_hundredths"),
            ({"area_m2_hundredths": 20000.5}, "area_m2_hundredths"),
            ({"area_m2_hundredths": True}, "area_m2_hundredths"),
            ({"plot_ratio_min": None, "plot_ratio_max": None}, "plot_ratio_max"),
            ({"plot_ratio_min": 300, "plot_ratio_max": 250}, "plot_ratio_min"),
            ({"plot_ratio_max": 2.5}, "plot_ratio_max"),
            ({"benchmark_fen_per_m2": 0}, "benchmark_fen_per_m2"),
            ({"planning": PlanningConditions(building_density_max_bp=10_001)}, "building_density_max_bp"),
            ({"planning": PlanningConditions(green_ratio_min_bp=-1)}, "green_ratio_min_bp"),
            ({"planning": PlanningConditions(height_limit_cm=0)}, "height_limit_cm"),
        ],
    )
    def test_inconsistent_data_refused(self, overrides: dict[str, object], field: str) -> None:
        assert invalid_field(parcel(**overrides)) == field

    def test_one_sided_plot_ratio(self) -> None:
        check_parcel(parcel(plot_ratio_min=None))
        check_parcel(parcel(plot_ratio_max=None))
        assert plot_ratio_text(parcel()) == "1.00-2.50"
        assert plot_ratio_text(parcel(plot_ratio_min=None)) == "≤2.50"
        assert plot_ratio_text(parcel(plot_ratio_max=None)) == "≥1.00"


class TestBenchmark:
    def test_exact_integer_comparison(self) -> None:
        p = parcel()
        total = BENCHMARK * AREA // 100
        assert p.benchmark_total_fen() == total
        assert not p.is_below_benchmark(total)
        assert p.is_below_benchmark(total - 1)

    def test_a_fractional_benchmark_total_rounds_up(self) -> None:
        # 12345.67 m² x 1234.57 元/m² = 15,241,566.7... 元: the last fen is partial.
        p = parcel(area_m2_hundredths=1_234_567, benchmark_fen_per_m2=123_457)
        exact_times_100 = 123_457 * 1_234_567
        assert exact_times_100 % 100 != 0
        minimum = p.benchmark_total_fen()
        assert minimum == exact_times_100 // 100 + 1
        assert not p.is_below_benchmark(minimum)
        assert p.is_below_benchmark(minimum - 1)


class TestJSON:
    @pytest.mark.parametrize(
        "p",
        [
            parcel(),
            parcel(land_use="0601", term_years=50, conditions_category=ConditionsCategory.INDUSTRIAL, plot_ratio_max=None),
            parcel(readiness=Readiness(title_clear=True), planning=PlanningConditions()),
        ],
    )
    def test_round_trip(self, p: Parcel) -> None:
        assert Parcel.from_dict(json.loads(json.dumps(p.to_dict(), ensure_ascii=False))) == p


class TestRecordedUses:
    """Older use names and several uses with a term each, as published records state them."""

    def test_an_older_name_of_the_codes_class_is_shown(self) -> None:
        p = parcel(use_name="其他普通商品住房用地")
        check_parcel(p)
        assert (p.land_use, p.land_use_name) == ("0701", "其他普通商品住房用地")

    def test_an_older_name_of_another_class_is_refused(self) -> None:
        assert invalid_field(parcel(use_name="批发零售用地")) == "use_name"

    def test_several_uses_each_with_its_term_in_the_sites_words(self) -> None:
        from auction.domain.plan.parcels import UsePart
        uses = (UsePart("0701", 70, 1_500_000), UsePart("0507", 40, 500_000))
        p = parcel(uses=uses)
        check_parcel(p)
        assert p.term_text == "城镇住宅用地70年; 其他商服用地40年;"
        assert parcel().term_text == "70"
        assert Parcel.from_dict(json.loads(json.dumps(p.to_dict()))) == p
        assert invalid_field(parcel(uses=(UsePart("0701", 70),))) == "uses"  # one is not several
        assert invalid_field(parcel(uses=(UsePart("0507", 40), UsePart("0601", 50)))) == "uses"  # not its own use
        assert invalid_field(parcel(uses=(UsePart("0701", 70), UsePart("0507", 70)))) == "uses"  # past 40 years
        assert invalid_field(parcel(uses=(UsePart("0701", 70, AREA), UsePart("0507", 40, 1)))) == "uses"

    def test_unset_they_stay_out_of_stored_payloads(self) -> None:
        data = parcel().to_dict()
        assert "use_name" not in data and "uses" not in data
        assert Parcel.from_dict(data) == parcel()
