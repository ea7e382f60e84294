"""The legal clock after the close (RULES 8, 9) on the real PostgreSQL, with a hand-moved clock.

Real time is impractical here: the limits are working days, and the story is
the real 2026 National Day holiday. So the services run on a `Clock` the test
moves, and everything else is the real code: the session engine and its log,
deposits booked by `DepositService` (qualification included), the close
procedure (`SessionService.tick`), and the post-trade hook it calls
(`DeadlineService.process_close`), the timers' job body (`fire`), the Q42
default and the re-offer through a real `PlanService`.

One shortcut, said out loud: the winning bid is decided by the engine and
appended to the log by the store, but without the append's deadline guard,
which compares with the database's real clock (`clock_timestamp()`), and
September 2026 is in the real past.

The story (tests/unit/test_deadlines.py counts it by hand): an auction closes at
15:00 Beijing time on Wednesday 2026-09-30, the day before the National Day
holiday (10-01 to 10-07; Saturday 10-10 is a make-up working day):

    Q31 refunds             due 2026-10-10 (3 working days)
    Q29 publication         due 2026-10-20, warning from 00:00 on 10-16
    Q42 contract            due 2026-10-20
    Q32 notice              due 2026-10-21 when the contract is signed on Friday 10-16
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from auction.adapters.fanout.broker import InProcessBroker
from auction.adapters.jobs.deadlines import DeadlineTimers
from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import CreateSession, PlaceBid
from auction.domain.clock.deadlines import ClockRules, DeadlineState
from auction.domain.deposit.deposits import Payment
from auction.domain.deposit.ledger import AccountKind
from auction.domain.plan.plan_terms import PlanMethod
from auction.domain.bidding.session import Phase, decide, evolve
from auction.domain.bidding.terms import DAY, MINUTE, SECOND, SessionRules
from auction.reactions import HeldAfterClose, Reactions, SessionFinal
from auction.services.calendar import CalendarStore, official_calendar
from auction.services.deadlines import DeadlineService
from auction.services.deposits import DepositService
from auction.services.plans import PlanService
from auction.services.publication import Publisher
from auction.services.session import SessionService
from auction.store import deadlines as rows_store
from auction.store import deposits as ledger_store
from auction.store.events import EventStore, number
from auction.store.plans import PlanStore
from tests.storage.helpers import WAN, Clock, auction_terms
from tests.unit import plan_helpers
from tests.unit.beijing import cst
from tests.unit.test_workdays import TEST_2027_FILE

# The package's years up to 2026 only, so "2027 is not loaded" stays true whatever
# later version of chinese-calendar is installed.
CALENDAR = official_calendar(up_to=2026)
DEPOSIT = 20 * WAN  # auction_terms: 20% of 100 万元
WINNER_NAME = "曲靖市甲房地产开发有限公司"
LOSER_NAME = "云南乙置业有限公司"


@dataclass
class World:
    pool: asyncpg.Pool
    clock: Clock
    sessions: SessionService
    deposits: DepositService
    legal: DeadlineService
    plans: PlanService | None
    armed: dict[str, int]  # the timers' schedule, which `legal.timer_of` reads


@dataclass(frozen=True)
class Sold:
    session_id: str
    winner: ledger_store.ApplicationRow
    loser: ledger_store.ApplicationRow


def make_world(pool: asyncpg.Pool, clock: Clock, sealer: ReserveSealer, *, with_plans: bool = True) -> World:
    reactions = Reactions()
    sessions = SessionService(EventStore(pool), InProcessBroker(), sealer, clock=clock, reactions=reactions)
    deposits = DepositService(pool, sessions, timedelta(days=30), clock=clock, reactions=reactions)
    plans = None
    if with_plans:
        plans = PlanService(PlanStore(pool), sessions, plan_helpers.draft().rules, SessionRules(min_listing_period=0),
                            clock=clock, reactions=reactions)
    armed: dict[str, int] = {}
    legal = DeadlineService(pool, sessions, CalendarStore(pool, CALENDAR), ClockRules(), plans=plans, clock=clock,
                            reactions=reactions, timer_of=armed.get)
    # The post-trade rows of auction/bootstrap.py's table (no timers here: tests fire rows themselves).
    reactions.on(SessionFinal, lambda e: legal.process_close(e.session_id))
    reactions.on(HeldAfterClose, lambda e: legal.refund_arrived_after_close(
        e.con, e.session_id, e.sub_account, e.txn_id, e.received_at))
    return World(pool, clock, sessions, deposits, legal, plans, armed)


@pytest.fixture
def world(pool: asyncpg.Pool, clock: Clock, sealer: ReserveSealer) -> World:
    return make_world(pool, clock, sealer)


async def pay(w: World, txn: str, sub: str, amount: int, payer: str) -> None:
    await w.deposits.receive(Payment(txn, sub, amount, payer, w.clock()))


async def sold_session(w: World, session_id: str, close_at: int, plan_id: str | None = None) -> Sold:
    """An auction with two applicants who both pay in full (the loser in two payments),
    one winning bid, closed by the close procedure at `close_at`."""
    start = close_at - 5 * MINUTE
    w.clock.set(start - 20 * DAY)
    await w.sessions.create(CreateSession(auction_terms(session_id, start_at=start)), None)
    if plan_id is not None:
        assert w.plans is not None
        await w.plans.draft(plan_helpers.draft(PlanMethod.AUCTION, plan_id=plan_id))
        await PlanStore(w.pool).link_session(plan_id, session_id)
    a = await w.deposits.apply(session_id, legal_name=WINNER_NAME, registration_no="91530300MA6K00001A", kind="COMPANY")
    b = await w.deposits.apply(session_id, legal_name=LOSER_NAME, registration_no="91530000MA6K00002B", kind="COMPANY")
    w.clock.advance(DAY)
    await pay(w, f"{session_id}-T1", a.sub_account, DEPOSIT, WINNER_NAME)
    await pay(w, f"{session_id}-T2", b.sub_account, DEPOSIT // 2, LOSER_NAME)
    await pay(w, f"{session_id}-T3", b.sub_account, DEPOSIT // 2, LOSER_NAME)
    winner = await ledger_store.application(w.pool, a.application_id)
    loser = await ledger_store.application(w.pool, b.application_id)
    assert winner is not None and loser is not None
    assert winner.bidder_no is not None and loser.bidder_no is not None  # both qualified by deposit
    w.clock.set(start)
    await w.sessions.tick(session_id)  # opens
    state = await w.sessions.state(session_id)
    assert state.phase is Phase.AUCTION
    events = decide(state, PlaceBid(winner.bidder_no, "bid-1", 100 * WAN), w.clock())
    after = state
    for event in events:
        after = evolve(after, event)
    await w.sessions.store.append(number(session_id, state, events), state.seq, after)  # no real-clock guard
    w.sessions.forget(session_id)
    w.clock.set(close_at + SECOND)
    closed = await w.sessions.tick(session_id)  # the close procedure, and the post-trade hook
    assert closed.closed is not None and closed.closed.outcome == "SOLD" and closed.closed.at == close_at
    return Sold(session_id, winner, loser)


async def rows(w: World, session_id: str) -> dict[str, dict[str, object]]:
    return {v["kind"] + (":" + str(v["subject"]) if v["kind"] == "DEPOSIT_REFUND" else ""): v
            for v in await w.legal.view(await rows_store.of_session(w.pool, session_id))}


async def balanced(pool: asyncpg.Pool) -> bool:
    report = await ledger_store.check(pool)
    return bool(report["balanced"] and report["fates_add_up"])


CLOSE = cst(2026, 9, 30, 15, 0)


async def test_the_close_books_deposits_and_deadlines_across_national_day(world: World) -> None:
    sold = await sold_session(world, "S-ND", CLOSE)
    found = await rows(world, "S-ND")
    assert sorted(found) == ["CONTRACT_SIGNING", f"DEPOSIT_REFUND:{sold.loser.sub_account}", "RESULT_PUBLICATION"]
    refund = found[f"DEPOSIT_REFUND:{sold.loser.sub_account}"]
    assert (refund["due_date"], refund["due_at"]) == ("2026-10-10", "2026-10-10T23:59:59.999999+08:00")
    publication = found["RESULT_PUBLICATION"]
    assert (publication["due_date"], publication["warn_at"]) == ("2026-10-20", "2026-10-16T00:00:00+08:00")
    assert publication["working_days_left"] == 10
    contract = found["CONTRACT_SIGNING"]
    assert (contract["due_date"], contract["subject"]) == ("2026-10-20", sold.winner.application_id)
    assert all(v["state"] == "PENDING" for v in found.values())

    # The winner's deposit became part of the price; the loser's two payments are held for refund.
    ledger = await ledger_store.ledger_for(world.pool, [sold.winner.sub_account, sold.loser.sub_account])
    assert ledger.held(AccountKind.APPLIED_TO_PRICE, sold.winner.sub_account) == DEPOSIT
    assert ledger.held(AccountKind.HELD_FOR_REFUND, sold.loser.sub_account) == DEPOSIT
    assert ledger.held(AccountKind.DEPOSIT, sold.loser.sub_account) == 0
    assert await balanced(world.pool)

    # The close is booked once, whoever asks again.
    assert await world.legal.process_close("S-ND") is False
    await world.legal.catch_up()
    assert len(await rows(world, "S-ND")) == 3
    assert await balanced(world.pool)


async def test_timers_warn_mark_overdue_and_operators_close_rows(world: World) -> None:
    sold = await sold_session(world, "S-T", CLOSE)
    ids = {k: str(v["deadline_id"]) for k, v in (await rows(world, "S-T")).items()}
    refund_id = ids[f"DEPOSIT_REFUND:{sold.loser.sub_account}"]

    # A refund is done when the bank confirms it: the ledger moves the money to REFUNDED.
    world.clock.set(cst(2026, 10, 9, 11))
    with pytest.raises(Rejected) as caught:
        await world.legal.done(refund_id, by="op:li", done_at=world.clock())
    assert caught.value.code is Code.INVALID_FIELD
    [done] = await world.legal.done(refund_id, by="op:li", done_at=world.clock(), bank_txn_id="R-1")
    assert (done.state, done.done_late) == (DeadlineState.DONE, False)
    ledger = await ledger_store.ledger_for(world.pool, [sold.loser.sub_account])
    assert ledger.held(AccountKind.REFUNDED, sold.loser.sub_account) == DEPOSIT
    assert ledger.held(AccountKind.HELD_FOR_REFUND, sold.loser.sub_account) == 0
    assert await balanced(world.pool)

    # The publication's warning: 00:00 on the 8th working day (Fri 10-16), 2 working days left.
    world.clock.set(cst(2026, 10, 15, 23, 59))
    await world.legal.fire(ids["RESULT_PUBLICATION"])
    assert (await rows(world, "S-T"))["RESULT_PUBLICATION"]["warning"] is False
    world.clock.set(cst(2026, 10, 16, 0, 0))
    await world.legal.fire(ids["RESULT_PUBLICATION"])
    view = (await rows(world, "S-T"))["RESULT_PUBLICATION"]
    assert (view["warning"], view["warned_at"], view["working_days_left"]) == (True, "2026-10-16T00:00:00+08:00", 2)

    # The contract is signed on Friday 10-16: the Q32 notice is due by the end of Wed 10-21.
    world.clock.set(cst(2026, 10, 16, 10, 5))
    signed, notice = await world.legal.contract_signed("S-T", by="op:li", signed_at=cst(2026, 10, 16, 10))
    assert (signed.state, notice.due_date) == (DeadlineState.DONE, date(2026, 10, 21))
    with pytest.raises(Rejected) as caught:
        await world.legal.contract_signed("S-T", by="op:li", signed_at=cst(2026, 10, 16, 11))
    assert caught.value.code is Code.DEADLINE_ALREADY_DONE

    # The whole 20th is in time; from 00:00 on the 21st the unpublished result is overdue.
    world.clock.set(cst(2026, 10, 20, 23, 59, 59, 999_999))
    assert (await world.legal.fire(ids["RESULT_PUBLICATION"])).state is DeadlineState.PENDING  # type: ignore[union-attr]
    world.clock.set(cst(2026, 10, 21, 0, 0))
    assert (await world.legal.fire(ids["RESULT_PUBLICATION"])).state is DeadlineState.OVERDUE  # type: ignore[union-attr]
    view = (await rows(world, "S-T"))["RESULT_PUBLICATION"]
    assert (view["state"], view["working_days_left"]) == ("OVERDUE", -1)  # Wed 10-21: one working day past
    [late] = await world.legal.done(ids["RESULT_PUBLICATION"], by="op:wang", done_at=world.clock())
    assert (late.state, late.done_late) == (DeadlineState.DONE, True)
    assert await balanced(world.pool)


async def test_the_q42_default_forfeits_the_deposit_and_drafts_a_reoffer(world: World) -> None:
    sold = await sold_session(world, "S-D", CLOSE, plan_id="PLAN-7")
    contract_id = str((await rows(world, "S-D"))["CONTRACT_SIGNING"]["deadline_id"])
    assert world.plans is not None
    publisher = Publisher(world.pool, world.plans, (), "530300")
    with pytest.raises(Rejected) as caught:  # a sale publishes its deal, not a no-sale notice
        await publisher.no_sale("PLAN-7")
    assert caught.value.code is Code.SESSION_SOLD

    world.clock.set(cst(2026, 10, 20, 23, 59, 59, 999_999))  # the last instant in time: nothing happens
    assert (await world.legal.fire(contract_id)).state is DeadlineState.PENDING  # type: ignore[union-attr]
    world.clock.set(cst(2026, 10, 21, 0, 0))  # unsigned at the first instant past the limit
    defaulted = await world.legal.fire(contract_id)
    assert defaulted is not None and defaulted.state is DeadlineState.DEFAULTED

    ledger = await ledger_store.ledger_for(world.pool, [sold.winner.sub_account])
    assert ledger.held(AccountKind.FORFEITED, sold.winner.sub_account) == DEPOSIT
    assert ledger.held(AccountKind.APPLIED_TO_PRICE, sold.winner.sub_account) == 0
    assert await balanced(world.pool)

    events = await rows_store.clock_events(world.pool, "S-D")
    assert [e["type"] for e in events] == ["WinCancelled", "DepositForfeited", "ReofferRequested"]
    assert events[0]["data"]["application_id"] == sold.winner.application_id
    assert events[1]["data"]["amount"] == DEPOSIT
    assert events[2]["data"] == {"session_id": "S-D", "old_plan_id": "PLAN-7", "at": cst(2026, 10, 21),
                                 "reason": "Q42_CONTRACT_NOT_SIGNED_IN_TIME"}
    reoffer = await rows_store.reoffer(world.pool, "S-D")
    assert reoffer is not None and reoffer["new_plan_id"] == "PLAN-7-R1"
    assert world.plans is not None
    old, new = await world.plans.state("PLAN-7"), await world.plans.state("PLAN-7-R1")
    assert new.draft is not None and old.draft is not None
    assert (new.draft.parcel, new.draft.deposit, new.status.value) == (old.draft.parcel, old.draft.deposit, "DRAFT")

    # Its result (RULES 8.3) is a notice that the sale was cancelled: without it the Q29 row
    # of a defaulted sale could never be met (a sale's result needs the contract).
    cancelled = await publisher.no_sale("PLAN-7")
    assert (cancelled.session_id, cancelled.outcome) == ("S-D", "成交取消") and "第四十二条" in cancelled.reason

    # Once defaulted: no signing, no second default, nothing booked twice.
    with pytest.raises(Rejected) as caught:
        await world.legal.contract_signed("S-D", by="op", signed_at=cst(2026, 10, 20, 9))
    assert caught.value.code is Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME
    await world.legal.apply_default(contract_id)
    await world.legal.catch_up()
    assert len(await rows_store.clock_events(world.pool, "S-D")) == 3
    assert await balanced(world.pool)


async def test_without_a_plan_the_reoffer_is_an_instruction_for_operators(
    pool: asyncpg.Pool, clock: Clock, sealer: ReserveSealer
) -> None:
    w = make_world(pool, clock, sealer, with_plans=False)
    await sold_session(w, "S-N", CLOSE)
    contract_id = str((await rows(w, "S-N"))["CONTRACT_SIGNING"]["deadline_id"])
    clock.set(cst(2026, 10, 22, 9))  # the server was down past the limit: the catch-up defaults it
    await w.legal.catch_up()
    assert (await rows(w, "S-N"))["CONTRACT_SIGNING"]["state"] == "DEFAULTED"
    reoffer = await rows_store.reoffer(pool, "S-N")
    assert reoffer is not None and reoffer["new_plan_id"] is None and "re-offer instruction recorded" in reoffer["note"]
    assert contract_id.endswith(":CONTRACT_SIGNING:" + str((await rows(w, "S-N"))["CONTRACT_SIGNING"]["subject"]))
    assert await balanced(pool)


async def test_a_restarted_node_rebuilds_every_timer_from_the_table(
    world: World, pool: asyncpg.Pool, clock: Clock, sealer: ReserveSealer
) -> None:
    sold = await sold_session(world, "S-R", CLOSE)
    # A new node: new services, new scheduler, nothing in memory but what the table holds.
    node = make_world(pool, clock, sealer)
    timers = DeadlineTimers(node.legal, sweep_seconds=3600, armed=node.armed)
    assert await timers.rebuild() == 3
    jobs = {job.id: job.trigger.run_date for job in timers.scheduler.get_jobs()}
    to_utc = lambda us: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)  # noqa: E731
    assert jobs == {
        f"deadline:S-R:DEPOSIT_REFUND:{sold.loser.sub_account}": to_utc(cst(2026, 10, 11)),  # overdue from
        "deadline:S-R:RESULT_PUBLICATION": to_utc(cst(2026, 10, 16)),  # the warning comes first
        f"deadline:S-R:CONTRACT_SIGNING:{sold.winner.application_id}": to_utc(cst(2026, 10, 21)),
    }
    view = {v["kind"]: v["timer_at"] for v in await node.legal.view(await rows_store.of_session(pool, "S-R"))}
    assert view["RESULT_PUBLICATION"] == "2026-10-16T00:00:00+08:00"
    timers.shutdown()


async def test_a_limit_in_a_missing_year_waits_for_the_year(world: World) -> None:
    # Without provisional years (as for a year past the lunar library's range, 2100+).
    world.legal.calendar = CalendarStore(world.pool, CALENDAR, provisional=False)
    late_close = cst(2026, 12, 28, 15)  # Monday; 2027 is not loaded
    sold = await sold_session(world, "S-M", late_close)
    found = await rows(world, "S-M")
    # 12-29 (1), 12-30 (2), 12-31 (3): the refund stays inside 2026.
    assert found[f"DEPOSIT_REFUND:{sold.loser.sub_account}"]["due_date"] == "2026-12-31"
    for kind in ("RESULT_PUBLICATION", "CONTRACT_SIGNING"):
        row = found[kind]
        assert (row["state"], row["code"], row["missing_year"], row["due_date"], row["working_days_left"]) == (
            "CALENDAR_MISSING", "CALENDAR_YEAR_MISSING", 2027, None, None)

    # Never overdue on a guess, however late it gets.
    world.clock.set(cst(2027, 3, 1))
    await world.legal.catch_up()
    assert (await rows(world, "S-M"))["CONTRACT_SIGNING"]["state"] == "CALENDAR_MISSING"

    # Loaded (a test year file: New Year only), every waiting row is recomputed at once.
    world.clock.set(late_close + MINUTE)
    preview, changed = await world.legal.load_year(TEST_2027_FILE, by="op:zhang")
    assert preview.year.year == 2027 and sorted(r.kind.value for r in changed) == ["CONTRACT_SIGNING", "RESULT_PUBLICATION"]
    found = await rows(world, "S-M")
    # 12-29 .. 12-31 (3), 2027-01-01..03 off, 01-04 (4) .. 01-08 Fri (8), 01-11 (9), 01-12 (10)
    assert (found["RESULT_PUBLICATION"]["state"], found["RESULT_PUBLICATION"]["due_date"]) == ("PENDING", "2027-01-12")
    assert found["RESULT_PUBLICATION"]["warn_at"] == "2027-01-08T00:00:00+08:00"
    assert found["CONTRACT_SIGNING"]["due_date"] == "2027-01-12"
    stored = await world.pool.fetchval("SELECT data FROM calendar_years WHERE year = 2027")
    assert json.loads(stored)["holidays"][:3] == ["2027-01-01", "2027-01-02", "2027-01-03"]


OFFICIAL_2027 = json.loads(TEST_2027_FILE)
OFFICIAL_2027["holidays"].remove("2027-01-02")
OFFICIAL_2027["workdays"] = ["2027-01-02"]  # one make-up Saturday in the window (test data, not the notice)


async def test_past_2026_deadlines_are_provisional_until_the_official_year_moves_them(world: World) -> None:
    """RULES 9 with the clock at 2026-12-20: the package ends with 2026, so 2027 is the
    provisional year (statutory holidays only); the official year, loaded later, moves
    the limit by a day, records the move and clears the flag."""
    close = cst(2026, 12, 20, 15)  # Sunday
    sold = await sold_session(world, "S-PROV", close)
    found = await rows(world, "S-PROV")
    for kind in ("RESULT_PUBLICATION", "CONTRACT_SIGNING"):
        row = found[kind]
        # 12-21 (1) .. 12-25 (5), 12-28 (6) .. 12-31 (9), 2027-01-01 元旦, Sat, Sun, 01-04 Mon (10)
        assert (row["state"], row["due_date"], row["provisional"], row["provisional_years"]) == (
            "PENDING", "2027-01-04", True, [2027])
        assert "2027" in row["provisional_reason"] and "provisional" in row["provisional_reason"]
        assert row["moves"] == []
    refund = found[f"DEPOSIT_REFUND:{sold.loser.sub_account}"]
    assert (refund["due_date"], refund["provisional"], refund["provisional_reason"]) == ("2026-12-23", False, None)

    # The operator sees the difference first; nothing is stored by a preview.
    world.clock.set(cst(2026, 12, 21, 9))
    text = json.dumps(OFFICIAL_2027, ensure_ascii=False, indent=1)
    preview, would_move = await world.legal.preview_year(text)
    assert [(d.isoformat(), a, b) for d, a, b in preview.changes] == [("2027-01-02", False, True)]
    assert any("2027-01-02 Sat: day off -> working day" in line for line in preview.lines())
    assert sorted(line.split(":")[1] for line in would_move) == ["CONTRACT_SIGNING", "RESULT_PUBLICATION"]
    assert await world.pool.fetchval("SELECT count(*) FROM calendar_years") == 0

    _, changed = await world.legal.load_year(text, by="op:zhang")
    assert sorted(r.kind.value for r in changed) == ["CONTRACT_SIGNING", "RESULT_PUBLICATION"]
    found = await rows(world, "S-PROV")
    for kind in ("RESULT_PUBLICATION", "CONTRACT_SIGNING"):
        row = found[kind]
        assert (row["state"], row["due_date"], row["provisional"]) == ("PENDING", "2027-01-02", False)
        [move] = row["moves"]
        assert (move["old_due_date"], move["new_due_date"], move["old_provisional_years"],
                move["new_provisional_years"]) == ("2027-01-04", "2027-01-02", [2027], [])
        assert move["at"] == "2026-12-21T09:00:00+08:00" and "2027" in move["reason"]
    assert await world.pool.fetchval("SELECT count(*) FROM deadline_moves WHERE session_id = 'S-PROV'") == 2

    # Confirmed now: the same file again changes nothing; other dates are refused, nothing changed.
    again, _ = await world.legal.load_year(text, by="op:zhang")
    assert again.already
    other = dict(OFFICIAL_2027, workdays=["2027-01-09"])
    with pytest.raises(Rejected) as caught:
        await world.legal.load_year(json.dumps(other, indent=1), by="op:zhang")
    assert caught.value.code is Code.CALENDAR_YEAR_CONFIRMED
    assert caught.value.rejection.details["dates"] == ["2027-01-02", "2027-01-09"]
    assert caught.value.rejection.details["line"] is not None
    assert (await rows(world, "S-PROV"))["RESULT_PUBLICATION"]["due_date"] == "2027-01-02"
    assert await world.pool.fetchval("SELECT count(*) FROM deadline_moves") == 2


async def test_bad_year_files_change_nothing(world: World) -> None:
    await sold_session(world, "S-BAD", cst(2026, 12, 20, 15))
    before = await rows(world, "S-BAD")
    bad = {
        Code.CALENDAR_STATUTORY_DAY_MISSING: '{"year": 2027, "source": "x", "holidays": [], "workdays": []}',
        Code.CALENDAR_FILE_INVALID: '{"year": 2027, "source": "x",\n "holidays": [}',
        Code.CALENDAR_YEAR_OUT_OF_RANGE: '{"year": 2200, "source": "x", "holidays": [], "workdays": []}',
        Code.CALENDAR_WORKDAY_NOT_WEEKEND: json.dumps(dict(OFFICIAL_2027, workdays=["2027-01-04"])),
        # 2026 is confirmed by the repository's file: Sat 10-10 is a make-up working day there.
        Code.CALENDAR_YEAR_CONFIRMED: json.dumps(dict(CALENDAR.years[2026].to_dict(), workdays=["2026-01-04"])),
    }
    for code, text in bad.items():
        with pytest.raises(Rejected) as caught:
            await world.legal.load_year(text, by="op")
        assert caught.value.code is code, text
        assert "line" in caught.value.rejection.details
    assert await world.pool.fetchval("SELECT count(*) FROM calendar_years") == 0
    assert await rows(world, "S-BAD") == before


async def test_a_year_stored_before_files_were_checked_never_counts_weekends_only(world: World) -> None:
    """A 2027 with empty lists, stored by an earlier version (before the statutory check): it is
    not counted on (it would count weekends only, RULES 9); the provisional year stands in."""
    from auction.domain.clock.workdays import calendar_year
    from auction.store.calendar import insert_year

    assert await insert_year(world.pool, calendar_year(2027, [], [], "x"), "an earlier version")
    year = (await world.legal.calendar.calendar()).years[2027]
    assert year.provisional and date(2027, 2, 8) in year.holidays  # 春节 (lunar 1/3) by law


async def test_a_provisional_contract_date_never_forfeits_the_deposit(world: World) -> None:
    await sold_session(world, "S-PQ", cst(2026, 12, 20, 15))
    contract_id = str((await rows(world, "S-PQ"))["CONTRACT_SIGNING"]["deadline_id"])
    world.clock.set(cst(2027, 1, 5, 0, 0))  # past the provisional 01-04, 2027 still not confirmed
    row = await world.legal.fire(contract_id)
    assert row is not None and (row.state, row.provisional) == (DeadlineState.OVERDUE, True)
    await world.legal.catch_up()
    assert (await rows(world, "S-PQ"))["CONTRACT_SIGNING"]["state"] == "OVERDUE"
    assert await rows_store.clock_events(world.pool, "S-PQ") == []
    # The official year (bridging days Jan 4-5, test data) gives more time: pending again.
    later = json.loads(TEST_2027_FILE)
    later["holidays"] += ["2027-01-04", "2027-01-05"]
    await world.legal.load_year(json.dumps(later), by="op")
    row_view = (await rows(world, "S-PQ"))["CONTRACT_SIGNING"]
    assert (row_view["state"], row_view["due_date"], row_view["provisional"]) == ("PENDING", "2027-01-06", False)


async def test_money_arriving_after_the_close_gets_its_own_refund_deadline(world: World) -> None:
    """Q31 (3 working days, no interest) for money that reaches a sub-account after the
    close: a late second transfer, a winner's stray payment. While a refund row for the
    sub-account is open, its confirmation refunds all the held money; otherwise the
    money gets its own row, counted from its arrival."""
    sold = await sold_session(world, "S-LATE", CLOSE)
    loser_row = (await rows(world, "S-LATE"))[f"DEPOSIT_REFUND:{sold.loser.sub_account}"]

    # The loser sends 1 万元 more on Fri 10-09: the open row covers it.
    world.clock.set(cst(2026, 10, 9, 9))
    await pay(world, "S-LATE-T4", sold.loser.sub_account, WAN, LOSER_NAME)
    assert len(await rows_store.of_session(world.pool, "S-LATE")) == 3
    [done] = await world.legal.done(str(loser_row["deadline_id"]), by="op:li", done_at=world.clock(),
                                    bank_txn_id="R-LATE-1")
    assert done.state is DeadlineState.DONE
    ledger = await ledger_store.ledger_for(world.pool, [sold.loser.sub_account])
    assert ledger.held(AccountKind.REFUNDED, sold.loser.sub_account) == DEPOSIT + WAN

    # After that refund, 2 万元 on Mon 10-12 10:00: a new row, due at the end of Thu 10-15.
    world.clock.set(cst(2026, 10, 12, 10))
    await pay(world, "S-LATE-T5", sold.loser.sub_account, 2 * WAN, LOSER_NAME)
    # The winner's stray payment the same day: a row for the winner's sub-account too.
    await pay(world, "S-LATE-T6", sold.winner.sub_account, 3 * WAN, WINNER_NAME)
    found = {r.deadline.deadline_id: r.deadline for r in await rows_store.of_session(world.pool, "S-LATE")}
    late_loser = found[f"S-LATE:DEPOSIT_REFUND:{sold.loser.sub_account}:S-LATE-T5"]
    late_winner = found[f"S-LATE:DEPOSIT_REFUND:{sold.winner.sub_account}:S-LATE-T6"]
    for row in (late_loser, late_winner):
        assert (row.state, row.due_date) == (DeadlineState.PENDING, date(2026, 10, 15))
    assert len(found) == 5

    # The timer marks it overdue from 00:00 on Fri 10-16; the bank's confirmation closes it.
    world.clock.set(cst(2026, 10, 16, 0, 0))
    assert (await world.legal.fire(late_winner.deadline_id)).state is DeadlineState.OVERDUE  # type: ignore[union-attr]
    [late_done] = await world.legal.done(late_winner.deadline_id, by="op:li", done_at=world.clock(),
                                         bank_txn_id="R-LATE-2")
    assert (late_done.state, late_done.done_late) == (DeadlineState.DONE, True)
    ledger = await ledger_store.ledger_for(world.pool, [sold.winner.sub_account])
    assert ledger.held(AccountKind.REFUNDED, sold.winner.sub_account) == 3 * WAN
    assert ledger.held(AccountKind.APPLIED_TO_PRICE, sold.winner.sub_account) == DEPOSIT  # untouched
    assert await balanced(world.pool)


async def test_a_partial_refund_leaves_a_new_row_for_what_is_still_held(world: World) -> None:
    """The bank paid back less than is held (the instruction went out before a late
    transfer arrived): the ledger refunds only what the bank confirmed, and the rest
    gets its own refund row at once. A bank id confirms one refund only; the bank
    cannot have refunded more than is held."""
    sold = await sold_session(world, "S-PART", CLOSE)
    row_id = str((await rows(world, "S-PART"))[f"DEPOSIT_REFUND:{sold.loser.sub_account}"]["deadline_id"])
    world.clock.set(cst(2026, 10, 9, 9))
    await pay(world, "S-PART-T4", sold.loser.sub_account, WAN, LOSER_NAME)  # covered by the open row
    with pytest.raises(Rejected) as caught:
        await world.legal.done(row_id, by="op:li", done_at=world.clock(), bank_txn_id="R-P1",
                               amount_fen=DEPOSIT + 2 * WAN)
    assert caught.value.code is Code.LEDGER_INSUFFICIENT_FUNDS  # docs/protocol.md: details.account, .balance
    assert caught.value.rejection.details["balance"] == DEPOSIT + WAN
    assert caught.value.rejection.details["account"] == f"HELD_FOR_REFUND:{sold.loser.sub_account}"
    with pytest.raises(Rejected) as caught:
        await world.legal.done(row_id, by="op:li", done_at=world.clock(), bank_txn_id="R-P1", amount_fen=0)
    assert caught.value.code is Code.INVALID_AMOUNT

    done, rest = await world.legal.done(row_id, by="op:li", done_at=world.clock(), bank_txn_id="R-P1",
                                        amount_fen=DEPOSIT)
    assert done.state is DeadlineState.DONE
    assert (rest.state, rest.subject, rest.due_date) == (DeadlineState.PENDING, sold.loser.sub_account,
                                                         date(2026, 10, 13))  # Fri 10-09: Sat 10-10 (调休), Mon, Tue
    ledger = await ledger_store.ledger_for(world.pool, [sold.loser.sub_account])
    assert ledger.held(AccountKind.REFUNDED, sold.loser.sub_account) == DEPOSIT
    assert ledger.held(AccountKind.HELD_FOR_REFUND, sold.loser.sub_account) == WAN

    with pytest.raises(Rejected) as caught:  # the same bank id cannot confirm a second refund
        await world.legal.done(rest.deadline_id, by="op:li", done_at=world.clock(), bank_txn_id="R-P1")
    assert caught.value.code is Code.INVALID_FIELD
    [closed] = await world.legal.done(rest.deadline_id, by="op:li", done_at=world.clock(), bank_txn_id="R-P2")
    assert closed.state is DeadlineState.DONE
    ledger = await ledger_store.ledger_for(world.pool, [sold.loser.sub_account])
    assert ledger.held(AccountKind.REFUNDED, sold.loser.sub_account) == DEPOSIT + WAN
    assert await balanced(world.pool)


async def test_money_dated_in_time_but_reported_after_the_close_is_held_for_refund(world: World) -> None:
    """A bank reports, after the close, a transfer dated before the deposit deadline:
    nothing counts toward a deposit once the close is booked (DEPOSIT_AFTER_CLOSE); the
    money is held for refund with its own deadline, never left in DEPOSIT."""
    sold = await sold_session(world, "S-LATEREPORT", CLOSE)
    world.clock.set(cst(2026, 10, 12, 10))
    dated = CLOSE - 10 * DAY  # before the deposit deadline
    outcome = await world.deposits.receive(Payment("S-LATEREPORT-T9", sold.winner.sub_account, 2 * WAN,
                                                   WINNER_NAME, dated))
    assert (outcome.counted, outcome.code) == (False, Code.DEPOSIT_AFTER_CLOSE)
    ledger = await ledger_store.ledger_for(world.pool, [sold.winner.sub_account])
    assert ledger.held(AccountKind.DEPOSIT, sold.winner.sub_account) == 0
    assert ledger.held(AccountKind.HELD_FOR_REFUND, sold.winner.sub_account) == 2 * WAN
    found = {r.deadline.deadline_id: r.deadline for r in await rows_store.of_session(world.pool, "S-LATEREPORT")}
    assert f"S-LATEREPORT:DEPOSIT_REFUND:{sold.winner.sub_account}:S-LATEREPORT-T9" in found
    assert await balanced(world.pool)
