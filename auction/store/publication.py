"""The publication tables (migrations/0005_publication.sql): documents, the outbox,
attempts and supervision numbers; and the facts recorded after the deal, each with the
result version it produced (migrations/0017_post_deal.sql), never changed. Writes that must share a transaction with the
event that causes them take the connection of that transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from auction.documents.landchina import site_order
from auction.domain.codes import Code, Rejected
from auction.domain.plan.post_deal import Payment, PostDealRecording

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"


@dataclass(frozen=True)
class Claimed:
    outbox_id: int
    document_id: str
    channel: str
    parcel_no: str
    attempts: int
    document: dict[str, Any]


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def stored_document(raw: str) -> dict[str, Any]:
    """A stored document as it was written: jsonb keeps keys in its own order, so the
    site's field order is laid back on every read (delivery, pages, exports)."""
    return site_order(dict(json.loads(raw)))


async def insert_document(
    con: asyncpg.Connection, document: dict[str, Any], *, by: str, published_at: datetime, channels: list[str]
) -> bool:
    """The document and one outbox row per channel, on the caller's connection (its
    transaction). False when this plan already has a document of this kind."""
    inserted = await con.fetchval(
        """INSERT INTO publications (document_id, kind, plan_id, parcel_no, document, published_at, published_by)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
           ON CONFLICT DO NOTHING RETURNING document_id""",
        document["document_id"], document["kind"], document["plan_id"], document["parcel_no"],
        _dumps(document), published_at, by,
    )
    if inserted is None:
        return False
    await con.executemany(
        "INSERT INTO publication_outbox (document_id, channel, parcel_no) VALUES ($1, $2, $3)",
        [(document["document_id"], channel, document["parcel_no"]) for channel in channels],
    )
    return True


async def claim(con: asyncpg.Connection) -> Claimed | None:
    """Lock the next due row (call inside a transaction). Due: pending, its time has
    come, and no earlier row of its parcel on its channel is still undelivered (order)."""
    row = await con.fetchrow(
        """SELECT o.outbox_id, o.document_id, o.channel, o.parcel_no, o.attempts, p.document
             FROM publication_outbox o JOIN publications p USING (document_id)
            WHERE o.state = 'PENDING' AND o.next_attempt_at <= now()
              AND NOT EXISTS (SELECT 1 FROM publication_outbox e
                               WHERE e.parcel_no = o.parcel_no AND e.channel = o.channel
                                 AND e.outbox_id < o.outbox_id AND e.state <> 'DELIVERED')
            ORDER BY o.next_attempt_at, o.outbox_id
            LIMIT 1
              FOR UPDATE OF o SKIP LOCKED"""
    )
    if row is None:
        return None
    return Claimed(row["outbox_id"], row["document_id"], row["channel"], row["parcel_no"], row["attempts"],
                   stored_document(row["document"]))


async def start_attempt(pool: asyncpg.Pool, outbox_id: int, node_id: str) -> int:
    """Recorded (committed) before the request goes out: a crash leaves it unfinished."""
    attempt: int = await pool.fetchval(
        """INSERT INTO publication_attempts (outbox_id, attempt, node_id)
           SELECT $1, coalesce(max(attempt), 0) + 1, $2 FROM publication_attempts WHERE outbox_id = $1
           RETURNING attempt""",
        outbox_id, node_id,
    )
    return attempt


async def finish_attempt(
    con: asyncpg.Connection, outbox_id: int, attempt: int, *, status: int | None, error: str | None,
    receipt: str | None,
) -> None:
    await con.execute(
        """UPDATE publication_attempts SET finished_at = clock_timestamp(), http_status = $3, error = $4, receipt = $5
            WHERE outbox_id = $1 AND attempt = $2""",
        outbox_id, attempt, status, error, receipt,
    )


async def delivered(con: asyncpg.Connection, outbox_id: int, attempts: int, receipt: str) -> None:
    await con.execute(
        """UPDATE publication_outbox SET state = 'DELIVERED', attempts = $2, receipt = $3, delivered_at = now(),
                  last_error = NULL WHERE outbox_id = $1""",
        outbox_id, attempts, receipt,
    )


async def failed(con: asyncpg.Connection, outbox_id: int, attempts: int, error: str, retry_in: float | None) -> None:
    """Back off (`retry_in` seconds) or, at the retry limit (`None`), give up until an operator retries."""
    await con.execute(
        """UPDATE publication_outbox
              SET attempts = $2, last_error = $3,
                  state = CASE WHEN $4::float8 IS NULL THEN 'FAILED' ELSE 'PENDING' END,
                  next_attempt_at = now() + make_interval(secs => coalesce($4::float8, 0))
            WHERE outbox_id = $1""",
        outbox_id, attempts, error[:500], retry_in,
    )


async def retry(pool: asyncpg.Pool, document_id: str, channel: str | None) -> int:
    """An operator's retry: undelivered rows of the document become due now, attempts from 0."""
    status: str = await pool.execute(
        """UPDATE publication_outbox SET state = 'PENDING', attempts = 0, next_attempt_at = now()
            WHERE document_id = $1 AND state <> 'DELIVERED' AND ($2::text IS NULL OR channel = $2)""",
        document_id, channel,
    )
    return int(status.split()[-1])


