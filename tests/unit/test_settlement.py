"""Settlement figures (Q40-Q41), exact in fen: the city's share rounded down, the odd fen to the district."""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction.domain.codes import Code
from auction.domain.money import MAX_AMOUNT_FEN
from auction.domain.deposit.settlement import (
    Deduction,
    DeductionKind,
    Regime,
    settle_q40,
    settle_q41,
    split_down,
)

from .driving import refused

PRICE = 8_650_000_000  # 8,650 万元 in fen
ITEMS = [
    Deduction("国有土地收益基金", DeductionKind.NATIONAL_FUND, 259_500_000),
    Deduction("省级专项资金", DeductionKind.PROVINCIAL_FUND, 86_500_000),
    Deduction("市级专项资金", DeductionKind.CITY_FUND, 43_250_000),
    Deduction("区级专项资金", DeductionKind.DISTRICT_FUND, 43_250_000),
    Deduction("土地储备成本", DeductionKind.LAND_COST, 3_100_000_000),
    Deduction("财务运行成本", DeductionKind.LAND_COST, 100_000_001),
]


class TestQ40Q41Settlement:
    def test_q40_net_split_4_to_6(self) -> None:
        s = settle_q40(PRICE, ITEMS)
        # funds 259,500,000 + 86,500,000 + 43,250,000 + 43,250,000 = 432,500,000
        # costs 3,100,000,000 + 100,000,001 = 3,200,000,001
        # net   8,650,000,000 - 432,500,000 - 3,200,000,001 = 5,017,499,999
        # city  floor(5,017,499,999 x 4 / 10) = floor(2,006,999,999.6) = 2,006,999,999
        # district 5,017,499,999 - 2,006,999,999 = 3,010,500,000 (took the 0.6 fen)
        assert (s.regime, s.special_funds, s.costs, s.net) == (Regime.Q40_NET_SPLIT, 432_500_000, 3_200_000_001, 5_017_499_999)
        assert (s.city_share, s.district_share) == (2_006_999_999, 3_010_500_000)
        # the district-level fund goes on to the district in full
        assert s.district_funds == 43_250_000
        assert s.district_total == 3_053_750_000
        assert s.special_funds + s.costs + s.city_share + s.district_share == PRICE
        assert s.to_dict()["district_total"] == 3_053_750_000

    @pytest.mark.parametrize(
        ("net", "city", "district"),
        [
            (10, 4, 6),
            (1, 0, 1),  # 0.4 fen: the city gets 0, the district the fen
            (3, 1, 2),  # city 1.2 -> 1
            (15, 6, 9),  # city 6.0 exactly
            (17, 6, 11),  # city 6.8 -> 6: the odd fen goes to the district
            (0, 0, 0),
        ],
    )
    def test_q40_odd_fen_go_to_the_district(self, net: int, city: int, district: int) -> None:
        items = [Deduction("土地储备成本", DeductionKind.LAND_COST, 1_000 - net)] if net < 1_000 else []
        s = settle_q40(1_000, items)
        assert (s.net, s.city_share, s.district_share) == (net, city, district)

    def test_q40_deductions_larger_than_the_price_are_refused(self) -> None:
        refused(Code.Q40_DEDUCTIONS_EXCEED_PRICE, settle_q40, 100, [Deduction("成本", DeductionKind.LAND_COST, 101)])

    @pytest.mark.parametrize(
        "item",
        [
            Deduction("", DeductionKind.LAND_COST, 1),
            Deduction("成本", DeductionKind.LAND_COST, 0),
            Deduction("成本", DeductionKind.LAND_COST, -1),
            Deduction("成本", DeductionKind.LAND_COST, 1.5),  # type: ignore[arg-type]
            Deduction("成本", "LAND_COST", 1),  # type: ignore[arg-type]
        ],
    )
    def test_q40_bad_items_are_refused(self, item: Deduction) -> None:
        refused(Code.SETTLEMENT_INVALID_ITEM, settle_q40, PRICE, [item])

    @pytest.mark.parametrize("price", [0, -1, 1.0, True, MAX_AMOUNT_FEN + 1])
    def test_the_price_is_whole_fen(self, price: object) -> None:
        refused(Code.INVALID_AMOUNT, settle_q40, price, [])
        refused(Code.INVALID_AMOUNT, settle_q41, price, land_use_code="0701")

    def test_q41_15_percent_of_the_total_price(self) -> None:
        # The winner's deposit is already inside the total (含转为价款的竞买保证金): nothing is added.
        s = settle_q41(1_000_000_007, land_use_code="0701")
        # 1,000,000,007 x 15% = 150,000,001.05 -> 150,000,001 to the city; the rest to the district
        assert (s.regime, s.city_share, s.district_share) == (Regime.Q41_PRE_REFORM_STORED, 150_000_001, 850_000_006)
        assert (s.special_funds, s.costs, s.district_funds, s.net) == (0, 0, 0, 1_000_000_007)
        assert settle_q41(PRICE, land_use_code="0501").city_share == 1_297_500_000

    @pytest.mark.parametrize("use", ["0601", "0604", "", "0", "1001"])
    def test_q41_only_for_commercial_and_residential_land(self, use: str) -> None:
        refused(Code.Q41_NOT_COMMERCIAL_OR_RESIDENTIAL, settle_q41, PRICE, land_use_code=use)

    @settings(max_examples=200, deadline=None)
    @given(
        price=st.integers(1, MAX_AMOUNT_FEN),
        parts=st.lists(st.tuples(st.sampled_from(list(DeductionKind)), st.integers(1, 10**12)), max_size=6),
    )
    def test_every_fen_is_accounted_for(self, price: int, parts: list[tuple[DeductionKind, int]]) -> None:
        items = [Deduction(f"item{i}", kind, amount) for i, (kind, amount) in enumerate(parts)]
        if sum(a for _, a in parts) > price:
            refused(Code.Q40_DEDUCTIONS_EXCEED_PRICE, settle_q40, price, items)
            return
        s = settle_q40(price, items)
        assert s.special_funds + s.costs + s.city_share + s.district_share == price
        assert 0 <= s.net * 4 - s.city_share * 10 < 10  # the city's 4/10, rounded down by under a fen
        q41 = settle_q41(price, land_use_code="0701")
        assert q41.city_share + q41.district_share == price
        assert 0 <= price * 15 - q41.city_share * 100 < 100

    def test_split_down(self) -> None:
        assert split_down(7, 4, 10) == (2, 5)
        assert split_down(100, 15, 100) == (15, 85)
