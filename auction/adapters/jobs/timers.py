"""Session timers on APScheduler: one job per session at its next wake-up.

Jobs live in memory and are rebuilt from the database at start-up (every open
session is loaded and its next wake-up scheduled). Correctness never depends
on when a job fires: the engine stamps transitions at their scheduled instants
and refuses late bids by timestamp. A job that fails (database away) retries.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from auction.domain.codes import Rejected
from auction.services.session import SessionService
from auction.store.events import to_datetime

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(seconds=1)


class SessionTimers:
    def __init__(self, service: SessionService) -> None:
        self.service = service
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._due: dict[str, int | None] = {}  # the wake-up each session's job is set for
        # `set` follows the service's WakeupChanged (wired in auction/bootstrap.py).

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def set(self, session_id: str, when_us: int | None) -> None:
        """Fire for `session_id` at `when_us` (replacing its previous timer), or never."""
        if self._due.get(session_id, -1) == when_us:
            return  # unchanged (e.g. a listing bid): no scheduler work on the bid path
        self._due[session_id] = when_us
        if when_us is None:
            job = self.scheduler.get_job(session_id)
            if job is not None:
                job.remove()
            return
        self._at(session_id, to_datetime(when_us))

    def _at(self, session_id: str, when: datetime) -> None:
        self.scheduler.add_job(
            self._fire,
            "date",
            run_date=when,
            id=session_id,
            args=[session_id],
            replace_existing=True,
            misfire_grace_time=None,  # late is fine; never skip
            coalesce=True,
            # A tick may set the session's next timer while it runs (a bid moved the deadline a few
            # milliseconds on): with one instance allowed, that run was skipped and the session
            # never closed. Ticks of one session take its turn one after the other (runner.py).
            max_instances=3,
        )

    async def _fire(self, session_id: str) -> None:
        self._due.pop(session_id, None)  # this job is spent; the tick sets the next one
        try:
            await self.service.tick(session_id)
        except Rejected as r:
            log.info("timer for %s: %s", session_id, r)
        except Exception:
            log.exception("timer for %s failed; retrying", session_id)
            self._at(session_id, datetime.now(UTC) + RETRY_AFTER)