async def documents(pool: asyncpg.Pool, kinds: tuple[str, ...] | None = None, limit: int = 200
                    ) -> list[asyncpg.Record]:
    """The newest documents first, of `kinds` (all without)."""
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT document_id, kind, plan_id, parcel_no, document, published_at, position FROM publications
            WHERE $1::text[] IS NULL OR kind = ANY($1::text[]) ORDER BY position DESC LIMIT $2""",
        list(kinds) if kinds is not None else None, limit,
    )
    return rows


async def document_row(pool: asyncpg.Pool, document_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        """SELECT document_id, kind, plan_id, parcel_no, document, published_at, position FROM publications
            WHERE document_id = $1""",
        document_id,
    )
    return row


async def document(pool: asyncpg.Pool | asyncpg.Connection, document_id: str) -> dict[str, Any] | None:
    raw = await pool.fetchval("SELECT document FROM publications WHERE document_id = $1", document_id)
    return None if raw is None else stored_document(raw)


async def result_versions(pool: asyncpg.Pool, plan_id: str) -> list[dict[str, Any]]:
    """The plan's result and its later versions (RESULT_UPDATE), oldest first."""
    rows = await pool.fetch(
        """SELECT document FROM publications WHERE plan_id = $1 AND kind IN ('RESULT', 'RESULT_UPDATE')
            ORDER BY position""", plan_id)
    return [stored_document(r["document"]) for r in rows]


async def deliveries(pool: asyncpg.Pool, document_ids: list[str]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT outbox_id, document_id, channel, state, attempts, next_attempt_at, last_error, receipt, delivered_at
             FROM publication_outbox WHERE document_id = ANY($1::text[]) ORDER BY outbox_id""",
        document_ids,
    )
    return rows


async def attempts(pool: asyncpg.Pool, outbox_ids: list[int]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT outbox_id, attempt, node_id, started_at, finished_at, http_status, error, receipt
             FROM publication_attempts WHERE outbox_id = ANY($1::bigint[]) ORDER BY outbox_id, attempt""",
        outbox_ids,
    )
    return rows


async def record_supervision_no(pool: asyncpg.Pool, plan_id: str, number: str, by: str) -> None:
    """Entered once; the same number again is a retry; a different one is refused (it is
    printed on the result once delivered: correct it with the monitoring system first)."""
    existing = await pool.fetchval(
        """INSERT INTO supervision_numbers (plan_id, supervision_no, recorded_by) VALUES ($1, $2, $3)
           ON CONFLICT (plan_id) DO UPDATE SET supervision_no = supervision_numbers.supervision_no
           RETURNING supervision_no""",
        plan_id, number, by,
    )
    if existing != number:
        raise Rejected(Code.CONFLICT, "another 电子监管号 is recorded for this plan", supervision_no=existing)


async def supervision_no(pool: asyncpg.Pool, plan_id: str) -> str | None:
    value: str | None = await pool.fetchval("SELECT supervision_no FROM supervision_numbers WHERE plan_id = $1",
                                            plan_id)
    return value


async def result_confirmed_at(pool: asyncpg.Pool, plan_id: str) -> datetime | None:
    """Q29: when the result was confirmed by every required channel, or None (not yet,
    not published, or no channel configured: the clock is never met on the server's
    own pages alone)."""
    row = await pool.fetchrow(
        """SELECT count(*) AS n, count(*) FILTER (WHERE o.state = 'DELIVERED') AS done, max(o.delivered_at) AS at
             FROM publications p JOIN publication_outbox o USING (document_id)
            WHERE p.plan_id = $1 AND p.kind IN ('RESULT', 'RESULT_UNSOLD')""",
        plan_id,
    )
    if row is None or row["n"] == 0 or row["done"] != row["n"]:
        return None
    at: datetime = row["at"]
    return at


async def depth(pool: asyncpg.Pool) -> dict[str, int]:
    """Outbox rows not yet delivered, by state: what `GET /metrics` shows."""
    rows = await pool.fetch(
        "SELECT state, count(*) AS n FROM publication_outbox WHERE state <> $1 GROUP BY state", DELIVERED,
    )
    return {r["state"]: int(r["n"]) for r in rows}


# ---------------------------------------------------------------------------
# after the deal


def _post_deal_recording(row: asyncpg.Record) -> PostDealRecording:
    return PostDealRecording(
        row["actual_start_date"], row["actual_completion_date"],
        tuple(Payment(int(p["period"]), date.fromisoformat(p["paid_date"]), int(p["amount_fen"]))
              for p in json.loads(row["payments"])),
    )


async def post_deal_recordings(db: asyncpg.Pool | asyncpg.Connection, plan_id: str) -> list[PostDealRecording]:
    """The plan's recordings in the order they were made (version 2, 3, ...)."""
    rows = await db.fetch(
        """SELECT actual_start_date, actual_completion_date, payments FROM post_deal_records
            WHERE plan_id = $1 ORDER BY version""", plan_id)
    return [_post_deal_recording(r) for r in rows]


async def post_deal_history(db: asyncpg.Pool | asyncpg.Connection, plan_id: str) -> list[dict[str, Any]]:
    """Every recording with who made it, when, and the document it produced."""
    rows = await db.fetch(
        """SELECT version, actual_start_date, actual_completion_date, payments, document_id, recorded_by,
                  recorded_at FROM post_deal_records WHERE plan_id = $1 ORDER BY version""", plan_id)
    return [{"version": r["version"], "document_id": r["document_id"], "recorded_by": r["recorded_by"],
             "recorded_at": r["recorded_at"], "recording": _post_deal_recording(r)} for r in rows]


async def insert_post_deal(con: asyncpg.Connection, plan_id: str, version: int, recording: PostDealRecording, *,
                           document_id: str, by: str) -> None:
    payments = [{"period": p.period, "paid_date": p.paid_date.isoformat(), "amount_fen": p.amount_fen}
                for p in recording.payments]
    await con.execute(
        """INSERT INTO post_deal_records (plan_id, version, actual_start_date, actual_completion_date, payments,
                                          document_id, recorded_by)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)""",
        plan_id, version, recording.actual_start_date, recording.actual_completion_date,
        json.dumps(payments), document_id, by)
