"""The delivery worker: posts each outbox row to its channel, signed, with an
idempotency key, backing off exponentially with jitter up to a retry limit.

State lives in the database only, so a restart neither loses nor repeats a
delivery that was confirmed:

- a row is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` in a transaction held
  while its request is in flight: another worker (or node) skips it, and if this
  process dies the database drops the lock with the connection;
- the attempt is committed before the request goes out, so every attempt is on
  record, even one cut short by a crash;
- the outcome (delivered with its receipt, or the next attempt's time) commits with
  the claim. A request whose answer was lost in a crash is sent again with the same
  `Idempotency-Key`: the channel answers it once (that is what the key is for).

Order per parcel and channel is kept by the claim (docs/publication.md).
The HTTP client is a small HTTP/1.1 one on asyncio streams: one request per
connection, no dependency beyond the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from auction.adapters.channels import Channel, idempotency_key, signature
from auction.documents.landchina import to_xml
from auction.store import publication as outbox
from auction.adapters.tasks import cancel_all
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float
    max_attempts: int

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds before the next try after `attempts` failures; None at the limit.
        'Equal jitter': half the exponential step fixed, half random."""
        if attempts >= self.max_attempts:
            return None
        step: float = min(self.cap, self.base * 2.0 ** (attempts - 1))
        return step / 2 + step / 2 * float(rand())


class DeliveryError(Exception):
    pass


async def post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> tuple[int, bytes]:
    """One HTTP/1.1 POST; (status, body). Timeouts and dropped connections raise."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname or ""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def exchange() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(host, port, ssl=ssl.create_default_context() if tls else None)
        try:
            head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}",
                    "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            await writer.drain()
            raw = await reader.read(-1)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        head_raw, sep, rest = raw.partition(b"\r\n\r\n")
        lines = head_raw.decode("latin-1").split("\r\n")
        if not sep or not lines[0].startswith("HTTP/1."):
            raise DeliveryError("no complete HTTP response (connection dropped?)")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            rest = _unchunk(rest)
        elif "content-length" in fields and len(rest) < int(fields["content-length"]):
            raise DeliveryError("response body cut short")
        return status, rest

    return await asyncio.wait_for(exchange(), timeout)


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, sep, data = data.partition(b"\r\n")
        if not sep:
            raise DeliveryError("chunked body cut short")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2:]


def encode(document: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    if fmt == "xml":
        return to_xml(document).encode(), "application/xml; charset=utf-8"
    return json.dumps(document, ensure_ascii=False, sort_keys=False).encode(), "application/json; charset=utf-8"


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, channels: tuple[Channel, ...], backoff: Backoff, *, timeout: float,
                 poll: float, node_id: str, concurrency: int = 4,
                 on_attempt: Callable[[bool], None] | None = None) -> None:
        self.pool = pool
        self.on_attempt = on_attempt  # told each attempt's outcome, delivered or not (GET /metrics)
        self.channels = {c.name: c for c in channels}
        self.backoff = backoff
        self.timeout = timeout
        self.poll = poll
        self.node_id = node_id
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(i)) for i in range(self.concurrency)]

    async def stop(self) -> None:
        await cancel_all(*self._tasks)

    def wake(self) -> None:
        """Something was just written to the outbox: look now rather than at the next poll."""
        self._wake.set()

    async def _loop(self, index: int) -> None:
        while True:
            try:
                worked = await self.run_once()
            except DATABASE_ERRORS as e:
                log.warning("publication delivery: database unavailable (%s)", type(e).__name__)
                worked = False
            except Exception:
                log.exception("publication delivery failed unexpectedly")
                worked = False
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll * (1 + index / 10))

    async def run_once(self) -> bool:
        """Claim and send one due row; False when none is due."""
        async with self.pool.acquire() as con, con.transaction():
            row = await outbox.claim(con)
            if row is None:
                return False
            channel = self.channels.get(row.channel)
            attempt = await outbox.start_attempt(self.pool, row.outbox_id, self.node_id)
            status: int | None = None
            receipt: str | None = None
            error: str | None = None
            started = time.monotonic()
            if channel is None:
                error = f"channel {row.channel} is no longer configured (AUCTION_CHANNELS)"
            else:
                key = idempotency_key(row.document_id, row.channel)
                body, content_type = encode(row.document, channel.format)
                stamp = str(int(time.time()))
                headers = {
                    "Content-Type": content_type,
                    "Idempotency-Key": key,
                    "X-Document-Id": row.document_id,
                    "X-Channel": row.channel,
                    "X-Timestamp": stamp,
                    "X-Signature": signature(channel.key, stamp, key, body),
                    "User-Agent": "land-auction-publisher/1",
                }
                try:
                    status, answer = await post(channel.url, headers, body, self.timeout)
                    receipt = answer.decode("utf-8", "replace")[:2000]
                    if not 200 <= status < 300:
                        error = f"HTTP {status}"
                except TimeoutError:
                    error = f"timeout after {self.timeout:g} s"
                except (OSError, DeliveryError, ValueError, IndexError) as e:
                    error = f"{type(e).__name__}: {e}"[:300] or type(e).__name__
            await outbox.finish_attempt(con, row.outbox_id, attempt, status=status, error=error, receipt=receipt)
            if self.on_attempt is not None:
                self.on_attempt(error is None)
            tries = row.attempts + 1  # since the last operator retry; `attempt` numbers all of them
            if error is None:
                assert receipt is not None
                await outbox.delivered(con, row.outbox_id, tries, receipt)
                log.info("publication %s delivered to %s (attempt %d, %.0f ms)", row.document_id, row.channel,
                         attempt, (time.monotonic() - started) * 1000)
            else:
                retry_in = self.backoff.delay(tries)
                await outbox.failed(con, row.outbox_id, tries, error, retry_in)
                log.warning("publication %s to %s, attempt %d: %s; %s", row.document_id, row.channel, attempt, error,
                            "giving up until an operator retries" if retry_in is None else f"retry in {retry_in:.1f} s")
            return True
