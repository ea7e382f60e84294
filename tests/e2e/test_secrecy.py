"""RULES 2.3-2.4 and 3.5 (docs/rules.md): the sealed reserve and the bidders' identities stay secret until the close.

A whole session runs on a real server, from plan to sale, with a distinctive
reserve. Before the close, everything the system produced is searched for it in
every written form: each WebSocket message to bidders and watchers, each HTTP
response body this test received, the server log, and a full `pg_dump` of the
database. The salt is searched for too: with it, the published commitment
would give the amount away to anyone willing to try every plausible price.
After the close the reserve is revealed, and the same search finds it (so the
search could have).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from auction.domain.money import format_wan, format_yuan
from auction.domain.bidding.session import reserve_commitment
from auction.store.database.embedded import _bin
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all
from tests.e2e.plan_flow import (
    COMPRESSED,
    Committee,
    announce_body,
    appraisal_body,
    approval_body,
    at,
    meeting_body,
    ok,
    parcel,
    plan_body,
    schedule_body,
)

RESERVE = 987_654_321  # fen: 987.654321 万元, 9,876,543.21 元
FORMS = [
    str(RESERVE),
    format_wan(RESERVE).split()[0],  # 987.654321
    format_yuan(RESERVE).split()[0],  # 9,876,543.21
    format_yuan(RESERVE).split()[0].replace(",", ""),  # 9876543.21
]
START_PRICE = 500 * WAN
WINNING_BID = 1_000 * WAN


class RecordingApi(Api):
    """The operator API client, keeping every response body it received."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__(server)
        self.bodies: list[str] = []

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        r = await super().post(path, body, **kw)
        self.bodies.append(r.text)
        return r

    async def get(self, path: str) -> httpx.Response:
        r = await super().get(path)
        self.bodies.append(r.text)
        return r


async def pg_dump(dsn: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        _bin("pg_dump"), "-d", dsn, "-w", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode(errors="replace")
    return out.decode()


def found(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


async def test_nothing_before_the_close_gives_away_the_reserve_or_who_bids(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    assert FORMS == ["987654321", "987.654321", "9,876,543.21", "9876543.21"]
    server = server_factory(**COMPRESSED)
    server.start()
    names = [f"保密竞买人甲有限公司{uuid.uuid4().hex[:6]}", f"Secret Bidder B Ltd {uuid.uuid4().hex[:6]}"]
    api = RecordingApi(server)
    clients: list[WsClient] = []
    try:
        committee = await Committee.register(api, tmp_path, 3)
        # 1,000 m² at a benchmark of 5,000 元/m²: a benchmark total of 500 万元, below the reserve.
        body = plan_body("AUCTION", parcel=parcel(area_m2_hundredths=100_000, benchmark_fen_per_m2=500_000),
                         start_price_fen=START_PRICE, increment_fen=10 * WAN, deposit_fen=START_PRICE // 5)
        plan_id = body["plan_id"]
        await ok(api, "/api/plans", body, 201)
        await ok(api, f"/api/plans/{plan_id}/committee-meeting", meeting_body())
        await ok(api, f"/api/plans/{plan_id}/government-approval", approval_body())
        await ok(api, f"/api/plans/{plan_id}/appraisal",
                 appraisal_body(unit_price_fen_per_m2=980_000, total_price_fen=980 * WAN))
        await ok(api, f"/api/plans/{plan_id}/announce", announce_body(schedule_body("AUCTION", at(10.0))))
        view = await ok(api, f"/api/plans/{plan_id}/session", {"countdown_seconds": 4}, 201)
        session_id = view["terms"]["session_id"]
        watcher = await WsClient.join(server.ws, session_id)
        clients.append(watcher)

        decision = await committee.decision(plan_id, RESERVE)
        salt = decision["salt"]
        secrets = [*FORMS, salt]
        sealed = await ok(api, f"/api/plans/{plan_id}/reserve", decision)
        commitment = reserve_commitment(RESERVE, salt)
        assert sealed["reserve"]["commitment"] == commitment

        a = await api.qualify(session_id, names[0])
        b = await api.qualify(session_id, names[1])
        bidder_a = await WsClient.join(server.ws, session_id, a.token)
        bidder_b = await WsClient.join(server.ws, session_id, b.token)
        late_watcher = await WsClient.join(server.ws, session_id, last_seq=0)  # replays from the log
        clients += [bidder_a, bidder_b, late_watcher]
        opened = await watcher.wait_event("SessionOpened", timeout=30)
        assert opened["data"]["reserve_commitment"] == commitment
        assert (await bidder_a.bid(START_PRICE))["type"] == "ack"
        assert (await bidder_b.bid(WINNING_BID))["type"] == "ack"
        for client in clients:
            await client.wait_event("BidAccepted", where=lambda e: e["data"]["amount_fen"] == WINNING_BID)
        await api.get(f"/api/plans/{plan_id}")
        await api.get("/api/plans")
        await api.get(f"/api/sessions/{session_id}")
        await api.get(f"/api/sessions/{session_id}/events")
        await api.get(f"/api/sessions/{session_id}/bidders")

        # Everything, before the close.
        dump = await pg_dump(server.dsn)
        assert (await api.session(session_id))["state"]["phase"] == "AUCTION", "closed before the scan"
        assert session_id in dump and "sealed_reserves" in dump and commitment in dump  # the dump saw it all
        ws_text = "\n".join(str(raw) for c in clients for raw in c.raw)
        assert "ReserveSealed" in ws_text and "BidAccepted" in ws_text
        assert found(ws_text, secrets) == []
        assert found("\n".join(api.bodies), secrets) == []
        assert found(server.log_text(), secrets) == []
        assert found(dump, secrets) == []
        assert found(ws_text, names) == []

        # The close reveals it, and the same search finds it now.
        closed = await watcher.wait_event("SessionClosed", timeout=30)
        assert (closed["data"]["outcome"], closed["data"]["winner_bidder_no"]) == ("SOLD", b.bidder_no)
        assert (closed["data"]["reserve_fen"], closed["data"]["reserve_salt"]) == (RESERVE, salt)
        for client in clients:
            await client.wait_event("SessionClosed")
        ws_text = "\n".join(str(raw) for c in clients for raw in c.raw)
        assert found(ws_text, secrets) == [str(RESERVE), salt]
        assert found(await pg_dump(server.dsn), secrets) == [str(RESERVE), salt]
        # Bidders and watchers never learn who the bidders are; operators do, after the close.
        assert found(ws_text, names) == []
        listed = (await api.get(f"/api/sessions/{session_id}/bidders")).json()
        assert sorted(x["legal_name"] for x in listed) == sorted(names)
    finally:
        await close_all(*clients)
        await api.http.aclose()
