"""Properties of the engine over random command sequences (hypothesis).

One simulation drives a session with random bids (valid and not), retries,
Advance, suspension and resumption, increment changes, closes and the odd
termination, at random non-decreasing times that often land exactly on the
next scheduled instant. Each test checks a few related properties of what it
saw (one simulation per example keeps 200 examples per test affordable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auction.domain.codes import Rejected
from auction.domain.bidding.commands import (
    Advance, ChangeIncrement, Close, Command, CreateSession, PlaceBid, QualifyBidder, Resume, RevealedReserve,
    Suspend, Terminate,
)
from auction.domain.bidding.events import (
    BidAccepted,
    Event,
    SessionClosed,
    event_from_dict,
    event_to_dict,
    event_type,
)
from auction.domain.money import MAX_AMOUNT_FEN
from auction.domain.bidding.session import OPEN_PHASES, Phase, SessionState, decide, evolve, replay
from auction.domain.bidding.terms import DAY, HOUR, MINUTE, SECOND, SessionRules

from .helpers import SALT, T0, auction_terms, listing_terms

PROPERTY = settings(max_examples=200, deadline=None)

START = 10_000  # fen: small numbers keep the amounts' search space dense
INC = 100
START_AT = T0 + 21 * DAY
CREATED_AT = START_AT - 30 * SECOND  # close to the open, so random walks get there
COUNTDOWN = 2 * MINUTE

BAD_AMOUNTS: list[Any] = [0, -1, -START, 1.5, float(START), True, "10000", None, MAX_AMOUNT_FEN + 1]


@st.composite
def session_terms(draw: st.DrawFn) -> tuple[Any, int | None]:
    rules = SessionRules(
        min_listing_period=10 * MINUTE,  # short, so random walks reach the listing end
        whole_increments=draw(st.booleans()),
        allow_self_outbid=draw(st.booleans()),
    )
    reserve = draw(st.one_of(st.none(), st.integers(START, START + 20 * INC)))
    if draw(st.booleans()):
        reserve = START + 5 * INC if reserve is None else reserve
        terms = listing_terms(
            start_price=START, increment=INC, reserve=reserve, start_at=START_AT,
            listing_end_at=START_AT + 10 * MINUTE, countdown=COUNTDOWN, rules=rules,
            registration_closes_at=START_AT,
        )
    else:
        terms = auction_terms(
            start_price=START, increment=INC, reserve=reserve, start_at=START_AT,
            countdown=COUNTDOWN, rules=rules, registration_closes_at=START_AT,
        )
    return terms, reserve



def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, picked in proportion to its weight."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    index = st.integers(0, len(pool) - 1)

    @st.composite
    def pick(draw: st.DrawFn) -> Any:
        return draw(pool[draw(index)])

    return pick()


time_moves = weighted(
    (8, st.tuples(st.just("wait"), st.sampled_from([0, 1, SECOND, 5 * SECOND, 20 * SECOND]))),
    (1, st.tuples(st.just("wait"), st.integers(0, 3 * MINUTE))),
    # Right around the next scheduled instant (open, deadline, resumption): the boundaries.
    (2, st.tuples(st.just("jump"), st.sampled_from([-10 * SECOND, -1, -1, 0, 1]))),
)

bids = st.tuples(
    st.just("bid"),
    st.integers(1, 4),  # bidder 4 is not qualified
    st.sampled_from(["a", "b", "c", "d", "a", "b", "c", "", "a b"]),  # few ids: reuse is common
    weighted(
        # relative to the minimum acceptable amount at that moment
        (4, st.tuples(st.just("rel"), st.sampled_from([0, 0, 0, INC, 2 * INC, 1, -1, -INC]))),
        (1, st.tuples(st.just("rel"), st.integers(-2 * INC, 3 * INC))),
        (1, st.tuples(st.just("abs"), st.sampled_from(range(len(BAD_AMOUNTS))))),
    ),
)

actions = weighted(
    (12, bids),
    (2, st.tuples(st.just("retry"), st.integers(0, 50))),
    (1, st.tuples(st.just("suspend"), st.sampled_from(["故障", "故障", ""]))),
    (1, st.tuples(st.just("resume"), st.sampled_from([None, None, 0, MINUTE, HOUR, 25 * HOUR]))),
    (1, st.tuples(st.just("increment"), st.sampled_from([INC, 2 * INC, 0]))),
    (2, st.tuples(st.just("advance"))),
    # The close and termination end the walk, so they are rare.
    (1, st.tuples(st.just("close"), st.sampled_from(["right", "right", "wrong", "none"]))),
    (1, st.tuples(st.sampled_from(["terminate"] + ["advance"] * 5))),
)

scenarios = st.tuples(session_terms(), st.lists(st.tuples(time_moves, actions), min_size=15, max_size=60))


@dataclass
class Trace:
    state: SessionState
    log: list[Event] = field(default_factory=list)
    highest: list[int] = field(default_factory=list)  # highest amount after every event
    # (phase, deadline in force, the bid) for every accepted bid, as it was just before the bid
    bids: list[tuple[Any, int | None, BidAccepted]] = field(default_factory=list)
    refusals: list[tuple[SessionState, SessionState]] = field(default_factory=list)  # (before, after)
    retries: list[tuple[list[Event], list[Event]]] = field(default_factory=list)  # (retry, Advance)
    closes: list[tuple[SessionState, SessionClosed]] = field(default_factory=list)


def after_due(state: SessionState, now: int) -> SessionState:
    for event in decide(state, Advance(), now):
        state = evolve(state, event)
    return state


def snapshot(state: SessionState) -> SessionState:
    """An independent copy (the state and its `accepted` map are immutable: a copy of the fields)."""
    return replace(state)


def make_command(action: tuple[Any, ...], state: SessionState, now: int, reserve: int | None) -> Command | None:
    kind = action[0]
    if kind == "bid":
        _, bidder, bid_id, (how, value) = action
        current = after_due(state, now)
        amount = (current.min_next_bid or START) + value if how == "rel" else BAD_AMOUNTS[value]
        return PlaceBid(bidder, bid_id, amount)
    if kind == "retry":
        if not state.accepted:
            return None
        bid = sorted(state.accepted.values(), key=lambda b: b.seq)[action[1] % len(state.accepted)]
        return PlaceBid(bid.bidder_no, bid.bid_id, bid.amount)
    if kind == "advance":
        return Advance()
    if kind == "suspend":
        return Suspend(reason=action[1])
    if kind == "resume":
        return Resume(reason="恢复", resume_at=None if action[1] is None else now + action[1])
    if kind == "close":
        if action[1] == "none":
            return Close(reserve=None)
        amount = (reserve if reserve is not None else START) + (0 if action[1] == "right" else 1)
        return Close(reserve=RevealedReserve(amount=amount, salt=SALT))
    if kind == "increment":
        return ChangeIncrement(increment=action[1], reason="调整")
    if kind == "terminate":
        return Terminate(reason="终止")
    raise AssertionError(kind)


def simulate(scenario: tuple[tuple[Any, int | None], list[tuple[Any, Any]]]) -> Trace:
    (terms, reserve), steps = scenario
    state = SessionState()
    trace = Trace(state=state)

    def apply(events: list[Event]) -> None:
        for event in events:
            if isinstance(event, BidAccepted):
                trace.bids.append((trace.state.phase, trace.state.deadline, event))
            if isinstance(event, SessionClosed):
                trace.closes.append((trace.state, event))
            trace.state = evolve(trace.state, event)
            trace.log.append(event)
            trace.highest.append(trace.state.highest.amount if trace.state.highest else 0)

    apply(decide(state, CreateSession(terms), CREATED_AT))
    for bidder_no in (1, 2, 3):
        apply(decide(trace.state, QualifyBidder(bidder_no), CREATED_AT))
    now = CREATED_AT
    for (move, delta), action in steps:
        wake = trace.state.next_wakeup()
        if move == "jump" and wake is not None:
            now = max(now, wake + delta)
        elif move == "wait":
            now += delta
        cmd = make_command(action, trace.state, now, reserve)
        if cmd is None:
            continue
        before = snapshot(trace.state)
        try:
            events = decide(trace.state, cmd, now)
        except Rejected:
            trace.refusals.append((before, trace.state))
            continue
        assert trace.state == before  # deciding never touches the state it reads
        if action[0] == "retry":
            trace.retries.append((events, decide(trace.state, Advance(), now)))
        apply(events)
    return trace


class TestProperties:
    @PROPERTY
    @given(scenarios)
    def test_bids_and_close(self, scenario: Any) -> None:
        """The highest bid never decreases; no bid counts at or after the deadline in force;
        the close follows the highest bid and the floor (RULES 4.2, 4.4, 4.5, 5.3)."""
        (terms, reserve), _ = scenario
        trace = simulate(scenario)
        highest = trace.highest
        assert all(a <= b for a, b in zip(highest, highest[1:], strict=False)), "highest bid went down"
        for phase, deadline, bid in trace.bids:
            assert phase in OPEN_PHASES, f"bid accepted in {phase}"
            assert deadline is not None and bid.at < deadline, "bid accepted at or after the deadline"
            # The listing end is fixed; timed bidding and auctions restart the countdown.
            expected = deadline if phase is Phase.LISTING else bid.at + terms.countdown
            assert bid.deadline == expected
        floor = reserve if reserve is not None else terms.start_price
        for before, closed in trace.closes:
            assert closed.at == before.deadline
            # Independently of the engine's own deadline: the close comes after every bid,
            # and a countdown bid leaves at least a full countdown before it.
            for phase, _, bid in trace.bids:
                assert bid.at < closed.at
                if phase is not Phase.LISTING:
                    assert closed.at >= bid.at + terms.countdown
            if before.highest is None:
                assert (closed.outcome, closed.reason) == ("UNSOLD", "NO_BIDS")
            elif before.highest.amount >= floor:
                assert (closed.outcome, closed.winner_bidder_no, closed.price) == (
                    "SOLD", before.highest.bidder_no, before.highest.amount,
                )
            else:
                assert (closed.outcome, closed.reason, closed.price) == ("UNSOLD", "BELOW_RESERVE", None)

    @PROPERTY
    @given(scenarios)
    def test_the_log_is_the_truth(self, scenario: Any) -> None:
        """Replaying the log gives the live state, also after a JSON round trip of every
        event; event times never go backwards."""
        trace = simulate(scenario)
        assert replay(trace.log) == trace.state, "replay differs from the live state"
        text = json.dumps([[event_type(e), event_to_dict(e)] for e in trace.log], ensure_ascii=False)
        restored = [event_from_dict(name, data) for name, data in json.loads(text)]
        assert restored == trace.log
        assert replay(restored) == trace.state, "replay after JSON differs from the live state"
        times = [e.at for e in trace.log]
        assert times == sorted(times), "event times went backwards"

    @PROPERTY
    @given(scenarios)
    def test_retry_of_an_accepted_bid_adds_nothing(self, scenario: Any) -> None:
        """Only what the schedule made due anyway (what Advance gives), never a new bid."""
        for retry, advance in simulate(scenario).retries:
            assert retry == advance
            assert not any(isinstance(e, BidAccepted) for e in retry)

    @PROPERTY
    @given(scenarios)
    def test_refusal_leaves_the_state_untouched(self, scenario: Any) -> None:
        """`decide` is pure: a Rejected command leaves the state as it was (accepted
        commands are checked the same way inside `simulate`)."""
        refusals = simulate(scenario).refusals
        for before, after in refusals:
            assert before == after
