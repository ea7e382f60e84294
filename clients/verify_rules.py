"""The published trading rules, replayed over a public record's events (for `auction-verify`).

Standard library only, written from docs/rules.md, never from the server's engine:
a second reading of the rules is what makes the check worth something. Each event
must be one the rules allow in the state the earlier ones made (a bid at least the
minimum next bid, before the deadline in force; timed bidding only with enough
listing bidders; the close at the deadline), and the close must say what the rules
decide from the highest bid and the reserve (RULES 4.4, 5.3, Q28).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

OPEN = ("LISTING", "TIMED_BIDDING", "AUCTION")


class RuleBroken(Exception):
    """An event the rules do not allow here: `seq` is the event's place, `rule` the article."""

    def __init__(self, seq: int, rule: str, detail: str) -> None:
        self.seq, self.rule, self.detail = seq, rule, detail
        super().__init__(f"seq {seq} ({rule}): {detail}")


def commitment_of(amount: int, salt: str) -> str:
    """RULES 2.4: SHA-256 over the reserve and its salt, as `"{amount}:{salt}"` in ASCII."""
    return hashlib.sha256(f"{amount}:{salt}".encode("ascii")).hexdigest()


@dataclass
class Replay:
    phase: str = "NEW"
    terms: dict[str, Any] = field(default_factory=dict)
    increment: int = 0
    opens_at: int = 0
    listing_end_at: int | None = None
    deadline: int | None = None
    highest_bidder: int | None = None
    highest_amount: int | None = None
    listing_bidders: set[int] = field(default_factory=set)
    has_reserve: bool | None = None
    commitment: str | None = None
    suspended_from: str | None = None
    suspended_at: int | None = None
    bids: int = 0
    closed: dict[str, Any] | None = None
    end_reason: str | None = None

    @property
    def rules(self) -> dict[str, Any]:
        rules: dict[str, Any] = self.terms.get("rules", {})
        return rules

    def apply(self, seq: int, kind: str, e: dict[str, Any]) -> None:
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise RuleBroken(seq, "docs/protocol.md", f"an event type no rule knows: {kind}")
        handler(seq, e)

    def _need(self, seq: int, ok: bool, rule: str, detail: str) -> None:
        if not ok:
            raise RuleBroken(seq, rule, detail)

    # -- the events ----------------------------------------------------------

    def _SessionCreated(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase == "NEW" and seq == 1, "docs/rules.md", "the session is created first, once")
        t = e["terms"]
        self.terms, self.phase, self.increment = t, "SCHEDULED", t["increment"]
        self.opens_at, self.listing_end_at = t["start_at"], t.get("listing_end_at")
        self.has_reserve = None if t.get("reserve_by_decision") else t["has_reserve"]
        self.commitment = t.get("reserve_commitment")

    def _ReserveSealed(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase == "SCHEDULED" and self.has_reserve is None, "Q26",
                   "the reserve is sealed once, before the start")
        self.has_reserve, self.commitment = e["has_reserve"], e["commitment"]

    def _OpenRefused(self, seq: int, e: dict[str, Any]) -> None:
        self.phase, self.end_reason = "HELD", e["reason"]

    def _SessionOpened(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase == "SCHEDULED", "RULES 4.1, 5.1", f"opened from {self.phase}")
        self._need(seq, e["at"] == self.opens_at, "RULES 4.1, 5.1", "opened at another time than announced")
        self._need(seq, self.has_reserve is not None, "Q26", "opened without a sealed reserve decision")
        self._need(seq, e.get("reserve_commitment") == self.commitment, "RULES 2.4",
                   "the open states another reserve commitment than the one sealed")
        auction = self.terms["method"] == "AUCTION"
        expected = self.opens_at + self.terms["countdown"] if auction else self.listing_end_at
        self._need(seq, e["phase"] == ("AUCTION" if auction else "LISTING") and e["deadline"] == expected,
                   "RULES 4.1, 5.2", "the open's phase or deadline is not the schedule's")
        self.phase, self.deadline = e["phase"], e["deadline"]

    def _BidAccepted(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase in OPEN, "RULES 4.2, 5.2", f"a bid accepted while {self.phase}")
        assert self.deadline is not None
        at, amount, bidder = e["at"], e["amount"], e["bidder_no"]
        self._need(seq, at < self.deadline, "RULES 4.5, 5.2", "a bid accepted at or after the deadline")
        minimum = self.terms["start_price"] if self.highest_amount is None else self.highest_amount + self.increment
        self._need(seq, amount >= minimum, "RULES 4.2, 5.2", f"{amount} fen is below the minimum {minimum}")
        if self.rules.get("whole_increments"):
            base = self.terms["start_price"] if self.highest_amount is None else self.highest_amount
            self._need(seq, (amount - base) % self.increment == 0, "RULES 4.2", "not a whole number of increments")
        if not self.rules.get("allow_self_outbid"):
            self._need(seq, bidder != self.highest_bidder, "RULES 4.2", "the highest bidder outbid itself")
        expected = self.deadline if self.phase == "LISTING" else at + self.terms["countdown"]
        self._need(seq, e["deadline"] == expected, "RULES 4.5, 5.2", "the bid set another deadline than the rules")
        if self.phase == "LISTING":
            self.listing_bidders.add(bidder)
        self.highest_bidder, self.highest_amount, self.deadline = bidder, amount, e["deadline"]
        self.bids += 1

    def _TimedBiddingStarted(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase == "LISTING" and e["at"] == self.deadline, "RULES 4.4",
                   "timed bidding starts at the listing's end")
        self._need(seq, len(self.listing_bidders) >= self.rules.get("timed_bidding_min_bidders", 2), "RULES 4.4",
                   "timed bidding without enough listing bidders")
        self._need(seq, e["deadline"] == e["at"] + self.terms["countdown"], "RULES 4.5", "not the countdown")
        self.phase, self.deadline = "TIMED_BIDDING", e["deadline"]

    def _IncrementChanged(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, e["increment"] > 0, "RULES 4.2", "an increment of no fen")
        self.increment = e["increment"]

    def _SessionSuspended(self, seq: int, e: dict[str, Any]) -> None:
        if self.phase == "SUSPENDED":
            return
        self._need(seq, self.phase == "SCHEDULED" or self.phase in OPEN, "RULES 7.1", f"suspended from {self.phase}")
        self.suspended_from, self.suspended_at, self.phase = self.phase, e["at"], "SUSPENDED"

    def _ResumptionScheduled(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase == "SUSPENDED", "RULES 7.3", "a resumption of a session not suspended")

    def _ResumptionCancelled(self, seq: int, e: dict[str, Any]) -> None:
        self._ResumptionScheduled(seq, e)

    def _SessionResumed(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase == "SUSPENDED", "RULES 7.3", "resumed a session not suspended")
        assert self.suspended_at is not None and self.suspended_from is not None
        frozen, back = e["at"] - self.suspended_at, self.suspended_from
        self.phase, self.suspended_from = back, None
        if back == "SCHEDULED":  # RULES 7.2: the clock stops while suspended
            self.opens_at += frozen
            if self.listing_end_at is not None:
                self.listing_end_at += frozen
        elif back == "LISTING":
            assert self.deadline is not None and self.listing_end_at is not None
            self.deadline += frozen
            self.listing_end_at += frozen
        else:
            self.deadline = e["at"] + self.terms["countdown"]

    def _SessionClosed(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase in OPEN or self.phase == "HELD", "RULES 4.4, 5.3", f"closed from {self.phase}")
        self._need(seq, e["at"] == self.deadline, "RULES 4.4, 5.3", "closed at another time than the deadline")
        if self.has_reserve:
            reserve, salt = e.get("reserve"), e.get("reserve_salt")
            self._need(seq, isinstance(reserve, int) and isinstance(salt, str)
                       and commitment_of(reserve, salt) == self.commitment, "RULES 2.4",
                       "the reserve revealed at the close does not match its commitment")
            floor, basis = reserve, "SEALED"
        else:  # Q28: an auction without a reserve: the starting price stands
            floor, basis = self.terms["start_price"], "START_PRICE"
        assert floor is not None
        if self.highest_amount is None:
            outcome, reason = "UNSOLD", "NO_BIDS"
        elif self.highest_amount < floor:
            outcome, reason = "UNSOLD", "BELOW_RESERVE"
        else:
            outcome, reason = "SOLD", "SOLD"
        sold = outcome == "SOLD"
        expected = {"outcome": outcome, "reason": reason, "reserve_basis": basis,
                    "winner_bidder_no": self.highest_bidder if sold else None,
                    "price": self.highest_amount if sold else None}
        for name, value in expected.items():
            self._need(seq, e.get(name) == value, "RULES 4.4, 5.3, Q28",
                       f"the close says {name} = {e.get(name)!r}, the rules give {value!r}")
        self.phase, self.closed, self.end_reason = "CLOSED", e, reason

    def _CloseHeld(self, seq: int, e: dict[str, Any]) -> None:
        self.phase, self.end_reason = "HELD", e["reason"]

    def _SessionTerminated(self, seq: int, e: dict[str, Any]) -> None:
        self._need(seq, self.phase not in ("CLOSED", "TERMINATED"), "RULES 7.4", "terminated after the end")
        self.phase, self.end_reason = "TERMINATED", e["reason"]
