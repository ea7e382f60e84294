"""The tender (招标) engine: `decide(state, command, now) -> events`, `evolve(state, event)
-> state`, `replay(events)`. Pure, like `bidding/session.py`: `now` is an argument.

Lifecycle (RULES 6, N Art.13-14):

    NEW -> CREATED (bids sealed until the deadline) -> OPENED (开标) -> ENDED
                                                   \\-> ENDED (fewer than three valid bids, N Art.14)
    CREATED -> SUSPENDED (中止: the deadline passed while the server was down, RULES 6.7)
            -> CREATED (resumed with a new deadline and opening)
    any status before ENDED -> ENDED (terminated, with a reason)

Interpretations, each with its reason:

- A bid is taken from `bids_open_at` and strictly before `bid_deadline`: at the deadline
  itself no bid is taken (投标截止时间 is the first instant that is too late).
- One bid per bidder (RULES 6.2): a submitted bid is irrevocable, so a second is refused
  (`TENDER_BID_ALREADY_SUBMITTED`, with the first bid's receipt so a client that lost the
  answer knows its bid is in).
- A bid is valid at the opening when its envelope opens, what it holds matches the
  commitment recorded on receipt, and its price is at least the start price. N Art.14's
  "fewer than three" counts valid bids: a bid that cannot be opened or checked is no bid.
- Scoring (RULES 6.5): a bid's score is its price's points plus each criterion's weight
  times the mean of the members' scores, out of `max_score`; the price's points are
  `max_score x price / the highest valid price`. Everything is exact (fractions).
- Ties: a highest-price tender ranks by price, then by who submitted first (as equal
  bids in a listing, RULES 4.4); a scoring tender by score, then price, then who
  submitted first.
- The reserve (Q28) is unsealed only at the end of the evaluation: a bid below it can
  not win; the best bid not below it wins; if none, the tender ends unsold.
- An outage across the bid deadline (RULES 6.7, as 7.5 for a session): bidders who meant to
  seal a bid in the last stretch could not, so the tender is suspended from the server's last
  sign of life, not opened. While suspended no bid is taken and the bids are not opened
  (`TENDER_SUSPENDED`); the sealed bids already in stand. A resumption sets a new deadline and
  opening, the deadline announced as a session's resumption is (RULES 7.3); the terms in force
  carry them from then on, so the bid check, the status and the timers all read one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from fractions import Fraction

from auction.domain.china import iso_cst
from auction.domain.bidding.session import reserve_commitment
from auction.domain.bidding.terms import unannounced_resumption
from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount
from auction.domain.tender.commands import (
    CreateTender,
    Envelope,
    Evaluate,
    OpenBids,
    QualifyTenderBidder,
    ResumeTender,
    RevealedBid,
    SealDecidedReserve,
    SeatPanel,
    SubmitScoreSheet,
    SubmitSealedBid,
    SuspendTender,
    TenderCommand,
    TerminateTender,
)
from auction.domain.tender.events import (
    BidsOpened,
    OpenedBid,
    PanelSeated,
    RankedBid,
    ScoreSheetSigned,
    SealedBidReceived,
    TenderBidderQualified,
    TenderCreated,
    TenderEnded,
    TenderEvent,
    TenderReserveDecided,
    TenderReserveSealed,
    TenderResumed,
    TenderSuspended,
)
from auction.domain.tender.terms import Evaluation, TenderTerms, check_terms
from auction.domain import event_log

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX = re.compile(r"(?:[0-9a-f]{2})+")
MAX_CIPHERTEXT_HEX = 1024 * 1024  # 512 KiB sealed (the price and a proposal file), in one 1 MiB request body


class TenderPhase(str, Enum):
    NEW = "NEW"
    CREATED = "CREATED"  # 投标: bids sealed until the deadline
    OPENED = "OPENED"  # 开标 done; 评标 under way
    ENDED = "ENDED"
    SUSPENDED = "SUSPENDED"  # 中止 before the opening (RULES 6.7): no bid, no opening until resumed


@dataclass(frozen=True)
class TenderState:
    version: int = 0  # events in the log
    terms: TenderTerms | None = None
    reserve: Envelope | None = None
    qualified: frozenset[int] = frozenset()
    bids: tuple[SealedBidReceived, ...] = ()  # in the order received
    opened: BidsOpened | None = None
    panel: PanelSeated | None = None
    sheets: tuple[ScoreSheetSigned, ...] = ()
    ended: TenderEnded | None = None
    decided_commitment: str | None = None  # Q26: the committee's reserve, sealed after the creation
    suspended: TenderSuspended | None = None  # RULES 6.7: held until resumed (cleared by the end)
    last_at: int = 0  # µs: the latest event's time (a suspension for an outage is never dated before it)

    @property
    def reserve_commitment(self) -> str | None:
        """The reserve's commitment: sealed at the creation, or the committee's decision (Q26)."""
        return self.decided_commitment if self.terms is None or not self.terms.has_reserve \
            else self.terms.reserve_commitment

    @property
    def phase(self) -> TenderPhase:
        if self.ended is not None:
            return TenderPhase.ENDED
        if self.opened is not None:
            return TenderPhase.OPENED
        if self.suspended is not None:
            return TenderPhase.SUSPENDED
        return TenderPhase.NEW if self.terms is None else TenderPhase.CREATED

    @property
    def final(self) -> bool:
        return self.ended is not None

    def bid_of(self, bidder_no: int) -> SealedBidReceived | None:
        return next((b for b in self.bids if b.bidder_no == bidder_no), None)

    @property
    def valid_bids(self) -> tuple[OpenedBid, ...]:
        return () if self.opened is None else tuple(b for b in self.opened.bids if b.valid)


# ---------------------------------------------------------------------------
# what bidders, the server and panel members compute alike


def bid_commitment(tender_id: str, bidder_no: int, price: int, proposal_sha256: str, salt: str) -> str:
    """SHA-256 binding a bid to its tender, bidder, price, proposal and a secret salt: recorded
    on receipt, checked at the opening, recomputable by anyone afterwards."""
    text = f"tender-bid:{tender_id}:{bidder_no}:{price}:{proposal_sha256}:{salt}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bid_receipt(tender_id: str, bidder_no: int, commitment: str, envelope: Envelope, at: int) -> str:
    """The receipt of a sealed bid (回执): SHA-256 over what the server stored and when."""
    text = f"tender-receipt:{tender_id}:{bidder_no}:{commitment}:{envelope.key_id}:{envelope.nonce}:" \
           f"{hashlib.sha256(envelope.ciphertext.encode('ascii')).hexdigest()}:{at}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score_sheet_record(tender_id: str, member_id: str, scores: Iterable[tuple[int, Iterable[tuple[str, int]]]]) -> bytes:
    """The bytes a panel member signs: canonical JSON (sorted keys, no spaces, UTF-8)."""
    record = {
        "tender_id": tender_id,
        "member_id": member_id,
        "scores": {str(no): dict(items) for no, items in scores},
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# decide


def decide(state: TenderState, command: TenderCommand, now: int) -> list[TenderEvent]:
    """The events `command` produces at `now`, or `Rejected` (which changes nothing)."""
    if isinstance(command, CreateTender):
        return _create(state, command, now)
    if state.terms is None:
        raise Rejected(Code.UNKNOWN_SESSION, "no such tender")
    if state.suspended is not None and isinstance(command, (SubmitSealedBid, OpenBids)):
        # RULES 6.7: before the deadline check, which would call a held tender's bid late
        raise Rejected(Code.TENDER_SUSPENDED, since=iso_cst(state.suspended.at), reason=state.suspended.reason)
    if isinstance(command, SubmitSealedBid) and now >= state.terms.bid_deadline:
        # late is late, whether or not the opening has already ended the tender
        raise Rejected(Code.TENDER_BID_DEADLINE_PASSED, deadline=iso_cst(state.terms.bid_deadline))
    if state.final:
        raise Rejected(Code.SESSION_CLOSED)
    if isinstance(command, QualifyTenderBidder):
        return _qualify(state, command, now)
    if isinstance(command, SubmitSealedBid):
        return _submit(state, command, now)
    if isinstance(command, OpenBids):
        return _open(state, command, now)
    if isinstance(command, SeatPanel):
        return _seat(state, command, now)
    if isinstance(command, SubmitScoreSheet):
        return _sheet(state, command, now)
    if isinstance(command, Evaluate):
        return _evaluate(state, command, now)
    if isinstance(command, SealDecidedReserve):
        return _seal_decided(state, command, now)
    if isinstance(command, SuspendTender):
        return _suspend(state, command, now)
    if isinstance(command, ResumeTender):
        return _resume(state, command, now)
    if isinstance(command, TerminateTender):
        if not isinstance(command.reason, str) or not command.reason.strip():
            raise Rejected(Code.REASON_REQUIRED)
        return [TenderEnded(at=now, outcome="TERMINATED", reason=command.reason, winner_bidder_no=None, price=None,
                            ranking=(), reserve=None, reserve_salt=None)]
    raise TypeError(f"not a tender command: {command!r}")


def _create(state: TenderState, command: CreateTender, now: int) -> list[TenderEvent]:
    if state.terms is not None:
        raise Rejected(Code.SESSION_EXISTS)
    terms = command.terms
    check_terms(terms)
    if (command.reserve is not None) != terms.has_reserve:
        raise Rejected(Code.INVALID_TERMS, "the sealed reserve and has_reserve disagree", field="reserve")
    if command.reserve is not None:
        _check_envelope(command.reserve)
    events: list[TenderEvent] = [TenderCreated(at=now, terms=terms)]
    if command.reserve is not None:
        events.append(TenderReserveSealed(at=now, envelope=command.reserve))
    return events


def _seal_decided(state: TenderState, command: SealDecidedReserve, now: int) -> list[TenderEvent]:
    """Q26 for a tender: the plan engine judged the decision (window, appraisal, members); here
    only that it comes once, to a tender created without a reserve, before bids open."""
    terms = state.terms
    assert terms is not None
    if state.reserve_commitment is not None:
        raise Rejected(Code.RESERVE_ALREADY_SEALED)
    if now >= terms.bids_open_at or state.opened is not None:
        raise Rejected(Code.Q26_OUTSIDE_RESERVE_WINDOW, bids_open_at=terms.bids_open_at)
    if not isinstance(command.commitment, str) or not HEX64.fullmatch(command.commitment):
        raise Rejected(Code.INVALID_FIELD, "commitment: 64 lowercase hex digits", field="commitment")
    _check_envelope(command.envelope)
    return [TenderReserveDecided(at=now, commitment=command.commitment, envelope=command.envelope)]


def _suspend(state: TenderState, command: SuspendTender, now: int) -> list[TenderEvent]:
    if not isinstance(command.reason, str) or not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    if state.suspended is not None:
        raise Rejected(Code.ALREADY_SUSPENDED)
    if state.opened is not None:  # the bids are out: there is nothing left to hold them for
        raise Rejected(Code.TENDER_ALREADY_OPENED)
    return [TenderSuspended(at=now, reason=command.reason, recovery=command.recovery)]


def _resume(state: TenderState, command: ResumeTender, now: int) -> list[TenderEvent]:
    """RULES 6.7: a new bid deadline and opening, both later than now, the deadline announced as
    a session's resumption is (RULES 7.3, the same setting); the terms otherwise unchanged."""
    terms = state.terms
    assert terms is not None
    if not isinstance(command.reason, str) or not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    if state.suspended is None:
        raise Rejected(Code.NOT_SUSPENDED)
    for name in ("bid_deadline", "opening_at"):
        if type(getattr(command, name)) is not int:
            raise Rejected(Code.INVALID_FIELD, f"{name}: a time", field=name)
    if command.bid_deadline <= now:
        raise Rejected(Code.INVALID_FIELD, "新的投标截止时间须晚于现在 / the new bid deadline must be later than now",
                       field="bid_deadline")
    check_terms(replace(terms, bid_deadline=command.bid_deadline, opening_at=command.opening_at))
    rules = terms.rules
    earliest = unannounced_resumption(rules.direct_resume_window, rules.resume_notice, state.suspended.at,
                                      command.bid_deadline, now)
    if earliest is not None:
        raise Rejected(Code.RESUME_NOTICE_REQUIRED, earliest_bid_deadline=iso_cst(earliest))
    return [TenderResumed(at=now, reason=command.reason, bid_deadline=command.bid_deadline,
                          opening_at=command.opening_at)]


