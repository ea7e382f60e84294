"""The fan-out limit of this hardware: a bare `websockets` server, no framework,
no database, the same messages.

    python -m loadtests.bare_ws_server --pool pool.json --port 8765

It speaks the subset of docs/protocol.md the load test uses, with messages of
the same shape and size as the real server's: `hello` -> `welcome`; `bid` ->
`ack` or `reject` (BELOW_MINIMUM / ALREADY_HIGHEST), decided in memory, and
each accepted bid broadcast as a `BidAccepted` event to every connection
following the session with `websockets.broadcast` (one frame written per
connection, no task per message). Each accepted bid restarts the session's
countdown as the real auction does. Nothing is written anywhere: what this
server reaches is what the hardware, Python and the `websockets` library allow
for the same messages to the same number of connections.

Bound to 127.0.0.1 only; `--max-seconds` (default 900) ends it whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from loadtests.watchers import raise_fd_limit


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class Session:
    session_id: str
    start_price: int
    increment: int
    countdown_us: int
    tokens: dict[str, int]  # token -> bidder_no
    seq: int = 1
    highest: int | None = None
    highest_bidder_no: int | None = None
    bid_count: int = 0
    opened_at: int = field(default_factory=now_us)
    deadline: int = 0
    followers: set[ServerConnection] = field(default_factory=set)
    bid_ids: set[tuple[int, str]] = field(default_factory=set)

    @property
    def min_next(self) -> int:
        return self.start_price if self.highest is None else self.highest + self.increment

    def state(self) -> dict[str, Any]:
        return {"phase": "AUCTION", "highest_fen": self.highest, "highest_bidder_no": self.highest_bidder_no,
                "min_next_fen": self.min_next, "increment_fen": self.increment, "opens_at_us": self.opened_at,
                "deadline_us": self.deadline, "resume_at_us": None, "bid_count": self.bid_count}


class BareServer:
    def __init__(self, pool: dict[str, Any], countdown_s: float) -> None:
        self.sessions: dict[str, Session] = {}
        for s in pool["sessions"]:
            session = Session(s["session_id"], int(s.get("start_price_fen", 100_000_000)),
                              int(s.get("increment_fen", 100)), int(countdown_s * 1_000_000),
                              {b["token"]: int(b["bidder_no"]) for b in s["bidders"]})
            session.deadline = now_us() + session.countdown_us
            self.sessions[session.session_id] = session
        self.connections = 0

    async def handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        session: Session | None = None
        try:
            hello = json.loads(await ws.recv())
            session = self.sessions.get(hello.get("session_id"))
            if session is None:
                await ws.send(dumps({"type": "error", "code": "UNKNOWN_SESSION"}))
                await ws.close(4004)
                return
            bidder_no = session.tokens.get(hello["token"]) if hello.get("token") else None
            await ws.send(dumps({"type": "welcome", "protocol": 1,
                                 "role": "bidder" if bidder_no is not None else "watcher",
                                 "bidder_no": bidder_no, "server_time_us": now_us(), "seq": session.seq,
                                 "terms": {"session_id": session.session_id}, "state": session.state(),
                                 "my_bids": []}))
            session.followers.add(ws)
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "bid" and bidder_no is not None:
                    await ws.send(self.bid(session, bidder_no, message))
                elif message.get("type") == "ping":
                    await ws.send(dumps({"type": "pong", "server_time_us": now_us(), "nonce": message.get("nonce")}))
        except (ConnectionClosed, ValueError, KeyError):
            pass
        finally:
            self.connections -= 1
            if session is not None:
                session.followers.discard(ws)

    def bid(self, s: Session, bidder_no: int, message: dict[str, Any]) -> str:
        bid_id = message.get("bid_id")
        amount = message.get("amount_fen")
        if type(amount) is not int or amount < s.min_next:
            return dumps({"type": "reject", "bid_id": bid_id, "code": "BELOW_MINIMUM",
                          "message": "below the minimum", "details": {"minimum": s.min_next}})
        if s.highest_bidder_no == bidder_no:
            return dumps({"type": "reject", "bid_id": bid_id, "code": "ALREADY_HIGHEST",
                          "message": "already the highest", "details": {}})
        at = now_us()
        s.seq += 1
        s.highest, s.highest_bidder_no = amount, bidder_no
        s.bid_count += 1
        s.deadline = at + s.countdown_us
        event = dumps({"type": "event", "session_id": s.session_id, "seq": s.seq, "event": "BidAccepted",
                       "at_us": at, "data": {"bidder_no": bidder_no, "amount_fen": amount, "deadline_us": s.deadline},
                       "state": s.state()})
        broadcast(s.followers, event)
        return dumps({"type": "ack", "bid_id": bid_id, "seq": s.seq, "amount_fen": amount, "at_us": at})


async def main_async(args: argparse.Namespace) -> None:
    with open(args.pool) as f:
        pool = json.load(f)
    raise_fd_limit(65536)
    server = BareServer(pool, args.countdown)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(args.max_seconds, stop.set)
    # No compression (the real server negotiates none either), keepalive as uvicorn's.
    async with serve(server.handle, "127.0.0.1", args.port, compression=None, ping_interval=20, ping_timeout=20,
                     max_size=8 * 1024, backlog=4096):
        print(f"bare websockets server on ws://127.0.0.1:{args.port}/ws", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bare_ws_server", description=__doc__.splitlines()[0])
    parser.add_argument("--pool", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--countdown", type=float, default=3600.0, help="seconds; restarted by each accepted bid")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    if args.no_uvloop:
        asyncio.run(main_async(args))
    else:
        import uvloop

        uvloop.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
