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
- optional: `notice_date` (ISO date the notice was issued) and `note` (text,
  e.g. what a reviewer could not verify).
- No other keys. Every date lies in `year`; no date is in both lists; repeats
  within one list are dropped. Refusals: `CALENDAR_FILE_INVALID` (not JSON, a
  key missing, unknown or of the wrong type, a date that is not YYYY-MM-DD),
  `CALENDAR_YEAR_OUT_OF_RANGE`, `CALENDAR_DATE_OUTSIDE_YEAR`,
  `CALENDAR_DATE_OVERLAP`, `CALENDAR_WORKDAY_NOT_WEEKEND`; `details` names the
  key, the dates and the `line` of the file at fault. A loaded file must also
  cover the statutory holidays (`check_statutory`, `CALENDAR_STATUTORY_DAY_MISSING`):
  a file with empty lists, which would count weekends only, never passes.

Provisional years (RULES 9). The statutory holidays are fixed by law
(全国年节及纪念日放假办法, as amended in 2024, in force 2025-01-01): 元旦 Jan 1;
春节 4 days, the lunar New Year's eve (除夕) and lunar 1/1-1/3; 清明 the day of
the Qingming solar term; 劳动节 May 1-2; 端午 lunar 5/5; 中秋 lunar 8/15; 国庆
Oct 1-3. Only the make-up working days, the bridging days and the days in lieu
of holidays on a weekend (补假) come from the State Council's notice each autumn.
So for a year whose notice is not loaded, `provisional_year` computes the
statutory days (the lunar dates come in as `LunarFestivals`, computed by the
shell's lunar-calendar library; Qingming by `qingming_day`) with no make-up
day, and marks the year `provisional`: counts through it work, and every
deadline they give is marked provisional until the official year arrives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from typing import Any

from auction.domain.china import CST_OFFSET
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.terms import DAY

MIN_YEAR = 2000
MAX_YEAR = 2199
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EPOCH = date(1970, 1, 1)
YEAR_FILE_KEYS = frozenset({"year", "source", "holidays", "workdays"})
OPTIONAL_KEYS = frozenset({"notice_date", "note"})
LAW_2024_FROM = 2025  # the 2024 amendment of 全国年节及纪念日放假办法 is in force from 2025-01-01


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
    provisional: bool = False  # statutory days only, computed by law (`provisional_year`)
    notice_date: date | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The year file form (`parse_year_file` reads it back)."""
        data: dict[str, Any] = {
            "year": self.year,
            "source": self.source,
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "workdays": [d.isoformat() for d in sorted(self.workdays)],
        }
        if self.notice_date is not None:
            data["notice_date"] = self.notice_date.isoformat()
        if self.note:
            data["note"] = self.note
        return data

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def same_days(self, other: CalendarYear) -> bool:
        """The same working days, whatever the sources say."""
        return self.year == other.year and all(
            self.is_working_day(d) == other.is_working_day(d) for d in days_of(self.year)
        )


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
        return entry.is_working_day(day)

    def confirmed(self, year: int) -> bool:
        entry = self.years.get(year)
        return entry is not None and not entry.provisional

    def provisional_between(self, start: date, end: date) -> tuple[int, ...]:
        """The provisional years of the days d with start < d <= end (the days a count
        from `start` to `end` looked at)."""
        if end <= start:
            return ()
        years = range((start + timedelta(days=1)).year, end.year + 1)
        return tuple(y for y in years if (entry := self.years.get(y)) is not None and entry.provisional)


# ---------------------------------------------------------------------------
# counting


def add_working_days(calendar: WorkCalendar, start: date, n: int) -> date | CalendarYearMissing:
    """The n-th working day after `start` (`start` itself does not count; n=0 gives `start`).

    Returns `CalendarYearMissing(year)` for the first year the count needs and
    the calendar lacks. The time limit is the end of the returned day (`end_of_day`).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    day: date | CalendarYearMissing = start
    for day in islice(_working_days(calendar, start), n):
        if isinstance(day, CalendarYearMissing):
            break
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
    for day in _working_days(calendar, from_date, to_date):
        if isinstance(day, CalendarYearMissing):
            return day
        count += 1
    return count


def _working_days(calendar: WorkCalendar, after: date,
                  until: date | None = None) -> Iterator[date | CalendarYearMissing]:
    """The working days after `after` (up to `until`, inclusive, if given), in order; where the
    calendar lacks a year, its `CalendarYearMissing` and nothing more. Lazy: a day is looked at
    only when asked for, so a count never needs a year past its last day."""
    day = after
    while until is None or day < until:
        day += timedelta(days=1)
        working = calendar.is_working_day(day)
        if isinstance(working, CalendarYearMissing):
            yield working
            return
        if working:
            yield day


def start_of_day(day: date) -> int:
    """00:00:00 China Standard Time on `day`, as µs UTC."""
    return (day - EPOCH).days * DAY - CST_OFFSET


def end_of_day(day: date) -> int:
    """23:59:59.999999 China Standard Time on `day`, as µs UTC: the last instant of a time limit."""
    return start_of_day(day) + DAY - 1


# ---------------------------------------------------------------------------
# building and loading


def calendar_year(
    year: int,
    holidays: Iterable[date],
    workdays: Iterable[date],
    source: str = "",
    *,
    provisional: bool = False,
    notice_date: date | None = None,
    note: str = "",
) -> CalendarYear:
    """A checked `CalendarYear`; raises `Rejected` (see the module docstring) on bad data."""
    if type(year) is not int:
        raise Rejected(Code.CALENDAR_FILE_INVALID, "year must be an integer", field="year")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Rejected(Code.CALENDAR_YEAR_OUT_OF_RANGE, f"{year}", field="year", year=year)
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
    return CalendarYear(year, holiday_set, workday_set, source, provisional, notice_date, note)


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
    """An operator's year file (schema in the module docstring), checked; raises `Rejected`
    whose `details["line"]` is the line of the file at fault (when one is)."""
    try:
        return _parse_year_file(text)
    except Rejected as r:
        details = r.rejection.details
        if "line" not in details:
            needle = None
            if details.get("dates"):
                needle = f'"{details["dates"][0]}"'
            elif details.get("field"):
                needle = f'"{details["field"]}"'
            details["line"] = line_of(text, needle) if needle else None
        raise


def line_of(text: str | bytes, needle: str) -> int | None:
    """The 1-based line of the first `needle` in `text` (None when absent)."""
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    at = body.find(needle)
    return None if at < 0 else body.count("\n", 0, at) + 1


def _parse_year_file(text: str | bytes) -> CalendarYear:
    try:
        data = json.loads(text)
    except RecursionError:
        raise Rejected(Code.JSON_TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"not JSON: {exc}", line=exc.lineno) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"not JSON: {exc}", line=None) from None
    if not isinstance(data, dict):
        raise Rejected(Code.CALENDAR_FILE_INVALID, "the file must hold one JSON object", line=1)
    keys = set(data)
    missing = YEAR_FILE_KEYS - keys
    unknown = keys - YEAR_FILE_KEYS - OPTIONAL_KEYS
    if missing or unknown:
        raise Rejected(
            Code.CALENDAR_FILE_INVALID,
            "keys must be year, source, holidays, workdays (and optionally notice_date, note)",
            missing=sorted(missing),
            unknown=sorted(unknown),
            line=line_of(text, f'"{sorted(unknown)[0]}"') if unknown else 1,
        )
    source = data["source"]
    if not isinstance(source, str) or not source.strip():
        raise Rejected(Code.CALENDAR_FILE_INVALID, "source must name the notice", field="source")
    note = data.get("note", "")
    if not isinstance(note, str):
        raise Rejected(Code.CALENDAR_FILE_INVALID, "note must be text", field="note")
    notice_date = _as_date(data["notice_date"], "notice_date") if "notice_date" in data else None
    lists: dict[str, list[date]] = {}
    for key in ("holidays", "workdays"):
        value = data[key]
        if not isinstance(value, list):
            raise Rejected(Code.CALENDAR_FILE_INVALID, f"{key} must be a list of ISO dates", field=key)
        lists[key] = [_as_date(item, key, text) for item in value]
    return calendar_year(
        data["year"], lists["holidays"], lists["workdays"], source.strip(), notice_date=notice_date, note=note.strip()
    )


