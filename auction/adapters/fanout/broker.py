"""Fan-out of committed public events to the connections following a session.

One interface; the in-process broker serves a single node. Order is decided by
the session's log (`seq`), never by the broker: subscribers drop what they have
already sent and fill any gap from the log.
"""

from __future__ import annotations

import asyncio
import struct
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


def text_frame(text: str) -> bytes:
    """`text` as one WebSocket text frame from a server (RFC 6455 5.2): final,
    unmasked, uncompressed. The same bytes are right for every connection."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


@dataclass(frozen=True)
class Message:
    session_id: str
    seq: int  # public seq
    text: str  # encoded once, sent as is to every subscriber
    # The whole WebSocket frame, built once per message: connections that can take
    # it at once get these bytes written to their socket (no task, no copy).
    frame: bytes = field(default=b"", compare=False, repr=False)
    # The accepted bid this event is, as (bidder_no, bid_id) (None: any other event). The
    # connection that placed it holds the frame until the bid's ack, to write both at once
    # (entrypoints/ws/bidder.py).
    bid: tuple[int, str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.frame:
            object.__setattr__(self, "frame", text_frame(self.text))


@dataclass(eq=False, slots=True)  # one per connection
class Subscription:
    session_id: str
    maxsize: int
    overflowed: bool = False
    _closed: bool = field(default=False, repr=False)
    # Set by the connection: writes the message at once when it can (nothing queued
    # before it, the connection caught up and writable) and says whether it did.
    direct: Callable[[Message], bool] | None = field(default=None, repr=False)
    # Set by the connection: called after a message was queued (starts its writer).
    queued: Callable[[], None] | None = field(default=None, repr=False)
    # Made on first use: most connections never queue anything, and an idle
    # asyncio.Queue costs some 2 KiB (three deques) per connection.
    _queue: asyncio.Queue[Message | None] | None = field(default=None, repr=False)

    @property
    def queue(self) -> asyncio.Queue[Message | None]:
        if self._queue is None:
            self._queue = asyncio.Queue(self.maxsize)
        return self._queue

    def pending(self) -> bool:
        """Something is queued."""
        return self._queue is not None and not self._queue.empty()

    def offer(self, message: Message) -> None:
        if self.overflowed:
            return
        direct, queue = self.direct, self._queue
        if direct is not None and (queue is None or queue.empty()) and direct(message):
            return  # the usual case at every broadcast: one call per connection, no queue
        queue = self.queue
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            # The consumer is too far behind: mark it and wake it so it closes
            # the connection (it can reconnect and resume from its last seq).
            self.overflowed = True
            self._drain()
            queue.put_nowait(None)
        if self.queued is not None:
            self.queued()

    def _drain(self) -> None:
        while self.pending():
            self.queue.get_nowait()


class Broker(Protocol):
    def subscribe(self, session_id: str, maxsize: int) -> Subscription: ...

    def unsubscribe(self, sub: Subscription) -> None: ...

    async def publish(self, messages: list[Message]) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessBroker:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, session_id: str, maxsize: int) -> Subscription:
        sub = Subscription(session_id, maxsize)
        self._subs[session_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.session_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.session_id]

    async def publish(self, messages: list[Message]) -> None:
        for message in messages:
            for sub in tuple(self._subs.get(message.session_id, ())):
                sub.offer(message)

    def followed_sessions(self) -> list[str]:
        return list(self._subs)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
