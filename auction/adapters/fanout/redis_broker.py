"""Fan-out across several server nodes over Redis pub/sub.

Why pub/sub and not streams: Redis carries nothing that must survive. Order and
durability live in the session's event log in PostgreSQL (`seq`); a message
lost on the way (Redis restart, a slow subscriber cut off) is noticed by its
gap in `seq` and filled from the log, and after a reconnect every followed
session is re-checked against the log. Streams would add retention and
consumer bookkeeping for a guarantee the log already gives.

Each node delivers its own events to its local connections at once and
publishes them for the other nodes; a node ignores its own messages coming
back. Message on the wire: `node_id \\n session_id \\n seq \\n text`.

Publishing never holds up the caller (an ack waits for nothing but its commit):
messages are handed to one sender task, which publishes, in order, everything
that gathered while its previous pipeline was on its way, in one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from auction.adapters.fanout.broker import InProcessBroker, Message, Subscription
from auction.reactions import AppendedElsewhere, FollowersBehind, Reactions
from auction.adapters.tasks import cancel_all

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "auction:session:"
# Messages waiting for Redis, at most; beyond it they are not published (the log fills the gap).
MAX_OUTBOX = 100_000
PUBLISH_SECONDS = 5.0  # one pipeline's time, at most: a Redis that hangs is a Redis that failed


class RedisBroker:
    def __init__(self, url: str, node_id: str, reactions: Reactions | None = None) -> None:
        self.url = url
        self.node_id = node_id
        self._own = node_id + "\n"
        self.local = InProcessBroker()
        self._client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._outbox: list[Message] = []  # to publish, in order (`_send`)
        self._dropped = 0  # messages not published since the last warning (the outbox was full)
        self._outgoing = asyncio.Event()
        # Told FollowersBehind with a session whose local followers may have missed messages
        # (the service re-offers the log's latest event so their writers fill the gap), and
        # AppendedElsewhere when another node's event arrives (this node's cache is behind).
        self.reactions = reactions if reactions is not None else Reactions()

    # -- the Broker interface ------------------------------------------------

    def subscribe(self, session_id: str, maxsize: int) -> Subscription:
        return self.local.subscribe(session_id, maxsize)

    def unsubscribe(self, sub: Subscription) -> None:
        self.local.unsubscribe(sub)

    async def publish(self, messages: list[Message]) -> None:
        await self.local.publish(messages)  # this node's followers first, without a round trip
        if self._client is None:
            return
        if len(self._outbox) >= MAX_OUTBOX:  # Redis has stopped taking them: the log fills the gap
            self._dropped += len(messages)
            return
        self._outbox += messages
        self._outgoing.set()

    async def start(self) -> None:
        self._client = aioredis.from_url(self.url, decode_responses=True)
        self._listener = asyncio.create_task(self._listen())
        self._sender = asyncio.create_task(self._send())

    async def stop(self) -> None:
        client, self._client = self._client, None  # publishing from here on is this node's alone
        await cancel_all(self._listener, self._sender)
        if client is not None:
            if self._outbox:  # what commits made before the stop still goes out, if Redis is quick
                batch, self._outbox = self._outbox, []
                with contextlib.suppress(Exception):
                    await self._publish(client, batch)
            await client.aclose()

    async def _send(self) -> None:
        """Publish what `publish` left, in order: one pipeline for everything that gathered
        while the previous one was on its way. It outlives any failure of one pipeline."""
        client = self._client
        assert client is not None
        while True:
            await self._outgoing.wait()
            self._outgoing.clear()
            batch, self._outbox = self._outbox, []
            if self._dropped:
                log.warning("redis fan-out: %d messages dropped while Redis was not taking them; other nodes "
                            "fill the gap from the log", self._dropped)
                self._dropped = 0
            try:
                await self._publish(client, batch)
            except Exception as e:
                # Committed all the same; other nodes' followers fill the gap from the log.
                log.warning("redis publish of %d messages failed (%r); other nodes will fill from the log",
                            len(batch), e)

    async def _publish(self, client: aioredis.Redis, batch: list[Message]) -> None:
        async with asyncio.timeout(PUBLISH_SECONDS):
            async with client.pipeline(transaction=False) as pipe:
                for m in batch:
                    pipe.publish(CHANNEL_PREFIX + m.session_id, f"{self.node_id}\n{m.session_id}\n{m.seq}\n{m.text}")
                await pipe.execute()

    # -- receiving ------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.1
        first = True
        while True:
            assert self._client is not None
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                if not first:
                    await self._resync_all()  # messages may have been lost while disconnected
                first = False
                delay = 0.1
                async for raw in pubsub.listen():
                    if raw.get("type") == "pmessage":
                        await self._deliver(raw["data"])
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except (RedisError, OSError) as e:
                log.warning("redis subscription lost (%s); reconnecting", e)
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _deliver(self, data: str) -> None:
        if data.startswith(self._own):  # this node's own message, back from Redis: already delivered here
            return
        try:
            node, session_id, seq, text = data.split("\n", 3)
            number = int(seq)
        except ValueError:
            log.warning("malformed fan-out message ignored")
            return
        if node == self.node_id:
            return
        self.reactions.notify(AppendedElsewhere(session_id, number))
        await self.local.publish([Message(session_id, number, text)])

    async def _resync_all(self) -> None:
        if not self.reactions.handles(FollowersBehind):
            return
        for session_id in self.local.followed_sessions():
            try:
                await self.reactions.publish(FollowersBehind(session_id))
            except Exception:
                log.exception("resync of %s failed", session_id)
