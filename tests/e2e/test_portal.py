"""The bidders' portal end to end, over HTTP on a real server in production mode (no
stand-ins): two companies register (refusals first: a one-character-off 统一社会信用代码,
a common password, a code registered already), apply for an announced parcel through
the pages, the fake bank's signed notifications qualify them with no clerk involved,
each takes its bidding token from the portal and bids over the real WebSocket; after
the close the winner sees its result and its 成交确认书, the other its refund. Before
the close no staff answer or page ties a company to its number, and the console's
pages name no company at all (RULES 3.5, 8.1)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from auction.domain.china import chinese_minute
from auction.domain.companies import USCC_ALPHABET, uscc_check_char
from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank, now_iso
from tests.e2e.console_helpers import ConsoleUser, csrf_of, error_code, make_accounts, signed_in
from tests.e2e.helpers import WAN, Api, WsClient, assert_token_refused, close_all
from tests.e2e.plan_flow import COMPRESSED, START_PRICE, Committee, announced_plan, iso, ok, session_of
from tests.e2e.test_staff_anonymity import Company, links, qualification_times, staff_documents
from tests.e2e.test_secrecy import RecordingApi
from tests.e2e.test_tender import Bidder as TenderBidder, opened_on_time, qualified_by_deposit, until

START_IN = 35.0  # seconds from the announcement to the start: room for registering, applying and paying
DEPOSIT = START_PRICE // 5
RESERVE = 5_050 * WAN + 12_345
WINNING_BID = 5_100 * WAN
PASSWORD = "青山绿水-land-2026"
SUB_ACCOUNT = re.compile(r'id="sub-account">(\d{13})<')
TOKEN = re.compile(r'id="token">(bt_[A-Za-z0-9_-]+)<')
TENDER_START_IN = 600.0  # bids open long after the test ends: applications stay open, nobody waits for a time
# A tender that is bid and opened within the test: room to register, apply and pay (three companies),
# then to seal three bids.
TENDER_SETUP_SECONDS = 40.0
TENDER_BID_SECONDS = 20.0


def new_uscc() -> str:
    """A valid code (GB 32100-2015) of a company that does not exist: 9153030 + 10 random + check."""
    body = "91530300" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def off_by_one(code: str) -> str:
    last = USCC_ALPHABET[(USCC_ALPHABET.index(code[-1]) + 1) % 31]
    return code[:-1] + last


class Bidder(ConsoleUser):
    """A company's browser on the portal (cookies kept by hand, as ConsoleUser does)."""

    async def register(self, c: Company, password: str = PASSWORD, **changes: str) -> httpx.Response:
        page = await self.get("/portal/register")
        assert page.status_code == 200, page.text
        form = {"csrf_token": csrf_of(page.text), "legal_name": c.name, "uscc": c.registration_no,
                "contact_name": "张经理", "contact_phone": "0874-3123456", "password": password,
                "password_again": password, **changes}
        return await self.post("/portal/register", form)

    async def apply(self, session_id: str, times: int = 1) -> str:
        """Submit the parcel's apply form `times` times (a double submit: the same form twice)."""
        page = await self.get("/portal/parcels")
        assert f'/portal/parcels/{session_id}/apply' in page.text, page.text[:3000]
        locations = set()
        for _ in range(times):
            r = await self.post(f"/portal/parcels/{session_id}/apply", {"csrf_token": csrf_of(page.text)})
            assert r.status_code == 303, r.text[:2000]
            locations.add(r.headers["location"])
        [location] = locations
        return str(location)

    async def credentials(self, application: str) -> str:
        page = await self.get(application)
        r = await self.post(f"{application}/credentials", {"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text[:2000]
        token = TOKEN.search(r.text)
        assert token is not None, r.text[:2000]
        assert f'href="/bid#token={token.group(1)}"' in r.text  # in the fragment: never sent to a server
        return token.group(1)


def parcel_of(page: str, plan_id: str) -> str:
    """The parcel's card on /portal/parcels ('' when it is not listed)."""
    found = re.search(rf'<section class="card parcel" id="parcel-{re.escape(plan_id)}".*?</section>', page, re.S)
    return found.group(0) if found else ""


def field_error(page: str, name: str) -> str:
    found = re.search(rf'id="{name}-error" role="alert">([A-Z_]+):', page)
    assert found, page[:3000]
    return found.group(1)


async def test_companies_register_apply_are_qualified_by_the_bank_bid_and_see_their_result(
    server_factory: Callable[..., ServerProcess], database: str, tmp_path: Path
) -> None:
    server = server_factory(stand_ins=False, **COMPRESSED, **BANK_ENV)
    server.start()
    accounts = await make_accounts(database)
    tag = uuid.uuid4().hex[:6]
    a = Company(f"曲靖甲置业有限公司{tag}", new_uscc())
    b = Company(f"云南乙房地产开发有限公司{tag}", new_uscc())
    api, bank = Api(server), FakeBank(server)
    alice, bob, stranger, twice = Bidder(server), Bidder(server), Bidder(server), Bidder(server)
    users: dict[Role, ConsoleUser] = {}
    clients: list[WsClient] = []
    try:
        committee = await Committee.register(api, tmp_path, 3)
        plan_id, _ = await announced_plan(api, "AUCTION", start_in=START_IN)
        sid = await session_of(api, plan_id, countdown=3)

        # Refusals, each beside its field, with what was typed kept; nothing is registered.
        r = await alice.register(a, uscc=off_by_one(a.registration_no))
        assert r.status_code == 422 and field_error(r.text, "uscc") == "USCC_INVALID"
        assert f'value="{a.name}"' in r.text and PASSWORD not in r.text  # typed kept, never the password
        r = await alice.register(a, password="password2024!")
        assert r.status_code == 422 and field_error(r.text, "password") == "PASSWORD_TOO_COMMON"
        r = await alice.register(a, password_again=PASSWORD + "x")
        assert r.status_code == 422 and field_error(r.text, "password_again") == "PASSWORDS_DIFFER"
        r = await alice.register(a, contact_phone="12345")
        assert r.status_code == 422 and field_error(r.text, "contact_phone") == "PHONE_INVALID"
        r = await alice.register(a, csrf_token="forged")
        assert r.status_code == 403 and "CSRF_TOKEN_INVALID" in r.text
        page = await stranger.get("/portal/login")
        r = await stranger.post("/portal/login", {"csrf_token": csrf_of(page.text), "uscc": a.registration_no,
                                                  "password": PASSWORD})
        assert r.status_code == 401 and "SIGN_IN_FAILED" in r.text  # nothing was registered

        # Registered; the same form again (a double submit) is the same registration.
        r = await alice.register(a)
        assert (r.status_code, r.headers["location"]) == (303, "/portal/parcels"), r.text[:2000]
        assert any(h.startswith("__Host-auction-portal=") and "HttpOnly" in h and "Secure" in h
                   and "SameSite=strict" in h for h in alice.set_cookies), alice.set_cookies
        r = await twice.register(a)  # another tab, the same form
        assert r.status_code == 303
        r = await stranger.register(Company("冒名公司", a.registration_no), password="another-password-8421")
        assert r.status_code == 409 and field_error(r.text, "uscc") == "COMPANY_EXISTS"
        assert (await bob.register(b)).status_code == 303

        # Sign-out, a wrong password, and sign-in again.
        home = await alice.get("/portal")
        assert a.name in home.text and 'id="no-applications"' in home.text
        await alice.post("/portal/logout", {"csrf_token": csrf_of(home.text)})
        assert (await alice.get("/portal/applications/A-1")).headers["location"] == "/portal/login"
        page = await alice.get("/portal/login")
        r = await alice.post("/portal/login", {"csrf_token": csrf_of(page.text), "uscc": a.registration_no,
                                               "password": "wrong-password-123"})
        assert r.status_code == 401 and f'value="{a.registration_no}"' in r.text
        r = await alice.post("/portal/login", {"csrf_token": csrf_of(r.text),
                                               "uscc": a.registration_no.lower(), "password": PASSWORD})
        assert (r.status_code, r.headers["location"]) == (303, "/portal"), r.text[:2000]

        # The announced parcel, and the applications (a double submit is the same one).
        parcels = await alice.get("/portal/parcels")
        assert "曲靖市麒麟区珠江源大道以东" in parcels.text and "1,000,000,000 分" in parcels.text  # the deposit
        application = await alice.apply(sid, times=2)  # one application, whatever the clicks
        page = await alice.get(application)
        a.application_id = application.rsplit("/", 1)[1]
        a.sub_account = SUB_ACCOUNT.search(page.text).group(1)  # type: ignore[union-attr]
        assert 'data-status="AWAITING_DEPOSIT"' in page.text and "1000 万元" in page.text
        assert re.search(r'id="deposit-deadline">\d{4}年\d{2}月\d{2}日 \d{2}时\d{2}分', page.text), page.text
        assert (await bob.get(application)).status_code == 404  # nobody else's
        bob_application = await bob.apply(sid)
        b.application_id = bob_application.rsplit("/", 1)[1]
        b.sub_account = SUB_ACCOUNT.search((await bob.get(bob_application)).text).group(1)  # type: ignore[union-attr]
        r = await alice.post(f"{application}/credentials", {"csrf_token": csrf_of(page.text)})
        assert r.status_code == 422 and error_code(r.text) == "NOT_QUALIFIED"  # no deposit yet

        # The bank confirms each deposit: qualified at once, by nobody at the desk.
        for c in (a, b):
            paid = await bank.pay(c.sub_account, DEPOSIT, c.name, received_at=now_iso(-2))
            assert paid.status == 200 and paid.body["qualified_now"], paid.body
        page = await alice.get(application)
        assert 'data-status="QUALIFIED"' in page.text
        number_a = int(re.search(r'id="bidder-no">(\d+)<', page.text).group(1))  # type: ignore[union-attr]
        await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))

        # Staff never get a portal application's token (they could sign in with it and learn the
        # company's number): neither issued nor re-issued by an operator, only taken in the portal.
        for action, body in (("issue-token", {"by": "clerk"}), ("reissue-token", {"by": "clerk", "reason": "lost"})):
            r = await api.post(f"/api/applications/{a.application_id}/{action}", body)
            assert r.status_code == 409 and r.json()["error"]["code"] == "TOKEN_VIA_PORTAL", r.text

        # Credentials: the token, once; taking new ones makes the older stop working.
        token_a = await alice.credentials(application)
        stale = await bob.credentials(bob_application)
        token_b = await bob.credentials(bob_application)
        await assert_token_refused(server.ws, sid, stale)
        bidder_a = await WsClient.join(server.ws, sid, token_a)
        bidder_b = await WsClient.join(server.ws, sid, token_b)
        watcher = await WsClient.join(server.ws, sid)
        clients += [bidder_a, bidder_b, watcher]
        assert bidder_a.welcome is not None and bidder_b.welcome is not None
        a.number, b.number = int(bidder_a.welcome["bidder_no"]), int(bidder_b.welcome["bidder_no"])
        assert a.number == number_a  # the portal showed the company its own number

        # Before the close: nothing staff see ties a company to its number; the console names none.
        for role in (Role.OPERATOR, Role.AUDITOR, Role.COMMITTEE):
            users[role] = await signed_in(server, accounts[role])
        for c in (a, b):
            c.qualified_ms = await qualification_times(database, sid, c)
        docs = await staff_documents(api, users, sid, plan_id)
        assert links(docs, [a, b]) == []
        # The console's pages name no company before the close (the applications page neither
        # names applicants nor payers until then).
        named = [d.label for d in docs if not d.label.startswith("API")
                 and any(c.name in d.text or c.registration_no in d.text for c in (a, b))]
        assert named == []

        await watcher.wait_event("SessionOpened", timeout=START_IN + 30)
        assert (await bidder_b.bid(START_PRICE))["type"] == "ack"
        assert (await bidder_a.bid(WINNING_BID))["type"] == "ack"
        closed = await watcher.wait_event("SessionClosed", timeout=60)
        assert (closed["data"]["outcome"], closed["data"]["winner_bidder_no"]) == ("SOLD", a.number)

        # After the close: the winner's result and confirmation, the other's refund.
        page = await alice.get(application)
        assert 'id="result" data-won="yes"' in page.text and 'id="confirmation-link"' in page.text
        confirmation = await alice.get(f"{application}/confirmation")
        assert confirmation.status_code == 200 and "成交确认书" in confirmation.text and a.name in confirmation.text
        assert (await bob.get(f"{bob_application}/confirmation")).status_code == 422  # SESSION_NOT_SOLD: not his
        page = await bob.get(bob_application)
        assert 'id="result" data-won="no"' in page.text and 'id="not-won"' in page.text
        assert 'data-kind="HELD_FOR_REFUND">1000 万元' in page.text
        assert re.search(r'<tr data-state="PENDING"><td>\d{4}年\d{2}月\d{2}日', page.text), page.text
        home = await alice.get("/portal")
        assert a.sub_account in home.text and str(a.number) in home.text
    finally:
        await close_all(*clients)
        for user in (*users.values(), alice, bob, stranger, twice):
            await user.close()
        await bank.close()
        await api.http.aclose()


