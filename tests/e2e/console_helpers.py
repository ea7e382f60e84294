"""Helpers for the operator console tests: accounts made straight in the test
database, and a signed-in console user over HTTP.

httpx (like Python's cookie jar) will not send a `Secure` cookie over plain
http, even to 127.0.0.1 where browsers do; `ConsoleUser` keeps its cookies by
hand so these tests see exactly the Set-Cookie headers the server sends.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import asyncpg
import httpx

from auction.staff.accounts import add_user
from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.helpers import KEEPALIVE, Api, assert_no_traceback

@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: Role


ACCOUNTS = {
    Role.OPERATOR: Account("t-operator", "operator-password-1234", Role.OPERATOR),
    Role.COMMITTEE: Account("t-committee", "committee-password-1234", Role.COMMITTEE),
    Role.AUDITOR: Account("t-auditor", "auditor-password-1234", Role.AUDITOR),
}


async def make_accounts(dsn: str) -> dict[Role, Account]:
    """One account per role in the server's database (the server has migrated it)."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        for a in ACCOUNTS.values():
            await add_user(pool, a.username, f"测试{a.role.label.split(' ')[0]}", a.role, a.password)
    finally:
        await pool.close()
    return ACCOUNTS


async def audit_rows(dsn: str) -> list[dict[str, Any]]:
    con = await asyncpg.connect(dsn)
    try:
        rows = await con.fetch("SELECT username, role, action, session_id, detail::text AS detail, client_ip, "
                               "outcome FROM console_audit ORDER BY id")
    finally:
        await con.close()
    return [dict(r) for r in rows]


CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(page: str) -> str:
    found = CSRF.findall(page)
    assert found, page[:2000]
    return html.unescape(found[0])


@dataclass
class ConsoleUser:
    server: ServerProcess
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)  # every Set-Cookie header seen
    # Another loopback address to speak from (127.0.0.2, ...: Linux routes all of 127/8 to lo),
    # so the server sees another client; it trusts proxy headers from 127.0.0.1 only.
    local_address: str | None = None

    def __post_init__(self) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=self.local_address) if self.local_address else None
        self.http = httpx.AsyncClient(base_url=self.server.http, timeout=10, trust_env=False, limits=KEEPALIVE,
                                      follow_redirects=False,
                                      transport=transport)

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> ConsoleUser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _keep(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value or morsel.value == '""':
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    async def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        r = await self.http.get(path, headers=self._headers(headers))
        assert_no_traceback(r.text)
        self._keep(r)
        return r

    async def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        r = await self.http.post(path, data=form, headers=self._headers(headers))
        assert_no_traceback(r.text)
        self._keep(r)
        return r

    async def sign_in(self, account: Account) -> httpx.Response:
        page = await self.get("/console/login")
        assert page.status_code == 200, page.text
        r = await self.post("/console/login", {"csrf_token": csrf_of(page.text), "username": account.username,
                                               "password": account.password, "next": "/console"})
        return r

    async def csrf(self, path: str = "/console") -> str:
        page = await self.get(path)
        assert page.status_code == 200, (page.status_code, page.text[:500])
        return csrf_of(page.text)


async def signed_in(server: ServerProcess, account: Account, local_address: str | None = None) -> ConsoleUser:
    user = ConsoleUser(server, local_address=local_address)
    r = await user.sign_in(account)
    assert r.status_code == 303 and r.headers["location"] == "/console", (r.status_code, r.text[:500])
    return user


def error_code(page: str) -> str | None:
    found = re.search(r'id="error-code">([A-Z0-9_]+)<', page)
    return found.group(1) if found else None


async def console_server(server_factory: Callable[..., ServerProcess], database: str,
                         **env: str) -> tuple[ServerProcess, dict[Role, Account]]:
    """A started server with the given settings and one console account per role."""
    server = server_factory(**env)
    await asyncio.to_thread(server.start)
    return server, await make_accounts(database)


async def operator_and_member(server_factory: Callable[..., ServerProcess], database: str, **env: str
                              ) -> tuple[ServerProcess, dict[Role, Account], ConsoleUser, ConsoleUser]:
    """`console_server`, with the operator and a committee member signed in."""
    server, accounts = await console_server(server_factory, database, **env)
    return (server, accounts, await signed_in(server, accounts[Role.OPERATOR]),
            await signed_in(server, accounts[Role.COMMITTEE]))


@asynccontextmanager
async def console_desk(server_factory: Callable[..., ServerProcess], database: str, **env: str
                       ) -> AsyncIterator[tuple[ServerProcess, Api, ConsoleUser, ConsoleUser]]:
    """`operator_and_member` with the operator API open: (server, api, operator, member), all closed after."""
    server, _, operator, member = await operator_and_member(server_factory, database, **env)
    try:
        async with Api(server) as api:
            yield server, api, operator, member
    finally:
        await operator.close()
        await member.close()
