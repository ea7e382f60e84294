"""Events are plain data: every type goes through JSON and back unchanged."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from auction.domain.bidding.commands import (
    ChangeIncrement,
    Close,
    PlaceBid,
    ReissueToken,
    Resume,
    SealReserve,
    Suspend,
    Terminate,
)
from auction.domain.bidding.events import EVENT_TYPES, Event, event_from_dict, event_to_dict, event_type, is_public
from auction.domain.bidding.session import replay, reserve_commitment
from auction.domain.bidding.terms import SessionRules

from .helpers import (
    HOUR, INCREMENT, LISTING_END, MINUTE, RESERVE, START_AT, START_PRICE,
    Recorder, auction_terms, listing_terms, reveal,
)

T = START_AT + HOUR


def scenario_logs() -> list[list[Event]]:
    """Real sessions whose logs together hold every event type."""
    logs = []

    sold = Recorder(listing_terms(rules=SessionRules(whole_increments=True, resume_notice=2 * HOUR)))
    sold.open()
    sold.bid(1, START_PRICE, T)
    sold.do(ChangeIncrement(increment=2 * INCREMENT, reason="主持人调整"), T + MINUTE)
    sold.bid(2, RESERVE, T + 2 * MINUTE)
    sold.do(Suspend(reason="故障"), T + 3 * MINUTE)
    sold.do(Resume(reason="公告恢复", resume_at=T + 10 * HOUR), T + 5 * HOUR)
    sold.do(Suspend(reason="再次故障"), T + 6 * HOUR)
    sold.do(Resume(reason="修复", resume_at=T + 9 * HOUR), T + 6 * HOUR + 30 * MINUTE)
    sold.advance(T + 9 * HOUR)
    end = sold.state.listing_end_at
    assert end is not None and end > LISTING_END  # pushed back by the frozen time
    sold.advance(end + MINUTE)
    sold.bid(1, RESERVE + 2 * INCREMENT, end + 2 * MINUTE)
    sold.do(reveal(), end + HOUR)
    logs.append(sold.log)

    held = Recorder(listing_terms())
    held.open()
    held.do(Close(reserve=None), LISTING_END)
    held.do(Terminate(reason="底价无法核验"), LISTING_END + HOUR)
    logs.append(held.log)

    decided = Recorder(replace(listing_terms(), has_reserve=False, reserve_commitment=None, reserve_by_decision=True))
    decided.do(SealReserve(reserve_commitment(RESERVE, "ab")), START_AT - MINUTE)
    logs.append(decided.log)
    unsealed = Recorder(replace(listing_terms(), has_reserve=False, reserve_commitment=None, reserve_by_decision=True))
    unsealed.advance(START_AT)
    logs.append(unsealed.log)

    no_reserve = Recorder(auction_terms())
    no_reserve.open()
    no_reserve.do(ReissueToken(3), START_AT + MINUTE // 2)
    no_reserve.do(PlaceBid(3, "b3", START_PRICE, token_epoch=1), START_AT + MINUTE)
    no_reserve.do(Close(reserve=None), START_AT + HOUR)
    logs.append(no_reserve.log)
    return logs


LOGS = scenario_logs()
ALL_EVENTS = [event for log in LOGS for event in log]


def test_the_scenarios_cover_every_event_type() -> None:
    assert {event_type(e) for e in ALL_EVENTS} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: f"{event_type(e)}@{e.at}")
def test_round_trip_through_json(event: Event) -> None:
    text = json.dumps({"type": event_type(event), "data": event_to_dict(event)}, ensure_ascii=False)
    back = json.loads(text)
    restored = event_from_dict(back["type"], back["data"])
    assert restored == event
    assert type(restored) is type(event)


@pytest.mark.parametrize("log", LOGS, ids=["listing-sold", "listing-held", "reserve-decided", "open-refused", "auction-no-reserve"])
def test_replay_from_json_equals_the_live_state(log: list[Event]) -> None:
    restored = [
        event_from_dict(event_type(e), json.loads(json.dumps(event_to_dict(e)))) for e in log
    ]
    assert replay(restored) == replay(log)


def test_unknown_type() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        event_from_dict("BidWithdrawn", {"at": 0})


def test_extra_fields_are_ignored() -> None:
    # A reader of an older log must not break on a field added later.
    event = ALL_EVENTS[1]
    data = event_to_dict(event) | {"added_later": 1}
    assert event_from_dict(event_type(event), data) == event


def test_public_numbering_skips_private_events() -> None:
    # RULES 3.5: qualifications stay private; public events are numbered without gaps.
    for log in LOGS:
        state = replay(log)
        assert state.seq == len(log)
        assert state.pub_seq == sum(1 for e in log if is_public(e))
        assert state.pub_seq < state.seq  # each scenario qualified bidders
    assert not is_public(next(e for e in ALL_EVENTS if event_type(e) == "BidderQualified"))