def _as_date(value: object, key: str, text: str | bytes | None = None) -> date:
    if type(value) is date:  # not a datetime
        return value
    line = line_of(text, json.dumps(value, ensure_ascii=False)) if text is not None else None
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"{key}: {value!r} is not YYYY-MM-DD", field=key, line=line)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Rejected(Code.CALENDAR_FILE_INVALID, f"{key}: {value!r} is not a date", field=key, line=line) from None


# ---------------------------------------------------------------------------
# the law: statutory holidays and provisional years


@dataclass(frozen=True)
class LunarFestivals:
    """The Gregorian dates of one year's lunar festivals (from the shell's lunar library)."""

    year: int
    new_year: date  # 正月初一 (lunar 1/1); 除夕 is the day before
    dragon_boat: date  # 端午 (lunar 5/5)
    mid_autumn: date  # 中秋 (lunar 8/15)


# Qingming by the 寿星通式 (Shouxing formula) for the 21st century: the day in April is
# floor(Y * 0.2422 + 4.81) - floor(Y / 4), Y = year - 2000. Tested against chinese_calendar's
# solar terms for 2000-2099 and the notices of 2025 (Apr 4) and 2026 (Apr 5).
QINGMING_C_21ST = 4.81
QINGMING_D = 0.2422


def qingming_day(year: int) -> date | None:
    """The day of the Qingming solar term (Apr 4 or 5), 2000-2099; None outside (no formula kept)."""
    if not 2000 <= year <= 2099:
        return None
    y = year - 2000
    return date(year, 4, int(y * QINGMING_D + QINGMING_C_21ST) - y // 4)


def statutory_days(year: int, lunar: LunarFestivals | None) -> dict[date, str]:
    """The statutory holidays of `year` by 全国年节及纪念日放假办法, name by date.

    From 2025 (the 2024 amendment) all of them, when `lunar` is given; otherwise,
    and for earlier years, the days every version since 1999 fixes by date
    (Jan 1, May 1, Oct 1-3): enough to refuse a file that counts weekends only."""
    days: dict[date, str] = {date(year, 1, 1): "元旦", date(year, 5, 1): "劳动节"}
    for d in (1, 2, 3):
        days[date(year, 10, d)] = "国庆节"
    if year < LAW_2024_FROM:
        return days
    days[date(year, 5, 2)] = "劳动节"
    if lunar is not None:
        if lunar.year != year:
            raise ValueError(f"lunar festivals of {lunar.year} given for {year}")
        eve = lunar.new_year - timedelta(days=1)
        days[eve] = "春节（除夕）"
        for i in range(3):
            days[lunar.new_year + timedelta(days=i)] = "春节"
        qingming = qingming_day(year)
        if qingming is not None:
            days[qingming] = "清明节"
        days[lunar.dragon_boat] = "端午节"
        days[lunar.mid_autumn] = "中秋节"
    return dict(sorted(days.items()))


def provisional_year(lunar: LunarFestivals) -> CalendarYear:
    """A year whose notice is not loaded: the statutory holidays, no make-up day (RULES 9)."""
    year = lunar.year
    if year < LAW_2024_FROM or qingming_day(year) is None:
        raise ValueError(f"no provisional calendar for {year}")
    source = (f"暂定：仅按《全国年节及纪念日放假办法》法定节假日推算，{year}年国务院放假安排尚未导入 / "
              f"provisional: statutory holidays only; the State Council's {year} schedule is not loaded")
    return calendar_year(year, statutory_days(year, lunar), (), source, provisional=True)


def check_statutory(year: CalendarYear, statutory: Mapping[date, str], text: str | bytes | None = None) -> None:
    """Refuse a year whose holidays leave a statutory holiday a working day
    (`CALENDAR_STATUTORY_DAY_MISSING`, naming the days and the `holidays` line)."""
    missing = sorted(d for d in statutory if year.is_working_day(d))
    if missing:
        raise Rejected(
            Code.CALENDAR_STATUTORY_DAY_MISSING,
            ", ".join(f"{d.isoformat()} {statutory[d]}" for d in missing),
            year=year.year,
            dates=[d.isoformat() for d in missing],
            line=line_of(text, '"holidays"') if text is not None else None,
        )


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def changed_days(before: CalendarYear, after: CalendarYear) -> list[tuple[date, bool, bool]]:
    """The days whose working status differs: (day, working before, working after)."""
    return [
        (d, before.is_working_day(d), after.is_working_day(d))
        for d in days_of(after.year)
        if before.is_working_day(d) != after.is_working_day(d)
    ]
