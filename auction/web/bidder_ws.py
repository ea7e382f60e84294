"""The bidder and watcher WebSocket endpoint, `/ws` (docs/protocol.md).

One connection follows one session. It says `hello` first (with a bidder token
to bid, without one to watch); gets a `welcome` snapshot; with `last_seq` it
first gets every public event it missed, from the log, in order; then live
events. Bids are answered with `ack` (after commit) or `reject` (nothing
written). Errors never close the connection except where documented.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from auction.domain.codes import MESSAGES, Code, Rejected
from auction.domain.commands import PlaceBid
from auction.domain.session import SessionState, evolve
from auction.fanout.broker import Message, Subscription
from auction.protocol import PROTOCOL_VERSION, dumps, event_message, state_view, storable_text, terms_view
from auction.service import SessionService, now_us
from auction.settings import Settings
from auction.store.events import to_micros

log = logging.getLogger(__name__)

# Close codes (docs/protocol.md)
CLOSE_AUTH_FAILED = 4001
CLOSE_UNKNOWN_SESSION = 4004
CLOSE_SLOW_CONSUMER = 4008
CLOSE_HELLO_TIMEOUT = 4010
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL = 1011


@dataclass
class Peer:
    session_id: str
    bidder_no: int | None  # None for a watcher
    last_sent: int  # public seq
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one frame at a time from reader and writer

    async def send(self, ws: WebSocket, text: str) -> None:
        async with self.lock:
            await ws.send_text(text)


def _error(code: Code, detail: str = "", **details: Any) -> str:
    message = MESSAGES[code] + (f": {detail}" if detail else "")
    return dumps({"type": "error", "code": code.value, "message": message, "details": details})


def _parse(raw: str | bytes | None) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise Rejected(Code.MALFORMED_JSON, "send text frames with JSON objects")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        raise Rejected(Code.MALFORMED_JSON) from None
    if not isinstance(message, dict):
        raise Rejected(Code.MALFORMED_JSON, "expected a JSON object")
    if not isinstance(message.get("type"), str):
        raise Rejected(Code.INVALID_FIELD, "type must be a string", field="type")
    return message


class BidderEndpoint:
    """The ASGI endpoint: one `BidderConnection` per WebSocket."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connections = 0

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        self.connections += 1
        try:
            await BidderConnection(self.settings, ws.state.service)._serve(ws)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("websocket connection failed")
            await _close(ws, CLOSE_INTERNAL, "internal error")
        finally:
            self.connections -= 1


