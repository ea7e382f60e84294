"""Listing (挂牌) end to end, RULES 4: listing bids, timed bidding (限时竞价) when two
or more bidders bid during the listing, countdown restarted by each bid, close."""

from __future__ import annotations

import hashlib

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, sleep_until_us, wait_opened


def _names(client: WsClient) -> list[str]:
    return [e["event"] for e in client.events]


async def test_listing_goes_to_timed_bidding_and_sells_to_the_last_bidder(server: ServerProcess) -> None:
    """What each timed bid did to the countdown is read from its event and from the close,
    not from how long the test slept: each bid has the whole countdown to spare."""
    async with Api(server) as api:
        s = await api.listing(bidders=3, reserve=105 * WAN, start_in=2.5, listing_seconds=3.0, countdown=3)
        a, b, c = s.bidders
        listing_end = s.terms["listing_end_at_us"]
        countdown = s.terms["countdown_us"]
        assert countdown == 3_000_000

        watcher = await WsClient.join(server.ws, s.id)
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        cc = await WsClient.join(server.ws, s.id, c.token)
        clients = [watcher, ca, cb, cc]
        try:
            for client, who in ((watcher, None), (ca, a), (cb, b), (cc, c)):
                w = client.welcome
                assert w is not None
                assert w["role"] == ("watcher" if who is None else "bidder")
                assert w["bidder_no"] == (None if who is None else who.bidder_no)
                assert w["state"]["phase"] == "SCHEDULED"
                assert w["terms"]["has_reserve"] is True
                assert len(w["terms"]["reserve_commitment"]) == 64
                assert "reserve_fen" not in w["terms"]  # sealed until the close (RULES 2.3)
                assert not any("reserve" in key for key in w["state"])

            opened = await watcher.wait_event("SessionOpened", timeout=30)
            assert opened["data"] == {"phase": "LISTING", "deadline_us": listing_end, "has_reserve": True,
                                      "reserve_commitment": s.terms["reserve_commitment"]}  # N Art.15

            # Listing bids: the deadline does not move (RULES 4: the listing ends at its set time).
            acks = [await ca.bid(100 * WAN), await cb.bid(101 * WAN)]
            low = await ca.bid(101 * WAN)
            assert low["type"] == "reject" and low["code"] == "BELOW_MINIMUM"
            assert low["details"] == {"minimum": 102 * WAN}
            acks.append(await ca.bid(102 * WAN))
            assert [r["type"] for r in acks] == ["ack", "ack", "ack"], acks
            seen = await watcher.wait_seq(acks[-1]["seq"])
            assert seen["event"] == "BidAccepted"
            assert seen["data"] == {"bidder_no": a.bidder_no, "amount_fen": 102 * WAN, "deadline_us": listing_end}
            assert seen["state"]["min_next_fen"] == 103 * WAN

            # Two bidders bid during the listing: timed bidding starts exactly at the listing end.
            timed = await watcher.wait_event("TimedBiddingStarted", timeout=30)
            assert timed["at_us"] == listing_end
            assert timed["data"]["deadline_us"] == listing_end + countdown
            assert timed["state"]["phase"] == "TIMED_BIDDING"
            assert timed["state"]["highest_fen"] == 102 * WAN
            # c, qualified but silent through the listing, is not one of those who go on (RULES 4.4).
            silent = await cc.bid(103 * WAN)
            assert silent["type"] == "reject" and silent["code"] == "NOT_IN_TIMED_BIDDING", silent

            # Each timed bid restarts the countdown: its event's deadline is its own time plus
            # the countdown, past the deadline timed bidding started with.
            timed_acks = []
            for client, amount in ((cb, 103 * WAN), (ca, 104 * WAN), (cb, 105 * WAN)):
                reply = await client.bid(amount)
                assert reply["type"] == "ack", reply
                timed_acks.append(reply)
                event = await watcher.wait_seq(reply["seq"])
                assert event["event"] == "BidAccepted"
                assert event["data"]["deadline_us"] == reply["at_us"] + countdown
                assert event["state"]["deadline_us"] == reply["at_us"] + countdown
            deadlines = [r["at_us"] + countdown for r in timed_acks]
            assert deadlines == sorted(set(deadlines)) and deadlines[0] > listing_end + countdown

            # The holder of the highest bid cannot outbid themselves (default rule).
            self_bid = await cb.bid(106 * WAN)
            assert self_bid["type"] == "reject" and self_bid["code"] == "ALREADY_HIGHEST"

            last_deadline = timed_acks[-1]["at_us"] + countdown
            await sleep_until_us(last_deadline)
            closes = [await cl.wait_event("SessionClosed", timeout=30) for cl in clients]
            close = closes[0]
            # Stamped at the last restarted deadline, not when the timer ran nor at an earlier one.
            assert close["at_us"] == last_deadline
            outcome = close["data"]
            assert outcome["outcome"] == "SOLD" and outcome["reason"] == "SOLD"
            assert outcome["winner_bidder_no"] == b.bidder_no
            assert outcome["price_fen"] == 105 * WAN  # equal to the reserve: not below it, so sold
            assert outcome["reserve_fen"] == 105 * WAN
            commitment = hashlib.sha256(f"{outcome['reserve_fen']}:{outcome['reserve_salt']}".encode()).hexdigest()
            assert commitment == s.terms["reserve_commitment"]
            assert close["state"]["phase"] == "CLOSED"
            assert close["state"]["min_next_fen"] is None

            # Every connection saw the same events, gap-free, in order; nobody missed the close.
            expected = ["SessionOpened", "BidAccepted", "BidAccepted", "BidAccepted", "TimedBiddingStarted",
                        "BidAccepted", "BidAccepted", "BidAccepted", "SessionClosed"]
            for client in clients:
                assert client.welcome is not None
                first = client.welcome["seq"] + 1
                assert client.event_seqs() == list(range(first, first + len(expected))), client.event_seqs()
                assert _names(client) == expected
                assert [e for e in client.events] == watcher.events  # byte-identical content

            # Bids after the close are refused.
            late = await cc.bid(200 * WAN)
            assert late["type"] == "reject" and late["code"] == "SESSION_CLOSED"
        finally:
            await close_all(*clients)

        # The log holds exactly the acknowledged bids, in order; replay matches the projection.
        log = await api.events(s.id)
        bids = [e for e in log if e["type"] == "BidAccepted"]
        assert [(e["pub_seq"], e["data"]["amount"]) for e in bids] == [
            (r["seq"], r["amount_fen"]) for r in acks + timed_acks
        ]
        report = await api.verify(s.id)
        assert report["ok"] is True, report
        assert report["checks"] == {"seq_gap_free": True, "projection_matches": True,
                                    "reserve_matches_commitment": True}
        view = await api.session(s.id)
        assert view["state"]["phase"] == "CLOSED"
        assert view["state"]["outcome"]["winner_bidder_no"] == b.bidder_no


