"""The small receive queue and writable flag that uvicorn's WebSocket protocol gets
per connection (auction/entrypoints/http/lean_ws.py) behave as the asyncio.Queue and
asyncio.Event they stand in for, in what uvicorn uses of them."""

from __future__ import annotations

import asyncio
import sys

import pytest

from auction.entrypoints.http.lean_ws import Flag, Inbox


class TestInbox:
    async def test_first_in_first_out(self) -> None:
        inbox = Inbox()
        for i in range(3):
            inbox.put_nowait(i)
        assert inbox.qsize() == 3 and not inbox.empty()
        assert [await inbox.get(), inbox.get_nowait(), await inbox.get()] == [0, 1, 2]
        assert inbox.empty()
        with pytest.raises(asyncio.QueueEmpty):
            inbox.get_nowait()

    async def test_a_waiting_reader_gets_what_is_put_later(self) -> None:
        inbox = Inbox()
        reader = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        assert not reader.done()
        inbox.put_nowait({"type": "websocket.connect"})
        assert await reader == {"type": "websocket.connect"}

    async def test_two_readers_each_get_one(self) -> None:
        inbox = Inbox()
        readers = [asyncio.create_task(inbox.get()) for _ in range(2)]
        await asyncio.sleep(0)
        inbox.put_nowait("a")
        inbox.put_nowait("b")
        assert sorted(await asyncio.gather(*readers)) == ["a", "b"]

    async def test_a_cancelled_reader_leaves_the_item_for_the_next(self) -> None:
        inbox = Inbox()
        with pytest.raises(TimeoutError):  # the hello timeout's wait_for around receive()
            await asyncio.wait_for(inbox.get(), 0.01)
        inbox.put_nowait("late")
        assert await inbox.get() == "late"

    async def test_woken_then_cancelled_hands_the_wake_up_on(self) -> None:
        inbox = Inbox()
        first = asyncio.create_task(inbox.get())
        second = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        inbox.put_nowait("only")
        first.cancel()  # woken for the item, cancelled before it ran
        assert await second == "only"
        with pytest.raises(asyncio.CancelledError):
            await first

    def test_idle_it_is_smaller_than_an_asyncio_queue(self) -> None:
        async def sizes() -> tuple[int, int]:
            q: asyncio.Queue[object] = asyncio.Queue()
            queue_size = sys.getsizeof(q) + sum(sys.getsizeof(v) for v in vars(q).values())
            queue_size += sum(sys.getsizeof(v) for v in vars(q._finished).values())
            inbox = Inbox()
            return queue_size, sys.getsizeof(inbox) + sys.getsizeof(inbox._items)

        queue_size, inbox_size = asyncio.run(sizes())
        assert inbox_size * 10 < queue_size


class TestFlag:
    async def test_set_clear_and_wait(self) -> None:
        flag = Flag(True)
        assert flag.is_set()
        assert await flag.wait() is True
        flag.clear()
        assert not flag.is_set()
        waiters = [asyncio.create_task(flag.wait()) for _ in range(2)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        flag.set()
        assert await asyncio.gather(*waiters) == [True, True]

    async def test_a_cancelled_waiter_is_forgotten(self) -> None:
        flag = Flag()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(flag.wait(), 0.01)
        assert not flag._waiters
        flag.set()
        assert await flag.wait() is True
