"""The console forms that make the trading day possible through pages only, over HTTP
against a real server: registering a committee member's public key (what `POST
/api/committee-members` does) and publishing a sale's result (what `POST
/api/plans/{id}/supervision-number` and `/result` do). A refusal comes back beside
its field with what was typed and changes nothing; a second submission of a done
step changes nothing either; only operators act."""

from __future__ import annotations

import re
from datetime import timedelta
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auction.adapters.sealing import signatures
from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import (ConsoleUser, audit_rows, console_server, csrf_of, error_code, make_accounts,
                                      signed_in)
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened
from tests.e2e.plan_flow import COMPRESSED, START_PRICE, Committee, sealed_auction, today
from tests.e2e.test_console_plans import beside
from tests.e2e.test_console_unsold import next_step
from tests.e2e.test_publication import sign_contract

PRICE = START_PRICE + 12 * WAN + 345  # fen: 5012.000345 万元
WINNER = "曲靖市珠源置业有限公司"


async def post_form(user: ConsoleUser, path: str, fields: dict[str, str]) -> Any:
    page = await user.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:500])
    return await user.post(path, {"csrf_token": csrf_of(page.text), **fields})


async def test_an_operator_registers_a_members_public_key(
    server_factory: Callable[..., ServerProcess], database: str, tmp_path: Path
) -> None:
    server = server_factory(stand_ins=False)
    server.start()
    accounts = await make_accounts(database)
    public = signatures.write_private_key(tmp_path / "m1.key")
    operator = await signed_in(server, accounts[Role.OPERATOR])
    committee = await signed_in(server, accounts[Role.COMMITTEE])
    try:
        # A key that is not one: beside the field, what was typed kept, nothing registered.
        r = await post_form(operator, "/console/committee", {"member_id": "wy-zhang", "name": "张委员",
                                                             "public_key_hex": public[:-2]})
        assert r.status_code == 422 and beside(r.text, "public_key_hex") == "INVALID_FIELD"
        assert 'value="wy-zhang"' in r.text and "data-member=" not in r.text
        # Pasted with spaces and capitals, as people copy it: registered, and listed.
        spaced = " ".join(public[i:i + 8] for i in range(0, 64, 8)).upper()
        r = await post_form(operator, "/console/committee", {"member_id": "wy-zhang", "name": "张委员",
                                                             "public_key_hex": spaced})
        assert r.status_code == 303 and r.headers["location"] == "/console/committee?done=wy-zhang#m-wy-zhang"
        page = (await operator.get("/console/committee")).text
        assert f'data-member="wy-zhang" data-key="{public}"' in page
        # The same again is a retry; another key for the id is refused beside the id: a key never changes.
        again = await post_form(operator, "/console/committee", {"member_id": "wy-zhang", "name": "张委员",
                                                                 "public_key_hex": public})
        assert again.status_code == 303
        other = signatures.write_private_key(tmp_path / "m2.key")
        r = await post_form(operator, "/console/committee", {"member_id": "wy-zhang", "name": "张委员",
                                                             "public_key_hex": other})
        # A permanent refusal, not CONFLICT's "retry": a second key needs a new member id.
        assert r.status_code == 422 and beside(r.text, "member_id") == "MEMBER_KEY_REGISTERED"
        assert "已登记" in r.text and "请重试" not in r.text
        assert f'data-key="{other}"' not in (await operator.get("/console/committee")).text
        # A member reads the page (it is where the keys are) but registers nothing.
        r = await post_form(committee, "/console/committee", {"member_id": "wy-li", "name": "李委员",
                                                              "public_key_hex": other})
        assert r.status_code == 403 and error_code(r.text) == "FORBIDDEN"
        rows = [row for row in await audit_rows(database) if row["action"] == "COMMITTEE_MEMBER_REGISTER"]
        assert [row["outcome"] for row in rows] == ["INVALID_FIELD", "OK", "OK", "MEMBER_KEY_REGISTERED", "FORBIDDEN"]
    finally:
        await operator.close()
        await committee.close()


def result_fields(**overrides: str) -> dict[str, str]:
    d = today()
    half = f"{PRICE // 2 // WAN}.{PRICE // 2 % WAN:06d}"
    rest = f"{(PRICE - PRICE // 2) // WAN}.{(PRICE - PRICE // 2) % WAN:06d}"
    fields = {
        "supervision_no": "5303022026B00123", "project_name": "珠江源大道住宅项目", "land_source": "现有建设用地",
        "industry": "房地产业", "land_grade": "二级", "region_code": "530300",
        "installments": f"{d.replace(year=d.year + 1).isoformat()} {half} 首期50%\n"
                        f"{d.replace(year=d.year + 2).isoformat()} {rest} 尾款",
        "contract_date": d.isoformat(), "delivery_date": d.replace(year=d.year + 1).isoformat(),
        "construction_start_date": d.replace(year=d.year + 1).isoformat(),
        "completion_date": d.replace(year=d.year + 3).isoformat(),
    }
    fields.update(overrides)
    return fields


