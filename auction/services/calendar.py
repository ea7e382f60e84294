"""The working-day calendar the server counts with (RULES 9): where its years come from.

Four sources, one `WorkCalendar`, in this order of authority:

1. the reviewed year files in the repository, `auction/services/calendar_data/YYYY.json`
   (the State Council's notice as data, checked day for day against the package
   in tests/unit/test_calendar_data.py);
2. the `chinese-calendar` package, for every other year it covers (2004-2026 in
   1.11). Where 1 and 2 disagree, start-up logs a warning and the file wins;
3. the years operators load (`auction calendar load FILE`, `POST /api/calendar/years`),
   stored in `calendar_years`, for years 1 and 2 do not cover (a year already
   confirmed is refused with other dates: `CALENDAR_YEAR_CONFIRMED`);
4. for every other year from 2025 (the 2024 law) to 2099 (the lunar library's
   range): a provisional year (`workdays.provisional_year`), the statutory
   holidays computed from the law with the lunar dates from `lunardate`, no
   make-up day. Deadlines counted through it are marked provisional.

`lunardate` was chosen for the lunar dates: a small pure-Python library that does
one thing (Chinese lunar <-> Gregorian dates, 1900-2099), typed, with no
dependencies and a 2026 release; `borax` is a toolkit of unrelated utilities,
and `holidays` would bring its own guessed China holiday rules (observed days)
where only the lunar dates are wanted. Qingming is computed in the domain
(`workdays.qingming_day`).

The stored years are read again on every use (a handful of small rows), so a
year loaded through one node, or by the CLI, counts on every node at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.clock.workdays import (
    LAW_2024_FROM,
    CalendarYear,
    LunarFestivals,
    WorkCalendar,
    calendar_year,
    changed_days,
    check_statutory,
    line_of,
    parse_year_file,
    provisional_year,
    statutory_days,
)
from auction.store import calendar as calendar_rows
from auction.store.calendar import LoadedYear

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "calendar_data"
PROVISIONAL_UNTIL = 2099  # lunardate covers lunar years 1900-2099


def lunar_festivals(year: int) -> LunarFestivals | None:
    """The year's lunar festival dates from `lunardate`, or None outside its range."""
    from lunardate import LunarDate  # type: ignore[import-untyped]

    try:
        return LunarFestivals(
            year,
            new_year=LunarDate(year, 1, 1).to_solar_date(),
            dragon_boat=LunarDate(year, 5, 5).to_solar_date(),
            mid_autumn=LunarDate(year, 8, 15).to_solar_date(),
        )
    except ValueError:
        return None


def statutory(year: int) -> dict[date, str]:
    """The statutory holidays of `year` (lunar ones when the library covers the year)."""
    return statutory_days(year, lunar_festivals(year))


def package_calendar(up_to: int | None = None) -> WorkCalendar:
    """The years the `chinese-calendar` package covers (optionally only up to `up_to`)."""
    import chinese_calendar  # type: ignore[import-untyped]

    holidays: Iterable[date] = chinese_calendar.holidays
    workdays: Iterable[date] = chinese_calendar.workdays
    holiday_list = list(holidays)
    workday_list = list(workdays)
    first = min(d.year for d in holiday_list)
    last = max(d.year for d in holiday_list)
    if up_to is not None:
        last = min(last, up_to)
    source = f"chinese-calendar {getattr(chinese_calendar, '__version__', '?')} (国务院办公厅节假日安排通知)"
    calendar = WorkCalendar()
    for year in range(first, last + 1):
        calendar = calendar.with_year(
            calendar_year(
                year,
                (d for d in holiday_list if d.year == year),
                (d for d in workday_list if d.year == year),
                source,
            )
        )
    return calendar


def repository_years(directory: Path = DATA_DIR) -> dict[int, CalendarYear]:
    """The reviewed year files kept in the repository (a bad one fails start-up loudly)."""
    years: dict[int, CalendarYear] = {}
    for path in sorted(directory.glob("*.json")):
        year = parse_year_file(path.read_bytes())
        if path.stem != str(year.year):
            raise ValueError(f"{path}: holds year {year.year}")
        years[year.year] = year
    return years


def official_calendar(up_to: int | None = None, directory: Path = DATA_DIR) -> WorkCalendar:
    """The confirmed years: the package's, with the repository's files on top. Where they
    disagree, a warning says so and the repository's reviewed file wins."""
    calendar = package_calendar(up_to)
    for year, entry in sorted(repository_years(directory).items()):
        if up_to is not None and year > up_to:
            continue
        package = calendar.years.get(year)
        if package is not None and not package.same_days(entry):
            diff = ", ".join(f"{d.isoformat()} {'working' if a else 'off'}->{'working' if b else 'off'}"
                             for d, a, b in changed_days(package, entry))
            log.warning("calendar %d: the repository's file (%s) and %s disagree (%s); the repository's "
                        "reviewed file is used", year, entry.source, package.source, diff)
        calendar = calendar.with_year(entry)
    return calendar


