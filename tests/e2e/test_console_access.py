"""The operator console's access rules against a real server: sign-in and the
cookie, roles, CSRF on every form, identities only after the close, and the
audit record of every action (who, what, when, from where)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable

from auction.entrypoints.console.pages import ConsolePages
from auction.settings import Settings
from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import (
    ACCOUNTS,
    Account,
    ConsoleUser,
    audit_rows,
    csrf_of,
    error_code,
    make_accounts,
    signed_in,
)
from tests.e2e.helpers import WAN, Api, WsClient, iso_in

# A time written for machines ('2026-12-07 11:53:00', '2026-12-07T11:53'): never on a page people read.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")

NAMES = ("云岭置业有限公司", "珠江城建集团有限公司")
APPLICANT = "麒麟房地产开发有限公司"


def console_posts(session_id: str) -> list[str]:
    """Every form the console accepts, taken from its own route table (nothing can be forgotten);
    with the stand-ins' forms, as the test servers have them (AUCTION_STAND_INS=on, tests/conftest.py)."""
    paths = []
    for route in ConsolePages(Settings(stand_ins=True)).routes():
        if "POST" in (route.methods or set()):
            paths.append(route.path.replace("{session_id}", session_id))
    return paths


async def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session(server: ServerProcess, database: str) -> None:
    accounts = await make_accounts(database)
    async with ConsoleUser(server) as anonymous:
        r = await anonymous.get("/console")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        wrong = await anonymous.sign_in(Account("t-operator", "not-the-password", Role.OPERATOR))
        assert wrong.status_code == 401 and "SIGN_IN_FAILED" in wrong.text
        unknown = await anonymous.sign_in(Account("nobody", "whatever-password", Role.OPERATOR))
        assert unknown.status_code == 401 and "SIGN_IN_FAILED" in unknown.text

    user = await signed_in(server, accounts[Role.OPERATOR])
    try:
        session_cookie = next(h for h in user.set_cookies if h.startswith("__Host-auction-console="))
        attributes = {a.strip().split("=")[0].lower(): a.strip() for a in session_cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite", "path"} <= set(attributes), session_cookie
        assert attributes["samesite"].lower() == "samesite=strict" and attributes["path"] == "Path=/"
        assert "domain" not in attributes  # a __Host- cookie: this host only
        page = await user.get("/console")
        assert page.status_code == 200 and 'id="sign-out"' in page.text and "t-operator" in page.text
        assert "no-store" in page.headers["cache-control"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        old_cookie = dict(user.cookies)
        r = await user.post("/console/logout", {"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
        assert "__Host-auction-console" not in user.cookies
        # The old cookie is dead on the server too, not only forgotten by the browser.
        user.cookies = old_cookie
        assert (await user.get("/console")).status_code == 303
    finally:
        await user.close()

    rows = await audit_rows(database)
    sign_ins = [(r["action"], r["outcome"], r["username"], r["client_ip"]) for r in rows]
    assert ("SIGN_IN", "SIGN_IN_FAILED", None, "127.0.0.1") in sign_ins
    assert ("SIGN_IN", "OK", "t-operator", "127.0.0.1") in sign_ins
    assert ("SIGN_OUT", "OK", "t-operator", "127.0.0.1") in sign_ins
    # The password typed is never recorded, right or wrong.
    assert not any("not-the-password" in r["detail"] or "operator-password" in r["detail"] for r in rows)


async def test_repeated_wrong_passwords_are_throttled(server_factory: Callable[..., ServerProcess],
                                                     database: str) -> None:
    # A long first wait, so that no machine is slow enough to see it end during the test.
    server = server_factory(AUCTION_SIGN_IN_BACKOFF_SECONDS="600")
    server.start()
    accounts = await make_accounts(database)
    account = accounts[Role.AUDITOR]
    async with ConsoleUser(server) as guesser:
        for _ in range(6):  # 5 free, and the 6th starts the wait
            r = await guesser.sign_in(Account(account.username, "guess-guess-guess", Role.AUDITOR))
            assert r.status_code == 401
        r = await guesser.sign_in(account)  # even the right password, for a while
        assert r.status_code == 429 and "SIGN_IN_THROTTLED" in r.text
        assert 0 < int(r.headers["retry-after"]) <= 600


async def test_a_bidder_token_opens_no_operator_page_or_api(server: ServerProcess, database: str) -> None:
    await make_accounts(database)
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=30, countdown=60)
        token = s.bidders[0].token
        async with ConsoleUser(server) as bidder:
            for path in ("/console", f"/console/sessions/{s.id}", f"/console/sessions/{s.id}/events.csv",
                         "/console/audit"):
                for headers in ({"authorization": f"Bearer {token}"}, {"cookie": f"__Host-auction-console={token}"}):
                    r = await bidder.http.get(path, headers=headers)
                    assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), (path, r)
            r = await bidder.http.post(f"/console/sessions/{s.id}/suspend",
                                       data={"csrf_token": token, "reason": "x"},
                                       headers={"cookie": f"__Host-auction-console={token}"})
            assert r.status_code == 401 and error_code(r.text) == "UNAUTHORIZED"
            for method, path in (("GET", "/api/sessions"), ("GET", f"/api/sessions/{s.id}/bidders"),
                                 ("POST", f"/api/sessions/{s.id}/suspend"), ("GET", f"/api/sessions/{s.id}/events")):
                r = await bidder.http.request(method, path, headers={"authorization": f"Bearer {token}"},
                                              json={"reason": "bidder tries"} if method == "POST" else None)
                assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED", (path, r.text)
            # Nor is it a console password.
            r = await bidder.sign_in(Account("t-operator", token, Role.OPERATOR))
            assert r.status_code == 401
        assert (await api.session(s.id))["state"]["phase"] == "SCHEDULED"
        # The bidder page does take it (and tells which session it is for).
        async with ConsoleUser(server) as page:
            r = await page.http.post("/bid/session", json={"token": token})
            assert r.status_code == 200 and r.json() == {"session_id": s.id, "bidder_no": s.bidders[0].bidder_no}
            r = await page.http.post("/bid/session", json={"token": "x" * 43})
            assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_TOKEN"


async def test_a_committee_member_cannot_suspend(server: ServerProcess, database: str) -> None:
    accounts = await make_accounts(database)
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.0, countdown=60)
        watcher = await WsClient.join(server.ws, s.id)
        await watcher.wait_event("SessionOpened", timeout=5)
        member = await signed_in(server, accounts[Role.COMMITTEE])
        try:
            page = await member.get(f"/console/sessions/{s.id}")
            assert page.status_code == 200
            assert 'id="control-denied"' in page.text and 'id="suspend-form"' not in page.text
            # Committee members decide the reserve: they see neither the bidders nor the private log (Q26).
            assert 'id="bidders"' not in page.text and 'id="export-csv"' not in page.text
            for number in (b.bidder_no for b in s.bidders):
                assert f'data-bidder="{number}"' not in page.text
            assert (await member.get(f"/console/sessions/{s.id}/events.json")).status_code == 403
            for action in ("suspend", "terminate", "resume"):
                r = await member.post(f"/console/sessions/{s.id}/{action}",
                                      {"csrf_token": csrf_of(page.text), "reason": "委员会成员试图操作", "confirm": "yes"})
                assert r.status_code == 403 and error_code(r.text) == "FORBIDDEN", (action, r.text[:300])
            r = await member.post("/console/sessions", {"csrf_token": csrf_of(page.text), "method": "AUCTION"})
            assert r.status_code == 403 and error_code(r.text) == "FORBIDDEN"
        finally:
            await member.close()
        assert (await api.session(s.id))["state"]["phase"] == "AUCTION"
        assert not [e for e in watcher.events if e["event"] == "SessionSuspended"]
        await watcher.close()
    refused = [r for r in await audit_rows(database) if r["outcome"] == "FORBIDDEN"]
    assert {(r["action"], r["username"], r["role"], r["session_id"], r["client_ip"]) for r in refused} >= {
        ("SUSPEND", "t-committee", "COMMITTEE", s.id, "127.0.0.1"),
        ("TERMINATE", "t-committee", "COMMITTEE", s.id, "127.0.0.1"),
    }


async def test_an_operator_sees_bidder_identities_only_after_the_close(server: ServerProcess, database: str) -> None:
    accounts = await make_accounts(database)
    async with Api(server) as api:
        s = await api.auction(bidders=0, start_in=2.5, countdown=2)
        # An application with its deposit (the applications route, where it exists): the applicant's name too.
        applied = await api.post(f"/api/sessions/{s.id}/applications", {
            "legal_name": APPLICANT, "registration_no": "91530300MA6K7X1234", "kind": "COMPANY"})
        assert applied.status_code in (201, 404), applied.text
        has_applications = applied.status_code == 201
        first = await api.qualify(s.id, NAMES[0])
        second = await api.qualify(s.id, NAMES[1])
        operator = await signed_in(server, accounts[Role.OPERATOR])
        auditor = await signed_in(server, accounts[Role.AUDITOR])
        try:
            client = await WsClient.join(server.ws, s.id, first.token)
            await client.wait_event("SessionOpened", timeout=5)
            for user in (operator, auditor):
                page = await user.get(f"/console/sessions/{s.id}")
                assert page.status_code == 200
                assert f'data-bidder="{first.bidder_no}"' in page.text and f'data-bidder="{second.bidder_no}"' in page.text
                for name in (*NAMES, APPLICANT):
                    assert name not in page.text
                if has_applications:
                    assert 'id="applications-link"' in page.text
                    r = await user.get(f"/console/sessions/{s.id}/applications")
                    assert r.status_code == 200 and APPLICANT not in r.text and "91530300MA6K7X1234" not in r.text
                for export in ("events.csv", "events.json"):
                    r = await user.get(f"/console/sessions/{s.id}/{export}")
                    assert r.status_code == 200 and not any(name in r.text for name in NAMES)
                assert (await user.get(f"/console/sessions/{s.id}/confirmation")).status_code == 403

            assert (await client.bid(100 * WAN))["type"] == "ack"
            await client.wait_event("SessionClosed", timeout=10)
            await client.close()

            page = await operator.get(f"/console/sessions/{s.id}")
            assert all(name in page.text for name in NAMES)
            assert re.search(rf'id="winner-name">{NAMES[0]}<', page.text)
            assert 'id="server-check" data-ok="true"' not in page.text  # no reserve in this auction (Q28)
            assert (await auditor.get(f"/console/sessions/{s.id}")).text.count(NAMES[1]) >= 1
            if has_applications:
                assert APPLICANT in (await operator.get(f"/console/sessions/{s.id}/applications")).text
        finally:
            await operator.close()
            await auditor.close()


async def test_every_console_form_refuses_a_missing_or_wrong_csrf_token(server: ServerProcess, database: str) -> None:
    accounts = await make_accounts(database)
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=30, countdown=60)
        operator = await signed_in(server, accounts[Role.OPERATOR])
        try:
            token = await operator.csrf(f"/console/sessions/{s.id}")
            form = {"reason": "CSRF 测试", "confirm": "yes", "legal_name": "某公司", "method": "AUCTION",
                    "parcel_ref": "X", "start_price_wan": "100", "increment_wan": "1", "deposit_wan": "20",
                    "start_at": "2030-01-01T09:00:00"}
            posts = console_posts(s.id)
            assert {"/console/logout", "/console/sessions", f"/console/sessions/{s.id}/suspend",
                    f"/console/sessions/{s.id}/resume", f"/console/sessions/{s.id}/terminate",
                    f"/console/sessions/{s.id}/bidders"} <= set(posts)
            for path in posts:
                if path == "/console/login":
                    continue  # below: it has no session yet, so its own double-submit token
                for supplied in ({}, {"csrf_token": ""}, {"csrf_token": "forged-" + token[7:]}):
                    r = await operator.post(path, {**form, **supplied})
                    assert r.status_code == 403 and error_code(r.text) == "CSRF_TOKEN_INVALID", (path, supplied)
                # The right token from another site's page is refused as well.
                r = await operator.post(path, {**form, "csrf_token": token}, headers={"origin": "http://evil.example"})
                assert r.status_code == 403 and error_code(r.text) == "CSRF_TOKEN_INVALID", path
            # Nothing happened: still signed in, nothing created, qualified, suspended or terminated.
            assert (await operator.get("/console")).status_code == 200
            view = await api.session(s.id)
            assert view["state"]["phase"] == "SCHEDULED" and view["qualified_bidders"] == 1
            assert len((await api.get("/api/sessions")).json()) == 1
            # The same form with the token works (so the refusals above were about the token).
            r = await operator.post(f"/console/sessions/{s.id}/suspend", {**form, "csrf_token": token})
            assert r.status_code == 303, r.text[:500]
            assert (await api.session(s.id))["state"]["phase"] == "SUSPENDED"
        finally:
            await operator.close()

    # The sign-in form: a double-submit token (cookie and field must match).
    async with ConsoleUser(server) as anonymous:
        account = accounts[Role.OPERATOR]
        page = await anonymous.get("/console/login")
        field = csrf_of(page.text)
        credentials = {"username": account.username, "password": account.password}
        r = await anonymous.post("/console/login", credentials)
        assert r.status_code == 403 and error_code(r.text) == "CSRF_TOKEN_INVALID"
        r = await anonymous.post("/console/login", {**credentials, "csrf_token": field[::-1]})
        assert r.status_code == 403 and error_code(r.text) == "CSRF_TOKEN_INVALID"
        anonymous.cookies.clear()  # the field without its cookie (a forged sign-in from another site)
        r = await anonymous.post("/console/login", {**credentials, "csrf_token": field})
        assert r.status_code == 403 and error_code(r.text) == "CSRF_TOKEN_INVALID"
        assert "__Host-auction-console" not in anonymous.cookies
    refused = [r for r in await audit_rows(database) if r["outcome"] == "CSRF_TOKEN_INVALID"]
    # The operator's one row each; a stranger's (no session yet) rolled up per minute, the first at once.
    assert len([r for r in refused if r["username"] == "t-operator"]) == 4 * (len(posts) - 1)
    assert any(r["action"] == "SIGN_IN" and r["username"] is None for r in refused)


