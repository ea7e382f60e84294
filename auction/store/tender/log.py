"""The tender event log in PostgreSQL (migrations/0016_tenders.sql), its projection and
its qualified bidders.

Same shape as `store/plans.py`: an append is one statement that moves the tender
row's `last_seq` from the value the engine decided on and inserts the events; if
another writer got there first nothing is written and `TenderConflict` tells the
caller to catch up and decide again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.tender.events import TenderEvent, event_from_dict, event_to_dict, event_type
from auction.domain.tender.tender import TenderState
from auction.store.events import to_datetime


class TenderConflict(Exception):
    """Another writer appended to this tender first."""


@dataclass(frozen=True)
class RecordedTenderEvent:
    tender_id: str
    seq: int
    event: TenderEvent
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class TenderLogin:
    """Whom a tender bidding token (by its hash) signs in."""

    tender_id: str
    bidder_no: int
    expires_at: datetime


def number(tender_id: str, state_before: TenderState, events: list[TenderEvent]) -> list[RecordedTenderEvent]:
    return [RecordedTenderEvent(tender_id, state_before.version + i, e) for i, e in enumerate(events, start=1)]


def _rows(recorded: list[RecordedTenderEvent]) -> tuple[list[Any], ...]:
    return (
        [r.seq for r in recorded],
        [event_type(r.event) for r in recorded],
        [to_datetime(r.event.at) for r in recorded],
        [json.dumps(event_to_dict(r.event), ensure_ascii=False, separators=(",", ":")) for r in recorded],
    )


_APPEND = """
WITH guard AS (
    UPDATE tenders SET phase = $7, last_seq = $8, updated_at = now()
     WHERE tender_id = $1 AND last_seq = $2
 RETURNING tender_id
)
INSERT INTO tender_events (tender_id, seq, type, at, payload)
SELECT guard.tender_id, e.seq, e.type, e.at, e.payload
  FROM guard, unnest($3::int[], $4::text[], $5::timestamptz[], $6::jsonb[]) AS e(seq, type, at, payload)
"""


class TenderStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, recorded: list[RecordedTenderEvent], state_after: TenderState) -> None:
        """The tender row and its first events, in one transaction (one tender per plan)."""
        assert state_after.terms is not None
        tender_id = recorded[0].tender_id
        async with self.pool.acquire() as con, con.transaction():
            try:
                await con.execute(
                    "INSERT INTO tenders (tender_id, plan_id, phase, last_seq) VALUES ($1, $2, 'NEW', 0)",
                    tender_id, state_after.terms.plan_id,
                )
            except asyncpg.UniqueViolationError:
                raise Rejected(Code.SESSION_EXISTS, tender_id=tender_id) from None
            await self.append(recorded, 0, state_after, con=con)

    async def append(self, recorded: list[RecordedTenderEvent], expected_seq: int, state_after: TenderState,
                     *, con: asyncpg.Connection | None = None) -> None:
        """Append `recorded` if the tender's log is still at `expected_seq`, else `TenderConflict`."""
        tender_id = recorded[0].tender_id
        args = (tender_id, expected_seq, *_rows(recorded), state_after.phase.value, state_after.version)
        status = await (con or self.pool).execute(_APPEND, *args)
        if status != f"INSERT 0 {len(recorded)}":
            raise TenderConflict(tender_id)

    async def load(self, tender_id: str, after_seq: int = 0) -> list[RecordedTenderEvent]:
        rows = await self.pool.fetch(
            """SELECT seq, type, payload, recorded_at FROM tender_events
                WHERE tender_id = $1 AND seq > $2 ORDER BY seq""",
            tender_id, after_seq,
        )
        return [
            RecordedTenderEvent(tender_id, r["seq"], event_from_dict(r["type"], json.loads(r["payload"])),
                                r["recorded_at"])
            for r in rows
        ]

    async def tender_of(self, plan_id: str) -> str | None:
        value: str | None = await self.pool.fetchval("SELECT tender_id FROM tenders WHERE plan_id = $1", plan_id)
        return value

    async def plan_of(self, tender_id: str) -> str | None:
        value: str | None = await self.pool.fetchval("SELECT plan_id FROM tenders WHERE tender_id = $1", tender_id)
        return value

    async def unfinished(self) -> list[str]:
        """The tenders not yet ended (their timers are rebuilt from these at start-up)."""
        rows = await self.pool.fetch("SELECT tender_id FROM tenders WHERE phase <> 'ENDED' ORDER BY tender_id")
        return [r["tender_id"] for r in rows]

    async def rows(self, limit: int = 500) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT tender_id, plan_id, phase, last_seq, created_at, updated_at FROM tenders "
            "ORDER BY created_at DESC, tender_id LIMIT $1",
            limit,
        )
        return rows

    # bidders

    @staticmethod
    async def insert_bidder(con: asyncpg.Connection, tender_id: str, bidder_no: int, legal_name: str,
                            token_hash: bytes, expires_at: datetime) -> None:
        await con.execute(
            """INSERT INTO tender_bidders (tender_id, bidder_no, legal_name, token_hash, expires_at)
               VALUES ($1, $2, $3, $4, $5)""",
            tender_id, bidder_no, legal_name, token_hash, expires_at,
        )

    async def login(self, token_hash: bytes) -> TenderLogin | None:
        row = await self.pool.fetchrow(
            "SELECT tender_id, bidder_no, expires_at FROM tender_bidders WHERE token_hash = $1", token_hash
        )
        return None if row is None else TenderLogin(row["tender_id"], row["bidder_no"], row["expires_at"])

    async def bidder_names(self, tender_id: str) -> dict[int, str]:
        rows = await self.pool.fetch(
            "SELECT bidder_no, legal_name FROM tender_bidders WHERE tender_id = $1", tender_id
        )
        return {r["bidder_no"]: r["legal_name"] for r in rows}
