"""Several server nodes on one PostgreSQL and one Redis (README, Several nodes).

Order is decided by the session's log, never by Redis: every client on every
node sees the same events in the same order, byte for byte; a node that missed
messages fills the gap from the log; a client whose node dies resumes on the
other without losing an acknowledged bid.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from clients.bidder import BidderClient
from tests.conftest import RedisServer, ServerProcess
from tests.e2e.helpers import WAN, Api, Qualified, Session, WsClient, accepted_bids, close_all


def event_frames(client: WsClient) -> list[str]:
    return [r for r in client.raw if isinstance(r, str) and json.loads(r).get("type") == "event"]


async def auction_on_two_nodes(
    server_factory: Callable[..., ServerProcess], redis: RedisServer, *, start_in: float, countdown: int,
    created_on_b: bool = False,
) -> tuple[ServerProcess, ServerProcess, Session]:
    """Nodes a and b on one database and one Redis, and an auction of two bidders created on one of them."""
    a = server_factory(REDIS_URL=redis.url)
    b = server_factory(REDIS_URL=redis.url)
    a.start()
    b.start()
    async with Api(b if created_on_b else a) as api:
        s = await api.auction(bidders=2, start_in=start_in, countdown=countdown)
    return a, b, s


async def joined(s: Session, *who: tuple[ServerProcess, Qualified | None]) -> list[WsClient]:
    """One connection per (node, bidder), in order: a watcher where the bidder is None."""
    return [await WsClient.join(node.ws, s.id, None if bidder is None else bidder.token) for node, bidder in who]


async def test_clients_on_two_nodes_see_the_same_events_byte_for_byte(
    server_factory: Callable[..., ServerProcess], redis_server: RedisServer
) -> None:
    a, b, s = await auction_on_two_nodes(server_factory, redis_server, start_in=1.5, countdown=30)
    x, y = s.bidders
    clients = await joined(s, (a, None), (b, None), (a, x), (b, y))
    watch_a, watch_b, bid_a, bid_b = clients
    try:
        await watch_b.wait_event("SessionOpened", timeout=5)
        amount = 100 * WAN
        for i in range(10):  # alternate nodes: each bid is decided where it arrives
            client = bid_a if i % 2 == 0 else bid_b
            reply = await client.bid(amount)
            assert reply["type"] == "ack", reply
            amount += WAN
        last = bid_b.welcome["seq"] + 11  # type: ignore[index]  # SessionOpened + 10 bids
        for c in clients:
            await c.wait_seq(last, timeout=5)
        frames = [event_frames(c) for c in clients]
        # The bidders joined after the watchers but before the open: all saw the same frames.
        assert frames[0] == frames[1] == frames[2] == frames[3]
        seqs = [json.loads(f)["seq"] for f in frames[0]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    finally:
        await close_all(*clients)


async def test_a_node_that_missed_messages_fills_the_gap_from_the_log(
    server_factory: Callable[..., ServerProcess], redis_server: RedisServer
) -> None:
    a, b, s = await auction_on_two_nodes(server_factory, redis_server, start_in=1.0, countdown=60)
    x, y = s.bidders
    watch_b, bid_a, bid_a2 = await joined(s, (b, None), (a, x), (a, y))
    try:
        opened = await watch_b.wait_event("SessionOpened", timeout=5)
        redis_server.stop()  # fan-out is gone; the log is not
        amounts = [100 * WAN, 101 * WAN, 102 * WAN]
        for client, amount in zip((bid_a, bid_a2, bid_a), amounts, strict=True):
            reply = await client.bid(amount)
            assert reply["type"] == "ack", reply  # committed: fan-out is not on the bid's path
        await asyncio.sleep(0.5)
        assert [e["seq"] for e in watch_b.events] == [opened["seq"]]  # missed, for now
        redis_server.start()  # the node resubscribes and re-checks its sessions against the log
        await watch_b.wait_seq(opened["seq"] + 3, timeout=15)
        got = [e for e in watch_b.events if e["event"] == "BidAccepted"]
        assert [e["data"]["amount_fen"] for e in got] == amounts
        seqs = [e["seq"] for e in watch_b.events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
    finally:
        await close_all(watch_b, bid_a, bid_a2)


async def test_a_bidder_fails_over_to_the_other_node_without_losing_a_bid(
    server_factory: Callable[..., ServerProcess], redis_server: RedisServer
) -> None:
    a, b, s = await auction_on_two_nodes(server_factory, redis_server, start_in=1.0, countdown=60, created_on_b=True)
    x, y = s.bidders
    client = BidderClient([a.ws, b.ws], s.id, x.token, max_backoff=0.5)
    rival = await WsClient.join(b.ws, s.id, y.token)
    await client.connect()
    try:
        await rival.wait_event("SessionOpened", timeout=5)
        first = await client.bid(100 * WAN)
        assert first["type"] == "ack", first
        a.kill()  # the bidder's node dies mid-session
        second = await rival.bid(101 * WAN)
        assert second["type"] == "ack", second
        third = await client.bid(102 * WAN, timeout=20)  # reconnects to b, resumes, bids
        assert third["type"] == "ack", third
        assert client.url == b.ws
        assert client.state["highest_fen"] == 102 * WAN  # it resumed: the rival's bid reached it too
        async with Api(b) as api:
            log = await api.events(s.id)
            verify = await api.verify(s.id)
        assert [e["amount"] for e in accepted_bids(log)] == [100 * WAN, 101 * WAN, 102 * WAN]
        assert verify["ok"], verify
    finally:
        await client.close()
        await rival.close()
