"""Commands to the tender engine. Plain frozen data.

Decryption happens in the shell: the engine never sees a key. At the opening the
shell opens every envelope with the escrow key and hands the engine what came
out (`RevealedBid`); the engine checks each against the commitment it recorded
when the bid arrived, so a shell that altered a bid would be caught by anyone
replaying the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from auction.domain.bidding.commands import QualifyBidder, RevealedReserve, Suspend
from auction.domain.tender.terms import TenderTerms


@dataclass(frozen=True)
class Envelope:
    """An encrypted payload as stored: the escrow key's id, the nonce and the ciphertext (hex)."""

    key_id: str
    nonce: str
    ciphertext: str


@dataclass(frozen=True)
class CreateTender:
    terms: TenderTerms
    reserve: Envelope | None = None  # the sealed reserve (when terms.has_reserve)


# A bidder number qualified (deposit in full, RULES 3.4, or the operator stand-in): the command
# is the session's own.
QualifyTenderBidder = QualifyBidder


@dataclass(frozen=True)
class SubmitSealedBid:
    """投标: a bid sealed by the bidder's client. The server never sees its price."""

    bidder_no: int
    commitment: str  # `bid_commitment(...)`, lowercase hex SHA-256
    envelope: Envelope


@dataclass(frozen=True)
class RevealedBid:
    """What the shell found in a bid's envelope at the opening; None: it could not be opened."""

    bidder_no: int
    price: int | None
    salt: str | None
    proposal_sha256: str | None


@dataclass(frozen=True)
class OpenBids:
    """开标: at the opening time, every sealed bid revealed together."""

    revealed: tuple[RevealedBid, ...]


@dataclass(frozen=True)
class SeatPanel:
    """评标委员会: the panel for a scoring tender, an odd number of at least five (RULES 6.5)."""

    members: tuple[str, ...]


@dataclass(frozen=True)
class SubmitScoreSheet:
    """One panel member's signed score sheet: for each valid bid, a score per criterion.

    `signature_ok`: the shell verified the member's signature over `score_sheet_record`.
    """

    member_id: str
    scores: tuple[tuple[int, tuple[tuple[str, int], ...]], ...]  # (bidder_no, ((criterion key, score), ...))
    signature_ok: bool
    signature: str = ""  # hex, kept in the log so anyone can verify it later


@dataclass(frozen=True)
class Evaluate:
    """评标 concluded: the reserve unsealed by the shell (None when there is none, or it
    could not be opened), the winner decided."""

    reserve: RevealedReserve | None


@dataclass(frozen=True)
class SealDecidedReserve:
    """Q26: the committee's decision sealed into a tender created without a reserve: its
    commitment (published) and the escrow envelope (opened only at the evaluation)."""

    commitment: str
    envelope: Envelope


@dataclass(frozen=True)
class TerminateTender:
    reason: str


# 中止 (RULES 6.7, 7.5): the session's own command; the start-up check sets `recovery` when the bid
# deadline passed while the server was down, and no bid is taken nor the bids opened until resumed.
SuspendTender = Suspend


@dataclass(frozen=True)
class ResumeTender:
    """恢复 (RULES 6.7, 7.3): a suspended tender takes bids again until a new bid deadline, and
    opens them at a new opening time; the new deadline is announced as a session's resumption."""

    reason: str
    bid_deadline: int  # µs UTC: the new 投标截止时间
    opening_at: int  # µs UTC: the new 开标时间, at or after it


TenderCommand = (
    CreateTender | QualifyTenderBidder | SubmitSealedBid | OpenBids | SeatPanel | SubmitScoreSheet | Evaluate
    | TerminateTender | SealDecidedReserve | SuspendTender | ResumeTender
)
