"""The session engine: `decide(state, command, now) -> events`, `evolve(state, event) -> state`.

Pure: no clock, no I/O. `now` (µs UTC) is an argument; the shell passes the
time its transaction runs. Listing sessions follow RULES 4, auctions RULES 5,
suspension and termination RULES 7.

Lifecycle:

    NEW -> SCHEDULED -> LISTING --(>=2 listing bidders)--> TIMED_BIDDING -> CLOSED
                     \\-> AUCTION --------------------------------------------/
    any open phase <-> SUSPENDED;  any non-final phase -> TERMINATED;  close -> HELD on a bad reserve

The deadline of an open phase is an absolute time. A bid counts only if `now`
is before it. Passing the final deadline does not by itself write anything:
the shell's close procedure issues `Close`, and the engine stamps the close at
the deadline, so a late timer never changes the outcome.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from enum import Enum

from auction.domain.bidding.accepted import Accepted
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import (
    Advance,
    ChangeIncrement,
    Close,
    Command,
    CreateSession,
    PlaceBid,
    QualifyBidder,
    ReissueToken,
    Resume,
    SealReserve,
    Suspend,
    Terminate,
)
from auction.domain.bidding.events import (
    BidAccepted,
    BidderQualified,
    BidderTokenReissued,
    CloseHeld,
    Event,
    IncrementChanged,
    OpenRefused,
    ReserveSealed,
    ResumptionCancelled,
    ResumptionScheduled,
    SessionClosed,
    SessionCreated,
    SessionOpened,
    SessionResumed,
    SessionSuspended,
    SessionTerminated,
    TimedBiddingStarted,
    is_public,
)
from auction.domain.money import MAX_AMOUNT_FEN, is_valid_amount, percent_ceil
from auction.domain.bidding.terms import Method, SessionTerms, unannounced_resumption
from auction.domain import event_log


class Phase(str, Enum):
    NEW = "NEW"
    SCHEDULED = "SCHEDULED"
    LISTING = "LISTING"  # 挂牌期
    TIMED_BIDDING = "TIMED_BIDDING"  # 限时竞价
    AUCTION = "AUCTION"  # 拍卖
    SUSPENDED = "SUSPENDED"  # 中止
    CLOSED = "CLOSED"
    HELD = "HELD"  # withheld for operators: reserve failed its check or was unavailable, or no reserve sealed
    TERMINATED = "TERMINATED"  # 终止


RESERVE_UNAVAILABLE = "RESERVE_UNAVAILABLE"  # the escrow key was locked or missing at the close
OPEN_PHASES = frozenset({Phase.LISTING, Phase.TIMED_BIDDING, Phase.AUCTION})
FINAL_PHASES = frozenset({Phase.CLOSED, Phase.TERMINATED})

BID_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
COMMITMENT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Bid:
    seq: int
    pub_seq: int
    at: int
    bid_id: str
    bidder_no: int
    amount: int


@dataclass(frozen=True)
class SessionState:
    seq: int = 0  # position in the session's log (every event)
    pub_seq: int = 0  # position among public events (what bidders and watchers number)
    phase: Phase = Phase.NEW
    terms: SessionTerms | None = None
    increment: int = 0
    opens_at: int | None = None  # pushed back by a suspension before the open
    listing_end_at: int | None = None  # pushed back by frozen time (RULES 7.2)
    deadline: int | None = None  # end of the current open phase
    highest: Bid | None = None
    qualified: frozenset[int] = frozenset()
    listing_bidders: frozenset[int] = frozenset()
    # (bidder_no, bid_id) -> the accepted bid, so a retried bid gets the same answer. Immutable,
    # and a bid adds one entry without copying the others (accepted.py), where a dict was copied
    # whole at every bid.
    accepted: Accepted[tuple[int, str], Bid] = field(default_factory=Accepted)
    # bidder_no -> how many times its token was re-issued (absent: never).
    token_epochs: dict[int, int] = field(default_factory=dict)
    bid_count: int = 0
    suspended_from: Phase | None = None
    suspended_at: int | None = None
    resume_at: int | None = None
    last_at: int = 0
    closed: SessionClosed | None = None
    end_reason: str | None = None
    # None until the reserve is sealed (at creation on the stand-in path, by
    # `SealReserve` for a session created from a plan).
    has_reserve: bool | None = None
    reserve_commitment: str | None = None

    @property
    def min_next_bid(self) -> int | None:
        """The smallest amount a bid may have now (RULES 4.2, 5.2)."""
        if self.terms is None:
            return None
        if self.highest is None:
            return self.terms.start_price
        return self.highest.amount + self.increment

    @property
    def final(self) -> bool:
        return self.phase in FINAL_PHASES

    def is_due_to_close(self, now: int) -> bool:
        if self.phase is Phase.HELD:  # the close could not read the reserve: it may be tried again
            return self.end_reason == RESERVE_UNAVAILABLE
        return self.phase in OPEN_PHASES and self.deadline is not None and now >= self.deadline

    def next_wakeup(self) -> int | None:
        """The next instant at which time alone changes something (the shell sets a timer)."""
        if self.phase is Phase.SCHEDULED:
            return self.opens_at
        if self.phase in OPEN_PHASES:
            return self.deadline
        if self.phase is Phase.SUSPENDED:
            return self.resume_at
        return None


def reserve_commitment(amount: int, salt: str) -> str:
    """SHA-256 over the reserve and its salt (RULES 2.4); anyone can recompute it after the close."""
    return hashlib.sha256(f"{amount}:{salt}".encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------
# decide


def decide(state: SessionState, command: Command, now: int) -> list[Event]:
    """The events `command` produces at time `now`, or `Rejected` (which changes nothing).

    Transitions that are due by `now` (the open, the start of timed bidding, a
    scheduled resumption) come first, stamped at their scheduled instants.
    """
    if isinstance(command, CreateSession):
        return _create(state, command, now)
    if state.terms is None:
        raise Rejected(Code.UNKNOWN_SESSION)
    due = _due_transitions(state, now)
    current = _apply(state, due)
    return due + _decide_on(current, command, now)


def _decide_on(state: SessionState, command: Command, now: int) -> list[Event]:
    if isinstance(command, PlaceBid):
        return _bid(state, command, now)
    if isinstance(command, Advance):
        return []
    if isinstance(command, QualifyBidder):
        return _qualify(state, command, now)
    if isinstance(command, ReissueToken):
        return _reissue(state, command, now)
    if isinstance(command, SealReserve):
        return _seal(state, command, now)
    if isinstance(command, Close):
        return _close(state, command, now)
    if isinstance(command, Suspend):
        return _suspend(state, command, now)
    if isinstance(command, Resume):
        return _resume(state, command, now)
    if isinstance(command, Terminate):
        return _terminate(state, command, now)
    if isinstance(command, ChangeIncrement):
        return _change_increment(state, command, now)
    raise TypeError(f"not a command: {command!r}")


def _create(state: SessionState, command: CreateSession, now: int) -> list[Event]:
    if state.phase is not Phase.NEW:
        raise Rejected(Code.SESSION_EXISTS)
    t = command.terms
    if not t.session_id or not t.parcel_ref:
        raise Rejected(Code.INVALID_TERMS, "session_id and parcel_ref are required")
    for name in ("start_price", "increment", "deposit"):
        if not is_valid_amount(getattr(t, name)):
            raise Rejected(Code.INVALID_TERMS, f"{name} must be a positive whole number of fen", field=name)
    minimum_deposit = percent_ceil(t.start_price, t.rules.min_deposit_percent)
    if t.deposit < minimum_deposit:
        raise Rejected(Code.Q31_DEPOSIT_BELOW_20_PERCENT, minimum_deposit=minimum_deposit)
    if t.countdown <= 0:
        raise Rejected(Code.INVALID_TERMS, "countdown must be positive", field="countdown")
    if t.start_at < now:
        raise Rejected(Code.START_IN_PAST)
    if t.registration_closes_at > (t.listing_end_at if t.listing_end_at is not None else t.start_at):
        raise Rejected(Code.INVALID_TERMS, "registration must close before bidding ends", field="registration_closes_at")
    if t.method is Method.LISTING:
        if t.listing_end_at is None or t.listing_end_at <= t.start_at:
            raise Rejected(Code.INVALID_TERMS, "a listing needs listing_end_at after start_at", field="listing_end_at")
        if t.listing_end_at - t.start_at < t.rules.min_listing_period:
            raise Rejected(Code.N18_LISTING_PERIOD_TOO_SHORT, min_listing_period_us=t.rules.min_listing_period)
        if not t.has_reserve and not t.reserve_by_decision:  # Q28: only an auction may go without a reserve
            raise Rejected(Code.Q28_RESERVE_REQUIRED)
    elif t.listing_end_at is not None:
        raise Rejected(Code.INVALID_TERMS, "an auction has no listing_end_at", field="listing_end_at")
    if t.has_reserve != (t.reserve_commitment is not None):
        raise Rejected(Code.INVALID_TERMS, "a reserve needs its commitment", field="reserve_commitment")
    if t.reserve_by_decision and t.has_reserve:
        raise Rejected(Code.INVALID_TERMS, "the reserve is sealed later by decision", field="reserve_by_decision")
    return [SessionCreated(at=now, terms=t)]


def _seal(state: SessionState, command: SealReserve, now: int) -> list[Event]:
    assert state.terms is not None
    if not state.terms.reserve_by_decision:
        raise Rejected(Code.INVALID_TERMS, "this session's reserve was sealed at creation")
    if state.phase is not Phase.SCHEDULED:
        raise Rejected(Code.SESSION_CLOSED if state.phase is not Phase.SUSPENDED else Code.SESSION_SUSPENDED)
    if state.has_reserve is not None:
        raise Rejected(Code.RESERVE_ALREADY_SEALED)
    if command.commitment is None:
        if state.terms.method is not Method.AUCTION:  # Q28: only an auction may go without one
            raise Rejected(Code.Q28_RESERVE_REQUIRED)
    elif not COMMITMENT.fullmatch(command.commitment):
        raise Rejected(Code.INVALID_FIELD, "commitment must be 64 lowercase hex digits", field="commitment")
    return [ReserveSealed(at=now, has_reserve=command.commitment is not None, commitment=command.commitment)]


def _qualify(state: SessionState, command: QualifyBidder, now: int) -> list[Event]:
    assert state.terms is not None
    if state.final:
        raise Rejected(Code.SESSION_CLOSED)
    if now >= state.terms.registration_closes_at:
        raise Rejected(Code.REGISTRATION_CLOSED)
    if command.bidder_no <= 0:
        raise Rejected(Code.INVALID_FIELD, "bidder_no must be positive")
    if command.bidder_no in state.qualified:
        raise Rejected(Code.ALREADY_QUALIFIED, bidder_no=command.bidder_no)
    return [BidderQualified(at=now, bidder_no=command.bidder_no)]


def _reissue(state: SessionState, command: ReissueToken, now: int) -> list[Event]:
    if state.final:
        raise Rejected(Code.SESSION_CLOSED)
    if command.bidder_no not in state.qualified:
        raise Rejected(Code.NOT_QUALIFIED)
    epoch = state.token_epochs.get(command.bidder_no, 0) + 1
    return [BidderTokenReissued(at=now, bidder_no=command.bidder_no, epoch=epoch)]


def _bid(state: SessionState, command: PlaceBid, now: int) -> list[Event]:
    assert state.terms is not None
    if not isinstance(command.bid_id, str) or not BID_ID.fullmatch(command.bid_id):
        raise Rejected(Code.INVALID_BID_ID)
    previous = state.accepted.get((command.bidder_no, command.bid_id))
    if previous is not None:
        # A retry: same answer, nothing new. The shell answers with `previous`.
        if type(command.amount) is not int or previous.amount != command.amount:
            raise Rejected(Code.DUPLICATE_BID, bid_id=command.bid_id, accepted_amount=previous.amount)
        return []
    amount = command.amount  # bad input is refused as such, whatever the session's phase
    if type(amount) is not int or amount <= 0:
        raise Rejected(Code.INVALID_AMOUNT)
    if amount > MAX_AMOUNT_FEN:
        raise Rejected(Code.AMOUNT_TOO_LARGE, maximum=MAX_AMOUNT_FEN)
    if command.bidder_no not in state.qualified:
        raise Rejected(Code.NOT_QUALIFIED)
    if command.token_epoch != state.token_epochs.get(command.bidder_no, 0):
        raise Rejected(Code.TOKEN_REVOKED)  # signed in with a token replaced since
    if state.terms.rules.signed_bids and command.signature is None:
        raise Rejected(Code.BID_SIGNATURE_INVALID, "this session takes signed bids only")
    if state.phase in (Phase.NEW, Phase.SCHEDULED):
        raise Rejected(Code.SESSION_NOT_OPEN, opens_at=state.opens_at)
    if state.phase is Phase.SUSPENDED:
        raise Rejected(Code.SESSION_SUSPENDED, resume_at=state.resume_at)
    if state.phase is Phase.HELD:  # not ended: the operators decide what comes next
        raise Rejected(Code.SESSION_HELD, reason=state.end_reason)
    if state.phase not in OPEN_PHASES:
        raise Rejected(Code.SESSION_CLOSED)
    assert state.deadline is not None
    if now >= state.deadline:
        raise Rejected(Code.DEADLINE_PASSED, deadline=state.deadline)
    if state.phase is Phase.TIMED_BIDDING and command.bidder_no not in state.listing_bidders:
        raise Rejected(Code.NOT_IN_TIMED_BIDDING)  # RULES 4.4: those who bid during the listing go on
    minimum = state.min_next_bid
    assert minimum is not None
    if amount < minimum:
        raise Rejected(Code.BELOW_MINIMUM, minimum=minimum)
    if state.terms.rules.whole_increments:
        base = state.highest.amount if state.highest is not None else state.terms.start_price
        if (amount - base) % state.increment != 0:
            raise Rejected(Code.NOT_INCREMENT_MULTIPLE, increment=state.increment, base=base)
    if (
        state.highest is not None
        and state.highest.bidder_no == command.bidder_no
        and not state.terms.rules.allow_self_outbid
    ):
        raise Rejected(Code.ALREADY_HIGHEST)
    if state.phase is Phase.LISTING:
        deadline = state.deadline
    else:  # each accepted bid restarts the countdown (RULES 4.5, 5.2)
        deadline = now + state.terms.countdown
    return [
        BidAccepted(
            at=now, bid_id=command.bid_id, bidder_no=command.bidder_no, amount=amount, deadline=deadline,
            signature=command.signature, client_seq=command.client_seq if command.signature is not None else None,
        )
    ]


def _close(state: SessionState, command: Close, now: int) -> list[Event]:
    assert state.terms is not None
    if state.phase in FINAL_PHASES:
        raise Rejected(Code.SESSION_CLOSED)
    if state.phase is Phase.HELD and not state.is_due_to_close(now):
        raise Rejected(Code.SESSION_CLOSED, state.end_reason or "")
    if not state.is_due_to_close(now):
        raise Rejected(Code.CLOSE_NOT_DUE, deadline=state.deadline)
    assert state.deadline is not None
    at = state.deadline
    terms = state.terms
    reserve: int | None = None
    salt: str | None = None
    if state.has_reserve:
        revealed = command.reserve
        if revealed is None:
            if state.phase is Phase.HELD:
                raise Rejected(Code.ESCROW_KEY_UNAVAILABLE)  # still no reserve: nothing new to record
            return [CloseHeld(at=at, reason=command.missing_reason)]
        if reserve_commitment(revealed.amount, revealed.salt) != state.reserve_commitment:
            return [CloseHeld(at=at, reason="RESERVE_COMMITMENT_MISMATCH")]
        reserve, salt = revealed.amount, revealed.salt
        floor, basis = revealed.amount, "SEALED"
    else:  # Q28: an auction without a reserve: the starting price is the reserve
        floor, basis = terms.start_price, "START_PRICE"
    highest = state.highest
    if highest is None:  # RULES 4.4, 5.3
        outcome, reason = "UNSOLD", "NO_BIDS"
    elif highest.amount < floor:
        outcome, reason = "UNSOLD", "BELOW_RESERVE"
    else:
        outcome, reason = "SOLD", "SOLD"
    sold = outcome == "SOLD"
    assert highest is not None or not sold
    return [
        SessionClosed(
            at=at,
            outcome=outcome,
            reason=reason,
            winner_bidder_no=highest.bidder_no if sold and highest else None,
            price=highest.amount if sold and highest else None,
            reserve=reserve,
            reserve_salt=salt,
            reserve_basis=basis,
        )
    ]


def _suspend(state: SessionState, command: Suspend, now: int) -> list[Event]:
    if not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    if state.phase is Phase.SUSPENDED:
        if state.resume_at is not None:  # a new fault before an announced resumption
            return [ResumptionCancelled(at=now, reason=command.reason)]
        raise Rejected(Code.ALREADY_SUSPENDED)
    if state.phase is Phase.SCHEDULED or state.phase in OPEN_PHASES:
        if state.is_due_to_close(now):
            raise Rejected(Code.DEADLINE_PASSED, deadline=state.deadline)
        return [SessionSuspended(at=now, reason=command.reason, recovery=command.recovery)]
    raise Rejected(Code.SESSION_CLOSED)


def _resume(state: SessionState, command: Resume, now: int) -> list[Event]:
    assert state.terms is not None
    if not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    if state.phase is not Phase.SUSPENDED:
        raise Rejected(Code.NOT_SUSPENDED)
    assert state.suspended_at is not None
    rules = state.terms.rules
    resume_at = now if command.resume_at is None else command.resume_at
    if resume_at < now:
        raise Rejected(Code.INVALID_FIELD, "恢复时间已过，请填写以后的时间或留空（立即恢复） / resume_at is in the past",
                       field="resume_at")
    # RULES 7.3: within the direct window, resume at once; otherwise announce ahead.
    earliest = unannounced_resumption(rules.direct_resume_window, rules.resume_notice, state.suspended_at,
                                      resume_at, now)
    if earliest is not None:
        raise Rejected(Code.RESUME_NOTICE_REQUIRED, earliest_resume_at=earliest)
    if resume_at == now:
        return [SessionResumed(at=now, reason=command.reason)]
    return [ResumptionScheduled(at=now, resume_at=resume_at, reason=command.reason)]


def _terminate(state: SessionState, command: Terminate, now: int) -> list[Event]:
    if not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    if state.final:
        raise Rejected(Code.SESSION_CLOSED)
    if state.phase in OPEN_PHASES and state.is_due_to_close(now):
        # the deadline has decided; only the close procedure may end it now
        raise Rejected(Code.DEADLINE_PASSED, deadline=state.deadline)
    return [SessionTerminated(at=now, reason=command.reason)]


def _change_increment(state: SessionState, command: ChangeIncrement, now: int) -> list[Event]:
    if not command.reason.strip():
        raise Rejected(Code.REASON_REQUIRED)
    if state.final or state.phase is Phase.HELD:
        raise Rejected(Code.SESSION_CLOSED)
    if state.is_due_to_close(now):  # RULES 4.2: the host changes it *during* the session
        raise Rejected(Code.DEADLINE_PASSED, deadline=state.deadline)
    if not is_valid_amount(command.increment):
        raise Rejected(Code.INVALID_INCREMENT)
    return [IncrementChanged(at=now, increment=command.increment, reason=command.reason)]


def _due_transitions(state: SessionState, now: int) -> list[Event]:
    """Transitions the schedule has made due by `now`, each stamped at its own instant."""
    assert state.terms is not None
    terms = state.terms
    events: list[Event] = []
    while True:
        event: Event | None = None
        if state.phase is Phase.SCHEDULED and state.opens_at is not None and now >= state.opens_at:
            at = state.opens_at
            if state.has_reserve is None:  # Q26: no reserve decided and sealed by the start
                event = OpenRefused(at=at, reason=Code.Q26_RESERVE_NOT_SEALED.value)
            elif terms.method is Method.AUCTION and len(state.qualified) < terms.rules.auction_min_bidders:
                event = SessionTerminated(at=at, reason="TOO_FEW_QUALIFIED_BIDDERS")  # RULES 5.4
            else:
                auction = terms.method is Method.AUCTION
                deadline = at + terms.countdown if auction else state.listing_end_at
                assert deadline is not None
                event = SessionOpened(
                    at=at,
                    phase=(Phase.AUCTION if auction else Phase.LISTING).value,
                    deadline=deadline,
                    has_reserve=state.has_reserve,
                    reserve_commitment=state.reserve_commitment,
                )
        elif (
            state.phase is Phase.LISTING
            and state.deadline is not None
            and now >= state.deadline
            and len(state.listing_bidders) >= terms.rules.timed_bidding_min_bidders
        ):  # RULES 4.4: two or more bidders go on to timed bidding
            event = TimedBiddingStarted(at=state.deadline, deadline=state.deadline + terms.countdown)
        elif state.phase is Phase.SUSPENDED and state.resume_at is not None and now >= state.resume_at:
            event = SessionResumed(at=state.resume_at, reason="SCHEDULED_RESUMPTION")
        if event is None:
            return events
        events.append(event)
        state = evolve(state, event)


def _apply(state: SessionState, events: list[Event]) -> SessionState:
    for event in events:
        state = evolve(state, event)
    return state


# ---------------------------------------------------------------------------
# evolve


def _changed(state: SessionState, **changes: object) -> SessionState:
    """`replace(state, **changes)` for the bid path: the fields copied as they are, without
    `replace`'s field walk and the frozen `__init__`'s 22 `object.__setattr__` calls (the
    state has no `__post_init__` to run; tests/unit/test_bids.py compares both)."""
    state_after = object.__new__(SessionState)
    fields_after = state_after.__dict__
    fields_after.update(state.__dict__)
    fields_after.update(changes)
    return state_after


def evolve(state: SessionState, event: Event) -> SessionState:
    """The state after `event`. Total for every event `decide` can produce."""
    seq = state.seq + 1
    pub_seq = state.pub_seq + 1 if is_public(event) else state.pub_seq
    last_at = max(state.last_at, event.at)
    if isinstance(event, BidAccepted):  # the hot path: one copy of the state, not two
        bid = Bid(seq=seq, pub_seq=pub_seq, at=event.at, bid_id=event.bid_id, bidder_no=event.bidder_no,
                  amount=event.amount)
        accepted = state.accepted.set((bid.bidder_no, bid.bid_id), bid)
        listing_bidders = state.listing_bidders
        if state.phase is Phase.LISTING and bid.bidder_no not in listing_bidders:
            listing_bidders = listing_bidders | {bid.bidder_no}
        return _changed(
            state,
            seq=seq,
            pub_seq=pub_seq,
            last_at=last_at,
            highest=bid,
            accepted=accepted,
            bid_count=state.bid_count + 1,
            listing_bidders=listing_bidders,
            deadline=event.deadline,
        )
    s = replace(state, seq=seq, pub_seq=pub_seq, last_at=last_at)
    if isinstance(event, SessionCreated):
        t = event.terms
        return replace(
            s,
            phase=Phase.SCHEDULED,
            terms=t,
            increment=t.increment,
            opens_at=t.start_at,
            listing_end_at=t.listing_end_at,
            has_reserve=None if t.reserve_by_decision else t.has_reserve,
            reserve_commitment=t.reserve_commitment,
        )
    if isinstance(event, ReserveSealed):
        return replace(s, has_reserve=event.has_reserve, reserve_commitment=event.commitment)
    if isinstance(event, OpenRefused):
        return replace(s, phase=Phase.HELD, end_reason=event.reason)
    if isinstance(event, BidderQualified):
        return replace(s, qualified=s.qualified | {event.bidder_no})
    if isinstance(event, BidderTokenReissued):
        return replace(s, token_epochs={**s.token_epochs, event.bidder_no: event.epoch})
    if isinstance(event, SessionOpened):
        return replace(s, phase=Phase(event.phase), deadline=event.deadline)
    if isinstance(event, TimedBiddingStarted):
        return replace(s, phase=Phase.TIMED_BIDDING, deadline=event.deadline)
    if isinstance(event, IncrementChanged):
        return replace(s, increment=event.increment)
    if isinstance(event, SessionSuspended):
        return replace(s, phase=Phase.SUSPENDED, suspended_from=state.phase, suspended_at=event.at, resume_at=None)
    if isinstance(event, ResumptionScheduled):
        return replace(s, resume_at=event.resume_at)
    if isinstance(event, ResumptionCancelled):
        return replace(s, resume_at=None)
    if isinstance(event, SessionResumed):
        return _resumed(s, event.at)
    if isinstance(event, SessionClosed):
        return replace(s, phase=Phase.CLOSED, closed=event, end_reason=event.reason)
    if isinstance(event, CloseHeld):
        return replace(s, phase=Phase.HELD, end_reason=event.reason)
    if isinstance(event, SessionTerminated):
        return replace(s, phase=Phase.TERMINATED, end_reason=event.reason)
    raise TypeError(f"not an event: {event!r}")


def _resumed(s: SessionState, at: int) -> SessionState:
    """RULES 7.2: the clock stops while suspended. A listing (or a session not yet
    open) is pushed back by the frozen time; timed bidding and auctions restart
    the full countdown."""
    assert s.terms is not None and s.suspended_at is not None and s.suspended_from is not None
    frozen = at - s.suspended_at
    back = s.suspended_from
    countdown = s.terms.countdown
    s = replace(s, phase=back, suspended_from=None, suspended_at=None, resume_at=None)
    if back is Phase.SCHEDULED:
        assert s.opens_at is not None
        listing_end = s.listing_end_at + frozen if s.listing_end_at is not None else None
        return replace(s, opens_at=s.opens_at + frozen, listing_end_at=listing_end)
    if back is Phase.LISTING:
        assert s.deadline is not None and s.listing_end_at is not None
        return replace(s, deadline=s.deadline + frozen, listing_end_at=s.listing_end_at + frozen)
    return replace(s, deadline=at + countdown)


def replay(events: list[Event]) -> SessionState:
    """The state a log of events gives (the audit verifier and every cold start use this)."""
    return event_log.replay(SessionState, evolve, events)


def recovery_suspension(state: SessionState, last_alive: int, now: int) -> tuple[Suspend, int] | None:
    """RULES 7.5: was the server down past a deadline?

    `last_alive` is the last moment the server is known to have been running.
    If something on the schedule fell due in (last_alive, now], bidders could
    not act while it was down: the session is suspended, effective from
    `last_alive`, never closed. Returns the command and the time to decide it at.
    """
    if state.terms is None or state.final or state.phase is Phase.HELD:
        return None
    at = max(last_alive, state.last_at)
    probe = _apply(state, _due_transitions(state, at))
    wake = probe.next_wakeup()
    if wake is None or not (at < wake <= now):
        return None
    reason = "SERVER_DOWN_PAST_DEADLINE"
    return Suspend(reason=reason, recovery=True), at


# What a person reads (Chinese first, English second): the console's pages, the
# bidder CLI and the demo say a phase, an outcome and a close's reason alike.
PHASE_WORDS = {
    "NEW": "新建 / New",
    "SCHEDULED": "未开始 / Scheduled",
    "LISTING": "挂牌期 / Listing",
    "TIMED_BIDDING": "限时竞价 / Timed bidding",
    "AUCTION": "拍卖 / Auction",
    "SUSPENDED": "中止 / Suspended",
    "CLOSED": "已结束 / Closed",
    "HELD": "暂缓处理 / Held",
    "TERMINATED": "终止 / Terminated",
}
OUTCOME_WORDS = {"SOLD": "成交 / Sold", "UNSOLD": "流拍 / Not sold"}
CLOSE_REASON_WORDS = {
    "SOLD": "最高报价不低于底价 / highest bid at or above the reserve",
    "NO_BIDS": "无人报价 / no bids",
    "BELOW_RESERVE": "最高报价低于底价 / highest bid below the reserve",
}
# The engine's own reasons for ending, holding, suspending or resuming a session (an operator's
# are their own words, shown as typed).
END_REASON_WORDS = {
    "TOO_FEW_QUALIFIED_BIDDERS": "取得竞买资格的竞买人不足 / too few qualified bidders",
    "Q26_RESERVE_NOT_SEALED": "开始前未确定并密封底价（第二十六条） / no reserve sealed by the start (Q26)",
    "RESERVE_COMMITMENT_MISMATCH": "底价与其承诺值不符 / the reserve does not match its commitment",
    "RESERVE_UNAVAILABLE": "托管密钥未解锁，底价无法读取 / the escrow key is locked: the reserve cannot be read",
    "SERVER_DOWN_PAST_DEADLINE": "系统停机期间截止时间已过 / the deadline passed while the server was down",
    "SCHEDULED_RESUMPTION": "按公告时间恢复 / resumed as announced",
}
