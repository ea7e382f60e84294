"""Deposit sub-account numbers (保证金子账号, RULES 3.4; P: Suzhou, random 13 digits).

Each application gets its own number, so the bank's report of a payment says
whose deposit it is. A number is 13 digits: a first digit 1-9 (a leading zero
would be lost wherever the number passes through a spreadsheet or an integer
column), 11 random digits, and a Luhn check digit (ISO/IEC 7812-1, the bank
card scheme): it catches every single mistyped digit and every swap of two
adjacent digits except 09 <-> 90, which is what a clerk keying the number into
a bank form gets wrong. 9 x 10^11 numbers: guessing a live one is hopeless.

The randomness comes in as `randbelow(n) -> int in [0, n)`; the shell passes
`secrets.randbelow`, tests pass a seeded `random.Random(...).randrange`.
Uniqueness is finally the database's (a unique index); `new_sub_account`
skips numbers it is told are taken, and the shell retries on a unique violation.
"""

from __future__ import annotations

from collections.abc import Callable, Container

SUB_ACCOUNT_DIGITS = 13
BODY_DIGITS = SUB_ACCOUNT_DIGITS - 1


def luhn_check_digit(body: str) -> str:
    """The Luhn digit that makes `body + digit` valid."""
    if not body.isascii() or not body.isdigit():
        raise ValueError(f"not digits: {body!r}")
    total = 0
    # Double every second digit counting leftwards from the check digit's position.
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_sub_account(number: object) -> bool:
    """13 ASCII digits, the first not 0, the last the Luhn check digit of the rest."""
    return (
        isinstance(number, str)
        and len(number) == SUB_ACCOUNT_DIGITS
        and number.isascii()
        and number.isdigit()
        and number[0] != "0"
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def new_sub_account(
    randbelow: Callable[[int], int], taken: Container[str] = frozenset(), attempts: int = 32
) -> str:
    """A fresh sub-account number not in `taken` (raises RuntimeError after `attempts` clashes)."""
    for _ in range(attempts):
        first = 1 + randbelow(9)
        rest = randbelow(10 ** (BODY_DIGITS - 1))
        body = f"{first}{rest:0{BODY_DIGITS - 1}d}"
        number = body + luhn_check_digit(body)
        if number not in taken:
            return number
    raise RuntimeError(f"no free sub-account number after {attempts} attempts")
