"""Qualifying a bidder for a session: a random anonymous bidder number and a bearer token.

Stand-in for qualification by deposit (issue 4), used by the operator API and
the demo. The qualification event and the bidder row (legal name, hashed
token) are written in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.commands import QualifyBidder
from auction.domain.session import SessionState
from auction.service import SessionService
from auction.store.events import to_datetime

BIDDER_NUMBERS = range(1001, 10000)


@dataclass(frozen=True)
class Qualified:
    session_id: str
    bidder_no: int
    token: str  # shown once; only its hash is stored
    expires_at: datetime


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def qualify(service: SessionService, session_id: str, legal_name: str, ttl: timedelta) -> Qualified:
    for _ in range(3):
        state = await service.state(session_id)
        # Random, not sequential: a bidder number must not tell how many registered.
        free = [n for n in BIDDER_NUMBERS if n not in state.qualified]
        if not free:
            raise Rejected(Code.REGISTRATION_CLOSED, "no bidder numbers left")
        bidder_no = secrets.choice(free)
        token = secrets.token_urlsafe(32)
        expires = to_datetime(service.clock()) + ttl

        async def record(con: asyncpg.Connection, _state: SessionState) -> None:
            await con.execute(
                """INSERT INTO bidders (session_id, bidder_no, legal_name, token_hash, expires_at)
                   VALUES ($1, $2, $3, $4, $5)""",
                session_id, bidder_no, legal_name, token_hash(token), expires,
            )

        try:
            await service.execute(session_id, QualifyBidder(bidder_no), also=record)
        except Rejected as r:
            if r.code is Code.ALREADY_QUALIFIED:  # a concurrent registration drew the same number
                continue
            raise
        return Qualified(session_id, bidder_no, token, expires)
    raise Rejected(Code.CONFLICT)
