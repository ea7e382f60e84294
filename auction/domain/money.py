"""Money is an integer number of fen (分). 1 万元 = 10,000 元 = 1,000,000 fen.

Nothing here uses floats: a float cannot hold every fen of a land price.
"""

from __future__ import annotations

import re

FEN_PER_YUAN = 100
FEN_PER_WAN = 1_000_000

# 10^15 fen = 10 trillion yuan: far above any land price, far below bigint.
MAX_AMOUNT_FEN = 10**15


def is_valid_amount(value: object) -> bool:
    """A positive whole number of fen within the system limit (bool is not a number here)."""
    return type(value) is int and 0 < value <= MAX_AMOUNT_FEN


# An amount as people type it in 万元: ASCII digits, an optional point and up to 6 decimals (1 fen).
# No sign, no exponent ('1e4' is not 10,000 万元), no full-width digits (\d would take '８').
PLAIN_WAN = re.compile(r"([0-9]{1,10})(?:\.([0-9]*))?")


def fen_of_wan_text(text: str) -> int | None:
    """'8050.5' (万元) -> 8_050_500_000 fen exactly; None for anything but a plain decimal
    of at most 6 decimals (the caller says why in its own words)."""
    found = PLAIN_WAN.fullmatch(text)
    if found is None or len(found.group(2) or "") > 6:
        return None
    return int(found.group(1)) * FEN_PER_WAN + int((found.group(2) or "").ljust(6, "0"))


def wan_number(fen: int) -> str:
    """Exact 万元 without the unit, e.g. 1_000_000 fen -> '1', 123456789 fen -> '123.456789'.

    Six decimals of 万元 are exactly the fen, so nothing is rounded away.
    """
    sign = "-" if fen < 0 else ""
    whole, rest = divmod(abs(fen), FEN_PER_WAN)
    if rest == 0:
        return f"{sign}{whole}"
    decimals = f"{rest:06d}".rstrip("0")
    return f"{sign}{whole}.{decimals}"


def format_wan(fen: int) -> str:
    """Exact amount in 万元, e.g. 123456789 fen -> '123.456789 万元'."""
    return f"{wan_number(fen)} 万元"


def format_fen(fen: int) -> str:
    """The exact fen with thousands separators, e.g. 4_600_500_000 -> '4,600,500,000 分'."""
    return f"{fen:,} 分"


def format_wan_fen(fen: int) -> str:
    """万元 with the exact fen beside it, e.g. '800 万元（800,000,000 分）'."""
    return f"{format_wan(fen)}（{format_fen(fen)}）"


def format_yuan(fen: int) -> str:
    """Exact amount in 元 with thousands separators, e.g. '1,234,567.89 元'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d} 元"


def percent_ceil(fen: int, percent: int) -> int:
    """The smallest whole fen that is at least `percent`% of `fen` (for Q31's 20% floor)."""
    return -((-fen * percent) // 100)