async def test_sign_in_backs_off_per_code_and_address(server_factory: Callable[..., ServerProcess]) -> None:
    """The console's back-off (auction/entrypoints/http/sign_in.py): 5 failures are free, then
    the next attempt for that code from that address waits (429, Retry-After) while another
    address signs in as usual."""
    server = server_factory(stand_ins=False, AUCTION_SIGN_IN_BACKOFF_SECONDS="600")
    server.start()
    c = Company(f"曲靖丙置业有限公司{uuid.uuid4().hex[:6]}", new_uscc())
    owner, guesser = Bidder(server), Bidder(server, local_address="127.0.0.2")
    try:
        assert (await owner.register(c)).status_code == 303
        page = await guesser.get("/portal/login")
        for _ in range(6):
            page = await guesser.post("/portal/login", {"csrf_token": csrf_of(page.text), "uscc": c.registration_no,
                                                        "password": "not-the-password-1"})
            assert page.status_code == 401, page.text[:1000]
        r = await guesser.post("/portal/login", {"csrf_token": csrf_of(page.text), "uscc": c.registration_no,
                                                 "password": PASSWORD})
        assert r.status_code == 429 and "SIGN_IN_THROTTLED" in r.text and int(r.headers["retry-after"]) > 0
        other = Bidder(server)
        try:
            page = await other.get("/portal/login")
            r = await other.post("/portal/login", {"csrf_token": csrf_of(page.text), "uscc": c.registration_no,
                                                   "password": PASSWORD})
            assert r.status_code == 303, r.text[:1000]
        finally:
            await other.close()
    finally:
        await owner.close()
        await guesser.close()


