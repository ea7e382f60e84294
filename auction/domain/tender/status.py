"""What a tender is doing now, as people are told: its phase, and within the phase before
the opening what the clock and the reserve allow (RULES 6.1-6.3).

`TenderPhase.CREATED` covers everything from the creation to the opening; a bid is taken
only from the plan's start (`bids_open_at`), before the deadline, and once the reserve is
sealed (Q26, `Q26_RESERVE_NOT_SEALED`), and never while it is suspended (RULES 6.7). The
status says which of these holds, so no page says "taking bids" while a bid would be refused.
Pure: the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from auction.domain.tender.tender import TenderPhase, TenderState


class TenderStatus(str, Enum):
    NOT_CREATED = "NOT_CREATED"
    BIDS_NOT_OPEN = "BIDS_NOT_OPEN"  # before bids open; the reserve is sealed
    RESERVE_PENDING = "RESERVE_PENDING"  # before bids open; the reserve not sealed yet (Q26)
    NO_RESERVE = "NO_RESERVE"  # bids would be open, but no reserve was sealed in time: none taken
    TAKING_BIDS = "TAKING_BIDS"  # 投标中: a qualified bidder's sealed bid is taken now
    BIDS_CLOSED = "BIDS_CLOSED"  # the deadline has passed; the opening is due
    SUSPENDED = "SUSPENDED"  # 中止 (RULES 6.7): no bid, no opening until the operator resumes it
    OPENED = "OPENED"  # 开标 done; 评标 under way
    ENDED = "ENDED"


@dataclass(frozen=True)
class StatusNow:
    status: TenderStatus
    at: int | None = None  # µs UTC: the time the status's words name (bids open, the deadline, the opening,
    # since when it is suspended)


def tender_status(state: TenderState, now: int) -> StatusNow:
    """The tender's status at `now`, with the time its words name."""
    terms = state.terms
    if terms is None:
        return StatusNow(TenderStatus.NOT_CREATED)
    if state.phase is TenderPhase.ENDED:
        return StatusNow(TenderStatus.ENDED)
    if state.phase is TenderPhase.OPENED:
        return StatusNow(TenderStatus.OPENED)
    if state.suspended is not None:
        return StatusNow(TenderStatus.SUSPENDED, state.suspended.at)
    if now >= terms.bid_deadline:
        return StatusNow(TenderStatus.BIDS_CLOSED, terms.opening_at)
    sealed = state.reserve_commitment is not None
    if now < terms.bids_open_at:
        return StatusNow(TenderStatus.BIDS_NOT_OPEN if sealed else TenderStatus.RESERVE_PENDING, terms.bids_open_at)
    if not sealed:
        return StatusNow(TenderStatus.NO_RESERVE, terms.bid_deadline)
    return StatusNow(TenderStatus.TAKING_BIDS, terms.bid_deadline)
