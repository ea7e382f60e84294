"""Console passwords: scrypt with its parameters in the stored form (auction/console/passwords.py)."""

from __future__ import annotations

import pytest

from auction.console.passwords import (
    DEFAULT_COST,
    ScryptCost,
    acceptable,
    hash_password,
    needs_rehash,
    random_password,
    verify_password,
)

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
    assert acceptable("short") is not None
    assert acceptable("twelve chars") is None
    assert acceptable("x" * 1025) is not None
    assert acceptable(random_password()) is None
