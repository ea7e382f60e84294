"""Only the real path in production: the stand-ins `POST /api/sessions` (a session without
a plan) and `POST /api/sessions/{id}/bidders` (a bidder without a deposit, against Q31),
and their console forms, exist only in demo mode or with AUCTION_STAND_INS=on.

Production mode (the setting off, not demo): both answer 404 with the body an unknown
route gets, with or without the operator key, and change nothing; the console neither
shows nor accepts their forms. With the setting on they work as before. (Demo mode:
tests/e2e/test_run_default.py. The real path end to end in production mode, from plan to
a sold session with bidders qualified by bank-confirmed deposits:
tests/e2e/test_staff_anonymity.py; deposits in detail: tests/e2e/test_deposits.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import audit_rows, make_accounts, signed_in
from tests.e2e.helpers import WAN, Api, iso_in
from tests.e2e.plan_flow import COMPRESSED, announced_plan, session_of

SESSION_BODY: dict[str, Any] = {
    "method": "AUCTION", "parcel_ref": "曲靖-STAND-IN", "start_price_fen": 100 * WAN, "increment_fen": WAN,
    "deposit_fen": 20 * WAN, "countdown_seconds": 300,
}
CONSOLE_SESSION_FORM = {"method": "AUCTION", "parcel_ref": "曲靖 QJ-STAND-IN", "start_price_wan": "3000",
                        "increment_wan": "20", "deposit_wan": "600", "countdown_seconds": "300"}


async def _state(api: Api, sid: str) -> tuple[Any, ...]:
    """Everything the stand-ins could have changed."""
    sessions = (await api.get("/api/sessions")).json()
    view = await api.session(sid)
    return (sorted(s["session_id"] for s in sessions), view["qualified_bidders"], await api.events(sid),
            (await api.get(f"/api/sessions/{sid}/bidders")).json())


async def test_in_production_the_stand_ins_are_not_there(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    server = server_factory(stand_ins=False, **COMPRESSED)  # production: no AUCTION_STAND_INS, no --demo
    server.start()
    accounts = await make_accounts(database)
    async with Api(server) as api, Api(server, key="") as keyless:
        unknown = await api.post("/api/no-such-route", {})
        assert unknown.status_code == 404
        absent = unknown.json()
        assert absent == {"error": {"code": "NOT_FOUND", "message": absent["error"]["message"], "details": {}}}

        # The real path makes the session: an announced plan (start far off: nothing opens here).
        plan_id, _ = await announced_plan(api, "AUCTION", start_in=600)
        sid = await session_of(api, plan_id)
        before = await _state(api, sid)

        for client in (api, keyless):
            r = await client.post("/api/sessions", {**SESSION_BODY, "start_at": iso_in(60)})
            assert (r.status_code, r.json()) == (404, absent), r.text
            r = await client.post(f"/api/sessions/{sid}/bidders", {"legal_name": "某某置业有限公司"})
            assert (r.status_code, r.json()) == (404, absent), r.text
        assert await _state(api, sid) == before

        # The console neither shows nor accepts their forms.
        operator = await signed_in(server, accounts[Role.OPERATOR])
        try:
            listing = await operator.get("/console")
            assert listing.status_code == 200 and 'id="create-form"' not in listing.text
            assert 'action="/console/sessions"' not in listing.text
            page = await operator.get(f"/console/sessions/{sid}")
            assert page.status_code == 200 and 'id="qualify-form"' not in page.text
            assert f'/console/sessions/{sid}/bidders"' not in page.text
            token = await operator.csrf()
            r = await operator.post("/console/sessions", {"csrf_token": token, **CONSOLE_SESSION_FORM,
                                                          "start_at": iso_in(60)})
            assert (r.status_code, r.json()) == (404, absent)
            r = await operator.post(f"/console/sessions/{sid}/bidders", {"csrf_token": token,
                                                                         "legal_name": "某某置业有限公司"})
            assert (r.status_code, r.json()) == (404, absent)
        finally:
            await operator.close()
        assert await _state(api, sid) == before
        actions = {row["action"] for row in await audit_rows(database)}
        assert not actions & {"CREATE_SESSION", "QUALIFY_BIDDER"}  # no console action ran
    assert "stand-ins on" not in server.log_text()


async def test_with_the_setting_on_the_stand_ins_work(server: ServerProcess, database: str) -> None:
    """The `server` fixture turns them on (AUCTION_STAND_INS=on, tests/conftest.py)."""
    accounts = await make_accounts(database)
    async with Api(server) as api:
        created = await api.create(**SESSION_BODY, start_at=iso_in(60))
        sid = created["terms"]["session_id"]
        qualified = await api.qualify(sid, "某某置业有限公司")
        assert 1001 <= qualified.bidder_no <= 9999 and qualified.token.startswith("bt_")
        assert (await api.session(sid))["qualified_bidders"] == 1
        operator = await signed_in(server, accounts[Role.OPERATOR])
        try:
            assert 'id="create-form"' in (await operator.get("/console")).text
            page = await operator.get(f"/console/sessions/{sid}")
            assert 'id="qualify-form"' in page.text and "仅限测试与演示" in page.text
            token = await operator.csrf()
            r = await operator.post(f"/console/sessions/{sid}/bidders", {"csrf_token": token,
                                                                         "legal_name": "另一置业有限公司"})
            assert r.status_code == 200 and 'id="q-token"' in r.text and 'id="q-bidder-no"' in r.text
        finally:
            await operator.close()
        assert (await api.session(sid))["qualified_bidders"] == 2
    assert "stand-ins on" in server.log_text()  # said at start-up: tests and demos only

