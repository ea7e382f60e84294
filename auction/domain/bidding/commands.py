"""Commands: what someone asks the session engine to do. Plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass

from auction.domain.bidding.terms import SessionTerms


@dataclass(frozen=True)
class CreateSession:
    terms: SessionTerms


@dataclass(frozen=True)
class SealReserve:
    """The reserve decided by the committee (Q26) is sealed: only its commitment
    enters the session (None: an auction without a reserve, Q28)."""

    commitment: str | None


@dataclass(frozen=True)
class QualifyBidder:
    """Qualify a bidder number: when the deposit is complete (RULES 3.4), or by the operator stand-in."""

    bidder_no: int


@dataclass(frozen=True)
class PlaceBid:
    bidder_no: int
    bid_id: str
    amount: int  # fen
    token_epoch: int = 0  # of the token the connection signed in with (see ReissueToken)
    # A signed bid (a session with `signed_bids`): the bidder's Ed25519 signature, checked by
    # the shell against the key registered for the bidder before the command is decided, and
    # the last public seq the bidder had seen, which the signature covers.
    signature: str | None = None
    client_seq: int | None = None


@dataclass(frozen=True)
class ReissueToken:
    """Replace a qualified bidder's lost or exposed token: earlier tokens stop counting."""

    bidder_no: int


@dataclass(frozen=True)
class Advance:
    """Apply every transition that is due by `now` (open, timed bidding, scheduled resume)."""


@dataclass(frozen=True)
class RevealedReserve:
    amount: int  # fen
    salt: str  # hex


@dataclass(frozen=True)
class Close:
    """The close procedure, once the final deadline has passed.

    The shell unseals the reserve and passes it in; the engine checks it against
    the commitment published at creation (RULES 2.4) before deciding.
    """

    reserve: RevealedReserve | None
    # Why there is no reserve, when there is none: RESERVE_UNAVAILABLE (key locked
    # or missing: the close may run again) or RESERVE_CIPHERTEXT_INVALID (tampered).
    missing_reason: str = "RESERVE_UNAVAILABLE"


@dataclass(frozen=True)
class Suspend:
    reason: str
    recovery: bool = False  # RULES 7.5: set by the start-up check, not by a person


@dataclass(frozen=True)
class Resume:
    reason: str
    resume_at: int | None = None  # µs; None = now (only within the direct-resume window)


@dataclass(frozen=True)
class Terminate:
    reason: str


@dataclass(frozen=True)
class ChangeIncrement:
    increment: int  # fen
    reason: str


Command = (
    CreateSession
    | SealReserve
    | QualifyBidder
    | ReissueToken
    | PlaceBid
    | Advance
    | Close
    | Suspend
    | Resume
    | Terminate
    | ChangeIncrement
)
