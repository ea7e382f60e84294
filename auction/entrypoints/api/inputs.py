"""Reading times and dates from JSON bodies: the one place the HTTP APIs parse them.

A time is ISO 8601 with a UTC offset; a date is `YYYY-MM-DD`. Both must fall in
[2000-01-01, 2200-01-01) UTC: nothing this center trades is dated outside it, and
a year like 9000 or 10000 would otherwise reach the schedule arithmetic, the
working-day calendar and the database. Outside it: `DATE_OUT_OF_RANGE`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from auction.domain.codes import Code, Rejected
from auction.store.events import to_micros

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
# Years of five digits or more (`10000-01-01`, `+012345-...`) are past what datetime parses.
_LONG_YEAR = re.compile(r"\s*[+-]?\d{5,}-")


def _out_of_range(name: str) -> Rejected:
    return Rejected(Code.DATE_OUT_OF_RANGE, f"{name} must lie in 2000-2199", field=name,
                    earliest=EARLIEST.date().isoformat(), latest=date(2199, 12, 31).isoformat())


def instant(value: Any, name: str) -> int:
    """An ISO 8601 time with an offset -> µs UTC, or `INVALID_FIELD` / `DATE_OUT_OF_RANGE`."""
    if not isinstance(value, str):
        raise Rejected(Code.INVALID_FIELD, f"{name} must be an ISO 8601 string", field=name)
    if _LONG_YEAR.match(value):
        raise _out_of_range(name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, f"{name} is not ISO 8601", field=name) from None
    if parsed.tzinfo is None:
        raise Rejected(Code.INVALID_FIELD, f"{name} needs a UTC offset, e.g. +08:00", field=name)
    try:
        inside = EARLIEST <= parsed < LATEST
    except OverflowError:  # an offset that carries the instant past year 9999 in UTC
        inside = False
    if not inside:
        raise _out_of_range(name)
    return to_micros(parsed)


def calendar_day(value: Any, name: str) -> date:
    """A `YYYY-MM-DD` date, or `INVALID_FIELD` / `DATE_OUT_OF_RANGE`."""
    if isinstance(value, str) and _LONG_YEAR.match(value):
        raise _out_of_range(name)
    try:
        if not isinstance(value, str):
            raise ValueError(name)
        day = date.fromisoformat(value)
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, f"{name}: a date, YYYY-MM-DD", field=name) from None
    if not EARLIEST.date() <= day < LATEST.date():
        raise _out_of_range(name)
    return day
