"""SIGKILL the server while a tender takes sealed bids, and start it again after its bid
deadline (RULES 6.7, as RULES 7.5 for a session; tests/e2e/test_crash.py for sessions).

Bidders who meant to seal a bid in the deadline's last stretch could not: the tender comes
back suspended, not opened. No bid is taken meanwhile, and the bids already sealed stand.
The operator resumes it with a new deadline and opening (within the hour of the fault: the
deadline may come at once, RULES 7.3) on the console's tender page, after the API has refused
bad times without changing anything; a bid is then taken, and the tender's own timer opens
every bid at the new time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from auction.domain.china import CST
from auction.staff.roles import Role
from auction.store.tender.log import TenderStore
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import make_accounts, signed_in
from tests.e2e.helpers import WAN
from tests.e2e.plan_flow import iso
from tests.e2e.test_secrecy import RecordingApi
from tests.e2e.test_tender import Bidder, a_tender, opened_on_time, replayed_equals_live, tender_server, until
from clients.tender import Submitted

# Bids open after the setup; two bidders seal theirs and the server is killed, all within this.
BID_SECONDS = 10.0
# The resumed tender's new deadline from its resumption: the third bidder seals in it.
RESUMED_SECONDS = 8.0


async def logged(server: ServerProcess, tender_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The tender's log as the database holds it: (event type, event)."""
    pool = await asyncpg.create_pool(server.dsn, min_size=1, max_size=1)
    try:
        return [(type(r.event).__name__, vars(r.event)) for r in await TenderStore(pool).load(tender_id)]
    finally:
        await pool.close()


def cst_input(moment: datetime) -> str:
    """A `datetime-local` value in CST, as the console's form takes it."""
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Held:
    """A highest-price tender whose server was killed while it took bids and started after its deadline."""

    tender_id: str
    bidders: list[Bidder]  # three; the first two sealed their bids before the kill, the third did not
    sealed: list[Submitted]
    start: datetime  # bids opened
    killed_at: datetime


async def held_tender(api: RecordingApi, server: ServerProcess) -> Held:
    tender_id, bidders, start, deadline = await a_tender(api, server, "HIGHEST_PRICE", 3, bid_seconds=BID_SECONDS)
    await until(start)
    sealed = [await bidders[0].bid(5_100 * WAN), await bidders[1].bid(5_200 * WAN)]
    await asyncio.to_thread(server.kill)
    killed_at = datetime.now(UTC)
    assert killed_at < deadline, f"the kill came after the deadline: raise BID_SECONDS ({BID_SECONDS})"
    await until(deadline)  # the deadline passes while the server is down
    await asyncio.to_thread(server.start)
    return Held(tender_id, bidders, sealed, start, killed_at)


