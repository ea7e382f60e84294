"""Resuming after a lost connection: `hello` with `last_seq` gets every public
event after it, in order, from the log, then live events: no gap, no duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

from clients.bidder import BidderClient
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened, wait_until


def _by_seq(client: WsClient) -> dict[int, dict[str, Any]]:
    return {e["seq"]: e for e in client.events}


async def test_reconnect_with_last_seq_gets_exactly_the_missed_events(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=60)
        a, b = s.bidders
        steady = await WsClient.join(server.ws, s.id)  # never disconnects: the reference
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        clients = [steady, ca, cb]
        try:
            await wait_opened(steady)
            assert (await ca.bid(100 * WAN))["type"] == "ack"
            r2 = await cb.bid(101 * WAN)
            assert r2["type"] == "ack"
            await ca.wait_seq(r2["seq"])
            last_seq = ca.event_seqs()[-1]
            assert last_seq == r2["seq"]
            await ca.close()  # bidder A drops out

            refused = await cb.bid(102 * WAN)  # B may not outbid itself: refused, nothing written
            assert refused["type"] == "reject" and refused["code"] == "ALREADY_HIGHEST"
            r = await api.post(f"/api/sessions/{s.id}/increment", {"increment_fen": 2 * WAN, "reason": "主持人调整"})
            assert r.status_code == 200, r.text
            assert r.json()["state"]["increment_fen"] == 2 * WAN
            missed = [r.json()["seq"]]
            other = await WsClient.join(server.ws, s.id, a.token)  # A on another device bids meanwhile
            clients.append(other)
            ack = await other.bid(103 * WAN)
            assert ack["type"] == "ack"
            missed.append(ack["seq"])
            ack = await cb.bid(105 * WAN)
            assert ack["type"] == "ack"
            missed.append(ack["seq"])
            await steady.wait_seq(missed[-1])
            assert missed == list(range(last_seq + 1, last_seq + 4))

            back = await WsClient.join(server.ws, s.id, a.token, last_seq=last_seq)
            clients.append(back)
            assert back.welcome is not None
            assert back.welcome["seq"] == missed[-1]
            assert back.welcome["state"]["highest_fen"] == 105 * WAN
            assert [m["amount_fen"] for m in back.welcome["my_bids"]] == [100 * WAN, 103 * WAN]
            await back.wait_seq(missed[-1])
            reference = _by_seq(steady)
            assert back.event_seqs() == missed
            assert back.events == [reference[q] for q in missed]  # identical content, in order
            assert [e["event"] for e in back.events] == ["IncrementChanged", "BidAccepted", "BidAccepted"]
            # Nothing was sent before the welcome, and the welcome comes first.
            assert back.messages[0]["type"] == "welcome"

            # Then live events continue without a gap or a duplicate. B's later bid is the
            # barrier: events come in order, so anything doubled would show before it.
            ack = await back.bid(107 * WAN)
            assert ack["type"] == "ack"
            ack = await cb.bid(109 * WAN)
            assert ack["type"] == "ack"
            await back.wait_seq(ack["seq"])
            assert back.event_seqs() == list(range(last_seq + 1, ack["seq"] + 1))

            # From the beginning: last_seq 0 replays the whole public log (SessionCreated is seq 1).
            full = await WsClient.join(server.ws, s.id, last_seq=0)
            clients.append(full)
            await full.wait_seq(ack["seq"])
            assert full.event_seqs() == list(range(1, ack["seq"] + 1))
            assert full.events[0]["event"] == "SessionCreated"
            await steady.wait_seq(ack["seq"])
            reference = _by_seq(steady)
            assert [e for e in full.events if e["seq"] in reference] == [reference[q] for q in sorted(reference)]

            # A last_seq ahead of the log is refused; so is one of the wrong type.
            ahead = await WsClient.open(server.ws)
            clients.append(ahead)
            reply = await ahead.hello(s.id, last_seq=ack["seq"] + 5)
            assert reply["type"] == "error" and reply["code"] == "RESUME_GAP_TOO_LARGE"
            assert reply["details"] == {"last_seq": ack["seq"] + 5, "seq": ack["seq"]}
            assert (await ahead.wait_closed())[0] == 4001
            for bad in (-1, "3", 2.0, True):
                conn = await WsClient.open(server.ws)
                clients.append(conn)
                reply = await conn.hello(s.id, last_seq=bad)
                assert reply["type"] == "error" and reply["code"] == "INVALID_FIELD", (bad, reply)
                assert reply["details"] == {"field": "last_seq"}
                assert (await conn.wait_closed())[0] == 4001
        finally:
            await close_all(*clients)
        # A private event (qualification) never shows among public seqs; the log has every pub_seq once.
        log = await api.events(s.id)
        pub = [e["pub_seq"] for e in log if e["pub_seq"] is not None]
        assert pub == list(range(1, len(pub) + 1))
        assert all(e["pub_seq"] is None for e in log if e["type"] == "BidderQualified")


async def test_resume_while_bids_stream_in_has_no_gap_and_no_duplicate(server: ServerProcess) -> None:
    """Connections resuming from various points while bids keep coming: the log replay
    hands over to live events with nothing lost or doubled."""
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=60)
        a, b = s.bidders
        steady = await WsClient.join(server.ws, s.id)
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        clients = [steady, ca, cb]
        try:
            await wait_opened(steady)
            total = 60

            # Every `every` acks, a connection resumes from somewhere in the past while the
            # stream goes on (it does not wait for the join): the number of resumers is
            # fixed by the count of bids, not by how fast the machine runs them.
            every = 6
            joins: list[tuple[int, asyncio.Task[WsClient]]] = []

            async def bid_stream() -> list[int]:
                seqs = []
                for i in range(total):
                    reply = await (ca if i % 2 == 0 else cb).bid((100 + i) * WAN)
                    assert reply["type"] == "ack", reply
                    seqs.append(reply["seq"])
                    if len(seqs) % every == 0 and len(seqs) < total:
                        from_seq = seqs[len(seqs) // 2]
                        joins.append((from_seq, asyncio.create_task(
                            WsClient.join(server.ws, s.id, last_seq=from_seq))))
                return seqs

            try:
                seqs = await bid_stream()
            finally:
                joined = await asyncio.gather(*(task for _, task in joins), return_exceptions=True)
                clients += [c for c in joined if isinstance(c, WsClient)]
            resumers = [(from_seq, c) for (from_seq, _), c in zip(joins, joined, strict=True)
                        if isinstance(c, WsClient)]
            assert len(resumers) == len(joins) == (total - 1) // every, joined
            final = seqs[-1]
            for from_seq, client in resumers:
                await client.wait_seq(final)
                assert client.event_seqs() == list(range(from_seq + 1, final + 1)), from_seq
            await steady.wait_seq(final)
            reference = _by_seq(steady)
            for _, client in resumers:
                assert all(e == reference[e["seq"]] for e in client.events)
        finally:
            await close_all(*clients)
            await api.post(f"/api/sessions/{s.id}/terminate", {"reason": "测试结束"})


async def test_bidder_client_reconnects_resumes_and_never_places_a_bid_twice(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=60)
        a, b = s.bidders
        other = await WsClient.join(server.ws, s.id, b.token)
        client = BidderClient(server.ws, s.id, a.token, max_backoff=0.5)
        welcome = await client.connect()
        try:
            assert welcome["bidder_no"] == a.bidder_no
            first = await client.next_event(timeout=30)
            assert first["event"] == "SessionOpened"
            assert (await client.bid(100 * WAN))["type"] == "ack"
            assert (await other.bid(101 * WAN))["type"] == "ack"

            # The network drops (no close handshake); B bids while A is away.
            client._ws.transport.abort()
            missed = await other.bid(102 * WAN)
            assert missed["type"] == "reject" and missed["code"] == "ALREADY_HIGHEST"
            r = await api.post(f"/api/sessions/{s.id}/increment", {"increment_fen": 5 * WAN, "reason": "调整"})
            assert r.status_code == 200

            # A bids while still disconnected: the bid goes out after the reconnect, once.
            reply = await client.bid(106 * WAN, bid_id="a-106", timeout=30)
            assert reply["type"] == "ack", reply

            # A bid whose connection dies right after sending: re-sent with the same bid_id.
            b111 = await other.bid(111 * WAN)
            assert b111["type"] == "ack"
            await wait_until(lambda: client.seq is not None and client.seq >= b111["seq"], what="A sees B's bid")
            pending = asyncio.create_task(client.bid(116 * WAN, bid_id="a-116", timeout=30))
            # One turn of the loop: the task runs first (it was scheduled first) and sends the
            # bid; no answer can be read before the I/O poll that follows, so the bid is in
            # flight when the connection dies, however fast or slow the machine.
            await asyncio.sleep(0)
            assert "a-116" in client._pending
            client._ws.transport.abort()
            reply2 = await pending
            assert reply2["type"] == "ack", reply2

            # The broadcast of the last bid may trail its ack.
            await wait_until(lambda: client.seq is not None and client.seq >= reply2["seq"], what="the last event")
            events = []
            while not client._events.empty():
                events.append(client._events.get_nowait())
            seen = [first["seq"]] + [e["seq"] for e in events]
            assert seen == list(range(first["seq"], seen[-1] + 1)), seen  # gap-free, no duplicate
            assert client.seq == reply2["seq"]
            assert client.state["highest_fen"] == 116 * WAN
        finally:
            await client.close()
            await other.close()
        log = await api.events(s.id)
        bid_ids = [e["data"]["bid_id"] for e in log if e["type"] == "BidAccepted"]
        assert bid_ids.count("a-106") == 1 and bid_ids.count("a-116") == 1
        assert len(bid_ids) == 5
