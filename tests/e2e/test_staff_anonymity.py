"""Bidder numbers are anonymous to everyone, staff included, until the close (RULES 3.5, 8.1).

A whole sale on a real server in production mode (no stand-ins, tests/e2e/test_stand_ins.py):
an announced plan's session, two companies applying, each qualified by a bank-confirmed
deposit (the fake bank's signed webhook), tokens issued through the API and the console,
one re-issued, the bidders signing in and bidding, the close. This is also the real path
end to end: no session or bidder here comes from a stand-in.

Before the close every staff-facing answer, page and export (operator API; the console as
operator, auditor and committee member: pages, event log CSV/JSON, audit trail; the token
answers) is scanned for a link between a company (legal name, registration number,
application id, sub-account) and its bidder number, which the test knows from each bidder's
own WebSocket welcome: the number in the same record (a JSON object and what it holds, a
table row, a CSV row, a token answer as a whole) as the company, or the exact time of the
company's qualification beside it (to the millisecond: its application's `qualified_at`, or
its private `BidderQualified` event's, which the log export shows). Private events in the log exports carry no number then. After the close the link is
shown, and the same scan finds it (so it could have before).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank, now_iso
from tests.e2e.console_helpers import ConsoleUser, csrf_of, make_accounts, signed_in
from tests.e2e.helpers import WAN, Api, WsClient, close_all
from tests.e2e.plan_flow import COMPRESSED, START_PRICE, Committee, announced_plan, ok, session_of

START_IN = 15.0  # seconds from the announcement to the start: room for applications and deposits
COUNTDOWN = 12  # seconds after the last bid to the close: room for the scan during bidding
RESERVE = 5_050 * WAN + 12_345
WINNING_BID = 5_100 * WAN
DEPOSIT = START_PRICE // 5

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(?:[+-]\d{2}:\d{2}|Z)")
WORD = re.compile(r"[0-9A-Za-z_.:/+\-]+")  # "2026-12-06", "10:25:50", "A-1B2C" are one word each
RECORD = re.compile(r"<(tr|dl)\b.*?</\1>", re.S)


@dataclass
class Company:
    name: str
    registration_no: str
    application_id: str = ""
    sub_account: str = ""
    number: int = 0  # from its own WebSocket welcome
    qualified_ms: frozenset[int] = frozenset()  # its qualification's exact times (application row, event)

    def named_in(self, text: str) -> bool:
        return any(m and m in text for m in (self.name, self.registration_no, self.application_id, self.sub_account))


@dataclass
class Doc:
    label: str
    text: str
    about: Company | None = None  # an answer about one application as a whole (a token answer)


def _scalars(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v)
    elif value is not None:
        yield str(value)


def _scopes(value: Any) -> Iterator[str]:
    """Each JSON object with everything it holds, as text."""
    if isinstance(value, dict):
        yield "\n".join(_scalars(value))
    if isinstance(value, (dict, list)):
        for v in value.values() if isinstance(value, dict) else value:
            yield from _scopes(v)


def records(doc: Doc) -> Iterator[str]:
    if doc.about is not None:
        yield html.unescape(doc.text)
    try:
        parsed = json.loads(doc.text)
    except ValueError:
        parsed = None
    if parsed is not None:
        yield from _scopes(parsed)
    elif doc.label.endswith(".csv"):
        for row in csv.reader(io.StringIO(doc.text)):
            yield "\n".join(row)
    else:
        for match in RECORD.finditer(doc.text):
            yield html.unescape(match.group(0))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: str | datetime) -> int:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return (moment - EPOCH) // timedelta(milliseconds=1)


def links(docs: list[Doc], companies: list[Company]) -> list[str]:
    """Where a company and its bidder number, or the exact time of its qualification, share a record."""
    found = []
    for doc in docs:
        for record in records(doc):
            words = set(WORD.findall(record))
            times = {_ms(t) for t in ISO.findall(record)}
            for c in companies:
                if not (c.named_in(record) or doc.about is c):
                    continue
                if str(c.number) in words:
                    found.append(f"{doc.label}: {c.name} and its number {c.number}")
                if times & c.qualified_ms:
                    found.append(f"{doc.label}: {c.name} beside the exact time of its qualification")
    return sorted(set(found))


def private_numbers(docs: list[Doc]) -> list[Any]:
    """The bidder numbers that private events (no pub_seq) carry in the log exports."""
    numbers: list[Any] = []
    for doc in docs:
        if doc.label.endswith(("/events", "/events.json")):
            try:
                log = json.loads(doc.text)
            except ValueError:  # a refusal page (the committee may not export the log)
                assert doc.label.startswith("COMMITTEE"), doc.label
                continue
            numbers += [e["data"].get("bidder_no") for e in log if e["pub_seq"] is None]
        elif doc.label.endswith("/events.csv") and not doc.label.startswith("COMMITTEE"):
            rows = list(csv.DictReader(io.StringIO(doc.text.lstrip("\ufeff"))))
            numbers += [json.loads(r["data"]).get("bidder_no") for r in rows if r["pub_seq"] == ""]
    return numbers


class Recording(Api):
    """The operator API client, keeping each answer as a document."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__(server)
        self.docs: list[Doc] = []

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        r = await super().post(path, body, **kw)
        self.docs.append(Doc(f"API POST {path}", r.text))
        return r


