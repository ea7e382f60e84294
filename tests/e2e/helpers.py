"""Helpers for the end-to-end tests: a real `auction serve` process, spoken to
over HTTP (operator API) and raw WebSockets (bidders and watchers).

Everything here is async and has a timeout: a test that waits for something
that never comes fails within seconds instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerProcess

SECOND_US = 1_000_000
WAN = 1_000_000  # fen per 万元
REPLY_TYPES = frozenset({"welcome", "ack", "reject", "error", "pong"})
# The server closes an idle kept-alive connection after 5 s (uvicorn's default), and so
# would httpx: at equal timeouts a request sent just as the server closes the connection
# fails ("Server disconnected"). The test clients let idle connections go well before.
KEEPALIVE = httpx.Limits(keepalive_expiry=1.0)
DEFAULT_TIMEOUT = 30.0  # an upper bound for what must come, never a measure: a loaded 2-core machine is slow


def now_us() -> int:
    return time.time_ns() // 1000


def iso_in(seconds: float) -> str:
    """An ISO 8601 time with offset, `seconds` from now (the API refuses naive times)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def sleep_until_us(t_us: int, extra: float = 0.0) -> None:
    delay = (t_us - now_us()) / SECOND_US + extra
    if delay > 0:
        await asyncio.sleep(delay)


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition",
                     step: float = 0.02) -> None:
    """Wait for a condition the test cannot be told about by an event (a client's internal
    state, a counter); fails after a generous `timeout`, never asserts how fast it came."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() >= end:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        await asyncio.sleep(step)


def assert_no_traceback(text: str) -> None:
    """Nothing a client sees may leak Python internals."""
    assert "Traceback" not in text, text
    assert 'File "' not in text, text
    assert ".py\", line" not in text, text


# ---------------------------------------------------------------------------
# Operator API


@dataclass(frozen=True)
class Qualified:
    bidder_no: int
    token: str


@dataclass
class Session:
    id: str
    created: dict[str, Any]  # the 201 body: terms, state, seq
    bidders: list[Qualified] = field(default_factory=list)

    @property
    def terms(self) -> dict[str, Any]:
        terms: dict[str, Any] = self.created["terms"]
        return terms


class Api:
    """The operator API over httpx.AsyncClient (so the event loop keeps running)."""

    def __init__(self, server: ServerProcess, key: str | None = None) -> None:
        key = server.operator_key if key is None else key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.AsyncClient(base_url=server.http, headers=headers, timeout=10, trust_env=False,
                                      limits=KEEPALIVE)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        if body is not None:  # ASCII-escaped JSON, so that tests can send "\ud800" or "\u0000"
            kw["content"] = json.dumps(body).encode()
            kw["headers"] = {"content-type": "application/json", **kw.get("headers", {})}
        r = await self.http.post(path, **kw)
        assert_no_traceback(r.text)
        return r

    async def get(self, path: str) -> httpx.Response:
        r = await self.http.get(path)
        assert_no_traceback(r.text)
        return r

    # `create` and `qualify` use the stand-ins (a session without a plan, a bidder without a
    # deposit): they exist only on a server with AUCTION_STAND_INS=on, which the `server` and
    # `server_factory` fixtures turn on (tests/conftest.py). They stand in so that tests of
    # bidding need no plan or bank; the real path is tested end to end in test_deposits.py
    # (application, bank-confirmed deposit, token) and test_plan_to_sale.py.
    STAND_IN_OFF = "404 here: the stand-ins are off (server_factory(stand_ins=True) turns them on)"

    async def create(self, **body: Any) -> dict[str, Any]:
        r = await self.post("/api/sessions", body)
        assert r.status_code != 404, self.STAND_IN_OFF
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    async def qualify(self, session_id: str, legal_name: str | None = None) -> Qualified:
        name = legal_name or f"竞买人 {uuid.uuid4().hex[:6]}"
        r = await self.post(f"/api/sessions/{session_id}/bidders", {"legal_name": name})
        assert r.status_code != 404 or "UNKNOWN_SESSION" in r.text, self.STAND_IN_OFF
        assert r.status_code == 201, r.text
        body = r.json()
        return Qualified(int(body["bidder_no"]), body["token"])

    async def session(self, session_id: str) -> dict[str, Any]:
        r = await self.get(f"/api/sessions/{session_id}")
        assert r.status_code == 200, r.text
        view: dict[str, Any] = r.json()
        return view

    async def events(self, session_id: str) -> list[dict[str, Any]]:
        r = await self.get(f"/api/sessions/{session_id}/events")
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()
        return events

    async def verify(self, session_id: str) -> dict[str, Any]:
        r = await self.get(f"/api/sessions/{session_id}/verify")
        assert r.status_code == 200, r.text
        report: dict[str, Any] = r.json()
        return report

    async def auction(
        self,
        *,
        bidders: int,
        start_in: float = 1.5,
        countdown: int = 2,
        start_price: int = 100 * WAN,
        increment: int = 1 * WAN,
        reserve: int | None = None,
        **extra: Any,
    ) -> Session:
        body: dict[str, Any] = {
            "method": "AUCTION",
            "parcel_ref": f"曲靖-E2E-{uuid.uuid4().hex[:6]}",
            "start_price_fen": start_price,
            "increment_fen": increment,
            "deposit_fen": start_price // 5,
            "start_at": iso_in(start_in),
            "countdown_seconds": countdown,
            **extra,
        }
        if reserve is not None:
            body["reserve_fen"] = reserve
        created = await self.create(**body)
        session = Session(created["terms"]["session_id"], created)
        for _ in range(bidders):
            session.bidders.append(await self.qualify(session.id))
        return session

    async def listing(
        self,
        *,
        bidders: int,
        reserve: int,
        start_in: float = 1.5,
        listing_seconds: float = 3.0,
        countdown: int = 2,
        start_price: int = 100 * WAN,
        increment: int = 1 * WAN,
        **extra: Any,
    ) -> Session:
        body: dict[str, Any] = {
            "method": "LISTING",
            "parcel_ref": f"曲靖-E2E-{uuid.uuid4().hex[:6]}",
            "start_price_fen": start_price,
            "increment_fen": increment,
            "deposit_fen": start_price // 5,
            "start_at": iso_in(start_in),
            "listing_end_at": iso_in(start_in + listing_seconds),
            "countdown_seconds": countdown,
            "reserve_fen": reserve,
            **extra,
        }
        created = await self.create(**body)
        session = Session(created["terms"]["session_id"], created)
        for _ in range(bidders):
            session.bidders.append(await self.qualify(session.id))
        return session


def accepted_bids(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BidAccepted entries of GET /events, as their data dicts (bid_id, bidder_no, amount, ...)."""
    return [dict(e["data"], pub_seq=e["pub_seq"]) for e in log if e["type"] == "BidAccepted"]


