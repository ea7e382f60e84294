"""China Standard Time (北京时间), the one place: the offset, instants (integer µs since
the Unix epoch, UTC) as people in China read them, and their calendar dates.

CST is UTC+8 with no daylight saving since 1991, so a fixed offset is exact for every
instant the system records (and needs no time-zone database). Amounts are in
`auction.domain.money` (万元 and 元, exact to the fen).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from auction.domain.bidding.terms import HOUR

CST_OFFSET = 8 * HOUR  # µs
CST = timezone(timedelta(hours=8), "CST")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_cst(micros: int) -> datetime:
    """An instant as an aware datetime at +08:00, exact to the µs."""
    return (_EPOCH + timedelta(microseconds=micros)).astimezone(CST)


def china_date(at: int) -> date:
    """The China Standard Time calendar date of an instant."""
    return to_cst(at).date()


def iso_cst(micros: int | None) -> str | None:
    """'2026-11-29T14:00:00.123456+08:00' (µs shown when there are any); None stays None."""
    return None if micros is None else to_cst(micros).isoformat()


def iso_cst_seconds(micros: int) -> str:
    """'2026-11-29T14:00:00+08:00': whole seconds, as the China Land Market website shows times."""
    return to_cst(micros).isoformat(timespec="seconds")


def cst_text(micros: int, seconds: bool = True) -> str:
    """'2026-11-29 14:00:00' (or '2026-11-29 14:00'), as the console shows times."""
    return to_cst(micros).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def chinese_date(day: date) -> str:
    """'2026年12月06日': the house's one way to write a date (pages and documents alike)."""
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def chinese_time(micros: int, seconds: bool = True) -> str:
    """'2026年12月06日 09:30:00' (or '… 09:30') in CST: a time beside its date as people read it."""
    t = to_cst(micros)
    clock = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}" if seconds else f"{t.hour:02d}:{t.minute:02d}"
    return f"{chinese_date(t.date())} {clock}"


def chinese_minute(micros: int) -> str:
    """'2026年12月06日 16时00分' in CST: a deadline as a bidder's notice states it; one that is not
    on a whole minute keeps its seconds ('… 16时00分30秒'), so that no bidder reads it as earlier."""
    t = to_cst(micros)
    seconds = f"{t.second:02d}秒" if t.second or t.microsecond else ""
    return f"{chinese_date(t.date())} {t.hour:02d}时{t.minute:02d}分{seconds}"
