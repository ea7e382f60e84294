"""A tender as a sale (migrations/0018_sales.sql): what deposits and the legal clock need of
the tender tables beside the log (`log.py`): the token a qualified applicant is issued, and
the ended tenders whose deposits and deadlines are not booked yet."""

from __future__ import annotations

from datetime import datetime

from auction.store import Executor


async def kind_of(con: Executor, sale_id: str) -> str | None:
    """'SESSION' or 'TENDER' (`sales.kind`, never rewritten), or None: no such sale."""
    kind: str | None = await con.fetchval("SELECT kind FROM sales WHERE sale_id = $1", sale_id)
    return kind


async def set_token(con: Executor, tender_id: str, bidder_no: int, token_hash: bytes, expires_at: datetime) -> bool:
    """The bidder's token replaced by one shown once (the one drawn at qualification is never
    shown); the old hash signs nobody in any more. False: no such bidder."""
    status = await con.execute(
        "UPDATE tender_bidders SET token_hash = $3, expires_at = $4 WHERE tender_id = $1 AND bidder_no = $2",
        tender_id, bidder_no, token_hash, expires_at,
    )
    return bool(status == "UPDATE 1")


async def unprocessed_ended(con: Executor) -> list[str]:
    """Ended tenders whose close (deposits' fate, deadline rows) is not booked yet."""
    rows = await con.fetch(
        """SELECT t.tender_id FROM tenders t
            WHERE t.phase = 'ENDED'
              AND NOT EXISTS (SELECT 1 FROM session_closings c WHERE c.session_id = t.tender_id)
            ORDER BY t.tender_id"""
    )
    return [r["tender_id"] for r in rows]
