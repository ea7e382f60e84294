"""Small stand-ins for what uvicorn's WebSocket protocol keeps per connection.

Thousands of idle watchers each hold one uvicorn protocol object. Its receive
queue (an `asyncio.Queue`: four deques, some 3 KiB even when empty) and its
`writable` flag (an `asyncio.Event`: one more deque) are most of the memory of
an idle connection that this server can change. `Inbox` and `Flag` do what
uvicorn asks of them (`put_nowait`, `get`, `empty`, `qsize`; `set`, `clear`,
`is_set`, `wait`) and make a future only while someone waits.
"""

from __future__ import annotations

import asyncio
from typing import Any


def _wake_first(waiters: list[asyncio.Future[None]]) -> None:
    for w in waiters:
        if not w.done():
            w.set_result(None)
            return


class Inbox:
    """An unbounded FIFO with awaitable `get`, like `asyncio.Queue()` for one reader (or a few)."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiters:
            _wake_first(self._waiters)

    async def get(self) -> Any:
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                # Cancelled after an item arrived for it: hand the wake-up on, as asyncio.Queue does.
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._waiters.remove(waiter)
                    _wake_first(self._waiters)
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        return self._items.pop(0)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Flag:
    """`asyncio.Event` without the deque: a future per waiter, made only when someone waits."""

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._value = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        self._value = True
        waiters, self._waiters = self._waiters, None
        for w in waiters or ():
            if not w.done():
                w.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True
