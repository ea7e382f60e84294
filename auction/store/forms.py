"""Console form tokens (migrations/0012_console_form_tokens.sql): a form acts once.

`claim` is the only gate: the INSERT's primary key lets one request through per
token, on any node. A claim left unfinished (a node died mid-command) may be taken
over after `STALE_CLAIM`.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

STALE_CLAIM = timedelta(minutes=2)
KEEP = timedelta(days=2)  # finished tokens older than this are forgotten (a form left open that long is stale anyway)


class FormTokens:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(self, token: str, plan_id: str, username: str) -> bool:
        """True if this request may act for `token`; False if another holds or finished it."""
        row = await self.pool.fetchval(
            """INSERT INTO console_form_tokens (token, plan_id, username) VALUES ($1, $2, $3)
               ON CONFLICT (token) DO UPDATE SET claimed_at = now(), username = EXCLUDED.username
                WHERE console_form_tokens.location IS NULL AND console_form_tokens.claimed_at < now() - $4::interval
               RETURNING token""",
            token, plan_id, username, STALE_CLAIM,
        )
        return row is not None

    async def location(self, token: str) -> tuple[bool, str | None]:
        """(claimed, where it led): (False, None) released or never claimed; (True, None) still running."""
        row = await self.pool.fetchrow("SELECT location FROM console_form_tokens WHERE token = $1", token)
        return (False, None) if row is None else (True, row["location"])

    async def finish(self, token: str, location: str) -> None:
        await self.pool.execute("UPDATE console_form_tokens SET location = $2 WHERE token = $1", token, location)
        await self.pool.execute("DELETE FROM console_form_tokens WHERE claimed_at < now() - $1::interval", KEEP)

    async def release(self, token: str) -> None:
        await self.pool.execute("DELETE FROM console_form_tokens WHERE token = $1 AND location IS NULL", token)
