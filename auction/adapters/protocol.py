"""The bidder WebSocket protocol's messages (docs/protocol.md is the reference).

Amounts are integer fen (`*_fen`), times integer microseconds since the Unix
epoch in UTC (`*_us`). Each public event is encoded once and the same text is
sent to every subscriber.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from auction.domain.bidding import events as ev
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.session import SessionState

PROTOCOL_VERSION = 1
# No message or request body needs more than a few levels; the parser's own limit
# (a RecursionError near 1,000) depends on the stack it runs on, this one does not.
MAX_JSON_DEPTH = 32


def storable_text(value: object) -> bool:
    """A string PostgreSQL can hold. JSON can carry NUL and lone surrogates ("\\u0000",
    "\\ud800"); a text column cannot, so they are refused as input, not failed on in the database."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads(raw: str | bytes) -> Any:
    """Parse a WebSocket frame or an HTTP body: `MALFORMED_JSON` if it is not JSON,
    `JSON_TOO_DEEP` if it nests deeper than `MAX_JSON_DEPTH` (never a RecursionError)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise Rejected(Code.JSON_TOO_DEEP, maximum=MAX_JSON_DEPTH) from None
    except ValueError:  # includes UnicodeDecodeError of a body that is not UTF-8
        raise Rejected(Code.MALFORMED_JSON) from None
    # Nesting needs an opening bracket per level: a frame with few of them (every bid) is not
    # walked. (Brackets inside strings only make the count larger, never smaller.)
    opening = raw.count("{") + raw.count("[") if isinstance(raw, str) else raw.count(b"{") + raw.count(b"[")
    if opening > MAX_JSON_DEPTH and json_depth(value) > MAX_JSON_DEPTH:
        raise Rejected(Code.JSON_TOO_DEEP, maximum=MAX_JSON_DEPTH)
    return value


def json_depth(value: Any) -> int:
    """How deeply `value` nests lists and objects (a scalar is 0), without recursion;
    stops counting once past `MAX_JSON_DEPTH`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
            stack.extend((v, depth) for v in item if isinstance(v, (dict, list)))
    return deepest


def dumps(message: dict[str, Any]) -> str:
    """Compact JSON, non-ASCII as is (the same text `json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))` gives for what we send)."""
    try:
        return orjson.dumps(message).decode()
    except TypeError:  # what orjson does not take (an integer beyond 64 bits echoed in an error's details)
        return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of `value` (sorted keys, no spaces, UTF-8: `clients/transparency.py`
    `canonical`), by orjson: the same bytes for what the log stores (strings, integers, booleans,
    null, lists, objects; checked in tests/unit/test_transparency_tree.py), many times faster."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # beyond orjson (an integer past 64 bits, a lone surrogate): the reference encoder
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def terms_view(state: SessionState) -> dict[str, Any]:
    t = state.terms
    assert t is not None
    return {
        "session_id": t.session_id,
        "parcel_ref": t.parcel_ref,
        "method": t.method.value,
        "start_price_fen": t.start_price,
        "deposit_fen": t.deposit,
        "start_at_us": t.start_at,
        "listing_end_at_us": t.listing_end_at,
        "countdown_us": t.countdown,
        # None until the committee's decision is sealed (sessions created from a plan)
        "has_reserve": state.has_reserve,
        "reserve_commitment": state.reserve_commitment,
        "whole_increments": t.rules.whole_increments,
        "signed_bids": t.rules.signed_bids,  # every bid must be signed (docs/protocol.md section 9)
    }


def state_view(state: SessionState) -> dict[str, Any]:
    """What every subscriber may know of the state (no identities, no bidder count)."""
    highest = state.highest
    view: dict[str, Any] = {
        "phase": state.phase.value,
        "highest_fen": highest.amount if highest else None,
        "highest_bidder_no": highest.bidder_no if highest else None,
        "min_next_fen": state.min_next_bid if state.phase.value not in ("CLOSED", "TERMINATED", "HELD") else None,
        "increment_fen": state.increment,
        "opens_at_us": state.opens_at,
        "deadline_us": state.deadline,
        "resume_at_us": state.resume_at,
        "bid_count": state.bid_count,
    }
    if state.closed is not None:
        view["outcome"] = _closed_data(state.closed)
    elif state.end_reason is not None:
        view["end_reason"] = state.end_reason
    return view


def _closed_data(e: ev.SessionClosed) -> dict[str, Any]:
    return {
        "outcome": e.outcome,
        "reason": e.reason,
        "winner_bidder_no": e.winner_bidder_no,
        "price_fen": e.price,
        "reserve_fen": e.reserve,
        "reserve_salt": e.reserve_salt,
        "reserve_basis": e.reserve_basis,
    }


def event_data(event: ev.Event) -> dict[str, Any]:
    """The public fields of an event (bid_id and anything private left out)."""
    if isinstance(event, ev.BidAccepted):
        return {"bidder_no": event.bidder_no, "amount_fen": event.amount, "deadline_us": event.deadline}
    if isinstance(event, ev.SessionOpened):
        return {"phase": event.phase, "deadline_us": event.deadline, "has_reserve": event.has_reserve,
                "reserve_commitment": event.reserve_commitment}
    if isinstance(event, ev.ReserveSealed):
        return {"has_reserve": event.has_reserve, "reserve_commitment": event.commitment}
    if isinstance(event, ev.TimedBiddingStarted):
        return {"deadline_us": event.deadline}
    if isinstance(event, ev.IncrementChanged):
        return {"increment_fen": event.increment, "reason": event.reason}
    if isinstance(event, ev.SessionSuspended):
        return {"reason": event.reason, "recovery": event.recovery}
    if isinstance(event, ev.ResumptionScheduled):
        return {"resume_at_us": event.resume_at, "reason": event.reason}
    if isinstance(event, (ev.ResumptionCancelled, ev.SessionResumed, ev.SessionTerminated, ev.CloseHeld,
                          ev.OpenRefused)):
        return {"reason": event.reason}
    if isinstance(event, ev.SessionClosed):
        return _closed_data(event)
    if isinstance(event, ev.SessionCreated):
        return {}
    raise TypeError(f"not a public event: {event!r}")


def event_message(session_id: str, pub_seq: int, event: ev.Event, state_after: SessionState) -> str:
    return dumps(
        {
            "type": "event",
            "session_id": session_id,
            "seq": pub_seq,
            "event": ev.event_type(event),
            "at_us": event.at,
            "data": event_data(event),
            "state": state_view(state_after),
        }
    )