async def test_a_company_applies_to_a_tender_takes_its_token_and_sees_its_status_then_its_result(
    server_factory: Callable[..., ServerProcess]
) -> None:
    """A tender plan (招标, RULES 6) in the portal: listed before its tender exists (no applying
    yet), then with the tender's status, bid deadline and opening; the company applies, the fake
    bank's deposit qualifies it with no clerk, its credentials are the tender's token, which signs
    in on /bid as the tender's bidder. Before the end its pages show nothing of another applicant
    (one made at the desk, qualified too); once the tender is terminated, its own result and refund.
    Nobody waits for the plan's times: bids open long after the test."""
    server = server_factory(stand_ins=False, **COMPRESSED, **BANK_ENV)
    server.start()
    tag = uuid.uuid4().hex[:6]
    c = Company(f"曲靖招标置业有限公司{tag}", new_uscc())
    other = Company(f"云南丁投资有限公司{tag}", new_uscc())
    api, bank, alice = Api(server), FakeBank(server), Bidder(server)
    try:
        plan_id, start = await announced_plan(api, "TENDER", start_in=TENDER_START_IN)
        assert (await alice.register(c)).status_code == 303
        card = parcel_of((await alice.get("/portal/parcels")).text, plan_id)
        assert 'data-method="TENDER"' in card and "招标尚未设立" in card and "/apply" not in card, card

        # The tender: listed with its status, bid deadline and opening where an auction's start stands.
        deadline = start + timedelta(seconds=60)
        opening = deadline + timedelta(seconds=30)
        created = await ok(api, f"/api/plans/{plan_id}/tender", {
            "evaluation": "HIGHEST_PRICE", "reserve_fen": RESERVE, "bid_deadline": iso(deadline),
            "opening_at": iso(opening)}, 201)
        tender_id = created["tender_id"]
        card = parcel_of((await alice.get("/portal/parcels")).text, plan_id)
        assert f'data-session="{tender_id}"' in card and "招标" in card, card
        assert 'data-status="BIDS_NOT_OPEN"' in card and "尚未开始投标" in card
        assert chinese_minute(int(deadline.timestamp() * 1e6)) in card
        assert chinese_minute(int(opening.timestamp() * 1e6)) in card
        assert "<dt>开始时间" not in card  # no auction start for a tender

        # Another company applies at the desk and pays: the portal never shows it.
        desk = await ok(api, f"/api/tenders/{tender_id}/applications", {
            "legal_name": other.name, "registration_no": other.registration_no, "kind": "COMPANY"}, 201)
        paid = await bank.pay(desk["sub_account"], desk["required_fen"], other.name, received_at=now_iso(-2))
        assert paid.status == 200 and paid.body["qualified_now"], paid.body

        # Applying (a double submit is one application), the deposit, the credentials.
        application = await alice.apply(tender_id, times=2)
        page = await alice.get(application)
        sub_account = SUB_ACCOUNT.search(page.text).group(1)  # type: ignore[union-attr]
        assert 'data-status="AWAITING_DEPOSIT"' in page.text and 'data-status="BIDS_NOT_OPEN"' in page.text
        assert re.search(r'id="deposit-deadline">\d{4}年\d{2}月\d{2}日 \d{2}时\d{2}分', page.text), page.text
        paid = await bank.pay(sub_account, DEPOSIT, c.name, received_at=now_iso(-2))
        assert paid.status == 200 and paid.body["qualified_now"], paid.body
        page = await alice.get(application)
        assert 'data-status="QUALIFIED"' in page.text and 'id="credentials"' in page.text
        number = int(re.search(r'id="bidder-no">(\d+)<', page.text).group(1))  # type: ignore[union-attr]
        token = await alice.credentials(application)
        signed = await api.http.post("/bid/session", json={"token": token})
        assert signed.status_code == 200 and signed.json() == {"tender_id": tender_id, "bidder_no": number}, signed.text
        home = await alice.get("/portal")
        for text in (page.text, home.text):  # RULES 3.5: its own, nobody else's
            assert other.name not in text and other.registration_no not in text and desk["sub_account"] not in text
        assert sub_account in home.text and 'data-status="BIDS_NOT_OPEN"' in home.text

        # The end (terminated here): its own result, its deposit held for refund with its Q31 row.
        await ok(api, f"/api/tenders/{tender_id}/terminate", {"reason": "测试终止 / ended by the test"})
        page = await alice.get(application)
        assert 'id="result" data-won="no"' in page.text and 'data-outcome="TERMINATED"' in page.text, page.text
        assert 'id="not-won"' in page.text and 'id="credentials"' not in page.text
        assert 'data-kind="HELD_FOR_REFUND">1000 万元' in page.text
        assert re.search(r'<tr data-state="PENDING"><td>\d{4}年\d{2}月\d{2}日', page.text), page.text
        assert (await alice.get(f"{application}/confirmation")).status_code == 422  # not the winner
        assert parcel_of((await alice.get("/portal/parcels")).text, plan_id) == ""  # ended: not listed
    finally:
        await alice.close()
        await bank.close()
        await api.http.aclose()


