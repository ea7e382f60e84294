"""The supply plan log and service on a real PostgreSQL (migrations/0002_plans.sql).

Like the session log: one guarded statement per append, two nodes that race
are ordered by the database and the loser catches up; a refusal writes
nothing; the log is append-only. And the reserve decision (Q26) writes the
plan's event, the session's `ReserveSealed`, the escrow envelope and the
members' signatures in one transaction, or none of them.
"""

from __future__ import annotations

import json

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auction.adapters.sealing import signatures
from auction.adapters.sealing.escrow import ReserveSealer
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import Terminate
from auction.domain.plan.plan_commands import Announce, DraftPlan, RecordAppraisal
from auction.domain.plan.plan_terms import PlanMethod, PlanRules
from auction.domain.plan.plans import PlanStatus, decide, evolve, replay
from auction.domain.bidding.session import reserve_commitment
from auction.domain.bidding.terms import HOUR, MINUTE, SessionRules
from auction.services.plans import PlanService, ReserveRequest
from auction.store.plans import PlanConflict, PlanStore, number
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import Clock
from tests.unit.plan_helpers import (
    APPRAISAL_RECORDED_AT,
    APPROVED_AT,
    DECIDED_AT,
    FLOOR_PRICE,
    MEETING_AT,
    PUB,
    RESERVE,
    START,
    T0,
    announcement,
    appraisal,
    approval,
    draft,
    meeting,
    schedule_for,
)

SALT = "5be0c1d2e3f40718" * 2


async def plan_node(node: NodeFactory, clock: Clock) -> PlanService:
    sessions = await node()
    return PlanService(PlanStore(sessions.store.pool), sessions, PlanRules(), SessionRules(), clock=clock)


async def announced(service: PlanService, clock: Clock, plan_id: str, method: PlanMethod = PlanMethod.AUCTION) -> str:
    """Drafted, passed, approved, appraised and announced through the service; then its session."""
    clock.set(T0)
    await service.draft(draft(method, plan_id=plan_id, parcels=(draft().parcels[0],)))
    clock.set(MEETING_AT + HOUR)
    await service.execute(plan_id, meeting())
    clock.set(APPROVED_AT + HOUR)
    await service.execute(plan_id, approval())
    clock.set(APPRAISAL_RECORDED_AT)
    await service.execute(plan_id, RecordAppraisal(by="op-wang", appraisal=appraisal()))
    clock.set(PUB)
    await service.execute(plan_id, Announce(by="op-li", announcement=announcement(schedule_for(method))))
    return (await service.create_session(plan_id, 2 * MINUTE)).session_id


class Committee:
    def __init__(self) -> None:
        self.keys = {f"m{i}": Ed25519PrivateKey.generate() for i in (1, 2, 3)}

    async def register(self, store: PlanStore) -> None:
        for member_id, key in self.keys.items():
            await store.register_member(member_id, f"委员 {member_id}", signatures.raw_public(key))

    def request(self, plan_id: str, amount: int | None = RESERVE) -> ReserveRequest:
        members = tuple(self.keys)
        record = signatures.decision_bytes(plan_id, amount=amount, salt=SALT, decided_at=DECIDED_AT,
                                           members=members, appraisal_id="AP-1", floor_price_fen_per_m2=FLOOR_PRICE)
        return ReserveRequest(
            by="m1", amount=amount, salt=SALT, decided_at=DECIDED_AT, members=members, appraisal_id="AP-1",
            floor_price_fen_per_m2=FLOOR_PRICE,
            signatures=tuple((m, signatures.sign(k, record)) for m, k in self.keys.items()),
        )


async def counts(db: asyncpg.Connection, plan_id: str, session_id: str) -> tuple[int, int, int, int]:
    row = await db.fetchrow(
        """SELECT (SELECT count(*) FROM plan_events WHERE plan_id = $1) AS plan_events,
                  (SELECT count(*) FROM session_events WHERE session_id = $2 AND type = 'ReserveSealed') AS sealed,
                  (SELECT count(*) FROM sealed_reserves WHERE session_id = $2) AS envelopes,
                  (SELECT count(*) FROM reserve_signatures WHERE plan_id = $1) AS signatures""",
        plan_id, session_id,
    )
    assert row is not None
    return row["plan_events"], row["sealed"], row["envelopes"], row["signatures"]