def provisional_years(first: int = LAW_2024_FROM, last: int = PROVISIONAL_UNTIL) -> dict[int, CalendarYear]:
    years: dict[int, CalendarYear] = {}
    for year in range(first, last + 1):
        lunar = lunar_festivals(year)
        if lunar is not None:
            years[year] = provisional_year(lunar)
    return years


@dataclass(frozen=True)
class YearPreview:
    """What loading a year file would change: checked, not stored yet."""

    year: CalendarYear
    before: CalendarYear | None  # the provisional year it replaces (None: nothing counted there)
    changes: list[tuple[date, bool, bool]]  # (day, working before, working after)
    already: bool  # the same year is already confirmed with the same days: nothing to do

    def lines(self) -> list[str]:
        """The difference, one line a day, for the CLI and the API."""
        if self.already:
            return [f"{self.year.year}: already confirmed with the same days; nothing changes"]
        if self.before is None:
            return [f"{self.year.year}: no provisional year to compare with (outside {LAW_2024_FROM}-"
                    f"{PROVISIONAL_UNTIL}); every count needing it was waiting (CALENDAR_MISSING)"]
        word = {True: "working day", False: "day off"}
        out = [f"{self.year.year}: {len(self.changes)} days differ from the provisional year "
               "(statutory holidays only):"]
        out += [f"  {d.isoformat()} {d.strftime('%a')}: {word[a]} -> {word[b]}"
                + ("  (make-up working day 调休上班)" if b and d.weekday() >= 5 else "")
                for d, a, b in self.changes]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year.year,
            "source": self.year.source,
            "already_confirmed": self.already,
            "changes": [{"date": d.isoformat(), "was_working": a, "working": b} for d, a, b in self.changes],
            "diff": self.lines(),
        }


class CalendarStore:
    def __init__(self, pool: asyncpg.Pool, official: WorkCalendar, *, provisional: bool = True) -> None:
        self.pool = pool
        self.official = official
        # The years the repository's reviewed files give (the `from` of `GET /api/calendar/years`).
        self.repository = frozenset(y for y, e in repository_years().items() if official.years.get(y) == e)
        self.provisional = provisional_years() if provisional else {}
        self._warned: set[int] = set()

    async def calendar(self, con: asyncpg.Connection | None = None) -> WorkCalendar:
        """The confirmed years, operator-loaded years, then provisional ones for the rest
        (read through `con` when given: a caller inside a transaction must not wait for a
        second connection)."""
        calendar = self.official
        for data in await calendar_rows.year_files(con or self.pool):
            loaded = parse_year_file(data)
            known = calendar.years.get(loaded.year)
            if known is not None:
                if not known.same_days(loaded) and loaded.year not in self._warned:
                    self._warned.add(loaded.year)
                    log.warning("calendar %d: the year an operator loaded differs from %s; that one is used",
                                loaded.year, known.source)
                continue
            try:
                if loaded.year >= LAW_2024_FROM:
                    check_statutory(loaded, statutory(loaded.year))
            except Rejected:
                # Loaded before files were checked against the law (e.g. empty lists, which
                # would count weekends only): never counted on; the provisional year stands in.
                if loaded.year not in self._warned:
                    self._warned.add(loaded.year)
                    log.warning("calendar %d: the year an operator loaded leaves statutory holidays as working "
                                "days; it is not used (the provisional year counts instead): load a "
                                "complete year file", loaded.year)
                continue
            calendar = calendar.with_year(loaded)
        for year, entry in self.provisional.items():
            if year not in calendar.years:
                calendar = calendar.with_year(entry)
        return calendar

    async def preview(self, text: str | bytes) -> YearPreview:
        """Check a year file (raises `Rejected`, nothing changed) and say what it would change."""
        year = parse_year_file(text)
        check_statutory(year, statutory(year.year), text)
        current = (await self.calendar()).years.get(year.year)
        if current is not None and not current.provisional:
            if current.same_days(year):
                return YearPreview(year, None, [], True)
            differ = changed_days(current, year)
            first = differ[0][0].isoformat()
            raise Rejected(Code.CALENDAR_YEAR_CONFIRMED, f"{year.year} ({current.source})", year=year.year,
                           dates=[d.isoformat() for d, _, _ in differ],
                           line=line_of(text, f'"{first}"') or line_of(text, '"year"'))
        return YearPreview(year, current, changed_days(current, year) if current is not None else [], False)

    async def load(self, text: str | bytes, by: str) -> YearPreview:
        """Check a year file (raises `Rejected`) and store it; the preview says what changed."""
        preview = await self.preview(text)
        if not preview.already:
            await store_year(self.pool, preview.year, by)
        return preview

    async def loaded(self) -> list[LoadedYear]:
        return await calendar_rows.loaded_years(self.pool)


async def store_year(con: asyncpg.Pool | asyncpg.Connection, year: CalendarYear, by: str) -> None:
    """Store a confirmed year. Never replaces one: a second load of a year with other dates is
    refused before it gets here (`CalendarStore.preview`); ON CONFLICT only guards a race."""
    if not await calendar_rows.insert_year(con, year, by):
        raise Rejected(Code.CALENDAR_YEAR_CONFIRMED, f"{year.year} was loaded meanwhile", year=year.year)
