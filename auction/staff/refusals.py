"""Refusals of unauthenticated requests, rolled up per client address, kind and minute.

`console_audit` is append-only, and every row is kept: one row per refused
stranger's request would let anybody grow it without bound (500 wrong
sign-ins, 500 rows). So for a request that nobody signed in to (no session
cookie, no operator key), refused: the first refusal of a kind from an address
in a period (a minute by default) is written at once, as its own row; the others
of that period are counted in memory and written as one row when the period
is over (`detail.count`, `detail.samples`: a few of the account names or
paths tried). Summing `detail.count` gives every refusal. Beyond
`max_addresses` addresses in one period the rest share one row without an
address. Every authenticated action is still one row each (ConsoleStore.audit).

At shutdown the pending counts are written; a node that is killed loses at
most the current period's counts (the first row of each is already written).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from auction.store.console import ConsoleStore
from auction.adapters.tasks import cancel_all
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

MAX_SAMPLES = 5
MAX_SAMPLE_CHARS = 100


@dataclass
class _Pending:
    action: str
    count: int = 0  # after the first (already written)
    samples: list[str] = field(default_factory=list)


class RefusalRollup:
    def __init__(self, pool: asyncpg.Pool, period: float = 60.0, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = ConsoleStore(pool)
        self.period = period
        self.max_addresses = max_addresses
        self.clock = clock
        self.pending: dict[tuple[int, str | None, str, str], _Pending] = {}
        self.addresses: dict[int, set[str | None]] = {}
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel_all(self.task)
        await self.flush(everything=True)

    async def refused(self, kind: str, outcome: str, client_ip: str | None, *, action: str,
                      sample: str | None = None, detail: Mapping[str, object] | None = None,
                      session_id: str | None = None) -> None:
        """One refused unauthenticated request. `kind` groups the rows (e.g. SIGN_IN, API POST):
        a small fixed set, whatever the request asked for; `action` is this request's own name."""
        period = int(self.clock() // self.period)
        seen = self.addresses.setdefault(period, set())
        if client_ip not in seen and len(seen) >= self.max_addresses:
            client_ip = None  # a crowd of addresses: the rest share one row
        seen.add(client_ip)
        key = (period, client_ip, kind, outcome)
        entry = self.pending.get(key)
        if entry is not None:
            entry.count += 1
            if sample and len(entry.samples) < MAX_SAMPLES and sample[:MAX_SAMPLE_CHARS] not in entry.samples:
                entry.samples.append(sample[:MAX_SAMPLE_CHARS])
            return
        self.pending[key] = _Pending(kind)
        await self._write(action, outcome, client_ip, {**(detail or {}), "count": 1}, session_id)

    async def flush(self, everything: bool = False) -> None:
        """Write the counts of the periods that are over (all of them at shutdown)."""
        current = int(self.clock() // self.period)
        done = [k for k in self.pending if everything or k[0] < current]
        for key in done:
            entry = self.pending.pop(key)
            if entry.count:
                period, client_ip, _kind, outcome = key
                await self._write(entry.action, outcome, client_ip, {
                    "count": entry.count, "samples": entry.samples,
                    "from": datetime.fromtimestamp(period * self.period, UTC).isoformat(),
                    "until": datetime.fromtimestamp((period + 1) * self.period, UTC).isoformat(),
                }, None)
        for period in [p for p in self.addresses if everything or p < current]:
            del self.addresses[period]

    async def _write(self, action: str, outcome: str, client_ip: str | None, detail: dict[str, object],
                     session_id: str | None) -> None:
        try:
            await self.store.audit(action, outcome, client_ip=client_ip, detail=detail, session_id=session_id)
        except DATABASE_ERRORS:
            log.error("audit record lost: %s %s from %s (%s)", action, outcome, client_ip, detail.get("count"))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(0.2, self.period / 4))
            try:
                await self.flush()
            except Exception:  # the next round tries again; the counts stay pending meanwhile
                log.exception("audit roll-up flush failed")
