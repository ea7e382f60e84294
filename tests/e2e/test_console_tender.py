"""A tender plan taken to its tender in the console (RULES 6.1), over HTTP against a real
server, as a signed-in operator: the plan page's next step is 创建招标, its form takes
what `POST /api/plans/{id}/tender` takes (times typed in China Standard Time) and goes
through the same reading and service call; a refusal comes back beside its field with
what was typed and creates nothing; the tender once created is linked from the plan's
timeline and next step. Before bids open (and before the reserve is sealed) every page
that shows the tender's status says bids are not yet open, never 投标中."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from auction.domain.china import CST
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import audit_rows, console_desk
from tests.e2e.plan_flow import COMPRESSED, announced_plan
from tests.e2e.test_console_plans import beside, cst, form, hidden
from tests.e2e.test_console_unsold import next_step

START_IN = 3600.0  # bids open an hour on: everything below happens before


async def test_a_tender_plan_becomes_its_tender_through_the_console(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    async with console_desk(server_factory, database, **COMPRESSED) as (server, api, op, member):
        plan_id, start = await announced_plan(api, "TENDER", start_in=START_IN)
        tender_id = f"T-{plan_id}"
        base = f"/console/plans/{plan_id}"

        # --- the plan page offers the tender, not a session
        page = (await op.get(base)).text
        step = next_step(page)
        assert "创建招标" in step and f'href="{base}/tender"' in step, step
        assert "创建交易场次" not in step and 'data-stage="tender" data-done="false"' in page
        assert 'data-stage="session"' not in page
        # the session form's address leads to the tender's form
        r = await op.get(f"{base}/session")
        assert r.status_code == 303 and r.headers["location"] == f"{base}/tender"
        # ... and so does the old session form sent (no raw refusal), nothing created
        sent = await op.post(f"{base}/session", {"csrf_token": await op.csrf(base), "countdown": "5"})
        assert sent.status_code == 303 and sent.headers["location"] == f"{base}/tender", sent.text[:1000]
        assert (await api.get(f"/api/tenders/{tender_id}")).status_code == 404
        # only operators act
        assert (await member.get(f"{base}/tender")).status_code == 403

        # --- refusals beside their fields, the typed values kept, nothing created
        page = await op.get(f"{base}/tender")
        assert page.status_code == 200 and 'id="f-bid_deadline"' in page.text and 'id="bids-open-at"' in page.text
        shown = hidden(page.text)
        opens = start.astimezone(CST).replace(microsecond=0) + timedelta(seconds=1)
        terms = {"evaluation": "SCORING", "bid_deadline": cst(opens, 1800), "opening_at": cst(opens, 1860),
                 "price_weight": "40", "criteria": "scheme 开发建设方案 40\ndesign 规划设计 10\n"}
        r = await op.post(f"{base}/tender", {**shown, **terms})
        assert r.status_code == 422 and beside(r.text, "criteria") == "INVALID_TERMS", r.text[:3000]
        assert "规划设计 10" in r.text and 'value="40"' in r.text
        r = await op.post(f"{base}/tender", {**hidden(r.text), **terms, "criteria": "scheme 开发建设方案 四十"})
        assert r.status_code == 422 and beside(r.text, "criteria") == "INVALID_FIELD"
        r = await op.post(f"{base}/tender", {**hidden(r.text), **terms, "criteria": "scheme 开发建设方案 40\n"
                                              "design 规划设计 20", "opening_at": cst(opens, 1700)})
        assert r.status_code == 422 and beside(r.text, "opening_at") == "INVALID_TERMS"
        r = await op.post(f"{base}/tender", {**hidden(r.text), **terms, "bid_deadline": ""})
        assert r.status_code == 422 and beside(r.text, "bid_deadline") == "INVALID_FIELD"
        assert (await api.get(f"/api/tenders/{tender_id}")).status_code == 404
        # A "check first" sent by hand to this form (it offers none): the form again, nothing made.
        sent = {**hidden(r.text), **terms, "criteria": "scheme 开发建设方案 40\ndesign 规划设计 20", "preview": "yes"}
        r = await op.post(f"{base}/tender", sent)
        assert r.status_code == 200 and 'name="bid_deadline"' in r.text, r.text[:1000]
        assert (await api.get(f"/api/tenders/{tender_id}")).status_code == 404

        # --- sent right, and twice: created once, back on the plan's timeline
        right = {**hidden(r.text), **terms, "criteria": "scheme 开发建设方案 40\ndesign 规划设计 20"}
        first, second = await asyncio.gather(op.post(f"{base}/tender", right), op.post(f"{base}/tender", right))
        for done in (first, second):
            assert done.status_code == 303 and done.headers["location"] == f"{base}?done=tender", done.text[:2000]
        view = (await api.get(f"/api/tenders/{tender_id}")).json()
        assert view["terms"]["evaluation"] == "SCORING" and view["terms"]["price_weight"] == 40
        assert [(c["key"], c["name"], c["weight"]) for c in view["terms"]["criteria"]] == [
            ("scheme", "开发建设方案", 40), ("design", "规划设计", 20)]
        deadline = datetime.fromisoformat(view["terms"]["bid_deadline"])
        assert deadline == datetime.fromisoformat(terms["bid_deadline"]).replace(tzinfo=CST)
        assert view["terms"]["has_reserve"] is False and view["reserve_commitment"] is None

        page = (await op.get(f"{base}?done=tender")).text
        assert f'id="tender-link" href="/console/tenders/{tender_id}"' in page
        assert 'data-stage="tender" data-done="true"' in page
        assert f'href="/console/tenders/{tender_id}" id="tender-stage-link"' in page
        assert f'href="/console/tenders/{tender_id}">{tender_id}</a>' in (await op.get("/console/plans")).text
        step = next_step(page)
        assert "创建招标" not in step and "创建交易场次" not in step and "底价集体确定并密封" in step, step
        assert f'href="/console/tenders/{tender_id}"' in step and f'href="{base}/reserve"' in step
        assert "前往招标" in step and 'id="next-form"' not in step

        # --- the status words before bids open (the reserve not sealed yet): not 投标中
        for user, path in ((op, f"/console/tenders/{tender_id}"), (op, "/console/tenders"),
                           (op, f"/hall/tenders/{tender_id}"), (op, "/hall")):
            text = (await user.get(path)).text
            assert 'data-status="RESERVE_PENDING"' in text and "尚未开始投标（底价待密封）" in text, path
            assert "投标中" not in text and "Taking sealed bids" not in text, path
            assert "投标开始时间" in text and f"{opens:%Y年%m月%d日}" in text, path
        assert (await api.get(f"/tender/{tender_id}")).json()["status"] == "RESERVE_PENDING"

        audit = [(a["action"], a["outcome"], a["session_id"]) for a in await audit_rows(server.dsn)]
        assert ("PLAN_CREATE_TENDER", "INVALID_TERMS", None) in audit
        assert ("PLAN_CREATE_TENDER", "OK", tender_id) in audit
        assert ("PLAN_CREATE_SESSION", "TENDER_NOT_SUPPORTED", None) in audit  # the old form, led to the tender's


async def test_a_tender_with_its_reserve_says_when_bids_open(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    """A tender created with its reserve (the API's `reserve_fen`) before bids open: 尚未开始投标,
    with the time they open; the plan's next step waits for that time."""
    async with console_desk(server_factory, database, **COMPRESSED) as (server, api, op, member):
        plan_id, start = await announced_plan(api, "TENDER", start_in=START_IN)
        deadline = start + timedelta(seconds=600)
        r = await api.post(f"/api/plans/{plan_id}/tender", {
            "evaluation": "HIGHEST_PRICE", "reserve_fen": 5_100_000_000, "bid_deadline": deadline.isoformat(),
            "opening_at": deadline.isoformat()})
        assert r.status_code == 201, r.text
        tender_id = r.json()["tender_id"]
        for path in (f"/console/tenders/{tender_id}", f"/hall/tenders/{tender_id}", "/hall"):
            text = (await member.get(path)).text
            assert 'data-status="BIDS_NOT_OPEN"' in text and "尚未开始投标" in text and "投标中" not in text, path
        step = next_step((await op.get(f"/console/plans/{plan_id}")).text)
        assert "开始投标" in step and 'id="next-deadline"' in step and "创建交易场次" not in step, step
