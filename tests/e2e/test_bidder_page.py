"""The bidder page's sign-in (`POST /bid/session`): which session a token is for and,
for a session made from a supply plan, the announced parcel facts and nothing else."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import ServerProcess
from tests.e2e.plan_flow import plan_session_bidder


async def test_a_token_tells_its_session_and_the_announced_parcel(server_factory: Callable[..., ServerProcess]) -> None:
    server, session_id, bidder = await plan_session_bidder(server_factory)
    async with httpx.AsyncClient(base_url=server.http, trust_env=False) as http:
        r = await http.post("/bid/session", json={"token": bidder.token})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["session_id"] == session_id and body["bidder_no"] == bidder.bidder_no
        parcel = body["parcel"]
        assert parcel["location"] == "曲靖市麒麟区珠江源大道以东" and parcel["term_years"] == 70
        assert parcel["area_m2"] and parcel["land_use"] == "0701" and parcel["current_state"] == "净地"
        # Not announced: the benchmark price (it bounds the secret reserve, Q27), the readiness record.
        assert "benchmark_fen_per_m2" not in parcel and "readiness" not in parcel
        assert "云岭置业有限公司" not in r.text
        page = await http.get("/bid")
        assert page.status_code == 200 and "竞买凭证" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
