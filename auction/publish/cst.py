"""Instants (µs UTC) as people in China read them: ISO 8601 at +08:00, and 2026年10月20日."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")  # China Standard Time, no daylight saving since 1991


def cst(micros: int) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)).astimezone(CHINA)


def iso_cst(micros: int | None) -> str | None:
    return None if micros is None else cst(micros).isoformat()


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_time(micros: int) -> str:
    t = cst(micros)
    return f"{chinese_date(t.date())} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
