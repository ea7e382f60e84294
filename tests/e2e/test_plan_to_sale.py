"""From a parcel to a sold session, through the HTTP API of a real server (RULES 1-3,
Q22-Q29), with time compressed by the environment: the announcement period is
seconds, the reserve window a minute. The committee members make their keys and
signatures with `auction committee keygen` / `sign`; the server never sees a
private key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from auction.domain.bidding.session import reserve_commitment
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, sleep_until_us
from tests.e2e.plan_flow import (
    COMPRESSED,
    INCREMENT,
    START_PRICE,
    Committee,
    announced_plan,
    ok,
    plan,
    run_cli,
    session_of,
)

RESERVE = 5_050 * WAN + 12_345  # fen: above the benchmark (4,000 万元), below the winning bid


async def test_a_parcel_goes_from_draft_plan_to_sold_session(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(**{**COMPRESSED, "AUCTION_ANNOUNCEMENT_MIN_SECONDS": "9"})
    server.start()
    async with Api(server) as api:
        committee = await Committee.register(api, tmp_path, 3, with_cli=True)
        # Two plans side by side: one sealed and sold, one whose reserve is never decided.
        # The start leaves the announcement 5 s to beat the 9 s period (Q29, compressed) and
        # the session, the committee's signatures (three CLI runs) and the bidders 14 s to
        # be ready: ample on a loaded machine, and the test then waits for the open event.
        (sold_id, _), (unsealed_id, unsealed_start) = await asyncio.gather(
            announced_plan(api, "AUCTION", start_in=14),
            announced_plan(api, "LISTING", start_in=14),
        )
        view = await plan(api, sold_id)
        assert view["status"] == "ANNOUNCED"
        assert [e["type"] for e in view["events"]] == [
            "PlanDrafted", "CommitteeMeetingRecorded", "GovernmentApprovalRecorded", "AppraisalRecorded",
            "PlanAnnounced",
        ]
        assert all(e["by"] and e["at"].endswith("+08:00") for e in view["events"])
        meeting = view["events"][1]["data"]
        assert (meeting["yes"], meeting["no"], meeting["passed"]) == (6, 3, True)  # only the tally (Q22)
        assert view["schedule"]["start_at"].endswith("+08:00")

        session_id = await session_of(api, sold_id, countdown=3)
        again = await api.post(f"/api/plans/{sold_id}/session", {"countdown_seconds": 3})
        assert again.status_code == 200 and again.json()["terms"]["session_id"] == session_id  # idempotent
        unsealed_session = await session_of(api, unsealed_id)
        created = await api.session(session_id)
        assert created["terms"]["has_reserve"] is None  # decided later, by the committee (Q26)
        assert created["terms"]["start_price_fen"] == START_PRICE

        # The committee decides within the window (Q26), each member signing on their own machine.
        decision = await committee.decision(sold_id, RESERVE, with_cli=True)
        view = await ok(api, f"/api/plans/{sold_id}/reserve", decision)
        commitment = reserve_commitment(RESERVE, decision["salt"])
        assert view["status"] == "RESERVE_SEALED"
        assert view["reserve"]["commitment"] == commitment
        assert sorted(view["reserve"]["signatures"]) == sorted(committee.ids)
        assert str(RESERVE) not in str(view) and decision["salt"] not in str(view)
        sealed = [e for e in await api.events(session_id) if e["type"] == "ReserveSealed"]
        assert [e["data"]["commitment"] for e in sealed] == [commitment]

        a, b = await api.qualify(session_id), await api.qualify(session_id)
        bidder_a = await WsClient.join(server.ws, session_id, a.token)
        bidder_b = await WsClient.join(server.ws, session_id, b.token)
        watcher = await WsClient.join(server.ws, session_id)
        try:
            opened = await watcher.wait_event("SessionOpened", timeout=30)
            assert opened["data"]["has_reserve"] is True
            assert opened["data"]["reserve_commitment"] == commitment  # every bidder sees it from the start
            assert (await bidder_a.bid(START_PRICE))["type"] == "ack"
            assert (await bidder_b.bid(START_PRICE + INCREMENT))["type"] == "ack"
            assert (await bidder_a.bid(5_100 * WAN))["type"] == "ack"
            closed = await watcher.wait_event("SessionClosed", timeout=30)
        finally:
            await close_all(bidder_a, bidder_b, watcher)
        data = closed["data"]
        assert (data["outcome"], data["winner_bidder_no"], data["price_fen"]) == ("SOLD", a.bidder_no, 5_100 * WAN)
        assert (data["reserve_fen"], data["reserve_salt"], data["reserve_basis"]) == (
            RESERVE, decision["salt"], "SEALED")

        # Anyone can check the revealed reserve against the commitment published at the open.
        code, out, _ = await run_cli("verify-reserve", "--amount-fen", str(data["reserve_fen"]),
                                     "--salt", data["reserve_salt"], "--commitment", commitment)
        assert code == 0 and "match" in out
        code, _, _ = await run_cli("verify-reserve", "--amount-fen", str(RESERVE + 1),
                                   "--salt", data["reserve_salt"], "--commitment", commitment)
        assert code == 1
        assert (await api.verify(session_id))["ok"] is True

        # Q26: no reserve decided by the start, so the listing does not open; operators see why.
        await sleep_until_us(int(unsealed_start.timestamp() * 1_000_000), 0.5)
        for _ in range(300):  # the timer may run late on a loaded machine
            unsealed = await api.session(unsealed_session)
            if unsealed["state"]["phase"] != "SCHEDULED":
                break
            await asyncio.sleep(0.1)
        assert unsealed["state"]["phase"] == "HELD"
        assert unsealed["state"]["end_reason"] == "Q26_RESERVE_NOT_SEALED"
        assert [e["type"] for e in await api.events(unsealed_session)][-1] == "OpenRefused"
        view = await plan(api, unsealed_id)
        assert view["session"] == {"session_id": unsealed_session, "phase": "HELD",
                                   "end_reason": "Q26_RESERVE_NOT_SEALED"}
        # Too late now: the window closed at the start (Q26).
        late = await api.post(f"/api/plans/{unsealed_id}/reserve", await committee.decision(unsealed_id, RESERVE))
        assert late.json()["error"]["code"] == "Q26_OUTSIDE_RESERVE_WINDOW"
        # Withdrawing the plan terminates its held session, in one step.
        view = await ok(api, f"/api/plans/{unsealed_id}/withdraw", {"by": "op-li", "reason": "底价未按时确定"})
        assert view["status"] == "WITHDRAWN" and view["session"]["phase"] == "TERMINATED"

        listed = (await api.get("/api/plans")).json()
        assert {p["plan_id"]: p["status"] for p in listed if p["plan_id"] in (sold_id, unsealed_id)} == {
            sold_id: "RESERVE_SEALED", unsealed_id: "WITHDRAWN"}
