"""A small bidder client over `websockets` (docs/protocol.md).

- says hello with the token, keeps the last public `seq` it has seen;
- reconnects with jittered back-off and resumes from that `seq` (no gap, no duplicate);
- `bid()` waits for the ack after commit; on a lost connection it re-sends the
  *same* `bid_id` after reconnecting, so a bid is never placed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from pathlib import Path
from collections.abc import AsyncIterator
from typing import Any

import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.exceptions import ConnectionClosed, WebSocketException

from clients import transparency as tl


class ProtocolError(Exception):
    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        super().__init__(f"{message.get('code')}: {message.get('message')}")


class BidderClient:
    def __init__(self, url: str | list[str], session_id: str, token: str | None = None, *,
                 last_seq: int | None = None,
                 max_backoff: float = 5.0, signing_key: Ed25519PrivateKey | None = None) -> None:
        # One address (e.g. a load balancer) or several server nodes: a lost
        # connection moves on to the next address, resuming from `seq`.
        self.urls = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("at least one server address")
        self._node = 0
        self.session_id = session_id
        self.token = token
        self.seq = last_seq
        self.welcome: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.offset_us = 0  # server time - local time, from the last welcome/pong/heartbeat
        self.max_backoff = max_backoff
        self._ws: Any = None
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending: dict[str, tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closed = False
        self.receipts: list[dict[str, Any]] = []  # one per ack, as the server signed it
        # Signed bids (docs/protocol.md, section 9): this bidder's Ed25519 key, kept here, never sent;
        # its public half is registered once (`register_key`).
        self.signing_key = signing_key
        self._key_reply: asyncio.Future[dict[str, Any]] | None = None

    @property
    def url(self) -> str:
        return self.urls[self._node]

    async def connect(self) -> dict[str, Any]:
        for attempt in range(len(self.urls)):
            try:
                await self._open()
                break
            except (OSError, WebSocketException, TimeoutError):
                if attempt == len(self.urls) - 1:
                    raise
                self._node = (self._node + 1) % len(self.urls)
        self._reader = asyncio.create_task(self._run())
        return self.welcome

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> BidderClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _open(self) -> None:
        ws = await websockets.connect(self.url, max_size=2**20, open_timeout=10)
        hello: dict[str, Any] = {"type": "hello", "session_id": self.session_id}
        if self.token:
            hello["token"] = self.token
        if self.seq is not None:
            hello["last_seq"] = self.seq
        await ws.send(json.dumps(hello))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            await ws.close()
            raise ProtocolError(welcome)
        self.welcome = welcome
        self.state = welcome["state"]
        self.offset_us = welcome["server_time_us"] - _local_us()
        if self.seq is None:
            self.seq = welcome["seq"]
        self._ws = ws
        self._connected.set()
        for message, _ in self._pending.values():  # same bid_id again: idempotent
            await ws.send(json.dumps(message))

    async def _run(self) -> None:
        delay = 0.2
        while not self._closed:
            try:
                async for raw in self._ws:
                    self._dispatch(json.loads(raw))
                    delay = 0.2
            except ConnectionClosed:
                pass
            self._connected.clear()
            if self._closed:
                return
            while not self._closed:  # reconnect with jittered back-off, resume from self.seq
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.max_backoff)
                try:
                    await self._open()
                    break
                except (OSError, WebSocketException, ProtocolError, TimeoutError):
                    # refused, or an HTTP error (e.g. 503 from a proxy) during the handshake
                    self._node = (self._node + 1) % len(self.urls)
                    continue

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "event":
            if self.seq is not None and message["seq"] <= self.seq:
                return
            self.seq = message["seq"]
            self.state = message["state"]
            self._events.put_nowait(message)
        elif kind in ("ack", "reject"):
            if kind == "ack" and isinstance(message.get("receipt"), dict):
                # The center's signed receipt: proof, with the public record, that the bid
                # was accepted at its place (docs/protocol.md section 9, `auction-verify --receipts`).
                self.receipts.append(message["receipt"])
            entry = self._pending.pop(message.get("bid_id") or "", None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(message)
        elif kind == "key_registered" or (kind == "error" and self._key_reply is not None):
            if self._key_reply is not None and not self._key_reply.done():
                self._key_reply.set_result(message)
                return
            if kind == "error":
                self._events.put_nowait(message)
        elif kind in ("heartbeat", "pong"):
            self.offset_us = message["server_time_us"] - _local_us()
        elif kind == "error":
            self._events.put_nowait(message)

    async def bid(self, amount_fen: int, bid_id: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Place a bid; returns the `ack` or `reject` message."""
        bid_id = bid_id or uuid.uuid4().hex
        message: dict[str, Any] = {"type": "bid", "bid_id": bid_id, "amount_fen": amount_fen}
        if self.signing_key is not None:  # signed over the bid and the last seq this client has seen
            message["last_seq"] = self.seq
            message["signature"] = self.signing_key.sign(tl.bid_bytes(
                self.session_id, self.welcome["bidder_no"], amount_fen, bid_id, self.seq)).hex()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[bid_id] = (message, future)
        if self._connected.is_set():
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(json.dumps(message))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(bid_id, None)

    async def register_key(self, timeout: float = 30.0) -> dict[str, Any]:
        """Register the public half of `signing_key` for this bidder (once; the same key again is
        fine). Returns the `key_registered` answer, or raises `ProtocolError` with the refusal."""
        assert self.signing_key is not None, "BidderClient(..., signing_key=...)"
        public = self.signing_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw)
        self._key_reply = asyncio.get_running_loop().create_future()
        try:
            await self._ws.send(json.dumps({"type": "register_key", "public_key": public.hex()}))
            reply = await asyncio.wait_for(self._key_reply, timeout)
        finally:
            self._key_reply = None
        if reply["type"] != "key_registered":
            raise ProtocolError(reply)
        return reply

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self._events.get()

    async def next_event(self, timeout: float | None = None) -> dict[str, Any]:
        return await asyncio.wait_for(self._events.get(), timeout)

    def server_now_us(self) -> int:
        return _local_us() + self.offset_us


def _local_us() -> int:
    import time

    return time.time_ns() // 1000


def save_receipts(path: Path, session_id: str, receipts: list[dict[str, Any]]) -> None:
    """Add `receipts` to the file at `path` (`{"session_id", "receipts"}`, one per seq), the
    form `auction-verify --receipts` reads."""
    kept: list[dict[str, Any]] = []
    if path.exists():
        kept = list(json.loads(path.read_text(encoding="utf-8")).get("receipts", []))
    by_seq = {r.get("seq"): r for r in kept + receipts}
    body = {"session_id": session_id, "receipts": [by_seq[k] for k in sorted(by_seq, key=lambda k: int(k or 0))]}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
