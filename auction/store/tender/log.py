"""The tender event log in PostgreSQL (migrations/0016_tenders.sql), its projection and
its qualified bidders.

The log is an `AggregateLog` (`store/database/aggregate_log.py`), like the plans':
a guarded append moves the tender row's `last_seq` and inserts the events, or
writes nothing and raises `TenderConflict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.tender.events import TenderEvent, event_from_dict, event_to_dict, event_type
from auction.domain.tender.tender import TenderState
from auction.store.database.aggregate_log import AggregateLog, LoggedEvent, LogTables, number

__all__ = ["RecordedTenderEvent", "TenderConflict", "TenderLogin", "TenderStore", "number"]


class TenderConflict(Exception):
    """Another writer appended to this tender first."""


RecordedTenderEvent = LoggedEvent[TenderEvent]


@dataclass(frozen=True)
class TenderLogin:
    """Whom a tender bidding token (by its hash) signs in."""

    tender_id: str
    bidder_no: int
    expires_at: datetime


class TenderStore(AggregateLog[TenderState, TenderEvent]):
    tables = LogTables("tenders", "tender_events", "tender_id", ("phase",))
    conflict = TenderConflict

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, type_of=event_type, to_dict=event_to_dict, from_dict=event_from_dict)

    def _projected(self, state_after: TenderState) -> tuple[str]:
        return (state_after.phase.value,)

    async def create(self, recorded: list[RecordedTenderEvent], state_after: TenderState) -> None:
        """The tender row and its first events, in one transaction (one tender per plan)."""
        assert state_after.terms is not None
        tender_id = recorded[0].aggregate_id
        await self._create(
            "INSERT INTO tenders (tender_id, plan_id, phase, last_seq) VALUES ($1, $2, 'NEW', 0)",
            (tender_id, state_after.terms.plan_id), recorded, state_after,
            Rejected(Code.SESSION_EXISTS, tender_id=tender_id),
        )

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
