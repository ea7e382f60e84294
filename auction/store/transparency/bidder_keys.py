"""Bidders' Ed25519 public keys for signed bids (migrations/0015_tree_heads.sql)."""

from __future__ import annotations

from auction.store import Executor


async def register(con: Executor, session_id: str, bidder_no: int, public_key: bytes) -> bytes:
    """Register the bidder's key once; returns the key registered (another one, if one was already)."""
    kept: bytes | None = await con.fetchval(
        """INSERT INTO bidder_keys (session_id, bidder_no, public_key) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING public_key""",
        session_id, bidder_no, public_key,
    )
    if kept is None:
        kept = await con.fetchval("SELECT public_key FROM bidder_keys WHERE session_id = $1 AND bidder_no = $2",
                                  session_id, bidder_no)
    assert kept is not None
    return bytes(kept)


async def key_of(con: Executor, session_id: str, bidder_no: int) -> bytes | None:
    kept: bytes | None = await con.fetchval(
        "SELECT public_key FROM bidder_keys WHERE session_id = $1 AND bidder_no = $2", session_id, bidder_no)
    return bytes(kept) if kept is not None else None


async def keys_of(con: Executor, session_id: str) -> list[tuple[int, bytes]]:
    rows = await con.fetch("SELECT bidder_no, public_key FROM bidder_keys WHERE session_id = $1 ORDER BY bidder_no",
                           session_id)
    return [(r["bidder_no"], bytes(r["public_key"])) for r in rows]
