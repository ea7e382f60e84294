"""The legal clock after the close (RULES 8, 9): the shell around `domain/clock/deadlines.py`.

At the close of a session (`process_close`, the reaction to `SessionFinal` (auction/bootstrap.py)
once a `SessionClosed` or `SessionTerminated` has committed, and again by the
catch-up sweep for any final session without a `session_closings` row), one
transaction books:

- the deposits' fate (`close_deposits`): the winner's deposit applied to the
  price, every other deposit held for refund (ledger entries);
- the deadline rows (`deadlines_at_close`): a Q31 refund per sub-account with
  money to refund, the Q29 publication, and the Q42 contract when there is a winner;
- the `session_closings` row that says this was done.

Each row has a timer (`jobs/deadlines.py`) at its warning and at the first
instant it is overdue; the timer runs `fire`, which judges by the row's instants
and `now`, never by when it runs. An overdue Q42 contract row is defaulted
(`apply_default`): the win is cancelled, the deposit forfeited (ledger), and a
re-offer is requested: with a plan service, a new draft plan for the same
parcel, linked to the old one in `reoffers`; without one, the instruction is
recorded there for operators.

A row whose count needs a calendar year that is not loaded stays
CALENDAR_MISSING until the year is loaded (`recompute_open`, run after every
load and by the sweep). A row counted through a provisional year (statutory
holidays only: `services/calendar.py`) is provisional until the official year
arrives; `recompute_rows` then recounts it and records a `DeadlineMoved` in
`deadline_moves` when its due date moves. A provisional contract row past its
date is shown overdue but not defaulted (Q42 waits for the official year).

A tender's end is a close like a session's (RULES 6.6, 8): `TenderFinal` runs the same
`process_close` with the tender's id (a sale, migrations/0018_sales.sql), so its winner's
deposit is applied to the price, the others' are refunded, and the winner gets the same
Q29/Q42 rows; an award counts as SOLD.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import asyncpg

from auction.domain.china import iso_cst
from auction.domain.codes import Code, Rejected
from auction.domain.clock.deadlines import (
    ClockRules,
    CloseOutcome,
    Deadline,
    DeadlineKind,
    DeadlineMoved,
    DeadlineState,
    contract_default,
    deadline_moved,
    deadlines_at_close,
    make_deadline,
    mark_overdue,
    recompute,
    record_contract_signed,
    record_done,
    working_days_left,
)
from auction.domain.deposit.deposits import close_deposits, confirm_refund
from auction.domain.deposit.ledger import Account, AccountKind, DepositLedger
from auction.domain.plan.plan_commands import DraftPlan
from auction.domain.bidding.session import Phase
from auction.domain.clock.workdays import CalendarYearMissing, WorkCalendar
from auction.reactions import DeadlineWritten, Reactions
from auction.services.calendar import CalendarStore, YearPreview
from auction.services.runner import Service, now_us
from auction.services.session import SessionService
from auction.store import deadlines as rows_store
from auction.store import deposits as ledger_store
from auction.store import plans as plan_rows
from auction.store.events import to_micros

from auction.store.tender import sales as tender_rows

if TYPE_CHECKING:
    from auction.services.plans import PlanService
    from auction.services.tender import TenderService

log = logging.getLogger(__name__)

RULE = {
    DeadlineKind.DEPOSIT_REFUND: "Q31",
    DeadlineKind.RESULT_PUBLICATION: "Q29",
    DeadlineKind.CONTRACT_SIGNING: "Q42",
    DeadlineKind.Q32_NOTICE: "Q32",
}
TITLE = {
    DeadlineKind.DEPOSIT_REFUND: "退还竞买保证金 / refund the deposit",
    DeadlineKind.RESULT_PUBLICATION: "公布出让结果 / publish the result",
    DeadlineKind.CONTRACT_SIGNING: "签订出让合同 / sign the transfer contract",
    DeadlineKind.Q32_NOTICE: "印送开竣工时间及开发利用条件 / send the Q32 notice",
}
# A tender's outcome as a close's (`session_closings.outcome`).
TENDER_OUTCOMES = {"AWARDED": "SOLD", "UNSOLD": "UNSOLD", "TERMINATED": "TERMINATED"}
REOFFER_SUFFIX = re.compile(r"^(.*)-R(\d+)$")
SYSTEM = "system:clock"


async def recompute_rows(
    pool: asyncpg.Pool, calendar: WorkCalendar, now: int
) -> tuple[list[Deadline], list[DeadlineMoved]]:
    """Every row a calendar change may move, recomputed under its row lock (RULES 9);
    returns those that changed, and the moves of known due dates (recorded in
    `deadline_moves` in the same transaction). Also what `auction calendar load` runs."""
    changed: list[Deadline] = []
    moved: list[DeadlineMoved] = []
    for deadline_id in await rows_store.ids_to_recompute(pool):
        async with pool.acquire() as con, con.transaction():
            record = await rows_store.get(con, deadline_id, for_update=True)
            if record is None:
                continue
            new = recompute(record.deadline, calendar, now)
            if new != record.deadline:
                await rows_store.update(con, new)
                changed.append(new)
                move = deadline_moved(record.deadline, new, calendar, now)
                if move is not None:
                    await rows_store.add_move(con, move)
                    moved.append(move)
                    log.warning("deadline %s (%s) moved from %s to %s: %s", move.deadline_id, RULE[move.kind],
                                move.old_due_date, move.new_due_date, move.reason)
    return changed, moved


def preview_rows(records: list[rows_store.Record], calendar: WorkCalendar, now: int) -> list[str]:
    """What a calendar would do to these rows, one line each (changes nothing)."""
    lines = []
    for record in records:
        old = record.deadline
        new = recompute(old, calendar, now)
        if new.due_date != old.due_date or new.provisional_years != old.provisional_years:
            flag = " (provisional)" if new.provisional else ""
            lines.append(f"  {old.deadline_id}: {old.due_date or old.state.value} -> {new.due_date}{flag}")
    return lines


def provisional_reason(years: tuple[int, ...] | list[int]) -> str | None:
    """Why a due date is provisional, for operators and notices (None when it is not)."""
    if not years:
        return None
    y = "、".join(str(year) for year in years)
    return (f"暂定：{y}年国务院节假日安排尚未导入，按《全国年节及纪念日放假办法》法定节假日推算（不含调休），"
            f"正式安排导入后自动重算 / provisional: the State Council's {y} schedule is not loaded yet; counted "
            "on the statutory holidays only (no make-up days), recomputed when the official year is loaded")


def next_plan_id(old_plan_id: str) -> str:
    """P-7 -> P-7-R1, P-7-R1 -> P-7-R2: the re-offer's plan id, linked by name as well."""
    match = REOFFER_SUFFIX.match(old_plan_id)
    if match:
        return f"{match.group(1)}-R{int(match.group(2)) + 1}"
    return f"{old_plan_id}-R1"


