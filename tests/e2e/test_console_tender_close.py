"""A tender's close in the console (RULES 6.6, 8; Q31, Q42) over HTTP against a real server: after
the award the tender's page carries the deadline rows its end booked, with their actions, the
same handlers as the session's close page: 合同已签订 refused beside its form when dated before
the award (CONTRACT_BEFORE_SALE) or in the future, what was typed kept and nothing recorded;
then recorded once (Q32 follows), a refund made, each audited as a session's. The session's
close page for the tender's id leads there, and so does the plan's next step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import audit_rows, csrf_of, make_accounts, signed_in
from tests.e2e.test_console_close import CST, field_error, now_input, text_of
from tests.e2e.test_console_unsold import next_step
from tests.e2e.test_tender import a_tender, tender_server
from tests.e2e.test_tender_deposits import awarded_to_the_second, closed_books


async def test_the_tender_page_carries_the_contract_and_the_deadlines_after_the_award(
    server_factory: Callable[..., ServerProcess]
) -> None:
    async with tender_server(server_factory) as (server, api):
        accounts = await make_accounts(server.dsn)
        tender_id, (a, b, c), start, _deadline = await a_tender(api, server, "HIGHEST_PRICE", 3)
        plan_id = tender_id.removeprefix("T-")
        await awarded_to_the_second(api, tender_id, start, [a, b, c])
        rows = {d["kind"]: d for d in (await closed_books(api, tender_id))["deadlines"]}
        awarded_at = datetime.fromisoformat(rows["CONTRACT_SIGNING"]["started_at"])

        operator = await signed_in(server, accounts[Role.OPERATOR])
        member = await signed_in(server, accounts[Role.COMMITTEE])
        try:
            page_path = f"/console/tenders/{tender_id}"
            # The session's close page for a tender's id leads to the tender's page: one place.
            r = await operator.get(f"/console/sessions/{tender_id}/close")
            assert r.status_code == 303 and r.headers["location"] == f"{page_path}#deadlines", r.text[:1000]
            # The plan's next step links the tender's rows (the contract before the result, Q42).
            step = next_step((await operator.get(f"/console/plans/{plan_id}")).text)
            assert f'href="{page_path}#deadlines"' in step and "合同" in step, step
            assert f'href="/console/sessions/{tender_id}/result"' in step

            page = (await operator.get(page_path)).text
            assert 'id="deadline-actions"' in page, page[:3000]
            for kind in ("CONTRACT_SIGNING", "RESULT_PUBLICATION", "DEPOSIT_REFUND"):
                assert f'data-kind="{kind}" data-state="PENDING"' in page, kind
            assert f'action="{page_path}/contract-signed"' in page
            csrf = csrf_of(page)
            contract = f"{page_path}/contract-signed"
            detail = await operator.get(f"/console/sessions/{tender_id}/deadlines")  # the rows in full
            assert detail.status_code == 200 and f'href="{page_path}#deadlines"' in detail.text  # and back
            board = await operator.get("/console/deadlines")  # the board links the tender's page, not a session's
            assert f'href="{page_path}">{tender_id}</a>' in board.text, board.text[:3000]

            # Dated before the award, or in the future: refused beside the form, typed value kept.
            early = now_input(-3600)
            assert datetime.fromisoformat(early).replace(tzinfo=CST) < awarded_at
            r = await operator.post(contract, {"csrf_token": csrf, "signed_at": early, "confirm": "yes"})
            assert r.status_code == 422 and field_error(r.text, "contract") == "CONTRACT_BEFORE_SALE", r.text[:3000]
            assert f'name="signed_at" value="{early}"' in r.text and 'id="public-link"' in r.text  # the tender's page
            assert 'id="error"' not in r.text  # beside its form only
            ahead = now_input(3600)
            r = await operator.post(contract, {"csrf_token": csrf, "signed_at": ahead, "confirm": "yes"})
            assert r.status_code == 422 and field_error(r.text, "contract") == "INVALID_FIELD"
            beside = text_of(r.text.split('id="error-contract"')[1].split("</p>")[0])
            assert "签订时间不得晚于现在" in beside, beside
            assert f'value="{ahead}"' in r.text
            view = {d["kind"]: d for d in (await closed_books(api, tender_id))["deadlines"]}
            assert view["CONTRACT_SIGNING"]["state"] == "PENDING" and "Q32_NOTICE" not in view

            # A committee member sees the rows, not the forms, and may not act.
            shown = (await member.get(page_path)).text
            assert 'id="deadline-actions"' in shown and 'class="inline-action contract-form"' not in shown
            r = await member.post(contract, {"csrf_token": csrf_of(shown), "signed_at": now_input(), "confirm": "yes"})
            assert r.status_code == 403

            # Signed now: recorded once, the Q32 notice follows; a second submission changes nothing.
            signed = {"csrf_token": csrf, "signed_at": now_input(), "confirm": "yes"}
            for expected in ("CONTRACT_SIGNED", "ALREADY"):
                r = await operator.post(contract, signed)
                assert r.status_code == 303, r.text[:2000]
                assert r.headers["location"] == f"{page_path}?deadline={expected}#contract"
            view = {d["kind"]: d for d in (await closed_books(api, tender_id))["deadlines"]}
            assert view["CONTRACT_SIGNING"]["state"] == "DONE" and view["Q32_NOTICE"]["state"] == "PENDING"
            # The plan's progress follows its tender as a session's does (the award is a sale).
            assert (await api.get(f"/api/plans/{plan_id}")).json()["progress"] == "CONTRACT_SIGNED"
            page = (await operator.get(f"{page_path}?deadline=CONTRACT_SIGNED")).text
            assert 'id="deadline-done" data-done="CONTRACT_SIGNED"' in page and "已登记合同签订" in page
            assert 'data-kind="Q32_NOTICE" data-state="PENDING"' in page

            # A loser's refund made from the same table.
            refund = next(d for d in (await closed_books(api, tender_id))["deadlines"]
                          if d["kind"] == "DEPOSIT_REFUND" and d["subject"] == a.sub_account)
            r = await operator.post(f"{page_path}/deadlines/{refund['deadline_id']}/done",
                                    {"csrf_token": csrf, "done_at": now_input(), "bank_txn_id": "R-T-CONSOLE-1",
                                     "amount_wan": "", "confirm": "yes"})
            assert r.status_code == 303 and "deadline=DONE" in r.headers["location"], r.text[:2000]
            desk = {x["application_id"]: x for x in (await api.get(f"/api/tenders/{tender_id}/applications")).json()}
            assert desk[a.application_id]["deposit"]["HELD_FOR_REFUND"] == 0

            audit = [(x["action"], x["outcome"], x["session_id"]) for x in await audit_rows(server.dsn)]
            for row in (("CONTRACT_SIGNED", "CONTRACT_BEFORE_SALE", tender_id),
                        ("CONTRACT_SIGNED", "INVALID_FIELD", tender_id),
                        ("CONTRACT_SIGNED", "OK", tender_id), ("DEADLINE_DONE", "OK", tender_id)):
                assert row in audit, (row, audit)
        finally:
            await operator.close()
            await member.close()
        assert "Traceback" not in server.log_text()
