"""Facts after the deal from the console (docs/publication.md, "After the deal"), over HTTP
against a real server: once the sale's result is published the plan page shows the facts in
force and the form; a refused recording comes back with its code and records nothing; an
accepted one publishes the result's next version, as `POST /api/plans/{id}/post-deal` does;
a committee member may look, not record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import ServerProcess
from tests.e2e.console_helpers import audit_rows, console_desk, csrf_of, error_code
from tests.e2e.plan_flow import COMPRESSED, ok
from tests.e2e.test_post_deal import day, history, site_day, sold_plan
from tests.e2e.test_publication import PRICE, SUPERVISION_NO, result_body, sign_contract


async def test_the_plan_page_records_facts_after_the_deal(
    server_factory: Callable[..., ServerProcess], database: str, tmp_path: Path
) -> None:
    async with console_desk(server_factory, database, **COMPRESSED) as (server, api, operator, member):
        plan_id = await sold_plan(api, server, tmp_path)
        plan_page = f"/console/plans/{plan_id}"
        assert 'id="post-deal-form"' not in (await operator.get(plan_page)).text  # no result yet
        await ok(api, f"/api/plans/{plan_id}/supervision-number", {"by": "op-li", "supervision_no": SUPERVISION_NO})
        await sign_contract(api, plan_id)  # now: after the sale (CONTRACT_BEFORE_SALE before it)
        await ok(api, f"/api/plans/{plan_id}/result", {**result_body(), "contract_date": day(0)}, 201)

        page = (await operator.get(plan_page)).text
        assert 'id="post-deal-form"' in page and "实际开工时间" in page and f"RES-{plan_id}" in page
        path = f"{plan_page}/post-deal"
        refused = await operator.post(path, {"csrf_token": csrf_of(page), "actual_completion_date": day(0)})
        assert refused.status_code == 422 and 'id="err-actual_completion_date" role="alert" ' \
            'data-code="POSTDEAL_COMPLETION_BEFORE_START"' in refused.text  # beside its field
        assert 'value="' + day(0) + '"' in refused.text  # typed values kept
        bad_line = await operator.post(path, {"csrf_token": csrf_of(page), "payments": "1 2026-05-08"})
        assert bad_line.status_code == 422 and 'id="err-payments" role="alert" data-code="INVALID_FIELD"' in \
            bad_line.text
        nothing = await operator.post(path, {"csrf_token": csrf_of(page)})
        assert nothing.status_code == 422 and error_code(nothing.text) is None and "INVALID_FIELD" in nothing.text
        assert await history(api, f"/api/plans/{plan_id}/post-deal") == []
        member_page = (await member.get(plan_page)).text
        assert 'id="post-deal-form"' not in member_page  # a member sees the facts, not the form
        r = await member.post(path, {"csrf_token": csrf_of(member_page), "actual_start_date": day(0)})
        assert r.status_code == 403

        half = f"{PRICE // 2 // 1_000_000}.{PRICE // 2 % 1_000_000:06d}"
        r = await operator.post(path, {"csrf_token": csrf_of(page), "actual_start_date": site_day(0),
                                       "payments": f"1 {day(0)} {half}\n"})
        assert r.status_code == 303 and r.headers["location"] == f"{plan_page}?done=post-deal#post-deal", r.text
        recorded = await history(api, f"/api/plans/{plan_id}/post-deal")
        assert [(h["document_id"], h["actual_start_date"], h["payments"]) for h in recorded] == [
            (f"RES-{plan_id}-2", day(0), [{"period": 1, "paid_date": day(0), "amount_fen": PRICE // 2}])]
        page = (await operator.get(f"{plan_page}?done=post-deal")).text
        assert 'data-done="post-deal"' in page and f"RES-{plan_id}-2" in page and site_day(0) in page
        assert any(a["action"] == "POST_DEAL_RECORD" and a["outcome"] == "OK" for a in await audit_rows(database))
        assert "成交后事项 <small>After the deal</small>" in page  # Chinese first ...
        operator.cookies["lang"] = "en"  # ... and the console's English switch
        page = (await operator.get(path)).text
        assert "After the deal <small>成交后事项</small>" in page and "Actual construction start" in page
