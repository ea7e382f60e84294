"""The bidder and watcher WebSocket endpoint, `/ws` (docs/protocol.md).

One connection follows one session. It says `hello` first (with a bidder token
to bid, without one to watch); gets a `welcome` snapshot; with `last_seq` it
first gets every public event it missed, from the log, in order; then live
events. Bids are answered with `ack` (after commit) or `reject` (nothing
written). Errors never close the connection except where documented.

Sending: each public event's frame is built once (`Message.frame`) and, when
the connection can take it at once (caught up, nothing queued before it, its
transport writable), written straight to the connection's transport by the
broker's publish call: no task wake-up, no ASGI layers, no per-connection
encoding. Acks and heartbeats take the same short path. Otherwise (resume from
the log, a gap, a backlog, a slow reader whose transport paused) messages go
through the subscription's bounded queue and a writer task that exists only
while the queue is non-empty: order by seq, fill gaps from the log, close 4008
on overflow. The short path needs uvicorn's websockets-sansio protocol
underneath (what `auction serve` runs); under any other ASGI server every
frame takes the ordinary `send_text` path. Under `auction serve` the endpoint
also returns from the ASGI call right after the handshake and the connection
goes on in the same task (`continue_after_app`,
auction/entrypoints/http/uvicorn_protocols.py): an idle watcher then holds no
middleware or router frames.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected, WebSocketState

from auction.adapters.fanout.broker import Message, Subscription, text_frame
from auction.adapters.metrics import Metrics
from auction.adapters.protocol import PROTOCOL_VERSION, dumps, loads, state_view, storable_text, terms_view
from auction.domain.codes import MESSAGES, Code, Rejected
from auction.domain.bidding.commands import PlaceBid
from auction.domain.bidding.session import SessionState
from auction.entrypoints.http.limits import Limits, TokenGuess, address_of
from auction.services.session import SessionService, now_us
from auction.services.tender import TenderService
from auction.services.transparency import TransparencyLog
from auction.adapters.sealing import signatures
from auction.store.transparency import bidder_keys
from clients import transparency as tl
from auction.settings import Settings
from auction.store import sessions as session_rows
from auction.store.events import to_micros
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

# Close codes (docs/protocol.md)
CLOSE_AUTH_FAILED = 4001
CLOSE_UNKNOWN_SESSION = 4004
CLOSE_SLOW_CONSUMER = 4008
CLOSE_HELLO_TIMEOUT = 4010
CLOSE_TOO_MANY = 4029  # a limit per client address (WATCHER_LIMIT, TOKEN_ATTEMPTS_LIMIT)
CLOSE_INTERNAL = 1011


class _Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...


class Wire:
    """Direct frame writes to the connection's transport, under uvicorn's
    websockets-sansio protocol (which keeps doing the handshake, pings, closing
    and reading). Frames written here are complete, so they never interleave
    with the protocol's own; they are skipped once it is closing or while its
    transport is paused (over the high-water mark: a slow reader)."""

    __slots__ = ("proto", "transport", "held")

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.transport: _Transport = proto.transport
        # While not None, frames written wait here, in order, for `release` (one write).
        self.held: list[bytes] | None = None

    @staticmethod
    def of(ws: WebSocket) -> Wire | None:
        send: Any = getattr(ws, "_send", None)
        for _ in range(8):  # unwrap Starlette's send wrappers down to uvicorn's bound method
            owner = getattr(send, "__self__", None)
            if owner is not None:
                sansio = any(c.__name__ == "WebSocketsSansIOProtocol" for c in type(owner).__mro__)
                if sansio and all(
                    hasattr(owner, a) for a in ("transport", "writable", "close_sent", "disconnected")
                ):
                    return Wire(owner)
                return None
            cells = getattr(send, "__closure__", None) or ()
            send = next((c.cell_contents for c in cells if callable(c.cell_contents)), None)
            if send is None:
                return None
        return None

    def ready(self) -> bool:
        p = self.proto
        return bool(p.writable.is_set() and not p.close_sent and not p.disconnected and not self.transport.is_closing())

    def write(self, frame: bytes) -> None:
        held = self.held
        if held is not None:
            held.append(frame)
            return
        self.transport.write(frame)

    def hold(self) -> None:
        """Keep what is written from now on for one write at `release` (a socket write is a
        system call that wakes the reader: the costliest step of a broadcast)."""
        if self.held is None:
            self.held = []

    def release(self, frame: bytes = b"") -> None:
        """Write what was held, and `frame` after it, at once (nothing once the connection is
        closing: no data frame may follow a Close)."""
        held, self.held = self.held, None
        if held:
            held.append(frame)
            frame = b"".join(held)
        p = self.proto
        if frame and not (p.close_sent or p.disconnected or self.transport.is_closing()):
            self.transport.write(frame)


@dataclass(eq=False, slots=True)  # one per connection: thousands of idle watchers
class Peer:
    session_id: str
    bidder_no: int | None  # None for a watcher
    last_sent: int  # public seq
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one frame at a time from reader and writer
    wire: Wire | None = None
    live: bool = False  # welcome (and any resume) sent: live events may be written at once
    token_epoch: int = 0  # of the token this bidder signed in with (a re-issue revokes it)
    public_key: bytes | None = None  # the bidder's registered key for signed bids, once looked up (it never changes)
    bidding: str | None = None  # the bid_id of this connection's bid awaiting its answer

    async def send(self, ws: WebSocket, text: str) -> None:
        if self.send_now(text):
            return
        async with self.lock:
            if self.wire is not None:
                self.wire.release()  # what was held goes first
            await ws.send_text(text)

    def send_now(self, text: str) -> bool:
        """Write `text` at once (after anything held) if nothing is in the way (else False: `send` it)."""
        wire = self.wire
        if wire is not None and not self.lock.locked() and wire.ready():
            wire.release(text_frame(text))
            return True
        return False

    def deliver(self, message: Message) -> bool:
        """The broker's short path: write `message` now if it is the next one and nothing
        is in the way; False sends it through the queue and the writer."""
        wire = self.wire
        if wire is None or not self.live or self.lock.locked() or not wire.ready():
            return False
        if message.seq == 0:  # outside the event order (a signed tree head): as it comes
            wire.write(message.frame)
            return True
        if message.seq <= self.last_sent:
            return True  # already sent (replayed from the log)
        if message.seq != self.last_sent + 1:
            return False  # a gap: the writer fills it from the log
        bid = message.bid
        if bid is not None and self.bidding is not None and bid[1] == self.bidding and bid[0] == self.bidder_no:
            # This connection's bid in flight, accepted: its ack follows in a turn or two of the
            # loop and goes out in one write with this (and whatever comes meanwhile), in order.
            wire.hold()
        wire.write(message.frame)
        self.last_sent = message.seq
        return True


def _error(code: Code, detail: str = "", **details: Any) -> str:
    message = MESSAGES[code] + (f": {detail}" if detail else "")
    return dumps({"type": "error", "code": code.value, "message": message, "details": details})


def _parse(raw: str | bytes | None) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise Rejected(Code.MALFORMED_JSON, "send text frames with JSON objects")
    message = loads(raw)
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
        connection = BidderConnection(self.settings, ws.state.service, ws.state.limits, address_of(ws.client),
                                      ws.state.metrics, getattr(ws.state, "transparency", None),
                                      getattr(ws.state, "tenders", None))
        wire = Wire.of(ws)
        later = getattr(wire.proto, "continue_after_app", None) if wire is not None else None
        if later is not None:
            # Return through the middleware and the router now; the connection goes on in the
            # same task without their frames (some 5 KiB per idle watcher).
            later(self._run(ws, connection, wire))
            return
        await self._run(ws, connection, wire)

    async def _run(self, ws: WebSocket, connection: BidderConnection, wire: Wire | None) -> None:
        try:
            await connection._serve(ws, wire)
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass  # gone; or closed by us (4008) while the reader had a reply on its way: nowhere to send it
        except Exception:
            log.exception("websocket connection failed")
            await _close(ws, CLOSE_INTERNAL, "internal error")
        finally:
            self.connections -= 1
            if connection.watching:
                connection.limits.watchers.release(connection.address)


class BidderConnection:
    def __init__(self, settings: Settings, service: SessionService, limits: Limits, address: str,
                 metrics: Metrics, transparency: TransparencyLog | None = None,
                 tenders: TenderService | None = None) -> None:
        self.settings = settings
        self.tenders = tenders  # a tender's token in a hello is told WRONG_SESSION, not counted as a guess
        self.metrics = metrics
        self.transparency = transparency  # signs each ack's receipt
        self.service = service
        self.limits = limits  # per client address (auction/entrypoints/http/limits.py)
        self.address = address
        self.watching = False  # admitted as a watcher: counted against the address's cap

    async def _receive(self, ws: WebSocket, wire: Wire | None = None) -> str | bytes | None:
        # From uvicorn's protocol itself when it can (one coroutine, not Starlette's three):
        # once the connection outlives its ASGI call, Starlette's bookkeeping has no reader.
        message = await (wire.proto.receive() if wire is not None else ws.receive())
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        return message.get("text") if message.get("text") is not None else message.get("bytes")

    async def _serve(self, ws: WebSocket, wire: Wire | None = None) -> None:
        try:
            raw = await asyncio.wait_for(self._receive(ws, wire), self.settings.hello_timeout_seconds)
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
            code = {Code.UNKNOWN_SESSION: CLOSE_UNKNOWN_SESSION, Code.WATCHER_LIMIT: CLOSE_TOO_MANY,
                    Code.TOKEN_ATTEMPTS_LIMIT: CLOSE_TOO_MANY}.get(r.code, CLOSE_AUTH_FAILED)
            await _close(ws, code, r.code.value)
            return
        last_seq = hello.get("last_seq")
        open_connections = self.metrics.connections["watcher" if peer.bidder_no is None else "bidder"]
        open_connections.inc()
        sub = self.service.broker.subscribe(peer.session_id, self.settings.ws_send_queue)
        writer: asyncio.Task[None] | None = None
        heart: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()

        def start_writer() -> None:
            nonlocal writer
            if peer.live and (writer is None or writer.done()):
                writer = loop.create_task(self._write(ws, peer, sub))

        def beat() -> None:
            nonlocal heart
            wire = peer.wire
            if wire is not None and not peer.lock.locked() and wire.ready():
                # With anything held (an ack on its way), that goes first: a heartbeat never waits.
                wire.release(text_frame(dumps({"type": "heartbeat", "server_time_us": now_us(),
                                               "seq": peer.last_sent})))
            heart = loop.call_later(self.settings.heartbeat_seconds, beat)

        try:
            peer.wire = wire
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
            peer.live = True
            sub.queued = start_writer
            sub.direct = peer.deliver
            if sub.pending():
                start_writer()
            heartbeat: asyncio.Task[None] | None = None
            if peer.wire is not None:
                heart = loop.call_later(self.settings.heartbeat_seconds, beat)
            else:
                heartbeat = asyncio.create_task(self._heartbeat(ws, peer))
            try:
                await self._read(ws, peer)
            finally:
                peer.live = False
                tasks = [t for t in (writer, heartbeat) if t is not None]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if heart is not None:
                heart.cancel()
            sub.direct = sub.queued = None
            self.service.broker.unsubscribe(sub)
            open_connections.dec()

    async def _authenticate(self, hello: dict[str, Any]) -> Peer:
        session_id = hello.get("session_id")
        if not isinstance(session_id, str) or not session_id or not storable_text(session_id):
            raise Rejected(Code.INVALID_FIELD, "session_id must be a non-empty string of printable text", field="session_id")
        last_seq = hello.get("last_seq")
        if last_seq is not None and (type(last_seq) is not int or last_seq < 0):
            raise Rejected(Code.INVALID_FIELD, "last_seq must be a whole number >= 0", field="last_seq")
        token = hello.get("token")
        if token is not None and not isinstance(token, str):  # a malformed hello, not a guess: not counted
            raise Rejected(Code.INVALID_FIELD, "token must be a string", field="token")
        if not await self.service.store.exists(session_id):
            raise Rejected(Code.UNKNOWN_SESSION, session_id=session_id)
        if token is None:
            if not self.limits.watchers.admit(self.address):
                raise Rejected(Code.WATCHER_LIMIT, limit=self.limits.watchers.cap)
            self.watching = True
            return Peer(session_id, None, 0)
        # Failed tokens per address and minute (auction/entrypoints/http/limits.py `TokenGuess`).
        guess = TokenGuess.start(self.limits.token_failures, self.address, time.monotonic())
        if not 16 <= len(token) <= 200 or not storable_text(token):
            raise guess.refusal()
        digest = hashlib.sha256(token.encode()).digest()
        row = await session_rows.bidder_by_token(self.service.store.pool, digest)
        if row is None or to_micros(row.expires_at) <= now_us():
            if self.tenders is not None and await self.tenders.bidder_of(digest) is not None:
                guess.good()  # a tender's valid token: real, for another sale (a tender takes no WebSocket bids)
                raise Rejected(Code.WRONG_SESSION)
            raise guess.refusal()
        guess.good()  # a real token, if maybe for another session: no guess
        if row.session_id != session_id:
            raise Rejected(Code.WRONG_SESSION)
        return Peer(session_id, int(row.bidder_no), 0, token_epoch=int(row.token_epoch))

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
        for message in await self.service.public_after(peer.session_id, peer.last_sent, upto):
            if message.seq <= peer.last_sent:
                continue
            await peer.send(ws, message.text)
            peer.last_sent = message.seq

    async def _write(self, ws: WebSocket, peer: Peer, sub: Subscription) -> None:
        """Drain the queue (started when something was queued; ends when it is empty)."""
        while sub.pending():
            message: Message | None = sub.queue.get_nowait()
            if message is None or sub.overflowed:
                self.metrics.slow_consumer.inc()
                await _close(ws, CLOSE_SLOW_CONSUMER, "slow consumer: reconnect with last_seq")
                return
            if message.seq == 0:  # a signed tree head
                await peer.send(ws, message.text)
                continue
            if message.seq <= peer.last_sent:
                continue  # already sent (replayed from the log)
            if message.seq > peer.last_sent + 1:
                await self._fill(ws, peer, upto=message.seq - 1)  # a gap: the log fills it
            if message.seq <= peer.last_sent:
                continue
            await peer.send(ws, message.text)
            peer.last_sent = message.seq

    async def _heartbeat(self, ws: WebSocket, peer: Peer) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            await peer.send(ws, dumps({"type": "heartbeat", "server_time_us": now_us(), "seq": peer.last_sent}))

    async def _read(self, ws: WebSocket, peer: Peer) -> None:
        while True:
            raw = await self._receive(ws, peer.wire)
            reply: str | None
            try:
                message = _parse(raw)
                kind = message["type"]
                if kind == "bid":
                    bid_id = message.get("bid_id")
                    peer.bidding = bid_id if isinstance(bid_id, str) else None
                    try:
                        reply = await self._bid(peer, message)
                    finally:
                        peer.bidding = None
                        wire = peer.wire
                        if wire is not None and wire.held is not None and not peer.lock.locked():
                            wire.release()  # the ack went out with what was held; anything since goes now
                elif kind == "register_key":
                    reply = await self._register_key(peer, message)
                elif kind == "ping":
                    reply = dumps({"type": "pong", "server_time_us": now_us(), "nonce": message.get("nonce")})
                elif kind == "hello":
                    raise Rejected(Code.ALREADY_AUTHENTICATED)
                else:
                    raise Rejected(Code.UNKNOWN_TYPE, type=kind[:40])
            except Rejected as r:
                reply = dumps({"type": "error", **r.rejection.to_dict()})
            if reply is None:
                continue  # written already (an ack, from its receipt's signing)
            try:
                await peer.send(ws, reply)  # after anything held for it
            except WebSocketDisconnected:  # gone while the answer was made (an ack waits for its commit)
                raise WebSocketDisconnect(1006) from None

    async def _bid(self, peer: Peer, message: dict[str, Any]) -> str | None:
        """The answer to a bid; None when its ack was written already (at its receipt's signing)."""
        started = time.perf_counter()
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
            signature, client_seq = message.get("signature"), message.get("last_seq")
            if signature is not None:  # checked before anything is decided: a bad one changes nothing
                await self._check_signature(peer, bid_id, amount, signature, client_seq)
            try:
                result = await self.service.execute(peer.session_id, PlaceBid(peer.bidder_no, bid_id, amount,
                                                                                  peer.token_epoch, signature,
                                                                                  client_seq))
            except DATABASE_ERRORS:
                log.exception("bid %s on %s: database error", bid_id, peer.session_id)
                raise Rejected(Code.SERVICE_UNAVAILABLE) from None
        except Rejected as r:
            self.metrics.bid_refused(r.code, time.perf_counter() - started)
            return dumps({"type": "reject", "bid_id": bid_id if isinstance(bid_id, str) else None,
                          **r.rejection.to_dict()})
        self.metrics.bid_accepted(time.perf_counter() - started)
        bid = result.state.accepted[(peer.bidder_no, bid_id)]
        ack: dict[str, Any] = {"type": "ack", "bid_id": bid_id, "seq": bid.pub_seq, "amount_fen": bid.amount,
                               "at_us": bid.at}
        if self.transparency is not None:
            sent = False

            def send_signed(receipt: dict[str, Any]) -> None:
                # Written by the signing itself: this task would wake a turn of the loop later.
                nonlocal sent
                sent = peer.send_now(dumps({**ack, "receipt": receipt}))

            try:  # the bid is committed: an ack goes out with or without its receipt
                ack["receipt"] = await self.transparency.receipt(peer.session_id, bid.pub_seq, send_signed)
            except Exception:  # the bid is committed: its ack goes out whatever the receipt did
                log.exception("receipt of bid %s on %s", bid_id, peer.session_id)
            if sent:
                return None
        return dumps(ack)


    async def _check_signature(self, peer: Peer, bid_id: str, amount: int, signature: object,
                               client_seq: object) -> None:
        """A signed bid (docs/protocol.md, section 9): the bidder's registered key must have signed
        (session, bidder number, amount, bid_id, last_seq); else `BID_SIGNATURE_INVALID`."""
        assert peer.bidder_no is not None
        if client_seq is not None and (type(client_seq) is not int or client_seq < 0):
            raise Rejected(Code.INVALID_FIELD, "last_seq must be a whole number >= 0", field="last_seq")
        if peer.public_key is None:
            try:
                peer.public_key = await bidder_keys.key_of(self.service.store.pool, peer.session_id, peer.bidder_no)
            except DATABASE_ERRORS:
                raise Rejected(Code.SERVICE_UNAVAILABLE) from None
        if peer.public_key is None:
            raise Rejected(Code.BID_SIGNATURE_INVALID, "no key registered (register_key)")
        try:
            raw = bytes.fromhex(signature) if isinstance(signature, str) else b""
        except ValueError:
            raw = b""
        message = tl.bid_bytes(peer.session_id, peer.bidder_no, amount, bid_id, client_seq)
        if not signatures.verify(peer.public_key, raw, message):
            raise Rejected(Code.BID_SIGNATURE_INVALID)

    async def _register_key(self, peer: Peer, message: dict[str, Any]) -> str:
        """A bidder registers its Ed25519 public key for signed bids, once; the same key again is
        answered the same (a retry), another one is `BIDDER_KEY_REGISTERED`."""
        if peer.bidder_no is None:
            raise Rejected(Code.WATCHER_CANNOT_BID)
        given = message.get("public_key")
        try:
            raw = bytes.fromhex(given) if isinstance(given, str) and len(given) == 64 else b""
            signatures.public_key(raw)
        except ValueError:
            raise Rejected(Code.INVALID_FIELD, "public_key: an Ed25519 public key, 64 hex digits",
                           field="public_key") from None
        try:
            kept = await bidder_keys.register(self.service.store.pool, peer.session_id, peer.bidder_no, raw)
        except DATABASE_ERRORS:
            raise Rejected(Code.SERVICE_UNAVAILABLE) from None
        if kept != raw:
            raise Rejected(Code.BIDDER_KEY_REGISTERED)
        peer.public_key = kept
        return dumps({"type": "key_registered", "bidder_no": peer.bidder_no, "public_key": kept.hex()})


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state != WebSocketState.DISCONNECTED:
        try:
            await ws.close(code, reason)
        except (RuntimeError, OSError):
            pass
