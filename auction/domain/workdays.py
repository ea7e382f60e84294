"""Working days (工作日, RULES 9): the official Chinese calendar as a value.

Pure: the calendar is data passed in. The shell builds it from the
`chinese-calendar` package for the years that package covers and from the
year files operators load (`parse_year_file`); the domain never imports either
source, never guesses a year it was not given, and never reads a clock.

A day is a working day when it is a make-up working day (调休上班, a Saturday or
Sunday the State Council declares a working day), or a Monday to Friday that is
not a public holiday. Either way its year must be loaded: for a year that is not,
every function here answers `CalendarYearMissing(year)` instead of a date.

Counting (自...之日起 N 个工作日内, e.g. Q31 "活动结束后3个工作日内"): the day of
the event does not count, whatever it is; the first working day after it is
day 1, and the time limit runs to the end of day N, 23:59:59.999999 China
Standard Time (`end_of_day`). So a session closing on Wednesday 2026-09-30 has
its Q31 refunds due by the end of Saturday 2026-10-10, a make-up working day.

Year file (JSON, UTF-8), one per calendar year, as published in the State
Council's notice (国务院办公厅关于YYYY年部分节假日安排的通知):

    {
      "year": 2027,
      "source": "国办发明电〔2026〕X号",
      "holidays": ["2027-01-01", "2027-02-05", ...],
      "workdays": ["2027-02-07", ...]
    }

- `year`: an integer, 2000-2199.
- `source`: the notice the dates come from, non-empty (shown to operators).
- `holidays`: ISO dates (YYYY-MM-DD) on which nobody works, as the notice
  lists them: ranges are written out day by day, and days that fall on a
  weekend may be included (harmless).
- `workdays`: ISO dates of the make-up working days (调休上班); each must be a
  Saturday or Sunday.
- No other keys. Every date lies in `year`; no date is in both lists; repeats
  within one list are dropped. Refusals: `CALENDAR_FILE_INVALID` (not JSON, a
  key missing, unknown or of the wrong type, a date that is not YYYY-MM-DD),
  `CALENDAR_DATE_OUTSIDE_YEAR`, `CALENDAR_DATE_OVERLAP`,
  `CALENDAR_WORKDAY_NOT_WEEKEND`; `details` names the key and the dates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from auction.domain.codes import Code, Rejected
from auction.domain.terms import DAY, HOUR

MIN_YEAR = 2000
MAX_YEAR = 2199
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EPOCH = date(1970, 1, 1)
CHINA_OFFSET = 8 * HOUR  # China Standard Time is UTC+8, no daylight saving since 1991
YEAR_FILE_KEYS = frozenset({"year", "source", "holidays", "workdays"})


@dataclass(frozen=True)
class CalendarYearMissing:
    """The answer when a count needs a year whose calendar is not loaded (never a guess)."""

    year: int


@dataclass(frozen=True)
class CalendarYear:
    """One year of the official schedule: public holidays and make-up working days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""  # the notice, e.g. 国办发明电〔YYYY〕N号

    def to_dict(self) -> dict[str, Any]:
        """The year file form (`parse_year_file` reads it back)."""
        return {
            "year": self.year,
            "source": self.source,
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "workdays": [d.isoformat() for d in sorted(self.workdays)],
        }


@dataclass(frozen=True)
class WorkCalendar:
    """The loaded years. Immutable: `with_year` returns a new calendar."""

    years: Mapping[int, CalendarYear] = field(default_factory=dict)

    @property
    def loaded_years(self) -> frozenset[int]:
        return frozenset(self.years)

    def with_year(self, year: CalendarYear) -> WorkCalendar:
        """This calendar with `year` loaded (replacing an earlier load of the same year)."""
        return WorkCalendar({**self.years, year.year: year})

    def is_working_day(self, day: date) -> bool | CalendarYearMissing:
        entry = self.years.get(day.year)
        if entry is None:
            return CalendarYearMissing(day.year)
        if day in entry.workdays:
            return True
        if day in entry.holidays:
            return False
        return day.weekday() < 5


# ---------------------------------------------------------------------------
# counting


