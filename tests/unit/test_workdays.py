"""Working days (RULES 9) on the State Council's real schedule.

The 2025 and 2026 calendars are built from the installed `chinese_calendar`
package (the test may import it; the domain may not). The expected dates are
counted by hand from the 2026 notice (国务院办公厅关于2026年部分节假日安排的通知,
as chinese_calendar 1.11 carries it) and written out:

    2026-09-20 Sun   make-up working day (for National Day)
    2026-09-25 Fri - 09-27 Sun   Mid-Autumn holiday
    2026-10-01 Thu - 10-07 Wed   National Day holiday
    2026-10-10 Sat   make-up working day
    2026-01-01 Thu - 01-03 Sat   New Year; 2026-01-04 Sun make-up working day
    2026-02-15 Sun - 02-23 Mon   Spring Festival; 02-14 Sat and 02-28 Sat make-up working days
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import chinese_calendar  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction.domain.codes import Code, Rejected
from auction.domain.clock.workdays import (
    CalendarYear,
    CalendarYearMissing,
    WorkCalendar,
    add_working_days,
    build_calendar,
    calendar_year,
    end_of_day,
    parse_year_file,
    start_of_day,
    working_days_between,
)

SOURCES = {
    year: f"国务院办公厅关于{year}年部分节假日安排的通知 (chinese_calendar {chinese_calendar.__version__})"
    for year in (2025, 2026)
}


def official_year(year: int) -> CalendarYear:
    """One year of the official schedule, as the shell loads it from `chinese_calendar`."""
    return calendar_year(
        year,
        (d for d in chinese_calendar.holidays if d.year == year),
        (d for d in chinese_calendar.workdays if d.year == year),
        SOURCES[year],
    )


def official_calendar(*years: int) -> WorkCalendar:
    calendar = WorkCalendar()
    for year in years or (2025, 2026):
        calendar = calendar.with_year(official_year(year))
    return calendar


# The 2027 statutory holidays (全国年节及纪念日放假办法 as amended in 2024), counted by
# hand: 除夕 is Feb 5 (lunar New Year Feb 6), Qingming Apr 5, 端午 (lunar 5/5) Jun 9,
# 中秋 (lunar 8/15) Sep 15. tests/unit/test_calendar_data.py checks them against lunardate.
STATUTORY_2027 = [
    "2027-01-01",  # 元旦 Fri
    "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08",  # 春节: 除夕 Fri, 初一 Sat .. 初三 Mon
    "2027-04-05",  # 清明 Mon
    "2027-05-01", "2027-05-02",  # 劳动节 Sat, Sun
    "2027-06-09",  # 端午 Wed
    "2027-09-15",  # 中秋 Wed
    "2027-10-01", "2027-10-02", "2027-10-03",  # 国庆 Fri, Sat, Sun
]

# A 2027 year file as an operator would load it. NOT the official 2027 schedule
# (unpublished when this was written): the statutory days with New Year's Jan 1-3
# off and no make-up day, enough to test loading.
TEST_2027_FILE = json.dumps(
    {
        "year": 2027,
        "source": "测试用 / test data, not a State Council notice",
        "holidays": sorted({"2027-01-02", "2027-01-03", *STATUTORY_2027}),
        "workdays": [],
    },
    ensure_ascii=False,
    indent=1,
)

CAL = official_calendar()


def us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


class TestRule9WorkingDays:
    @pytest.mark.parametrize(
        ("close", "days", "due"),
        [
            # Close Wed 2026-09-30. 10-01..10-07 holiday; 10-08 Thu (1), 10-09 Fri (2),
            # 10-10 Sat make-up working day (3).
            pytest.param(date(2026, 9, 30), 3, date(2026, 10, 10), id="3_after_a_close_before_national_day"),
            # 10-08 (1), 10-09 (2), 10-10 Sat make-up (3), 10-11 Sun no, 10-12 Mon (4),
            # 10-13 (5), 10-14 (6), 10-15 (7), 10-16 Fri (8), 10-17/18 weekend,
            # 10-19 Mon (9), 10-20 Tue (10).
            pytest.param(date(2026, 9, 30), 10, date(2026, 10, 20), id="10_after_a_close_before_national_day"),
            # Close Fri 2026-09-18: 09-19 Sat no, 09-20 Sun make-up (1), 09-21 Mon (2), 09-22 Tue (3).
            pytest.param(date(2026, 9, 18), 3, date(2026, 9, 22), id="a_make_up_sunday_counts"),
            # Close Thu 2026-09-24: 09-25 Fri holiday, 09-26/27 holiday (weekend),
            # 09-28 Mon (1), 09-29 (2), 09-30 (3); then 10-01..07 holiday, 10-08 (4), 10-09 (5).
            pytest.param(date(2026, 9, 24), 3, date(2026, 9, 30), id="up_to_mid_autumn"),
            pytest.param(date(2026, 9, 24), 5, date(2026, 10, 9), id="across_mid_autumn"),
            # Close Fri 2026-02-13: 02-14 Sat make-up (1), 02-15..02-23 holiday, 02-24 Tue (2),
            # 02-25 (3), 02-26 (4), 02-27 (5), 02-28 Sat make-up (6), 03-01 Sun no,
            # 03-02 Mon (7), 03-03 (8), 03-04 (9), 03-05 Thu (10).
            pytest.param(date(2026, 2, 13), 10, date(2026, 3, 5), id="across_spring_festival"),
            # Close Tue 2025-12-30: 12-31 Wed (1), 2026-01-01..03 holiday,
            # 01-04 Sun make-up (2), 01-05 Mon (3).
            pytest.param(date(2025, 12, 30), 3, date(2026, 1, 5), id="across_the_new_year"),
        ],
    )
    def test_working_days_after_a_close(self, close: date, days: int, due: date) -> None:
        assert add_working_days(CAL, close, days) == due

    def test_a_missing_year_is_an_answer_not_a_guess(self) -> None:
        only_2025 = official_calendar(2025)
        assert add_working_days(only_2025, date(2025, 12, 30), 1) == date(2025, 12, 31)
        assert add_working_days(only_2025, date(2025, 12, 30), 2) == CalendarYearMissing(2026)
        # 2026-12-28 Mon: 12-29 (1), 12-30 (2), 12-31 (3), then 2027 is needed.
        assert add_working_days(CAL, date(2026, 12, 28), 3) == date(2026, 12, 31)
        assert add_working_days(CAL, date(2026, 12, 28), 4) == CalendarYearMissing(2027)

    def test_a_loaded_year_answers(self) -> None:
        calendar = CAL.with_year(parse_year_file(TEST_2027_FILE))
        # 12-29 (1), 12-30 (2), 12-31 (3), 2027-01-01..03 holiday (test file),
        # 01-04 Mon (4), 01-05 (5), 01-06 (6), 01-07 (7), 01-08 Fri (8), 01-11 Mon (9), 01-12 Tue (10).
        assert add_working_days(calendar, date(2026, 12, 28), 10) == date(2027, 1, 12)
        assert calendar.loaded_years == frozenset({2025, 2026, 2027})

    def test_the_start_day_never_counts(self) -> None:
        # Mon 2026-10-12 is a working day; 1 working day after it is Tue 10-13.
        assert add_working_days(CAL, date(2026, 10, 12), 1) == date(2026, 10, 13)
        # A close on a holiday (Sat 2026-10-03): the first working day after is Thu 10-08.
        assert add_working_days(CAL, date(2026, 10, 3), 1) == date(2026, 10, 8)
        assert add_working_days(CAL, date(2026, 10, 3), 0) == date(2026, 10, 3)
        # The start day's own year need not be loaded: it does not count.
        assert add_working_days(official_calendar(2026), date(2025, 12, 31), 1) == date(2026, 1, 4)

    def test_negative_counts_are_a_programming_error(self) -> None:
        with pytest.raises(ValueError):
            add_working_days(CAL, date(2026, 9, 30), -1)

    @pytest.mark.parametrize(
        ("day", "working"),
        [
            (date(2026, 10, 10), True),  # Sat, make-up
            (date(2026, 9, 20), True),  # Sun, make-up
            (date(2026, 10, 1), False),  # Thu, National Day
            (date(2026, 9, 25), False),  # Fri, Mid-Autumn
            (date(2026, 10, 11), False),  # ordinary Sunday
            (date(2026, 10, 12), True),  # ordinary Monday
        ],
    )
    def test_is_working_day(self, day: date, working: bool) -> None:
        assert CAL.is_working_day(day) is working

    def test_is_working_day_in_a_missing_year(self) -> None:
        assert CAL.is_working_day(date(2027, 3, 1)) == CalendarYearMissing(2027)

    def test_working_days_between(self) -> None:
        assert working_days_between(CAL, date(2026, 9, 30), date(2026, 10, 20)) == 10
        assert working_days_between(CAL, date(2026, 10, 16), date(2026, 10, 20)) == 2  # 10-19, 10-20
        assert working_days_between(CAL, date(2026, 10, 20), date(2026, 10, 20)) == 0
        assert working_days_between(CAL, date(2026, 10, 21), date(2026, 10, 20)) == -1
        assert working_days_between(CAL, date(2026, 10, 20), date(2026, 9, 30)) == -10
        assert working_days_between(CAL, date(2026, 12, 30), date(2027, 1, 5)) == CalendarYearMissing(2027)

    def test_the_limit_ends_at_midnight_china_time(self) -> None:
        assert end_of_day(date(2026, 10, 10)) == us(datetime(2026, 10, 10, 15, 59, 59, 999_999, tzinfo=UTC))
        assert start_of_day(date(2026, 10, 16)) == us(datetime(2026, 10, 15, 16, 0, tzinfo=UTC))
        assert end_of_day(date(2026, 10, 10)) + 1 == start_of_day(date(2026, 10, 11))

    @settings(max_examples=200, deadline=None)
    @given(start=st.dates(date(2025, 1, 1), date(2026, 11, 30)), n=st.integers(0, 20))
    def test_agrees_with_chinese_calendar(self, start: date, n: int) -> None:
        end = add_working_days(CAL, start, n)
        assert isinstance(end, date)
        assert working_days_between(CAL, start, end) == n
        expected = start
        for _ in range(n):
            expected += timedelta(days=1)
            while not chinese_calendar.is_workday(expected):
                expected += timedelta(days=1)
        assert end == expected



def year_file(*, without: str | None = None, **changes: object) -> str:
    """A year file for 2027 that would be valid but for `changes` (and the key `without` left out)."""
    data: dict[str, object] = {"year": 2027, "source": "x", "holidays": [], "workdays": []} | changes
    if without is not None:
        del data[without]
    return json.dumps(data)

class TestYearFile:
    def test_a_year_file_round_trips(self) -> None:
        year = official_year(2026)
        text = json.dumps(year.to_dict(), ensure_ascii=False)
        assert parse_year_file(text) == year
        assert parse_year_file(text.encode("utf-8")) == year
        assert year.to_dict()["workdays"] == [
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        ]

    def test_build_from_plain_data(self) -> None:
        calendar = build_calendar({2027: {"holidays": ["2027-01-01", date(2027, 1, 2)], "workdays": []}}, "test")
        assert calendar.is_working_day(date(2027, 1, 1)) is False
        assert calendar.is_working_day(date(2027, 1, 4)) is True
        assert calendar.years[2027].source == "test"

    def test_repeats_are_dropped(self) -> None:
        year = parse_year_file(
            '{"year": 2027, "source": "x", "holidays": ["2027-01-01", "2027-01-01"], "workdays": []}'
        )
        assert year.holidays == frozenset({date(2027, 1, 1)})

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("not json", Code.CALENDAR_FILE_INVALID),
            ("[]", Code.CALENDAR_FILE_INVALID),
            (year_file(without="workdays"), Code.CALENDAR_FILE_INVALID),
            (year_file(extra=1), Code.CALENDAR_FILE_INVALID),
            (year_file(year="2027"), Code.CALENDAR_FILE_INVALID),
            (year_file(year=True), Code.CALENDAR_FILE_INVALID),
            (year_file(year=1999), Code.CALENDAR_YEAR_OUT_OF_RANGE),
            (year_file(year=2200), Code.CALENDAR_YEAR_OUT_OF_RANGE),
            (year_file(note=1), Code.CALENDAR_FILE_INVALID),
            (year_file(notice_date="x"), Code.CALENDAR_FILE_INVALID),
            (year_file(source=" "), Code.CALENDAR_FILE_INVALID),
            (year_file(holidays="2027-01-01"), Code.CALENDAR_FILE_INVALID),
            (year_file(holidays=["2027-1-1"]), Code.CALENDAR_FILE_INVALID),
            (year_file(holidays=["2027-02-30"]), Code.CALENDAR_FILE_INVALID),
            (year_file(holidays=[20270101]), Code.CALENDAR_FILE_INVALID),
            (year_file(holidays=["2026-12-31"]), Code.CALENDAR_DATE_OUTSIDE_YEAR),
            (year_file(workdays=["2028-01-01"]), Code.CALENDAR_DATE_OUTSIDE_YEAR),
            (year_file(holidays=["2027-01-02"], workdays=["2027-01-02"]), Code.CALENDAR_DATE_OVERLAP),
            # 2027-01-04 is a Monday: a make-up working day must be a weekend day.
            (year_file(workdays=["2027-01-04"]), Code.CALENDAR_WORKDAY_NOT_WEEKEND),
        ],
    )
    def test_bad_files_are_refused(self, text: str, code: Code) -> None:
        with pytest.raises(Rejected) as caught:
            parse_year_file(text)
        assert caught.value.code is code

    def test_the_refusal_names_the_dates(self) -> None:
        with pytest.raises(Rejected) as caught:
            parse_year_file('{"year": 2027, "source": "x", "holidays": ["2026-12-31", "2028-01-01"], "workdays": []}')
        assert caught.value.rejection.details["dates"] == ["2026-12-31", "2028-01-01"]

    @pytest.mark.parametrize(
        ("text", "code", "line"),
        [
            ('{\n "year": 2027,\n "source": "x",\n "holidays": [\n  "2027-01-01",\n  "2027-13-01"\n ],\n'
             ' "workdays": []\n}', Code.CALENDAR_FILE_INVALID, 6),
            ('{\n "year": 2027,\n "source": "x",\n "holidays": [],\n "workdays": [\n  "2027-01-04"\n ]\n}',
             Code.CALENDAR_WORKDAY_NOT_WEEKEND, 6),
            ('{\n "year": 2027,\n "source": "x",\n "holidays": [\n  "2026-12-31"\n ],\n "workdays": []\n}',
             Code.CALENDAR_DATE_OUTSIDE_YEAR, 5),
            ('{\n "source": "x",\n "year": 1999,\n "holidays": [],\n "workdays": []\n}',
             Code.CALENDAR_YEAR_OUT_OF_RANGE, 3),
            ('{\n "year": 2027,\n "source": "x",\n "holidays": [],\n "workdays": [],\n}',
             Code.CALENDAR_FILE_INVALID, 6),  # a trailing comma: not JSON
            ('{\n "year": 2027,\n "source": "x",\n "holidays": [],\n "workdays": [],\n "extra": 1\n}',
             Code.CALENDAR_FILE_INVALID, 6),
        ],
    )
    def test_the_refusal_names_the_line_at_fault(self, text: str, code: Code, line: int) -> None:
        with pytest.raises(Rejected) as caught:
            parse_year_file(text)
        assert (caught.value.code, caught.value.rejection.details["line"]) == (code, line)

    def test_the_notice_date_and_a_note_round_trip(self) -> None:
        text = ('{"year": 2027, "source": "国办发明电〔2026〕X号", "notice_date": "2026-11-03", "note": "test",'
                ' "holidays": ["2027-01-01"], "workdays": []}')
        year = parse_year_file(text)
        assert (year.notice_date, year.note, year.provisional) == (date(2026, 11, 3), "test", False)
        assert parse_year_file(json.dumps(year.to_dict(), ensure_ascii=False)) == year

    def test_loading_a_year_again_replaces_it(self) -> None:
        first = parse_year_file(TEST_2027_FILE)
        corrected = calendar_year(2027, [date(2027, 1, 1)], [], "corrected")
        calendar = WorkCalendar().with_year(first).with_year(corrected)
        assert calendar.is_working_day(date(2027, 1, 2)) is False  # a Saturday anyway
        assert calendar.years[2027].source == "corrected"
        assert WorkCalendar().loaded_years == frozenset()
