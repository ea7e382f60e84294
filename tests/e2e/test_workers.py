"""`auction serve --workers 2`: two server processes on one port (README, Several processes on one host).

The kernel spreads the connections over the workers (SO_REUSEPORT); each test
puts its clients on the worker it wants by reconnecting until the connection
lands there (which worker holds a connection is read from the workers' sockets).
Order is still the session log's: bids taken by either worker are acknowledged
in one order and every watcher, on either worker, sees every event.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil

from loadtests.harness import ROOT
from tests.conftest import RedisServer, ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, accepted_bids, close_all, wait_until
from tests.e2e.test_two_nodes import event_frames


def holder(server: ServerProcess, client: WsClient) -> int | None:
    """The worker whose socket is the other end of the client's connection."""
    port = client.ws.local_address[1]
    for pid in server.worker_pids():
        try:
            if any(c.raddr and c.raddr.port == port for c in psutil.Process(pid).net_connections("tcp")):
                return pid
        except psutil.Error:
            pass
    return None


def gone(pid: int) -> bool:
    """The process has exited (its sockets are closed), reaped or not."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def on_worker(server: ServerProcess, pid: int, session_id: str, token: str | None = None) -> WsClient:
    """A client connected to worker `pid`: connect until the kernel puts the connection there."""
    for _ in range(60):  # each attempt lands on either worker: 60 misses in a row do not happen
        client = await WsClient.open(server.ws)
        if holder(server, client) == pid:
            reply = await client.hello(session_id, token)
            assert reply["type"] == "welcome", reply
            return client
        await client.close()
    raise AssertionError(f"no connection landed on worker {pid}")


def two_workers(server_factory: Callable[..., ServerProcess], redis: RedisServer) -> ServerProcess:
    server = server_factory(REDIS_URL=redis.url)
    server.workers = 2
    server.start()  # returns once both workers listen
    return server


async def test_two_workers_on_one_port_take_bids_in_one_order_and_survive_a_sigkill(
    server_factory: Callable[..., ServerProcess], redis_server: RedisServer
) -> None:
    server = two_workers(server_factory, redis_server)
    first, second = server.worker_pids()
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=60)
    x, y = s.bidders
    watch_1 = await on_worker(server, first, s.id)
    watch_2 = await on_worker(server, second, s.id)
    bid_1 = await on_worker(server, first, s.id, x.token)
    bid_2 = await on_worker(server, second, s.id, y.token)
    clients = [watch_1, watch_2, bid_1, bid_2]
    try:
        await wait_until(lambda: all(c.welcome["state"]["phase"] == "AUCTION"  # type: ignore[index]
                                     or any(e["event"] == "SessionOpened" for e in c.events) for c in clients),
                         timeout=60, what="the auction open")
        joined = max(c.welcome["seq"] for c in clients)  # type: ignore[index]
        amounts = [(100 + i) * WAN for i in range(10)]
        for i, amount in enumerate(amounts):  # alternate workers: each bid is decided where it arrives
            reply = await (bid_1 if i % 2 == 0 else bid_2).bid(amount)
            assert reply["type"] == "ack", reply
        # The last bid's place. An ack may come before the other worker's connections have its
        # event (it reaches them over Redis, after the commit), so each client is waited for.
        last = reply["seq"]
        for c in clients:
            await c.wait_seq(last, timeout=30)
        frames = [[f for f in event_frames(c) if json.loads(f)["seq"] > joined] for c in clients]
        # Every client saw every frame since the last of them joined, the same bytes in the same order.
        assert frames[0] == frames[1] == frames[2] == frames[3]
        seqs = [json.loads(f)["seq"] for f in frames[0]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))

        os.kill(first, signal.SIGKILL)  # a worker dies mid-session with its connections
        await watch_1.wait_closed(timeout=30)
        await wait_until(lambda: gone(first), timeout=30, what="the killed worker gone")
        again = await WsClient.join(server.ws, s.id, x.token)  # the bidder reconnects: a live worker takes it
        clients.append(again)
        assert again.welcome["state"]["highest_fen"] == amounts[-1]  # type: ignore[index]
        reply = await again.bid(110 * WAN)
        assert reply["type"] == "ack", reply
        reply = await bid_2.bid(111 * WAN)  # the other worker went on serving its connections
        assert reply["type"] == "ack", reply
        await watch_2.wait_seq(reply["seq"], timeout=30)

        async with Api(server) as api:
            log = await api.events(s.id)
            verify = await api.verify(s.id)
        assert [e["amount"] for e in accepted_bids(log)] == [*amounts, 110 * WAN, 111 * WAN]  # none lost
        assert verify["ok"], verify
        # The parent starts a new worker in the dead one's place.
        await wait_until(lambda: len(server.worker_pids()) == 2 and first not in server.worker_pids(),
                         timeout=120, what="a second worker again")
    finally:
        await close_all(*clients)


def test_several_workers_need_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["AUCTION_DATA_DIR"] = str(tmp_path / "var")
    done = subprocess.run([sys.executable, "-m", "auction.cli", "serve", "--workers", "2"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "REDIS_URL" in done.stderr, done.stderr
    assert not (tmp_path / "var").exists()  # refused before anything started
