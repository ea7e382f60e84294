"""`auction-verify` against logs the server's own engine writes: whatever the engine
decides, the verifier's second reading of the rules (clients/verify_rules.py) agrees
with, and a record whose outcome or bids break the rules is named, even when its
heads are signed by the center's key."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auction.adapters.sealing.center_key import CenterKey
from auction.domain.bidding import events as ev
from auction.domain.bidding.commands import ChangeIncrement, Close, Resume, Suspend, Terminate
from auction.domain.bidding.terms import SessionRules
from clients import transparency as tl
from clients.verify import Discrepancy, verify

from .helpers import INCREMENT, RESERVE, START_PRICE, Recorder, open_auction, open_listing, reveal


def record_of(r: Recorder, key: CenterKey, *, head_every: int = 3) -> dict[str, Any]:
    """The public record the server would publish for this log, heads every few events and at the end."""
    public = [e for e in r.log if ev.is_public(e)]
    sid = r.terms.session_id
    events = [{"seq": i, "type": ev.event_type(e), "event": ev.event_to_dict(e)} for i, e in enumerate(public, 1)]
    return sign_heads({
        "session_id": sid, "terms": r.terms.to_dict(), "events": events,
        "transparency": {"key_id": key.key_id, "public_key": key.public.hex()},
        "reserve": {"has_reserve": r.state.has_reserve, "commitment": r.state.reserve_commitment,
                    "amount_fen": r.state.closed.reserve if r.state.closed else None,
                    "salt": r.state.closed.reserve_salt if r.state.closed else None},
        "committee": None,
        "outcome": {"phase": r.state.phase.value, "outcome": r.state.closed.outcome if r.state.closed else None,
                    "reason": r.state.end_reason,
                    "winner_bidder_no": r.state.closed.winner_bidder_no if r.state.closed else None,
                    "price_fen": r.state.closed.price if r.state.closed else None, "bid_count": r.state.bid_count},
    }, key, head_every)


def sign_heads(record: dict[str, Any], key: CenterKey, head_every: int = 3) -> dict[str, Any]:
    sid, events = record["session_id"], record["events"]
    leaves = [tl.leaf_hash(tl.leaf_bytes(sid, e["seq"], e["type"], e["event"])) for e in events]
    sizes = sorted({*range(head_every, len(leaves) + 1, head_every), len(leaves)})
    record["tree_heads"] = []
    for k, size in enumerate(sizes):
        root = tl.root(leaves[:size]).hex()
        record["tree_heads"].append({"session_id": sid, "tree_size": size, "root_hash": root, "timestamp_us": k,
                                     "signature": key.sign(tl.head_bytes(sid, size, root, k)).hex()})
    return record


@pytest.fixture(scope="module")
def key() -> CenterKey:
    return CenterKey(Ed25519PrivateKey.generate())


def listing_to_timed_bidding_sold() -> Recorder:
    r = open_listing()
    start = r.terms.start_at
    r.bid(1, START_PRICE, start + 10)
    r.bid(2, START_PRICE + INCREMENT, start + 20)
    r.do(ChangeIncrement(2 * INCREMENT, "价格较高 / high prices"), start + 30)
    r.bid(1, START_PRICE + 3 * INCREMENT, start + 40)
    end = r.state.deadline
    assert end is not None
    r.advance(end)  # RULES 4.4: timed bidding
    r.bid(2, RESERVE, end + 1)
    r.bid(1, RESERVE + 2 * INCREMENT, end + 2)
    r.at_deadline(reveal())
    return r


def listing_one_bidder_below_reserve() -> Recorder:
    r = open_listing()
    r.bid(3, START_PRICE, r.terms.start_at + 5)
    r.at_deadline(reveal())
    return r


def auction_no_reserve_no_bids() -> Recorder:
    r = open_auction()
    r.at_deadline(Close(None))
    return r


def auction_suspended_and_resumed() -> Recorder:
    r = open_auction(reserve=RESERVE, rules=SessionRules(whole_increments=True, allow_self_outbid=True))
    start = r.terms.start_at
    r.bid(1, START_PRICE, start + 1)
    r.bid(1, START_PRICE + 5 * INCREMENT, start + 2)  # its own bid raised: allowed here
    r.do(Suspend("网络故障 / network fault"), start + 3)
    r.do(Resume("已修复 / fixed"), start + 3 + 60_000_000)
    r.bid(2, RESERVE, start + 3 + 60_000_000 + 5)
    r.at_deadline(reveal())
    return r


def listing_terminated() -> Recorder:
    r = open_listing()
    r.bid(1, START_PRICE, r.terms.start_at + 5)
    r.do(Terminate("出让人撤回 / withdrawn by the seller"), r.terms.start_at + 6)
    return r


SCENARIOS = [listing_to_timed_bidding_sold, listing_one_bidder_below_reserve, auction_no_reserve_no_bids,
             auction_suspended_and_resumed, listing_terminated]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_what_the_engine_decides_the_verifier_agrees_with(scenario: Any, key: CenterKey) -> None:
    r = scenario()
    verdict = verify(record_of(r, key), key=key.public)
    assert verdict.startswith("一致 VERIFIED"), verdict
    if r.state.closed is not None and r.state.closed.outcome == "SOLD":
        assert f"bidder {r.state.closed.winner_bidder_no}" in verdict


def test_a_record_with_another_outcome_is_named(key: CenterKey) -> None:
    record = record_of(listing_to_timed_bidding_sold(), key)
    record["outcome"]["winner_bidder_no"] = 2
    with pytest.raises(Discrepancy) as caught:
        verify(record)
    assert (caught.value.code, caught.value.place) == ("OUTCOME", "outcome.winner_bidder_no")


def test_a_log_that_breaks_the_rules_is_named_even_with_good_signatures(key: CenterKey) -> None:
    """The center itself signed a log with a bid under the minimum: the signatures hold, the rules do not."""
    record = record_of(listing_to_timed_bidding_sold(), key)
    bids = [e for e in record["events"] if e["type"] == "BidAccepted"]
    bids[1]["event"]["amount"] = START_PRICE  # not above the first bid
    sign_heads(record, key)
    with pytest.raises(Discrepancy) as caught:
        verify(record, key=key.public)
    assert caught.value.code == "RULES" and caught.value.place.startswith(f"events[{bids[1]['seq'] - 1}]")
    assert "below the minimum" in caught.value.detail


def test_a_close_that_says_sold_below_the_reserve_is_named(key: CenterKey) -> None:
    record = record_of(listing_one_bidder_below_reserve(), key)
    closed = record["events"][-1]["event"]
    closed.update(outcome="SOLD", reason="SOLD", winner_bidder_no=3, price=START_PRICE)
    record["outcome"].update(outcome="SOLD", reason="SOLD", winner_bidder_no=3, price_fen=START_PRICE)
    sign_heads(record, key)
    with pytest.raises(Discrepancy) as caught:
        verify(record, key=key.public)
    assert caught.value.code == "RULES" and "the rules give 'UNSOLD'" in caught.value.detail


def test_another_key_is_named(key: CenterKey) -> None:
    with pytest.raises(Discrepancy) as caught:
        verify(record_of(auction_no_reserve_no_bids(), key), key=CenterKey(Ed25519PrivateKey.generate()).public)
    assert caught.value.code == "CENTER_KEY"

