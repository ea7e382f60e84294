"""The unified social credit code's check character (GB 32100-2015), and the phone check."""

from __future__ import annotations

import pytest

from auction.domain.companies import (
    USCC_ALPHABET,
    USCC_WEIGHTS,
    is_valid_phone,
    is_valid_uscc,
    normalize_uscc,
    uscc_check_char,
)

# Codes of real, publicly registered companies (their business licences are public).
REAL = [
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
]


def test_the_weights_are_powers_of_three_mod_31() -> None:
    assert USCC_WEIGHTS[:6] == (1, 3, 9, 27, 19, 26)
    assert len(USCC_WEIGHTS) == 17 and len(USCC_ALPHABET) == 31
    assert not set("IOZSV") & set(USCC_ALPHABET)


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL)
def test_every_one_character_change_is_caught(code: str) -> None:
    """Any single character replaced by another of the alphabet breaks the check
    (the weights are all non-zero mod the prime 31)."""
    for i in range(18):
        for c in USCC_ALPHABET:
            if c != code[i]:
                changed = code[:i] + c + code[i + 1:]
                assert not is_valid_uscc(changed), changed


@pytest.mark.parametrize("code", [
    "914403001922038217",  # Huawei's, last character off by one
    "9144030071526726XH",  # Tencent's, check character off
    "91330100716105853F",  # Alibaba's, a digit of the organisation code off
    "91110000802100433",  # 17 characters
    "91110000802100433BB",  # 19
    "9111000080210043IB",  # I is not in the alphabet
    "91A10000802100433B",  # the division code is six digits
    "",
])
def test_invalid_codes(code: str) -> None:
    assert not is_valid_uscc(code)


def test_adjacent_swaps_are_caught() -> None:
    code = REAL[0]
    for i in range(17):
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
        if swapped != code:
            assert not is_valid_uscc(swapped), swapped


def test_normalize() -> None:
    assert normalize_uscc(" 9144 0300 7152 6726 xg ") == "9144030071526726XG"
    assert is_valid_uscc(normalize_uscc("9144030071526726xg"))


def test_check_char_wants_17_alphabet_characters() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("91440300715267")
    with pytest.raises(ValueError):
        uscc_check_char("9144030071526726O")


@pytest.mark.parametrize("phone, ok", [
    ("13812345678", True), ("0874-3123456", True), ("08743123456", True), ("010-12345678", True),
    ("0874-3123456-801", True), ("12812345678", False), ("1381234567", False), ("3123456", False),
    ("+8613812345678", False), ("abc", False),
])
def test_phone(phone: str, ok: bool) -> None:
    assert is_valid_phone(phone) is ok