def recovery_suspension(state: TenderState, last_alive: int, now: int) -> tuple[SuspendTender, int] | None:
    """RULES 6.7: was the server down across the bid deadline, before the bids were opened?

    `last_alive` is the last moment the server is known to have been running. If the deadline
    fell in (last_alive, now], bidders could not seal a bid in its last stretch: the tender is
    suspended, effective from `last_alive` (never before its latest event), not opened. Down
    across the opening only (the deadline passed while it ran): nothing to hold, the opening
    runs late. Returns the command and the time to decide it at, as the session's does."""
    terms = state.terms
    if terms is None or state.final or state.opened is not None or state.suspended is not None:
        return None
    at = max(last_alive, state.last_at)
    if not at < terms.bid_deadline <= now:
        return None
    return SuspendTender(reason="SERVER_DOWN_PAST_DEADLINE", recovery=True), at


def _qualify(state: TenderState, command: QualifyTenderBidder, now: int) -> list[TenderEvent]:
    assert state.terms is not None
    if type(command.bidder_no) is not int or command.bidder_no <= 0:
        raise Rejected(Code.INVALID_FIELD, "bidder_no", field="bidder_no")
    if now >= state.terms.registration_closes_at or state.opened is not None:
        raise Rejected(Code.REGISTRATION_CLOSED)
    if command.bidder_no in state.qualified:
        raise Rejected(Code.ALREADY_QUALIFIED)
    return [TenderBidderQualified(at=now, bidder_no=command.bidder_no)]