async def test_a_tender_down_across_its_bid_deadline_is_held_and_the_operator_resumes_it(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    async with tender_server(server_factory) as (server, api):
        held = await held_tender(api, server)
        tender_id, (a, b, c), sealed, start, killed_at = held.tender_id, held.bidders, held.sealed, held.start, \
            held.killed_at

        # --- held, not opened: the status says since when, no bid is taken, nothing is opened
        view = (await api.get(f"/api/tenders/{tender_id}")).json()
        assert (view["phase"], view["status"], view["opening"]) == ("SUSPENDED", "SUSPENDED", None), view
        assert view["suspension"]["reason"] == "SERVER_DOWN_PAST_DEADLINE" and view["suspension"]["recovery"]
        since = datetime.fromisoformat(view["suspension"]["since"])
        assert start < since <= killed_at  # the server's last sign of life, or the last bid after it
        assert await c.refused(5_300 * WAN) == "TENDER_SUSPENDED"
        opening = await api.post(f"/api/tenders/{tender_id}/open")
        assert opening.status_code == 422 and opening.json()["error"]["code"] == "TENDER_SUSPENDED", opening.text
        log = await logged(server, tender_id)
        assert log[-1][0] == "TenderSuspended" and "BidsOpened" not in [name for name, _ in log]
        assert [e["commitment"] for name, e in log if name == "SealedBidReceived"] == \
            [s.receipt["commitment"] for s in sealed]  # the sealed bids stand
        hall = await api.http.get(f"/hall/tenders/{tender_id}")
        assert 'data-status="SUSPENDED"' in hall.text and 'id="tender-suspension"' in hall.text
        assert hall.text.count('class="error superseded"') == 2  # the old deadline and opening no longer hold

        # --- bad resumptions are refused by their field, and change nothing
        now = datetime.now(UTC)
        new_deadline = now + timedelta(seconds=RESUMED_SECONDS)
        good = {"reason": "停机故障已排除", "bid_deadline": iso(new_deadline),
                "opening_at": iso(new_deadline + timedelta(seconds=1))}
        for body, code, field in (
            ({**good, "reason": " "}, "REASON_REQUIRED", "reason"),
            ({**good, "bid_deadline": iso(now - timedelta(minutes=1))}, "INVALID_FIELD", "bid_deadline"),
            ({**good, "opening_at": iso(new_deadline - timedelta(seconds=1))}, "INVALID_TERMS", "opening_at"),
            ({**good, "bid_deadline": "明天"}, "INVALID_FIELD", "bid_deadline"),
            ({**good, "bid_deadline": iso(now + timedelta(hours=2)), "opening_at": iso(now + timedelta(hours=2))},
             "RESUME_NOTICE_REQUIRED", None),  # over an hour after the fault, under 24 h ahead (RULES 7.3)
        ):
            r = await api.post(f"/api/tenders/{tender_id}/resume", body)
            assert r.status_code == 422 and r.json()["error"]["code"] == code, (body, r.text)
            assert r.json()["error"]["details"].get("field") == field, r.text
        assert await logged(server, tender_id) == log

        # --- the operator resumes it on the console's tender page, the times typed in CST
        op = await signed_in(server, (await make_accounts(database))[Role.OPERATOR])
        try:
            page = await op.get(f"/console/tenders/{tender_id}")
            assert 'id="tender-suspension"' in page.text and 'id="resume-form"' in page.text, page.text[:3000]
            csrf = await op.csrf(f"/console/tenders/{tender_id}")
            typed = {"csrf_token": csrf, "reason": good["reason"], "bid_deadline": cst_input(new_deadline),
                     "opening_at": cst_input(new_deadline - timedelta(seconds=1))}
            refused = await op.post(f"/console/tenders/{tender_id}/resume", typed)
            assert refused.status_code == 422 and 'id="error-resume" data-code="INVALID_TERMS"' \
                in refused.text, refused.text[:3000]
            assert f'value="{typed["bid_deadline"]}"' in refused.text  # what was typed, kept
            typed["opening_at"] = cst_input(new_deadline + timedelta(seconds=1))
            resumed = await op.post(f"/console/tenders/{tender_id}/resume", typed)
            assert resumed.status_code == 303, resumed.text[:3000]
            assert resumed.headers["location"] == f"/console/tenders/{tender_id}?done=RESUMED"
        finally:
            await op.close()

        # --- bids again until the new deadline; the timer opens them at the new time
        view = (await api.get(f"/api/tenders/{tender_id}")).json()
        assert (view["status"], view["suspension"]) == ("TAKING_BIDS", None), view
        new_deadline = new_deadline.replace(microsecond=0)  # typed to the second
        assert datetime.fromisoformat(view["terms"]["bid_deadline"]) == new_deadline
        assert await a.refused(5_900 * WAN) == "TENDER_BID_ALREADY_SUBMITTED"  # irrevocable, still
        await c.bid(5_300 * WAN)
        assert datetime.now(UTC) < new_deadline, "the bid came after the new deadline: raise RESUMED_SECONDS"
        live = await opened_on_time(api, tender_id)
        assert datetime.fromisoformat(live["opening"]["at"]) >= new_deadline + timedelta(seconds=1)
        assert live["opening"]["valid_count"] == 3
        assert (live["result"]["outcome"], live["result"]["winner_bidder_no"]) == ("AWARDED", c.bidder_no)
        names = [name for name, _ in await logged(server, tender_id)]
        assert names.index("TenderSuspended") < names.index("TenderResumed") < names.index("BidsOpened")
        await replayed_equals_live(server, tender_id, live)
