"""Faults: suspension, resumption, termination and recovery after downtime (RULES 7)."""

from __future__ import annotations

import pytest

from auction.domain.codes import Code
from auction.domain.bidding.commands import Close, Resume, Suspend, Terminate
from auction.domain.bidding.events import (
    BidAccepted,
    ResumptionCancelled,
    ResumptionScheduled,
    SessionClosed,
    SessionOpened,
    SessionResumed,
    SessionSuspended,
    SessionTerminated,
    TimedBiddingStarted,
)
from auction.domain.bidding.session import Phase, SessionState, decide, recovery_suspension
from auction.domain.bidding.terms import SessionRules

from .helpers import (
    COMMITMENT, COUNTDOWN, DAY, HOUR, INCREMENT, LISTING_END, MINUTE, RESERVE, SECOND, START_AT, START_PRICE,
    Recorder, auction_terms, listing_terms, open_listing, reveal,
)

T = START_AT + HOUR  # inside the listing
FAULT = Suspend(reason="数据库故障")


def into_timed_bidding() -> Recorder:
    r = open_listing()
    r.bid(1, START_PRICE, T)
    r.bid(2, RESERVE, T + SECOND)
    r.advance(LISTING_END)
    return r


@pytest.mark.parametrize(
    ("command", "reason"),
    [(Suspend, ""), (Suspend, "  \t"), (Terminate, ""), (Terminate, "   ")],
    ids=["suspend-empty", "suspend-blank", "terminate-empty", "terminate-blank"],
)
def test_a_suspension_or_termination_needs_a_reason(command: type[Suspend | Terminate], reason: str) -> None:
    """RULES 7.2, 7.4: a suspension and a termination state their reason."""
    r = open_listing()
    assert r.reject(command(reason=reason), T).code is Code.REASON_REQUIRED


