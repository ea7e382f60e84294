"""A tender held for an outage across its bid deadline (RULES 6.7, as RULES 7.5 for a session):
the pure engine's suspension, resumption, refusals and replay, fed commands with `now`."""

from __future__ import annotations

import pytest

from auction.demo import _tender_words
from auction.domain.bidding.terms import HOUR, MINUTE, SECOND
from auction.domain.china import iso_cst
from auction.domain.codes import Code
from auction.domain.tender import commands as tc
from auction.domain.tender import events as te
from auction.domain.tender.status import StatusNow, TenderStatus
from auction.domain.tender.status import tender_status
from auction.domain.tender.tender import TenderPhase, recovery_suspension, replay
from tests.unit.test_tender import ENVELOPE, T0, WAN, Tender, refused

DEADLINE = T0 + 3 * HOUR  # terms(): bids open at T0 + 1 h, the deadline and the opening at T0 + 3 h
LAST_ALIVE = DEADLINE - 10 * MINUTE
STARTED = DEADLINE + 20 * MINUTE  # the server back, 30 minutes after its last sign of life


def with_bids(*prices_wan: int) -> tuple[Tender, list[tc.RevealedBid]]:
    tender = Tender()
    revealed = [tender.bid(no, price * WAN, now=T0 + 2 * HOUR + no) for no, price in enumerate(prices_wan, 1)]
    return tender, revealed


def held(tender: Tender) -> Tender:
    """The start-up check's suspension, decided at the time it names."""
    found = recovery_suspension(tender.state, LAST_ALIVE, STARTED)
    assert found is not None
    command, at = found
    tender.do(command, at)
    return tender


def resume(tender: Tender, deadline: int, opening: int | None = None, now: int = STARTED) -> list[te.TenderEvent]:
    return tender.do(tc.ResumeTender("停机故障已排除", deadline, deadline if opening is None else opening), now)


class TestRecoverySuspension:
    def test_down_across_the_deadline_suspends_from_the_last_sign_of_life(self) -> None:
        tender, _ = with_bids(900)
        found = recovery_suspension(tender.state, LAST_ALIVE, STARTED)
        assert found == (tc.SuspendTender(reason="SERVER_DOWN_PAST_DEADLINE", recovery=True), LAST_ALIVE)
        event = held(tender).events[-1]
        assert event == te.TenderSuspended(at=LAST_ALIVE, reason="SERVER_DOWN_PAST_DEADLINE", recovery=True)
        assert tender.state.phase is TenderPhase.SUSPENDED

    def test_never_dated_before_the_latest_event(self) -> None:
        """A bid after the last heartbeat (beats are seconds apart) is still before the suspension."""
        tender = Tender()
        tender.bid(1, 900 * WAN, now=LAST_ALIVE + 3 * SECOND)
        found = recovery_suspension(tender.state, LAST_ALIVE, STARTED)
        assert found is not None and found[1] == LAST_ALIVE + 3 * SECOND

    @pytest.mark.parametrize("last_alive, now", [
        (DEADLINE - MINUTE, DEADLINE - 1),  # back before the deadline: nothing was missed
        (DEADLINE, DEADLINE + HOUR),  # alive at the deadline itself: the deadline passed while it ran
        (DEADLINE + MINUTE, DEADLINE + HOUR),  # down across the opening only: it runs late, as before
    ])
    def test_nothing_is_held_unless_the_deadline_fell_in_the_outage(self, last_alive: int, now: int) -> None:
        tender, _ = with_bids(900)
        assert recovery_suspension(tender.state, last_alive, now) is None

    def test_opened_ended_or_already_held_tenders_are_left_alone(self) -> None:
        opened, revealed = with_bids(900, 950, 1000, 1100)
        opened.open(*revealed)
        assert recovery_suspension(opened.state, LAST_ALIVE, STARTED) is None
        terminated, _ = with_bids(900)
        terminated.do(tc.TerminateTender("撤回"), T0 + 2 * HOUR + MINUTE)
        assert recovery_suspension(terminated.state, LAST_ALIVE, STARTED) is None
        again = held(with_bids(900)[0])
        assert recovery_suspension(again.state, LAST_ALIVE, STARTED + HOUR) is None