async def test_operator_actions_are_audited_with_who_what_when_and_where(server: ServerProcess, database: str) -> None:
    accounts = await make_accounts(database)
    async with Api(server) as api:
        operator = await signed_in(server, accounts[Role.OPERATOR])
        try:
            token = await operator.csrf()
            r = await operator.post("/console/sessions", {
                "csrf_token": token, "method": "AUCTION", "parcel_ref": "曲靖 QJ-AUDIT", "start_price_wan": "3000",
                "increment_wan": "20", "deposit_wan": "600", "reserve_wan": "3123.456789",
                "start_at": iso_in(60), "countdown_seconds": "300"})
            assert r.status_code == 303, r.text[:800]
            sid = r.headers["location"].split("/")[3].split("?")[0]
            r = await operator.post(f"/console/sessions/{sid}/bidders", {"csrf_token": token, "legal_name": NAMES[0]})
            assert r.status_code == 200 and 'id="q-token"' in r.text
            # The stand-in's token answer: valid until a CST time as people read it, not an ISO instant.
            assert re.search(r'id="q-expires">\d{4}年\d{2}月\d{2}日 \d{2}:\d{2} <small>北京时间', r.text), r.text
            assert not ISO_TIME.search(r.text), ISO_TIME.search(r.text)
            page = await operator.get(f"/console/sessions/{sid}")
            assert "600 万元（600,000,000 分）" in page.text  # the deposit, its fen beside
            assert 'id="increment-fen" class="fen">20,000,000 分<' in page.text
            assert re.search(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2} <small>北京时间", page.text), page.text
            listing = await operator.get("/console/sessions")
            for shown in (page.text, listing.text):
                assert not ISO_TIME.search(shown) and not re.search(r"\d{2}:\d{2}(:\d{2})?(</span>)? CST", shown), shown
            r = await operator.post(f"/console/sessions/{sid}/suspend", {"csrf_token": token, "reason": ""})
            # refused beside the suspend form, on the session's page
            assert r.status_code == 422 and 'id="error-suspend" data-code="REASON_REQUIRED"' in r.text
            r = await operator.post(f"/console/sessions/{sid}/suspend", {"csrf_token": token, "reason": "系统故障"})
            assert r.status_code == 303
            r = await operator.post(f"/console/sessions/{sid}/resume", {"csrf_token": token, "reason": "故障已排除"})
            assert r.status_code == 303
            csv_export = await operator.get(f"/console/sessions/{sid}/events.csv")
            assert csv_export.status_code == 200 and csv_export.text.startswith("\ufeffseq,pub_seq,type")
            assert "attachment" in csv_export.headers["content-disposition"]
            json_export = await operator.get(f"/console/sessions/{sid}/events.json")
            assert [e["type"] for e in json_export.json()] == [e["type"] for e in await api.events(sid)]
            # The JSON API is audited as well (the operator key names a desk, not a person).
            assert (await api.post(f"/api/sessions/{sid}/suspend", {"reason": "接口中止"})).status_code == 200
            async with ConsoleUser(server) as stranger:
                r = await stranger.http.post(f"/api/sessions/{sid}/resume", json={"reason": "x"},
                                             headers={"authorization": "Bearer wrong"})
                assert r.status_code == 401
            page = await operator.get(f"/console/sessions/{sid}")
            assert 'data-action="SUSPEND"' in page.text and "系统故障" in page.text
        finally:
            await operator.close()

    rows = await audit_rows(database)
    mine = [(r["action"], r["outcome"], r["username"]) for r in rows if r["session_id"] == sid]
    for expected in [("CREATE_SESSION", "OK", "t-operator"), ("QUALIFY_BIDDER", "OK", "t-operator"),
                     ("SUSPEND", "REASON_REQUIRED", "t-operator"), ("SUSPEND", "OK", "t-operator"),
                     ("RESUME", "OK", "t-operator"), ("EXPORT_EVENTS_CSV", "OK", "t-operator"),
                     (f"API POST /api/sessions/{sid}/suspend", "OK", "operator-api-key"),
                     (f"API POST /api/sessions/{sid}/resume", "UNAUTHORIZED", None)]:
        assert expected in mine, (expected, mine)
    assert all(r["client_ip"] == "127.0.0.1" for r in rows)
    suspend = next(r for r in rows if r["action"] == "SUSPEND" and r["outcome"] == "OK")
    assert json.loads(suspend["detail"]) == {"reason": "系统故障"}
    # The reserve is sealed at once and secret until the close: no audit row holds it, nor the name or token.
    text = json.dumps(rows, ensure_ascii=False, default=str)
    assert "3123456789" not in text and "3123.456789" not in text and NAMES[0] not in text
    # The auditor reads the trail; an operator's console has it too, a committee member's does not.
    auditor = await signed_in(server, ACCOUNTS[Role.AUDITOR])
    try:
        page = await auditor.get("/console/audit")
        assert page.status_code == 200 and "CREATE_SESSION" in page.text and "127.0.0.1" in page.text
        export = await auditor.get("/console/audit.json")
        assert any(r["action"] == "SUSPEND" for r in export.json())
        assert (await auditor.post(f"/console/sessions/{sid}/suspend", {
            "csrf_token": csrf_of(page.text), "reason": "审计员"})).status_code == 403
    finally:
        await auditor.close()
    committee = await signed_in(server, ACCOUNTS[Role.COMMITTEE])
    try:
        assert (await committee.get("/console/audit")).status_code == 403
    finally:
        await committee.close()


