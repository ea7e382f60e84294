"""uvicorn's HTTP and WebSocket protocols with the input edges an ASGI app cannot see.

`http_protocol(seconds)`: httptools' protocol with a deadline for the request
headers (`AUCTION_HEADER_TIMEOUT_SECONDS`). uvicorn's keep-alive timer runs only
between requests and is cancelled by any byte received, so a client sending its
headers a byte a second (slowloris) would hold a connection for ever; no ASGI
middleware can help, since the app hears of a request only once its headers are
complete. The deadline runs from the connection (or from the first byte of a
later request on it) until the headers are complete; past it the connection is
closed.

`QuietWebSocketProtocol`: websockets-sansio, as `auction serve` always ran it,
with two changes. It never logs frames, even at DEBUG: a `hello` frame carries
the bidder's token, and the frame log prints its beginning and end. And a text
frame that is not UTF-8 closes the connection with 1007 (docs/protocol.md)
after one warning line per client address and minute, not a traceback each time.
Its socket is read on while fewer than `READ_AHEAD` messages wait for the app
(uvicorn paused and resumed it around every message: two system calls per bid).

It also keeps less per connection (thousands of idle watchers hold one each):
the receive queue and the `writable` flag are the small `Inbox` and `Flag`
(auction/entrypoints/http/lean_ws.py), the handshake's request and response
are let go once the handshake is sent, and `continue_after_app(coroutine)` lets
an endpoint return from the ASGI call right after its handshake, so that the
middleware's and the router's frames are gone while the connection lives on in
the same task (`/ws`, auction/entrypoints/ws/bidder.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from auction.entrypoints.http.lean_ws import Flag, Inbox

log = logging.getLogger(__name__)

CLOSE_INVALID_DATA = 1007
WARN_EVERY_SECONDS = 60.0
# Messages read from a WebSocket ahead of the app before its socket stops being read.
READ_AHEAD = 8


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # a later request on a kept-alive connection: its first byte starts the clock

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.debug("request headers not complete within %.1f s: connection closed", self.header_timeout)
            self.transport.close()


def http_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """The HTTP protocol class for `uvicorn.run(http=...)`, with this header deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout})


class _OncePerMinute:
    """Remembers when each client address was last logged (pruned as it goes)."""

    def __init__(self, every: float = WARN_EVERY_SECONDS) -> None:
        self.every = every
        self.last: dict[str, float] = {}

    def due(self, address: str) -> bool:
        now = time.monotonic()
        if len(self.last) > 10_000:
            self.last = {a: t for a, t in self.last.items() if now - t < self.every}
        last = self.last.get(address)
        if last is not None and now - last < self.every:
            return False
        self.last[address] = now
        return True


_invalid_utf8 = _OncePerMinute()


class QuietWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.conn.debug = False  # no frame log: a hello holds a token
        self.queue = Inbox()  # type: ignore[assignment]  # what uvicorn uses of asyncio.Queue, ~3 KiB less
        self.writable = Flag(True)  # type: ignore[assignment]
        self.asgi_app, self.app = self.app, self._app_then_rest
        self.rest: Coroutine[Any, Any, None] | None = None

    def continue_after_app(self, rest: Coroutine[Any, Any, None]) -> None:
        """Run `rest` once the ASGI app has returned, in the same task, before the connection is closed."""
        self.rest = rest

    async def _app_then_rest(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.asgi_app(scope, receive, send)
        except BaseException:
            if self.rest is not None:
                self.rest.close()  # never started
                self.rest = None
            raise
        rest, self.rest = self.rest, None
        if rest is not None:
            await rest

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self.request = self.response = None  # type: ignore[assignment]  # only the handshake reads them

    def send_receive_event_to_app(self) -> None:
        """uvicorn's, with two changes. A text frame is decoded once (a frame that is not UTF-8
        closes the connection, as above). And reading pauses only when `READ_AHEAD` messages
        wait for the app, not after every one: uvicorn paused the socket at each message and
        resumed it at each receive, two system calls per bid (memory stays bounded all the same)."""
        frames, self.frames = self.frames, []
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        if self.close_sent:
            return  # past its close: read on until the peer's close reply, keep nothing
        if self.curr_msg_data_type == "text":
            message: dict[str, Any]
            try:
                message = {"type": "websocket.receive", "text": data.decode()}
            except UnicodeDecodeError:
                address = self.client[0] if self.client else "unknown"
                if _invalid_utf8.due(address):
                    log.warning("WebSocket text frame from %s is not UTF-8: closed %d (further ones from this "
                                "address in the next minute are not logged)", address, CLOSE_INVALID_DATA)
                self.conn.send_close(CLOSE_INVALID_DATA, "invalid UTF-8")
                self.handle_parser_exception()
                return
        else:
            message = {"type": "websocket.receive", "bytes": data}
        self.queue.put_nowait(message)  # type: ignore[arg-type]  # an `Inbox` (lean_ws.py) takes any message
        if not self.read_paused and self.queue.qsize() >= READ_AHEAD:
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() < READ_AHEAD:
            self.read_paused = False
            self.transport.resume_reading()
        return message
