"""Fan-out of committed public events to the connections following a session.

One interface; the in-process broker serves a single node. Order is decided by
the session's log (`seq`), never by the broker: subscribers drop what they have
already sent and fill any gap from the log.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    session_id: str
    seq: int  # public seq
    text: str  # encoded once, sent as is to every subscriber


@dataclass(eq=False)
class Subscription:
    session_id: str
    queue: asyncio.Queue[Message | None]
    overflowed: bool = False
    _closed: bool = field(default=False, repr=False)

    def offer(self, message: Message) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # The consumer is too far behind: mark it and wake it so it closes
            # the connection (it can reconnect and resume from its last seq).
            self.overflowed = True
            self._drain()
            self.queue.put_nowait(None)

    def _drain(self) -> None:
        while not self.queue.empty():
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
        sub = Subscription(session_id, asyncio.Queue(maxsize))
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

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def followed_sessions(self) -> list[str]:
        return list(self._subs)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
