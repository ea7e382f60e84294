"""Auction sessions (拍卖): open, countdown, close, minimum bidders (RULES 5) and Q28's reserve."""

from __future__ import annotations

from dataclasses import replace

from auction.domain.codes import Code
from auction.domain.bidding.commands import Close, CreateSession, QualifyBidder
from auction.domain.bidding.events import BidAccepted, SessionClosed, SessionOpened, SessionTerminated
from auction.domain.bidding.session import Phase, SessionState, reserve_commitment
from auction.domain.bidding.terms import SessionRules

from .helpers import (
    COUNTDOWN, DAY, HOUR, INCREMENT, MINUTE, RESERVE, SALT, SECOND, START_AT, START_PRICE, T0,
    Recorder, auction_terms, listing_terms, open_auction, rejection, reveal, run,
)


class TestRule5_1_AuctionOpen:
    def test_opens_at_the_start_with_a_countdown(self) -> None:
        r = Recorder(auction_terms())
        assert r.advance(START_AT - 1) == []
        [event] = r.advance(START_AT)
        assert event == SessionOpened(at=START_AT, phase="AUCTION", deadline=START_AT + COUNTDOWN)
        assert r.state.phase is Phase.AUCTION

    def test_a_late_advance_is_stamped_at_the_start(self) -> None:
        r = Recorder(auction_terms())
        [event] = r.advance(START_AT + 2 * MINUTE)
        assert event.at == START_AT and isinstance(event, SessionOpened)
        assert event.deadline == START_AT + COUNTDOWN

    def test_bids_before_the_start(self) -> None:
        r = Recorder(auction_terms())
        rej = r.reject_bid(1, START_PRICE, START_AT - 1)
        assert rej.code is Code.SESSION_NOT_OPEN and rej.details["opens_at"] == START_AT

    def test_an_auction_has_no_listing_end(self) -> None:
        terms = replace(auction_terms(), listing_end_at=START_AT + 10 * DAY)
        assert rejection(SessionState(), CreateSession(terms), T0).code is Code.INVALID_TERMS

    def test_registration_closes_before_the_start(self) -> None:
        terms = auction_terms(registration_closes_at=START_AT + 1)
        assert rejection(SessionState(), CreateSession(terms), T0).code is Code.INVALID_TERMS
        r = Recorder(auction_terms(registration_closes_at=START_AT - HOUR), bidders=())
        assert r.do(QualifyBidder(1), START_AT - HOUR - 1)
        assert r.reject(QualifyBidder(2), START_AT - HOUR).code is Code.REGISTRATION_CLOSED


class TestRule5_2_AuctionCountdown:
    def test_first_bid_at_least_the_start_price(self) -> None:
        r = open_auction()
        assert r.reject_bid(1, START_PRICE - 1, START_AT + SECOND).details["minimum"] == START_PRICE
        assert r.bid(1, START_PRICE, START_AT + SECOND)

    def test_each_bid_restarts_the_full_countdown(self) -> None:
        r = open_auction()
        now = START_AT
        for i in range(5):
            now += COUNTDOWN - SECOND  # always just inside the running countdown
            [event] = r.bid(1 + i % 2, START_PRICE + i * INCREMENT, now)
            assert isinstance(event, BidAccepted) and event.deadline == now + COUNTDOWN
            assert r.state.deadline == now + COUNTDOWN
        assert now > START_AT + COUNTDOWN  # the auction lasted past its first countdown

    def test_bid_at_the_countdown_end_is_refused(self) -> None:
        r = open_auction()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        rej = r.reject_bid(2, START_PRICE + INCREMENT, START_AT + MINUTE + COUNTDOWN)
        assert rej.code is Code.DEADLINE_PASSED and rej.details["deadline"] == START_AT + MINUTE + COUNTDOWN

    def test_no_bid_in_the_first_countdown(self) -> None:
        r = open_auction()
        assert r.reject_bid(1, START_PRICE, START_AT + COUNTDOWN).code is Code.DEADLINE_PASSED