async def test_an_operator_publishes_the_result_of_a_sale(
    server_factory: Callable[..., ServerProcess], database: str, tmp_path: Path
) -> None:
    server, accounts = await console_server(server_factory, database, **COMPRESSED)
    operator = await signed_in(server, accounts[Role.OPERATOR])
    try:
        async with Api(server) as api:
            committee = await Committee.register(api, tmp_path, 2)
            plan_id, session_id = await sealed_auction(api, committee)
            path = f"/console/sessions/{session_id}/result"
            early = await operator.get(path)
            assert early.status_code == 422 and error_code(early.text) == "SESSION_NOT_SOLD"  # not sold yet
            bidder = await api.qualify(session_id, WINNER)
            client = await WsClient.join(server.ws, session_id, bidder.token)
            try:
                await wait_opened(client)
                assert (await client.bid(PRICE))["type"] == "ack"
                await client.wait_event("SessionClosed", timeout=30)
            finally:
                await close_all(client)

            close_page = (await operator.get(f"/console/sessions/{session_id}/close")).text
            assert f'href="{path}" id="publish-result-link"' in close_page
            step = next_step((await operator.get(f"/console/plans/{plan_id}")).text)  # follows the close
            assert f'href="{path}"' in step and "Q42" in step and 'id="next-deadline"' not in step
            form = (await operator.get(path)).text
            assert WINNER in form and "5012.000345" in form  # the holder and the exact price, from the records
            assert re.search(r'id="f-installments"[^>]*>\S+ 5012\.000345 一次性付清<', form)  # one period, the price
            # No contract date is guessed: the result quotes the signing the Q42 row records, none yet.
            assert 'id="contract-not-recorded"' in form
            assert 'id="f-contract_date" name="contract_date" type="date" value=""' in form

            r = await post_form(operator, path, result_fields(supervision_no="5303022026b0012"))
            assert r.status_code == 422 and beside(r.text, "supervision_no") == "SUPERVISION_NUMBER_REQUIRED"
            assert "珠江源大道住宅项目" in r.text  # what was typed is kept
            r = await post_form(operator, path, result_fields(installments="2027-01-01 5000 一次性付清"))
            assert r.status_code == 422 and beside(r.text, "installments") == "INVALID_FIELD"  # not the price
            assert (await api.get("/api/publications?kind=RESULT")).json() == []  # nothing published

            r = await post_form(operator, path, result_fields())
            assert r.status_code == 422 and beside(r.text, "contract_date") == "CONTRACT_NOT_RECORDED"
            await sign_contract(api, plan_id)  # as the close page's 合同已签订 does, through the same service call
            form = (await operator.get(path)).text
            assert 'id="contract-not-recorded"' not in form
            assert f'id="f-contract_date" name="contract_date" type="date" value="{today().isoformat()}"' in form
            r = await post_form(operator, path, result_fields(contract_date=(today() - timedelta(days=1)).isoformat()))
            assert r.status_code == 422 and beside(r.text, "contract_date") == "CONTRACT_DATE_MISMATCH"
            r = await post_form(operator, path, result_fields())
            assert r.status_code == 303 and r.headers["location"].endswith("/close?done=PUBLISHED#publication")
            documents = (await api.get("/api/publications?kind=RESULT")).json()
            assert [d["document_id"] for d in documents] == [f"RES-{plan_id}"]
            document = (await api.get(f"/api/publications/RES-{plan_id}")).json()["document"]
            fields = document["fields"]
            assert (fields["holder"], fields["price_fen"], fields["supervision_no"]) == (
                WINNER, str(PRICE), "5303022026B00123")
            assert [p["amount_fen"] for p in fields["installments"]] == [str(PRICE // 2), str(PRICE - PRICE // 2)]
            # Sent again: nothing changes, and the page says so.
            again = await post_form(operator, path, result_fields(project_name="另一个名称"))
            assert again.status_code == 303 and again.headers["location"].endswith("done=ALREADY#publication")
            assert (await api.get(f"/api/publications/RES-{plan_id}")).json()["document"] == document
            assert 'id="publish-result-link"' not in (await operator.get(f"/console/sessions/{session_id}/close")).text
            step = next_step((await operator.get(f"/console/plans/{plan_id}")).text)
            assert f'href="/console/sessions/{session_id}/close"' in step and f'href="{path}"' not in step
    finally:
        await operator.close()
    rows = [row for row in await audit_rows(database) if row["action"] == "RESULT_PUBLISH"]
    assert [row["outcome"] for row in rows] == ["SUPERVISION_NUMBER_REQUIRED", "INVALID_FIELD", "CONTRACT_NOT_RECORDED",
                                                "CONTRACT_DATE_MISMATCH", "OK", "RESULT_ALREADY_PUBLISHED"]