async def staff_documents(api: Api, users: dict[Role, ConsoleUser], sid: str, plan_id: str) -> list[Doc]:
    docs = []
    for path in ("/api/sessions", f"/api/sessions/{sid}", f"/api/sessions/{sid}/bidders",
                 f"/api/sessions/{sid}/events", f"/api/sessions/{sid}/verify", f"/api/sessions/{sid}/applications",
                 f"/api/sessions/{sid}/deadlines", f"/api/sessions/{sid}/confirmation", "/api/ledger",
                 "/api/deadlines?all=1", "/api/plans", f"/api/plans/{plan_id}"):
        r = await api.get(path)
        docs.append(Doc(f"API {path}", r.text))
    page = f"/console/sessions/{sid}"
    for role, user in users.items():
        for path in ("/console", page, f"{page}/applications", f"{page}/events.csv", f"{page}/events.json",
                     f"{page}/deadlines", f"{page}/confirmation", "/console/audit", "/console/audit.csv",
                     "/console/audit.json", "/console/deadlines", "/console/plans", f"/console/plans/{plan_id}",
                     f"{page}/close", f"/console/plans/{plan_id}/reserve"):
            r = await user.get(path)
            docs.append(Doc(f"{role.value} {path}", r.text))
    return docs


async def qualification_times(dsn: str, sid: str, c: Company) -> frozenset[int]:
    """The application's `qualified_at` and its `BidderQualified` event's `at`, in ms, from the database."""
    con = await asyncpg.connect(dsn)
    try:
        row = await con.fetchrow("SELECT bidder_no, qualified_at FROM applications WHERE application_id = $1",
                                 c.application_id)
        events = await con.fetch("SELECT payload FROM session_events WHERE session_id = $1 AND type = $2",
                                 sid, "BidderQualified")
    finally:
        await con.close()
    assert row["bidder_no"] == c.number  # the welcome told the bidder its own number
    at = [json.loads(e["payload"])["at"] for e in events if json.loads(e["payload"])["bidder_no"] == c.number]
    assert len(at) == 1
    return frozenset({_ms(row["qualified_at"]), at[0] // 1000})


async def phase(api: Api, sid: str) -> str:
    return str((await api.session(sid))["state"]["phase"])


async def test_staff_cannot_tie_a_company_to_its_bidder_number_before_the_close(
    server_factory: Callable[..., ServerProcess], database: str, tmp_path: Path
) -> None:
    server = server_factory(stand_ins=False, **COMPRESSED, **BANK_ENV)  # production: the real path only
    server.start()
    accounts = await make_accounts(database)
    tag = uuid.uuid4().hex[:6].upper()
    a = Company(f"匿名甲置业有限公司{tag}", f"91530300MA6KA{tag}")
    b = Company(f"匿名乙房地产开发有限公司{tag}", f"91530300MA6KB{tag}")
    api = Recording(server)
    bank = FakeBank(server)
    users: dict[Role, ConsoleUser] = {}
    clients: list[WsClient] = []
    try:
        for role in (Role.OPERATOR, Role.AUDITOR, Role.COMMITTEE):
            users[role] = await signed_in(server, accounts[role])
        committee = await Committee.register(api, tmp_path, 3)
        plan_id, _ = await announced_plan(api, "AUCTION", start_in=START_IN)
        sid = await session_of(api, plan_id, countdown=COUNTDOWN)

        # Applications; the bank confirms each deposit (dated a moment before it reports it).
        for c in (a, b):
            app = await ok(api, f"/api/sessions/{sid}/applications",
                           {"legal_name": c.name, "registration_no": c.registration_no, "kind": "COMPANY"}, 201)
            c.application_id, c.sub_account = app["application_id"], app["sub_account"]
            paid = await bank.pay(c.sub_account, DEPOSIT, c.name, received_at=now_iso(-2))
            assert paid.status == 200 and paid.body["qualified_now"], paid.body
        await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))

        # Tokens: a's through the API, b's through the console, then re-issued (lost).
        issued = await ok(api, f"/api/applications/{a.application_id}/issue-token", {"by": "op:li"}, 201)
        assert "bidder_no" not in issued
        api.docs[-1].about = a
        operator = users[Role.OPERATOR]
        form = await operator.get(f"/console/sessions/{sid}/applications")
        r = await operator.post(f"/console/sessions/{sid}/applications/{b.application_id}/token",
                                {"csrf_token": csrf_of(form.text), "mode": "issue"})
        assert r.status_code == 200 and 'id="q-bidder-no-hidden"' in r.text, r.text[:2000]
        console_token = Doc("OPERATOR console token page", r.text, about=b)
        reissued = await ok(api, f"/api/applications/{b.application_id}/reissue-token",
                            {"by": "op:li", "reason": "竞买人报告凭证遗失"}, 201)
        api.docs[-1].about = b

        # Each bidder learns its own number when it signs in.
        bidder_a = await WsClient.join(server.ws, sid, issued["token"])
        bidder_b = await WsClient.join(server.ws, sid, reissued["token"])
        watcher = await WsClient.join(server.ws, sid)
        clients += [bidder_a, bidder_b, watcher]
        for c, client in ((a, bidder_a), (b, bidder_b)):
            assert client.welcome is not None
            c.number = int(client.welcome["bidder_no"])
        companies = [a, b]

        for c in companies:  # the test reads what the staff may not: when each really qualified
            c.qualified_ms = await qualification_times(database, sid, c)
        assert "BidderTokenReissued" in [e["type"] for e in await api.events(sid)]

        # Before the open, and again while bidding: no link anywhere staff look.
        docs = await staff_documents(api, users, sid, plan_id) + api.docs + [console_token]
        assert await phase(api, sid) in ("SCHEDULED", "AUCTION")  # not closed
        assert links(docs, companies) == []
        numbers = private_numbers(docs)
        # 3 private events in 5 exports: the API's, the operator's and the auditor's CSV and JSON
        assert numbers == [None] * 3 * 5
        apps = {x["application_id"]: x for x in (await api.get(f"/api/sessions/{sid}/applications")).json()}
        for c in companies:
            view = apps[c.application_id]
            assert (view["legal_name"], view["status"]) == (c.name, "QUALIFIED")  # staff see who applied
            assert view["bidder_no"] is None and view["qualified_at"] is None
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", view["qualified_on"])  # the day only

        await watcher.wait_event("SessionOpened", timeout=START_IN + 30)
        assert (await bidder_a.bid(START_PRICE))["type"] == "ack"
        assert (await bidder_b.bid(WINNING_BID))["type"] == "ack"
        docs = await staff_documents(api, users, sid, plan_id)
        assert await phase(api, sid) == "AUCTION", "closed during the scan: COUNTDOWN is too short here"
        assert any("BidAccepted" in d.text for d in docs)  # public numbers, in the log: no company there
        assert links(docs, companies) == []
        assert set(private_numbers(docs)) == {None}

        # The close: the link is shown now, and the same scan finds it.
        closed = await watcher.wait_event("SessionClosed", timeout=COUNTDOWN + 30)
        assert (closed["data"]["outcome"], closed["data"]["winner_bidder_no"]) == ("SOLD", b.number)
        docs = await staff_documents(api, users, sid, plan_id)
        found = links(docs, companies)
        for c in companies:
            for where in (f"API /api/sessions/{sid}/applications", f"API /api/sessions/{sid}/bidders",
                          f"OPERATOR /console/sessions/{sid}", f"OPERATOR /console/sessions/{sid}/applications",
                          f"AUDITOR /console/sessions/{sid}/applications"):
                assert f"{where}: {c.name} and its number {c.number}" in found, (where, found)
            where = f"API /api/sessions/{sid}/applications"
            assert f"{where}: {c.name} beside the exact time of its qualification" in found, found
        assert not [f for f in found if f.startswith("COMMITTEE")]  # never theirs to see (Q26)
        assert sorted(private_numbers(docs)) == sorted(  # a and b qualified, b's token re-issued; 5 exports
            [a.number, b.number, b.number] * 5)
        apps = {x["application_id"]: x for x in (await api.get(f"/api/sessions/{sid}/applications")).json()}
        assert all(apps[c.application_id]["bidder_no"] == c.number and apps[c.application_id]["qualified_at"]
                   for c in companies)
    finally:
        await close_all(*clients)
        for user in users.values():
            await user.close()
        await bank.close()
        await api.http.aclose()
