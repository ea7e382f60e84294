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


class _Waiters:
    """Futures of the tasks waiting, in order; the list exists only while someone waits."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None

    def _new_waiter(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        return waiter

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        if self._waiters is not None and waiter in self._waiters:
            self._waiters.remove(waiter)
            if not self._waiters:
                self._waiters = None

    def _wake(self, every: bool) -> None:
        for w in self._waiters or ():
            if not w.done():
                w.set_result(None)
                if not every:
                    return


class Inbox(_Waiters):
    """An unbounded FIFO with awaitable `get`, like `asyncio.Queue()` for one reader (or a few)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Any] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake(every=False)

    async def get(self) -> Any:
        while not self._items:
            waiter = self._new_waiter()
            try:
                await waiter
            except BaseException:
                # Cancelled after an item arrived for it: hand the wake-up on, as asyncio.Queue does.
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._forget(waiter)
                    self._wake(every=False)
                raise
            finally:
                self._forget(waiter)
        return self._items.pop(0)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Flag(_Waiters):
    """`asyncio.Event` without the deque: a future per waiter, made only when someone waits."""

    __slots__ = ("_value",)

    def __init__(self, value: bool = False) -> None:
        super().__init__()
        self._value = value

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        self._value = True
        self._wake(every=True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter = self._new_waiter()
        try:
            await waiter
        finally:
            self._forget(waiter)
        return True
