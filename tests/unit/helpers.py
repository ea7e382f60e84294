"""Builders for the session engine's unit tests.

Every call passes `now` explicitly (µs UTC); no test patches a clock (docs/architecture.md).
Amounts are whole fen.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from auction.domain.codes import Rejection
from auction.domain.bidding.commands import Advance, Close, Command, CreateSession, PlaceBid, QualifyBidder, RevealedReserve
from auction.domain.bidding.events import Event
from auction.domain.money import percent_ceil
from auction.domain.bidding.session import SessionState, decide, evolve, replay, reserve_commitment
from auction.domain.bidding.terms import DAY, HOUR, MINUTE, SECOND, Method, SessionRules, SessionTerms

from .driving import decide_then_evolve, refusal

__all__ = ["DAY", "HOUR", "MINUTE", "SECOND"]

WAN = 1_000_000  # fen in 1 万元
START_PRICE = 100 * WAN
INCREMENT = 1 * WAN
RESERVE = 120 * WAN
SALT = "9f3c2a51"
COUNTDOWN = 5 * MINUTE

T0 = int(datetime(2026, 3, 2, 1, 0, tzinfo=UTC).timestamp()) * SECOND  # creation time
START_AT = T0 + 21 * DAY  # RULES 3.1: at least 20 days after the announcement
LISTING_END = START_AT + 10 * DAY  # RULES 4.1: the shortest listing allowed
COMMITMENT = reserve_commitment(RESERVE, SALT)


def listing_terms(
    *,
    start_price: int = START_PRICE,
    increment: int = INCREMENT,
    deposit: int | None = None,
    reserve: int | None = RESERVE,
    salt: str = SALT,
    start_at: int = START_AT,
    listing_end_at: int | None = None,
    countdown: int = COUNTDOWN,
    registration_closes_at: int | None = None,
    rules: SessionRules | None = None,
    session_id: str = "GT-2026-001",
) -> SessionTerms:
    end = start_at + 10 * DAY if listing_end_at is None else listing_end_at
    return SessionTerms(
        session_id=session_id,
        parcel_ref="QJ-2026-07",
        method=Method.LISTING,
        start_price=start_price,
        increment=increment,
        deposit=percent_ceil(start_price, 20) if deposit is None else deposit,
        start_at=start_at,
        listing_end_at=end,
        countdown=countdown,
        registration_closes_at=end - 2 * DAY if registration_closes_at is None else registration_closes_at,
        has_reserve=reserve is not None,
        reserve_commitment=None if reserve is None else reserve_commitment(reserve, salt),
        rules=SessionRules() if rules is None else rules,
    )


def auction_terms(
    *,
    reserve: int | None = None,
    start_at: int = START_AT,
    registration_closes_at: int | None = None,
    session_id: str = "PM-2026-001",
    **kw: Any,
) -> SessionTerms:
    """The listing's terms as an auction: no listing end; registration closes a day before the start.

    `kw` takes the rest of `listing_terms`' options (start_price, increment, deposit, salt, countdown, rules).
    """
    terms = listing_terms(reserve=reserve, start_at=start_at, session_id=session_id, **kw)
    closes = start_at - DAY if registration_closes_at is None else registration_closes_at
    return replace(
        terms, parcel_ref="QJ-2026-08", method=Method.AUCTION, listing_end_at=None, registration_closes_at=closes
    )


def run(state: SessionState, cmd: Command, now: int) -> tuple[SessionState, list[Event]]:
    """Decide, then evolve: the new state and the events it took."""
    return decide_then_evolve(decide, evolve, state, cmd, now)


def rejection(state: SessionState, cmd: Command, now: int) -> Rejection:
    """The refusal `cmd` gets; also checks the refusal left the state as it was."""
    return refusal(decide, state, cmd, now)


def reveal(amount: int = RESERVE, salt: str = SALT) -> Close:
    return Close(reserve=RevealedReserve(amount=amount, salt=salt))


class Recorder:
    """A session driven command by command, keeping its log.

    After every accepted command it checks what must always hold: the log
    replays to the live state and event times never go backwards.
    """

    def __init__(self, terms: SessionTerms, *, bidders: tuple[int, ...] = (1, 2, 3), now: int = T0) -> None:
        self.terms = terms
        self.state = SessionState()
        self.log: list[Event] = []
        self.do(CreateSession(terms), now)
        for bidder_no in bidders:
            self.do(QualifyBidder(bidder_no), now)

    def do(self, cmd: Command, now: int) -> list[Event]:
        self.state, events = run(self.state, cmd, now)
        self.log.extend(events)
        assert replay(self.log) == self.state
        times = [event.at for event in self.log]
        assert times == sorted(times), "event times went backwards"
        return events

    def reject(self, cmd: Command, now: int) -> Rejection:
        return rejection(self.state, cmd, now)

    def bid(self, bidder_no: int, amount: int, now: int, bid_id: str | None = None) -> list[Event]:
        return self.do(PlaceBid(bidder_no, bid_id or f"b{bidder_no}-{amount}", amount), now)

    def reject_bid(self, bidder_no: int, amount: object, now: int, bid_id: str | None = None) -> Rejection:
        return self.reject(PlaceBid(bidder_no, bid_id or f"b{bidder_no}-x", amount), now)  # type: ignore[arg-type]

    def advance(self, now: int) -> list[Event]:
        return self.do(Advance(), now)

    def open(self) -> list[Event]:
        """Advance to the start time: the session opens."""
        return self.advance(self.terms.start_at)

    def at_deadline(self, cmd: Command) -> list[Event]:
        """`cmd` (a close, usually) at the session's current deadline."""
        deadline = self.state.deadline
        assert deadline is not None
        return self.do(cmd, deadline)


def open_listing(bidders: tuple[int, ...] = (1, 2, 3), **kw: Any) -> Recorder:
    """A listing (`listing_terms(**kw)`) with `bidders` qualified, opened at its start."""
    r = Recorder(listing_terms(**kw), bidders=bidders)
    r.open()
    return r


def open_auction(bidders: tuple[int, ...] = (1, 2, 3), **kw: Any) -> Recorder:
    """An auction (`auction_terms(**kw)`) with `bidders` qualified, opened at its start."""
    r = Recorder(auction_terms(**kw), bidders=bidders)
    r.open()
    return r
