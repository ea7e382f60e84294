"""Deadline rows, clock events, re-offers, closings and settlement figures in PostgreSQL.

A row is `Deadline.to_dict()` in `details`, with due/warn times and state
projected into columns for queries and indexes. Rows are created once
(`ON CONFLICT DO NOTHING`: the close and the signing are idempotent) and then
updated only under a row lock (`get(..., for_update=True)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from auction.domain.clock.deadlines import ClockEvent, Deadline, DeadlineKind, DeadlineMoved, DeadlineState
from auction.store import Executor
from auction.store.events import to_datetime, to_micros

OPEN_STATES = [DeadlineState.PENDING.value, DeadlineState.OVERDUE.value, DeadlineState.CALENDAR_MISSING.value]


@dataclass(frozen=True)
class Record:
    deadline: Deadline
    warned_at: int | None  # µs UTC: operators were warned (the publication's warning)


def _ts(micros: int | None) -> Any:
    return to_datetime(micros) if micros is not None else None


def _record(r: asyncpg.Record) -> Record:
    return Record(Deadline.from_dict(json.loads(r["details"])), to_micros(r["warned_at"]) if r["warned_at"] else None)


async def insert(con: Executor, rows: Iterable[Deadline]) -> list[Deadline]:
    """Create rows that do not exist yet; returns those created."""
    created = []
    for row in rows:
        status = await con.execute(
            """INSERT INTO deadlines (deadline_id, session_id, kind, subject, due_at, warn_at, state, details)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (deadline_id) DO NOTHING""",
            row.deadline_id, row.session_id, row.kind.value, row.subject, _ts(row.due_at), _ts(row.warn_at),
            row.state.value, json.dumps(row.to_dict(), ensure_ascii=False),
        )
        if status == "INSERT 0 1":
            created.append(row)
    return created


async def update(con: Executor, row: Deadline, warned_at: int | None = None) -> None:
    await con.execute(
        """UPDATE deadlines SET due_at = $2, warn_at = $3, state = $4, details = $5,
                  warned_at = COALESCE(warned_at, $6), updated_at = now()
            WHERE deadline_id = $1""",
        row.deadline_id, _ts(row.due_at), _ts(row.warn_at), row.state.value,
        json.dumps(row.to_dict(), ensure_ascii=False), _ts(warned_at),
    )


async def get(con: Executor, deadline_id: str, *, for_update: bool = False) -> Record | None:
    lock = " FOR UPDATE" if for_update else ""
    r = await con.fetchrow(f"SELECT details, warned_at FROM deadlines WHERE deadline_id = $1{lock}", deadline_id)
    return _record(r) if r is not None else None


async def of_session(
    con: Executor, session_id: str, kind: DeadlineKind | None = None, *, for_update: bool = False
) -> list[Record]:
    lock = " FOR UPDATE" if for_update else ""
    rows = await con.fetch(
        f"""SELECT details, warned_at FROM deadlines
             WHERE session_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY created_at, deadline_id{lock}""",
        session_id, kind.value if kind else None,
    )
    return [_record(r) for r in rows]


async def open_records(con: Executor) -> list[Record]:
    rows = await con.fetch(
        """SELECT details, warned_at FROM deadlines WHERE state = ANY($1::text[])
            ORDER BY due_at NULLS LAST, deadline_id""",
        OPEN_STATES,
    )
    return [_record(r) for r in rows]


async def all_records(con: Executor, limit: int = 2000) -> list[Record]:
    rows = await con.fetch(
        "SELECT details, warned_at FROM deadlines ORDER BY created_at DESC, deadline_id LIMIT $1", limit
    )
    return [_record(r) for r in rows]


async def ids_to_recompute(con: Executor) -> list[str]:
    """Rows a calendar change may move: unknown due dates, pending rows, and rows counted
    on a provisional year (but a Q42 default: that happened)."""
    rows = await con.fetch(
        """SELECT deadline_id FROM deadlines
            WHERE state IN ('CALENDAR_MISSING', 'PENDING') OR (state = 'DONE' AND due_at IS NULL)
               OR (state <> 'DEFAULTED'
                   AND jsonb_array_length(COALESCE(details->'provisional_years', '[]'::jsonb)) > 0)
            ORDER BY deadline_id"""
    )
    return [r["deadline_id"] for r in rows]


async def add_clock_events(con: Executor, events: Iterable[ClockEvent]) -> None:
    for event in events:
        payload = {k: (v.value if hasattr(v, "value") else v) for k, v in event.__dict__.items()}
        await con.execute(
            """INSERT INTO clock_events (session_id, type, at, payload) VALUES ($1, $2, $3, $4)
               ON CONFLICT (session_id, type) DO NOTHING""",
            event.session_id, type(event).__name__, to_datetime(event.at), json.dumps(payload, ensure_ascii=False),
        )


async def clock_events(con: Executor, session_id: str) -> list[dict[str, Any]]:
    rows = await con.fetch("SELECT type, payload FROM clock_events WHERE session_id = $1 ORDER BY id", session_id)
    return [{"type": r["type"], "data": json.loads(r["payload"])} for r in rows]


async def add_move(con: Executor, move: DeadlineMoved) -> None:
    await con.execute(
        """INSERT INTO deadline_moves (deadline_id, session_id, kind, old_due_date, new_due_date,
                                       old_provisional_years, new_provisional_years, reason, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        move.deadline_id, move.session_id, move.kind.value, move.old_due_date, move.new_due_date,
        list(move.old_provisional_years), list(move.new_provisional_years), move.reason, to_datetime(move.at),
    )


