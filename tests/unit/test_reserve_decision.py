"""RULES 2.3-2.4 (Q26, Q28): a session created from a plan gets its reserve by a
sealed committee decision before the start, and publishes the commitment at the open."""

from __future__ import annotations

from dataclasses import replace

from auction.domain.codes import Code
from auction.domain.bidding.commands import Close, PlaceBid, SealReserve
from auction.domain.bidding.events import OpenRefused, ReserveSealed, SessionClosed, SessionOpened
from auction.domain.bidding.session import Phase, reserve_commitment

from .helpers import (
    COMMITMENT, HOUR, LISTING_END, MINUTE, RESERVE, SALT, START_AT, START_PRICE,
    Recorder, auction_terms, listing_terms, reveal,
)


def by_decision(terms):  # type: ignore[no-untyped-def]
    return replace(terms, has_reserve=False, reserve_commitment=None, reserve_by_decision=True)


class TestQ26SealedBeforeTheStart:
    def test_the_open_event_publishes_the_commitment(self) -> None:
        r = Recorder(by_decision(listing_terms()))
        [sealed] = r.do(SealReserve(COMMITMENT), START_AT - 30 * MINUTE)
        assert sealed == ReserveSealed(at=START_AT - 30 * MINUTE, has_reserve=True, commitment=COMMITMENT)
        [opened] = r.advance(START_AT)
        assert isinstance(opened, SessionOpened)
        assert (opened.has_reserve, opened.reserve_commitment) == (True, COMMITMENT)

    def test_the_close_checks_the_reserve_against_the_sealed_commitment(self) -> None:
        r = Recorder(by_decision(listing_terms()))
        r.do(SealReserve(COMMITMENT), START_AT - 30 * MINUTE)
        r.advance(START_AT)
        r.bid(1, RESERVE, START_AT + HOUR)
        [closed] = r.do(reveal(), LISTING_END)
        assert isinstance(closed, SessionClosed) and closed.outcome == "SOLD"
        r2 = Recorder(by_decision(listing_terms()))
        r2.do(SealReserve(COMMITMENT), START_AT - 30 * MINUTE)
        r2.advance(START_AT)
        [held] = r2.do(reveal(amount=RESERVE - 1), LISTING_END)
        assert held.reason == "RESERVE_COMMITMENT_MISMATCH"  # type: ignore[union-attr]

    def test_without_a_sealed_decision_the_session_does_not_open(self) -> None:
        r = Recorder(by_decision(listing_terms()))
        [refused] = r.advance(START_AT)
        assert refused == OpenRefused(at=START_AT, reason=Code.Q26_RESERVE_NOT_SEALED.value)
        assert r.state.phase is Phase.HELD and r.state.end_reason == "Q26_RESERVE_NOT_SEALED"
        assert r.reject(PlaceBid(1, "b1", START_PRICE), START_AT + MINUTE).code is Code.SESSION_HELD
        assert r.reject(SealReserve(COMMITMENT), START_AT + MINUTE).code is Code.SESSION_CLOSED

    def test_a_sealed_reserve_cannot_change(self) -> None:
        r = Recorder(by_decision(listing_terms()))
        r.do(SealReserve(COMMITMENT), START_AT - 30 * MINUTE)
        other = reserve_commitment(RESERVE + 1, SALT)
        assert r.reject(SealReserve(other), START_AT - 20 * MINUTE).code is Code.RESERVE_ALREADY_SEALED

    def test_a_stand_in_session_takes_no_decision(self) -> None:
        r = Recorder(listing_terms())
        assert r.reject(SealReserve(COMMITMENT), START_AT - 30 * MINUTE).code is Code.INVALID_TERMS

    def test_a_malformed_commitment_is_refused(self) -> None:
        r = Recorder(by_decision(listing_terms()))
        assert r.reject(SealReserve("xyz"), START_AT - 30 * MINUTE).code is Code.INVALID_FIELD


class TestQ28NoReserveByDecision:
    def test_an_auction_may_decide_no_reserve(self) -> None:
        r = Recorder(by_decision(auction_terms()))
        [sealed] = r.do(SealReserve(None), START_AT - 10 * MINUTE)
        assert (sealed.has_reserve, sealed.commitment) == (False, None)  # type: ignore[union-attr]
        [opened] = r.advance(START_AT)
        assert (opened.has_reserve, opened.reserve_commitment) == (False, None)  # type: ignore[union-attr]
        r.bid(1, START_PRICE, START_AT + MINUTE)
        [closed] = r.do(Close(reserve=None), START_AT + 2 * HOUR)
        assert (closed.outcome, closed.reserve_basis) == ("SOLD", "START_PRICE")  # type: ignore[union-attr]

    def test_a_listing_must_have_one(self) -> None:
        r = Recorder(by_decision(listing_terms()))
        assert r.reject(SealReserve(None), START_AT - 10 * MINUTE).code is Code.Q28_RESERVE_REQUIRED