async def test_a_company_that_wins_a_tender_sees_it_and_takes_its_award_notice(
    server_factory: Callable[..., ServerProcess]
) -> None:
    """A tender the portal's company wins (RULES 6.4, 6.6): it applies and pays on the portal, two
    companies qualified at the desk bid too (three valid bids, N Art.14), each seals its bid with
    the bidders' client, and the tender's timer opens them at the set time. Its application page
    then says it won, with its bidder number and the price, and its 中标通知书 is its own to open
    (a loser's page and its refused notice: the test above, with the tender terminated)."""
    server = server_factory(stand_ins=False, **COMPRESSED, **BANK_ENV)
    server.start()
    tag = uuid.uuid4().hex[:6]
    c = Company(f"曲靖中标置业有限公司{tag}", new_uscc())
    api, bank, alice = RecordingApi(server), FakeBank(server), Bidder(server)
    try:
        plan_id, start = await announced_plan(api, "TENDER", start_in=TENDER_SETUP_SECONDS)
        deadline = start + timedelta(seconds=TENDER_BID_SECONDS)
        tender_id = (await ok(api, f"/api/plans/{plan_id}/tender", {
            "evaluation": "HIGHEST_PRICE", "reserve_fen": RESERVE, "bid_deadline": iso(deadline),
            "opening_at": iso(deadline)}, 201))["tender_id"]
        assert (await alice.register(c)).status_code == 303
        application = await alice.apply(tender_id)
        sub_account = SUB_ACCOUNT.search((await alice.get(application)).text).group(1)  # type: ignore[union-attr]
        paid = await bank.pay(sub_account, DEPOSIT, c.name, received_at=now_iso(-2))
        assert paid.status == 200 and paid.body["qualified_now"], paid.body
        number = int(re.search(r'id="bidder-no">(\d+)<', (await alice.get(application)).text).group(1))  # type: ignore[union-attr]
        ours = TenderBidder(server, tender_id, {"bidder_no": number, "token": await alice.credentials(application),
                                                "application_id": "", "sub_account": sub_account})
        others = [TenderBidder(server, tender_id, await qualified_by_deposit(
            api, bank, tender_id, f"云南投标{i}有限公司{tag}", new_uscc())) for i in range(2)]
        assert datetime.now(UTC) < start, f"the setup outlasted its {TENDER_SETUP_SECONDS} s"

        await until(start)
        for bidder, price in ((others[0], 5_060 * WAN), (ours, WINNING_BID), (others[1], 5_070 * WAN)):
            await bidder.bid(price)
        await until(deadline)
        result = (await opened_on_time(api, tender_id))["result"]  # 开标 by the timer, then the award
        assert (result["outcome"], result["winner_bidder_no"], result["price_fen"]) == ("AWARDED", number, WINNING_BID)

        page = (await alice.get(application)).text
        assert 'id="result" data-won="yes"' in page and 'data-outcome="AWARDED"' in page, page
        assert f"贵公司（投标人编号 {number}）中标" in page and "5100 万元" in page
        assert 'id="confirmation-link"' in page and 'id="not-won"' not in page
        notice = await alice.get(f"{application}/confirmation")
        assert notice.status_code == 200 and notice.headers["cache-control"] == "no-store", notice.text[:2000]
        assert "中标通知书" in notice.text and c.name in notice.text and tender_id in notice.text
    finally:
        await alice.close()
        await bank.close()
        await api.http.aclose()
