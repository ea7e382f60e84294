"""Deadline timers on APScheduler: one job per open deadline row, at its next instant.

Like `SessionTimers`: jobs live in memory and are rebuilt from the `deadlines`
table at start-up. A row's next instant is its warning (publication, until
operators were warned) or the first instant it is overdue; the job runs
`DeadlineService.fire`, which judges by the row's own instants, so a job that
fires late (the server was down) changes no outcome. A periodic sweep catches
up whatever no job covers: closings not yet booked, calendar years loaded by
another node or the CLI, re-offers not yet drafted.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from auction.domain.clock.deadlines import Deadline, DeadlineKind, DeadlineState
from auction.services.deadlines import DeadlineService
from auction.store import deadlines as rows_store
from auction.store.events import to_datetime

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(seconds=5)
SWEEP_JOB = "deadline-sweep"


def next_instant(row: Deadline, warned_at: int | None, now: int) -> int | None:
    """When the row's timer should fire next, or None (nothing left to happen by time alone)."""
    if row.state is DeadlineState.OVERDUE and row.kind is DeadlineKind.CONTRACT_SIGNING:
        # The Q42 default is due, unless the date is provisional: then the official year decides.
        return None if row.provisional else now
    if row.state is not DeadlineState.PENDING:
        return None
    candidates = [row.overdue_from] if row.overdue_from is not None else []
    if row.warn_at is not None and warned_at is None:
        candidates.append(row.warn_at)
    return min(candidates) if candidates else None


class DeadlineTimers:
    def __init__(self, service: DeadlineService, sweep_seconds: float, armed: dict[str, int] | None = None) -> None:
        self.service = service
        self.sweep_seconds = sweep_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        # deadline id -> the instant its job is set for; shared with the service's `timer_of`
        # (`armed.get`). `arm` follows the service's DeadlineWritten (wired in auction/bootstrap.py).
        self._at: dict[str, int] = armed if armed is not None else {}

    async def rebuild(self) -> int:
        """A job for every open row in the table (start-up); returns how many are armed."""
        for record in await rows_store.open_records(self.service.pool):
            self.arm(record.deadline, record.warned_at)
        return len(self._at)

    async def start(self) -> None:
        """Rebuild the jobs, then start the scheduler and the sweep (whose first run catches up)."""
        await self.rebuild()
        self.scheduler.start()
        self.scheduler.add_job(
            self._sweep, "interval", seconds=self.sweep_seconds, id=SWEEP_JOB, replace_existing=True,
            next_run_time=datetime.now(UTC), coalesce=True, max_instances=1, misfire_grace_time=None,
        )
        log.info("deadline timers: %d armed", len(self._at))

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def arm(self, row: Deadline, warned_at: int | None) -> None:
        when = next_instant(row, warned_at, self.service.clock())
        job_id = f"deadline:{row.deadline_id}"
        if when is None:
            self._at.pop(row.deadline_id, None)
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
            return
        if self._at.get(row.deadline_id) == when and self.scheduler.get_job(job_id) is not None:
            return
        self._at[row.deadline_id] = when
        self._job(row.deadline_id, to_datetime(when))

    def _job(self, deadline_id: str, when: datetime) -> None:
        self.scheduler.add_job(
            self._fire, "date", run_date=when, id=f"deadline:{deadline_id}", args=[deadline_id],
            replace_existing=True, misfire_grace_time=None, coalesce=True,
        )

    async def _fire(self, deadline_id: str) -> None:
        self._at.pop(deadline_id, None)  # spent; `fire` arms the next instant through `arm`
        try:
            await self.service.fire(deadline_id)
        except Exception:
            log.exception("deadline %s: timer failed; retrying", deadline_id)
            self._job(deadline_id, datetime.now(UTC) + RETRY_AFTER)

    async def _sweep(self) -> None:
        try:
            await self.service.catch_up()
        except Exception:
            log.exception("deadline sweep failed; next run in %ss", self.sweep_seconds)
