"""Console passwords: scrypt with its parameters in the stored form (auction/staff/passwords.py)."""

from __future__ import annotations

import pytest

from auction.staff.passwords import (
    DEFAULT_COST,
    ScryptCost,
    acceptable,
    common_passwords,
    hash_password,
    needs_rehash,
    random_password,
    verify_password,
)
from auction.domain.codes import MESSAGES, Code

CHEAP = ScryptCost(n=2**10, r=8, p=1)  # fast for tests; the format is the same


def test_a_hash_verifies_its_password_and_nothing_else() -> None:
    stored = hash_password("correct horse battery", CHEAP)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("same password here", CHEAP) != hash_password("same password here", CHEAP)


def test_the_default_cost_is_memory_hard() -> None:
    assert DEFAULT_COST.n * DEFAULT_COST.r * 128 >= 32 * 1024 * 1024  # 32 MiB per guess
    stored = hash_password("默认参数的密码也可以是中文", DEFAULT_COST)
    assert verify_password("默认参数的密码也可以是中文", stored)
    assert not needs_rehash(stored)
    assert needs_rehash(hash_password("x" * 12, CHEAP))


@pytest.mark.parametrize("broken", ["", "plain", "scrypt$1024$8$1$xx", "scrypt$1000$8$1$AAAA$AAAA",
                                    "bcrypt$1024$8$1$AAAA$AAAA", "scrypt$1024$8$1$!!!$AAAA",
                                    "scrypt$2097152$8$1$AAAA$AAAA"])
def test_a_malformed_or_foreign_hash_never_verifies(broken: str) -> None:
    assert not verify_password("anything", broken)
    assert needs_rehash(broken)


def test_acceptable_passwords() -> None:
    assert acceptable("short") is Code.PASSWORD_TOO_SHORT
    assert acceptable("twelve chars") is None
    assert acceptable("x" * 1025) is Code.PASSWORD_TOO_LONG
    assert acceptable(random_password()) is None


def test_the_common_password_list_ships_with_the_package() -> None:
    common = common_passwords()
    assert len(common) > 19_000
    assert {"password", "123456", "qwertyuiop", "iloveyou", "#1bitch"} <= common  # "#..." is a password, not a comment
    assert not any(line.startswith("# Common passwords") for line in common)  # the header is not


@pytest.mark.parametrize("password", [
    "password1234", "Password2024!", "QWERTYUIOP123", "  iloveyou12345  ", "123456789012", "1q2w3e4r5t6y",
    "passwordpassword", "aaaaaaaaaaaa", "abcabcabcabc", "!!dragon!!2020", "monkeymonkeymonkey1",
])
def test_common_passwords_and_their_easy_variants_are_refused(password: str) -> None:
    assert acceptable(password) is Code.PASSWORD_TOO_COMMON


@pytest.mark.parametrize("password", [
    "operator-password-1234", "correct horse battery", "默认参数的密码也可以是中文", "Tq8-vmZ2-kLw9-xR4",
    "dragon-fly-over-lake", "qwerty cat jumps",
])
def test_uncommon_passwords_pass(password: str) -> None:
    assert acceptable(password) is None


def test_every_refusal_has_a_message_in_chinese_and_english() -> None:
    for code in (Code.PASSWORD_TOO_SHORT, Code.PASSWORD_TOO_LONG, Code.PASSWORD_TOO_COMMON):
        chinese, english = MESSAGES[code].split(" / ")
        assert "密码" in chinese and "password" in english.lower()