async def test_pages_drawn_from_the_api_render(server: ServerProcess, database: str) -> None:
    accounts = await make_accounts(database)
    operator = await signed_in(server, accounts[Role.OPERATOR])
    try:
        for path in ("/console/plans", "/console/deadlines"):
            r = await operator.get(path)
            assert r.status_code == 200, (path, r.text[:500])
            assert 'id="api-table"' in r.text or 'id="empty"' in r.text or "<dl" in r.text, r.text[:800]
        assert (await operator.get("/console/sessions/S-NOSUCH")).status_code == 404
    finally:
        await operator.close()


async def test_accounts_made_and_disabled_with_the_cli(server: ServerProcess, database: str) -> None:
    env = {**os.environ, "DATABASE_URL": database, "AUCTION_LOG_LEVEL": "WARNING"}

    async def cli(*args: str, stdin: bytes = b"") -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "auction.cli", "users", *args, env=env,
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(stdin), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    code, out = await cli("add", "wang.lei", "--role", "operator", "--display-name", "王磊", "--password-stdin",
                          stdin=b"a-long-password-for-wang\n")
    assert code == 0 and "wang.lei" in out, out
    code, out = await cli("add", "li", "--role", "auditor", "--password-stdin", stdin=b"short\n")
    assert code == 1 and "password" in out, out
    code, out = await cli("list")
    assert code == 0 and "wang.lei\tOPERATOR\t王磊" in out, out
    account = Account("wang.lei", "a-long-password-for-wang", Role.OPERATOR)
    user = await signed_in(server, account)
    try:
        assert (await user.get("/console")).status_code == 200
        code, out = await cli("disable", "wang.lei")
        assert code == 0, out
        assert (await user.get("/console")).status_code == 303  # signed out at once
    finally:
        await user.close()
    async with ConsoleUser(server) as again:
        assert (await again.sign_in(account)).status_code == 401
