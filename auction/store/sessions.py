"""What sits beside a session's event log (migrations/0001_event_log.sql, 0006): the
`sessions` projection as listed and checked, the qualified bidders with their token
hashes, and the sealed reserve. The log itself is auction/store/events.py.

Writes that belong to a command take the connection of the command's transaction
(`SessionService.execute(..., also=...)`), so they commit or roll back with its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from auction.store import Executor


@dataclass(frozen=True)
class SessionRow:
    """One line of the sessions list (the projection, newest first)."""

    session_id: str
    method: str
    parcel_ref: str
    phase: str
    last_pub_seq: int
    next_wakeup: datetime | None
    highest_fen: int | None
    highest_bidder_no: int | None
    bid_count: int
    created_at: datetime


@dataclass(frozen=True)
class Projection:
    """The projection's figures that `verify` compares with a replay of the log."""

    phase: str
    last_seq: int
    last_pub_seq: int
    highest_fen: int | None


@dataclass(frozen=True)
class BidderLogin:
    """Whom a bidding token (by its hash) signs in."""

    session_id: str
    bidder_no: int
    expires_at: datetime
    token_epoch: int


@dataclass(frozen=True)
class SealedReserve:
    key_id: str
    nonce: bytes
    ciphertext: bytes


# ----------------------------------------------------------------------
# the sessions projection


async def listed(con: Executor, limit: int = 500) -> list[SessionRow]:
    rows = await con.fetch(
        """SELECT session_id, method, parcel_ref, phase, last_pub_seq, next_wakeup, highest_fen,
                  highest_bidder_no, bid_count, created_at FROM sessions ORDER BY created_at DESC LIMIT $1""",
        limit,
    )
    return [SessionRow(r["session_id"], r["method"], r["parcel_ref"], r["phase"], r["last_pub_seq"],
                       r["next_wakeup"], r["highest_fen"], r["highest_bidder_no"], r["bid_count"],
                       r["created_at"]) for r in rows]


async def projection(con: Executor, session_id: str) -> Projection | None:
    r = await con.fetchrow(
        "SELECT phase, last_seq, last_pub_seq, highest_fen FROM sessions WHERE session_id = $1", session_id
    )
    return None if r is None else Projection(r["phase"], r["last_seq"], r["last_pub_seq"], r["highest_fen"])


# ----------------------------------------------------------------------
# bidders


async def insert_bidder(
    con: Executor, session_id: str, bidder_no: int, legal_name: str, token_hash: bytes, expires_at: datetime
) -> None:
    await con.execute(
        """INSERT INTO bidders (session_id, bidder_no, legal_name, token_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        session_id, bidder_no, legal_name, token_hash, expires_at,
    )


async def bidder_by_token(con: Executor, token_hash: bytes) -> BidderLogin | None:
    r = await con.fetchrow(
        "SELECT session_id, bidder_no, expires_at, token_epoch FROM bidders WHERE token_hash = $1", token_hash
    )
    return None if r is None else BidderLogin(r["session_id"], r["bidder_no"], r["expires_at"], r["token_epoch"])


async def legal_name(con: Executor, session_id: str, bidder_no: int) -> str | None:
    name: str | None = await con.fetchval(
        "SELECT legal_name FROM bidders WHERE session_id = $1 AND bidder_no = $2", session_id, bidder_no
    )
    return name


async def legal_names(con: Executor, session_id: str) -> list[tuple[int, str]]:
    """(bidder number, legal name) of every qualified bidder, by number."""
    rows = await con.fetch(
        "SELECT bidder_no, legal_name FROM bidders WHERE session_id = $1 ORDER BY bidder_no", session_id
    )
    return [(r["bidder_no"], r["legal_name"]) for r in rows]


async def set_token(con: Executor, session_id: str, bidder_no: int, token_hash: bytes, expires_at: datetime) -> None:
    """The first token shown to a bidder qualified by deposit (replaces the one never shown)."""
    await con.execute(
        "UPDATE bidders SET token_hash = $3, expires_at = $4 WHERE session_id = $1 AND bidder_no = $2",
        session_id, bidder_no, token_hash, expires_at,
    )


async def reissue_token(
    con: Executor, session_id: str, bidder_no: int, token_hash: bytes, token_epoch: int, expires_at: datetime
) -> None:
    """A re-issued token and its epoch (older tokens stop signing in and bidding)."""
    await con.execute(
        """UPDATE bidders SET token_hash = $3, token_epoch = $4, expires_at = $5
            WHERE session_id = $1 AND bidder_no = $2""",
        session_id, bidder_no, token_hash, token_epoch, expires_at,
    )


# ----------------------------------------------------------------------
# the sealed reserve (ciphertext only)


async def insert_sealed_reserve(
    con: asyncpg.Connection, session_id: str, key_id: str, nonce: bytes, ciphertext: bytes
) -> None:
    await con.execute(
        "INSERT INTO sealed_reserves (session_id, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)",
        session_id, key_id, nonce, ciphertext,
    )


async def sealed_reserve(con: Executor, session_id: str) -> SealedReserve | None:
    r = await con.fetchrow("SELECT key_id, nonce, ciphertext FROM sealed_reserves WHERE session_id = $1", session_id)
    return None if r is None else SealedReserve(r["key_id"], r["nonce"], r["ciphertext"])
