"""Events: what happened, append-only. Every event carries `at`, server time in µs UTC.

`at` is the time the event takes effect in the trade. For transitions the
engine derives from the schedule (open, timed bidding, close) it is the
scheduled instant, not the moment a timer happened to fire, so a late timer
never changes an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auction.domain.bidding.terms import SessionTerms
from auction.domain.event_log import EventTypes


@dataclass(frozen=True)
class SessionCreated:
    at: int
    terms: SessionTerms


@dataclass(frozen=True)
class BidderQualified:
    at: int
    bidder_no: int


@dataclass(frozen=True)
class ReserveSealed:
    at: int
    has_reserve: bool
    commitment: str | None


@dataclass(frozen=True)
class SessionOpened:
    at: int
    phase: str  # LISTING or AUCTION
    deadline: int
    # The reserve's commitment, published in the open event (RULES 2.4, N Art.15:
    # the host states whether there is a reserve).
    has_reserve: bool = False
    reserve_commitment: str | None = None


@dataclass(frozen=True)
class OpenRefused:
    """The start time came but the session may not open (e.g. no reserve sealed, Q26)."""

    at: int
    reason: str


@dataclass(frozen=True)
class BidAccepted:
    at: int
    bid_id: str
    bidder_no: int
    amount: int
    deadline: int  # the deadline after this bid (restarted in timed bidding and auctions)
    # A signed bid only (the session's `signed_bids`): the bidder's signature and the seq it covers.
    # Absent from the stored payload of an unsigned bid, which stays as it always was.
    signature: str | None = None
    client_seq: int | None = None


@dataclass(frozen=True)
class TimedBiddingStarted:
    at: int
    deadline: int


@dataclass(frozen=True)
class IncrementChanged:
    at: int
    increment: int
    reason: str


@dataclass(frozen=True)
class SessionSuspended:
    at: int
    reason: str
    recovery: bool


@dataclass(frozen=True)
class ResumptionScheduled:
    at: int
    resume_at: int
    reason: str


@dataclass(frozen=True)
class ResumptionCancelled:
    at: int
    reason: str


@dataclass(frozen=True)
class SessionResumed:
    at: int
    reason: str


@dataclass(frozen=True)
class SessionClosed:
    at: int
    outcome: str  # SOLD or UNSOLD
    reason: str  # SOLD, NO_BIDS, BELOW_RESERVE
    winner_bidder_no: int | None
    price: int | None
    reserve: int | None  # revealed only now; None when there was no reserve
    reserve_salt: str | None
    reserve_basis: str  # SEALED or START_PRICE (Q28: no reserve, the start price stands)


@dataclass(frozen=True)
class CloseHeld:
    """The close could not be decided safely (e.g. reserve fails its commitment): held for operators."""

    at: int
    reason: str


@dataclass(frozen=True)
class SessionTerminated:
    at: int
    reason: str


@dataclass(frozen=True)
class BidderTokenReissued:
    """The bidder's token was replaced (lost or exposed): bids from connections that
    signed in with an earlier one are refused from here on (`TOKEN_REVOKED`)."""

    at: int
    bidder_no: int
    epoch: int  # 1 for the first re-issue; the original token is epoch 0


Event = (
    SessionCreated
    | ReserveSealed
    | BidderQualified
    | SessionOpened
    | OpenRefused
    | BidAccepted
    | TimedBiddingStarted
    | IncrementChanged
    | SessionSuspended
    | ResumptionScheduled
    | ResumptionCancelled
    | SessionResumed
    | SessionClosed
    | CloseHeld
    | SessionTerminated
    | BidderTokenReissued
)

# Each event's type name (what the log stores) -> its class. Events bidders and
# watchers never see: how many bidders registered is kept secret before the close,
# like who they are (RULES 3.5). Public events get their own gap-free numbering
# (`pub_seq`) so the private ones leave no trace.
TYPES: EventTypes[Event] = EventTypes(Event, private={BidderQualified, BidderTokenReissued})
EVENT_TYPES = TYPES.by_name
PRIVATE_EVENTS = TYPES.private
is_public = TYPES.is_public
event_type = TYPES.name


def event_to_dict(event: Event) -> dict[str, Any]:
    """Plain JSON-ready fields (without the type name)."""
    if isinstance(event, SessionCreated):
        return {"at": event.at, "terms": event.terms.to_dict()}
    # Every other event is flat (ints, strings, booleans): its fields in
    # declaration order, as `asdict` gives them, without its deep copy.
    data = dict(vars(event))
    if isinstance(event, BidAccepted) and event.signature is None:
        del data["signature"], data["client_seq"]
    return data


def event_from_dict(type_name: str, data: dict[str, Any]) -> Event:
    cls, values = TYPES.stored(type_name, data)
    if cls is SessionCreated:
        return SessionCreated(at=data["at"], terms=SessionTerms.from_dict(data["terms"]))
    event: Event = cls(**values)
    return event
