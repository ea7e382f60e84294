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
"""

from __future__ import annotations

import asyncio
import logging
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger(__name__)

CLOSE_INVALID_DATA = 1007
WARN_EVERY_SECONDS = 60.0


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

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError:
                self.frames = []
                address = self.client[0] if self.client else "unknown"
                if _invalid_utf8.due(address):
                    log.warning("WebSocket text frame from %s is not UTF-8: closed %d (further ones from this "
                                "address in the next minute are not logged)", address, CLOSE_INVALID_DATA)
                self.conn.send_close(CLOSE_INVALID_DATA, "invalid UTF-8")
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()
