"""`make run`'s trading day (auction/demo/day.py), as a new user meets it: the demo's
console accounts (an operator, three committee members whose user names are their
registered member ids, an auditor) sign in with the passwords printed at start; the
members' key files are there for the browser; the demo plans' pages show their
timelines and the next step's page; and the public pages list the demo's
announcements and its published result."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from pathlib import Path

import httpx
import websockets

from auction.staff.roles import Role
from clients.tender import submit_bid
from clients.verify import verify
from loadtests.harness import ServerProcess
from tests.e2e.console_helpers import Account, ConsoleUser
from tests.e2e.helpers import WAN, assert_no_traceback
from tests.e2e.test_run_default import _free_port, _ready, serving, sigterm

MEMBERS = ["demo-member-1", "demo-member-2", "demo-member-3"]


async def test_the_demo_is_a_trading_day_in_the_browser(data_dir: Path) -> None:
    data, port = data_dir, _free_port()
    with serving(data, port, "--demo") as proc:
        await _ready(port, proc)
        accounts_file = data / "demo-accounts.json"
        assert stat.S_IMODE(accounts_file.stat().st_mode) == 0o600
        accounts = json.loads(accounts_file.read_text(encoding="utf-8"))
        assert [(a["username"], a["role"]) for a in accounts] == [
            ("demo-operator", "OPERATOR"), *((m, "COMMITTEE") for m in MEMBERS), ("demo-auditor", "AUDITOR")]
        for m in MEMBERS:  # each member's key, for the reserve page to import (never committed: var/)
            assert stat.S_IMODE((data / "demo-committee" / f"{m}.key").stat().st_mode) == 0o600
        key = (data / "keys" / "operator.key").read_text().strip()
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as http:
            registered = (await http.get("/api/committee-members",
                                         headers={"Authorization": f"Bearer {key}"})).json()
            assert sorted(m["member_id"] for m in registered) == MEMBERS  # user names are member ids
            plans = sorted(r["session_id"] for r in json.loads((data / "demo-tokens.json").read_text())
                           if r["session_id"].startswith("S-GD-DEMO-"))
            waiting = plans[0].removeprefix("S-")  # the plan waiting for its reserve (B)
            stamp = waiting.removesuffix("-B")
            sold, draft = f"{stamp}-A", f"{stamp}-C"

            # The public pages are not empty: both announcements, the sold plan's result, the hall.
            announcements = (await http.get("/public/announcements")).text
            assert f"/public/announcements/ANN-{sold}" in announcements
            assert f"/public/announcements/ANN-{waiting}" in announcements
            results = (await http.get("/public/results")).text
            assert f"/public/results/RES-{sold}" in results
            result = (await http.get(f"/public/results/RES-{sold}")).text
            assert "云岭置业有限公司" in result or "珠江城建集团有限公司" in result  # the winner, after the close
            hall = (await http.get("/hall")).text
            assert f"S-{sold}" in hall and f"S-{waiting}" in hall and "成交" in hall

            # Each plan's progress goes on past its status (auction/domain/plan/progress.py): plan A was
            # sold, its result published and its contract signed (Q42); B waits for its reserve.
            auth = {"Authorization": f"Bearer {key}"}
            listed_api = {r["plan_id"]: r for r in (await http.get("/api/plans", headers=auth)).json()}
            assert listed_api[sold]["status"] == "RESERVE_SEALED" and listed_api[sold]["progress"] == "RESULT_PUBLISHED"
            assert listed_api[waiting]["progress"] == listed_api[waiting]["status"] == "ANNOUNCED"
            assert listed_api[draft]["progress"] == "DRAFT"
            assert (await http.get(f"/api/plans/{sold}", headers=auth)).json()["progress"] == "RESULT_PUBLISHED"
            # The demo's applications carry the deposit deadline the announcement states (Q31).
            announced = (await http.get(f"/api/plans/{waiting}", headers=auth)).json()["schedule"]
            applications = (await http.get(f"/api/sessions/S-{waiting}/applications", headers=auth)).json()
            assert len(applications) == 3, applications
            assert {a["deposit_deadline"] for a in applications} == {announced["deposit_deadline"]}, applications

            # Anyone can check the sold session (README, "Checking a sale yourself"): its public record holds.
            record = (await http.get(f"/public/sessions/S-{sold}/record.json")).json()
            assert verify(record).startswith(f"一致 VERIFIED S-{sold}:"), record

            # Plan D, a tender taking sealed bids: its reserve sealed by the committee before bids opened,
            # two companies bid already, the other two are in the tokens file; one of them bids now.
            tender_id = f"T-{stamp}-D"
            bidders = [r for r in json.loads((data / "demo-tokens.json").read_text()) if r["method"] == "TENDER"]
            assert {r["session_id"] for r in bidders} == {tender_id} and len(bidders) == 2, bidders
            view = (await http.get(f"/tender/{tender_id}")).json()
            assert view["status"] == "TAKING_BIDS" and view["terms"]["evaluation"] == "HIGHEST_PRICE", view
            assert view["reserve_commitment"], view
            done = await asyncio.to_thread(submit_bid, base, tender_id, bidders[0]["token"],
                                           bidder_no=bidders[0]["bidder_no"], price_fen=3_600 * WAN)
            assert done.receipt["bidder_no"] == bidders[0]["bidder_no"]
            # Its own token sees that its bid is in (a new tab, another browser): the receipt, never the price.
            mine = (await http.get(f"/tender/{tender_id}", headers={"Authorization": f"Bearer {bidders[0]['token']}"})
                    ).json()["you"]
            assert mine["bidder_no"] == bidders[0]["bidder_no"] and mine["bid"]["receipt"] == done.receipt["receipt"]
            others = (await http.get(f"/tender/{tender_id}", headers={"Authorization": f"Bearer {bidders[1]['token']}"})
                      ).json()["you"]
            assert others["bid"] is None
            # A token of the other kind of sale is real, for another sale: WRONG_SESSION, not "invalid".
            session_token = next(r["token"] for r in json.loads((data / "demo-tokens.json").read_text())
                                 if r["session_id"] == f"S-{waiting}")
            r = await http.get(f"/tender/{tender_id}", headers={"Authorization": f"Bearer {session_token}"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "WRONG_SESSION", r.text
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send(json.dumps({"type": "hello", "session_id": f"S-{waiting}", "token": bidders[1]["token"]}))
                assert json.loads(await ws.recv())["code"] == "WRONG_SESSION"
            assert tender_id in (await http.get("/hall")).text

        server = ServerProcess(dsn="", data_dir=data, port=port)  # its address only: started above
        users = {}
        for a in accounts:
            user = ConsoleUser(server)
            r = await user.sign_in(Account(a["username"], a["password"], Role(a["role"])))
            assert r.status_code == 303 and r.headers["location"] == "/console", (a["username"], r.text[:300])
            users[a["username"]] = user
        try:
            operator = users["demo-operator"]
            listed = (await operator.get("/console/plans")).text
            assert all(f"/console/plans/{p}" in listed for p in (sold, waiting, draft, f"{stamp}-D"))
            row = re.search(rf'<tr data-plan-id="{sold}".*?</tr>', listed, re.S)
            assert row and 'data-progress="RESULT_PUBLISHED"' in row.group(0) and "成交 · 合同已签订 · 结果已公示" in row.group(0)
            assert "底价已密封" not in row.group(0)
            # The waiting plan's timeline: every step done so far, the reserve next, its page linked.
            page = (await operator.get(f"/console/plans/{waiting}")).text
            assert "办理进度" in page and "出让公告 / Announcement" in page
            assert f'id="next-page" href="/console/plans/{waiting}/reserve"' in page
            assert f'href="/console/sessions/S-{waiting}"' in page
            # The sold plan: the reserve decided by the three members; its session links back to it.
            page = (await operator.get(f"/console/plans/{sold}")).text
            assert all(m in page for m in MEMBERS)
            assert 'id="plan-progress" data-progress="RESULT_PUBLISHED"' in page
            session = (await operator.get(f"/console/sessions/S-{sold}")).text
            assert f'href="/console/plans/{sold}" id="plan-link"' in session and "成交 / Sold" in session
            tender = await operator.get(f"/console/tenders/{tender_id}")
            assert tender.status_code == 200 and "投标中" in tender.text
            # The draft: the committee's form is the next step.
            page = (await operator.get(f"/console/plans/{draft}")).text
            assert f'href="/console/plans/{draft}/committee"' in page
            # A member opens the reserve page: the decision window and the member's registered key.
            reserve = await users["demo-member-1"].get(f"/console/plans/{waiting}/reserve")
            assert reserve.status_code == 200 and "demo-member-1" in reserve.text
            assert re.search(r'id="key-registered"[^>]*>[0-9a-f]{64}<', reserve.text), reserve.text[:2000]
            audit = await users["demo-auditor"].get("/console/audit")
            assert audit.status_code == 200
        finally:
            for user in users.values():
                await user.close()
        out = sigterm(proc)
    assert_no_traceback(out)
    for a in accounts:  # printed at start, as the operator's always was
        assert re.search(rf"{a['username']} +.*password: {re.escape(a['password'])}", out), out[-3000:]
    assert "demo-committee/demo-member-1.key" in out
