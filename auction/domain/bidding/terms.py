"""What a session is: its method, prices, schedule and the rule settings in force.

The rule settings are copied into the session when it is created, so replaying
its events later gives the same result even if the trading center has changed
its settings since.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

SECOND = 1_000_000  # time is integer microseconds since the Unix epoch, UTC
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# RULES 7.3, one setting for sessions and tenders alike: a fault fixed within this may resume
# directly; otherwise the resumption is announced at least RESUME_NOTICE ahead (P: Fujian 24 h).
DIRECT_RESUME_WINDOW = HOUR
RESUME_NOTICE = 24 * HOUR


class Method(str, Enum):
    LISTING = "LISTING"  # 挂牌
    AUCTION = "AUCTION"  # 拍卖


@dataclass(frozen=True)
class SessionRules:
    """Per-trading-center numbers, each with the rule it comes from (docs/rules.md)."""

    # RULES 4.1, N Art.18: the listing period is at least 10 days.
    min_listing_period: int = 10 * DAY
    # RULES 4.4: timed bidding follows only if at least this many bidders bid during listing.
    timed_bidding_min_bidders: int = 2
    # RULES 5.4: minimum qualified bidders for an auction to open (default 1).
    auction_min_bidders: int = 1
    # RULES 4.2 (P: Suzhou): bids must rise by whole multiples of the increment.
    whole_increments: bool = False
    # Common practice (P): the holder of the highest bid may not outbid themselves.
    allow_self_outbid: bool = False
    # RULES 7.3: a fault fixed within 1 hour may resume directly ...
    direct_resume_window: int = DIRECT_RESUME_WINDOW
    # ... otherwise the resumption is announced this far ahead (P: Fujian 24 h).
    resume_notice: int = RESUME_NOTICE
    # RULES 3.1, Q31: deposit at least 20% of the starting price.
    min_deposit_percent: int = 20
    # Every bid must be signed with the bidder's registered Ed25519 key (docs/protocol.md, section 9).
    signed_bids: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionRules:
        return cls(**data)


def unannounced_resumption(direct_resume_window: int, resume_notice: int, suspended_at: int, resume_at: int,
                           now: int) -> int | None:
    """RULES 7.3 for whatever was suspended at `suspended_at` and resumes at `resume_at` (a
    session's bidding again; a tender's new bid deadline): None when that may be set at `now`,
    else the earliest instant that may. Within the direct window of the fault it may be at once;
    past it, bidders are told at least `resume_notice` ahead."""
    if resume_at - suspended_at <= direct_resume_window or resume_at >= now + resume_notice:
        return None
    return now + resume_notice


@dataclass(frozen=True)
class SessionTerms:
    session_id: str
    parcel_ref: str
    method: Method
    start_price: int  # fen
    increment: int  # fen
    deposit: int  # fen
    start_at: int  # µs UTC
    listing_end_at: int | None  # µs UTC; listing only
    countdown: int  # µs: timed bidding (listing) or the auction's "three calls"
    registration_closes_at: int  # µs UTC
    # The reserve itself is never here: only whether there is one and its
    # commitment (SHA-256 over value and salt), published from the start (RULES 2.4).
    has_reserve: bool
    reserve_commitment: str | None
    rules: SessionRules = field(default_factory=SessionRules)
    # True for a session created from an announced plan (Q26): the reserve is
    # decided and sealed within the hour before the start (`SealReserve`), so
    # has_reserve/reserve_commitment above stay empty and the session cannot
    # open without that decision. False: the stand-in path, sealed at creation.
    reserve_by_decision: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self) | {"method": self.method.value}
        if not self.rules.signed_bids:  # terms recorded before the option existed read the same
            del data["rules"]["signed_bids"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionTerms:
        values = dict(data)
        values["method"] = Method(values["method"])
        values["rules"] = SessionRules.from_dict(values.get("rules", {}))
        return cls(**values)
