"""SIGKILL the server mid-session and start it again on the same database.

Every acknowledged bid survives (an ack is sent only after commit). Restarted
before the deadline, the session simply goes on (timers are rebuilt from the
database). If a deadline passed while the server was down, the session is
suspended, not closed (RULES 7.5): bidders could not bid meanwhile. The operator
then resumes it (within 1 h: directly, RULES 7.3), which restarts the full
countdown (RULES 7.2), and it closes normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from clients.bidder import BidderClient
from tests.conftest import ServerProcess
from tests.e2e.helpers import (
    WAN,
    Api,
    WsClient,
    accepted_bids,
    close_all,
    iso_in,
    now_us,
    sleep_until_us,
    wait_opened,
    wait_until,
)


async def _bid_stream(clients: list[WsClient], acks: list[dict[str, Any]], start: int) -> None:
    """Bidders take turns, each waiting for its ack, until the server goes away."""
    i = 0
    while True:
        try:
            reply = await clients[i % 2].bid(start + i * WAN, timeout=30)
        except (AssertionError, ConnectionClosed, OSError):
            return  # closed while sending or while awaiting the ack
        assert reply["type"] == "ack", reply
        acks.append(reply)
        i += 1


@contextlib.asynccontextmanager
async def _proxy_says_503(port: int) -> Any:
    """While the server is down, something in front of it answers 503 (as a load balancer would)."""
    hits = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            hits.append(time.monotonic())
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    stub = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield hits
    finally:
        stub.close()
        await stub.wait_closed()


async def test_restart_before_the_deadline_keeps_every_acked_bid_and_the_session_goes_on(
    server_factory: Callable[..., ServerProcess],
) -> None:
    # The restart must come before the deadline. How long a start takes is this machine's
    # business: the countdown is sized from the start just measured (a loaded machine
    # gets a longer one), not fixed at what a fast machine needs.
    server = server_factory()
    began = time.monotonic()
    await asyncio.to_thread(server.start)
    countdown = max(8, math.ceil(2 * (time.monotonic() - began)) + 3)
    async with Api(server) as api:
        x = await api.auction(bidders=3, start_in=2.5, countdown=countdown)
        y = await api.auction(bidders=1, start_in=2.5, countdown=countdown)
    cx = [await WsClient.join(server.ws, x.id, q.token) for q in x.bidders[:2]]
    cy = await WsClient.join(server.ws, y.id, y.bidders[0].token)
    third = BidderClient(server.ws, x.id, x.bidders[2].token, max_backoff=0.3)
    await third.connect()
    try:
        await wait_opened(cx[0])
        await wait_opened(cy)
        y_ack = await cy.bid(100 * WAN)
        assert y_ack["type"] == "ack", y_ack

        acks: list[dict[str, Any]] = []
        stream = asyncio.create_task(_bid_stream(cx, acks, 100 * WAN))
        await wait_until(lambda: len(acks) >= 12 or stream.done(), what="12 acks")
        await asyncio.to_thread(server.kill)  # mid-stream: a bid may be in flight
        await asyncio.wait_for(stream, 30)
        assert len(acks) >= 12
        y_deadline = y_ack["at_us"] + countdown * 1_000_000

        async with _proxy_says_503(server.port) as hits:
            # While the server is down, the client keeps trying (through the 503s).
            await wait_until(lambda: len(hits) >= 1, what="the client tries to reconnect while the server is down")
        await asyncio.to_thread(server.start)
        if now_us() >= y_deadline - 1_000_000:  # Y's deadline is the earlier one
            pytest.fail(f"restart took longer than the {countdown} s countdown sized from the first start")
    finally:
        await close_all(*cx, cy)

    async with Api(server) as api:
        log = await api.events(x.id)
        logged = accepted_bids(log)
        # Every acknowledged bid is there, with the seq and amount it was acked with.
        for ack in acks:
            assert {"pub_seq": ack["seq"], "amount": ack["amount_fen"], "bid_id": ack["bid_id"]}.items() <= next(
                b for b in logged if b["bid_id"] == ack["bid_id"]
            ).items()
        # At most the one bid in flight at the kill was written without its ack reaching us.
        assert len(logged) in (len(acks), len(acks) + 1)
        assert [b["amount"] for b in logged] == sorted(b["amount"] for b in logged)
        assert not [e for e in log if e["type"] in ("SessionSuspended", "SessionClosed")]
        view = await api.session(x.id)
        assert view["state"]["phase"] == "AUCTION"
        highest = view["state"]["highest_fen"]
        assert highest == logged[-1]["amount"]

        # The BidderClient reconnected by itself (through the 503s), resumed, and can bid.
        reply = await third.bid(highest + 1 * WAN, timeout=30)
        assert reply["type"] == "ack", reply
        watcher = await WsClient.join(server.ws, x.id, last_seq=0)
        try:
            close_x = await watcher.wait_event("SessionClosed", timeout=countdown + 30)
            assert close_x["at_us"] == reply["at_us"] + countdown * 1_000_000
            assert close_x["data"]["outcome"] == "SOLD"
            assert close_x["data"]["winner_bidder_no"] == x.bidders[2].bidder_no
            assert close_x["data"]["price_fen"] == highest + 1 * WAN
            # The resumed BidderClient saw every public event once, in order.
            await wait_until(lambda: third.seq == close_x["seq"], what="the resumed client sees the close")
            got = []
            while not third._events.empty():
                got.append(third._events.get_nowait()["seq"])
            assert got == list(range(got[0], close_x["seq"] + 1)), got
            assert [e["seq"] for e in watcher.events] == list(range(1, close_x["seq"] + 1))
        finally:
            await watcher.close()
            await third.close()

        # Y had no bid after the restart: its timer was rebuilt from the database and
        # closed it at the deadline set before the crash.
        view_y = await api.session(y.id)
        assert view_y["state"]["phase"] == "CLOSED"
        assert view_y["state"]["outcome"]["winner_bidder_no"] == y.bidders[0].bidder_no
        log_y = await api.events(y.id)
        assert log_y[-1]["type"] == "SessionClosed"
        assert log_y[-1]["data"]["at"] == y_ack["at_us"] + countdown * 1_000_000
        for sid in (x.id, y.id):
            assert (await api.verify(sid))["ok"] is True


async def test_deadline_passed_while_down_suspends_then_operator_resumes_and_it_closes(server: ServerProcess) -> None:
    # The kill must come before both deadlines: it follows the auction's last ack
    # directly (the listing bids come first), with seconds to spare either way.
    countdown = 3
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.0, countdown=countdown, reserve=100 * WAN)
        listing = await api.listing(bidders=2, reserve=100 * WAN, start_in=2.0, listing_seconds=4.5)
        a, b = s.bidders
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        cl = [await WsClient.join(server.ws, listing.id, q.token) for q in listing.bidders]
        try:
            await wait_opened(cl[0])
            assert (await cl[0].bid(100 * WAN))["type"] == "ack"
            assert (await cl[1].bid(101 * WAN))["type"] == "ack"
            await wait_opened(ca)
            acks = []
            for i in range(4):
                reply = await (ca, cb)[i % 2].bid((100 + i) * WAN)
                assert reply["type"] == "ack", reply
                acks.append(reply)
        finally:
            await close_all(ca, cb, *cl)
        deadline = acks[-1]["at_us"] + countdown * 1_000_000
        await asyncio.to_thread(server.kill)
        killed_at = now_us()
        assert killed_at < min(deadline, listing.terms["listing_end_at_us"]), "the kill came after a deadline"
        await sleep_until_us(max(deadline, listing.terms["listing_end_at_us"]), extra=0.5)
        await asyncio.to_thread(server.start)

        view = await api.session(s.id)
        assert view["state"]["phase"] == "SUSPENDED", view["state"]
        log = await api.events(s.id)
        assert [b["bid_id"] for b in accepted_bids(log)] == [r["bid_id"] for r in acks]
        assert [e["type"] for e in log][-1] == "SessionSuspended"
        assert "SessionClosed" not in [e["type"] for e in log]
        suspended = log[-1]["data"]
        assert suspended["reason"] == "SERVER_DOWN_PAST_DEADLINE" and suspended["recovery"] is True
        # Effective from the last moment the server was known alive: before the deadline, not after.
        assert acks[-1]["at_us"] <= suspended["at"] <= killed_at < deadline

        # The listing whose end passed while down is suspended too, not moved to timed bidding.
        listing_log = await api.events(listing.id)
        assert listing_log[-1]["type"] == "SessionSuspended"
        assert "TimedBiddingStarted" not in [e["type"] for e in listing_log]

        watcher = await WsClient.join(server.ws, s.id, last_seq=0)
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        try:
            assert watcher.welcome is not None and watcher.welcome["state"]["phase"] == "SUSPENDED"
            refused = await ca.bid(110 * WAN)
            assert refused["type"] == "reject" and refused["code"] == "SESSION_SUSPENDED"

            # RULES 7.3: resuming more than 1 h after the suspension needs 24 h notice.
            r = await api.post(f"/api/sessions/{s.id}/resume", {"reason": "择期恢复", "resume_at": iso_in(2 * 3600)})
            assert r.status_code == 422 and r.json()["error"]["code"] == "RESUME_NOTICE_REQUIRED", r.text
            r = await api.post(f"/api/sessions/{s.id}/resume", {"reason": "服务器故障已排除"})
            assert r.status_code == 200, r.text
            resumed = await watcher.wait_event("SessionResumed")
            assert resumed["data"] == {"reason": "服务器故障已排除"}
            # RULES 7.2: an auction restarts the full countdown on resume.
            assert resumed["state"]["phase"] == "AUCTION"
            assert resumed["state"]["deadline_us"] == resumed["at_us"] + countdown * 1_000_000
            assert resumed["state"]["highest_fen"] == 103 * WAN

            ack = await ca.bid(104 * WAN)
            assert ack["type"] == "ack", ack
            close = await watcher.wait_event("SessionClosed", timeout=countdown + 30)
            assert close["at_us"] == ack["at_us"] + countdown * 1_000_000
            assert close["data"]["outcome"] == "SOLD"
            assert close["data"]["winner_bidder_no"] == a.bidder_no
            assert close["data"]["price_fen"] == 104 * WAN
            assert [e["event"] for e in watcher.events][-4:] == [
                "SessionSuspended", "SessionResumed", "BidAccepted", "SessionClosed"
            ]
            assert watcher.event_seqs() == list(range(1, close["seq"] + 1))
        finally:
            await close_all(watcher, ca, cb)
        assert (await api.verify(s.id))["ok"] is True
