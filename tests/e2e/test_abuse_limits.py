"""Limits per client address against a real server: a stranger cannot lock the
operator out of the console, nor grow the audit trail at will, nor crowd out
bidders with watchers, nor guess tokens or the operator key at full speed.

The tests speak from other loopback addresses (127.0.0.2, ...: Linux routes
all of 127/8 to lo) so the server sees several clients; it trusts proxy
headers only from 127.0.0.1 (uvicorn's default), so these addresses are what
it counts by.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import Account, ConsoleUser, audit_rows, error_code, make_accounts, signed_in
from tests.e2e.helpers import Api, WsClient

ATTACKER = "127.0.0.2"
OPERATOR = "127.0.0.3"
ELSEWHERE = "127.0.0.4"


async def ws_from(server: ServerProcess, address: str) -> WsClient:
    return await WsClient.open(server.ws, local_addr=(address, 0))


async def refused_with(client: WsClient, reply: dict[str, Any], code: str, close_code: int) -> None:
    assert reply["type"] == "error" and reply["code"] == code, reply
    await client.closed.wait()
    assert client.close_code == close_code, (client.close_code, client.close_reason)


def http_from(server: ServerProcess, address: str, key: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.http, timeout=10, trust_env=False,
                             transport=httpx.AsyncHTTPTransport(local_address=address),
                             headers={"authorization": f"Bearer {key}"} if key is not None else None)


async def test_a_stranger_cannot_lock_the_operator_out(server_factory: Callable[..., ServerProcess],
                                                       database: str) -> None:
    # 3 free failures, then a first wait of 600 s: longer than any machine takes for this test.
    server = server_factory(AUCTION_SIGN_IN_FREE_FAILURES="3", AUCTION_SIGN_IN_BACKOFF_SECONDS="600")
    server.start()
    accounts = await make_accounts(database)
    operator = accounts[Role.OPERATOR]
    wrong = Account(operator.username, "not-the-password-at-all", Role.OPERATOR)
    async with ConsoleUser(server, local_address=ATTACKER) as attacker:
        answers = [(await attacker.sign_in(wrong)).status_code for _ in range(12)]
        assert answers == [401] * 4 + [429] * 8, answers
        # While it waits, attempts are refused unheard and not counted: the wait does not grow.
        waits = []
        for _ in range(10):
            r = await attacker.sign_in(wrong)
            assert r.status_code == 429 and "SIGN_IN_THROTTLED" in r.text
            waits.append(int(r.headers["retry-after"]))
        assert all(0 < w <= 600 for w in waits), waits
        # Even the right password waits, from the attacker's address.
        assert (await attacker.sign_in(operator)).status_code == 429

    # The operator, from another address, signs in at once.
    user = await signed_in(server, operator, local_address=OPERATOR)
    await user.close()

    # Refused sign-in forms (CSRF) are not failures: ten of them, three wrong passwords (free),
    # and the right one still gets in.
    async with ConsoleUser(server, local_address=ELSEWHERE) as someone:
        for _ in range(10):
            r = await someone.post("/console/login", {"username": operator.username, "password": "x" * 20})
            assert r.status_code == 403 and error_code(r.text) == "CSRF_TOKEN_INVALID"
        for _ in range(3):
            assert (await someone.sign_in(wrong)).status_code == 401
        r = await someone.sign_in(operator)
        assert r.status_code == 303 and r.headers["location"] == "/console", r.text[:500]

    rows = await audit_rows(database)
    assert ("SIGN_IN", "OK", "t-operator", OPERATOR) in [(r["action"], r["outcome"], r["username"], r["client_ip"])
                                                         for r in rows]
    assert {r["client_ip"] for r in rows if r["outcome"] == "SIGN_IN_FAILED"} == {ATTACKER, ELSEWHERE}


async def test_strangers_refusals_are_rolled_up_and_operators_actions_are_not(
        server_factory: Callable[..., ServerProcess], database: str) -> None:
    # One period of an hour: everything below falls in one (or, across the hour, two).
    server = server_factory(AUCTION_AUDIT_ROLLUP_SECONDS="3600", AUCTION_SIGN_IN_BACKOFF_SECONDS="600")
    server.start()
    accounts = await make_accounts(database)
    sent = 0
    async with http_from(server, ATTACKER) as stranger, http_from(server, ATTACKER, key="wrong-key") as guesser:
        for i in range(200):  # no key, a different path each time
            r = await stranger.post(f"/api/sessions/S-{uuid.uuid4().hex[:8]}/suspend", json={"reason": "x"})
            assert r.status_code == 401
        for i in range(100):  # a wrong key: refused, then over the per-minute limit
            r = await guesser.post("/api/sessions", json={})
            assert r.status_code in (401, 429)
        sent += 300
    async with ConsoleUser(server, local_address=ATTACKER) as anonymous:
        for i in range(100):  # the sign-in form without its CSRF token
            r = await anonymous.post("/console/login", {"username": f"user-{i}", "password": "x" * 20})
            assert r.status_code == 403
        for i in range(50):  # wrong passwords: failures, then the back-off
            r = await anonymous.sign_in(Account("t-operator", "not-the-password-at-all", Role.OPERATOR))
            assert r.status_code in (401, 429)
        for i in range(50):  # console actions without a session
            r = await anonymous.post("/console/sessions/S-1/suspend", {"csrf_token": "x", "reason": "x"})
            assert r.status_code == 401
        sent += 200
    assert sent == 500
    # An operator's action, by key and in the console, each has its row at once.
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=30, countdown=60)
        assert (await api.post(f"/api/sessions/{s.id}/suspend", {"reason": "接口中止"})).status_code == 200
    user = await signed_in(server, accounts[Role.OPERATOR], local_address=OPERATOR)
    await user.close()
    rows = await audit_rows(database)
    assert (f"API POST /api/sessions/{s.id}/suspend", "OK", "operator-api-key") in [
        (r["action"], r["outcome"], r["username"]) for r in rows]
    assert ("SIGN_IN", "OK", "t-operator") in [(r["action"], r["outcome"], r["username"]) for r in rows]
    strangers = [r for r in rows if r["client_ip"] == ATTACKER]
    kinds = {(r["action"].split(" /")[0], r["outcome"]) for r in strangers}
    assert kinds <= {("API POST", "UNAUTHORIZED"), ("API POST", "OPERATOR_KEY_ATTEMPTS_LIMIT"),
                     ("SIGN_IN", "CSRF_TOKEN_INVALID"), ("SIGN_IN", "SIGN_IN_FAILED"),
                     ("SIGN_IN", "SIGN_IN_THROTTLED"), ("SUSPEND", "UNAUTHORIZED")}, kinds
    # The first of each kind at once, the rest at the end of the period (two, if the run crossed the hour).
    assert len(strangers) <= 3 * len(kinds), strangers

    # At shutdown the counts of the period are written: every refusal is accounted for.
    server.stop()
    rows = [r for r in await audit_rows(database) if r["client_ip"] == ATTACKER]
    assert len(rows) <= 2 * 2 * len(kinds), rows
    assert sum(json.loads(r["detail"])["count"] for r in rows) == 500
    rolled = [json.loads(r["detail"]) for r in rows if json.loads(r["detail"])["count"] > 1]
    assert rolled and all(len(d["samples"]) <= 5 for d in rolled)


async def test_watchers_per_address_are_capped_and_bidders_always_get_in(
        server_factory: Callable[..., ServerProcess], database: str) -> None:
    server = server_factory(AUCTION_WS_MAX_WATCHERS_PER_ADDRESS="3")
    server.start()
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=30, countdown=60)
    watchers = []
    try:
        for _ in range(3):
            w = await ws_from(server, ATTACKER)
            assert (await w.hello(s.id))["type"] == "welcome"
            watchers.append(w)
        extra = await ws_from(server, ATTACKER)
        await refused_with(extra, await extra.hello(s.id), "WATCHER_LIMIT", 4029)
        # A bidder with a valid token is admitted from the same address, and a watcher elsewhere.
        bidder = await ws_from(server, ATTACKER)
        welcome = await bidder.hello(s.id, s.bidders[0].token)
        assert welcome["type"] == "welcome" and welcome["role"] == "bidder"
        watchers.append(bidder)
        other = await ws_from(server, OPERATOR)
        assert (await other.hello(s.id))["type"] == "welcome"
        watchers.append(other)
        # A watcher that leaves makes room (once the server has seen it go).
        await watchers.pop(0).ws.close()
        admitted: dict[str, Any] | None = None
        for _ in range(200):
            again = await ws_from(server, ATTACKER)
            reply = await again.hello(s.id)
            if reply["type"] == "welcome":
                admitted = reply
                watchers.append(again)
                break
            await refused_with(again, reply, "WATCHER_LIMIT", 4029)
        assert admitted is not None
    finally:
        for w in watchers:
            await w.ws.close()


async def test_failed_tokens_per_address_are_capped(server_factory: Callable[..., ServerProcess],
                                                   database: str) -> None:
    server = server_factory(AUCTION_WS_TOKEN_FAILURES_PER_MINUTE="3")
    server.start()
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=30, countdown=60)
    for i in range(3):
        guess = await ws_from(server, ATTACKER)
        await refused_with(guess, await guess.hello(s.id, f"guessed-token-{i:04d}-xxxxxxxx"), "INVALID_TOKEN", 4001)
    # Over the limit: a wrong token is refused as a guess for the rest of the minute ...
    late = await ws_from(server, ATTACKER)
    await refused_with(late, await late.hello(s.id, "guessed-token-9999-xxxxxxxx"), "TOKEN_ATTEMPTS_LIMIT", 4029)
    # ... but a bidder behind the same address (a shared NAT) still gets in with its valid token.
    same_address = await ws_from(server, ATTACKER)
    assert (await same_address.hello(s.id, s.bidders[0].token))["type"] == "welcome"
    await same_address.ws.close()
    # The bidder page's sign-in counts in the same window, alike.
    async with http_from(server, ATTACKER) as page:
        r = await page.post("/bid/session", json={"token": "guessed-token-9998-xxxxxxxx"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "TOKEN_ATTEMPTS_LIMIT"
        assert r.json()["error"]["details"] == {"limit": 3}  # as the WebSocket's close says (protocol.md 1)
        assert 1 <= int(r.headers["retry-after"]) <= 60  # when the oldest failure leaves the minute's window
        r = await page.post("/bid/session", json={"token": s.bidders[0].token})
        assert r.status_code == 200 and r.json()["bidder_no"] == s.bidders[0].bidder_no
    async with http_from(server, OPERATOR) as page:
        # A body with no string token is no guess (as the hello's INVALID_FIELD): refused as such, not counted.
        for _ in range(5):
            r = await page.post("/bid/session", json={"token": 123})
            assert r.status_code == 422 and r.json()["error"]["details"] == {"field": "token"}, r.text
            r = await page.post("/bid/session", content=b"{not json", headers={"content-type": "application/json"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "MALFORMED_JSON", r.text
        for i in range(2):
            r = await page.post("/bid/session", json={"token": f"guessed-token-{i:04d}-xxxxxxxx"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_TOKEN"
        for _ in range(3):  # a good token is taken back: it never fills the window
            r = await page.post("/bid/session", json={"token": s.bidders[1].token})
            assert r.status_code == 200 and r.json()["bidder_no"] == s.bidders[1].bidder_no
    # Watching needs no token and stays open; other addresses are not concerned.
    watcher = await ws_from(server, ATTACKER)
    assert (await watcher.hello(s.id))["type"] == "welcome"
    bidder = await ws_from(server, OPERATOR)
    assert (await bidder.hello(s.id, s.bidders[1].token))["type"] == "welcome"
    for c in (watcher, bidder):
        await c.ws.close()
    # A tender bidder's token (docs/protocol.md 10) counts in the same window: guesses from one
    # address are refused as such, and then the address's hellos are too.
    async with http_from(server, ELSEWHERE, key="bt_guessed-token-0000-xxxxxxxx") as tender_guess:
        for _ in range(3):
            r = await tender_guess.post("/tender/T-none/bid", json={})
            assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TOKEN", r.text
        r = await tender_guess.post("/tender/T-none/bid", json={})
        assert r.status_code == 429 and r.json()["error"]["details"] == {"limit": 3}, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 60
    late = await ws_from(server, ELSEWHERE)
    await refused_with(late, await late.hello(s.id, "guessed-token-9997-xxxxxxxx"), "TOKEN_ATTEMPTS_LIMIT", 4029)


async def test_wrong_operator_keys_per_address_are_capped(server_factory: Callable[..., ServerProcess],
                                                          database: str) -> None:
    server = server_factory(AUCTION_API_KEY_FAILURES_PER_MINUTE="3")
    server.start()
    async with http_from(server, ATTACKER, key="wrong-key") as guesser:
        for _ in range(3):
            r = await guesser.get("/api/sessions")
            assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
        r = await guesser.get("/api/sessions")
        assert r.status_code == 429 and r.json()["error"]["code"] == "OPERATOR_KEY_ATTEMPTS_LIMIT"
        assert 1 <= int(r.headers["retry-after"]) <= 60  # when the oldest wrong key leaves the minute's window
    async with http_from(server, ATTACKER, key=server.operator_key) as right_key_same_address:
        r = await right_key_same_address.get("/api/sessions")  # the desk behind the same address
        assert r.status_code == 200
    async with http_from(server, ATTACKER) as no_key:
        r = await no_key.get("/api/sessions")  # no key is no guess
        assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
    async with http_from(server, OPERATOR, key=server.operator_key) as desk:
        assert (await desk.get("/api/sessions")).status_code == 200


async def test_the_server_sees_the_loopback_address_it_is_spoken_from(server: ServerProcess,
                                                                     database: str) -> None:
    """What the tests above rest on: a forged X-Forwarded-For from 127.0.0.2 is not believed."""
    async with http_from(server, ATTACKER) as client:
        r = await client.post("/api/sessions/S-x/suspend", json={}, headers={"x-forwarded-for": "10.9.8.7"})
        assert r.status_code == 401
    con = await asyncpg.connect(database)
    try:
        ips = {r["client_ip"] for r in await con.fetch("SELECT client_ip FROM console_audit")}
    finally:
        await con.close()
    assert ips == {ATTACKER}
