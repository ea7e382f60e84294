"""Planning limits as real announcements state them: a range with open or closed ends, in the
site's words (`大于1并且小于或等于2.2`, `大于或等于30`, `小于或等于20`, `大于或等于30并且小于54`).

Pure. Values are whole units of a fixed scale (hundredths of a plot ratio, basis points of a
percentage, centimetres of a height); the words write the number without trailing zeros.
"""

from __future__ import annotations


def plain(value: int, places: int) -> str:
    """250 (2 places) -> '2.5'; 3000 -> '30'; never exponent form, never rounded."""
    whole, rest = divmod(value, 10**places)
    decimals = f"{rest:0{places}d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def range_text(low: int | None, high: int | None, *, places: int, low_open: bool = False,
               high_open: bool = False) -> str:
    """The range in the site's words; '' when neither end is set. An open end excludes its value
    (大于, 小于), a closed one includes it (大于或等于, 小于或等于)."""
    parts = []
    if low is not None:
        parts.append(("大于" if low_open else "大于或等于") + plain(low, places))
    if high is not None:
        parts.append(("小于" if high_open else "小于或等于") + plain(high, places))
    return "并且".join(parts)


def contains(value: int, low: int | None, high: int | None, *, low_open: bool = False,
             high_open: bool = False) -> bool:
    """Whether a value lies in the range."""
    if low is not None and (value < low or (low_open and value == low)):
        return False
    return high is None or not (value > high or (high_open and value == high))