def add_working_days(calendar: WorkCalendar, start: date, n: int) -> date | CalendarYearMissing:
    """The n-th working day after `start` (`start` itself does not count; n=0 gives `start`).

    Returns `CalendarYearMissing(year)` for the first year the count needs and
    the calendar lacks. The time limit is the end of the returned day (`end_of_day`).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    day = start
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        working = calendar.is_working_day(day)
        if isinstance(working, CalendarYearMissing):
            return working
        if working:
            counted += 1
    return day


def working_days_between(calendar: WorkCalendar, from_date: date, to_date: date) -> int | CalendarYearMissing:
    """The working days d with from_date < d <= to_date: "working days left" on `from_date`
    until a limit that ends with `to_date`. So `working_days_between(c, s, add_working_days(c, s, n)) == n`.

    Negative when `to_date` is before `from_date` (the working days by which a limit is past).
    """
    if to_date < from_date:
        back = working_days_between(calendar, to_date, from_date)
        return back if isinstance(back, CalendarYearMissing) else -back
    count = 0
    day = from_date
    while day < to_date:
        day += timedelta(days=1)
        working = calendar.is_working_day(day)
        if isinstance(working, CalendarYearMissing):
            return working
        if working:
            count += 1
    return count


def start_of_day(day: date) -> int:
    """00:00:00 China Standard Time on `day`, as µs UTC."""
    return (day - EPOCH).days * DAY - CHINA_OFFSET


def end_of_day(day: date) -> int:
    """23:59:59.999999 China Standard Time on `day`, as µs UTC: the last instant of a time limit."""
    return start_of_day(day) + DAY - 1


# ---------------------------------------------------------------------------
# building and loading


def calendar_year(year: int, holidays: Iterable[date], workdays: Iterable[date], source: str = "") -> CalendarYear:
    """A checked `CalendarYear`; raises `Rejected` (see the module docstring) on bad data."""
    if type(year) is not int or not MIN_YEAR <= year <= MAX_YEAR:
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"year must be an integer {MIN_YEAR}-{MAX_YEAR}", field="year")
    holiday_set = frozenset(holidays)
    workday_set = frozenset(workdays)
    outside = sorted(d for d in holiday_set | workday_set if d.year != year)
    if outside:
        raise Rejected(
            Code.CALENDAR_DATE_OUTSIDE_YEAR, str(year), year=year, dates=[d.isoformat() for d in outside]
        )
    both = sorted(holiday_set & workday_set)
    if both:
        raise Rejected(Code.CALENDAR_DATE_OVERLAP, year=year, dates=[d.isoformat() for d in both])
    weekdays = sorted(d for d in workday_set if d.weekday() < 5)
    if weekdays:
        raise Rejected(Code.CALENDAR_WORKDAY_NOT_WEEKEND, year=year, dates=[d.isoformat() for d in weekdays])
    return CalendarYear(year, holiday_set, workday_set, source)


def build_calendar(data: Mapping[int, Mapping[str, Iterable[date | str]]], source: str = "") -> WorkCalendar:
    """A calendar from plain data: {year: {"holidays": [...], "workdays": [...]}}, dates as
    `date` or ISO strings; each year checked like a year file."""
    years: dict[int, CalendarYear] = {}
    for year, lists in data.items():
        years[year] = calendar_year(
            year,
            (_as_date(d, "holidays") for d in lists.get("holidays", ())),
            (_as_date(d, "workdays") for d in lists.get("workdays", ())),
            source,
        )
    return WorkCalendar(years)


def parse_year_file(text: str | bytes) -> CalendarYear:
    """An operator's year file (schema in the module docstring), checked; raises `Rejected`."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise Rejected(Code.JSON_TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejected(Code.CALENDAR_FILE_INVALID, "the file must hold one JSON object")
    keys = set(data)
    if keys != YEAR_FILE_KEYS:
        raise Rejected(
            Code.CALENDAR_FILE_INVALID,
            "keys must be exactly year, source, holidays, workdays",
            missing=sorted(YEAR_FILE_KEYS - keys),
            unknown=sorted(keys - YEAR_FILE_KEYS),
        )
    source = data["source"]
    if not isinstance(source, str) or not source.strip():
        raise Rejected(Code.CALENDAR_FILE_INVALID, "source must name the notice", field="source")
    lists: dict[str, list[date]] = {}
    for key in ("holidays", "workdays"):
        value = data[key]
        if not isinstance(value, list):
            raise Rejected(Code.CALENDAR_FILE_INVALID, f"{key} must be a list of ISO dates", field=key)
        lists[key] = [_as_date(item, key) for item in value]
    return calendar_year(data["year"], lists["holidays"], lists["workdays"], source.strip())


def _as_date(value: object, key: str) -> date:
    if type(value) is date:  # not a datetime
        return value
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"{key}: {value!r} is not YYYY-MM-DD", field=key)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"{key}: {value!r} is not a date", field=key) from None
