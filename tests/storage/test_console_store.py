"""Console accounts, signed-in sessions and the audit trail on a real PostgreSQL
(migrations/0004_console.sql, auction/store/console.py, auction/staff/accounts.py)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import asyncpg
import pytest

from auction.staff.accounts import add_user, demo_accounts
from auction.staff.refusals import RefusalRollup
from auction.staff.roles import Role
from auction.store.console import ConsoleStore, id_hash


async def test_sessions_hold_only_a_hash_of_the_cookie_and_end_when_disabled(pool: asyncpg.Pool) -> None:
    store = ConsoleStore(pool)
    user = await add_user(pool, "op-1", "操作员甲", Role.OPERATOR, "a-long-password-1")
    cookie, csrf = await store.open_session("op-1", "10.0.0.7")
    signed = await store.session(cookie)
    assert signed is not None and signed.user == user and signed.csrf_token == csrf
    assert await store.session(cookie + "x") is None
    stored = await pool.fetchval("SELECT id_hash FROM console_sessions")
    assert stored == id_hash(cookie) and cookie.encode() not in stored
    assert await store.disable("op-1")
    assert await store.session(cookie) is None  # signed out everywhere at once
    assert (await store.account("op-1")).disabled  # type: ignore[union-attr]


async def test_an_idle_or_expired_session_is_dead(pool: asyncpg.Pool) -> None:
    store = ConsoleStore(pool)
    await add_user(pool, "op-2", "操作员乙", Role.OPERATOR, "a-long-password-2")
    idle, _ = await store.open_session("op-2", None)
    old, _ = await store.open_session("op-2", None)
    await pool.execute("UPDATE console_sessions SET last_seen = now() - interval '31 minutes' WHERE id_hash = $1",
                       id_hash(idle))
    await pool.execute("UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
                       id_hash(old))
    assert await store.session(idle) is None and await store.session(old) is None
    await store.purge_sessions()
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0


async def test_the_audit_trail_is_append_only(pool: asyncpg.Pool) -> None:
    store = ConsoleStore(pool)
    await store.audit("SUSPEND", "OK", session_id="S-1", client_ip="127.0.0.1", detail={"reason": "故障"})
    rows = await store.trail("S-1")
    assert [(r["action"], r["outcome"], r["detail"]) for r in rows] == [("SUSPEND", "OK", {"reason": "故障"})]
    for statement in ("UPDATE console_audit SET outcome = 'X'", "DELETE FROM console_audit",
                      "TRUNCATE console_audit"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute(statement)


async def test_bad_account_names_and_short_passwords_are_refused(pool: asyncpg.Pool) -> None:
    for name, password in (("A", "a-long-password"), ("has space", "a-long-password"), ("ok-name", "short")):
        with pytest.raises(ValueError):
            await add_user(pool, name, "x", Role.AUDITOR, password)


async def test_demo_accounts_keep_their_passwords_in_a_private_file(pool: asyncpg.Pool, tmp_path: Path) -> None:
    path = tmp_path / "demo-accounts.json"
    first = await demo_accounts(pool, path)
    assert [(a["username"], a["role"]) for a in first] == [
        ("demo-operator", "OPERATOR"), ("demo-member-1", "COMMITTEE"), ("demo-member-2", "COMMITTEE"),
        ("demo-member-3", "COMMITTEE"), ("demo-auditor", "AUDITOR")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8")) == first
    again = await demo_accounts(pool, path)  # the next `make run`: the same passwords
    assert again == first
    store = ConsoleStore(pool)
    stored = await store.account("demo-operator")
    assert stored is not None and first[0]["password"] not in stored.password_hash


class _Time:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _audit(pool: asyncpg.Pool) -> list[tuple[str, str, str | None, dict[str, object]]]:
    rows = await pool.fetch("SELECT action, outcome, client_ip, detail::text AS detail FROM console_audit ORDER BY id")
    return [(r["action"], r["outcome"], r["client_ip"], json.loads(r["detail"])) for r in rows]


async def test_strangers_refusals_are_rolled_up_per_address_kind_and_period(pool: asyncpg.Pool) -> None:
    time = _Time(6000.0)  # the start of a 60 s period
    rollup = RefusalRollup(pool, period=60.0, max_addresses=2, clock=time)
    for i in range(300):
        await rollup.refused("SIGN_IN", "SIGN_IN_FAILED", "10.0.0.1", action="SIGN_IN", sample=f"user-{i % 7}",
                             detail={"attempted": f"user-{i % 7}"})
    await rollup.refused("SIGN_IN", "CSRF_TOKEN_INVALID", "10.0.0.1", action="SIGN_IN")
    await rollup.refused("API POST", "UNAUTHORIZED", "10.0.0.2", action="API POST /api/sessions/S-1/suspend",
                         sample="/api/sessions/S-1/suspend", session_id="S-1")
    for ip in ("10.0.0.3", "10.0.0.4", "10.0.0.3"):  # past max_addresses: one row without an address
        await rollup.refused("API POST", "UNAUTHORIZED", ip, action="API POST /api/x", sample="/api/x")
    # The first of each (address, kind, outcome) is written at once, the rest wait for the period's end.
    first = await _audit(pool)
    assert [(a, o, ip, d["count"]) for a, o, ip, d in first] == [
        ("SIGN_IN", "SIGN_IN_FAILED", "10.0.0.1", 1), ("SIGN_IN", "CSRF_TOKEN_INVALID", "10.0.0.1", 1),
        ("API POST /api/sessions/S-1/suspend", "UNAUTHORIZED", "10.0.0.2", 1), ("API POST /api/x", "UNAUTHORIZED", None, 1)]
    assert first[0][3]["attempted"] == "user-0"
    await rollup.flush()
    assert len(await _audit(pool)) == 4  # the period is not over
    time.now += 60
    await rollup.flush()
    rows = await _audit(pool)
    rolled = rows[4:]
    assert [(a, o, ip, d["count"]) for a, o, ip, d in rolled] == [
        ("SIGN_IN", "SIGN_IN_FAILED", "10.0.0.1", 299), ("API POST", "UNAUTHORIZED", None, 2)]
    assert rolled[0][3]["samples"] == [f"user-{i}" for i in range(1, 6)]  # at most 5, distinct
    assert rolled[0][3]["from"] == "1970-01-01T01:40:00+00:00" and rolled[0][3]["until"] == "1970-01-01T01:41:00+00:00"
    assert sum(d["count"] for *_, d in rows) == 300 + 1 + 1 + 3
    # A new period starts afresh; at shutdown what is pending is written.
    await rollup.refused("SIGN_IN", "SIGN_IN_FAILED", "10.0.0.1", action="SIGN_IN")
    await rollup.refused("SIGN_IN", "SIGN_IN_FAILED", "10.0.0.1", action="SIGN_IN")
    rollup.start()
    await rollup.stop()
    assert [(o, d["count"]) for _a, o, _ip, d in (await _audit(pool))[6:]] == [("SIGN_IN_FAILED", 1),
                                                                               ("SIGN_IN_FAILED", 1)]
    assert rollup.pending == {} and rollup.addresses == {}
