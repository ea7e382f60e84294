"""Dates and times as the house writes them (auction/domain/china.py): 2026年12月06日,
zero-padded, in China Standard Time; the ISO forms stay for machines."""

from __future__ import annotations

from datetime import date

from auction.domain.china import chinese_date, chinese_minute, chinese_time, iso_cst
from tests.unit.beijing import cst as beijing


def test_dates_are_zero_padded() -> None:
    assert chinese_date(date(2026, 12, 7)) == "2026年12月07日"
    assert chinese_date(date(2027, 1, 4)) == "2027年01月04日"


def test_times_are_china_standard_time_beside_the_date() -> None:
    at = beijing(2026, 12, 7, 11, 53, 11)
    assert chinese_time(at) == "2026年12月07日 11:53:11"
    assert chinese_time(at, seconds=False) == "2026年12月07日 11:53"
    assert chinese_minute(at) == "2026年12月07日 11时53分11秒"  # a deadline off the minute keeps its seconds
    assert chinese_minute(beijing(2026, 12, 7, 16, 0)) == "2026年12月07日 16时00分"
    assert iso_cst(at) == "2026-12-07T11:53:11+08:00"  # what the APIs keep


def test_the_date_is_the_china_date_not_the_utc_one() -> None:
    assert chinese_time(beijing(2026, 12, 7, 0, 30)) == "2026年12月07日 00:30:00"  # 16:30 UTC the day before
