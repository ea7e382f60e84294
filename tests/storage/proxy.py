"""A small TCP proxy between a connection pool and PostgreSQL, for outage tests
(after asyncpg's tests/test_adversity.py). 127.0.0.1 only.

It can hold either direction (bytes are kept, not forwarded, until released or
stepped through one chunk at a time), so a test can cut the link at a chosen
moment: before a statement reaches the database, in the middle of a
transaction, or after the database has answered but before the answer arrives.
"""

from __future__ import annotations

import asyncio
import contextlib

UP, DOWN = "up", "down"  # client -> database, database -> client


class _Link:
    def __init__(self, tasks: list[asyncio.Task[None]], writers: tuple[asyncio.StreamWriter, ...]) -> None:
        self.tasks = tasks
        self.writers = writers

    async def cut(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in self.writers:
            writer.transport.abort()  # a reset, not a polite goodbye


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._holding = {UP: False, DOWN: False}
        self._credit = {UP: 0, DOWN: 0}
        self._held = {UP: asyncio.Event(), DOWN: asyncio.Event()}
        self._wake = asyncio.Event()

    def dsn(self, dsn: str) -> str:
        """`dsn` (a 127.0.0.1 DSN of the target) pointed at the proxy instead."""
        prefix, rest = dsn.split(f"@{self.target[0]}:{self.target[1]}/", 1)
        return f"{prefix}@127.0.0.1:{self.port}/{rest}"

    async def start(self) -> None:
        """Listen (again on the same port, once one was chosen)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and reset every open link: new connections are refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        links, self._links = self._links, []
        for link in links:
            await link.cut()

    async def restore(self) -> None:
        self.release()
        await self.start()

    def hold(self, direction: str) -> None:
        """From now on keep the bytes going `direction` instead of forwarding them."""
        self._held[direction].clear()
        self._holding[direction] = True
        self._credit[direction] = 0

    def release(self) -> None:
        self._holding = {UP: False, DOWN: False}
        self._notify()

    def step(self, direction: str) -> None:
        """Let one held chunk going `direction` through, and hold the next."""
        self._held[direction].clear()
        self._credit[direction] += 1
        self._notify()

    async def held(self, direction: str, timeout: float = 10.0) -> None:
        """Wait until a chunk going `direction` is being held."""
        await asyncio.wait_for(self._held[direction].wait(), timeout)

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        tasks = [
            asyncio.create_task(self._pump(reader, server_writer, UP)),
            asyncio.create_task(self._pump(server_reader, writer, DOWN)),
        ]
        self._links.append(_Link(tasks, (writer, server_writer)))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                while self._holding[direction] and self._credit[direction] == 0:
                    self._held[direction].set()
                    await self._wake.wait()
                if self._holding[direction]:
                    self._credit[direction] -= 1
                writer.write(data)
                await writer.drain()
        # One side went away: pass that on to the other.
        writer.transport.abort()
