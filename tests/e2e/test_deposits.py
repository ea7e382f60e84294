"""Deposits end to end (RULES 3.4, Q31): applications with their own sub-accounts, a fake
bank calling the webhook over HTTP with real HMAC signatures, the double-entry
ledger, qualification by summed payments, and a qualified bidder bidding over
WebSocket with the token issued to them. Every refusal the issue lists, each with
its code, booked where the money is real, qualifying nobody; the ledger balances
after every step."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from auction.domain.deposit.subaccounts import is_valid_sub_account, luhn_check_digit
from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, OTHER_BANK_ID, FakeBank, now_iso
from tests.e2e.console_helpers import audit_rows, csrf_of, error_code, make_accounts, signed_in
from tests.e2e.helpers import WAN, Api, WsClient, assert_token_refused, iso_in, sleep_until_us, wait_opened

DEPOSIT = 20 * WAN
COMPANY = "曲靖市甲房地产开发有限公司（集团）"
COMPANY_AS_BANK_WRITES_IT = "曲靖市甲房地产开发有限公司 (集团)"  # half-width brackets, a space: the same name
OTHER = "云南乙置业有限公司"
THIRD = "曲靖丙置业有限公司"


@pytest.fixture
async def env(server_factory: Callable[..., ServerProcess]) -> AsyncIterator[tuple[ServerProcess, Api, FakeBank]]:
    server = server_factory(**BANK_ENV)
    server.start()
    api = Api(server)
    bank = FakeBank(server)
    try:
        yield server, api, bank
    finally:
        await bank.close()
        await api.http.aclose()


async def auction(api: Api, start_in: float, countdown: int = 2) -> dict[str, Any]:
    return await api.create(
        method="AUCTION", parcel_ref="曲靖-QJ2026-031", start_price_fen=100 * WAN, increment_fen=WAN,
        deposit_fen=DEPOSIT, start_at=iso_in(start_in), countdown_seconds=countdown,
    )


async def apply(api: Api, session_id: str, name: str, registration_no: str, **extra: Any) -> dict[str, Any]:
    r = await api.post(f"/api/sessions/{session_id}/applications",
                       {"legal_name": name, "registration_no": registration_no, "kind": "COMPANY", **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def applications(api: Api, session_id: str) -> dict[str, dict[str, Any]]:
    r = await api.get(f"/api/sessions/{session_id}/applications")
    assert r.status_code == 200, r.text
    return {a["application_id"]: a for a in r.json()}


async def ledger(api: Api) -> dict[str, Any]:
    r = await api.get("/api/ledger")
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    assert report["balanced"] and report["fates_add_up"], report
    assert report["sql"]["unbalanced_entries"] == [] and report["sql"]["debits"] == report["sql"]["credits"]
    return report


async def qualified_count(api: Api, session_id: str) -> int:
    return int((await api.session(session_id))["qualified_bidders"])


async def test_two_payments_add_up_and_the_qualified_bidder_bids(env: tuple[ServerProcess, Api, FakeBank]) -> None:
    server, api, bank = env
    session = await auction(api, start_in=6)  # ample for what comes before the start
    sid = session["terms"]["session_id"]
    app = await apply(api, sid, COMPANY, "91530300MA6K00001A")
    sub = app["sub_account"]
    assert is_valid_sub_account(sub) and len(sub) == 13
    assert (app["required_fen"], app["status"]) == (DEPOSIT, "AWAITING_DEPOSIT")
    assert app["deposit_deadline"] == session["times_cst"]["registration_closes_at"]  # the default

    first = await bank.pay(sub, 12 * WAN, COMPANY)
    assert first.status == 200, first.body
    assert (first.body["counted"], first.code, first.body["qualified_now"], first.body["paid_fen"]) == (
        True, None, False, 12 * WAN)
    view = (await applications(api, sid))[app["application_id"]]
    assert (view["status"], view["paid_fen"], view["missing_fen"]) == ("AWAITING_DEPOSIT", 12 * WAN, 8 * WAN)
    assert await qualified_count(api, sid) == 0

    second = await bank.pay(sub, 8 * WAN, COMPANY_AS_BANK_WRITES_IT)
    assert (second.status, second.code, second.body["qualified_now"], second.body["paid_fen"]) == (
        200, None, True, DEPOSIT)
    assert await qualified_count(api, sid) == 1
    view = (await applications(api, sid))[app["application_id"]]
    assert (view["status"], view["missing_fen"], view["token_issued"]) == ("QUALIFIED", 0, False)
    assert view["bidder_no"] is None  # RULES 3.5: not linked to the name before the close
    assert [(p["amount_fen"], p["counted"]) for p in view["payments"]] == [(12 * WAN, True), (8 * WAN, True)]
    report = await ledger(api)
    assert report["totals"]["DEPOSIT"] >= DEPOSIT

    # The token: once, through an operator, after qualification; only its hash is kept.
    r = await api.post(f"/api/applications/{app['application_id']}/issue-token", {"by": "op:li"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    again = await api.post(f"/api/applications/{app['application_id']}/issue-token", {"by": "op:li"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "TOKEN_ALREADY_ISSUED")

    client = await WsClient.join(server.ws, sid, token)
    try:
        await wait_opened(client)
        reply = await client.bid(100 * WAN)
        assert reply["type"] == "ack", reply
    finally:
        await client.close()
    await ledger(api)


async def test_a_lost_token_is_reissued_and_the_old_one_stops_working(
        env: tuple[ServerProcess, Api, FakeBank]) -> None:
    """An operator replaces a lost or exposed token: the new one is shown once; the old
    one can no longer sign in, and a connection still open with it may no longer bid
    (TOKEN_REVOKED, from the session's log); a bid it made before keeps its ack."""
    server, api, bank = env
    session = await auction(api, start_in=6, countdown=30)  # ample for what comes before the start
    sid = session["terms"]["session_id"]
    app = await apply(api, sid, COMPANY, "91530300MA6K00001A")
    other = await apply(api, sid, OTHER, "91530000MA6K00002B")
    assert (await bank.pay(app["sub_account"], DEPOSIT, COMPANY)).body["qualified_now"]
    assert (await bank.pay(other["sub_account"], DEPOSIT, OTHER)).body["qualified_now"]
    url = f"/api/applications/{app['application_id']}/reissue-token"

    # Never issued: nothing to replace.
    r = await api.post(url, {"by": "op:li", "reason": "遗失"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "TOKEN_NOT_YET_ISSUED")
    old = (await api.post(f"/api/applications/{app['application_id']}/issue-token", {"by": "op:li"})).json()["token"]
    theirs = (await api.post(f"/api/applications/{other['application_id']}/issue-token", {"by": "op:li"})).json()
    old_client = await WsClient.join(server.ws, sid, old)
    other_client = await WsClient.join(server.ws, sid, theirs["token"])
    try:
        await wait_opened(old_client)
        first = await old_client.bid(100 * WAN, bid_id="before-reissue")
        assert first["type"] == "ack", first

        r = await api.post(url, {"by": "op:li"})  # a reason is required
        assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"]["field"]) == (
            422, "REASON_REQUIRED", "reason")
        r = await api.post(url, {"by": "op:li", "reason": "竞买人报告凭证遗失"})
        assert r.status_code == 201, r.text
        new = r.json()["token"]
        assert new != old and new.startswith("bt_")
        assert "bidder_no" not in r.json()  # RULES 3.5: not beside the application; the welcome tells the bidder

        assert (await other_client.bid(101 * WAN))["type"] == "ack"  # the others bid on
        refused = await old_client.bid(102 * WAN)
        assert (refused["type"], refused["code"]) == ("reject", "TOKEN_REVOKED"), refused
        again = await old_client.bid(100 * WAN, bid_id="before-reissue")  # a retry of an accepted bid
        assert (again["type"], again["seq"]) == ("ack", first["seq"])
        await assert_token_refused(server.ws, sid, old)
        fresh = await WsClient.join(server.ws, sid, new)
        try:
            assert first_bidder(fresh) == first_bidder(old_client)  # the same bidder, a new token
            assert (await fresh.bid(102 * WAN))["type"] == "ack"
        finally:
            await fresh.close()
    finally:
        await old_client.close()
        await other_client.close()
    view = (await applications(api, sid))[app["application_id"]]
    assert view["status"] == "QUALIFIED"
    await ledger(api)


def first_bidder(client: WsClient) -> int:
    assert client.welcome is not None
    return int(client.welcome["bidder_no"])


async def test_operators_issue_and_reissue_tokens_from_the_console(
        env: tuple[ServerProcess, Api, FakeBank], database: str) -> None:
    """The applications page offers the token forms (CSRF, operator role, audited with
    the reason and never the token); an auditor sees the page without the forms and may not post."""
    server, api, bank = env
    accounts = await make_accounts(database)
    session = await auction(api, start_in=60)
    sid = session["terms"]["session_id"]
    app = await apply(api, sid, COMPANY, "91530300MA6K00001A")
    assert (await bank.pay(app["sub_account"], DEPOSIT, COMPANY)).body["qualified_now"]
    page_path = f"/console/sessions/{sid}/applications"
    form_path = f"/console/sessions/{sid}/applications/{app['application_id']}/token"

    auditor = await signed_in(server, accounts[Role.AUDITOR])
    try:
        page = await auditor.get(page_path)
        assert page.status_code == 200 and 'id="token-actions"' not in page.text
        r = await auditor.post(form_path, {"csrf_token": csrf_of(page.text), "mode": "issue"})
        assert r.status_code == 403 and error_code(r.text) == "FORBIDDEN"
    finally:
        await auditor.close()

    operator = await signed_in(server, accounts[Role.OPERATOR])
    try:
        page = await operator.get(page_path)
        assert f'id="token-form-{app["application_id"]}"' in page.text and 'value="issue"' in page.text
        csrf = csrf_of(page.text)
        r = await operator.post(form_path, {"csrf_token": "forged", "mode": "issue"})
        assert error_code(r.text) == "CSRF_TOKEN_INVALID"
        r = await operator.post(form_path, {"csrf_token": csrf, "mode": "issue"})
        assert r.status_code == 200 and "已发放竞买凭证" in r.text, r.text
        first = re.search(r'id="q-token">(bt_[A-Za-z0-9_-]+)<', r.text)
        assert first, r.text
        page = await operator.get(page_path)
        assert 'value="reissue"' in page.text
        r = await operator.post(form_path, {"csrf_token": csrf, "mode": "reissue", "reason": ""})
        assert error_code(r.text) == "REASON_REQUIRED"
        r = await operator.post(form_path, {"csrf_token": csrf, "mode": "reissue", "reason": "竞买人来电报告凭证遗失"})
        assert r.status_code == 200 and 'id="q-revoked"' in r.text, r.text
        second = re.search(r'id="q-token">(bt_[A-Za-z0-9_-]+)<', r.text)
        assert second and second.group(1) != first.group(1)
        # An application of another session is not this page's to touch.
        other = await auction(api, start_in=60)
        r = await operator.post(f"/console/sessions/{other['terms']['session_id']}/applications/"
                                f"{app['application_id']}/token", {"csrf_token": csrf, "mode": "reissue",
                                                                    "reason": "x"})
        assert error_code(r.text) == "NOT_FOUND"
    finally:
        await operator.close()

    stale = await WsClient.open(server.ws)
    try:
        assert (await stale.hello(sid, first.group(1)))["code"] == "INVALID_TOKEN"
    finally:
        await stale.close()
    fresh = await WsClient.join(server.ws, sid, second.group(1))  # the new one signs in
    await fresh.close()
    rows = [r for r in await audit_rows(database) if r["action"] == "ISSUE_TOKEN"]
    assert [(r["username"], r["outcome"]) for r in rows] == [
        ("t-auditor", "FORBIDDEN"), ("t-operator", "CSRF_TOKEN_INVALID"), ("t-operator", "OK"),
        ("t-operator", "REASON_REQUIRED"), ("t-operator", "OK"), ("t-operator", "NOT_FOUND")]
    assert "竞买人来电报告凭证遗失" in rows[4]["detail"]
    assert not any(first.group(1) in r["detail"] or second.group(1) in r["detail"] for r in rows)


async def test_every_refusal_has_its_code_books_real_money_and_qualifies_nobody(
    env: tuple[ServerProcess, Api, FakeBank],
) -> None:
    server, api, bank = env
    session = await auction(api, start_in=120)
    sid = session["terms"]["session_id"]
    a = await apply(api, sid, COMPANY, "91530300MA6K00001A")
    late_deadline = iso_in(3)  # ahead of the next request by a wide margin; waited for below
    b = await apply(api, sid, OTHER, "91530000MA6K00002B", deposit_deadline=late_deadline)
    c = await apply(api, sid, THIRD, "91530000MA6K00003C")

    async def entries() -> int:
        return int((await ledger(api))["sql"]["entries"])

    # Applications: RULES 3.4 and one application per applicant and parcel.
    r = await api.post(f"/api/sessions/{sid}/applications", {"legal_name": "X", "registration_no": "91530000MA6K0009",
                       "kind": "COMPANY", "deposit_deadline": iso_in(600)})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "DEPOSIT_DEADLINE_AFTER_REGISTRATION")
    r = await api.post(f"/api/sessions/{sid}/applications", {"legal_name": COMPANY, "registration_no": "91530300MA6K00001A",
                       "kind": "COMPANY"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "APPLICATION_EXISTS")
    r = await api.post(f"/api/sessions/{sid}/applications", {"legal_name": "X", "registration_no": "91530000MA6K0009",
                       "kind": "TRUST"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "INVALID_FIELD")
    r = await api.post(f"/api/applications/{a['application_id']}/issue-token", {"by": "op"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "NOT_QUALIFIED")
    assert await entries() == 0

    # Not from a bank we know, or not signed by it: nothing is booked.
    body = bank.payment(a["sub_account"], DEPOSIT, COMPANY)
    bad_sig = await bank.notify(body, signature="0" * 64)
    assert (bad_sig.status, bad_sig.code) == (401, "BANK_SIGNATURE_INVALID")
    other_secret = await bank.notify(body, bank_id=OTHER_BANK_ID)  # signed with the wrong bank's secret
    assert (other_secret.status, other_secret.code) == (401, "BANK_SIGNATURE_INVALID")
    unknown = await bank.notify(body, bank_id="NOBANK")
    assert (unknown.status, unknown.code) == (401, "BANK_UNKNOWN")
    stale = await bank.notify(body, timestamp=int(time.time()) - 400)
    assert (stale.status, stale.code) == (401, "BANK_TIMESTAMP_STALE")
    ahead = await bank.notify(body, timestamp=int(time.time()) + 400)
    assert (ahead.status, ahead.code) == (401, "BANK_TIMESTAMP_STALE")
    tampered = await bank.notify(body)
    tampered_raw = tampered.raw.replace(str(DEPOSIT).encode(), str(DEPOSIT * 10).encode())
    forged = await bank.send_raw(tampered_raw, {**tampered.headers, "X-Signature": tampered.headers["X-Signature"]})
    assert (forged.status, forged.code) == (401, "BANK_SIGNATURE_INVALID")
    # ... but `tampered` itself was genuine: the full deposit, so A is qualified now.
    assert (tampered.status, tampered.code, tampered.body["qualified_now"]) == (200, None, True)
    assert await entries() == 1 and await qualified_count(api, sid) == 1

    # A replay of the very same signed request: refused, nothing done again.
    replay = await bank.send_raw(tampered.raw, tampered.headers)
    assert (replay.status, replay.code) == (409, "BANK_REPLAYED")
    # The bank's retry, signed afresh: the first answer again, nothing booked again.
    await asyncio.sleep(1.05)  # a new second, so a new signature
    retry = await bank.notify(body)
    assert (retry.status, retry.code, retry.body["duplicate"], retry.body["counted"]) == (
        200, "DEPOSIT_DUPLICATE_TXN", True, True)
    assert await entries() == 1
    # The same transaction id with another amount is not the same payment.
    conflict = await bank.notify({**body, "amount_fen": DEPOSIT + 1})
    assert (conflict.status, conflict.code) == (422, "DEPOSIT_TXN_CONFLICT")

    # What is not money: refused, nothing booked.
    for amount in (-5 * WAN, 0, 1.5, "2000000", True, None):
        sent = await bank.pay(b["sub_account"], amount, OTHER)
        assert (sent.status, sent.code) == (422, "INVALID_AMOUNT"), (amount, sent.body)
    future = await bank.pay(b["sub_account"], WAN, OTHER, received_at=now_iso(3600))
    assert (future.status, future.code) == (422, "INVALID_FIELD")
    assert await entries() == 1

    # Real money that cannot count: booked, held for refund with its reason, qualifying nobody.
    stranger = "1234567890" + "12"
    stranger += luhn_check_digit(stranger)
    unknown_sub = await bank.pay(stranger, 3 * WAN, "某某公司")
    assert (unknown_sub.status, unknown_sub.code, unknown_sub.body["application_id"]) == (
        200, "DEPOSIT_UNKNOWN_SUBACCOUNT", None)
    mismatch = await bank.pay(c["sub_account"], DEPOSIT, "云南丁投资有限公司")
    assert (mismatch.status, mismatch.code, mismatch.body["counted"]) == (200, "DEPOSIT_PAYER_NAME_MISMATCH", False)
    second_qualification = await bank.pay(a["sub_account"], DEPOSIT, COMPANY)
    assert (second_qualification.status, second_qualification.code, second_qualification.body["qualified_now"]) == (
        200, "DEPOSIT_ALREADY_QUALIFIED", False)
    await sleep_until_us(int(datetime.fromisoformat(b["deposit_deadline"]).timestamp() * 1e6), 0.2)
    late = await bank.pay(b["sub_account"], DEPOSIT, OTHER)
    assert (late.status, late.code, late.body["counted"]) == (200, "Q31_DEPOSIT_LATE", False)
    assert await entries() == 5
    assert await qualified_count(api, sid) == 1

    report = await ledger(api)
    assert report["totals"]["HELD_FOR_REFUND"] == 3 * WAN + DEPOSIT * 3
    assert report["totals"]["DEPOSIT"] == DEPOSIT
    assert [u["sub_account"] for u in report["unmatched"]] == [stranger]
    assert report["unmatched"][0]["code"] == "DEPOSIT_UNKNOWN_SUBACCOUNT"

    views = await applications(api, sid)
    va, vb, vc = views[a["application_id"]], views[b["application_id"]], views[c["application_id"]]
    assert va["status"] == "QUALIFIED"
    assert [p["code"] for p in va["payments"]] == [None, "DEPOSIT_ALREADY_QUALIFIED"]
    assert (vb["status"], vb["code"], vb["paid_fen"]) == ("NOT_QUALIFIED", "Q31_DEPOSIT_NOT_IN_FULL", 0)
    assert [(p["code"], p["counted"]) for p in vb["payments"]] == [("Q31_DEPOSIT_LATE", False)]
    assert (vc["status"], vc["paid_fen"], vc["missing_fen"]) == ("AWAITING_DEPOSIT", 0, DEPOSIT)
    assert [(p["code"], p["counted"]) for p in vc["payments"]] == [("DEPOSIT_PAYER_NAME_MISMATCH", False)]
    assert all(p["reason"] for p in vb["payments"] + vc["payments"])
    assert vb["deposit"]["HELD_FOR_REFUND"] == vc["deposit"]["HELD_FOR_REFUND"] == DEPOSIT