class TestRule5_3_AuctionClose:
    def test_sold_above_the_sealed_reserve(self) -> None:
        r = open_auction(reserve=RESERVE)
        r.bid(1, RESERVE, START_AT + MINUTE)
        [closed] = r.do(reveal(), START_AT + MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.winner_bidder_no, closed.price) == ("SOLD", 1, RESERVE)
        assert (closed.reserve, closed.reserve_salt, closed.reserve_basis) == (RESERVE, SALT, "SEALED")

    def test_below_the_sealed_reserve_unsold(self) -> None:
        r = open_auction(reserve=RESERVE)
        r.bid(1, RESERVE - 1, START_AT + MINUTE)
        [closed] = r.do(reveal(), START_AT + MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reason, closed.price) == ("UNSOLD", "BELOW_RESERVE", None)

    def test_no_bids_unsold(self) -> None:
        r = open_auction()
        [closed] = r.do(Close(reserve=None), START_AT + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reason, closed.at) == ("UNSOLD", "NO_BIDS", START_AT + COUNTDOWN)

    def test_close_is_stamped_at_the_deadline(self) -> None:
        r = open_auction()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        [closed] = r.do(Close(reserve=None), START_AT + 3 * HOUR)
        assert closed.at == START_AT + MINUTE + COUNTDOWN

    def test_close_not_due(self) -> None:
        r = open_auction()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        assert r.reject(Close(reserve=None), START_AT + MINUTE + COUNTDOWN - 1).code is Code.CLOSE_NOT_DUE

    def test_wrong_reserve_holds_the_close(self) -> None:
        r = open_auction(reserve=RESERVE)
        r.bid(1, RESERVE, START_AT + MINUTE)
        [held] = r.do(reveal(amount=RESERVE - INCREMENT), START_AT + MINUTE + COUNTDOWN)
        assert type(held).__name__ == "CloseHeld" and held.reason == "RESERVE_COMMITMENT_MISMATCH"
        assert r.state.phase is Phase.HELD

    def test_missing_reserve_holds_the_close(self) -> None:
        r = open_auction(reserve=RESERVE)
        [held] = r.do(Close(reserve=None), START_AT + COUNTDOWN)
        assert type(held).__name__ == "CloseHeld" and held.reason == "RESERVE_UNAVAILABLE"
        assert r.state.phase is Phase.HELD


class TestRule5_4_MinimumBidders:
    def test_default_one_bidder_opens(self) -> None:
        r = Recorder(auction_terms(), bidders=(1,))
        [event] = r.advance(START_AT)
        assert isinstance(event, SessionOpened)

    def test_default_no_bidder_terminates_at_the_start(self) -> None:
        r = Recorder(auction_terms(), bidders=())
        [event] = r.advance(START_AT + HOUR)
        assert event == SessionTerminated(at=START_AT, reason="TOO_FEW_QUALIFIED_BIDDERS")
        assert r.state.phase is Phase.TERMINATED and r.state.final

    def test_setting_of_three(self) -> None:
        rules = SessionRules(auction_min_bidders=3)
        short = Recorder(auction_terms(rules=rules), bidders=(1, 2))
        [event] = short.advance(START_AT)
        assert isinstance(event, SessionTerminated) and event.reason == "TOO_FEW_QUALIFIED_BIDDERS"
        assert short.reject_bid(1, START_PRICE, START_AT + SECOND).code is Code.SESSION_CLOSED
        enough = Recorder(auction_terms(rules=rules), bidders=(1, 2, 3))
        [event] = enough.advance(START_AT)
        assert isinstance(event, SessionOpened)

    def test_listing_has_no_minimum(self) -> None:
        r = Recorder(listing_terms(), bidders=())
        [event] = r.advance(START_AT)
        assert isinstance(event, SessionOpened) and event.phase == "LISTING"


class TestQ28Reserve:
    def test_listing_must_have_a_reserve(self) -> None:
        rej = rejection(SessionState(), CreateSession(listing_terms(reserve=None)), T0)
        assert rej.code is Code.Q28_RESERVE_REQUIRED

    def test_auction_may_go_without_one(self) -> None:
        state, _ = run(SessionState(), CreateSession(auction_terms(reserve=None)), T0)
        assert state.phase is Phase.SCHEDULED and state.terms is not None and not state.terms.has_reserve

    def test_without_a_reserve_the_start_price_is_the_reserve(self) -> None:
        r = open_auction()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        [closed] = r.do(Close(reserve=None), START_AT + MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.price, closed.reserve_basis) == ("SOLD", START_PRICE, "START_PRICE")
        assert (closed.reserve, closed.reserve_salt) == (None, None)

    def test_without_a_reserve_a_revealed_value_is_ignored(self) -> None:
        r = open_auction()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        [closed] = r.do(reveal(amount=10 * RESERVE), START_AT + MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.outcome, closed.reserve, closed.reserve_basis) == ("SOLD", None, "START_PRICE")

    def test_the_commitment_binds_value_and_salt(self) -> None:
        c = reserve_commitment(RESERVE, SALT)
        assert len(c) == 64 and int(c, 16) >= 0
        assert c == reserve_commitment(RESERVE, SALT)
        assert c != reserve_commitment(RESERVE + 1, SALT)
        assert c != reserve_commitment(RESERVE, SALT + "0")
        # No ambiguity between value and salt at their boundary.
        assert reserve_commitment(12, "3") != reserve_commitment(1, "23")

    def test_the_terms_carry_only_the_commitment(self) -> None:
        terms = auction_terms(reserve=RESERVE)
        assert terms.reserve_commitment == reserve_commitment(RESERVE, SALT)
        data = terms.to_dict()
        assert {k for k in data if "reserve" in k} == {"has_reserve", "reserve_commitment", "reserve_by_decision"}
        assert RESERVE not in data.values()
