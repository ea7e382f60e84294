"""Engine bugs found while writing the unit tests, kept as regression tests."""

from __future__ import annotations

from auction.domain.codes import Code
from auction.domain.bidding.commands import ChangeIncrement

from .helpers import (
    COUNTDOWN, HOUR, INCREMENT, LISTING_END, MINUTE, RESERVE, START_AT, START_PRICE,
    Recorder, listing_terms,
)

CHANGE = ChangeIncrement(increment=2 * INCREMENT, reason="主持人调整")

# RULES 4.2: the increment may be changed *during* the session. Once the final
# deadline has passed, only the close procedure may act (events.py: `at` never goes
# backwards; a change after the deadline would be stamped later than the close).


def _listing_past_its_end() -> Recorder:
    r = Recorder(listing_terms())
    r.open()
    r.bid(1, RESERVE, START_AT + HOUR)
    return r


def test_increment_change_after_the_listing_end_is_refused() -> None:
    r = _listing_past_its_end()
    assert r.reject(CHANGE, LISTING_END + HOUR).code is Code.DEADLINE_PASSED


def test_increment_change_after_the_timed_countdown_is_refused() -> None:
    r = Recorder(listing_terms())
    r.open()
    r.bid(1, START_PRICE, START_AT + HOUR)
    r.bid(2, START_PRICE + INCREMENT, START_AT + HOUR + MINUTE)
    r.advance(LISTING_END)
    assert r.reject(CHANGE, LISTING_END + COUNTDOWN).code is Code.DEADLINE_PASSED


def test_increment_change_just_before_the_deadline_is_fine() -> None:
    r = _listing_past_its_end()
    [event] = r.do(CHANGE, LISTING_END - 1)
    assert event.at == LISTING_END - 1
