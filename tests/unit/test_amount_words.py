"""大写金额: fen in Chinese capital numerals, as the bid confirmation shows them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auction.domain.amount_words import fen_to_capital, yuan_to_capital
from auction.domain.money import FEN_PER_WAN, MAX_AMOUNT_FEN

YUAN = 100
DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def parse_capital(text: str) -> int:
    """An independent reader of the capital form back to fen (a different algorithm
    from the writer: accumulate by unit rather than by groups of four digits)."""
    assert text, "empty"
    if text.endswith("整"):
        text = text[:-1]
    yuan_text, _, cents_text = text.partition("元") if "元" in text else ("", "", text)
    total = yi = wan = section = digit = 0
    for ch in yuan_text:
        if ch in DIGITS:
            digit = DIGITS.index(ch)
        elif ch in SMALL:
            section += digit * SMALL[ch]
            digit = 0
        elif ch == "万":
            wan += (section + digit) * 10_000
            section = digit = 0
        elif ch == "亿":
            yi = (yi + wan + section + digit) * 100_000_000
            wan = section = digit = 0
        else:
            raise AssertionError(f"unexpected {ch!r} in {text!r}")
    total = yi + wan + section + digit
    cents = 0
    digit = 0
    for ch in cents_text:
        if ch in DIGITS:
            digit = DIGITS.index(ch)
        elif ch == "角":
            cents += digit * 10
            digit = 0
        elif ch == "分":
            cents += digit
            digit = 0
        else:
            raise AssertionError(f"unexpected {ch!r} in {text!r}")
    return total * YUAN + cents


class TestKnownAmounts:
    @pytest.mark.parametrize(
        ("fen", "words"),
        [
            (8050 * FEN_PER_WAN, "捌仟零伍拾万元整"),  # the example: 8050 万元
            (8000 * FEN_PER_WAN, "捌仟万元整"),
            (8100 * FEN_PER_WAN, "捌仟壹佰万元整"),
            (101 * FEN_PER_WAN + 1, "壹佰零壹万元零壹分"),
            (0, "零元整"),
            (1, "壹分"),
            (10, "壹角整"),
            (12, "壹角贰分"),
            (100, "壹元整"),
            (1000, "壹拾元整"),
            (1_500_000 * YUAN, "壹佰伍拾万元整"),
            # 支付结算办法's own examples
            (1_680_32, "壹仟陆佰捌拾元叁角贰分"),
            (325_04, "叁佰贰拾伍元零肆分"),
            (1_409_50, "壹仟肆佰零玖元伍角整"),
            (6_007_14, "陆仟零柒元壹角肆分"),
            (107_000_53, "壹拾万柒仟元伍角叁分"),
            # zeros between and across groups of four digits
            (10_001 * YUAN, "壹万零壹元整"),
            (10_100 * YUAN, "壹万零壹佰元整"),
            (101_000 * YUAN, "壹拾万壹仟元整"),
            (10_000_005 * YUAN, "壹仟万零伍元整"),
            (100_000_001 * YUAN, "壹亿零壹元整"),
            (100_100_000 * YUAN, "壹亿零壹拾万元整"),
            (110_000_000 * YUAN, "壹亿壹仟万元整"),
            (123_456_789 * YUAN, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元整"),
            (1_000_000_000_000 * YUAN, "壹万亿元整"),
            (1_000_000_000_001 * YUAN, "壹万亿零壹元整"),
            (12_345_678_901_234 * YUAN, "壹拾贰万叁仟肆佰伍拾陆亿柒仟捌佰玖拾万壹仟贰佰叁拾肆元整"),
            (MAX_AMOUNT_FEN, "壹拾万亿元整"),
        ],
    )
    def test_words(self, fen: int, words: str) -> None:
        assert fen_to_capital(fen) == words
        assert parse_capital(words) == fen

    def test_yuan_only(self) -> None:
        assert yuan_to_capital(0) == "零"
        assert yuan_to_capital(20_000) == "贰万"

    @pytest.mark.parametrize("bad", [-1, 10**16 * YUAN])  # beyond 9999万亿元
    def test_out_of_range(self, bad: int) -> None:
        with pytest.raises(ValueError):
            fen_to_capital(bad)

    def test_not_a_float(self) -> None:
        with pytest.raises(TypeError):
            fen_to_capital(1.0)  # type: ignore[arg-type]


class TestProperties:
    @given(st.integers(min_value=0, max_value=MAX_AMOUNT_FEN))
    def test_reads_back_to_the_same_fen(self, fen: int) -> None:
        assert parse_capital(fen_to_capital(fen)) == fen

    @given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
    def test_well_formed(self, fen: int) -> None:
        words = fen_to_capital(fen)
        assert "零零" not in words
        assert not words.startswith("零")
        for unit in ("零元", "零万", "零亿", "零角", "零整"):
            assert unit not in words
        assert words.endswith("整") == (fen % 10 == 0)
        assert set(words) <= set(DIGITS + "拾佰仟万亿元角分整")
