"""Under `auction serve` a `/ws` connection leaves the ASGI call right after its
handshake and lives on in the same task (`continue_after_app`,
auction/entrypoints/http/uvicorn_protocols.py), with uvicorn's receive queue and
writable flag replaced by small stand-ins (lean_ws.py). The connection must
behave exactly as before: bids and events both ways, pings, and on a graceful
shutdown the close code 1012 (docs/protocol.md) without an error in the log."""

from __future__ import annotations

import asyncio

from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened


async def test_connections_live_on_after_the_asgi_call_and_close_1012_at_shutdown(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=60)
    clients = list(await asyncio.gather(WsClient.join(server.ws, s.id),
                                        *(WsClient.join(server.ws, s.id, b.token) for b in s.bidders)))
    watcher, ca, cb = clients
    try:
        await wait_opened(watcher)
        first = await ca.bid(100 * WAN)
        assert first["type"] == "ack"
        second = await cb.bid(101 * WAN)
        assert second["type"] == "ack"
        for c in clients:  # the same events, in order, to everyone
            await c.wait_seq(second["seq"])
        seqs = watcher.event_seqs()
        assert seqs == sorted(seqs) and seqs[-1] == second["seq"]
        assert ca.event_seqs() == cb.event_seqs() == seqs
        assert (await watcher.ping())["type"] == "pong"

        await asyncio.to_thread(server.stop)  # SIGINT: uvicorn's graceful shutdown
        for c in clients:
            await asyncio.wait_for(c.closed.wait(), 60)
        assert {c.close_code for c in clients} == {1012}
        log = server.log_text()
        assert "Exception in ASGI application" not in log and " ERROR " not in log, log[-3000:]
    finally:
        await close_all(*clients)


async def test_frames_sent_all_at_once_are_answered_each_in_order(server: ServerProcess) -> None:
    """The server reads ahead of the app up to a few messages and then stops reading the socket
    until the app catches up (READ_AHEAD in uvicorn_protocols.py): a client that pipelines many
    frames without waiting gets every answer, in the order of its frames, and reads on after."""
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=60)
    watcher = await WsClient.join(server.ws, s.id)
    bidder = await WsClient.join(server.ws, s.id, s.bidders[0].token)
    try:
        await wait_opened(watcher)
        frames: list[dict[str, object]] = []
        for i in range(12):
            frames.append({"type": "bid", "bid_id": f"pipelined-{i}", "amount_fen": (100 + i) * WAN})
            frames.append({"type": "ping", "nonce": f"n{i}"})
        await asyncio.gather(*(bidder.send(f) for f in frames))  # written back to back, no answer awaited
        replies = [await bidder.reply() for _ in frames]
        assert [r.get("bid_id") or r.get("nonce") for r in replies] == [f.get("bid_id") or f.get("nonce")
                                                                       for f in frames]
        # The first bid wins; the others come from the bidder who now holds the highest bid
        # (ALREADY_HIGHEST, docs/protocol.md).
        assert [r["type"] for r in replies] == ["ack", "pong"] + ["reject", "pong"] * 11, replies
        assert {r["code"] for r in replies if r["type"] == "reject"} == {"ALREADY_HIGHEST"}
        ack = replies[0]
        await watcher.wait_seq(ack["seq"])
        assert (await bidder.ping())["type"] == "pong"
        bids = [e for e in watcher.events if e["event"] == "BidAccepted"]
        assert [(e["seq"], e["data"]["amount_fen"]) for e in bids] == [(ack["seq"], 100 * WAN)]
    finally:
        await close_all(watcher, bidder)
