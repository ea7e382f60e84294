"""migrations/0018_sales.sql on a database that already holds sessions, tenders and their
deposits: every existing one becomes a sale, rows written before keep their references,
new sessions and tenders join `sales` on their own, and the deposit and deadline tables
take a tender's id while still refusing an id that names no sale."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from auction.store.database.migrate import migrate, migrations_dir
from tests.storage.helpers import connected


@pytest.fixture
async def con(database: str) -> AsyncIterator[asyncpg.Connection]:
    async with connected(database) as c:
        yield c


async def session(con: asyncpg.Connection, session_id: str) -> None:
    await con.execute(
        """INSERT INTO sessions (session_id, method, parcel_ref, phase, last_seq, last_pub_seq)
           VALUES ($1, 'AUCTION', 'QJ-1', 'CLOSED', 0, 0)""", session_id)


async def tender(con: asyncpg.Connection, tender_id: str) -> None:
    plan_id = tender_id.removeprefix("T-")
    await con.execute("INSERT INTO plans (plan_id, status, parcel_no, method, last_seq) "
                      "VALUES ($1, 'ANNOUNCED', 'QJ-2', 'TENDER', 0)", plan_id)
    await con.execute("INSERT INTO tenders (tender_id, plan_id, phase, last_seq) VALUES ($1, $2, 'ENDED', 0)",
                      tender_id, plan_id)


async def application(con: asyncpg.Connection, sale_id: str, n: int) -> None:
    await con.execute(
        """INSERT INTO applications (application_id, session_id, kind, legal_name, registration_no, sub_account,
                                     required_fen, deposit_deadline)
           VALUES ($1, $2, 'COMPANY', '某公司', $3, $4, 100, now())""",
        f"A-{n}", sale_id, f"9153030000000{n}", f"600000000000{n}")


async def test_existing_data_becomes_sales_and_tenders_take_deposits(con: asyncpg.Connection, tmp_path: Path) -> None:
    before = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), before)
    (before / "0018_sales.sql").unlink()
    await migrate(con, before)
    await session(con, "S-OLD")
    await tender(con, "T-P-OLD")
    await application(con, "S-OLD", 1)

    await migrate(con, migrations_dir())
    rows = await con.fetch("SELECT sale_id, kind FROM sales ORDER BY sale_id")
    assert [(r["sale_id"], r["kind"]) for r in rows] == [("S-OLD", "SESSION"), ("T-P-OLD", "TENDER")]
    assert await con.fetchval("SELECT session_id FROM applications WHERE application_id = 'A-1'") == "S-OLD"

    await session(con, "S-NEW")
    await tender(con, "T-P-NEW")
    assert await con.fetchval("SELECT count(*) FROM sales WHERE sale_id IN ('S-NEW', 'T-P-NEW')") == 2
    await application(con, "T-P-NEW", 2)  # a tender's application, deposit and closing
    await con.execute("""INSERT INTO session_closings (session_id, closed_at, outcome) VALUES ('T-P-NEW', now(), 'SOLD')""")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await application(con, "T-P-NOSUCH", 3)
    with pytest.raises(asyncpg.UniqueViolationError):  # one id names one sale
        await session(con, "T-P-NEW")
