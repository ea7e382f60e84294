"""Money is whole fen; shown in 万元 or 元 exactly, never through a float."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction.domain.money import (
    FEN_PER_WAN,
    MAX_AMOUNT_FEN,
    fen_of_wan_text,
    format_fen,
    format_wan,
    format_wan_fen,
    format_yuan,
    is_valid_amount,
    percent_ceil,
)


class TestFormatWan:
    @pytest.mark.parametrize(
        ("fen", "text"),
        [
            (123_456_789, "123.456789 万元"),
            (1_000_000, "1 万元"),
            (0, "0 万元"),
            (1, "0.000001 万元"),
            (10, "0.00001 万元"),
            (1_500_000, "1.5 万元"),
            (100_000_000, "100 万元"),
            (100_000_001, "100.000001 万元"),
            (-1_500_000, "-1.5 万元"),
            (-1, "-0.000001 万元"),
            (MAX_AMOUNT_FEN, "1000000000 万元"),
            (MAX_AMOUNT_FEN - 1, "999999999.999999 万元"),
        ],
    )
    def test_exact(self, fen: int, text: str) -> None:
        assert format_wan(fen) == text

    @settings(max_examples=200, deadline=None)
    @given(st.integers(min_value=-MAX_AMOUNT_FEN, max_value=MAX_AMOUNT_FEN))
    def test_nothing_is_rounded_away(self, fen: int) -> None:
        text = format_wan(fen)
        number, unit = text.split(" ")
        assert unit == "万元"
        assert Fraction(number) * FEN_PER_WAN == fen
        assert not number.endswith(".") and not ("." in number and number.endswith("0"))


class TestFormatYuan:
    @pytest.mark.parametrize(
        ("fen", "text"),
        [
            (123_456_789, "1,234,567.89 元"),
            (0, "0.00 元"),
            (5, "0.05 元"),
            (100, "1.00 元"),
            (-123_456_789, "-1,234,567.89 元"),
        ],
    )
    def test_exact(self, fen: int, text: str) -> None:
        assert format_yuan(fen) == text


class TestPercentCeil:
    @pytest.mark.parametrize(
        ("fen", "percent", "expected"),
        [
            (100, 20, 20),
            (101, 20, 21),  # 20.2 fen -> 21: the floor is never under 20%
            (104, 20, 21),  # 20.8 -> 21
            (105, 20, 21),  # exactly 21
            (1, 20, 1),
            (0, 20, 0),
            (100_000_000, 20, 20_000_000),
            (100_000_001, 20, 20_000_001),
            (3, 33, 1),  # 0.99 -> 1
            (7, 100, 7),
        ],
    )
    def test_values(self, fen: int, percent: int, expected: int) -> None:
        assert percent_ceil(fen, percent) == expected

    @settings(max_examples=200, deadline=None)
    @given(st.integers(min_value=0, max_value=MAX_AMOUNT_FEN), st.integers(min_value=0, max_value=100))
    def test_is_the_smallest_whole_fen_at_least_the_share(self, fen: int, percent: int) -> None:
        result = percent_ceil(fen, percent)
        assert isinstance(result, int)
        assert result * 100 >= fen * percent
        assert (result - 1) * 100 < fen * percent


class TestIsValidAmount:
    @pytest.mark.parametrize("value", [1, 100, MAX_AMOUNT_FEN])
    def test_valid(self, value: int) -> None:
        assert is_valid_amount(value)

    @pytest.mark.parametrize("value", [0, -1, MAX_AMOUNT_FEN + 1, 1.0, True, False, "100", None, Fraction(1)])
    def test_invalid(self, value: object) -> None:
        assert not is_valid_amount(value)


@pytest.mark.parametrize(("text", "fen"), [("8050", 8_050_000_000), ("8050.5", 8_050_500_000), ("0.000001", 1),
                                           ("1e4", None), ("-1", None), ("１２", None), ("1.0000001", None),
                                           ("1,000", None), ("", None), (".5", None)])
def test_fen_of_wan_text_reads_plain_decimals_only(text: str, fen: int | None) -> None:
    assert fen_of_wan_text(text) == fen


def test_the_exact_fen_is_written_with_separators_beside_the_wan() -> None:
    assert format_fen(4_600_500_000) == "4,600,500,000 分"
    assert format_wan_fen(800_000_000) == "800 万元（800,000,000 分）"
    assert format_wan_fen(4_500_123_456) == "4500.123456 万元（4,500,123,456 分）"
