"""Auction (拍卖) end to end, RULES 5: a countdown restarted by every accepted bid,
close at the last deadline; unsold below the sealed reserve, which is revealed
with its salt and checks against the commitment published at the start."""

from __future__ import annotations

import hashlib

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, sleep_until_us, wait_opened


async def test_auction_countdown_restarts_with_each_bid_and_sells_at_close(server: ServerProcess) -> None:
    """What each bid did to the countdown is read from its event (new deadline = bid time +
    countdown) and from the close, never from how long the test slept: the bids follow
    one another, each with the whole countdown to spare."""
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.5, countdown=3)
        a, b = s.bidders
        start, countdown = s.terms["start_at_us"], s.terms["countdown_us"]
        assert s.terms["has_reserve"] is False and s.terms["reserve_commitment"] is None
        watcher = await WsClient.join(server.ws, s.id)
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        try:
            early = await ca.bid(100 * WAN)
            assert early["type"] == "reject" and early["code"] == "SESSION_NOT_OPEN"

            opened = await watcher.wait_event("SessionOpened", timeout=30)
            assert opened["at_us"] == start
            assert opened["data"] == {"phase": "AUCTION", "deadline_us": start + countdown,
                                      "has_reserve": False, "reserve_commitment": None}
            assert opened["state"]["min_next_fen"] == 100 * WAN

            acks = []
            for client, amount in ((ca, 100 * WAN), (cb, 101 * WAN), (ca, 102 * WAN), (cb, 103 * WAN)):
                reply = await client.bid(amount)
                assert reply["type"] == "ack", reply
                assert reply["amount_fen"] == amount
                acks.append(reply)
                event = await watcher.wait_seq(reply["seq"])
                assert event["event"] == "BidAccepted" and event["at_us"] == reply["at_us"]
                assert event["data"]["amount_fen"] == amount
                assert event["data"]["deadline_us"] == reply["at_us"] + countdown
                assert event["state"]["deadline_us"] == reply["at_us"] + countdown
                assert event["state"]["highest_fen"] == amount
                assert event["state"]["min_next_fen"] == amount + 1 * WAN
            # Each bid moved the deadline on, past the open's: the countdown restarted each time.
            deadlines = [e["data"]["deadline_us"] for e in watcher.events if e["event"] == "BidAccepted"]
            assert deadlines == sorted(deadlines) and len(set(deadlines)) == 4
            assert deadlines[0] > start + countdown

            # A bid just after the deadline never counts, whether or not the close was written yet.
            last_deadline = acks[-1]["at_us"] + countdown
            await sleep_until_us(last_deadline, extra=0.05)
            late = await ca.bid(104 * WAN)
            assert late["type"] == "reject" and late["code"] in ("DEADLINE_PASSED", "SESSION_CLOSED"), late

            for client in (watcher, ca, cb):
                close = await client.wait_event("SessionClosed", timeout=30)
                # Closed at the last restarted deadline, not at the open's or an earlier bid's.
                assert close["at_us"] == last_deadline == deadlines[-1]
                assert close["data"] == {
                    "outcome": "SOLD", "reason": "SOLD", "winner_bidder_no": b.bidder_no, "price_fen": 103 * WAN,
                    "reserve_fen": None, "reserve_salt": None, "reserve_basis": "START_PRICE",
                }
            after = await cb.bid(105 * WAN)
            assert after["type"] == "reject" and after["code"] == "SESSION_CLOSED"
            assert [e["event"] for e in watcher.events] == ["SessionOpened"] + ["BidAccepted"] * 4 + ["SessionClosed"]
        finally:
            await close_all(watcher, ca, cb)

        log = await api.events(s.id)
        assert [(e["data"]["bid_id"], e["data"]["amount"]) for e in log if e["type"] == "BidAccepted"] == [
            (r["bid_id"], r["amount_fen"]) for r in acks
        ]
        assert (await api.verify(s.id))["ok"] is True


async def test_unsold_below_reserve_reveals_a_reserve_that_matches_its_commitment(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.5, countdown=3, reserve=120 * WAN)
        quiet = await api.auction(bidders=1, start_in=2.5, countdown=1)  # nobody bids
        empty = await api.auction(bidders=0, start_in=2.5, countdown=1)  # nobody qualified
        a, b = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        quiet_watch = await WsClient.join(server.ws, quiet.id)
        empty_watch = await WsClient.join(server.ws, empty.id)
        try:
            assert watcher.welcome is not None
            commitment = watcher.welcome["terms"]["reserve_commitment"]
            assert watcher.welcome["terms"]["has_reserve"] is True
            assert commitment == s.terms["reserve_commitment"] and len(commitment) == 64

            await wait_opened(watcher)
            late_registration = await api.post(f"/api/sessions/{s.id}/bidders", {"legal_name": "迟到公司"})
            assert late_registration.status_code == 422
            assert late_registration.json()["error"]["code"] == "REGISTRATION_CLOSED"

            r1 = await ca.bid(100 * WAN)
            r2 = await cb.bid(110 * WAN)
            assert (r1["type"], r2["type"]) == ("ack", "ack")
            close = await watcher.wait_event("SessionClosed", timeout=30)
            assert close["at_us"] == r2["at_us"] + s.terms["countdown_us"]
            data = close["data"]
            assert data["outcome"] == "UNSOLD" and data["reason"] == "BELOW_RESERVE"
            assert data["winner_bidder_no"] is None and data["price_fen"] is None
            assert data["reserve_fen"] == 120 * WAN and data["reserve_basis"] == "SEALED"
            assert isinstance(data["reserve_salt"], str) and data["reserve_salt"]
            # Anyone can check the revealed reserve against what was published at the start.
            assert hashlib.sha256(f"{data['reserve_fen']}:{data['reserve_salt']}".encode()).hexdigest() == commitment
            assert close["state"]["outcome"] == data
            assert close["state"]["highest_fen"] == 110 * WAN  # the highest bid stays visible
            for client in (ca, cb):
                assert (await client.wait_event("SessionClosed"))["data"] == data

            no_bids = await quiet_watch.wait_event("SessionClosed", timeout=30)
            assert no_bids["data"]["outcome"] == "UNSOLD" and no_bids["data"]["reason"] == "NO_BIDS"
            terminated = await empty_watch.wait_event("SessionTerminated", timeout=30)
            assert terminated["data"] == {"reason": "TOO_FEW_QUALIFIED_BIDDERS"}  # RULES 5.4, default 1
            assert terminated["at_us"] == empty.terms["start_at_us"]
        finally:
            await close_all(watcher, ca, cb, quiet_watch, empty_watch)

        report = await api.verify(s.id)
        assert report["ok"] is True
        assert report["checks"]["reserve_matches_commitment"] is True
        assert report["state"]["outcome"]["reason"] == "BELOW_RESERVE"
        view = await api.session(empty.id)
        assert view["state"]["phase"] == "TERMINATED"