class TestRule7_2_Suspension:
    def test_suspend_stops_bidding(self) -> None:
        r = open_listing()
        [event] = r.do(FAULT, T)
        assert event == SessionSuspended(at=T, reason="数据库故障", recovery=False)
        assert r.state.phase is Phase.SUSPENDED
        rej = r.reject_bid(1, START_PRICE, T + SECOND)
        assert rej.code is Code.SESSION_SUSPENDED and rej.details["resume_at"] is None
        assert r.state.next_wakeup() is None  # nothing happens by time alone

    def test_twice(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        assert r.reject(FAULT, T + SECOND).code is Code.ALREADY_SUSPENDED

    def test_listing_end_pushed_back_by_the_frozen_time(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        r.do(Resume(reason="已修复"), T + 40 * MINUTE)
        new_end = LISTING_END + 40 * MINUTE
        assert (r.state.deadline, r.state.listing_end_at) == (new_end, new_end)
        assert r.state.phase is Phase.LISTING
        [event] = r.bid(1, START_PRICE, LISTING_END)  # the old end no longer counts
        assert isinstance(event, BidAccepted) and event.deadline == new_end
        assert r.reject_bid(2, START_PRICE + INCREMENT, new_end).code is Code.DEADLINE_PASSED
        assert r.reject(reveal(), new_end - 1).code is Code.CLOSE_NOT_DUE
        [closed] = r.do(reveal(), new_end + HOUR)
        assert closed.at == new_end

    def test_frozen_time_adds_up_over_several_faults(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        r.do(Resume(reason="ok"), T + 10 * MINUTE)
        r.do(FAULT, T + DAY)
        r.do(Resume(reason="ok"), T + DAY + 20 * MINUTE)
        assert r.state.deadline == LISTING_END + 30 * MINUTE

    def test_pushed_listing_end_moves_timed_bidding_too(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        r.do(FAULT, T + MINUTE)
        r.do(Resume(reason="ok"), T + 31 * MINUTE)
        assert r.advance(LISTING_END) == []
        [event] = r.advance(LISTING_END + DAY)
        new_end = LISTING_END + 30 * MINUTE
        assert event == TimedBiddingStarted(at=new_end, deadline=new_end + COUNTDOWN)

    def test_timed_bidding_restarts_the_full_countdown(self) -> None:
        r = into_timed_bidding()
        r.bid(1, RESERVE + INCREMENT, LISTING_END + MINUTE)  # countdown ends at +6 min
        r.do(FAULT, LISTING_END + 5 * MINUTE)  # one minute left
        resumed_at = LISTING_END + 50 * MINUTE
        [event] = r.do(Resume(reason="ok"), resumed_at)
        assert event == SessionResumed(at=resumed_at, reason="ok")
        assert r.state.phase is Phase.TIMED_BIDDING
        assert r.state.deadline == resumed_at + COUNTDOWN
        assert r.bid(2, RESERVE + 2 * INCREMENT, resumed_at + COUNTDOWN - 1)

    def test_auction_restarts_the_full_countdown(self) -> None:
        r = Recorder(auction_terms())
        r.open()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        r.do(FAULT, START_AT + 5 * MINUTE + 59 * SECOND)  # one second left
        r.do(Resume(reason="ok"), START_AT + 30 * MINUTE)
        assert r.state.phase is Phase.AUCTION
        assert r.state.deadline == START_AT + 30 * MINUTE + COUNTDOWN
        assert r.reject(Close(reserve=None), START_AT + 30 * MINUTE + COUNTDOWN - 1).code is Code.CLOSE_NOT_DUE
        [closed] = r.do(Close(reserve=None), START_AT + 30 * MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed) and closed.winner_bidder_no == 1

    def test_suspend_before_the_open_pushes_the_open_back(self) -> None:
        r = Recorder(listing_terms())
        r.do(FAULT, START_AT - HOUR)
        r.do(Resume(reason="ok"), START_AT - 30 * MINUTE)
        assert r.state.opens_at == START_AT + 30 * MINUTE
        assert r.state.listing_end_at == LISTING_END + 30 * MINUTE
        assert r.reject_bid(1, START_PRICE, START_AT).code is Code.SESSION_NOT_OPEN
        [event] = r.advance(START_AT + 30 * MINUTE)
        assert event == SessionOpened(
            at=START_AT + 30 * MINUTE, phase="LISTING", deadline=LISTING_END + 30 * MINUTE, has_reserve=True, reserve_commitment=COMMITMENT
        )

    def test_auction_open_pushed_back(self) -> None:
        r = Recorder(auction_terms())
        r.do(FAULT, START_AT - 10 * MINUTE)
        r.do(Resume(reason="ok"), START_AT + 20 * MINUTE)
        [event] = r.advance(START_AT + DAY)
        assert event == SessionOpened(at=START_AT + 30 * MINUTE, phase="AUCTION", deadline=START_AT + 30 * MINUTE + COUNTDOWN)

    def test_not_after_the_deadline(self) -> None:
        r = open_listing()
        rej = r.reject(FAULT, LISTING_END)
        assert rej.code is Code.DEADLINE_PASSED and rej.details["deadline"] == LISTING_END

    def test_not_after_the_close(self) -> None:
        r = open_listing()
        r.do(reveal(), LISTING_END)
        assert r.reject(FAULT, LISTING_END + 1).code is Code.SESSION_CLOSED

    def test_close_is_not_due_while_suspended(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        assert r.reject(reveal(), LISTING_END + DAY).code is Code.CLOSE_NOT_DUE


class TestRule7_3_Resumption:
    def test_direct_within_the_hour(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        [event] = r.do(Resume(reason="ok"), T + HOUR)  # exactly one hour: still direct
        assert event == SessionResumed(at=T + HOUR, reason="ok")

    def test_over_the_hour_needs_notice(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        rej = r.reject(Resume(reason="ok"), T + HOUR + 1)
        assert rej.code is Code.RESUME_NOTICE_REQUIRED
        assert rej.details["earliest_resume_at"] == T + HOUR + 1 + 24 * HOUR

    def test_notice_shorter_than_the_setting_is_refused(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        now = T + 2 * HOUR
        assert r.reject(Resume(reason="ok", resume_at=now + 24 * HOUR - 1), now).code is Code.RESUME_NOTICE_REQUIRED

    def test_the_notice_is_a_setting(self) -> None:
        r = open_listing(rules=SessionRules(resume_notice=5 * DAY))  # P: Suzhou
        r.do(FAULT, T)
        rej = r.reject(Resume(reason="ok", resume_at=T + 2 * HOUR + 4 * DAY), T + 2 * HOUR)
        assert rej.details["earliest_resume_at"] == T + 2 * HOUR + 5 * DAY

    def test_scheduled_resumption(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T - MINUTE)
        r.do(FAULT, T)
        now = T + 3 * HOUR
        resume_at = now + 24 * HOUR
        [event] = r.do(Resume(reason="公告恢复", resume_at=resume_at), now)
        assert event == ResumptionScheduled(at=now, resume_at=resume_at, reason="公告恢复")
        assert r.state.phase is Phase.SUSPENDED and r.state.next_wakeup() == resume_at
        rej = r.reject_bid(2, START_PRICE + INCREMENT, resume_at - 1)
        assert rej.code is Code.SESSION_SUSPENDED and rej.details["resume_at"] == resume_at
        assert r.advance(resume_at - 1) == []
        [resumed] = r.advance(resume_at + 5 * HOUR)  # a late timer: stamped at resume_at
        assert resumed == SessionResumed(at=resume_at, reason="SCHEDULED_RESUMPTION")
        assert r.state.phase is Phase.LISTING
        assert r.state.deadline == LISTING_END + (resume_at - T)

    def test_a_bid_at_the_scheduled_instant_resumes_and_counts(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        resume_at = T + 2 * HOUR + 24 * HOUR
        r.do(Resume(reason="ok", resume_at=resume_at), T + 2 * HOUR)
        events = r.bid(1, START_PRICE, resume_at)
        assert [type(e) for e in events] == [SessionResumed, BidAccepted]

    def test_scheduled_resumption_before_the_open_then_opens(self) -> None:
        r = Recorder(listing_terms())
        r.do(FAULT, START_AT - 10 * MINUTE)
        resume_at = START_AT + 2 * HOUR + 24 * HOUR
        r.do(Resume(reason="ok", resume_at=resume_at), START_AT + 2 * HOUR)
        frozen = resume_at - (START_AT - 10 * MINUTE)
        events = r.advance(resume_at + HOUR)
        assert events == [
            SessionResumed(at=resume_at, reason="SCHEDULED_RESUMPTION"),
            SessionOpened(
            at=START_AT + frozen, phase="LISTING", deadline=LISTING_END + frozen, has_reserve=True, reserve_commitment=COMMITMENT
        ),
        ]

    def test_direct_window_may_be_used_for_a_short_schedule(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        [event] = r.do(Resume(reason="ok", resume_at=T + 50 * MINUTE), T + 10 * MINUTE)
        assert isinstance(event, ResumptionScheduled) and event.resume_at == T + 50 * MINUTE

    def test_a_new_fault_cancels_the_announced_resumption(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        r.do(Resume(reason="ok", resume_at=T + 30 * HOUR), T + 2 * HOUR)
        [event] = r.do(Suspend(reason="再次故障"), T + 3 * HOUR)
        assert event == ResumptionCancelled(at=T + 3 * HOUR, reason="再次故障")
        assert r.state.phase is Phase.SUSPENDED and r.state.resume_at is None
        assert r.advance(T + 40 * HOUR) == []

    def test_not_suspended(self) -> None:
        r = open_listing()
        assert r.reject(Resume(reason="ok"), T).code is Code.NOT_SUSPENDED

    def test_a_reason_is_required(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        assert r.reject(Resume(reason=" "), T + MINUTE).code is Code.REASON_REQUIRED

    def test_resume_at_in_the_past(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        assert r.reject(Resume(reason="ok", resume_at=T + MINUTE - 1), T + MINUTE).code is Code.INVALID_FIELD


class TestRule7_4_Termination:
    def test_ends_the_session_unsold(self) -> None:
        r = open_listing()
        r.bid(1, RESERVE, T)
        [event] = r.do(Terminate(reason="规划调整"), T + MINUTE)
        assert event == SessionTerminated(at=T + MINUTE, reason="规划调整")
        assert r.state.phase is Phase.TERMINATED and r.state.final
        assert r.state.end_reason == "规划调整" and r.state.closed is None
        assert r.reject_bid(2, RESERVE + INCREMENT, T + 2 * MINUTE).code is Code.SESSION_CLOSED
        assert r.reject(reveal(), LISTING_END).code is Code.SESSION_CLOSED
        assert r.state.next_wakeup() is None

    def test_from_any_non_final_phase(self) -> None:
        scheduled = Recorder(listing_terms())
        assert scheduled.do(Terminate(reason="x"), START_AT - DAY)
        suspended = open_listing()
        suspended.do(FAULT, T)
        suspended.do(Resume(reason="ok", resume_at=T + 30 * HOUR), T + 2 * HOUR)
        suspended.do(Terminate(reason="x"), T + 3 * HOUR)
        assert suspended.advance(T + 40 * HOUR) == []  # the announced resumption no longer happens
        held = open_listing()
        held.do(Close(reserve=None), LISTING_END)
        held.do(Terminate(reason="底价无法核验"), LISTING_END + HOUR)
        assert held.state.phase is Phase.TERMINATED

    def test_not_twice_nor_after_the_close(self) -> None:
        r = open_listing()
        r.do(Terminate(reason="x"), T)
        assert r.reject(Terminate(reason="y"), T + 1).code is Code.SESSION_CLOSED
        closed = open_listing()
        closed.do(reveal(), LISTING_END)
        assert closed.reject(Terminate(reason="y"), LISTING_END + 1).code is Code.SESSION_CLOSED


RECOVER = Suspend(reason="SERVER_DOWN_PAST_DEADLINE", recovery=True)


class TestRule7_5_Recovery:
    def test_down_past_the_listing_end(self) -> None:
        r = open_listing()
        r.bid(1, RESERVE, T)
        last_alive = LISTING_END - HOUR
        found = recovery_suspension(r.state, last_alive, LISTING_END + HOUR)
        assert found == (RECOVER, last_alive)
        cmd, at = found
        [event] = r.do(cmd, at)
        assert event == SessionSuspended(at=last_alive, reason="SERVER_DOWN_PAST_DEADLINE", recovery=True)
        # Not closed: bidders get their lost hour back after the announced resumption.
        now = LISTING_END + HOUR
        r.do(Resume(reason="恢复", resume_at=now + 24 * HOUR), now)
        r.advance(now + 24 * HOUR)
        assert r.state.deadline == LISTING_END + (now + 24 * HOUR - last_alive)
        assert r.bid(2, RESERVE + INCREMENT, now + 24 * HOUR + MINUTE)

    def test_deadline_exactly_at_now(self) -> None:
        r = open_listing()
        assert recovery_suspension(r.state, LISTING_END - 1, LISTING_END) == (RECOVER, LISTING_END - 1)

    @pytest.mark.parametrize("last_alive", [LISTING_END, LISTING_END + 1])
    def test_alive_at_the_deadline(self, last_alive: int) -> None:
        r = open_listing()
        assert recovery_suspension(r.state, last_alive, LISTING_END + DAY) is None

    def test_nothing_fell_due(self) -> None:
        r = open_listing()
        assert recovery_suspension(r.state, T, T + HOUR) is None
        assert recovery_suspension(r.state, T, LISTING_END - 1) is None

    def test_open_fell_due(self) -> None:
        r = Recorder(listing_terms())
        found = recovery_suspension(r.state, START_AT - MINUTE, START_AT + MINUTE)
        assert found == (RECOVER, START_AT - MINUTE)
        cmd, at = found
        r.do(cmd, at)
        assert r.state.phase is Phase.SUSPENDED and r.state.suspended_from is Phase.SCHEDULED

    def test_open_already_due_while_alive_is_no_fault(self) -> None:
        # The open was due while the server ran (the timer just had not fired): nothing else fell due.
        r = Recorder(listing_terms())
        assert recovery_suspension(r.state, START_AT + MINUTE, START_AT + HOUR) is None

    def test_timed_countdown_fell_due(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, RESERVE, T + SECOND)
        last_alive = LISTING_END + MINUTE  # alive at the listing end, down before the countdown ran out
        found = recovery_suspension(r.state, last_alive, LISTING_END + HOUR)
        assert found == (RECOVER, last_alive)
        cmd, at = found
        events = r.do(cmd, at)
        assert [type(e) for e in events] == [TimedBiddingStarted, SessionSuspended]
        r.do(Resume(reason="ok"), last_alive + 30 * MINUTE)
        assert r.state.deadline == last_alive + 30 * MINUTE + COUNTDOWN

    def test_auction_countdown_fell_due(self) -> None:
        r = Recorder(auction_terms())
        r.open()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        found = recovery_suspension(r.state, START_AT + 2 * MINUTE, START_AT + HOUR)
        assert found == (RECOVER, START_AT + 2 * MINUTE)

    def test_suspended_at_the_last_event_if_later(self) -> None:
        # `last_alive` from a stale heartbeat: the log proves the server ran until its last event.
        r = open_listing()
        r.bid(1, START_PRICE, LISTING_END - MINUTE)
        assert recovery_suspension(r.state, T, LISTING_END + HOUR) == (RECOVER, LISTING_END - MINUTE)

    def test_final_or_held_or_uncreated(self) -> None:
        closed = open_listing()
        closed.do(reveal(), LISTING_END)
        assert recovery_suspension(closed.state, LISTING_END, LISTING_END + 10 * DAY) is None
        held = open_listing()
        held.do(Close(reserve=None), LISTING_END)
        assert recovery_suspension(held.state, LISTING_END, LISTING_END + 10 * DAY) is None
        assert recovery_suspension(SessionState(), 0, LISTING_END) is None

    def test_already_suspended_without_schedule(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        assert recovery_suspension(r.state, T + MINUTE, LISTING_END + DAY) is None

    def test_announced_resumption_fell_due_is_cancelled(self) -> None:
        r = open_listing()
        r.do(FAULT, T)
        r.do(Resume(reason="ok", resume_at=T + 30 * HOUR), T + 2 * HOUR)
        found = recovery_suspension(r.state, T + 29 * HOUR, T + 31 * HOUR)
        assert found == (RECOVER, T + 29 * HOUR)
        cmd, at = found
        [event] = decide(r.state, cmd, at)
        assert isinstance(event, ResumptionCancelled)
