"""The bidders' portal in PostgreSQL (migrations/0010_portal.sql): registered companies,
their signed-in sessions, and the applications each made through the portal."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from auction.store.console import SESSION_IDLE, SESSION_TTL, id_hash

Executor: TypeAlias = Any  # an asyncpg Pool or Connection (asyncpg is untyped)


@dataclass(frozen=True)
class Company:
    uscc: str  # 统一社会信用代码, the account's name
    legal_name: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class CompanyAccount:
    company: Company
    password_hash: str


@dataclass(frozen=True)
class SignedInCompany:
    company: Company
    csrf_token: str
    expires_at: datetime


def _company(r: asyncpg.Record) -> Company:
    return Company(r["uscc"], r["legal_name"], r["contact_name"], r["contact_phone"])


async def add_company(con: Executor, company: Company, password_hash: str) -> bool:
    """False when the code is registered already (nothing changes then)."""
    status = await con.execute(
        """INSERT INTO portal_companies (uscc, legal_name, contact_name, contact_phone, password_hash)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uscc) DO NOTHING""",
        company.uscc, company.legal_name, company.contact_name, company.contact_phone, password_hash,
    )
    return bool(status == "INSERT 0 1")


async def company_account(con: Executor, uscc: str) -> CompanyAccount | None:
    r = await con.fetchrow(
        "SELECT uscc, legal_name, contact_name, contact_phone, password_hash FROM portal_companies WHERE uscc = $1",
        uscc,
    )
    return None if r is None else CompanyAccount(_company(r), r["password_hash"])


async def set_password_hash(con: Executor, uscc: str, password_hash: str) -> None:
    await con.execute("UPDATE portal_companies SET password_hash = $2 WHERE uscc = $1", uscc, password_hash)


# signed-in sessions (the console's lifetimes: store/console.py)

async def open_session(con: Executor, uscc: str, client_ip: str | None) -> tuple[str, str]:
    """A new session, never a reused id. Returns (cookie value, CSRF token)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await con.execute(
        """INSERT INTO portal_sessions (id_hash, uscc, csrf_token, client_ip, expires_at)
           VALUES ($1, $2, $3, $4, now() + $5::interval)""",
        id_hash(cookie), uscc, csrf, client_ip, SESSION_TTL,
    )
    return cookie, csrf


async def signed_in(con: Executor, cookie: str) -> SignedInCompany | None:
    """The company signed in with this cookie value, if its session is alive; touches it."""
    r = await con.fetchrow(
        """UPDATE portal_sessions s SET last_seen = now() FROM portal_companies c
            WHERE s.id_hash = $1 AND c.uscc = s.uscc AND s.expires_at > now() AND s.last_seen > now() - $2::interval
        RETURNING c.uscc, c.legal_name, c.contact_name, c.contact_phone, s.csrf_token, s.expires_at""",
        id_hash(cookie), SESSION_IDLE,
    )
    return None if r is None else SignedInCompany(_company(r), r["csrf_token"], r["expires_at"])


async def close_session(con: Executor, cookie: str) -> None:
    await con.execute("DELETE FROM portal_sessions WHERE id_hash = $1", id_hash(cookie))


async def purge_sessions(con: Executor) -> None:
    await con.execute("DELETE FROM portal_sessions WHERE expires_at <= now() OR last_seen <= now() - $1::interval",
                      SESSION_IDLE)


# the company's applications

async def link_application(con: Executor, uscc: str, session_id: str, application_id: str) -> None:
    await con.execute(
        """INSERT INTO portal_applications (application_id, uscc, session_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        application_id, uscc, session_id,
    )


async def lock_applying(con: asyncpg.Connection, uscc: str, session_id: str) -> None:
    """Serialise one company's applications for one parcel, on every node, until the
    caller's transaction ends: a double submit waits for the first and finds its link."""
    await con.execute("SELECT pg_advisory_xact_lock(hashtextextended('portal-apply:' || $1 || ':' || $2, 0))",
                      uscc, session_id)


async def application_of(con: Executor, uscc: str, session_id: str) -> str | None:
    """The company's application (made through the portal) for the session's parcel."""
    found: str | None = await con.fetchval(
        "SELECT application_id FROM portal_applications WHERE uscc = $1 AND session_id = $2", uscc, session_id)
    return found


async def is_portal_application(con: Executor, application_id: str) -> bool:
    """The application was made through the portal (by a company for itself)."""
    return bool(await con.fetchval("SELECT 1 FROM portal_applications WHERE application_id = $1", application_id))


async def owns(con: Executor, uscc: str, application_id: str) -> bool:
    return bool(await con.fetchval(
        "SELECT 1 FROM portal_applications WHERE uscc = $1 AND application_id = $2", uscc, application_id))


async def applications_of(con: Executor, uscc: str) -> list[tuple[str, str]]:
    """(application id, session id) of the company's applications, newest first. Only those
    made through the portal: an application typed in at the desk under the same code is not
    the portal account's (nobody checked that the account's holder is that company's agent)."""
    rows = await con.fetch(
        "SELECT application_id, session_id FROM portal_applications WHERE uscc = $1 ORDER BY linked_at DESC, "
        "application_id",
        uscc,
    )
    return [(r["application_id"], r["session_id"]) for r in rows]
