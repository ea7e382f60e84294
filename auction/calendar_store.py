"""The working-day calendar the server counts with (RULES 9): where its years come from.

Two sources, one `WorkCalendar`:

- the `chinese-calendar` package, for every year it covers (2004-2026 in 1.11),
  read once at start-up (`official_calendar`);
- the years operators load (`auction calendar load FILE`, `POST /api/calendar/years`),
  stored in `calendar_years`. An operator's year overrides the package's.

The stored years are read again on every use (a handful of small rows), so a
year loaded through one node, or by the CLI, counts on every node at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from auction.domain.workdays import CalendarYear, WorkCalendar, calendar_year, parse_year_file


def official_calendar(up_to: int | None = None) -> WorkCalendar:
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


@dataclass(frozen=True)
class LoadedYear:
    year: int
    source: str
    loaded_by: str
    loaded_at: Any  # datetime


class CalendarStore:
    def __init__(self, pool: asyncpg.Pool, official: WorkCalendar) -> None:
        self.pool = pool
        self.official = official

    async def calendar(self, con: asyncpg.Connection | None = None) -> WorkCalendar:
        """The package's years with every operator-loaded year on top (read through `con`
        when given: a caller inside a transaction must not wait for a second connection)."""
        calendar = self.official
        for row in await (con or self.pool).fetch("SELECT data FROM calendar_years ORDER BY year"):
            calendar = calendar.with_year(parse_year_file(row["data"]))
        return calendar

    async def load(self, text: str | bytes, by: str) -> CalendarYear:
        """Check a year file (raises `Rejected`) and store it, replacing an earlier load."""
        year = parse_year_file(text)
        await store_year(self.pool, year, by)
        return year

    async def loaded(self) -> list[LoadedYear]:
        rows = await self.pool.fetch("SELECT year, source, loaded_by, loaded_at FROM calendar_years ORDER BY year")
        return [LoadedYear(r["year"], r["source"], r["loaded_by"], r["loaded_at"]) for r in rows]


async def store_year(con: asyncpg.Pool | asyncpg.Connection, year: CalendarYear, by: str) -> None:
    await con.execute(
        """INSERT INTO calendar_years (year, source, data, loaded_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (year) DO UPDATE SET source = EXCLUDED.source, data = EXCLUDED.data,
                                            loaded_by = EXCLUDED.loaded_by, loaded_at = now()""",
        year.year, year.source, json.dumps(year.to_dict(), ensure_ascii=False), by,
    )