def _check_envelope(envelope: Envelope) -> None:
    ok = (
        isinstance(envelope, Envelope)
        and all(isinstance(v, str) for v in (envelope.key_id, envelope.nonce, envelope.ciphertext))
        and bool(envelope.key_id.strip())
        and HEX.fullmatch(envelope.nonce) is not None
        and HEX.fullmatch(envelope.ciphertext) is not None
        and len(envelope.ciphertext) <= MAX_CIPHERTEXT_HEX
    )
    if not ok:
        raise Rejected(Code.INVALID_FIELD, "envelope: key_id, nonce and ciphertext (lowercase hex)", field="envelope")


def _submit(state: TenderState, command: SubmitSealedBid, now: int) -> list[TenderEvent]:
    terms = state.terms
    assert terms is not None
    if command.bidder_no not in state.qualified:
        raise Rejected(Code.NOT_QUALIFIED)
    if now < terms.bids_open_at:
        raise Rejected(Code.SESSION_NOT_OPEN, opens_at=iso_cst(terms.bids_open_at))
    if state.reserve_commitment is None:  # Q26, Q28: no bid is taken before the reserve is sealed
        raise Rejected(Code.Q26_RESERVE_NOT_SEALED)
    if now >= terms.bid_deadline or state.opened is not None:  # RULES 6.2: none at or after the deadline
        raise Rejected(Code.TENDER_BID_DEADLINE_PASSED, deadline=iso_cst(terms.bid_deadline))
    first = state.bid_of(command.bidder_no)
    if first is not None:  # RULES 6.2: irrevocable, one per bidder
        raise Rejected(Code.TENDER_BID_ALREADY_SUBMITTED, receipt=first.receipt, submitted_at=iso_cst(first.at))
    if not isinstance(command.commitment, str) or not HEX64.fullmatch(command.commitment):
        raise Rejected(Code.INVALID_FIELD, "commitment: 64 lowercase hex digits", field="commitment")
    _check_envelope(command.envelope)
    receipt = bid_receipt(terms.tender_id, command.bidder_no, command.commitment, command.envelope, now)
    return [SealedBidReceived(at=now, bidder_no=command.bidder_no, commitment=command.commitment,
                              envelope=command.envelope, receipt=receipt)]