async def moves(con: Executor, *, session_id: str | None = None, deadline_ids: list[str] | None = None,
                limit: int = 200) -> list[dict[str, Any]]:
    """Recorded due-date moves, newest first (`DeadlineMoved`): for a session, for some rows, or all."""
    rows = await con.fetch(
        """SELECT deadline_id, session_id, kind, old_due_date, new_due_date, old_provisional_years,
                  new_provisional_years, reason, at FROM deadline_moves
            WHERE ($1::text IS NULL OR session_id = $1) AND ($2::text[] IS NULL OR deadline_id = ANY($2::text[]))
            ORDER BY id DESC LIMIT $3""",
        session_id, deadline_ids, limit,
    )
    return [
        {
            "deadline_id": r["deadline_id"], "session_id": r["session_id"], "kind": r["kind"],
            "old_due_date": r["old_due_date"].isoformat(), "new_due_date": r["new_due_date"].isoformat(),
            "old_provisional_years": list(r["old_provisional_years"]),
            "new_provisional_years": list(r["new_provisional_years"]),
            "reason": r["reason"], "at": to_micros(r["at"]),
        }
        for r in rows
    ]


@dataclass(frozen=True)
class Closing:
    session_id: str
    closed_at: int
    outcome: str  # SOLD, UNSOLD, TERMINATED
    winner_bidder_no: int | None
    winner_application_id: str | None
    price_fen: int | None
    plan_id: str | None


