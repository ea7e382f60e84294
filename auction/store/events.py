"""The session event log in PostgreSQL.

Append is one SQL statement: it moves the session row's `last_seq` from the
value the engine decided on to the new one *and* inserts the events. If another
writer got there first, the guard matches no row and nothing is written
(`Conflict`); the caller catches up from the log and decides again. The
primary key (session_id, seq) backs this up. An accepted bid is acknowledged
only after this statement has committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.events import BidAccepted, Event, event_from_dict, event_to_dict, event_type, is_public
from auction.domain.session import SessionState


class Conflict(Exception):
    """Another writer appended to this session first, or the deadline guard refused."""


def to_datetime(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def to_micros(value: datetime) -> int:
    return int(value.timestamp()) * 1_000_000 + value.microsecond


@dataclass(frozen=True)
class Recorded:
    """An event as the log holds it."""

    session_id: str
    seq: int
    pub_seq: int | None
    event: Event


def number(session_id: str, state_before: SessionState, events: list[Event]) -> list[Recorded]:
    """Give each new event its log position and, if public, its public position."""
    seq, pub = state_before.seq, state_before.pub_seq
    out = []
    for event in events:
        seq += 1
        pub_seq = None
        if is_public(event):
            pub += 1
            pub_seq = pub
        out.append(Recorded(session_id, seq, pub_seq, event))
    return out


def _bid_key(event: Event) -> str | None:
    if isinstance(event, BidAccepted):
        return f"{event.bidder_no}:{event.bid_id}"
    return None


def _rows(recorded: list[Recorded]) -> tuple[list[Any], ...]:
    return (
        [r.seq for r in recorded],
        [r.pub_seq for r in recorded],
        [event_type(r.event) for r in recorded],
        [to_datetime(r.event.at) for r in recorded],
        [json.dumps(event_to_dict(r.event), ensure_ascii=False, separators=(",", ":")) for r in recorded],
        [_bid_key(r.event) for r in recorded],
    )


def _projection(state: SessionState) -> tuple[Any, ...]:
    wake = state.next_wakeup()
    highest = state.highest
    return (
        state.phase.value,
        state.seq,
        state.pub_seq,
        to_datetime(wake) if wake is not None else None,
        highest.amount if highest else None,
        highest.bidder_no if highest else None,
        state.bid_count,
    )


_APPEND = """
WITH guard AS (
    UPDATE sessions
       SET phase = $9, last_seq = $10, last_pub_seq = $11, next_wakeup = $12,
           highest_fen = $13, highest_bidder_no = $14, bid_count = $15, updated_at = now()
     WHERE session_id = $1 AND last_seq = $2
       AND ($16::timestamptz IS NULL OR clock_timestamp() < $16::timestamptz)
 RETURNING session_id
)
INSERT INTO session_events (session_id, seq, pub_seq, type, at, payload, bid_key)
SELECT guard.session_id, e.seq, e.pub_seq, e.type, e.at, e.payload, e.bid_key
  FROM guard,
       unnest($3::int[], $4::int[], $5::text[], $6::timestamptz[], $7::jsonb[], $8::text[])
           AS e(seq, pub_seq, type, at, payload, bid_key)
"""


class EventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(
        self,
        recorded: list[Recorded],
        state_after: SessionState,
        sealed: tuple[str, bytes, bytes] | None,
    ) -> None:
        """Create the session row, its first events and its sealed reserve in one transaction."""
        terms = state_after.terms
        assert terms is not None
        async with self.pool.acquire() as con, con.transaction():
            try:
                await con.execute(
                    """INSERT INTO sessions (session_id, method, parcel_ref, phase, last_seq, last_pub_seq)
                       VALUES ($1, $2, $3, 'NEW', 0, 0)""",
                    terms.session_id, terms.method.value, terms.parcel_ref,
                )
            except asyncpg.UniqueViolationError:
                raise Rejected(Code.SESSION_EXISTS, session_id=terms.session_id) from None
            if sealed is not None:
                key_id, nonce, ciphertext = sealed
                await con.execute(
                    "INSERT INTO sealed_reserves (session_id, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)",
                    terms.session_id, key_id, nonce, ciphertext,
                )
            status = await con.execute(_APPEND, terms.session_id, 0, *_rows(recorded), *_projection(state_after), None)
            if status != f"INSERT 0 {len(recorded)}":
                raise Conflict(terms.session_id)

    async def append(
        self,
        recorded: list[Recorded],
        expected_seq: int,
        state_after: SessionState,
        *,
        before: int | None = None,
        con: asyncpg.Connection | None = None,
    ) -> None:
        """Append `recorded` if the log is still at `expected_seq` (and, with `before`,
        only if the database clock is still before that instant: a bid counts when
        its transaction is accepted before the deadline)."""
        session_id = recorded[0].session_id
        guard = to_datetime(before) if before is not None else None
        args = (session_id, expected_seq, *_rows(recorded), *_projection(state_after), guard)
        if con is None:
            status = await self.pool.execute(_APPEND, *args)
        else:
            status = await con.execute(_APPEND, *args)
        if status != f"INSERT 0 {len(recorded)}":
            raise Conflict(session_id)

    async def load(self, session_id: str, after_seq: int = 0) -> list[Recorded]:
        rows = await self.pool.fetch(
            "SELECT seq, pub_seq, type, payload FROM session_events WHERE session_id = $1 AND seq > $2 ORDER BY seq",
            session_id, after_seq,
        )
        return [Recorded(session_id, r["seq"], r["pub_seq"], event_from_dict(r["type"], json.loads(r["payload"])))
                for r in rows]

    async def load_public(self, session_id: str, after_pub_seq: int, limit: int = 10_000) -> list[Recorded]:
        rows = await self.pool.fetch(
            """SELECT seq, pub_seq, type, payload FROM session_events
                WHERE session_id = $1 AND pub_seq > $2 ORDER BY pub_seq LIMIT $3""",
            session_id, after_pub_seq, limit,
        )
        return [Recorded(session_id, r["seq"], r["pub_seq"], event_from_dict(r["type"], json.loads(r["payload"])))
                for r in rows]

    async def open_sessions(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT session_id FROM sessions WHERE phase NOT IN ('CLOSED', 'TERMINATED') ORDER BY session_id"
        )
        return [r["session_id"] for r in rows]

    async def exists(self, session_id: str) -> bool:
        return bool(await self.pool.fetchval("SELECT 1 FROM sessions WHERE session_id = $1", session_id))