def _opened_bid(terms: TenderTerms, sealed: SealedBidReceived, revealed: RevealedBid | None) -> OpenedBid:
    def result(reason: str, price: int | None = None) -> OpenedBid:
        return OpenedBid(
            bidder_no=sealed.bidder_no, commitment=sealed.commitment, submitted_at=sealed.at,
            price=price, proposal_sha256=None if revealed is None else revealed.proposal_sha256,
            salt=None if revealed is None else revealed.salt, valid=reason == "VALID", reason=reason,
        )

    if revealed is None or revealed.price is None or revealed.salt is None or revealed.proposal_sha256 is None:
        return result("UNREADABLE")
    if not is_valid_amount(revealed.price):
        return result("UNREADABLE")
    expected = bid_commitment(terms.tender_id, sealed.bidder_no, revealed.price, revealed.proposal_sha256,
                              revealed.salt)
    if expected != sealed.commitment:
        return result("COMMITMENT_MISMATCH", revealed.price)
    if revealed.price < terms.start_price:
        return result("BELOW_START_PRICE", revealed.price)
    return result("VALID", revealed.price)


def _open(state: TenderState, command: OpenBids, now: int) -> list[TenderEvent]:
    terms = state.terms
    assert terms is not None
    if state.opened is not None:
        raise Rejected(Code.TENDER_ALREADY_OPENED)
    if now < terms.opening_at:
        raise Rejected(Code.TENDER_OPENING_NOT_DUE, opening_at=iso_cst(terms.opening_at))
    revealed = {r.bidder_no: r for r in command.revealed}
    if len(revealed) != len(command.revealed) or set(revealed) - {b.bidder_no for b in state.bids}:
        raise Rejected(Code.INVALID_FIELD, "one revealed bid per sealed bid", field="revealed")
    bids = tuple(_opened_bid(terms, sealed, revealed.get(sealed.bidder_no)) for sealed in state.bids)
    valid = sum(1 for b in bids if b.valid)
    events: list[TenderEvent] = [BidsOpened(at=now, bids=bids, valid_count=valid)]
    if valid < terms.rules.min_valid_bids:  # N Art.14: fewer than three, the tender ends
        events.append(TenderEnded(at=now, outcome="TERMINATED", reason="FEWER_THAN_THREE", winner_bidder_no=None,
                                  price=None, ranking=(), reserve=None, reserve_salt=None))
    return events