async def test_two_nodes_write_one_plan_in_turn(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> None:
    a, b = await plan_node(node, clock), await plan_node(node, clock)
    clock.set(T0)
    await a.draft(draft(plan_id="GD-RACE"))
    assert (await b.state("GD-RACE")).version == 1  # b caches the draft
    clock.set(MEETING_AT + HOUR)
    await a.execute("GD-RACE", meeting())
    # b still believes the plan is a draft: its refusal (Q22) is checked against the log first.
    clock.set(APPROVED_AT + HOUR)
    assert (await b.execute("GD-RACE", approval())).status is PlanStatus.APPROVED
    # a is now behind: its append loses the guard, catches up and goes in after b's.
    clock.set(APPRAISAL_RECORDED_AT)
    await b.execute("GD-RACE", RecordAppraisal(by="op-wang", appraisal=appraisal()))
    state = await a.execute("GD-RACE", RecordAppraisal(by="op-wang", appraisal=appraisal(appraisal_id="AP-2")))
    assert state.version == 5 and [x.appraisal.appraisal_id for x in state.appraisals] == ["AP-1", "AP-2"]

    rows = await db.fetch('SELECT seq, type, "by" FROM plan_events WHERE plan_id = $1 ORDER BY seq', "GD-RACE")
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["type"] for r in rows] == ["PlanDrafted", "CommitteeMeetingRecorded", "GovernmentApprovalRecorded",
                                         "AppraisalRecorded", "AppraisalRecorded"]
    assert all(r["by"] for r in rows)
    logged = await a.store.load("GD-RACE")
    assert replay([r.event for r in logged]) == state
    assert await db.fetchval("SELECT (status, last_seq)::text FROM plans WHERE plan_id = 'GD-RACE'") == "(APPROVED,5)"