class TestWhileSuspended:
    def test_no_bid_is_taken(self) -> None:
        tender = held(with_bids(900)[0])
        tender.do(tc.QualifyTenderBidder(9), T0 + HOUR)  # (before the fault: the test's own bidder)
        command = tc.SubmitSealedBid(9, "cd" * 32, ENVELOPE)
        rejected = refused(Code.TENDER_SUSPENDED, tender, command, STARTED)
        assert rejected.rejection.details == {"since": iso_cst(LAST_ALIVE), "reason": "SERVER_DOWN_PAST_DEADLINE"}

    def test_the_bids_are_not_opened(self) -> None:
        tender, revealed = with_bids(900, 950, 1000)
        held(tender)
        refused(Code.TENDER_SUSPENDED, tender, tc.OpenBids(tuple(revealed)), STARTED + HOUR)

    def test_the_status_says_suspended_since_the_last_sign_of_life(self) -> None:
        tender = held(with_bids(900)[0])
        assert tender_status(tender.state, STARTED) == StatusNow(TenderStatus.SUSPENDED, LAST_ALIVE)

    def test_the_sealed_bids_stand(self) -> None:
        tender, _ = with_bids(900, 950)
        before = tender.state.bids
        held(tender)
        assert tender.state.bids == before
        resume(tender, STARTED + 30 * MINUTE)
        assert tender.state.bids == before  # irrevocable: a bidder in already does not bid again
        refused(Code.TENDER_BID_ALREADY_SUBMITTED, tender, tc.SubmitSealedBid(1, "cd" * 32, ENVELOPE), STARTED + MINUTE)

    def test_a_second_suspension_is_refused(self) -> None:
        tender = held(with_bids(900)[0])
        refused(Code.ALREADY_SUSPENDED, tender, tc.SuspendTender("again", recovery=True), STARTED)

    def test_the_operator_may_terminate_it(self) -> None:
        tender = held(with_bids(900)[0])
        (ended,) = tender.do(tc.TerminateTender("停机影响投标，终止后重新公告"), STARTED)
        assert isinstance(ended, te.TenderEnded) and ended.outcome == "TERMINATED"
        assert tender.state.phase is TenderPhase.ENDED
        assert tender_status(tender.state, STARTED).status is TenderStatus.ENDED
        refused(Code.SESSION_CLOSED, tender, tc.ResumeTender("r", STARTED + MINUTE, STARTED + MINUTE), STARTED)


