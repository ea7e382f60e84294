"""Signed tree heads (migrations/0015_tree_heads.sql). The tree is the session's public
events (auction/store/events.py); only what the trading center signed is kept here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auction.store import Executor


@dataclass(frozen=True)
class SignedHead:
    session_id: str
    tree_size: int
    root_hash: bytes
    timestamp_us: int
    key_id: str
    signature: bytes


async def insert(con: Executor, head: SignedHead) -> SignedHead:
    """Keep `head`; if a head of that size is kept already (another node signed it), that one."""
    row = await con.fetchrow(
        """INSERT INTO tree_heads (session_id, tree_size, root_hash, timestamp_us, key_id, signature)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING tree_size""",
        head.session_id, head.tree_size, head.root_hash, head.timestamp_us, head.key_id, head.signature,
    )
    if row is not None:
        return head
    kept = await of_size(con, head.session_id, head.tree_size)
    assert kept is not None
    return kept


def _head(r: Any) -> SignedHead:
    return SignedHead(r["session_id"], r["tree_size"], bytes(r["root_hash"]), r["timestamp_us"], r["key_id"],
                      bytes(r["signature"]))


_COLUMNS = "session_id, tree_size, root_hash, timestamp_us, key_id, signature"


async def of_size(con: Executor, session_id: str, tree_size: int) -> SignedHead | None:
    row = await con.fetchrow(f"SELECT {_COLUMNS} FROM tree_heads WHERE session_id = $1 AND tree_size = $2",
                             session_id, tree_size)
    return _head(row) if row is not None else None


async def of_session(con: Executor, session_id: str) -> list[SignedHead]:
    rows = await con.fetch(f"SELECT {_COLUMNS} FROM tree_heads WHERE session_id = $1 ORDER BY tree_size",
                           session_id)
    return [_head(r) for r in rows]