async def test_listing_with_one_bidder_sells_at_listing_end_without_timed_bidding(server: ServerProcess) -> None:
    async with Api(server) as api:
        sold = await api.listing(bidders=2, reserve=100 * WAN, start_in=2.0, listing_seconds=3.0)
        unsold = await api.listing(bidders=1, reserve=150 * WAN, start_in=2.0, listing_seconds=3.0)
        watcher = await WsClient.join(server.ws, sold.id)
        bidder = await WsClient.join(server.ws, sold.id, sold.bidders[0].token)
        other = await WsClient.join(server.ws, unsold.id, unsold.bidders[0].token)
        try:
            await wait_opened(bidder)
            await wait_opened(other)
            first = await bidder.bid(101 * WAN)
            second = await bidder.bid(110 * WAN)  # one bidder cannot raise its own highest bid
            assert first["type"] == "ack"
            assert second["type"] == "reject" and second["code"] == "ALREADY_HIGHEST"
            # The bidder's own retry of the same bid_id is idempotent (same ack, nothing new).
            retry = await bidder.bid(101 * WAN, bid_id=first["bid_id"])
            assert retry == first
            below = await other.bid(120 * WAN)
            assert below["type"] == "ack"

            end = sold.terms["listing_end_at_us"]
            close = await watcher.wait_event("SessionClosed", timeout=30)
            assert close["at_us"] == end
            assert close["data"]["outcome"] == "SOLD"
            assert close["data"]["winner_bidder_no"] == sold.bidders[0].bidder_no
            assert close["data"]["price_fen"] == 101 * WAN
            assert close["data"]["reserve_fen"] == 100 * WAN
            assert "TimedBiddingStarted" not in _names(watcher)
            assert _names(watcher) == ["SessionOpened", "BidAccepted", "SessionClosed"]
            assert (await bidder.wait_event("SessionClosed"))["data"] == close["data"]

            # One bidder below the reserve: not sold (流拍), reserve revealed.
            flop = await other.wait_event("SessionClosed", timeout=30)
            assert flop["at_us"] == unsold.terms["listing_end_at_us"]
            assert flop["data"]["outcome"] == "UNSOLD" and flop["data"]["reason"] == "BELOW_RESERVE"
            assert flop["data"]["winner_bidder_no"] is None and flop["data"]["price_fen"] is None
            assert flop["data"]["reserve_fen"] == 150 * WAN
        finally:
            await close_all(watcher, bidder, other)
        for sid in (sold.id, unsold.id):
            report = await api.verify(sid)
            assert report["ok"] is True, report
        log = await api.events(sold.id)
        assert [e["data"]["amount"] for e in log if e["type"] == "BidAccepted"] == [101 * WAN]
