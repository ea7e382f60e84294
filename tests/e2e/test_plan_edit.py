"""Editing a supply plan while it is a draft (EditDraft): over the operator API
(`POST /api/plans/{id}/draft`) and with the console's edit form, against a real
server. Only a draft is edited (PLAN_WRONG_STATUS after the committee meets); the
edited facts are what the plan, its list row and its announcement say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import operator_and_member
from tests.e2e.helpers import WAN, Api
from tests.e2e import plan_flow as flow
from tests.e2e.test_console_plans import beside, draft_fields, form, hidden, log_of


def edit_body(body: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The draft's body without its id, with `overrides`: the whole new version."""
    return {k: v for k, v in body.items() if k != "plan_id"} | {"by": "op-wang"} | overrides


async def test_the_api_edits_a_draft_and_the_announcement_says_the_edited_facts(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory(**flow.COMPRESSED)
    await asyncio.to_thread(server.start)
    async with Api(server) as api:
        body = flow.plan_body("AUCTION")
        plan_id = body["plan_id"]
        await flow.ok(api, "/api/plans", body, 201)
        path = f"/api/plans/{plan_id}/draft"

        # checked as a draft is, and a refusal changes nothing
        error = await flow.refused(api, path, edit_body(body, deposit_fen=body["start_price_fen"] // 5 - 1))
        assert error["code"] == "Q31_DEPOSIT_BELOW_20_PERCENT"
        error = await flow.refused(api, path, edit_body(body, parcels=[flow.parcel(), flow.parcel()]))
        assert error["code"] == "Q23_MORE_THAN_ONE_PARCEL"
        assert (await flow.refused(api, path, edit_body(body, method="SALE")))["code"] == "INVALID_FIELD"
        assert (await flow.refused(api, "/api/plans/GD-NONE/draft", edit_body(body)))["code"] == "NOT_FOUND"
        assert len((await flow.plan(api, plan_id))["events"]) == 1

        new_parcel = flow.parcel(parcel_no="QJ-E2E-EDITED", location="曲靖市麒麟区寥廓南路以西")
        edited = edit_body(body, parcel=new_parcel, method="LISTING", start_price_fen=6_000 * WAN,
                           deposit_fen=1_500 * WAN, increment_fen=20 * WAN)
        view = await flow.ok(api, path, edited)
        assert view["status"] == "DRAFT" and view["method"] == "LISTING"
        assert (view["parcel"]["parcel_no"], view["start_price_fen"], view["deposit_fen"]) == (
            "QJ-E2E-EDITED", 6_000 * WAN, 1_500 * WAN)
        edited = view["events"][-1]
        assert (edited["type"], edited["by"], edited["data"]["parcel"]["location"]) == (
            "PlanDraftEdited", "op-wang", "曲靖市麒麟区寥廓南路以西")
        listed = {r["plan_id"]: r for r in (await api.get("/api/plans")).json()}
        assert (listed[plan_id]["parcel_no"], listed[plan_id]["method"]) == ("QJ-E2E-EDITED", "LISTING")

        # after the committee: refused, with the status
        await flow.ok(api, f"/api/plans/{plan_id}/committee-meeting", flow.meeting_body())
        error = await flow.refused(api, path, edit_body(body))
        assert (error["code"], error["details"]["status"]) == ("PLAN_WRONG_STATUS", "COMMITTEE_PASSED")

        # the announcement is drawn from the edited plan
        await flow.ok(api, f"/api/plans/{plan_id}/government-approval", flow.approval_body())
        await flow.ok(api, f"/api/plans/{plan_id}/appraisal", flow.appraisal_body())
        schedule = flow.schedule_body("LISTING", flow.at(60), 30)
        await flow.ok(api, f"/api/plans/{plan_id}/announce", flow.announce_body(schedule))
        r = await api.get(f"/api/publications/ANN-{plan_id}")
        assert r.status_code == 200, r.text
        document = r.json()["document"]
        assert document["parcel_no"] == "QJ-E2E-EDITED"
        fields = document["fields"]
        assert (fields["location"], fields["start_price_wan"], fields["deposit_wan"], fields["increment_wan"]) == (
            "曲靖市麒麟区寥廓南路以西", "6000", "1500", "20")


async def test_the_console_edit_form_is_drawn_with_the_plan_and_acts_once(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    server, accounts, op, committee = await operator_and_member(server_factory, database, **flow.COMPRESSED)
    api = Api(server)
    try:
        plan_id = "GD-EDIT-1"
        new = await form(op, "/console/plans/new")
        r = await op.post("/console/plans/new", {**new, **draft_fields(plan_id)})
        assert r.status_code == 303, r.text[:1500]
        base = f"/console/plans/{plan_id}"
        page = (await op.get(base)).text
        assert f'id="edit-draft" href="{base}/edit"' in page
        assert 'id="edit-draft"' not in (await committee.get(base)).text
        assert (await committee.get(f"{base}/edit")).status_code == 403

        # drawn with the plan's present values (万元, m², %, m as typed), the id not editable
        page = (await op.get(f"{base}/edit")).text
        for value in ('value="5000.5"', 'value="1000.1"', 'value="20000.00"', 'value="2.50"', 'value="80.00"',
                      'value="30.00"', 'value="QJ2026-控制台-01"', "退让道路红线10米"):
            assert value in page, value
        assert 'name="plan_id"' not in page and 'id="edit-note"' in page
        assert '<option value="AUCTION" selected>' in page
        assert 'id="f-readiness_title_clear" name="readiness_title_clear" value="yes" checked>' in page
        shown = hidden(page)

        # a refusal is shown beside its field, with what was typed; nothing changes
        fields = {k: v for k, v in draft_fields(plan_id).items() if k != "plan_id"}
        r = await op.post(f"{base}/edit", {**shown, **fields, "deposit_wan": "900"})
        assert r.status_code == 422 and beside(r.text, "deposit_wan") == "Q31_DEPOSIT_BELOW_20_PERCENT", r.text[:2000]
        assert 'value="900"' in r.text
        assert len(await log_of(api, plan_id)) == 1

        # sent twice at once: edited once, both answered alike
        edit = {**fields, "location": "曲靖市麒麟区编辑后路", "start_price_wan": "6000", "deposit_wan": "1200"}
        again = hidden(r.text)
        first, second = await asyncio.gather(op.post(f"{base}/edit", {**again, **edit}),
                                             op.post(f"{base}/edit", {**again, **edit}))
        for done in (first, second):
            assert done.status_code == 303 and done.headers["location"] == f"{base}?done=edit", done.text[:1500]
        events = await log_of(api, plan_id)
        assert [e["type"] for e in events] == ["PlanDrafted", "PlanDraftEdited"]
        assert events[1]["by"] == accounts[Role.OPERATOR].username
        view = (await api.get(f"/api/plans/{plan_id}")).json()
        assert (view["parcel"]["location"], view["start_price_fen"], view["deposit_fen"]) == (
            "曲靖市麒麟区编辑后路", 6_000 * WAN, 1_200 * WAN)
        page = (await op.get(f"{base}?done=edit")).text
        assert 'data-done="edit"' in page and "修改供地方案 / Draft edited" in page and "6,000 万元" in page

        # a form drawn before the plan moved on: says so, does nothing
        stale = await form(op, f"{base}/edit")
        await flow.ok(api, f"/api/plans/{plan_id}/draft", {
            "by": "op-wang", "parcel": flow.parcel(), "method": "AUCTION",
            "start_price_fen": 5_000 * WAN, "increment_fen": 10 * WAN, "deposit_fen": 1_000 * WAN})
        before = await log_of(api, plan_id)
        r = await op.post(f"{base}/edit", {**stale, **edit})
        assert r.status_code == 409 and 'id="stale"' in r.text
        assert await log_of(api, plan_id) == before

        # once the committee has met: no edit button, and the form is refused at the top
        await flow.ok(api, f"/api/plans/{plan_id}/committee-meeting", flow.meeting_body())
        assert 'id="edit-draft"' not in (await op.get(base)).text
        r = await op.post(f"{base}/edit", {**await form(op, f"{base}/edit"), **edit})
        assert r.status_code == 422 and 'data-code="PLAN_WRONG_STATUS"' in r.text
        assert len(await log_of(api, plan_id)) == len(before) + 1
    finally:
        await op.close()
        await committee.close()
        await api.http.aclose()
