"""The public record of an ended session: one JSON document anyone can check with
`auction-verify` (clients/verify.py) without trusting the server (docs/protocol.md,
"The public record").

It holds the terms, every public event as the log stores it (the transparency
log's leaves), every signed tree head and the key that signed them, the
revealed reserve with its salt and commitment, the committee's signatures over
the reserve decision (Q26) and the outcome. Bidders appear by number only, as
in the log: the record names no one (RULES 3.5). It exists only once the
session has ended (closed or terminated): before, the reserve is sealed.
"""

from __future__ import annotations

from typing import Any

from auction.domain.codes import Code, Rejected
from auction.domain.bidding import events as ev
from auction.services.session import SessionService
from auction.services.transparency import TransparencyLog, head_view
from auction.store.plans import PlanStore, plan_of_session, plans_table_exists
from auction.store.transparency import bidder_keys

FORMAT = "auction-public-record/1"


async def public_record(sessions: SessionService, log: TransparencyLog, plans: PlanStore | None,
                        session_id: str) -> dict[str, Any]:
    state = await sessions.state(session_id)
    if state.terms is None:
        raise Rejected(Code.UNKNOWN_SESSION, session_id=session_id)
    if not state.final:
        raise Rejected(Code.RECORD_NOT_FINAL, phase=state.phase.value)
    recorded = await sessions.store.load_public(session_id, 0, limit=1_000_000)
    events = [{"seq": r.pub_seq, "type": ev.event_type(r.event), "event": ev.event_to_dict(r.event)}
              for r in recorded]
    await log.latest_head(session_id)  # the final head, should its task not have run yet
    closed = state.closed
    return {
        "format": FORMAT,
        "session_id": session_id,
        "terms": state.terms.to_dict(),
        "events": events,
        "transparency": {"key_id": log.key.key_id, "public_key": log.key.public.hex(), "algorithm": "Ed25519"},
        "tree_heads": [head_view(h) for h in await log.heads(session_id)],
        "reserve": {
            "has_reserve": state.has_reserve,
            "commitment": state.reserve_commitment,
            "amount_fen": closed.reserve if closed else None,
            "salt": closed.reserve_salt if closed else None,
            "basis": closed.reserve_basis if closed else None,
        },
        "committee": await _committee(plans, session_id),
        # Signed bids: each bidder's registered key, by number (how many there are is told only now).
        "bidder_keys": [{"bidder_no": n, "public_key": k.hex()}
                        for n, k in await bidder_keys.keys_of(sessions.store.pool, session_id)],
        "outcome": {
            "phase": state.phase.value,
            "outcome": closed.outcome if closed else None,
            "reason": state.end_reason,
            "winner_bidder_no": closed.winner_bidder_no if closed else None,
            "price_fen": closed.price if closed else None,
            "bid_count": state.bid_count,
        },
    }


async def _committee(plans: PlanStore | None, session_id: str) -> dict[str, Any] | None:
    """The committee's signatures over the reserve decision record (Q26), with the members'
    public keys; None for a session without a plan (the stand-in path)."""
    if plans is None or not await plans_table_exists(plans.pool):
        return None
    plan_id = await plan_of_session(plans.pool, session_id)
    if plan_id is None:
        return None
    rows = await plans.signatures(plan_id)
    keys = {m.member_id: m.public_key for m in await plans.members([r["member_id"] for r in rows])}
    records = {bytes(r["record"]) for r in rows}
    return {
        "plan_id": plan_id,
        # The exact bytes every member signed (canonical JSON: the commitment, never the amount).
        "decision_record": bytes(next(iter(records))).decode("utf-8") if len(records) == 1 else None,
        "signatures": [{"member_id": r["member_id"], "public_key": keys[r["member_id"]].hex(),
                        "signature": bytes(r["signature"]).hex(),
                        **({"record": bytes(r["record"]).decode("utf-8")} if len(records) > 1 else {})}
                       for r in rows],
    }
