"""The reserve decision being signed in the console (Q26), before it is sealed
(migrations/0013_console_reserve_drafts.sql): the decision record the members
sign, the escrow envelope made in the preparing member's browser, and the
signatures gathered so far. Never the amount or the salt: the server has neither."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class ReserveDraft:
    plan_id: str
    draft_id: str
    prepared_by: str
    decided_at: int  # µs UTC
    members: tuple[str, ...]
    appraisal_id: str
    floor_price_fen_per_m2: int
    commitment: str | None  # None: an auction without a reserve (Q28)
    key_id: str | None
    nonce: bytes | None
    ciphertext: bytes | None
    record: bytes  # exactly what every member signs
    signatures: dict[str, bytes]


async def draft(pool: asyncpg.Pool, plan_id: str) -> ReserveDraft | None:
    row = await pool.fetchrow("SELECT * FROM console_reserve_drafts WHERE plan_id = $1", plan_id)
    if row is None:
        return None
    signed = await pool.fetch(
        "SELECT member_id, signature FROM console_reserve_draft_signatures WHERE plan_id = $1", plan_id)
    return ReserveDraft(
        plan_id=row["plan_id"], draft_id=row["draft_id"], prepared_by=row["prepared_by"],
        decided_at=row["decided_at_us"], members=tuple(row["members"]), appraisal_id=row["appraisal_id"],
        floor_price_fen_per_m2=row["floor_price_fen_per_m2"], commitment=row["commitment"], key_id=row["key_id"],
        nonce=None if row["nonce"] is None else bytes(row["nonce"]),
        ciphertext=None if row["ciphertext"] is None else bytes(row["ciphertext"]),
        record=bytes(row["record"]), signatures={r["member_id"]: bytes(r["signature"]) for r in signed},
    )


async def replace_draft(pool: asyncpg.Pool, d: ReserveDraft) -> None:
    """The plan's draft is now `d` with its signatures; an earlier draft and its signatures go."""
    async with pool.acquire() as con, con.transaction():
        await con.execute("DELETE FROM console_reserve_drafts WHERE plan_id = $1", d.plan_id)
        await con.execute(
            """INSERT INTO console_reserve_drafts (plan_id, draft_id, prepared_by, decided_at_us, members,
                   appraisal_id, floor_price_fen_per_m2, commitment, key_id, nonce, ciphertext, record)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            d.plan_id, d.draft_id, d.prepared_by, d.decided_at, list(d.members), d.appraisal_id,
            d.floor_price_fen_per_m2, d.commitment, d.key_id, d.nonce, d.ciphertext, d.record,
        )
        await con.executemany(
            """INSERT INTO console_reserve_draft_signatures (plan_id, member_id, signature) VALUES ($1, $2, $3)""",
            [(d.plan_id, m, s) for m, s in sorted(d.signatures.items())],
        )


async def add_signature(pool: asyncpg.Pool, plan_id: str, draft_id: str, member_id: str, signature: bytes) -> bool:
    """Keep a member's signature of the draft `draft_id`, if that is still the plan's draft.
    A second, identical submission changes nothing (Ed25519 signatures are deterministic)."""
    status: str = await pool.execute(
        """INSERT INTO console_reserve_draft_signatures (plan_id, member_id, signature)
           SELECT $1, $3, $4 WHERE EXISTS (
               SELECT 1 FROM console_reserve_drafts WHERE plan_id = $1 AND draft_id = $2)
           ON CONFLICT (plan_id, member_id) DO NOTHING""",
        plan_id, draft_id, member_id, signature,
    )
    return status.endswith(" 1")
