"""A session that closed unsold (流拍), followed in the console over HTTP against a real
server: the close page offers the no-sale notice, the result page shows what it will
say (from the records) and publishes it as `POST /api/plans/{id}/result-unsold` does,
once; the plan page's next step follows the session (never a past deadline)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ServerProcess
from tests.e2e.console_helpers import audit_rows, console_desk, csrf_of, error_code
from tests.e2e.helpers import closed_event
from tests.e2e.plan_flow import COMPRESSED, Committee, sealed_auction


def next_step(page: str) -> str:
    found = re.search(r'<section class="card next-step" id="next-step">(.*?)</section>', page, re.S)
    assert found, page[:3000]
    return found.group(1)


async def test_an_unsold_session_has_its_notice_published_from_the_console(
    server_factory: Callable[..., ServerProcess], database: str, tmp_path: Path
) -> None:
    async with console_desk(server_factory, database, **COMPRESSED) as (server, api, operator, member):
        committee = await Committee.register(api, tmp_path, 2)
        plan_id, session_id = await sealed_auction(api, committee)
        await api.qualify(session_id, "曲靖市甲置业有限公司")
        await api.qualify(session_id, "曲靖市乙置业有限公司")  # two bidders, and neither bids
        result = f"/console/sessions/{session_id}/result"
        early = await operator.get(result)
        assert early.status_code == 422 and error_code(early.text) == "SESSION_NOT_SOLD"  # not ended yet
        step = next_step((await operator.get(f"/console/plans/{plan_id}")).text)
        assert "交易开始 / Bidding starts" in step or "交易进行中" in step

        closed = await closed_event(server.ws, session_id)
        assert (closed["data"]["outcome"], closed["data"]["reason"]) == ("UNSOLD", "NO_BIDS")

        # the plan page: the next step is the no-sale notice, with no deadline
        step = next_step((await operator.get(f"/console/plans/{plan_id}")).text)
        assert "结果公示（未成交）" in step and f'href="{result}"' in step, step
        assert 'id="next-deadline"' not in step and "交易开始" not in step

        close_page = (await operator.get(f"/console/sessions/{session_id}/close")).text
        assert f'href="{result}" id="publish-unsold-link"' in close_page
        assert 'id="publish-result-link"' not in close_page
        page = (await operator.get(result)).text
        assert 'id="unsold-form"' in page and "流拍" in page and "无人报价，流拍" in page
        assert "5,000" in page or "5000" in page  # the starting price, from the plan

        # unticked: refused, nothing published
        path = f"{result}-unsold"
        r = await operator.post(path, {"csrf_token": csrf_of(page)})
        assert r.status_code == 422 and 'data-code="INVALID_FIELD"' in r.text
        assert (await api.get(f"/api/publications/RES-{plan_id}")).status_code == 404
        # a committee member may look, not publish
        r = await member.post(path, {"csrf_token": csrf_of((await member.get(f"/console/plans/{plan_id}")).text),
                                     "confirm": "yes"})
        assert r.status_code == 403

        r = await operator.post(path, {"csrf_token": csrf_of(page), "confirm": "yes"})
        assert r.status_code == 303 and r.headers["location"].endswith("/close?done=PUBLISHED#publication")
        document = (await api.get(f"/api/publications/RES-{plan_id}")).json()
        assert document["kind"] == "RESULT_UNSOLD"
        assert (document["document"]["fields"]["outcome"], document["document"]["fields"]["reason"]) == (
            "流拍", "无人报价，流拍")
        again = await operator.post(path, {"csrf_token": csrf_of(page), "confirm": "yes"})
        assert again.status_code == 303 and again.headers["location"].endswith("done=ALREADY#publication")
        assert (await api.get(f"/api/publications/RES-{plan_id}")).json()["document"] == document["document"]
        close_page = (await operator.get(f"/console/sessions/{session_id}/close")).text
        assert 'id="publish-unsold-link"' not in close_page and f"RES-{plan_id}" in close_page

        step = next_step((await operator.get(f"/console/plans/{plan_id}")).text)
        assert "已发布" in step and f'href="{result}"' not in step and 'id="next-deadline"' not in step
    rows = [row for row in await audit_rows(database) if row["action"] == "RESULT_UNSOLD_PUBLISH"]
    assert [row["outcome"] for row in rows] == ["INVALID_FIELD", "FORBIDDEN", "OK", "RESULT_ALREADY_PUBLISHED"]
