"""The operator-loaded calendar years (`calendar_years`, RULES 9); what they mean is
auction/services/calendar.py's business."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from auction.domain.clock.workdays import CalendarYear
from auction.store import Executor


@dataclass(frozen=True)
class LoadedYear:
    year: int
    source: str
    loaded_by: str
    loaded_at: datetime


async def year_files(con: Executor) -> list[str]:
    """The stored year files (JSON text), oldest year first."""
    return [row["data"] for row in await con.fetch("SELECT data FROM calendar_years ORDER BY year")]


async def loaded_years(con: Executor) -> list[LoadedYear]:
    rows = await con.fetch("SELECT year, source, loaded_by, loaded_at FROM calendar_years ORDER BY year")
    return [LoadedYear(r["year"], r["source"], r["loaded_by"], r["loaded_at"]) for r in rows]


async def insert_year(con: Executor, year: CalendarYear, by: str) -> bool:
    """Store a year unless one is stored already (ON CONFLICT guards a race); True when stored."""
    status = await con.execute(
        """INSERT INTO calendar_years (year, source, data, loaded_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (year) DO NOTHING""",
        year.year, year.source, json.dumps(year.to_dict(), ensure_ascii=False), by,
    )
    return bool(status == "INSERT 0 1")
