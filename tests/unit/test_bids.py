"""Bids (RULES 4.2, 4.3, 5.2): who may bid, when, and how much."""

from __future__ import annotations

import pytest

from auction.domain.codes import Code
from auction.domain.bidding.commands import Advance, ChangeIncrement, PlaceBid, Suspend, Terminate
from auction.domain.bidding.events import BidAccepted, IncrementChanged, SessionClosed
from auction.domain.money import MAX_AMOUNT_FEN
from auction.domain.bidding.session import Phase
from auction.domain.bidding.terms import SessionRules

from .helpers import (
    COUNTDOWN, DAY, INCREMENT, LISTING_END, MINUTE, SECOND, START_AT, START_PRICE,
    Recorder, auction_terms, listing_terms, open_listing, reveal,
)

T = START_AT + 60 * MINUTE  # an instant well inside the listing


class TestRule4_2_MinimumBid:
    def test_first_bid_below_the_start_price_is_refused(self) -> None:
        r = open_listing()
        rej = r.reject_bid(1, START_PRICE - 1, T)
        assert rej.code is Code.BELOW_MINIMUM
        assert rej.details["minimum"] == START_PRICE

    def test_first_bid_at_the_start_price_is_accepted(self) -> None:
        r = open_listing()
        [event] = r.bid(1, START_PRICE, T)
        assert isinstance(event, BidAccepted)
        assert (event.at, event.bidder_no, event.amount) == (T, 1, START_PRICE)
        assert r.state.highest is not None and r.state.highest.amount == START_PRICE

    def test_later_bid_must_reach_highest_plus_increment(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        rej = r.reject_bid(2, START_PRICE + INCREMENT - 1, T + SECOND)
        assert rej.code is Code.BELOW_MINIMUM
        assert rej.details["minimum"] == START_PRICE + INCREMENT
        [event] = r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        assert isinstance(event, BidAccepted) and event.amount == START_PRICE + INCREMENT

    def test_minimum_follows_the_highest_bid_not_the_start_price(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE + 50 * INCREMENT, T)
        rej = r.reject_bid(2, START_PRICE + 50 * INCREMENT, T + SECOND)
        assert rej.details["minimum"] == START_PRICE + 51 * INCREMENT
        assert r.state.min_next_bid == START_PRICE + 51 * INCREMENT

    def test_bid_above_minimum_need_not_be_a_multiple_by_default(self) -> None:
        r = open_listing()
        [event] = r.bid(1, START_PRICE + 123, T)
        assert isinstance(event, BidAccepted)

    def test_tie_the_earlier_bid_holds(self) -> None:
        # RULES 4.4: equal bids go to the earlier one: a second bid at the same amount is refused.
        r = open_listing()
        r.bid(1, START_PRICE + INCREMENT, T)
        rej = r.reject_bid(2, START_PRICE + INCREMENT, T + SECOND)
        assert rej.code is Code.BELOW_MINIMUM
        assert r.state.highest is not None and r.state.highest.bidder_no == 1

    def test_holder_of_highest_bid_cannot_outbid_themselves(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        rej = r.reject_bid(1, START_PRICE + 5 * INCREMENT, T + SECOND)
        assert rej.code is Code.ALREADY_HIGHEST
        r.bid(2, START_PRICE + INCREMENT, T + 2 * SECOND)
        [event] = r.bid(1, START_PRICE + 2 * INCREMENT, T + 3 * SECOND)
        assert isinstance(event, BidAccepted) and event.bidder_no == 1

    def test_self_outbid_when_the_setting_allows_it(self) -> None:
        r = open_listing(rules=SessionRules(allow_self_outbid=True))
        r.bid(1, START_PRICE, T)
        [event] = r.bid(1, START_PRICE + INCREMENT, T + SECOND)
        assert isinstance(event, BidAccepted)


class TestRule4_2_WholeIncrements:
    def test_first_bid_must_be_start_plus_whole_increments(self) -> None:
        r = open_listing(rules=SessionRules(whole_increments=True))
        rej = r.reject_bid(1, START_PRICE + INCREMENT + 1, T)
        assert rej.code is Code.NOT_INCREMENT_MULTIPLE
        assert rej.details == {"increment": INCREMENT, "base": START_PRICE}
        [event] = r.bid(1, START_PRICE + 3 * INCREMENT, T)
        assert isinstance(event, BidAccepted)

    def test_later_bids_rise_from_the_highest_by_whole_increments(self) -> None:
        r = open_listing(rules=SessionRules(whole_increments=True))
        r.bid(1, START_PRICE, T)
        rej = r.reject_bid(2, START_PRICE + INCREMENT + INCREMENT // 2, T + SECOND)
        assert rej.code is Code.NOT_INCREMENT_MULTIPLE
        assert r.bid(2, START_PRICE + 2 * INCREMENT, T + SECOND)

    def test_below_minimum_is_reported_before_the_multiple(self) -> None:
        r = open_listing(rules=SessionRules(whole_increments=True))
        r.bid(1, START_PRICE, T)
        assert r.reject_bid(2, START_PRICE + 1, T + SECOND).code is Code.BELOW_MINIMUM


class TestRule4_2_IncrementChange:
    def test_change_is_an_event_and_sets_the_next_minimum(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T)
        [event] = r.do(ChangeIncrement(increment=5 * INCREMENT, reason="主持人调整"), T + SECOND)
        assert event == IncrementChanged(at=T + SECOND, increment=5 * INCREMENT, reason="主持人调整")
        assert r.state.increment == 5 * INCREMENT
        rej = r.reject_bid(2, START_PRICE + 4 * INCREMENT, T + 2 * SECOND)
        assert rej.code is Code.BELOW_MINIMUM and rej.details["minimum"] == START_PRICE + 5 * INCREMENT
        assert r.bid(2, START_PRICE + 5 * INCREMENT, T + 2 * SECOND)

    def test_whole_multiples_of_the_new_increment(self) -> None:
        r = open_listing(rules=SessionRules(whole_increments=True))
        r.bid(1, START_PRICE, T)
        r.do(ChangeIncrement(increment=3 * INCREMENT, reason="调整"), T + SECOND)
        assert r.reject_bid(2, START_PRICE + 4 * INCREMENT, T + 2 * SECOND).code is Code.NOT_INCREMENT_MULTIPLE
        assert r.bid(2, START_PRICE + 6 * INCREMENT, T + 2 * SECOND)

    def test_change_before_the_open_is_allowed(self) -> None:
        r = Recorder(listing_terms())
        r.do(ChangeIncrement(increment=2 * INCREMENT, reason="公告更正"), START_AT - DAY)
        r.open()
        r.bid(1, START_PRICE, T)
        assert r.reject_bid(2, START_PRICE + INCREMENT, T + SECOND).details["minimum"] == START_PRICE + 2 * INCREMENT

    @pytest.mark.parametrize("increment", [0, -1, MAX_AMOUNT_FEN + 1, 1.5, True, "100"])
    def test_invalid_increment(self, increment: object) -> None:
        r = open_listing()
        rej = r.reject(ChangeIncrement(increment=increment, reason="x"), T)  # type: ignore[arg-type]
        assert rej.code is Code.INVALID_INCREMENT

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_a_reason_is_required(self, reason: str) -> None:
        r = open_listing()
        assert r.reject(ChangeIncrement(increment=2 * INCREMENT, reason=reason), T).code is Code.REASON_REQUIRED

    def test_no_change_after_the_close(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE + 30 * INCREMENT, T)
        r.do(reveal(), LISTING_END)
        rej = r.reject(ChangeIncrement(increment=2 * INCREMENT, reason="x"), LISTING_END + SECOND)
        assert rej.code is Code.SESSION_CLOSED



class TestBidValidation:
    @pytest.mark.parametrize(
        "amount",
        [0, -1, -START_PRICE, float(START_PRICE), START_PRICE + 0.5, True, False, str(START_PRICE), None],
        ids=repr,
    )
    def test_invalid_amount(self, amount: object) -> None:
        r = open_listing()
        assert r.reject_bid(1, amount, T).code is Code.INVALID_AMOUNT

    def test_amount_too_large(self) -> None:
        r = open_listing()
        rej = r.reject_bid(1, MAX_AMOUNT_FEN + 1, T)
        assert rej.code is Code.AMOUNT_TOO_LARGE
        assert rej.details["maximum"] == MAX_AMOUNT_FEN

    def test_the_largest_amount_is_accepted(self) -> None:
        r = open_listing()
        [event] = r.bid(1, MAX_AMOUNT_FEN, T)
        assert isinstance(event, BidAccepted) and event.amount == MAX_AMOUNT_FEN

    @pytest.mark.parametrize("bid_id", ["", "a" * 65, "has space", "点", "a/b", "a.b", "a\n", "\nb"], ids=repr)
    def test_invalid_bid_id(self, bid_id: str) -> None:
        r = open_listing()
        assert r.reject(PlaceBid(1, bid_id, START_PRICE), T).code is Code.INVALID_BID_ID

    @pytest.mark.parametrize("bid_id", ["a", "A" * 64, "0123-abcd_EF", "-", "_"])
    def test_valid_bid_id(self, bid_id: str) -> None:
        r = open_listing()
        [event] = r.do(PlaceBid(1, bid_id, START_PRICE), T)
        assert isinstance(event, BidAccepted) and event.bid_id == bid_id

    def test_unqualified_bidder(self) -> None:
        r = open_listing()
        assert r.reject_bid(99, START_PRICE, T).code is Code.NOT_QUALIFIED

    def test_before_the_open(self) -> None:
        r = Recorder(listing_terms())
        rej = r.reject_bid(1, START_PRICE, START_AT - 1)
        assert rej.code is Code.SESSION_NOT_OPEN
        assert rej.details["opens_at"] == START_AT

    def test_at_the_open_without_advance(self) -> None:
        # The open is due at START_AT: a bid at that instant opens the session and counts.
        r = Recorder(listing_terms())
        events = r.bid(1, START_PRICE, START_AT)
        assert [type(e).__name__ for e in events] == ["SessionOpened", "BidAccepted"]
        assert events[0].at == START_AT

    def test_while_suspended(self) -> None:
        r = open_listing()
        r.do(Suspend(reason="系统故障"), T)
        assert r.reject_bid(1, START_PRICE, T + SECOND).code is Code.SESSION_SUSPENDED

    def test_at_exactly_the_deadline(self) -> None:
        r = open_listing()
        rej = r.reject_bid(1, START_PRICE, LISTING_END)
        assert rej.code is Code.DEADLINE_PASSED
        assert rej.details["deadline"] == LISTING_END

    def test_after_the_deadline(self) -> None:
        r = open_listing()
        assert r.reject_bid(1, START_PRICE, LISTING_END + 1).code is Code.DEADLINE_PASSED
        assert r.reject_bid(1, START_PRICE, LISTING_END + 30 * DAY).code is Code.DEADLINE_PASSED

    def test_one_microsecond_before_the_deadline(self) -> None:
        r = open_listing()
        [event] = r.bid(1, START_PRICE, LISTING_END - 1)
        assert isinstance(event, BidAccepted) and event.deadline == LISTING_END

    def test_after_the_close(self) -> None:
        r = open_listing()
        r.do(reveal(), LISTING_END)
        assert r.reject_bid(1, START_PRICE, LISTING_END + SECOND).code is Code.SESSION_CLOSED

    def test_after_termination(self) -> None:
        r = open_listing()
        r.do(Terminate(reason="法院查封"), T)
        assert r.reject_bid(1, START_PRICE, T + SECOND).code is Code.SESSION_CLOSED

    def test_the_checks_come_in_a_stable_order(self) -> None:
        # A malformed request is refused as such even when the session is not open.
        r = Recorder(listing_terms())
        assert r.reject(PlaceBid(1, "", START_PRICE), START_AT - 1).code is Code.INVALID_BID_ID
        assert r.reject(PlaceBid(99, "x", START_PRICE), START_AT - 1).code is Code.NOT_QUALIFIED


class TestRule4_3_IrrevocableAndIdempotent:
    def test_retry_with_the_same_amount_gives_nothing_new(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T, bid_id="k1")
        state = r.state
        assert r.do(PlaceBid(1, "k1", START_PRICE), T + SECOND) == []
        assert r.state == state

    def test_retry_after_being_outbid_is_not_a_new_bid(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T, bid_id="k1")
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        assert r.do(PlaceBid(1, "k1", START_PRICE), T + 2 * SECOND) == []
        assert r.state.highest is not None and r.state.highest.bidder_no == 2

    def test_retry_after_the_close_gives_nothing(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE + 30 * INCREMENT, T, bid_id="k1")
        r.do(reveal(), LISTING_END)
        assert r.state.phase is Phase.CLOSED
        assert r.do(PlaceBid(1, "k1", START_PRICE + 30 * INCREMENT), LISTING_END + DAY) == []

    def test_same_bid_id_with_another_amount_is_a_duplicate(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T, bid_id="k1")
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        rej = r.reject(PlaceBid(1, "k1", START_PRICE + 2 * INCREMENT), T + 2 * SECOND)
        assert rej.code is Code.DUPLICATE_BID
        assert rej.details == {"bid_id": "k1", "accepted_amount": START_PRICE}

    def test_duplicate_is_reported_even_after_the_close(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE + 30 * INCREMENT, T, bid_id="k1")
        r.do(reveal(), LISTING_END)
        assert r.reject(PlaceBid(1, "k1", START_PRICE), LISTING_END + SECOND).code is Code.DUPLICATE_BID

    def test_bid_ids_belong_to_their_bidder(self) -> None:
        r = open_listing()
        r.bid(1, START_PRICE, T, bid_id="same")
        [event] = r.do(PlaceBid(2, "same", START_PRICE + INCREMENT), T + SECOND)
        assert isinstance(event, BidAccepted) and event.bidder_no == 2

    def test_a_refused_bid_id_may_be_used_again(self) -> None:
        r = open_listing()
        r.reject(PlaceBid(1, "k1", START_PRICE - 1), T)
        [event] = r.do(PlaceBid(1, "k1", START_PRICE), T + SECOND)
        assert isinstance(event, BidAccepted)

    def test_retry_during_a_due_transition_adds_only_the_transition(self) -> None:
        # Two listing bidders, listing over: the retry brings timed bidding (due anyway), nothing else.
        r = open_listing()
        r.bid(1, START_PRICE, T, bid_id="k1")
        r.bid(2, START_PRICE + INCREMENT, T + SECOND)
        events = r.do(PlaceBid(1, "k1", START_PRICE), LISTING_END + SECOND)
        assert [type(e).__name__ for e in events] == ["TimedBiddingStarted"]


class TestRule5_2_AuctionBids:
    def test_each_bid_restarts_the_countdown(self) -> None:
        r = Recorder(auction_terms())
        r.open()
        [first] = r.bid(1, START_PRICE, START_AT + MINUTE)
        assert isinstance(first, BidAccepted) and first.deadline == START_AT + MINUTE + COUNTDOWN
        [second] = r.bid(2, START_PRICE + INCREMENT, START_AT + 3 * MINUTE)
        assert isinstance(second, BidAccepted) and second.deadline == START_AT + 3 * MINUTE + COUNTDOWN
        assert r.state.deadline == second.deadline

    def test_advance_changes_nothing_mid_countdown(self) -> None:
        r = Recorder(auction_terms())
        r.open()
        state = r.state
        assert r.do(Advance(), START_AT + COUNTDOWN - 1) == []
        assert r.state == state

    def test_closed_auction_names_the_winner(self) -> None:
        r = Recorder(auction_terms())
        r.open()
        r.bid(1, START_PRICE, START_AT + MINUTE)
        r.bid(2, START_PRICE + INCREMENT, START_AT + 2 * MINUTE)
        [closed] = r.do(reveal(), START_AT + 2 * MINUTE + COUNTDOWN)
        assert isinstance(closed, SessionClosed)
        assert (closed.winner_bidder_no, closed.price) == (2, START_PRICE + INCREMENT)


def test_the_state_after_a_bid_is_the_one_replace_would_make() -> None:
    """`evolve` builds the state after a bid without `dataclasses.replace` (the bid path's
    cost); every field is what `replace` would give, and the state is a proper SessionState."""
    from dataclasses import fields, replace

    from auction.domain.bidding.session import Bid, evolve

    r = open_listing()
    r.bid(1, START_PRICE, T)
    before = r.state
    event = BidAccepted(at=T + SECOND, bid_id="b-2", bidder_no=2, amount=START_PRICE + INCREMENT,
                        deadline=before.deadline or 0)
    after = evolve(before, event)
    bid = Bid(before.seq + 1, before.pub_seq + 1, event.at, "b-2", 2, event.amount)
    expected = replace(before, seq=before.seq + 1, pub_seq=before.pub_seq + 1, last_at=event.at, highest=bid,
                       accepted=before.accepted.set((2, "b-2"), bid), bid_count=before.bid_count + 1,
                       listing_bidders=before.listing_bidders | {2}, deadline=event.deadline)
    assert after == expected and type(after) is type(expected)
    assert {f.name for f in fields(after)} == set(vars(after))
    assert before.highest is not None and before.highest.bidder_no == 1 and (2, "b-2") not in before.accepted
