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
