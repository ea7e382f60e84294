"""Qualifying a bidder for a session: a random anonymous bidder number (竞买号) and a bearer token.

One path for both ways a bidder qualifies:

- by deposit (RULES 3.4): `services/deposits.py` qualifies the applicant when the
  bank's payment completes the deposit, with the ledger entry and the
  application's row written by `also` in the same transaction;
- the operator stand-in `POST /api/sessions/{id}/bidders` (tests, demo): no
  deposit, the token is returned at once.

The qualification event, the bidder row (legal name, hashed token) and
whatever `also` writes commit together or not at all.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import QualifyBidder
from auction.domain.bidding.session import SessionState
from auction.services.session import SessionService
from auction.store import sessions as session_rows
from auction.store.events import to_datetime

BIDDER_NUMBERS = range(1001, 10000)

# Extra rows for the same transaction: called with the connection and the bidder number drawn.
Also = Callable[[asyncpg.Connection, int], Awaitable[None]]


@dataclass(frozen=True)
class Credentials:
    """A qualified bidder's anonymous number and bearer token."""

    bidder_no: int
    token: str  # shown once; only its hash is stored
    expires_at: datetime


@dataclass(frozen=True)
class Qualified(Credentials):
    session_id: str


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


TOKEN_PREFIX = "bt_"


def new_token() -> str:
    """A bidding token: 256 random bits, prefixed so it never begins with "-" (a
    token such as "-x3..." would be read as an option on a command line) and so a
    leaked one is recognisable in logs and secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Registrations(Protocol):
    @property
    def qualified(self) -> frozenset[int]: ...


# Writes a bidder's row: (connection, session or tender id, bidder number, legal name, token hash, expiry).
InsertBidder = Callable[[asyncpg.Connection, str, int, str, bytes, datetime], Awaitable[None]]
# Runs the qualification command for a bidder number, with `rows` in its transaction.
Qualify = Callable[[int, Callable[[asyncpg.Connection, object], Awaitable[None]]], Awaitable[object]]


async def draw(sale_id: str, legal_name: str, ttl: timedelta, *, clock: Callable[[], int],
               state: Callable[[], Awaitable[Registrations]], qualify: Qualify, insert_bidder: InsertBidder,
               also: Also | None) -> Credentials:
    """A free bidder number and a new token for a session or a tender: the qualification
    event, the bidder row (legal name, hashed token) and whatever `also` writes commit
    together. Drawn again when a concurrent registration drew the same number."""
    for _ in range(3):
        qualified = (await state()).qualified
        # Random, not sequential: a bidder number must not tell how many registered.
        free = [n for n in BIDDER_NUMBERS if n not in qualified]
        if not free:
            raise Rejected(Code.REGISTRATION_CLOSED, "no bidder numbers left")
        token = new_token()
        drawn = Credentials(secrets.choice(free), token, to_datetime(clock()) + ttl)

        async def rows(con: asyncpg.Connection, _state: object) -> None:
            await insert_bidder(con, sale_id, drawn.bidder_no, legal_name, token_hash(token), drawn.expires_at)
            if also is not None:
                await also(con, drawn.bidder_no)

        try:
            await qualify(drawn.bidder_no, rows)
        except Rejected as r:
            if r.code is Code.ALREADY_QUALIFIED:  # a concurrent registration drew the same number
                continue
            raise
        return drawn
    raise Rejected(Code.CONFLICT)


async def qualify(
    service: SessionService, session_id: str, legal_name: str, ttl: timedelta, *, also: Also | None = None
) -> Qualified:
    """Qualify a new bidder number for `session_id`. Raises `Rejected` (nothing written)
    when the engine refuses (e.g. `REGISTRATION_CLOSED`), or whatever `also` raises."""
    drawn = await draw(session_id, legal_name, ttl, clock=service.clock, state=lambda: service.state(session_id),
                       qualify=lambda no, rows: service.execute(session_id, QualifyBidder(no), also=rows),
                       insert_bidder=session_rows.insert_bidder, also=also)
    return Qualified(drawn.bidder_no, drawn.token, drawn.expires_at, session_id)