# ---------------------------------------------------------------------------
# WebSocket client


class WsClient:
    """A raw WebSocket peer that records every message it receives.

    Replies (welcome, ack, reject, error, pong) also go to a FIFO queue: the
    server answers one message at a time, in order. Events and heartbeats are
    only recorded.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.raw: list[str | bytes] = []
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.welcome: dict[str, Any] | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed = asyncio.Event()
        self.error: AssertionError | None = None  # e.g. a traceback in a message: raised to the test
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, **kw: Any) -> WsClient:
        kw.setdefault("proxy", None)
        kw.setdefault("open_timeout", DEFAULT_TIMEOUT)
        ws = await websockets.connect(url, **kw)
        return cls(ws)

    @classmethod
    async def join(
        cls, url: str, session_id: str, token: str | None = None, last_seq: int | None = None, **kw: Any
    ) -> WsClient:
        """Connect and say hello; asserts the answer is a welcome."""
        client = await cls.open(url, **kw)
        reply = await client.hello(session_id, token, last_seq)
        assert reply["type"] == "welcome", reply
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.raw.append(raw)
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                assert_no_traceback(text)
                message = json.loads(text)
                self.messages.append(message)
                if message.get("type") == "welcome":
                    self.welcome = message
                if message.get("type") in REPLY_TYPES:
                    self.replies.put_nowait(message)
                self._notify()
        except ConnectionClosed:
            pass
        except AssertionError as e:
            self.error = e
            await self.ws.close()
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            self.closed.set()
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # sending

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def hello(self, session_id: str, token: str | None = None, last_seq: int | None = None,
                    **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "hello", "session_id": session_id, **extra}
        if token is not None:
            message["token"] = token
        if last_seq is not None:
            message["last_seq"] = last_seq
        await self.send(message)
        return await self.reply()

    async def reply(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The next reply (welcome/ack/reject/error/pong), in the order the server sent them."""
        get = asyncio.create_task(self.replies.get())
        closed = asyncio.create_task(self.closed.wait())
        try:
            done, _ = await asyncio.wait({get, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if self.error is not None:
            raise self.error
        if get in done:
            return get.result()
        get.cancel()
        if not self.replies.empty():
            return self.replies.get_nowait()
        if self.closed.is_set():
            raise AssertionError(f"connection closed ({self.close_code} {self.close_reason}) while awaiting a reply")
        raise AssertionError(f"no reply within {timeout}s; got {self.messages[-5:]}")

    async def request(self, message: dict[str, Any] | str | bytes, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        if isinstance(message, dict):
            await self.send(message)
        else:
            await self.send_raw(message)
        return await self.reply(timeout)

    async def bid(self, amount: Any, bid_id: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                  **extra: Any) -> dict[str, Any]:
        bid_id = bid_id or uuid.uuid4().hex
        reply = await self.request({"type": "bid", "bid_id": bid_id, "amount_fen": amount, **extra}, timeout)
        assert reply["type"] in ("ack", "reject"), reply
        assert reply["bid_id"] == bid_id, reply
        return reply

    async def ping(self) -> dict[str, Any]:
        """Proves the connection is still usable."""
        nonce = uuid.uuid4().hex[:8]
        reply = await self.request({"type": "ping", "nonce": nonce})
        assert reply == {"type": "pong", "server_time_us": reply["server_time_us"], "nonce": nonce}, reply
        return reply

    # waiting

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "event"]

    def event_seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = DEFAULT_TIMEOUT,
                       what: str = "message") -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        checked = 0
        while True:
            for message in self.messages[checked:]:
                if predicate(message):
                    return message
            checked = len(self.messages)
            if self.error is not None:
                raise self.error
            if self.closed.is_set():
                raise AssertionError(f"connection closed ({self.close_code}) before {what}; got {self.messages[-5:]}")
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout}s; got {self.messages[-5:]}")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass

    async def wait_event(self, name: str, timeout: float = DEFAULT_TIMEOUT,
                         where: Callable[[dict[str, Any]], bool] = lambda e: True) -> dict[str, Any]:
        return await self.wait_for(
            lambda m: m.get("type") == "event" and m.get("event") == name and where(m), timeout, what=name
        )

    async def wait_seq(self, seq: int, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        return await self.wait_for(lambda m: m.get("type") == "event" and m["seq"] >= seq, timeout,
                                   what=f"event seq {seq}")

    async def wait_closed(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int | None, str | None]:
        try:
            await asyncio.wait_for(self.closed.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"connection not closed within {timeout}s; got {self.messages[-5:]}") from None
        if self.error is not None:
            raise self.error
        return self.close_code, self.close_reason

    async def close(self) -> None:
        await self.ws.close()
        try:
            await asyncio.wait_for(self._reader, DEFAULT_TIMEOUT)
        except TimeoutError:
            self._reader.cancel()

    async def __aenter__(self) -> WsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def wait_opened(client: WsClient, timeout: float = 30.0) -> None:
    """The session is open for bids: its SessionOpened event came, or the client joined
    after the open (its welcome says so). For tests that need the open, not its event,
    so that a slow setup that joins late does not miss it."""
    assert client.welcome is not None
    if client.welcome["state"]["phase"] == "SCHEDULED":
        await client.wait_event("SessionOpened", timeout=timeout)


async def assert_token_refused(ws_url: str, session_id: str, token: str) -> None:
    """A superseded or unknown token no longer signs in: `INVALID_TOKEN`."""
    probe = await WsClient.open(ws_url)
    try:
        reply = await probe.hello(session_id, token)
        assert (reply["type"], reply["code"]) == ("error", "INVALID_TOKEN"), reply
    finally:
        await probe.close()


async def closed_event(ws_url: str, session_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Watch the session until it closes: its `SessionClosed` event."""
    watcher = await WsClient.join(ws_url, session_id)
    try:
        return dict(await watcher.wait_event("SessionClosed", timeout=timeout))
    finally:
        await close_all(watcher)


async def close_all(*clients: WsClient) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


class RawPeer:
    """A WebSocket peer on a plain socket that reads only when told to.

    The `websockets` asyncio client keeps reading in the background (its flow
    control resumes the transport by itself), so it cannot model a peer that
    has stopped reading. This one drives websockets' sans-I/O `ClientProtocol`
    by hand over a socket with a small receive buffer.
    """

    def __init__(self, host: str, port: int, path: str = "/ws", rcvbuf: int = 4096) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window
        # A small MSS, advertised in the SYN: on loopback the MSS is ~64 KiB and the kernel sizes the
        # server's send buffer from it (several MB); with 536 it stays at some tens of KiB.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        self.sock.setblocking(False)
        self.address = (host, port)
        self.protocol = ClientProtocol(parse_uri(f"ws://{host}:{port}{path}"), max_size=None)
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def _flush(self) -> None:
        data = b"".join(self.protocol.data_to_send())
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def connect(self) -> None:
        from websockets.http11 import Response

        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(self.sock, self.address), DEFAULT_TIMEOUT)
        self.protocol.send_request(self.protocol.connect())
        await self._flush()
        while True:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), DEFAULT_TIMEOUT)
            assert data, "connection closed during the handshake"
            self.protocol.receive_data(data)
            events = self.protocol.events_received()
            if events:
                assert isinstance(events[0], Response) and events[0].status_code == 101, events[0]
                self._frames(events[1:])
                return

    async def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        await self._flush()

    def _frames(self, events: list[Any]) -> None:
        from websockets.frames import Opcode

        for frame in events:
            if frame.opcode is Opcode.TEXT:
                text = bytes(frame.data).decode()
                assert_no_traceback(text)
                self.messages.append(json.loads(text))
            elif frame.opcode is Opcode.CLOSE and self.protocol.close_rcvd is not None:
                self.close_code = self.protocol.close_rcvd.code

    async def read_until_closed(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Read everything the server sent, up to and including its close frame."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self.close_code is None:
            left = end - loop.time()
            assert left > 0, f"no close within {timeout}s; got {len(self.messages)} messages"
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), left)
            except TimeoutError:
                seqs = [m["seq"] for m in self.events]
                raise AssertionError(f"no close within {timeout}s; got {len(seqs)} events "
                                     f"{seqs[:1]}..{seqs[-1:]}, last {self.messages[-1:]}") from None
            if not data:
                self.protocol.receive_eof()
                break
            self.protocol.receive_data(data)
            self._frames(self.protocol.events_received())
            await self._flush()  # pongs, and our answer to a close
        return self.close_code

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "event"]

    def close(self) -> None:
        self.sock.close()
