"""The supply plan run from the console's forms, over HTTP, as a signed-in operator:
draft -> committee -> approval -> appraisal -> announcement -> change notice ->
session, against a real server whose announcement period is compressed.

Refusals come back as the form again, with what was typed and the refusal's code,
message and article beside the field it concerns, and change nothing (the plan's
log through the API is the same before and after). A form sent twice acts once; a
form drawn before the plan moved on says so instead of acting.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from auction.domain.china import CST
from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import ConsoleUser, audit_rows, operator_and_member
from tests.e2e.helpers import Api
from tests.e2e.plan_flow import COMPRESSED, appraisal_body

HIDDEN = re.compile(r'<input type="hidden" name="(csrf_token|form_token|plan_version)" value="([^"]*)"')


def cst(seconds_from: datetime, seconds: float) -> str:
    """A `datetime-local` value in CST."""
    return (seconds_from + timedelta(seconds=seconds)).astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S")


def hidden(page: str) -> dict[str, str]:
    found = {name: html.unescape(value) for name, value in HIDDEN.findall(page)}
    assert set(found) == {"csrf_token", "form_token", "plan_version"}, page[:3000]
    return found


def beside(page: str, field: str) -> str:
    """The refusal's code shown beside `field`, or ''."""
    found = re.search(rf'id="err-{field}" role="alert" data-code="([A-Z0-9_]+)"', page)
    return found.group(1) if found else ""


async def form(user: ConsoleUser, path: str) -> dict[str, str]:
    page = await user.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:1000])
    return hidden(page.text)


async def log_of(api: Api, plan_id: str) -> list[Any]:
    r = await api.get(f"/api/plans/{plan_id}")
    assert r.status_code == 200, r.text
    events: list[Any] = r.json()["events"]
    return events


def draft_fields(plan_id: str, **overrides: str) -> dict[str, str]:
    fields = {
        "plan_id": plan_id, "method": "AUCTION", "start_price_wan": "5000.5", "increment_wan": "10",
        "deposit_wan": "1000.1", "parcel_no": "QJ2026-控制台-01", "location": "曲靖市麒麟区测试路以东",
        "area_m2": "20000", "land_use": "0701", "term_years": "70", "plot_ratio_min": "1.0", "plot_ratio_max": "2.5",
        "benchmark_yuan_per_m2": "2000", "conditions_category": "NONE", "boundaries": "东至规划路", "current_state": "净地",
        "building_density_pct": "30", "green_ratio_pct": "35", "height_limit_m": "80", "planning_notes": "退让道路红线10米",
        "bidder_conditions": "",
        **{f"readiness_{n}": "yes" for n in ("compensation_settled", "no_legal_dispute", "title_clear",
                                             "old_certificate_cancelled", "planning_conditions_set",
                                             "development_ready")},
    }
    fields.update(overrides)
    return fields


