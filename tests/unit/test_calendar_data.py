"""The calendar the server counts with (RULES 9): the reviewed year files, the law, provisional years.

- The repository's files for 2025 and 2026 (auction/services/calendar_data) are the notices
  as data; they must agree with `chinese_calendar` day for day, and cover the
  statutory holidays of the 2024 law.
- Every deadline kind counted from every day of 2025 and 2026 matches a count on
  `chinese_calendar` alone; where the count runs into 2027 it matches a count on the
  hand-computed 2027 statutory days (test_workdays.STATUTORY_2027) and is provisional.
- A repository file that disagrees with the package wins, with a warning.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
import pytest

from auction.services.calendar import (
    DATA_DIR,
    lunar_festivals,
    official_calendar,
    package_calendar,
    provisional_years,
    repository_years,
    statutory,
)
from auction.domain.codes import Code, Rejected
from auction.domain.clock.deadlines import ClockRules, DeadlineKind, make_deadline
from auction.domain.clock.workdays import (
    LunarFestivals,
    WorkCalendar,
    check_statutory,
    parse_year_file,
    provisional_year,
    qingming_day,
    start_of_day,
    statutory_days,
)

from .test_workdays import STATUTORY_2027

RULES = ClockRules()
KINDS = {
    DeadlineKind.DEPOSIT_REFUND: (RULES.refund_working_days, None),
    DeadlineKind.RESULT_PUBLICATION: (RULES.publication_working_days, RULES.publication_warn_working_days),
    DeadlineKind.CONTRACT_SIGNING: (RULES.contract_working_days, None),
    DeadlineKind.Q32_NOTICE: (RULES.q32_notice_working_days, None),
}
HAND_2027 = {date.fromisoformat(d) for d in STATUTORY_2027}


def server_calendar() -> WorkCalendar:
    """What `CalendarStore.calendar()` gives with no operator-loaded year."""
    calendar = official_calendar()
    for year, entry in provisional_years().items():
        if year not in calendar.years:
            calendar = calendar.with_year(entry)
    return calendar


def is_working(day: date) -> bool:
    """The reference: the package for the years it covers, the hand table for 2027."""
    if day.year == 2027:
        return day.weekday() < 5 and day not in HAND_2027
    return bool(chinese_calendar.is_workday(day))


def by_hand(start: date, n: int) -> date:
    day = start
    for _ in range(n):
        day += timedelta(days=1)
        while not is_working(day):
            day += timedelta(days=1)
    return day


class TestRepositoryFiles:
    def test_the_files_are_the_notices_day_for_day(self) -> None:
        files = repository_years()
        assert sorted(files) == [2025, 2026]
        package = package_calendar()
        for year, entry in files.items():
            assert entry.holidays == package.years[year].holidays
            assert entry.workdays == package.years[year].workdays
            day = date(year, 1, 1)
            while day.year == year:
                assert entry.is_working_day(day) is bool(chinese_calendar.is_workday(day)), day
                day += timedelta(days=1)

    def test_the_files_name_their_notices(self) -> None:
        files = repository_years()
        assert (files[2025].source, files[2025].notice_date) == ("国办发明电〔2024〕12号", date(2024, 11, 12))
        assert (files[2026].source, files[2026].notice_date) == ("国办发明电〔2025〕7号", date(2025, 11, 4))
        assert "NOT verified" in files[2026].note  # the notice number: see the file

    def test_the_files_cover_the_statutory_days(self) -> None:
        for year, entry in repository_years().items():
            check_statutory(entry, statutory(year))  # raises if not
            assert len(statutory(year)) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3

    def test_the_server_uses_the_files(self) -> None:
        calendar = official_calendar()
        assert calendar.years[2026].source == "国办发明电〔2025〕7号"
        assert calendar.years[2024].source.startswith("chinese-calendar")
        assert not calendar.years[2026].provisional

    def test_where_file_and_package_disagree_the_file_wins_with_a_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        data = json.loads((DATA_DIR / "2026.json").read_text(encoding="utf-8"))
        data["workdays"].remove("2026-10-10")  # as if the package had it wrong: the file says Sat 10-10 is off
        (tmp_path / "2026.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="auction.services.calendar"):
            calendar = official_calendar(directory=tmp_path)
        assert calendar.is_working_day(date(2026, 10, 10)) is False
        assert any("2026" in r.getMessage() and "2026-10-10" in r.getMessage() and "disagree" in r.getMessage()
                   for r in caplog.records)

    def test_the_shipped_files_start_up_without_a_warning(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, logger="auction.services.calendar"):
            official_calendar()
        assert not [r for r in caplog.records if "disagree" in r.getMessage()]


class TestEveryDeadlineOnTheOfficialDays:
    @pytest.mark.parametrize("year", [2025, 2026])
    def test_every_kind_from_every_day_of_the_year(self, year: int) -> None:
        calendar = server_calendar()
        day = date(year, 1, 1)
        while day.year == year:
            started = start_of_day(day) + 15 * 3600 * 1_000_000  # 15:00 China time
            for kind, (n, warn) in KINDS.items():
                row = make_deadline(deadline_id="d", session_id="s", kind=kind, subject="s", started_at=started,
                                    working_days=n, calendar=calendar, now=started, warn_working_days=warn)
                expected = by_hand(day, n)
                assert row.due_date == expected, (kind, day)
                assert row.provisional is (expected.year == 2027), (kind, day)
                if warn is not None:
                    assert row.warn_at == start_of_day(by_hand(day, n - warn)), (kind, day)
            day += timedelta(days=1)

    def test_a_close_on_2026_12_20(self) -> None:
        calendar = server_calendar()
        close = start_of_day(date(2026, 12, 20)) + 15 * 3600 * 1_000_000

        def due(n: int) -> tuple[date | None, tuple[int, ...]]:
            row = make_deadline(deadline_id="d", session_id="s", kind=DeadlineKind.RESULT_PUBLICATION, subject="s",
                                started_at=close, working_days=n, calendar=calendar, now=close)
            return row.due_date, row.provisional_years

        # Sun 12-20: 12-21 (1) .. 12-25 (5), 12-28 (6) .. 12-31 (9), 2027-01-01 元旦, weekend, 01-04 Mon (10).
        assert due(10) == (date(2027, 1, 4), (2027,))
        assert due(3) == (date(2026, 12, 23), ())  # the refund stays in 2026: confirmed


class TestTheLaw:
    def test_lunar_dates_from_the_library_match_the_hand_count(self) -> None:
        assert lunar_festivals(2027) == LunarFestivals(2027, date(2027, 2, 6), date(2027, 6, 9), date(2027, 9, 15))
        assert lunar_festivals(2026) == LunarFestivals(2026, date(2026, 2, 17), date(2026, 6, 19), date(2026, 9, 25))
        assert lunar_festivals(2025) == LunarFestivals(2025, date(2025, 1, 29), date(2025, 5, 31), date(2025, 10, 6))
        assert lunar_festivals(2100) is None  # past lunardate's range: no provisional year

    def test_qingming(self) -> None:
        assert [qingming_day(y) for y in (2025, 2026, 2027)] == [date(2025, 4, 4), date(2026, 4, 5), date(2027, 4, 5)]
        assert qingming_day(1999) is None and qingming_day(2100) is None
        terms = dict((d.year, d) for d, name in chinese_calendar.get_solar_terms(date(2000, 1, 1), date(2099, 12, 31))
                     if name == "清明")
        assert {y: qingming_day(y) for y in range(2000, 2100)} == terms
        # And in every official schedule since Qingming became a holiday (2008), the day is off.
        for year in range(2008, 2027):
            day = qingming_day(year)
            assert day is not None and not chinese_calendar.is_workday(day), year

    def test_the_2027_provisional_year_is_the_hand_table(self) -> None:
        lunar = lunar_festivals(2027)
        assert lunar is not None
        year = provisional_year(lunar)
        assert year.provisional and year.workdays == frozenset()
        assert year.holidays == HAND_2027
        assert statutory_days(2027, lunar)[date(2027, 2, 5)] == "春节（除夕）"

    def test_before_the_2024_law_only_fixed_days_are_statutory_here(self) -> None:
        assert sorted(statutory_days(2020, None)) == [date(2020, 1, 1), date(2020, 5, 1), date(2020, 10, 1),
                                                      date(2020, 10, 2), date(2020, 10, 3)]
        with pytest.raises(ValueError):
            provisional_year(LunarFestivals(2024, date(2024, 2, 10), date(2024, 6, 10), date(2024, 9, 17)))

    def test_provisional_years_run_from_2025_to_2099(self) -> None:
        years = provisional_years()
        assert (min(years), max(years), len(years)) == (2025, 2099, 75)

    def test_a_file_with_empty_lists_is_refused(self) -> None:
        text = '{\n "year": 2027,\n "source": "x",\n "holidays": [],\n "workdays": []\n}'
        with pytest.raises(Rejected) as caught:
            check_statutory(parse_year_file(text), statutory(2027), text)
        assert caught.value.code is Code.CALENDAR_STATUTORY_DAY_MISSING
        # The statutory days on Monday to Friday (on a weekend they are off anyway).
        assert caught.value.rejection.details["dates"] == [
            d for d in STATUTORY_2027 if date.fromisoformat(d).weekday() < 5]
        assert caught.value.rejection.details["line"] == 4
        # Beyond the lunar library's range the fixed-date days still refuse it.
        empty_2150 = parse_year_file('{"year": 2150, "source": "x", "holidays": [], "workdays": []}')
        with pytest.raises(Rejected):
            check_statutory(empty_2150, statutory(2150))