class Ending(NamedTuple):
    """How a sale ended, as its close is booked."""

    at: int  # µs UTC
    outcome: str  # SOLD, UNSOLD, TERMINATED
    winner_bidder_no: int | None
    price: int | None  # fen


class DeadlineService(Service):
    def __init__(
        self,
        pool: asyncpg.Pool,
        sessions: SessionService,
        calendar: CalendarStore,
        rules: ClockRules,
        *,
        plans: PlanService | None = None,
        clock: Callable[[], int] = now_us,
        reactions: Reactions | None = None,
        timer_of: Callable[[str], int | None] = lambda _id: None,
        tenders: TenderService | None = None,
    ) -> None:
        # `reactions` are told DeadlineWritten with every row written, after the commit (the
        # timers arm it); `timer_of` asks the timers when a row's timer fires (None: no timer).
        super().__init__(pool, clock, reactions)
        self.sessions = sessions
        self.calendar = calendar
        self.rules = rules
        self.plans = plans
        self.timer_of = timer_of
        self.tenders = tenders  # a tender's end starts the same clock (None: sessions only)

    # ------------------------------------------------------------------
    # the close

    async def process_close(self, session_id: str) -> bool:
        """Book the close's deposits and deadlines once (False: nothing to do). `session_id`
        may be a tender's (its end, `TenderFinal`)."""
        ended = await self.ending(session_id)
        if ended is None:
            return False
        if await rows_store.closing(self.pool, session_id) is not None:
            return False
        closed_at, outcome, winner_no, price = ended
        plan_id = await self.plan_of(session_id)
        calendar = await self.calendar.calendar()
        now = self.clock()
        async with self.unit_of_work() as work:
            con = work.con
            await rows_store.lock_closing(con, session_id)
            if await rows_store.closing(con, session_id) is not None:
                return False
            apps = await ledger_store.applications(con, session_id)
            winner = next((a for a in apps if winner_no is not None and a.bidder_no == winner_no), None)
            subs = [a.sub_account for a in apps]
            before = await ledger_store.ledger_for(con, subs)
            after, refunds = close_deposits(
                before, session_id=session_id, sub_accounts=subs,
                winner=winner.sub_account if winner else None, at=closed_at,
            )
            await ledger_store.insert_entries(con, ledger_store.new_entries(before, after), session_id)
            # The contract row names the winner's application; a stand-in bidder has none.
            subject = winner.application_id if winner else (f"bidder-{winner_no}" if winner_no is not None else None)
            outcome_ = CloseOutcome(session_id, plan_id, closed_at, subject, tuple(r.ref for r in refunds))
            created = await rows_store.insert(con, deadlines_at_close(outcome_, calendar, self.rules, now=now))
            await rows_store.add_closing(con, rows_store.Closing(
                session_id, closed_at, outcome, winner_no, winner.application_id if winner else None, price, plan_id,
            ))
            for row in created:
                work.notify(DeadlineWritten(row, None))
        log.info("session %s %s: %d deadlines, %d refunds", session_id, outcome, len(created), len(refunds))
        return True

    async def ending(self, sale_id: str) -> Ending | None:
        """How a session or a tender ended (None: not yet)."""
        if self.tenders is not None and await self.tenders.is_tender(sale_id):
            ended = (await self.tenders.fresh_state(sale_id)).ended
            if ended is None:
                return None
            return Ending(ended.at, TENDER_OUTCOMES[ended.outcome], ended.winner_bidder_no, ended.price)
        state = await self.sessions.state(sale_id)
        if not state.final:
            return None
        closed = state.closed
        if closed is not None:
            return Ending(closed.at, closed.outcome, closed.winner_bidder_no, closed.price)
        return Ending(state.last_at, "TERMINATED", None, None)

    async def refund_arrived_after_close(self, con: asyncpg.Connection, session_id: str, sub_account: str,
                                         txn_id: str, received_at: int) -> Deadline | None:
        """Money held for refund on a sub-account of a session already closed (a late
        payment, a second transfer): Q31's 3 working days run from its arrival. Called
        in the booking's transaction, after `lock_closing`. None when the close has not
        been booked yet (it will refund this money with the rest) or a refund row for
        the sub-account is still open (its confirmation refunds all the held money)."""
        if await rows_store.closing(con, session_id) is None:
            return None
        if await rows_store.open_refund(con, session_id, sub_account) is not None:
            return None
        created = await self._refund_row(con, session_id, sub_account, txn_id, received_at)
        log.info("session %s: money after the close on %s (txn %s), refund due %s",
                 session_id, sub_account, txn_id, created.due_date)
        return created

    async def _refund_row(self, con: asyncpg.Connection, session_id: str, sub_account: str, suffix: str,
                          started_at: int) -> Deadline:
        """A Q31 refund row for money still held on `sub_account`, beyond the close's own,
        counted from `started_at`; written on `con` (the caller's transaction)."""
        row = make_deadline(
            deadline_id=f"{session_id}:{DeadlineKind.DEPOSIT_REFUND.value}:{sub_account}:{suffix}",
            session_id=session_id, kind=DeadlineKind.DEPOSIT_REFUND, subject=sub_account,
            started_at=started_at, working_days=self.rules.refund_working_days,
            calendar=await self.calendar.calendar(con), now=self.clock(),
        )
        [created] = await rows_store.insert(con, [row])
        return created

    async def plan_of(self, session_id: str) -> str | None:
        """The supply plan the session (or tender) was created from, if any."""
        if not await plan_rows.plans_table_exists(self.pool):
            return None
        if self.tenders is not None and await self.tenders.is_tender(session_id):
            return await self.tenders.store.plan_of(session_id)
        return await plan_rows.plan_of_session(self.pool, session_id)

    async def announced_deposit_deadline(self, sale_id: str) -> int | None:
        """The deposit deadline the announcement of the sale's plan states (µs UTC), if any:
        an application's default (the desk's API and the portal). For a tender never after
        its registration closes, which its bid deadline may bring forward."""
        plan_id = await self.plan_of(sale_id) if self.plans is not None else None
        if self.plans is None or plan_id is None:
            return None
        schedule = (await self.plans.state(plan_id)).schedule
        if schedule is None:
            return None
        deadline: int = schedule.deposit_deadline
        if self.tenders is not None and await self.tenders.is_tender(sale_id):
            terms = (await self.tenders.fresh_state(sale_id)).terms
            assert terms is not None
            deadline = min(deadline, terms.registration_closes_at)
        return deadline

    # ------------------------------------------------------------------
    # timers and catching up

    async def fire(self, deadline_id: str) -> Deadline | None:
        """A row's timer: warn, mark overdue, and default an overdue contract (Q42)."""
        now = self.clock()
        calendar = await self.calendar.calendar()
        async with self.pool.acquire() as con, con.transaction():
            record = await rows_store.get(con, deadline_id, for_update=True)
            if record is None:
                return None
            row = record.deadline
            new = mark_overdue(recompute(row, calendar, now), now)
            warned = record.warned_at
            if warned is None and new.is_warning(now):
                warned = now
                log.warning("deadline %s (%s) is due by %s", new.deadline_id, RULE[new.kind], iso_cst(new.due_at))
            if new != row or warned != record.warned_at:
                await rows_store.update(con, new, warned)
        if new.state is DeadlineState.OVERDUE and row.state is not DeadlineState.OVERDUE:
            log.warning("deadline %s (%s) is OVERDUE", new.deadline_id, RULE[new.kind])
        if new.kind is DeadlineKind.CONTRACT_SIGNING and new.state is DeadlineState.OVERDUE:
            if new.provisional:  # Q42: no forfeit on a provisional date; recounted when the year arrives
                log.warning("deadline %s is past its provisional date %s: no Q42 default until the %s "
                            "calendar is confirmed", new.deadline_id, new.due_date, new.provisional_years)
            else:
                return await self.apply_default(deadline_id)
        self.reactions.notify(DeadlineWritten(new, warned))
        return new

    async def apply_default(self, deadline_id: str) -> Deadline:
        """Q42: the contract was not signed in time (see the module docstring)."""
        now = self.clock()
        async with self.unit_of_work() as work:
            con = work.con
            record = await rows_store.get(con, deadline_id, for_update=True)
            if record is None:
                raise Rejected(Code.NOT_FOUND, deadline_id=deadline_id)
            row = record.deadline
            if row.state is DeadlineState.DEFAULTED:
                return row
            closing = await rows_store.closing(con, row.session_id)
            app = None
            if closing is not None and closing.winner_application_id is not None:
                app = await ledger_store.application(con, closing.winner_application_id)
            sub = app.sub_account if app is not None else ""
            before = await ledger_store.ledger_for(con, [sub]) if sub else DepositLedger()
            plan_id = closing.plan_id if closing is not None else None
            result = contract_default(row, ledger=before, winner_sub_account=sub, plan_id=plan_id, now=now)
            await ledger_store.insert_entries(con, ledger_store.new_entries(before, result.ledger), row.session_id)
            await rows_store.update(con, result.deadline)
            await rows_store.add_clock_events(con, result.events)
            await rows_store.request_reoffer(con, row.session_id, plan_id)
            work.notify(DeadlineWritten(result.deadline, record.warned_at))
        log.warning("session %s: contract not signed by %s: win cancelled, deposit forfeited, re-offer requested",
                    row.session_id, iso_cst(row.due_at))
        await self.reoffer(row.session_id)
        return result.deadline

    async def reoffer(self, session_id: str) -> str | None:
        """Draft the re-offer plan (Q42) if there is a plan service and an old plan; returns its id."""
        row = await rows_store.reoffer(self.pool, session_id)
        if row is None or row["new_plan_id"] is not None:
            return row["new_plan_id"] if row is not None else None
        old_plan_id = row["old_plan_id"]
        if self.plans is None or old_plan_id is None:
            if not row["note"]:
                note = ("re-offer instruction recorded: the session has no supply plan; draft one for parcel "
                        "by hand" if old_plan_id is None else "re-offer instruction recorded: no plan service")
                await rows_store.set_reoffer_note(self.pool, session_id, note)
            return None
        try:
            old = await self.plans.state(old_plan_id)
            draft = old.draft
            assert draft is not None
            new_plan_id = next_plan_id(old_plan_id)
            await self.plans.draft(DraftPlan(
                by=SYSTEM,
                plan_id=new_plan_id,
                parcels=(draft.parcel,),
                method=draft.method,
                start_price=draft.start_price,
                increment=draft.increment,
                deposit=draft.deposit,
                bidder_conditions=draft.bidder_conditions,
            ))
        except Rejected as r:
            if r.code is not Code.PLAN_EXISTS:
                await rows_store.set_reoffer_note(self.pool, session_id, f"re-offer draft refused: {r.code.value}")
                log.warning("session %s: re-offer draft refused: %s", session_id, r)
                return None
        await rows_store.reoffer_drafted(self.pool, session_id, new_plan_id,
                                         f"drafted from {old_plan_id} after the Q42 default")
        log.info("session %s: re-offer drafted as plan %s (from %s)", session_id, new_plan_id, old_plan_id)
        return new_plan_id

    async def recompute_open(self) -> list[Deadline]:
        """After a calendar change: fill in due dates that were missing (RULES 9), move pending
        and provisional rows (recording the moves), mark overdue ones. Returns the rows that changed."""
        changed, _ = await recompute_rows(self.pool, await self.calendar.calendar(), self.clock())
        for row in changed:
            self.reactions.notify(DeadlineWritten(row, None))
        return changed

    async def catch_up(self) -> None:
        """What the sweep and the start-up run: closings not yet booked, rows a calendar
        load may have moved, contracts overdue and not defaulted, re-offers not drafted."""
        for session_id in await rows_store.unprocessed_final_sessions(self.pool):
            self.sessions.forget(session_id)  # another node may have closed it
            await self.process_close(session_id)
        if self.tenders is not None:
            for tender_id in await tender_rows.unprocessed_ended(self.pool):
                await self.process_close(tender_id)
        await self.recompute_open()
        for record in await rows_store.open_records(self.pool):
            row = record.deadline
            if self.timer_of(row.deadline_id) is None:
                self.reactions.notify(DeadlineWritten(row, record.warned_at))  # e.g. a row the CLI recomputed
            if row.state is DeadlineState.PENDING and row.overdue_from is not None and self.clock() >= row.overdue_from:
                await self.fire(row.deadline_id)
            elif (row.kind is DeadlineKind.CONTRACT_SIGNING and row.state is DeadlineState.OVERDUE
                  and not row.provisional):
                await self.apply_default(row.deadline_id)
        for session_id in await rows_store.pending_reoffers(self.pool):
            await self.reoffer(session_id)

    # ------------------------------------------------------------------
    # operators

    async def done(self, deadline_id: str, *, by: str, done_at: int, bank_txn_id: str | None = None,
                   amount_fen: int | None = None) -> list[Deadline]:
        """Record the thing done: the result published, the Q32 notice sent, a refund the bank
        confirmed (`bank_txn_id` required: the ledger moves the money to REFUNDED), or the
        contract signed (then the Q32 row is created). Returns the rows written.

        A refund: `amount_fen` is what the bank confirmed it paid back (default: all the
        sub-account holds for refund). Money still held after it (e.g. a payment that
        arrived after the refund instruction went to the bank) gets a new refund row,
        in the same transaction, so it is never left without a deadline."""
        record = await rows_store.get(self.pool, deadline_id)
        if record is None:
            raise Rejected(Code.NOT_FOUND, "no such deadline", deadline_id=deadline_id)
        if record.deadline.kind is DeadlineKind.CONTRACT_SIGNING:
            return list(await self.contract_signed(record.deadline.session_id, by=by, signed_at=done_at))
        if record.deadline.kind is DeadlineKind.RESULT_PUBLICATION:
            confirmed = await self._require_result_delivered(record.deadline.session_id)
            if confirmed is not None and done_at < confirmed:
                # Q29 is met when the last channel confirmed, not earlier.
                raise Rejected(Code.INVALID_FIELD, "done_at is before every channel confirmed the result",
                               field="done_at", confirmed_at=iso_cst(confirmed))
        now = self.clock()
        rest: Deadline | None = None
        async with self.unit_of_work() as work:
            con = work.con
            if record.deadline.kind is DeadlineKind.DEPOSIT_REFUND:
                # Payments to the sub-account wait (services/deposits.py `_book` takes the same lock):
                # what is held is what this confirmation sees.
                await rows_store.lock_closing(con, record.deadline.session_id)
            locked = await rows_store.get(con, deadline_id, for_update=True)
            assert locked is not None
            row = locked.deadline
            new = record_done(row, by=by, done_at=done_at, now=now)  # DEADLINE_ALREADY_DONE first
            if row.kind is DeadlineKind.DEPOSIT_REFUND:
                if not bank_txn_id or not isinstance(bank_txn_id, str):
                    raise Rejected(Code.INVALID_FIELD, "a refund is done when the bank confirms it: bank_txn_id",
                                   field="bank_txn_id")
                before = await ledger_store.ledger_for(con, [row.subject], [f"refund:{bank_txn_id}"])
                held = before.held(AccountKind.HELD_FOR_REFUND, row.subject)
                amount = held if amount_fen is None else amount_fen
                if amount_fen is not None and amount_fen <= 0:
                    raise Rejected(Code.INVALID_AMOUNT, "amount_fen", field="amount_fen")
                if amount_fen is not None and amount_fen > held:  # the bank cannot have refunded more than is held
                    raise Rejected(Code.LEDGER_INSUFFICIENT_FUNDS, "amount_fen is more than is held for refund",
                                   account=str(Account(AccountKind.HELD_FOR_REFUND, row.subject)), balance=held,
                                   held_fen=held)
                if before.entry(f"refund:{bank_txn_id}") is not None:
                    raise Rejected(Code.INVALID_FIELD, "this bank_txn_id already confirmed another refund",
                                   field="bank_txn_id")
                if held > 0:
                    after = confirm_refund(before, ref=row.subject, amount=amount, bank_txn_id=bank_txn_id,
                                           at=done_at)
                    await ledger_store.insert_entries(con, ledger_store.new_entries(before, after), row.session_id)
                if held - amount > 0:
                    rest = await self._refund_row(con, row.session_id, row.subject, f"rest-{bank_txn_id}", done_at)
            await rows_store.update(con, new)
            work.notify(DeadlineWritten(new, locked.warned_at))
            if rest is not None:
                work.notify(DeadlineWritten(rest, None))
        return [new] if rest is None else [new, rest]

    async def _require_result_delivered(self, session_id: str) -> int | None:
        """Q29 counts as met only when every required channel confirmed the result (docs/publication.md):
        when it was (µs), or None for a session made through the test/demo stand-in (no
        plan, no documents)."""
        from auction.store.publication import result_confirmed_at

        plan_id = await self.plan_of(session_id)
        if plan_id is None:
            return None
        confirmed = await result_confirmed_at(self.pool, plan_id)
        if confirmed is None:
            raise Rejected(Code.Q29_RESULT_NOT_DELIVERED, plan_id=plan_id)
        return to_micros(confirmed)

    async def contract_signed(self, session_id: str, *, by: str, signed_at: int) -> tuple[Deadline, Deadline]:
        """Q42 signing recorded; the Q32 notice row starts (3 working days). A tender's winner's too."""
        if self.tenders is not None and await self.tenders.is_tender(session_id):
            tender = await self.tenders.fresh_state(session_id)
            if tender.ended is None or tender.ended.outcome != "AWARDED":
                raise Rejected(Code.SESSION_NOT_SOLD, phase=tender.phase.value)
        else:
            state = await self.sessions.state(session_id)
            if state.phase is not Phase.CLOSED or state.closed is None or state.closed.outcome != "SOLD":
                raise Rejected(Code.SESSION_NOT_SOLD, phase=state.phase.value)
        calendar = await self.calendar.calendar()
        now = self.clock()
        async with self.unit_of_work() as work:
            con = work.con
            found = await rows_store.of_session(con, session_id, DeadlineKind.CONTRACT_SIGNING, for_update=True)
            if not found:
                raise Rejected(Code.NOT_FOUND, "no contract deadline for this session (yet)", session_id=session_id)
            done, notice = record_contract_signed(
                found[0].deadline, by=by, signed_at=signed_at, now=now, calendar=calendar, rules=self.rules
            )
            await rows_store.update(con, done)
            await rows_store.insert(con, [notice])
            work.notify(DeadlineWritten(done, found[0].warned_at))
            work.notify(DeadlineWritten(notice, None))
        log.info("session %s: contract signed by %s at %s", session_id, by, iso_cst(signed_at))
        return done, notice

    async def load_year(self, text: str | bytes, by: str) -> tuple[YearPreview, list[Deadline]]:
        """An operator's year file (RULES 9): checked, stored, then every open or provisional row
        recomputed (moves recorded)."""
        preview = await self.calendar.load(text, by)
        return preview, await self.recompute_open()

    async def preview_year(self, text: str | bytes) -> tuple[YearPreview, list[str]]:
        """What loading the year file would change: its days and the rows it would move."""
        preview = await self.calendar.preview(text)
        if preview.already:
            return preview, []
        calendar = (await self.calendar.calendar()).with_year(preview.year)
        ids = await rows_store.ids_to_recompute(self.pool)
        records = [r for i in ids if (r := await rows_store.get(self.pool, i)) is not None]
        return preview, preview_rows(records, calendar, self.clock())

    # ------------------------------------------------------------------
    # views

    async def view(self, records: list[rows_store.Record]) -> list[dict[str, Any]]:
        calendar = await self.calendar.calendar()
        now = self.clock()
        moves: dict[str, list[dict[str, Any]]] = {}
        if records:
            found = await rows_store.moves(self.pool, deadline_ids=[r.deadline.deadline_id for r in records],
                                           limit=10_000)
            for move in found:
                moves.setdefault(move["deadline_id"], []).append(
                    {k: (iso_cst(v) if k == "at" else v) for k, v in move.items()
                     if k not in ("deadline_id", "session_id", "kind")})
        return [{**self._view(r, calendar, now), "moves": moves.get(r.deadline.deadline_id, [])} for r in records]

    def _view(self, record: rows_store.Record, calendar: WorkCalendar, now: int) -> dict[str, Any]:
        row = record.deadline
        shown = mark_overdue(row, now)  # a timer that has not fired yet does not hide an overdue row
        left = working_days_left(row, calendar, now) if row.is_open else None
        missing = row.missing_year
        if isinstance(left, CalendarYearMissing):
            missing, left = left.year, None
        return {
            "deadline_id": row.deadline_id,
            "session_id": row.session_id,
            "kind": row.kind.value,
            "rule": RULE[row.kind],
            "title": TITLE[row.kind],
            "subject": row.subject,
            "state": shown.state.value,
            "warning": shown.is_warning(now),
            "code": Code.CALENDAR_YEAR_MISSING.value if row.state is DeadlineState.CALENDAR_MISSING else None,
            "missing_year": missing,
            "working_days": row.working_days,
            "started_at": iso_cst(row.started_at),
            "counted_from": row.counted_from.isoformat(),
            "due_date": row.due_date.isoformat() if row.due_date else None,
            "due_at": iso_cst(row.due_at),
            "warn_at": iso_cst(row.warn_at),
            "warned_at": iso_cst(record.warned_at),
            "working_days_left": left,
            "provisional": row.provisional,
            "provisional_years": list(row.provisional_years),
            "provisional_reason": provisional_reason(row.provisional_years),
            "done_at": iso_cst(row.done_at),
            "done_by": row.done_by,
            "done_late": row.done_late,
            "timer_at": iso_cst(self.timer_of(row.deadline_id)),
        }