async def test_a_stale_append_writes_nothing(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> None:
    service = await plan_node(node, clock)
    clock.set(T0)
    await service.draft(draft(plan_id="GD-GUARD"))
    state = await service.state("GD-GUARD")
    clock.set(MEETING_AT + HOUR)
    await service.execute("GD-GUARD", meeting())
    # The meeting again, decided on the stale state (version 1): the guard refuses it.
    events = decide(state, meeting(), MEETING_AT + 2 * HOUR)
    after = evolve(state, events[0])
    with pytest.raises(PlanConflict):
        await service.store.append(number("GD-GUARD", state, events), state.version, after)
    assert await db.fetchval("SELECT count(*) FROM plan_events WHERE plan_id = 'GD-GUARD'") == 2


async def test_a_refused_command_writes_nothing(node: NodeFactory, clock: Clock, db: asyncpg.Connection) -> None:
    service = await plan_node(node, clock)
    clock.set(T0)
    with pytest.raises(Rejected) as bundled:
        await service.draft(DraftPlan(**{**draft(plan_id="GD-TWO").__dict__,
                                         "parcels": (draft().parcels[0], draft().parcels[0])}))
    assert bundled.value.code is Code.Q23_MORE_THAN_ONE_PARCEL
    await service.draft(draft(plan_id="GD-ONE"))
    with pytest.raises(Rejected) as exists:
        await service.draft(draft(plan_id="GD-ONE"))
    assert exists.value.code is Code.PLAN_EXISTS
    clock.set(APPROVED_AT)
    with pytest.raises(Rejected) as early:
        await service.execute("GD-ONE", approval())
    assert early.value.code is Code.Q22_NOT_APPROVED
    assert await db.fetchval("SELECT count(*) FROM plans") == 1
    assert await db.fetchval("SELECT count(*) FROM plan_events") == 1


async def test_the_plan_log_and_member_keys_cannot_be_rewritten(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    service = await plan_node(node, clock)
    clock.set(T0)
    await service.draft(draft(plan_id="GD-LOCKED"))
    for sql in ("UPDATE plan_events SET \"by\" = 'someone else'", "DELETE FROM plan_events", "TRUNCATE plan_events"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.execute(sql)
    key = signatures.raw_public(Ed25519PrivateKey.generate())
    await service.store.register_member("m1", "委员一", key)
    assert (await service.store.register_member("m1", "委员一", key)).public_key == key  # a retry
    with pytest.raises(Rejected) as changed:
        await service.store.register_member("m1", "委员一", signatures.raw_public(Ed25519PrivateKey.generate()))
    assert changed.value.code is Code.MEMBER_KEY_REGISTERED  # permanent: not a race to retry
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("UPDATE committee_members SET public_key = $1", bytes(32))
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("INSERT INTO committee_members (member_id, name, public_key) VALUES ('x', 'x', $1)", b"1")


async def test_the_reserve_decision_is_one_transaction(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection, sealer: ReserveSealer
) -> None:
    a, b = await plan_node(node, clock), await plan_node(node, clock)
    committee = Committee()
    await committee.register(a.store)

    # The session refuses (it was terminated): nothing is written on either side.
    dead = await announced(a, clock, "GD-DEAD")
    clock.set(PUB + HOUR)
    await a.sessions.execute(dead, Terminate(reason="测试"))
    clock.set(DECIDED_AT + MINUTE)
    before = await counts(db, "GD-DEAD", dead)
    with pytest.raises(Rejected) as refused:
        await a.decide_reserve("GD-DEAD", committee.request("GD-DEAD"))
    assert refused.value.code is Code.SESSION_CLOSED
    assert await counts(db, "GD-DEAD", dead) == before
    assert (await a.state("GD-DEAD")).status is PlanStatus.ANNOUNCED

    # Another node appended to the plan meanwhile: the first attempt's session write is
    # rolled back with the plan's lost append, and the decision goes in once, after it.
    live = await announced(a, clock, "GD-LIVE")
    await a.state("GD-LIVE")
    clock.set(DECIDED_AT - 2 * HOUR)
    await b.execute("GD-LIVE", RecordAppraisal(by="op-wang", appraisal=appraisal(appraisal_id="AP-2")))
    clock.set(DECIDED_AT + MINUTE)
    state = await a.decide_reserve("GD-LIVE", committee.request("GD-LIVE"))
    commitment = reserve_commitment(RESERVE, SALT)
    assert state.status is PlanStatus.RESERVE_SEALED and state.reserve is not None
    assert state.reserve.commitment == commitment and state.version == 7
    assert await counts(db, "GD-LIVE", live) == (7, 1, 1, 3)
    sealed = json.loads(await db.fetchval(
        "SELECT payload FROM session_events WHERE session_id = $1 AND type = 'ReserveSealed'", live))
    assert sealed["commitment"] == commitment
    row = await db.fetchrow("SELECT key_id, nonce, ciphertext FROM sealed_reserves WHERE session_id = $1", live)
    revealed = sealer.unseal(live, row["key_id"], row["nonce"], row["ciphertext"])
    assert revealed is not None and (revealed.amount, revealed.salt) == (RESERVE, SALT)  # the committee's salt
    archived = await db.fetch("SELECT member_id, signature, record FROM reserve_signatures WHERE plan_id = 'GD-LIVE'")
    keys = {m.member_id: m.public_key for m in await a.store.members()}
    assert all(signatures.verify(keys[r["member_id"]], r["signature"], r["record"]) for r in archived)
    assert str(RESERVE) not in json.dumps([dict(r) for r in await db.fetch("SELECT payload FROM plan_events")],
                                          default=str)
    # The plan's start was fixed in the session at its creation.
    assert (await a.sessions.state(live)).terms.start_at == START  # type: ignore[union-attr]
