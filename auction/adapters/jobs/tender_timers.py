"""Tender timers on APScheduler: the opening (开标, RULES 6.3) at its set time, on its own.

Like `SessionTimers`: jobs live in memory. They are rebuilt from the `tenders`
table at start-up and by a periodic sweep (which also finds tenders another node
created), and armed at once for a tender this node creates or resumes (`TenderDue`,
wired in auction/bootstrap.py). The job runs `TenderService.due`, which judges by the
tender's own instants and takes a step only once: every node may fire for the
same tender, a restart may fire again, and the log is guarded, so the opening
happens exactly once. A suspended tender (RULES 6.7) is neither opened nor armed:
start-up suspends it before this starts, and its resumption arms the new opening. With the escrow key still locked the job retries until
it is unlocked (POST /api/escrow/unlock).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from auction.domain.codes import Code, Rejected
from auction.services.tender import TenderService
from auction.store.events import to_datetime

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(seconds=5)
LOCKED_RETRY_AFTER = timedelta(seconds=15)
SWEEP_JOB = "tender-sweep"


class TenderTimers:
    def __init__(self, service: TenderService, sweep_seconds: float) -> None:
        self.service = service
        self.sweep_seconds = sweep_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._at: dict[str, int] = {}  # tender id -> the instant its job is set for
        self._locked: set[str] = set()  # tenders whose opening waits for the escrow key (warned once)

    async def start(self) -> None:
        """The scheduler and the sweep, whose first run (now) arms every unfinished tender."""
        self.scheduler.start()
        self.scheduler.add_job(
            self._sweep, "interval", seconds=self.sweep_seconds, id=SWEEP_JOB, replace_existing=True,
            next_run_time=datetime.now(UTC), coalesce=True, max_instances=1, misfire_grace_time=None,
        )

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def arm(self, tender_id: str, when_us: int) -> None:
        if self._at.get(tender_id) == when_us:
            return
        self._at[tender_id] = when_us
        self._job(tender_id, to_datetime(when_us))

    def _job(self, tender_id: str, when: datetime) -> None:
        self.scheduler.add_job(
            self._fire, "date", run_date=when, id=f"tender:{tender_id}", args=[tender_id],
            replace_existing=True, misfire_grace_time=None, coalesce=True,
        )

    async def _fire(self, tender_id: str) -> None:
        self._at.pop(tender_id, None)  # spent; armed again below (or by the sweep) while the tender waits
        try:
            state = await self.service.due(tender_id)
        except Rejected as r:
            if r.code is not Code.ESCROW_KEY_UNAVAILABLE:
                log.info("tender timer for %s: %s", tender_id, r)
                return
            if tender_id not in self._locked:
                self._locked.add(tender_id)
                log.warning("tender %s: the opening is due and the escrow key is locked; retrying until it "
                            "is unlocked (POST /api/escrow/unlock)", tender_id)
            self._job(tender_id, datetime.now(UTC) + LOCKED_RETRY_AFTER)
            return
        except Exception:
            log.exception("tender timer for %s failed; retrying", tender_id)
            self._job(tender_id, datetime.now(UTC) + RETRY_AFTER)
            return
        self._locked.discard(tender_id)
        if state.opened is not None:
            log.info("tender %s: opened (%s)", tender_id, state.phase.value)
        elif state.suspended is not None:  # RULES 6.7: its resumption arms the new opening (TenderDue)
            log.info("tender %s: suspended; the opening waits for its resumption", tender_id)
        elif not state.final and state.terms is not None:  # early (this clock behind another's): again then
            self.arm(tender_id, state.terms.opening_at)

    async def _sweep(self) -> None:
        try:
            for tender_id, when in await self.service.unfinished():
                self.arm(tender_id, when)
        except Exception:
            log.exception("tender sweep failed; next run in %ss", self.sweep_seconds)
