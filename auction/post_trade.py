"""Wiring for what follows a trade: deposits, the legal clock and the sold session's records.

Built in the app's lifespan beside the session service (`create_app` calls
`PostTrade.start` before the session timers start, so no close can happen
before the hook is in place) and handed to requests as `request.state.deposits`
and `request.state.deadlines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg
from starlette.routing import Route

from auction.calendar_store import CalendarStore, official_calendar
from auction.deadline_service import DeadlineService
from auction.deposit_service import DepositService
from auction.jobs.deadlines import DeadlineTimers
from auction.service import SessionService
from auction.settings import Settings

if TYPE_CHECKING:
    from auction.plan_service import PlanService


@dataclass
class PostTrade:
    deposits: DepositService
    deadlines: DeadlineService
    timers: DeadlineTimers

    @classmethod
    async def start(
        cls, pool: asyncpg.Pool, sessions: SessionService, settings: Settings, plans: PlanService | None = None
    ) -> PostTrade:
        deposits = DepositService(pool, sessions, timedelta(days=settings.token_ttl_days))
        calendar = CalendarStore(pool, official_calendar())
        deadlines = DeadlineService(pool, sessions, calendar, settings.clock_rules, plans=plans)
        timers = DeadlineTimers(deadlines, settings.deadline_sweep_seconds)
        sessions.on_final = deadlines.process_close
        deposits.after_close = deadlines.refund_arrived_after_close
        deposits.on_deadline = lambda row: deadlines.on_change(row, None)
        await timers.start()
        return cls(deposits, deadlines, timers)

    def state(self) -> dict[str, object]:
        return {"deposits": self.deposits, "deadlines": self.deadlines}

    def shutdown(self) -> None:
        self.timers.shutdown()


def routes(settings: Settings) -> list[Route]:
    from auction.web.bank_webhook import BankWebhook
    from auction.web.deadlines_api import DeadlinesApi
    from auction.web.deposits_api import DepositsApi
    from auction.web.records_api import RecordsApi

    return [
        *BankWebhook(settings).routes(),
        *DepositsApi(settings).routes(),
        *DeadlinesApi(settings).routes(),
        *RecordsApi(settings).routes(),
    ]