async def add_closing(con: Executor, c: Closing) -> None:
    await con.execute(
        """INSERT INTO session_closings (session_id, closed_at, outcome, winner_bidder_no, winner_application_id,
                                         price_fen, plan_id) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        c.session_id, to_datetime(c.closed_at), c.outcome, c.winner_bidder_no, c.winner_application_id,
        c.price_fen, c.plan_id,
    )


async def closing(con: Executor, session_id: str) -> Closing | None:
    r = await con.fetchrow(
        """SELECT session_id, closed_at, outcome, winner_bidder_no, winner_application_id, price_fen, plan_id
             FROM session_closings WHERE session_id = $1""",
        session_id,
    )
    if r is None:
        return None
    return Closing(r["session_id"], to_micros(r["closed_at"]), r["outcome"], r["winner_bidder_no"],
                   r["winner_application_id"], r["price_fen"], r["plan_id"])


async def unprocessed_final_sessions(con: Executor) -> list[str]:
    rows = await con.fetch(
        """SELECT s.session_id FROM sessions s
            WHERE s.phase IN ('CLOSED', 'TERMINATED')
              AND NOT EXISTS (SELECT 1 FROM session_closings c WHERE c.session_id = s.session_id)
            ORDER BY s.session_id"""
    )
    return [r["session_id"] for r in rows]


async def reoffer(con: Executor, session_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await con.fetchrow(
        "SELECT session_id, old_plan_id, new_plan_id, requested_at, drafted_at, note FROM reoffers WHERE session_id = $1",
        session_id,
    )
    return row


async def request_reoffer(con: Executor, session_id: str, old_plan_id: str | None) -> None:
    """Q42: the default asks for a re-offer, once per session."""
    await con.execute(
        """INSERT INTO reoffers (session_id, old_plan_id, requested_at) VALUES ($1, $2, now())
           ON CONFLICT (session_id) DO NOTHING""",
        session_id, old_plan_id,
    )


async def set_reoffer_note(con: Executor, session_id: str, note: str) -> None:
    await con.execute("UPDATE reoffers SET note = $2 WHERE session_id = $1", session_id, note)


async def reoffer_drafted(con: Executor, session_id: str, new_plan_id: str, note: str) -> None:
    """The re-offer plan was drafted (only the first draft is recorded)."""
    await con.execute(
        """UPDATE reoffers SET new_plan_id = $2, drafted_at = now(), note = $3
            WHERE session_id = $1 AND new_plan_id IS NULL""",
        session_id, new_plan_id, note,
    )


async def pending_reoffers(con: Executor) -> list[str]:
    rows = await con.fetch("SELECT session_id FROM reoffers WHERE new_plan_id IS NULL ORDER BY session_id")
    return [r["session_id"] for r in rows]


async def contract_defaulted_at(con: Executor, session_id: str) -> datetime | None:
    """When the session's contract-signing deadline was defaulted (Q42), or None."""
    at: datetime | None = await con.fetchval(
        "SELECT max(updated_at) FROM deadlines WHERE session_id = $1 AND kind = 'CONTRACT_SIGNING'"
        " AND state = 'DEFAULTED'", session_id)
    return at


async def lock_closing(con: Executor, session_id: str) -> None:
    """Serialise the close's booking of a session's deposits with payments to it, so
    money arriving at that moment is booked by exactly one of them (transaction-scoped)."""
    await con.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"closing:{session_id}")


async def open_refund(con: Executor, session_id: str, subject: str) -> Record | None:
    """The refund row still open for a sub-account's held money, if any."""
    row = await con.fetchrow(
        """SELECT details, warned_at FROM deadlines
            WHERE session_id = $1 AND kind = 'DEPOSIT_REFUND' AND subject = $2 AND state = ANY($3::text[])
            ORDER BY created_at LIMIT 1""",
        session_id, subject, OPEN_STATES,
    )
    return _record(row) if row is not None else None


# ----------------------------------------------------------------------
# settlement figures (Q40-Q41), append-only: the latest counts


@dataclass(frozen=True)
class SettlementRow:
    regime: str
    pre_reform: bool
    land_use_code: str | None
    figures: dict[str, Any]
    entered_by: str
    entered_at: datetime


async def add_settlement(
    con: Executor, session_id: str, *, regime: str, pre_reform: bool, land_use_code: str | None,
    figures: dict[str, Any], entered_by: str,
) -> None:
    await con.execute(
        """INSERT INTO settlements (session_id, regime, pre_reform, land_use_code, figures, entered_by)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        session_id, regime, pre_reform, land_use_code, json.dumps(figures, ensure_ascii=False), entered_by,
    )


async def settlements(con: Executor, session_id: str) -> list[SettlementRow]:
    """The session's settlement figures, newest first."""
    rows = await con.fetch(
        """SELECT regime, pre_reform, land_use_code, figures, entered_by, entered_at FROM settlements
            WHERE session_id = $1 ORDER BY id DESC""",
        session_id,
    )
    return [SettlementRow(r["regime"], r["pre_reform"], r["land_use_code"], json.loads(r["figures"]),
                          r["entered_by"], r["entered_at"]) for r in rows]


async def open_counts(pool: asyncpg.Pool) -> dict[tuple[str, str], int]:
    """The board's open rows, counted by (kind, state): what `GET /metrics` shows."""
    rows = await pool.fetch(
        "SELECT kind, state, count(*) AS n FROM deadlines WHERE state = ANY($1::text[]) GROUP BY kind, state",
        OPEN_STATES,
    )
    return {(r["kind"], r["state"]): int(r["n"]) for r in rows}