class TestResumption:
    def test_the_terms_in_force_carry_the_new_deadline_and_opening(self) -> None:
        tender = held(with_bids(900)[0])
        deadline, opening = STARTED + 20 * MINUTE, STARTED + 30 * MINUTE
        (event,) = resume(tender, deadline, opening)
        assert event == te.TenderResumed(at=STARTED, reason="停机故障已排除", bid_deadline=deadline, opening_at=opening)
        terms = tender.state.terms
        assert terms is not None and (terms.bid_deadline, terms.opening_at) == (deadline, opening)
        assert tender.state.phase is TenderPhase.CREATED
        assert tender_status(tender.state, STARTED) == StatusNow(TenderStatus.TAKING_BIDS, deadline)
        assert tender_status(tender.state, deadline) == StatusNow(TenderStatus.BIDS_CLOSED, opening)

    def test_a_bid_is_taken_until_the_new_deadline_and_opened_at_the_new_time(self) -> None:
        tender, revealed = with_bids(900, 950)
        held(tender)
        deadline = STARTED + 20 * MINUTE
        resume(tender, deadline)
        revealed.append(tender.bid(3, 1000 * WAN, now=deadline - 1))
        refused(Code.TENDER_BID_DEADLINE_PASSED, tender, tc.SubmitSealedBid(3, "cd" * 32, ENVELOPE), deadline)
        refused(Code.TENDER_OPENING_NOT_DUE, tender, tc.OpenBids(tuple(revealed)), deadline - 1)
        opened = tender.do(tc.OpenBids(tuple(revealed)), deadline)
        assert isinstance(opened[0], te.BidsOpened) and opened[0].valid_count == 3

    def test_within_the_hour_of_the_fault_the_new_deadline_may_come_at_once(self) -> None:
        """RULES 7.3 as for a session: the new deadline within the direct window of the fault."""
        tender = held(with_bids(900)[0])
        resume(tender, LAST_ALIVE + HOUR)
        assert tender.state.phase is TenderPhase.CREATED

    def test_past_the_hour_the_new_deadline_is_announced_a_day_ahead(self) -> None:
        tender = held(with_bids(900)[0])
        late = LAST_ALIVE + HOUR + 1
        rejected = refused(Code.RESUME_NOTICE_REQUIRED, tender, tc.ResumeTender("r", late, late), STARTED)
        assert rejected.rejection.details == {"earliest_bid_deadline": iso_cst(STARTED + 24 * HOUR)}
        resume(tender, STARTED + 24 * HOUR)  # announced a day ahead: taken
        assert tender.state.phase is TenderPhase.CREATED

    @pytest.mark.parametrize("deadline, opening, code, field", [
        (STARTED, STARTED + MINUTE, Code.INVALID_FIELD, "bid_deadline"),  # not later than now
        (STARTED - MINUTE, STARTED + MINUTE, Code.INVALID_FIELD, "bid_deadline"),
        (STARTED + 10 * MINUTE, STARTED + 5 * MINUTE, Code.INVALID_TERMS, "opening_at"),  # before the deadline
        ("soon", STARTED + MINUTE, Code.INVALID_FIELD, "bid_deadline"),
        (STARTED + MINUTE, None, Code.INVALID_FIELD, "opening_at"),
    ])
    def test_bad_times_are_refused_and_nothing_changes(self, deadline: object, opening: object, code: Code,
                                                        field: str) -> None:
        tender = held(with_bids(900)[0])
        command = tc.ResumeTender("r", deadline, opening)  # type: ignore[arg-type]
        assert refused(code, tender, command, STARTED).rejection.details["field"] == field

    def test_a_reason_is_required(self) -> None:
        tender = held(with_bids(900)[0])
        refused(Code.REASON_REQUIRED, tender, tc.ResumeTender(" ", STARTED + MINUTE, STARTED + MINUTE), STARTED)

    def test_only_a_suspended_tender_resumes(self) -> None:
        tender, _ = with_bids(900)
        refused(Code.NOT_SUSPENDED, tender, tc.ResumeTender("r", STARTED + MINUTE, STARTED + MINUTE), STARTED)
        held(tender)
        resume(tender, STARTED + MINUTE)
        refused(Code.NOT_SUSPENDED, tender, tc.ResumeTender("r", STARTED + MINUTE, STARTED + MINUTE), STARTED)


class TestReplay:
    def test_the_log_reproduces_the_suspension_the_resumption_and_the_result(self) -> None:
        tender, revealed = with_bids(900, 950)
        held(tender)
        deadline = STARTED + 20 * MINUTE
        resume(tender, deadline)
        revealed.append(tender.bid(3, 1000 * WAN, now=deadline - MINUTE))
        tender.do(tc.OpenBids(tuple(revealed)), deadline)
        assert replay(tender.events) == tender.state

    def test_the_new_events_round_trip_through_the_stored_form(self) -> None:
        tender = held(with_bids(900)[0])
        resume(tender, STARTED + MINUTE)
        stored = [te.event_from_dict(te.event_type(e), te.event_to_dict(e)) for e in tender.events]
        assert stored == tender.events
        assert replay(stored) == tender.state
        assert all(te.is_public(e) for e in tender.events[-2:])  # the public sees both, as a session's


class TestWhatARestartSays:
    """`make run` again (auction/demo): the demo's tender, held or about to be, in both languages."""

    def test_a_held_tender_is_said_suspended_since_its_last_sign_of_life(self) -> None:
        words = _tender_words(held(with_bids(900)[0]).state, None, STARTED)
        assert words.startswith("招标，已中止") and "中止时间" in words and "/ tender: Suspended" in words
        assert "恢复" in words and "resumes it" in words

    def test_one_down_across_its_deadline_is_said_to_be_suspended_at_start(self) -> None:
        tender, _ = with_bids(900)
        assert "启动时将中止" in _tender_words(tender.state, LAST_ALIVE, STARTED)
        assert "suspended at start" in _tender_words(tender.state, LAST_ALIVE, STARTED)
        assert "启动时将中止" not in _tender_words(tender.state, DEADLINE + MINUTE, STARTED)  # alive at the deadline