async def test_a_plan_from_draft_to_session_through_the_console_forms(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    server, accounts, op, committee = await operator_and_member(server_factory, database, **COMPRESSED)
    api = Api(server)
    try:
        listing = await op.get("/console/plans")
        assert listing.status_code == 200 and 'id="new-plan"' in listing.text and 'id="empty"' in listing.text
        assert 'id="new-plan"' not in (await committee.get("/console/plans")).text
        assert (await committee.get("/console/plans/new")).status_code == 403

        # --- draft: a deposit below 20% is refused beside the deposit, the typed values kept
        plan_id = "GD-CONSOLE-1"
        new = await form(op, "/console/plans/new")
        r = await op.post("/console/plans/new", {**new, **draft_fields(plan_id, deposit_wan="900")})
        assert r.status_code == 422, r.text[:1500]
        assert beside(r.text, "deposit_wan") == "Q31_DEPOSIT_BELOW_20_PERCENT"
        assert '<span class="article">Q31</span>' in r.text and "竞买保证金不得低于起始价的20%" in r.text
        assert 'value="曲靖市麒麟区测试路以东"' in r.text and 'value="900"' in r.text and "退让道路红线10米" in r.text
        assert (await api.get(f"/api/plans/{plan_id}")).status_code == 404
        # readiness missing: beside the six facts; a code with no field goes to the top
        r = await op.post("/console/plans/new", {**new, **draft_fields(plan_id, readiness_title_clear="")})
        assert beside(r.text, "readiness") == "Q23_PARCEL_NOT_READY" and "土地权属清晰" in r.text
        assert 'id="f-readiness_title_clear" name="readiness_title_clear" value="yes">' in r.text  # kept unticked

        # the form shown again carries the same token: sent right, and sent twice, it drafts once
        again = hidden(r.text)
        first, second = await asyncio.gather(op.post("/console/plans/new", {**again, **draft_fields(plan_id)}),
                                             op.post("/console/plans/new", {**again, **draft_fields(plan_id)}))
        for done in (first, second):
            assert done.status_code == 303 and done.headers["location"] == f"/console/plans/{plan_id}?done=new"
        assert len(await log_of(api, plan_id)) == 1
        view = (await api.get(f"/api/plans/{plan_id}")).json()
        assert view["parcel"]["area_m2_hundredths"] == 2_000_000 and view["start_price_fen"] == 5_000_500_000
        assert view["parcel"]["planning"]["height_limit_cm"] == 8000
        assert view["events"][0]["by"] == accounts[Role.OPERATOR].username

        listing = (await op.get("/console/plans")).text
        assert "5,000.5 万元" in listing and "曲靖市麒麟区测试路以东" in listing and "拍卖" in listing
        assert "已编制" in listing and re.search(r"\d{4}年\d{2}月\d{2}日", listing)
        assert "area_m2_hundredths" not in listing and "_fen" not in listing

        base = f"/console/plans/{plan_id}"
        for step in ("committee", "approval", "appraisal", "announce", "change", "session"):  # drawn at any status
            assert (await op.get(f"{base}/{step}")).status_code == 200, step
        page = (await op.get(base)).text
        assert "2 公顷（20,000.00 m²）" in page and "4,000 万元" in page and 'id="next-form"' in page
        assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", page) and "+08:00" not in page

        # --- committee: a tally that does not add up is refused beside it. The meeting is held
        # (to the second, as typed) no earlier than the draft was recorded (Q27(五)).
        drafted = datetime.fromisoformat(view["events"][0]["at"])
        held = drafted.replace(microsecond=0) + timedelta(seconds=1)
        while datetime.now(CST) < held:  # the typed time may not be in the future either
            await asyncio.sleep(0.05)
        now = datetime.now(CST)
        meeting = {"held_at": cst(held, 0), "chair": "m1", "members_present": "m1, m2, m3\nm4 m5 m6 m7 m8 m9",
                   "yes": "6", "no": "2", "abstain": "0", "chair_spoke_last": "yes"}
        before = await log_of(api, plan_id)
        shown = await form(op, f"{base}/committee")
        r = await op.post(f"{base}/committee", {**shown, **meeting})
        assert r.status_code == 422 and beside(r.text, "yes") == "Q22_TALLY_MISMATCH", r.text[:2000]
        assert '<span class="article">Q22</span>' in r.text and 'value="2"' in r.text
        r = await op.post(f"{base}/committee", {**hidden(r.text), **meeting, "no": "3", "chair_spoke_last": ""})
        assert beside(r.text, "chair_spoke_last") == "Q22_CHAIR_NOT_LAST"
        assert await log_of(api, plan_id) == before
        r = await op.post(f"{base}/committee", {**hidden(r.text), **meeting, "no": "3"})
        assert r.status_code == 303, r.text[:2000]

        # --- a stale form: the approval form is drawn, then an appraisal is recorded (API)
        stale = await form(op, f"{base}/approval")
        answer = await api.post(f"/api/plans/{plan_id}/appraisal", appraisal_body("AP-1", by="op-wang"))
        assert answer.status_code == 200, answer.text
        approval = {"approver": "曲靖市人民政府", "document_no": "曲政复〔2026〕12号", "approved_at": cst(held, 0)}
        before = await log_of(api, plan_id)
        r = await op.post(f"{base}/approval", {**stale, **approval})
        assert r.status_code == 409 and 'id="stale"' in r.text and 'value="曲政复〔2026〕12号"' in r.text
        assert await log_of(api, plan_id) == before
        r = await op.post(f"{base}/approval", {**hidden(r.text), **approval})  # looked again, sent again
        assert r.status_code == 303 and r.headers["location"] == f"{base}?done=approval"

        # --- appraisal: the checks' numbers before submitting, a preview, then the record
        page = await op.get(f"{base}/appraisal")
        assert "4,000 万元" in page.text and "4,000,000,000 分" in page.text and "Q27(三)" in page.text
        appraisal = {"appraisal_id": "AP-2", "agency": "云南某土地房地产评估有限公司", "qualification_cert": "土估资A2026001",
                     "filing_no": "", "valuation_date": now.date().isoformat(),
                     "valid_until": (now.date() + timedelta(days=180)).isoformat(),
                     "unit_price_yuan_per_m2": "2800", "total_price_wan": "5600"}
        shown = hidden(page.text)
        r = await op.post(f"{base}/appraisal", {**shown, **appraisal, "preview": "yes"})
        assert beside(r.text, "filing_no") == "Q25_APPRAISAL_INCOMPLETE" and '<span class="article">Q25</span>' in r.text
        r = await op.post(f"{base}/appraisal", {**shown, **appraisal, "filing_no": "5301262026000123", "preview": "yes"})
        assert r.status_code == 200 and 'id="preview-ok"' in r.text
        r = await op.post(f"{base}/appraisal", {**shown, **appraisal, "filing_no": "5301262026000123"})
        assert r.status_code == 303, r.text[:2000]

        # --- announcement: every channel (Q29), at least the period before the start (Q29)
        t0 = datetime.now(CST)
        announce = {"announcement_no": "曲公资土告〔2026〕9号", "seller": "曲靖市自然资源和规划局",
                    "title": "曲靖市国有建设用地使用权网上拍卖出让公告（2026年第9期）",
                    "published_at": cst(t0, 0), "start_at": cst(t0, 120), "deposit_deadline": cst(t0, 117),
                    "registration_closes_at": cst(t0, 118), "place_and_method": "网上交易系统，网上拍卖",
                    "application": "保证金到账后取得竞买资格", "contacts": "0874-0000000", "other_matters": "",
                    **{f"channel_{c}": "yes" for c in ("LAND_MARKET", "MAINSTREAM_MEDIA", "CHINA_LAND_MARKET",
                                                       "PROVINCIAL_DEPARTMENT", "PUBLIC_RESOURCE_PLATFORM",
                                                       "ONLINE_TRADING_SYSTEM")}}
        before = await log_of(api, plan_id)
        shown = await form(op, f"{base}/announce")
        r = await op.post(f"{base}/announce", {**shown, **announce, "channel_CHINA_LAND_MARKET": ""})
        assert beside(r.text, "channels") == "Q29_CHANNELS_MISSING", r.text[:2000]
        r = await op.post(f"{base}/announce", {**shown, **announce, "start_at": cst(t0, 2),
                                               "deposit_deadline": cst(t0, 1), "registration_closes_at": cst(t0, 1)})
        assert beside(r.text, "start_at") == "Q29_ANNOUNCEMENT_TOO_SHORT" and "曲公资土告〔2026〕9号" in r.text
        assert await log_of(api, plan_id) == before
        r = await op.post(f"{base}/announce", {**shown, **announce})
        assert r.status_code == 303, r.text[:2000]
        announced = (await log_of(api, plan_id))[-1]["data"]["announcement"]
        assert announced["title"] == "曲靖市国有建设用地使用权网上拍卖出让公告（2026年第9期）"

        # --- change notice: published 200 s from now, the start 120 s: pushed back 86 s (6 s period),
        # the deposit deadline with it (still after the change's publication)
        change = {"published_at": cst(t0, 200), "reason": "补充出让须知", "content": "补充竞买须知第三条",
                  "change_schedule": "", "start_at": "", "deposit_deadline": "", "registration_closes_at": ""}
        page = await op.get(f"{base}/change")
        shown = hidden(page.text)
        r = await op.post(f"{base}/change", {**shown, **change, "reason": ""})
        assert beside(r.text, "reason") == "REASON_REQUIRED"
        r = await op.post(f"{base}/change", {**shown, **change, "preview": "yes"})
        assert 'id="pushed-back">86 秒' in r.text, re.findall(r'id="err-[^\n]*', r.text)
        r = await op.post(f"{base}/change", {**shown, **change})
        assert r.status_code == 303, r.text[:2000]
        schedule = (await api.get(f"/api/plans/{plan_id}")).json()["schedule"]
        assert datetime.fromisoformat(schedule["start_at"]) == datetime.fromisoformat(cst(t0, 206)).replace(tzinfo=CST)

        # --- the session, created once however often the form is sent
        shown = await form(op, f"{base}/session")
        first, second = await asyncio.gather(op.post(f"{base}/session", {**shown, "countdown_seconds": "60"}),
                                             op.post(f"{base}/session", {**shown, "countdown_seconds": "60"}))
        assert {first.status_code, second.status_code} == {303}, (first.text[:1500], second.text[:1500])
        session_id = (await api.get(f"/api/plans/{plan_id}")).json()["session"]["session_id"]

        page = (await op.get(base)).text
        assert all(f'data-stage="{s}" data-done="true"' in page
                   for s in ("draft", "committee", "approval", "appraisal", "announce", "change", "session"))
        assert f'href="/console/sessions/{session_id}"' in page and "顺延" in page and "86 秒" in page
        assert "底价集体确定并密封" in page and 'id="next-deadline"' in page and 'id="export-json"' in page
        assert "赞成 6 · 反对 3 · 弃权 0" in page and "m1、m2" in page
        assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", page) and '"area_m2_hundredths"' not in page
        export = await op.get(f"{base}/plan.json")
        assert export.status_code == 200 and export.json()["plan_id"] == plan_id

        actions = [(a["action"], a["outcome"]) for a in await audit_rows(server.dsn)]
        assert ("PLAN_DRAFT", "Q31_DEPOSIT_BELOW_20_PERCENT") in actions and ("PLAN_DRAFT", "OK") in actions
        assert ("PLAN_GOVERNMENT_APPROVAL", "CONFLICT") in actions and ("PLAN_CREATE_SESSION", "OK") in actions
        # The previews are 预检 rows of their own, never a step done: the appraisal recorded once, and
        # its two checks (the first refused by the engine: detail.result) apart from it.
        assert actions.count(("PLAN_APPRAISAL", "OK")) == 1 and ("PLAN_APPRAISAL", "PREVIEW") not in actions
        assert actions.count(("PLAN_APPRAISAL_PREVIEW", "PREVIEW")) == 2
        assert ("PLAN_ANNOUNCEMENT_CHANGE_PREVIEW", "PREVIEW") in actions
        assert actions.count(("PLAN_ANNOUNCEMENT_CHANGE", "OK")) == 1
        results = [a["detail"] for a in await audit_rows(server.dsn) if a["action"] == "PLAN_APPRAISAL_PREVIEW"]
        assert '"result": "Q25_APPRAISAL_INCOMPLETE"' in results[0] and '"result": "OK"' in results[1]
        # ... and the trail reads in Chinese: every plan step named, details with the forms' labels,
        # times in CST, typed 万元 with the fen.
        trail = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", (await op.get("/console/audit")).text)))
        for words in ("新建供应计划 PLAN_DRAFT", "登记估价报告 PLAN_APPRAISAL", "预检：登记估价报告 PLAN_APPRAISAL_PREVIEW",
                      "预检：发布变更公告 PLAN_ANNOUNCEMENT_CHANGE_PREVIEW", "由方案创建交易场次 PLAN_CREATE_SESSION",
                      "发布出让公告 PLAN_ANNOUNCE", "登记委员会审议 PLAN_COMMITTEE_MEETING", "预检 ", "总价：5,600 万元（5,600,000,000 分）",
                      "土地权属清晰：是", "估价期日：" + now.strftime("%Y年%m月%d日"), "发布时间：" + t0.strftime("%Y年%m月%d日 %H时%M分")):
            assert words in trail, words
        for raw in ("PLAN_DRAFT PLAN_DRAFT", "area_m2：", "readiness_title_clear", "published_at：", "total_price_wan"):
            assert raw not in trail, raw
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", trail)
    finally:
        await op.close()
        await committee.close()
        await api.http.aclose()


async def test_a_plan_priced_per_floor_area_through_the_console_form(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    """元/建筑平方米 typed in the draft form: the engine derives the 万元 totals exactly from the floor
    area (docs/rules.md, the plan's prices); a total that disagrees is refused beside the unit price."""
    server, _accounts, op, committee = await operator_and_member(server_factory, database, **COMPRESSED)
    api = Api(server)
    try:
        plan_id = "GD-CONSOLE-FLOOR"
        new = await form(op, "/console/plans/new")
        page = (await op.get("/console/plans/new")).text
        assert 'id="f-start_yuan_per_floor_m2"' in page and 'id="f-floor_area_m2"' in page
        floor = draft_fields(plan_id, start_price_wan="", increment_wan="", start_yuan_per_floor_m2="5500",
                             increment_yuan_per_floor_m2="5", floor_area_m2="30000", deposit_wan="3300")
        r = await op.post("/console/plans/new", {**new, **floor, "start_price_wan": "16000"})
        assert r.status_code == 422 and beside(r.text, "start_yuan_per_floor_m2") == "FLOOR_PRICE_TOTAL_MISMATCH"
        assert (await api.get(f"/api/plans/{plan_id}")).status_code == 404
        r = await op.post("/console/plans/new", {**hidden(r.text), **floor})
        assert r.status_code == 303, r.text[:2000]
        view = (await api.get(f"/api/plans/{plan_id}")).json()
        assert (view["start_price_fen"], view["increment_fen"]) == (16_500_000_000, 15_000_000)  # 16,500 万元, 15 万元
        assert (view["start_fen_per_floor_m2"], view["increment_fen_per_floor_m2"]) == (550_000, 500)
        edit = (await op.get(f"/console/plans/{plan_id}/edit")).text
        assert 'value="5500.00"' in edit and 'value="30000.00"' in edit
    finally:
        await op.close()
        await committee.close()
        await api.http.aclose()