def _seat(state: TenderState, command: SeatPanel, now: int) -> list[TenderEvent]:
    terms = state.terms
    assert terms is not None
    if terms.evaluation is not Evaluation.SCORING:
        raise Rejected(Code.TENDER_PANEL_INVALID, "a highest-price tender has no scoring panel")
    if state.panel is not None:
        raise Rejected(Code.TENDER_PANEL_INVALID, "the panel is already seated")
    members = command.members
    if not isinstance(members, tuple) or not all(isinstance(m, str) and m.strip() for m in members):
        raise Rejected(Code.TENDER_PANEL_INVALID, "members: member ids")
    if len(set(members)) != len(members):
        raise Rejected(Code.TENDER_PANEL_INVALID, "a member is listed twice")
    if len(members) < terms.rules.min_panel or len(members) % 2 == 0:  # RULES 6.5
        raise Rejected(Code.TENDER_PANEL_INVALID, f"an odd number of at least {terms.rules.min_panel}",
                       members=len(members))
    return [PanelSeated(at=now, members=members)]


def _sheet(state: TenderState, command: SubmitScoreSheet, now: int) -> list[TenderEvent]:
    terms = state.terms
    assert terms is not None
    if state.opened is None:
        raise Rejected(Code.TENDER_NOT_OPENED)
    if state.panel is None or command.member_id not in state.panel.members:
        raise Rejected(Code.TENDER_NOT_ON_PANEL)
    if any(s.member_id == command.member_id for s in state.sheets):
        raise Rejected(Code.TENDER_SHEET_ALREADY_SIGNED)
    if command.signature_ok is not True:
        raise Rejected(Code.TENDER_SHEET_BAD_SIGNATURE)
    expected_bids = [b.bidder_no for b in state.valid_bids]
    keys = [c.key for c in terms.criteria]
    scores = command.scores
    try:
        given = {no: dict(items) for no, items in scores}
        complete = len(given) == len(scores) and sorted(given) == sorted(expected_bids) and all(
            sorted(k for k, _ in items) == sorted(keys) for _, items in scores
        )
    except (TypeError, ValueError):
        complete = False
    if not complete:
        raise Rejected(Code.TENDER_SHEET_INVALID, "one score per criterion for every valid bid",
                       bids=expected_bids, criteria=keys)
    if not all(type(v) is int and 0 <= v <= terms.rules.max_score for items in given.values() for v in items.values()):
        raise Rejected(Code.TENDER_SHEET_INVALID, f"scores are whole numbers from 0 to {terms.rules.max_score}")
    return [ScoreSheetSigned(at=now, member_id=command.member_id, scores=scores, signature=command.signature)]


