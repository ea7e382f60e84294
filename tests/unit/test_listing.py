"""Listing sessions (挂牌): creation checks, the listing period, its end and timed bidding (RULES 4)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auction.domain.codes import Code
from auction.domain.bidding.commands import Advance, Close, CreateSession, QualifyBidder
from auction.domain.bidding.events import (
    BidAccepted,
    BidderQualified,
    CloseHeld,
    SessionClosed,
    SessionCreated,
    SessionOpened,
    TimedBiddingStarted,
)
from auction.domain.money import percent_ceil
from auction.domain.bidding.session import Phase, SessionState
from auction.domain.bidding.terms import SessionRules, SessionTerms

from .helpers import (
    COMMITMENT, COUNTDOWN, DAY, HOUR, INCREMENT, LISTING_END, MINUTE, RESERVE, SALT, SECOND, START_AT, START_PRICE,
    T0,
    Recorder, listing_terms, open_listing, rejection, reveal, run,
)

T = START_AT + HOUR


def create_rejection(terms: SessionTerms, now: int = T0) -> Code:
    return rejection(SessionState(), CreateSession(terms), now).code


class TestCreateSession:
    def test_created_then_scheduled(self) -> None:
        terms = listing_terms()
        state, [event] = run(SessionState(), CreateSession(terms), T0)
        assert event == SessionCreated(at=T0, terms=terms)
        assert state.phase is Phase.SCHEDULED
        assert (state.opens_at, state.listing_end_at, state.increment) == (START_AT, LISTING_END, INCREMENT)
        assert state.next_wakeup() == START_AT

    def test_created_only_once(self) -> None:
        r = Recorder(listing_terms())
        assert r.reject(CreateSession(listing_terms()), T0).code is Code.SESSION_EXISTS

    def test_start_in_the_past(self) -> None:
        assert create_rejection(listing_terms(), now=START_AT + 1) is Code.START_IN_PAST

    @pytest.mark.parametrize("field", ["start_price", "increment", "deposit"])
    @pytest.mark.parametrize("value", [0, -1, 1.5, True])
    def test_amounts_must_be_whole_positive_fen(self, field: str, value: object) -> None:
        terms = replace(listing_terms(), **{field: value})
        assert create_rejection(terms) is Code.INVALID_TERMS

    @pytest.mark.parametrize("field", ["session_id", "parcel_ref"])
    def test_ids_required(self, field: str) -> None:
        assert create_rejection(replace(listing_terms(), **{field: ""})) is Code.INVALID_TERMS

    def test_countdown_must_be_positive(self) -> None:
        assert create_rejection(listing_terms(countdown=0)) is Code.INVALID_TERMS

    def test_registration_must_close_before_the_listing_ends(self) -> None:
        assert create_rejection(listing_terms(registration_closes_at=LISTING_END + 1)) is Code.INVALID_TERMS
        assert run(SessionState(), CreateSession(listing_terms(registration_closes_at=LISTING_END)), T0)[1]

    def test_listing_needs_a_listing_end(self) -> None:
        terms = replace(listing_terms(), listing_end_at=None, registration_closes_at=START_AT)
        assert create_rejection(terms) is Code.INVALID_TERMS

    def test_reserve_flag_and_commitment_agree(self) -> None:
        assert create_rejection(replace(listing_terms(), reserve_commitment=None)) is Code.INVALID_TERMS

    def test_nothing_happens_before_creation(self) -> None:
        assert rejection(SessionState(), Advance(), T0).code is Code.UNKNOWN_SESSION

    def test_terms_round_trip(self) -> None:
        terms = listing_terms(rules=SessionRules(whole_increments=True, resume_notice=5 * DAY))
        assert SessionTerms.from_dict(terms.to_dict()) == terms


class TestQualification:
    def test_qualified_before_registration_closes(self) -> None:
        r = Recorder(listing_terms(), bidders=())
        [event] = r.do(QualifyBidder(7), T0 + DAY)
        assert event == BidderQualified(at=T0 + DAY, bidder_no=7)
        assert 7 in r.state.qualified

    def test_once(self) -> None:
        r = Recorder(listing_terms(), bidders=(7,))
        assert r.reject(QualifyBidder(7), T0 + DAY).code is Code.ALREADY_QUALIFIED

    def test_registration_closed(self) -> None:
        r = Recorder(listing_terms(), bidders=())
        assert r.reject(QualifyBidder(7), LISTING_END - 2 * DAY).code is Code.REGISTRATION_CLOSED

    @pytest.mark.parametrize("bidder_no", [0, -3])
    def test_bidder_number_positive(self, bidder_no: int) -> None:
        r = Recorder(listing_terms(), bidders=())
        assert r.reject(QualifyBidder(bidder_no), T0).code is Code.INVALID_FIELD

    def test_qualified_during_the_listing_may_bid(self) -> None:
        r = open_listing(bidders=())
        r.do(QualifyBidder(4), T)
        [event] = r.bid(4, START_PRICE, T + SECOND)
        assert isinstance(event, BidAccepted)


class TestN18ListingPeriod:
    def test_ten_days_is_enough(self) -> None:
        state, _ = run(SessionState(), CreateSession(listing_terms(listing_end_at=START_AT + 10 * DAY)), T0)
        assert state.phase is Phase.SCHEDULED

    def test_one_microsecond_short_is_refused(self) -> None:
        rej = rejection(SessionState(), CreateSession(listing_terms(listing_end_at=START_AT + 10 * DAY - 1)), T0)
        assert rej.code is Code.N18_LISTING_PERIOD_TOO_SHORT
        assert rej.details["min_listing_period_us"] == 10 * DAY

    def test_the_period_is_a_setting(self) -> None:
        rules = SessionRules(min_listing_period=3 * DAY)
        assert run(SessionState(), CreateSession(listing_terms(listing_end_at=START_AT + 3 * DAY, rules=rules)), T0)[1]
        terms = listing_terms(listing_end_at=START_AT + 3 * DAY - 1, rules=rules)
        assert create_rejection(terms) is Code.N18_LISTING_PERIOD_TOO_SHORT

    def test_end_before_start_is_invalid(self) -> None:
        terms = listing_terms(listing_end_at=START_AT, registration_closes_at=START_AT - DAY)
        assert create_rejection(terms) is Code.INVALID_TERMS

    def test_the_listing_opens_at_start_with_its_end_as_deadline(self) -> None:
        r = Recorder(listing_terms())
        assert r.advance(START_AT - 1) == []
        [event] = r.advance(START_AT + 3 * HOUR)  # a late timer: stamped at the start time
        assert event == SessionOpened(
            at=START_AT, phase="LISTING", deadline=LISTING_END, has_reserve=True, reserve_commitment=COMMITMENT
        )
        assert r.state.phase is Phase.LISTING
        assert r.state.next_wakeup() == LISTING_END

    def test_listing_bids_do_not_move_the_end(self) -> None:
        r = open_listing()
        [event] = r.bid(1, START_PRICE, LISTING_END - SECOND)
        assert isinstance(event, BidAccepted) and event.deadline == LISTING_END
        assert r.state.deadline == LISTING_END


class TestQ31Deposit:
    def test_twenty_percent_is_enough(self) -> None:
        assert run(SessionState(), CreateSession(listing_terms(deposit=START_PRICE // 5)), T0)[1]

    def test_one_fen_less_is_refused(self) -> None:
        rej = rejection(SessionState(), CreateSession(listing_terms(deposit=START_PRICE // 5 - 1)), T0)
        assert rej.code is Code.Q31_DEPOSIT_BELOW_20_PERCENT
        assert rej.details["minimum_deposit"] == START_PRICE // 5

    def test_the_floor_is_rounded_up_to_the_fen(self) -> None:
        start = 100_000_003  # 20% = 20,000,000.6 fen
        assert create_rejection(listing_terms(start_price=start, deposit=20_000_000)) is Code.Q31_DEPOSIT_BELOW_20_PERCENT
        assert run(SessionState(), CreateSession(listing_terms(start_price=start, deposit=20_000_001)), T0)[1]

    def test_more_than_twenty_percent_is_fine(self) -> None:
        assert run(SessionState(), CreateSession(listing_terms(deposit=START_PRICE)), T0)[1]

    def test_the_percentage_is_a_setting(self) -> None:
        rules = SessionRules(min_deposit_percent=30)
        deposit = percent_ceil(START_PRICE, 30)
        assert create_rejection(listing_terms(deposit=deposit - 1, rules=rules)) is Code.Q31_DEPOSIT_BELOW_20_PERCENT
        assert run(SessionState(), CreateSession(listing_terms(deposit=deposit, rules=rules)), T0)[1]


class TestRule4_4_EndOfListing:
    def test_no_bids_unsold(self) -> None:
        r = open_listing()
        [closed] = r.do(reveal(), LISTING_END)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reason) == ("UNSOLD", "NO_BIDS")
        assert (closed.winner_bidder_no, closed.price) == (None, None)
        assert r.state.phase is Phase.CLOSED and r.state.final

    def test_no_bids_advance_opens_no_timed_bidding(self) -> None:
        r = open_listing()
        assert r.advance(LISTING_END + DAY) == []
        assert r.state.phase is Phase.LISTING

    def test_one_bidder_above_reserve_sold(self) -> None:
        r = open_listing()
        r.bid(2, RESERVE + INCREMENT, T)
        [closed] = r.do(reveal(), LISTING_END)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reason, closed.winner_bidder_no, closed.price) == (
            "SOLD",
            "SOLD",
            2,
            RESERVE + INCREMENT,
        )
        assert (closed.reserve, closed.reserve_salt, closed.reserve_basis) == (RESERVE, SALT, "SEALED")
        assert r.state.closed == closed

    def test_one_bidder_at_the_reserve_sold(self) -> None:
        # "not below the reserve": equal is enough.
        r = open_listing()
        r.bid(2, RESERVE, T)
        [closed] = r.do(reveal(), LISTING_END)
        assert isinstance(closed, SessionClosed) and closed.outcome == "SOLD" and closed.price == RESERVE

    def test_one_bidder_below_reserve_unsold(self) -> None:
        r = open_listing()
        r.bid(2, RESERVE - 1, T)
        [closed] = r.do(reveal(), LISTING_END)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reason) == ("UNSOLD", "BELOW_RESERVE")
        assert (closed.winner_bidder_no, closed.price) == (None, None)
        assert closed.reserve == RESERVE  # revealed at the close either way

    def test_close_is_stamped_at_the_deadline_not_the_call(self) -> None:
        r = open_listing()
        r.bid(2, RESERVE, T)
        [closed] = r.do(reveal(), LISTING_END + 5 * HOUR)
        assert closed.at == LISTING_END

    def test_close_before_the_deadline(self) -> None:
        r = open_listing()
        r.bid(2, RESERVE, T)
        rej = r.reject(reveal(), LISTING_END - 1)
        assert rej.code is Code.CLOSE_NOT_DUE
        assert rej.details["deadline"] == LISTING_END

    def test_close_before_the_open(self) -> None:
        r = Recorder(listing_terms())
        assert r.reject(reveal(), START_AT - 1).code is Code.CLOSE_NOT_DUE

    def test_close_only_once(self) -> None:
        r = open_listing()
        r.do(reveal(), LISTING_END)
        assert r.reject(reveal(), LISTING_END + 1).code is Code.SESSION_CLOSED

    @pytest.mark.parametrize(
        "close",
        [reveal(amount=RESERVE - 1), reveal(salt="00"), reveal(amount=RESERVE + 1, salt=SALT + "0")],
        ids=["wrong-amount", "wrong-salt", "both"],
    )
    def test_reserve_failing_its_commitment_holds_the_close(self, close: Close) -> None:
        r = open_listing()
        r.bid(2, RESERVE + INCREMENT, T)
        [held] = r.do(close, LISTING_END + MINUTE)
        assert held == CloseHeld(at=LISTING_END, reason="RESERVE_COMMITMENT_MISMATCH")
        assert r.state.phase is Phase.HELD
        assert r.state.closed is None

    def test_missing_reserve_holds_the_close(self) -> None:
        r = open_listing()
        r.bid(2, RESERVE + INCREMENT, T)
        [held] = r.do(Close(reserve=None), LISTING_END)
        assert isinstance(held, CloseHeld) and held.reason == "RESERVE_UNAVAILABLE"
        assert r.state.phase is Phase.HELD

    def test_a_held_session_takes_no_bids_and_no_second_close(self) -> None:
        r = open_listing()
        r.do(reveal(amount=RESERVE - 1), LISTING_END)  # fails its commitment: tampering, held for good
        held = r.reject_bid(1, START_PRICE, LISTING_END + 1)  # held, not ended: the bidder is told so
        assert held.code is Code.SESSION_HELD and held.details["reason"] == r.state.end_reason
        assert r.reject(reveal(), LISTING_END + 1).code is Code.SESSION_CLOSED

    def test_a_close_without_the_reserve_is_held_and_tried_again_once_it_is_there(self) -> None:
        r = open_listing()
        r.bid(1, RESERVE, T)
        [held] = r.do(Close(reserve=None), LISTING_END)
        assert r.state.phase is Phase.HELD and held.reason == "RESERVE_UNAVAILABLE"  # type: ignore[union-attr]
        assert r.reject_bid(2, RESERVE + INCREMENT, LISTING_END + 1).code is Code.SESSION_HELD
        assert r.reject(Close(reserve=None), LISTING_END + HOUR).code is Code.ESCROW_KEY_UNAVAILABLE
        [closed] = r.do(reveal(), LISTING_END + 2 * HOUR)  # the escrow key was unlocked
        assert isinstance(closed, SessionClosed) and closed.at == LISTING_END and closed.outcome == "SOLD"

    def test_one_bidder_several_bids_no_timed_bidding(self) -> None:
        r = open_listing(rules=SessionRules(allow_self_outbid=True))
        r.bid(1, START_PRICE, T)
        r.bid(1, RESERVE, T + SECOND)
        assert r.advance(LISTING_END + HOUR) == []
        [closed] = r.do(reveal(), LISTING_END + HOUR)
        assert isinstance(closed, SessionClosed) and closed.winner_bidder_no == 1 and closed.at == LISTING_END

    def test_several_bidders_without_timed_bidding_highest_wins(self) -> None:
        # With the setting raised to 3, two listing bidders end at the listing close.
        r = open_listing(rules=SessionRules(timed_bidding_min_bidders=3))
        r.bid(1, START_PRICE, T)
        r.bid(2, RESERVE, T + SECOND)
        [closed] = r.do(reveal(), LISTING_END)
        assert isinstance(closed, SessionClosed)
        assert (closed.winner_bidder_no, closed.price) == (2, RESERVE)

    def test_two_listing_bidders_start_timed_bidding_at_the_listing_end(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        assert r.advance(LISTING_END - 1) == []
        [event] = r.advance(LISTING_END)
        assert event == TimedBiddingStarted(at=LISTING_END, deadline=LISTING_END + COUNTDOWN)
        assert r.state.phase is Phase.TIMED_BIDDING

    def test_timed_bidding_is_stamped_at_the_listing_end_even_when_advanced_late(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        [event] = r.advance(LISTING_END + 3 * DAY)
        assert event == TimedBiddingStarted(at=LISTING_END, deadline=LISTING_END + COUNTDOWN)

    def test_the_listing_price_follows_every_accepted_bid(self) -> None:
        r = open_listing()
        for i, bidder in enumerate([1, 2, 3, 1, 2]):
            r.bid(bidder, START_PRICE + i * INCREMENT, T + i * SECOND)
            assert r.state.highest is not None
            assert (r.state.highest.bidder_no, r.state.highest.amount) == (bidder, START_PRICE + i * INCREMENT)
        assert r.state.bid_count == 5
        assert r.state.listing_bidders == {1, 2, 3}


def into_timed_bidding() -> Recorder:
    r = open_listing()
    r.bid(1, START_PRICE, T)
    r.bid(2, START_PRICE + 30 * INCREMENT, T + SECOND)  # above the reserve
    r.advance(LISTING_END)
    return r


class TestRule4_5_TimedBidding:
    def test_each_timed_bid_restarts_the_countdown(self) -> None:
        r = into_timed_bidding()
        t1 = LISTING_END + 4 * MINUTE
        [a] = r.bid(1, START_PRICE + 31 * INCREMENT, t1)
        assert isinstance(a, BidAccepted) and a.deadline == t1 + COUNTDOWN
        t2 = t1 + 4 * MINUTE  # past the first countdown's end, inside the restarted one
        [b] = r.bid(2, START_PRICE + 32 * INCREMENT, t2)
        assert isinstance(b, BidAccepted) and b.deadline == t2 + COUNTDOWN
        [closed] = r.do(reveal(), t2 + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.at, closed.winner_bidder_no, closed.price) == (t2 + COUNTDOWN, 2, START_PRICE + 32 * INCREMENT)

    def test_no_bid_in_the_first_countdown_the_listing_price_stands(self) -> None:
        r = into_timed_bidding()
        assert r.reject_bid(1, START_PRICE + 31 * INCREMENT, LISTING_END + COUNTDOWN).code is Code.DEADLINE_PASSED
        [closed] = r.do(reveal(), LISTING_END + COUNTDOWN + HOUR)
        assert isinstance(closed, SessionClosed)
        assert (closed.at, closed.outcome, closed.winner_bidder_no, closed.price) == (
            LISTING_END + COUNTDOWN,
            "SOLD",
            2,
            START_PRICE + 30 * INCREMENT,
        )

    def test_close_without_advance_starts_and_ends_timed_bidding(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, RESERVE, T + SECOND)
        events = r.do(reveal(), LISTING_END + DAY)
        assert [type(e).__name__ for e in events] == ["TimedBiddingStarted", "SessionClosed"]
        assert [e.at for e in events] == [LISTING_END, LISTING_END + COUNTDOWN]

    def test_close_not_due_during_the_countdown(self) -> None:
        r = into_timed_bidding()
        rej = r.reject(reveal(), LISTING_END + COUNTDOWN - 1)
        assert rej.code is Code.CLOSE_NOT_DUE and rej.details["deadline"] == LISTING_END + COUNTDOWN

    def test_a_bid_after_the_listing_end_enters_timed_bidding(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        at = LISTING_END + MINUTE
        events = r.bid(1, START_PRICE + 2 * INCREMENT, at)
        assert events == [
            TimedBiddingStarted(at=LISTING_END, deadline=LISTING_END + COUNTDOWN),
            BidAccepted(at=at, bid_id=f"b1-{START_PRICE + 2 * INCREMENT}", bidder_no=1,
                        amount=START_PRICE + 2 * INCREMENT, deadline=at + COUNTDOWN),
        ]

    def test_only_the_listing_bidders_go_on_to_timed_bidding(self) -> None:
        # RULES 4.4: those who bid during the listing go on; bidder 3, qualified but silent, does not.
        r = into_timed_bidding()
        assert r.state.listing_bidders == {1, 2}
        assert r.reject_bid(3, START_PRICE + 31 * INCREMENT, LISTING_END + MINUTE).code is Code.NOT_IN_TIMED_BIDDING
        assert r.bid(1, START_PRICE + 31 * INCREMENT, LISTING_END + MINUTE)
        assert r.reject_bid(3, START_PRICE + 32 * INCREMENT, LISTING_END + 2 * MINUTE).code is Code.NOT_IN_TIMED_BIDDING

    def test_timed_bids_need_highest_plus_increment(self) -> None:
        r = into_timed_bidding()
        rej = r.reject_bid(1, START_PRICE + 30 * INCREMENT, LISTING_END + MINUTE)
        assert rej.code is Code.BELOW_MINIMUM and rej.details["minimum"] == START_PRICE + 31 * INCREMENT
        assert r.reject_bid(2, START_PRICE + 40 * INCREMENT, LISTING_END + MINUTE).code is Code.ALREADY_HIGHEST

    def test_bid_at_the_countdown_end_is_refused(self) -> None:
        r = into_timed_bidding()
        r.bid(1, START_PRICE + 31 * INCREMENT, LISTING_END + MINUTE)
        end = LISTING_END + MINUTE + COUNTDOWN
        assert r.reject_bid(2, START_PRICE + 32 * INCREMENT, end).code is Code.DEADLINE_PASSED
        assert r.bid(2, START_PRICE + 32 * INCREMENT, end - 1)

    def test_timed_bidding_below_the_reserve_unsold(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        r.advance(LISTING_END)
        r.bid(1, START_PRICE + 2 * INCREMENT, LISTING_END + MINUTE)
        [closed] = r.do(reveal(), LISTING_END + MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reason) == ("UNSOLD", "BELOW_RESERVE")

    def test_countdown_is_a_term_of_the_session(self) -> None:
        r = open_listing(countdown=4 * MINUTE)  # P: Suzhou
        r.bid(1, START_PRICE, T)
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        [event] = r.advance(LISTING_END)
        assert isinstance(event, TimedBiddingStarted) and event.deadline == LISTING_END + 4 * MINUTE

    def test_advance_after_timed_bidding_does_not_restart_it(self) -> None:
        r = into_timed_bidding()
        assert r.advance(LISTING_END + DAY) == []
        assert r.state.deadline == LISTING_END + COUNTDOWN
        assert r.state.is_due_to_close(LISTING_END + COUNTDOWN)
        assert not r.state.is_due_to_close(LISTING_END + COUNTDOWN - 1)
