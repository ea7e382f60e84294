"""An aggregate's event log in PostgreSQL: the one way supply plans and tenders keep theirs
(migrations/0002_plans.sql, migrations/0016_tenders.sql). The session log (`store/events.py`)
has the same guard and more: public numbering, a deadline guard, the fan-out.

The aggregate's row holds `last_seq`. An append is one statement that moves it from
the value the engine decided on to the new one, sets the row's projected columns,
and inserts the events. If another writer got there first the guard matches no
row, nothing is written, and the log's `conflict` tells the caller to catch up and
decide again. The primary key (id, seq) and the tables' append-only triggers back
this up. Every write takes an optional connection so it can join a transaction
that also writes elsewhere (a session's, a bidder's row).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import asyncpg

from auction.domain.codes import Rejected
from auction.store.events import to_datetime

E = TypeVar("E")


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=Versioned)


@dataclass(frozen=True)
class LoggedEvent(Generic[E]):
    """An event as an aggregate's log holds it."""

    aggregate_id: str
    seq: int
    event: E
    recorded_at: datetime | None = None


def number(aggregate_id: str, state_before: Versioned, events: list[E]) -> list[LoggedEvent[E]]:
    """Give each new event its place in the log, after the state's version."""
    return [LoggedEvent(aggregate_id, state_before.version + i, e) for i, e in enumerate(events, start=1)]


@dataclass(frozen=True)
class LogTables:
    """Where an aggregate's log lives."""

    rows: str  # one row an aggregate, with `last_seq` and `updated_at`
    events: str  # its events: (id, seq, type, at, [columns], payload)
    id_column: str
    projected: tuple[str, ...]  # the row's columns an append sets besides `last_seq`
    columns: tuple[str, ...] = ()  # the events' text columns besides the payload, from the event's fields

    def append_sql(self) -> str:
        """$1 the id, $2 the expected `last_seq`, then one array a column of the events
        (seq, type, at, the columns, payload), then the new `last_seq` and the projected values."""
        names = ["seq", "type", "at", *self.columns, "payload"]
        types = ["int", "text", "timestamptz", *["text"] * len(self.columns), "jsonb"]
        arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=3))
        first = 3 + len(types)
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(("last_seq", *self.projected), start=first))
        quoted = ", ".join(f'"{n}"' if n in self.columns else n for n in names)
        return f"""
WITH guard AS (
    UPDATE {self.rows} SET {sets}, updated_at = now()
     WHERE {self.id_column} = $1 AND last_seq = $2
 RETURNING {self.id_column}
)
INSERT INTO {self.events} ({self.id_column}, {quoted})
SELECT guard.{self.id_column}, {", ".join(f"e.{n}" for n in names)}
  FROM guard, unnest({arrays}) AS e({", ".join(names)})
"""


class AggregateLog(Generic[S, E]):
    """An aggregate's log: load after a seq, a guarded append, a created row with its first events."""

    tables: ClassVar[LogTables]
    # Raised when another writer appended first. Each log names its own, so that one
    # raised inside another aggregate's transaction is not taken for that one's race.
    conflict: ClassVar[type[Exception]]

    def __init__(self, pool: asyncpg.Pool, *, type_of: Callable[[E], str],
                 to_dict: Callable[[E], dict[str, Any]], from_dict: Callable[[str, dict[str, Any]], E]) -> None:
        self.pool = pool
        self._type_of = type_of
        self._to_dict = to_dict
        self._from_dict = from_dict
        self._append = self.tables.append_sql()
        t = self.tables
        self._load = (f"SELECT seq, type, payload, recorded_at FROM {t.events}"
                      f" WHERE {t.id_column} = $1 AND seq > $2 ORDER BY seq")

    def _projected(self, state_after: S) -> tuple[Any, ...]:
        """The values of the row's projected columns after the append, in `tables.projected` order."""
        raise NotImplementedError

    def _rows(self, recorded: list[LoggedEvent[E]]) -> tuple[list[Any], ...]:
        return (
            [r.seq for r in recorded],
            [self._type_of(r.event) for r in recorded],
            [to_datetime(getattr(r.event, "at")) for r in recorded],
            *([getattr(r.event, c) for r in recorded] for c in self.tables.columns),
            [json.dumps(self._to_dict(r.event), ensure_ascii=False, separators=(",", ":")) for r in recorded],
        )

    async def _create(self, insert: str, args: tuple[Any, ...], recorded: list[LoggedEvent[E]], state_after: S,
                      exists: Rejected) -> None:
        """The aggregate's row (`insert`) and its first events, in one transaction; `exists` if the row is there."""
        async with self.pool.acquire() as con, con.transaction():
            try:
                await con.execute(insert, *args)
            except asyncpg.UniqueViolationError:
                raise exists from None
            await self.append(recorded, 0, state_after, con=con)

    async def append(self, recorded: list[LoggedEvent[E]], expected_seq: int, state_after: S,
                     *, con: asyncpg.Connection | None = None) -> None:
        """Append `recorded` if the log is still at `expected_seq`, else the log's `conflict`."""
        aggregate_id = recorded[0].aggregate_id
        args = (aggregate_id, expected_seq, *self._rows(recorded), state_after.version, *self._projected(state_after))
        status = await (con or self.pool).execute(self._append, *args)
        if status != f"INSERT 0 {len(recorded)}":
            raise self.conflict(aggregate_id)

    async def load(self, aggregate_id: str, after_seq: int = 0) -> list[LoggedEvent[E]]:
        rows = await self.pool.fetch(self._load, aggregate_id, after_seq)
        return [
            LoggedEvent(aggregate_id, r["seq"], self._from_dict(r["type"], json.loads(r["payload"])), r["recorded_at"])
            for r in rows
        ]