def _evaluate(state: TenderState, command: Evaluate, now: int) -> list[TenderEvent]:
    terms = state.terms
    assert terms is not None
    if state.opened is None:
        raise Rejected(Code.TENDER_NOT_OPENED)
    if terms.evaluation is Evaluation.SCORING and (state.panel is None or len(state.sheets) < len(state.panel.members)):
        raise Rejected(Code.TENDER_SCORING_INCOMPLETE, signed=len(state.sheets),
                       panel=0 if state.panel is None else len(state.panel.members))
    reserve = command.reserve
    sealed = state.reserve_commitment
    if sealed is not None and (reserve is None or reserve_commitment(reserve.amount, reserve.salt) != sealed):
        raise Rejected(Code.TENDER_RESERVE_UNREADABLE)
    floor = reserve.amount if sealed is not None and reserve is not None else None
    ranking = tuple(
        RankedBid(bidder_no=b.bidder_no, price=price, score="" if score is None else str(score),
                  eligible=floor is None or price >= floor)
        for b, price, score in rank(state)
    )
    winner = next((r for r in ranking if r.eligible), None)
    return [TenderEnded(
        at=now,
        outcome="AWARDED" if winner else "UNSOLD",
        reason="AWARDED" if winner else "BELOW_RESERVE",
        winner_bidder_no=None if winner is None else winner.bidder_no,
        price=None if winner is None else winner.price,
        ranking=ranking,
        reserve=None if floor is None or reserve is None else reserve.amount,
        reserve_salt=None if floor is None or reserve is None else reserve.salt,
    )]


def rank(state: TenderState) -> list[tuple[OpenedBid, int, Fraction | None]]:
    """The valid bids best first, with their price and (scoring) combined score (RULES 6.5)."""
    terms = state.terms
    assert terms is not None
    order = {b.bidder_no: i for i, b in enumerate(state.bids)}
    valid = [(b, b.price) for b in state.valid_bids if b.price is not None]
    if terms.evaluation is Evaluation.HIGHEST_PRICE:
        ranked = sorted(valid, key=lambda bp: (-bp[1], order[bp[0].bidder_no]))
        return [(b, p, None) for b, p in ranked]
    scores = combined_scores(state)
    ranked = sorted(valid, key=lambda bp: (-scores[bp[0].bidder_no], -bp[1], order[bp[0].bidder_no]))
    return [(b, p, scores[b.bidder_no]) for b, p in ranked]


def combined_scores(state: TenderState) -> dict[int, Fraction]:
    """Each valid bid's score out of `max_score`: the price's points plus each criterion's
    weight times the members' mean score, all over 100 (exact)."""
    terms = state.terms
    assert terms is not None
    valid = [b for b in state.valid_bids if b.price is not None]
    if not valid:
        return {}
    top = max(b.price for b in valid if b.price is not None)
    sheets = [dict((no, dict(items)) for no, items in s.scores) for s in state.sheets]
    result: dict[int, Fraction] = {}
    for b in valid:
        assert b.price is not None
        total = terms.price_weight * Fraction(terms.rules.max_score * b.price, top)
        for c in terms.criteria:
            given = [sheet[b.bidder_no][c.key] for sheet in sheets]
            total += c.weight * (Fraction(sum(given), len(given)) if given else Fraction(0))
        result[b.bidder_no] = total / 100
    return result


# ---------------------------------------------------------------------------
# evolve


def evolve(state: TenderState, event: TenderEvent) -> TenderState:
    """The state after `event`. Total for every event `decide` can produce."""
    state = replace(state, version=state.version + 1, last_at=max(state.last_at, event.at))
    if isinstance(event, TenderCreated):
        return replace(state, terms=event.terms)
    if isinstance(event, TenderReserveSealed):
        return replace(state, reserve=event.envelope)
    if isinstance(event, TenderReserveDecided):
        return replace(state, reserve=event.envelope, decided_commitment=event.commitment)
    if isinstance(event, TenderBidderQualified):
        return replace(state, qualified=state.qualified | {event.bidder_no})
    if isinstance(event, SealedBidReceived):
        return replace(state, bids=state.bids + (event,))
    if isinstance(event, BidsOpened):
        return replace(state, opened=event)
    if isinstance(event, PanelSeated):
        return replace(state, panel=event)
    if isinstance(event, ScoreSheetSigned):
        return replace(state, sheets=state.sheets + (event,))
    if isinstance(event, TenderEnded):
        return replace(state, ended=event, suspended=None)
    if isinstance(event, TenderSuspended):
        return replace(state, suspended=event)
    if isinstance(event, TenderResumed):
        assert state.terms is not None
        return replace(state, suspended=None,
                       terms=replace(state.terms, bid_deadline=event.bid_deadline, opening_at=event.opening_at))
    raise TypeError(f"not a tender event: {event!r}")


def replay(events: Iterable[TenderEvent]) -> TenderState:
    return event_log.replay(TenderState, evolve, events)
