"""Each refused plan step, through the HTTP API of a real server, answers with the
code of the article it breaks and changes nothing: the plan's log (GET
/api/plans/{id}) is the same before and after, no session event, no sealed
envelope, no archived signature.

Two servers on one database: one with the default rules (20-day announcement,
Q29), one whose announcement period is compressed but whose reserve window is
the default hour (Q26), so a reserve can be entered 61 minutes before a start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api
from tests.e2e.plan_flow import (
    AREA,
    BENCHMARK,
    Committee,
    announce_body,
    appraisal_body,
    approval_body,
    approved_plan,
    at,
    china_today,
    iso,
    meeting_body,
    ok,
    parcel,
    plan,
    plan_body,
    refused,
    session_of,
)


async def unchanged(api: Api, plan_id: str, path: str, body: dict[str, Any]) -> str:
    """POST a step that must be refused; returns its code after checking the log did not move."""
    before = await plan(api, plan_id)
    error = await refused(api, f"/api/plans/{plan_id}/{path}", body)
    after = await plan(api, plan_id)
    assert after["events"] == before["events"] and after["status"] == before["status"], error
    code: str = error["code"]
    return code


async def never_created(api: Api, body: dict[str, Any]) -> str:
    error = await refused(api, "/api/plans", body)
    assert (await api.get(f"/api/plans/{body['plan_id']}")).status_code == 404
    assert body["plan_id"] not in {p["plan_id"] for p in (await api.get("/api/plans")).json()}
    code: str = error["code"]
    return code


async def test_plan_steps_refused_with_their_article_under_the_default_rules(
    server: ServerProcess,
) -> None:
    async with Api(server) as api:
        # Q23: one parcel per plan, never bundled.
        assert await never_created(api, plan_body(parcels=[parcel(), parcel()])) == "Q23_MORE_THAN_ONE_PARCEL"
        # Q31: the deposit is at least 20% of the starting price.
        low = plan_body(start_price_fen=5_000 * WAN, deposit_fen=1_000 * WAN - 1)
        assert await never_created(api, low) == "Q31_DEPOSIT_BELOW_20_PERCENT"
        # Q24: no bidder conditions on residential land.
        conditions = plan_body(bidder_conditions="竞买人须具有房地产开发一级资质")
        assert await never_created(api, conditions) == "Q24_CONDITIONS_NOT_ALLOWED"
        # Q23: a parcel not ready to be offered.
        not_ready = plan_body(parcel=parcel(readiness={"compensation_settled": False}))
        assert await never_created(api, not_ready) == "Q23_PARCEL_NOT_READY"

        # Q22: 5 of 9 is short of 2/3. The vote is recorded (a fact to archive), then
        # neither the approval nor the announcement may follow.
        body = plan_body()
        await ok(api, "/api/plans", body, 201)
        plan_id = body["plan_id"]
        await ok(api, f"/api/plans/{plan_id}/committee-meeting", meeting_body(present=9, yes=5))
        view = await plan(api, plan_id)
        assert view["status"] == "COMMITTEE_REJECTED"
        start = at(25 * 86_400)
        schedule = {"start_at": iso(start), "deposit_deadline": iso(at(24 * 86_400)),
                    "registration_closes_at": iso(at(24 * 86_400 + 60))}
        assert await unchanged(api, plan_id, "government-approval", approval_body()) == "Q22_NOT_APPROVED"
        assert await unchanged(api, plan_id, "announce", announce_body(schedule)) == "Q22_NOT_APPROVED"
        # ... and a tally that does not add up to the members present is refused outright.
        assert await unchanged(api, plan_id, "committee-meeting",
                               meeting_body(present=9, yes=6, no=2)) == "Q22_TALLY_MISMATCH"

        # Q29: 19 days between the announcement and the start is too short; 20 days is enough.
        plan_id = await approved_plan(api)
        nineteen = {"start_at": iso(at(19 * 86_400)), "deposit_deadline": iso(at(18 * 86_400)),
                    "registration_closes_at": iso(at(19 * 86_400 - 3600))}
        assert await unchanged(api, plan_id, "announce", announce_body(nineteen)) == "Q29_ANNOUNCEMENT_TOO_SHORT"
        twenty = {"start_at": iso(at(20 * 86_400 + 60)), "deposit_deadline": iso(at(19 * 86_400)),
                  "registration_closes_at": iso(at(20 * 86_400))}
        assert await unchanged(api, plan_id, "announce",
                               announce_body(twenty, channels=["LAND_MARKET"])) == "Q29_CHANNELS_MISSING"
        assert (await ok(api, f"/api/plans/{plan_id}/announce", announce_body(twenty)))["status"] == "ANNOUNCED"

        # The escrow key's passphrase: wrong is refused, and the key stays as it was.
        r = await api.post("/api/escrow/unlock", {"passphrase": "not the passphrase at all"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "ESCROW_PASSPHRASE_WRONG"
        unknown = await api.post("/api/plans/NO-SUCH-PLAN/committee-meeting", meeting_body())
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"


async def test_reserve_decisions_refused_with_their_article(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(AUCTION_ANNOUNCEMENT_MIN_SECONDS="60")  # default reserve window: 1 hour
    server.start()
    async with Api(server) as api:
        committee = await Committee.register(api, tmp_path, 3)
        plan_id = await approved_plan(api, "LISTING")
        await ok(api, f"/api/plans/{plan_id}/appraisal", appraisal_body(
            "AP-OLD", valuation_date=china_today(-200), valid_until=china_today(-1)))
        await ok(api, f"/api/plans/{plan_id}/appraisal", appraisal_body("AP-LATER", valuation_date=china_today(1)))
        start = at(30 * 60)  # the window opened 30 minutes ago
        end = at(3 * 86_400 + 60)
        schedule = {"start_at": iso(start), "listing_end_at": iso(end),
                    "deposit_deadline": iso(at(86_400 - 3600)), "registration_closes_at": iso(at(86_400))}
        await ok(api, f"/api/plans/{plan_id}/announce", announce_body(schedule))
        reserve = BENCHMARK * AREA // 100 + 5 * WAN  # above the benchmark total

        # No session yet: the decision has nowhere to be sealed.
        early = await committee.decision(plan_id, reserve)
        assert await unchanged(api, plan_id, "reserve", early) == "PLAN_WRONG_STATUS"
        session_id = await session_of(api, plan_id)
        session_before = await api.events(session_id)

        def decision(**overrides: Any) -> Any:
            return committee.decision(plan_id, overrides.pop("amount_fen", reserve), **overrides)

        cases: list[tuple[str, dict[str, Any]]] = [
            # Q26: entered 61 minutes before the start, outside the hour.
            ("Q26_OUTSIDE_RESERVE_WINDOW", await decision(decided_at=iso(start - timedelta(minutes=61)))),
            ("Q26_TOO_FEW_MEMBERS", await decision(members=committee.ids[:1])),
            ("Q25_NO_APPRAISAL", await decision(appraisal_id="AP-NONE")),
            ("Q27_APPRAISAL_EXPIRED", await decision(appraisal_id="AP-OLD")),
            ("Q27_APPRAISAL_AFTER_DECISION", await decision(appraisal_id="AP-LATER")),
            ("Q27_BELOW_BENCHMARK", await decision(amount_fen=BENCHMARK * AREA // 100 - 1)),
            ("Q28_RESERVE_REQUIRED", await decision(amount_fen=None)),  # a listing needs a reserve
        ]
        # Q26: a signature that does not cover this decision (signed for another amount) ...
        other = await decision(amount_fen=reserve + 1)
        forged = await decision()
        forged["signatures"][committee.ids[1]] = other["signatures"][committee.ids[1]]
        cases.append(("Q26_BAD_SIGNATURE", forged))
        # ... a member not registered, and a member who did not sign.
        stranger = await decision(members=[*committee.ids, "m-unregistered"])
        cases.append(("Q26_BAD_SIGNATURE", stranger))
        unsigned = await decision()
        del unsigned["signatures"][committee.ids[2]]
        cases.append(("Q26_BAD_SIGNATURE", unsigned))
        for expected, body in cases:
            assert await unchanged(api, plan_id, "reserve", body) == expected, expected
        bad = await refused(api, f"/api/plans/{plan_id}/reserve", forged)
        assert bad["details"]["members"] == [committee.ids[1]]

        # Nothing reached the session or the database.
        assert await api.events(session_id) == session_before
        con = await asyncpg.connect(server.dsn)
        try:
            assert await con.fetchval("SELECT count(*) FROM sealed_reserves") == 0
            assert await con.fetchval("SELECT count(*) FROM reserve_signatures") == 0
        finally:
            await con.close()

        # The same decision, properly signed, is taken once.
        good = await decision()
        assert (await ok(api, f"/api/plans/{plan_id}/reserve", good))["status"] == "RESERVE_SEALED"
        assert await unchanged(api, plan_id, "reserve", await decision()) == "PLAN_WRONG_STATUS"
        assert [e["type"] for e in await api.events(session_id)][-1] == "ReserveSealed"