class BidderConnection:
    def __init__(self, settings: Settings, service: SessionService) -> None:
        self.settings = settings
        self.service = service

    async def _receive(self, ws: WebSocket) -> str | bytes | None:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        return message.get("text") if message.get("text") is not None else message.get("bytes")

    async def _serve(self, ws: WebSocket) -> None:
        try:
            raw = await asyncio.wait_for(self._receive(ws), self.settings.hello_timeout_seconds)
        except TimeoutError:
            await ws.send_text(_error(Code.NOT_AUTHENTICATED, "no hello in time"))
            await _close(ws, CLOSE_HELLO_TIMEOUT, "hello timeout")
            return
        try:
            hello = _parse(raw)
            if hello["type"] != "hello":
                raise Rejected(Code.NOT_AUTHENTICATED)
            peer = await self._authenticate(hello)
        except Rejected as r:
            await ws.send_text(dumps({"type": "error", **r.rejection.to_dict()}))
            code = CLOSE_UNKNOWN_SESSION if r.code is Code.UNKNOWN_SESSION else CLOSE_AUTH_FAILED
            await _close(ws, code, r.code.value)
            return
        last_seq = hello.get("last_seq")
        sub = self.service.broker.subscribe(peer.session_id, self.settings.ws_send_queue)
        try:
            state = await self.service.state(peer.session_id)
            if last_seq is not None and last_seq > state.pub_seq:
                await peer.send(ws, _error(Code.RESUME_GAP_TOO_LARGE, last_seq=last_seq, seq=state.pub_seq))
                await _close(ws, CLOSE_AUTH_FAILED, Code.RESUME_GAP_TOO_LARGE.value)
                return
            await peer.send(ws, self._welcome(peer, state))
            if last_seq is not None:
                peer.last_sent = last_seq
                await self._fill(ws, peer, upto=None)
            else:
                peer.last_sent = state.pub_seq
            writer = asyncio.create_task(self._write(ws, peer, sub))
            heart = asyncio.create_task(self._heartbeat(ws, peer))
            try:
                await self._read(ws, peer)
            finally:
                writer.cancel()
                heart.cancel()
                await asyncio.gather(writer, heart, return_exceptions=True)
        finally:
            self.service.broker.unsubscribe(sub)

    async def _authenticate(self, hello: dict[str, Any]) -> Peer:
        session_id = hello.get("session_id")
        if not isinstance(session_id, str) or not session_id or not storable_text(session_id):
            raise Rejected(Code.INVALID_FIELD, "session_id must be a string", field="session_id")
        last_seq = hello.get("last_seq")
        if last_seq is not None and (type(last_seq) is not int or last_seq < 0):
            raise Rejected(Code.INVALID_FIELD, "last_seq must be a whole number >= 0", field="last_seq")
        token = hello.get("token")
        if not await self.service.store.exists(session_id):
            raise Rejected(Code.UNKNOWN_SESSION, session_id=session_id)
        if token is None:
            return Peer(session_id, None, 0)
        if not isinstance(token, str) or not 16 <= len(token) <= 200 or not storable_text(token):
            raise Rejected(Code.INVALID_TOKEN)
        row = await self.service.store.pool.fetchrow(
            "SELECT session_id, bidder_no, expires_at FROM bidders WHERE token_hash = $1",
            hashlib.sha256(token.encode()).digest(),
        )
        if row is None or to_micros(row["expires_at"]) <= now_us():
            raise Rejected(Code.INVALID_TOKEN)
        if row["session_id"] != session_id:
            raise Rejected(Code.WRONG_SESSION)
        return Peer(session_id, int(row["bidder_no"]), 0)

    def _welcome(self, peer: Peer, state: SessionState) -> str:
        mine = []
        if peer.bidder_no is not None:
            mine = [
                {"bid_id": b.bid_id, "seq": b.pub_seq, "amount_fen": b.amount, "at_us": b.at}
                for (bidder, _), b in sorted(state.accepted.items(), key=lambda kv: kv[1].seq)
                if bidder == peer.bidder_no
            ]
        return dumps(
            {
                "type": "welcome",
                "protocol": PROTOCOL_VERSION,
                "role": "bidder" if peer.bidder_no is not None else "watcher",
                "bidder_no": peer.bidder_no,
                "server_time_us": now_us(),
                "seq": state.pub_seq,
                "terms": terms_view(state),
                "state": state_view(state),
                "my_bids": mine,
            }
        )

    async def _fill(self, ws: WebSocket, peer: Peer, upto: int | None) -> None:
        """Send public events after `peer.last_sent` from the log (resume, or a gap)."""
        all_events = await self.service.store.load(peer.session_id)
        state = SessionState()
        for r in all_events:
            state = evolve(state, r.event)
            if r.pub_seq is None or r.pub_seq <= peer.last_sent:
                continue
            if upto is not None and r.pub_seq > upto:
                break
            await peer.send(ws, event_message(peer.session_id, r.pub_seq, r.event, state))
            peer.last_sent = r.pub_seq

    async def _write(self, ws: WebSocket, peer: Peer, sub: Subscription) -> None:
        while True:
            message: Message | None = await sub.queue.get()
            if message is None or sub.overflowed:
                await _close(ws, CLOSE_SLOW_CONSUMER, "slow consumer: reconnect with last_seq")
                return
            if message.seq <= peer.last_sent:
                continue  # already sent (replayed from the log)
            if message.seq > peer.last_sent + 1:
                await self._fill(ws, peer, upto=message.seq - 1)  # a gap: the log fills it
            await peer.send(ws, message.text)
            peer.last_sent = message.seq

    async def _heartbeat(self, ws: WebSocket, peer: Peer) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            await peer.send(ws, dumps({"type": "heartbeat", "server_time_us": now_us(), "seq": peer.last_sent}))

    async def _read(self, ws: WebSocket, peer: Peer) -> None:
        while True:
            raw = await self._receive(ws)
            try:
                message = _parse(raw)
                kind = message["type"]
                if kind == "bid":
                    reply = await self._bid(peer, message)
                elif kind == "ping":
                    reply = dumps({"type": "pong", "server_time_us": now_us(), "nonce": message.get("nonce")})
                elif kind == "hello":
                    raise Rejected(Code.ALREADY_AUTHENTICATED)
                else:
                    raise Rejected(Code.UNKNOWN_TYPE, type=kind[:40])
            except Rejected as r:
                reply = dumps({"type": "error", **r.rejection.to_dict()})
            await peer.send(ws, reply)

    async def _bid(self, peer: Peer, message: dict[str, Any]) -> str:
        bid_id = message.get("bid_id")
        try:
            if peer.bidder_no is None:
                raise Rejected(Code.WATCHER_CANNOT_BID)
            if not isinstance(bid_id, str):
                raise Rejected(Code.INVALID_BID_ID)
            session_id = message.get("session_id", peer.session_id)
            if session_id != peer.session_id:
                raise Rejected(Code.WRONG_SESSION)
            if "amount_fen" not in message:
                raise Rejected(Code.INVALID_FIELD, "amount_fen is required", field="amount_fen")
            amount = message["amount_fen"]
            if type(amount) is not int:
                raise Rejected(Code.INVALID_AMOUNT, "amount_fen must be a JSON integer of fen")
            try:
                result = await self.service.execute(peer.session_id, PlaceBid(peer.bidder_no, bid_id, amount))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.exception("bid %s on %s: database error", bid_id, peer.session_id)
                raise Rejected(Code.SERVICE_UNAVAILABLE) from None
        except Rejected as r:
            return dumps({"type": "reject", "bid_id": bid_id if isinstance(bid_id, str) else None,
                          **r.rejection.to_dict()})
        bid = result.state.accepted[(peer.bidder_no, bid_id)]
        return dumps({"type": "ack", "bid_id": bid_id, "seq": bid.pub_seq, "amount_fen": bid.amount,
                      "at_us": bid.at})


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state != WebSocketState.DISCONNECTED:
        try:
            await ws.close(code, reason)
        except (RuntimeError, OSError):
            pass
