"""Tender events: what happened, append-only. Every event carries `at` (µs UTC).

Private events (a bidder qualified, a sealed bid received, the reserve's envelope,
a score sheet) are never shown to watchers before the result: how many bid, and
what the panel thinks of each, stay secret until the opening and the evaluation
have ended (RULES 3.5, 6.2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from auction.domain.event_log import EventTypes
from auction.domain.tender.commands import Envelope
from auction.domain.tender.terms import TenderTerms


@dataclass(frozen=True)
class TenderCreated:
    at: int
    terms: TenderTerms


@dataclass(frozen=True)
class TenderReserveSealed:
    at: int
    envelope: Envelope


@dataclass(frozen=True)
class TenderReserveDecided:
    """Q26: the committee's reserve, sealed after the creation (a tender created without one)."""

    at: int
    commitment: str
    envelope: Envelope


@dataclass(frozen=True)
class TenderBidderQualified:
    at: int
    bidder_no: int


@dataclass(frozen=True)
class SealedBidReceived:
    at: int
    bidder_no: int
    commitment: str
    envelope: Envelope
    receipt: str  # `bid_receipt(...)`: what the bidder keeps as proof of submission


@dataclass(frozen=True)
class OpenedBid:
    bidder_no: int
    commitment: str
    submitted_at: int
    price: int | None  # None: the bid could not be opened
    proposal_sha256: str | None
    salt: str | None  # published so anyone can recompute the commitment
    valid: bool
    reason: str  # VALID, UNREADABLE, COMMITMENT_MISMATCH, BELOW_START_PRICE


@dataclass(frozen=True)
class BidsOpened:
    at: int
    bids: tuple[OpenedBid, ...]  # in the order the bids were received
    valid_count: int


@dataclass(frozen=True)
class PanelSeated:
    at: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ScoreSheetSigned:
    at: int
    member_id: str
    scores: tuple[tuple[int, tuple[tuple[str, int], ...]], ...]
    signature: str = ""  # the member's Ed25519 signature over `score_sheet_record`, hex


@dataclass(frozen=True)
class RankedBid:
    bidder_no: int
    price: int
    score: str  # the combined score as an exact fraction "n/d" ("" for a highest-price tender)
    eligible: bool  # not below the reserve


@dataclass(frozen=True)
class TenderEnded:
    at: int
    outcome: str  # AWARDED, UNSOLD or TERMINATED
    reason: str  # AWARDED, FEWER_THAN_THREE (N Art.14), BELOW_RESERVE, RESERVE_MISMATCH, or an operator's reason
    winner_bidder_no: int | None
    price: int | None
    ranking: tuple[RankedBid, ...]  # best first
    reserve: int | None  # revealed only now
    reserve_salt: str | None


@dataclass(frozen=True)
class TenderSuspended:
    """中止 (RULES 6.7): no bid is taken and the opening waits. `recovery`: set by the start-up check
    (the bid deadline passed while the server was down), effective from when it was last alive."""

    at: int
    reason: str
    recovery: bool


@dataclass(frozen=True)
class TenderResumed:
    """恢复 (RULES 6.7): the terms in force carry the new bid deadline and opening from here on."""

    at: int
    reason: str
    bid_deadline: int
    opening_at: int


TenderEvent = (
    TenderCreated
    | TenderReserveSealed
    | TenderBidderQualified
    | SealedBidReceived
    | BidsOpened
    | PanelSeated
    | ScoreSheetSigned
    | TenderEnded
    | TenderReserveDecided
    | TenderSuspended
    | TenderResumed
)

TYPES: EventTypes[TenderEvent] = EventTypes(
    TenderEvent,
    private={TenderReserveSealed, TenderBidderQualified, SealedBidReceived, ScoreSheetSigned, TenderReserveDecided},
    kind="tender event",
)
EVENT_TYPES = TYPES.by_name
PRIVATE_EVENTS = TYPES.private
is_public = TYPES.is_public
event_type = TYPES.name


def event_to_dict(event: TenderEvent) -> dict[str, Any]:
    """Plain JSON-ready fields (without the type name); tuples become lists."""
    if isinstance(event, TenderCreated):
        return {"at": event.at, "terms": event.terms.to_dict()}
    return asdict(event)


def _pairs(scores: Any) -> tuple[tuple[int, tuple[tuple[str, int], ...]], ...]:
    return tuple((int(no), tuple((str(k), int(v)) for k, v in items)) for no, items in scores)


def event_from_dict(type_name: str, data: dict[str, Any]) -> TenderEvent:
    cls, values = TYPES.stored(type_name, data)
    if cls is TenderCreated:
        values["terms"] = TenderTerms.from_dict(data["terms"])
    if "envelope" in values:
        values["envelope"] = Envelope(**values["envelope"])
    if cls is BidsOpened:
        values["bids"] = tuple(OpenedBid(**b) for b in data["bids"])
    if cls is TenderEnded:
        values["ranking"] = tuple(RankedBid(**r) for r in data["ranking"])
    if cls is PanelSeated:
        values["members"] = tuple(data["members"])
    if cls is ScoreSheetSigned:
        values["scores"] = _pairs(data["scores"])
    event: TenderEvent = cls(**values)
    return event
