"""Console accounts, signed-in sessions and the audit trail in PostgreSQL
(migrations/0004_console.sql)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from auction.staff.roles import Role

SESSION_TTL = timedelta(hours=12)  # absolute: sign in again after a working day
SESSION_IDLE = timedelta(minutes=30)  # an unattended console signs itself out


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role


@dataclass(frozen=True)
class Account:
    user: User
    password_hash: str
    disabled: bool


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf_token: str
    expires_at: datetime


def id_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def _user(row: asyncpg.Record) -> User:
    return User(row["username"], row["display_name"], Role(row["role"]))


class ConsoleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # accounts

    async def account(self, username: str) -> Account | None:
        row = await self.pool.fetchrow(
            "SELECT username, display_name, role, password_hash, disabled FROM console_users WHERE username = $1",
            username,
        )
        return None if row is None else Account(_user(row), row["password_hash"], row["disabled"])

    async def put_user(self, user: User, password_hash: str) -> None:
        """Create the account, or replace its name, role and password."""
        await self.pool.execute(
            """INSERT INTO console_users (username, display_name, role, password_hash) VALUES ($1, $2, $3, $4)
               ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, role = EXCLUDED.role,
                   password_hash = EXCLUDED.password_hash, disabled = false, updated_at = now()""",
            user.username, user.display_name, user.role.value, password_hash,
        )

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self.pool.execute(
            "UPDATE console_users SET password_hash = $2, updated_at = now() WHERE username = $1",
            username, password_hash,
        )

    async def users(self) -> list[tuple[User, bool]]:
        rows = await self.pool.fetch(
            "SELECT username, display_name, role, disabled FROM console_users ORDER BY role, username"
        )
        return [(_user(r), r["disabled"]) for r in rows]

    async def disable(self, username: str) -> bool:
        """Disable the account and end its sessions at once."""
        async with self.pool.acquire() as con, con.transaction():
            done = await con.execute(
                "UPDATE console_users SET disabled = true, updated_at = now() WHERE username = $1", username
            )
            await con.execute("DELETE FROM console_sessions WHERE username = $1", username)
        return bool(done != "UPDATE 0")

    # signed-in sessions

    async def open_session(self, username: str, client_ip: str | None) -> tuple[str, str]:
        """A new session (never a reused id: no session fixation). Returns (cookie value, CSRF token)."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        await self.pool.execute(
            """INSERT INTO console_sessions (id_hash, username, csrf_token, client_ip, expires_at)
               VALUES ($1, $2, $3, $4, now() + $5::interval)""",
            id_hash(session_id), username, csrf, client_ip, SESSION_TTL,
        )
        return session_id, csrf

    async def session(self, session_id: str) -> SignedIn | None:
        """The signed-in user for a cookie value, if the session is alive; touches it."""
        row = await self.pool.fetchrow(
            """UPDATE console_sessions s SET last_seen = now()
               FROM console_users u
               WHERE s.id_hash = $1 AND u.username = s.username AND NOT u.disabled
                 AND s.expires_at > now() AND s.last_seen > now() - $2::interval
               RETURNING u.username, u.display_name, u.role, s.csrf_token, s.expires_at""",
            id_hash(session_id), SESSION_IDLE,
        )
        if row is None:
            return None
        return SignedIn(_user(row), row["csrf_token"], row["expires_at"])

    async def close_session(self, session_id: str) -> None:
        await self.pool.execute("DELETE FROM console_sessions WHERE id_hash = $1", id_hash(session_id))

    async def purge_sessions(self) -> None:
        await self.pool.execute(
            "DELETE FROM console_sessions WHERE expires_at <= now() OR last_seen <= now() - $1::interval",
            SESSION_IDLE,
        )

    # the audit trail

    async def audit(
        self,
        action: str,
        outcome: str,
        *,
        user: User | None = None,
        session_id: str | None = None,
        client_ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self.pool.execute(
            """INSERT INTO console_audit (username, role, action, session_id, detail, client_ip, outcome)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)""",
            user.username if user else None, user.role.value if user else None, action, session_id,
            json.dumps(detail or {}, ensure_ascii=False), client_ip, outcome,
        )

    async def trail(self, session_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Audit rows, newest first; of one trading session if given."""
        rows = await self.pool.fetch(
            """SELECT id, at, username, role, action, session_id, detail::text AS detail, client_ip, outcome
               FROM console_audit WHERE ($1::text IS NULL OR session_id = $1) ORDER BY id DESC LIMIT $2""",
            session_id, limit,
        )
        return [
            {"id": r["id"], "at": r["at"], "username": r["username"], "role": r["role"], "action": r["action"],
             "session_id": r["session_id"], "detail": json.loads(r["detail"]), "client_ip": r["client_ip"],
             "outcome": r["outcome"]}
            for r in rows
        ]
