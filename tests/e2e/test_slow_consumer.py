"""A watcher that stops reading must not hold up the session or anyone else.

The server gives each connection a bounded queue of outgoing events
(AUCTION_WS_SEND_QUEUE). What a peer that stops reading experiences (measured
here): the server keeps writing into the socket until the kernel's buffers and
the transport's own write buffer (64 KiB) are full; then its writer for that
connection waits, the queue fills, the broker marks the subscription overflowed
and drops further events for it. The close frame (4008) cannot overtake the
data already queued in the socket, so the peer sees it when it reads again:
its welcome, the events that were in flight, then close 4008. It then resumes
with `last_seq` and gets every event it missed from the log. Meanwhile bids
are acknowledged at full speed and a watcher that reads normally is not
disturbed.

How much the kernel holds first depends on the connection: on loopback with
its ~64 KiB MSS Linux sizes the server's send buffer at ~4 MB, i.e. some 6,000
BidAccepted events before the queue can overflow; uvicorn's keepalive (ping
every 20 s, 20 s to answer) usually gives up on a silent peer before that. The non-reading
peer here therefore advertises a small MSS and receive buffer (`RawPeer`), so
a few hundred events fill everything in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, RawPeer, WsClient, close_all, wait_opened

BIDS = 1200  # with the small MSS, 300-550 events fill everything in between (measured)


@pytest.fixture
def small_queue_server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A server with a queue of 4 outgoing events per connection, where a bidder may outbid itself."""
    server = server_factory(AUCTION_WS_SEND_QUEUE="4", AUCTION_ALLOW_SELF_OUTBID="1")
    server.start()
    return server


async def test_watcher_that_does_not_read_is_closed_4008_and_resumes_without_loss(
    small_queue_server: ServerProcess,
) -> None:
    server = small_queue_server
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=2.0, countdown=120, increment=1)
        bidder = await WsClient.join(server.ws, s.id, s.bidders[0].token)
        reader = await WsClient.join(server.ws, s.id)  # a watcher that reads normally
        slow = RawPeer("127.0.0.1", server.port)
        await slow.connect()
        await slow.send({"type": "hello", "session_id": s.id})
        clients = [bidder, reader]
        try:
            await wait_opened(reader)
            assert reader.welcome is not None
            start_seq = reader.welcome["seq"]
            # From here on the slow watcher reads nothing. One bidder (self-outbidding
            # allowed here) pipelines many bids.
            ids = [f"b{i}" for i in range(BIDS)]
            for i, bid_id in enumerate(ids):
                await bidder.send({"type": "bid", "bid_id": bid_id, "amount_fen": 100 * WAN + i})
            acks = [await bidder.reply(timeout=30) for _ in ids]
            assert [a["type"] for a in acks] == ["ack"] * BIDS, [a for a in acks if a["type"] != "ack"][:3]
            assert [a["bid_id"] for a in acks] == ids
            final = acks[-1]["seq"]
            # Every bid was acked while the slow peer read nothing: it did not hold up the
            # bidding path (how long that took is the machine's business, not asserted).

            # The reading watcher got everything and is still connected.
            await reader.wait_seq(final, timeout=30)
            assert reader.event_seqs() == list(range(start_seq + 1, final + 1))
            assert not reader.closed.is_set()
            await reader.ping()

            # The slow watcher reads again: its welcome, the events in flight, then close 4008.
            code = await slow.read_until_closed(timeout=30)
            assert code == 4008, (code, len(slow.events))
            welcome = slow.messages[0]
            assert welcome["type"] == "welcome"
            got = [e["seq"] for e in slow.events]
            assert got == list(range(welcome["seq"] + 1, welcome["seq"] + 1 + len(got)))  # in order, no gap
            assert got[-1] < final, "the slow consumer was not cut off: nothing was dropped"

            # Resume from the last event it saw: the rest, from the log, exactly once.
            again = await WsClient.join(server.ws, s.id, last_seq=got[-1])
            clients.append(again)
            await again.wait_seq(final, timeout=30)
            assert again.event_seqs() == list(range(got[-1] + 1, final + 1))
            by_seq = {e["seq"]: e for e in reader.events}
            assert all(by_seq[e["seq"]] == e for e in slow.events + again.events)
            # The server is fine and the session goes on.
            health = await api.http.get("/healthz")
            assert health.status_code == 200
            ack = await bidder.bid(100 * WAN + BIDS)
            assert ack["type"] == "ack"
            await again.wait_seq(ack["seq"])
        finally:
            slow.close()
            await close_all(*clients)
            await api.post(f"/api/sessions/{s.id}/terminate", {"reason": "测试结束"})
        log = await api.events(s.id)
        assert sum(1 for e in log if e["type"] == "BidAccepted") == BIDS + 1
    assert "Traceback" not in server.log_text()


async def test_events_are_not_dropped_for_a_peer_that_keeps_up(small_queue_server: ServerProcess) -> None:
    """The same small queue, but every peer reads: nobody is cut off, nothing is lost."""
    server = small_queue_server
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.0, countdown=120, increment=1)
        watchers = [await WsClient.join(server.ws, s.id) for _ in range(5)]
        bidders = [await WsClient.join(server.ws, s.id, q.token) for q in s.bidders]
        try:
            await wait_opened(watchers[0])

            async def stream(client: WsClient, offset: int) -> list[int]:
                seqs = []
                for i in range(100):
                    reply = await client.bid(100 * WAN + 2 * i + offset + 1_000 * offset)
                    if reply["type"] == "ack":
                        seqs.append(reply["seq"])
                return seqs

            results = await asyncio.gather(stream(bidders[0], 0), stream(bidders[1], 1))
            final = max(max(r) for r in results)
            for w in watchers + bidders:
                await w.wait_seq(final, timeout=30)
                first = w.event_seqs()[0]
                assert w.event_seqs() == list(range(first, final + 1))
                assert not w.closed.is_set()
        finally:
            await close_all(*watchers, *bidders)
