"""The supply plan event log in PostgreSQL (migrations/0002_plans.sql), the committee's
members and their signatures.

The log is an `AggregateLog` (`store/database/aggregate_log.py`): a guarded append
moves the plan row's `last_seq` and inserts the events, or writes nothing and
raises `PlanConflict`. Every write takes an optional connection so it can join a
transaction that also writes to a session (the reserve decision, a withdrawal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from auction.domain.codes import Code, Rejected
from auction.domain.plan.plan_events import PlanEvent, event_from_dict, event_to_dict, plan_event_type
from auction.domain.plan.plans import PlanState
from auction.domain.plan.progress import SaleFacts
from auction.store import Executor
from auction.store.database.aggregate_log import AggregateLog, LoggedEvent, LogTables, number

__all__ = ["Member", "PlanConflict", "PlanStore", "RecordedPlanEvent", "number"]


class PlanConflict(Exception):
    """Another writer appended to this plan first.

    Deliberately not `store.events.Conflict`: raised inside a session's
    transaction (`SessionService.execute(also=...)`), it must roll that
    transaction back and reach the plan service, not be taken for a session race.
    """


RecordedPlanEvent = LoggedEvent[PlanEvent]


@dataclass(frozen=True)
class Member:
    member_id: str
    name: str
    public_key: bytes
    registered_at: datetime


class PlanStore(AggregateLog[PlanState, PlanEvent]):
    tables = LogTables("plans", "plan_events", "plan_id", ("status", "parcel_no", "method"), columns=("by",))
    conflict = PlanConflict

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, type_of=plan_event_type, to_dict=event_to_dict, from_dict=event_from_dict)

    def _projected(self, state_after: PlanState) -> tuple[str, str, str]:
        assert state_after.draft is not None  # an edited draft may change the parcel number and the method
        return state_after.status.value, state_after.draft.parcel.parcel_no, state_after.draft.method.value

    async def create(self, recorded: list[RecordedPlanEvent], state_after: PlanState) -> None:
        """The plan row and its first event (PlanDrafted), in one transaction."""
        assert state_after.draft is not None and state_after.method is not None
        plan_id = recorded[0].aggregate_id
        await self._create(
            "INSERT INTO plans (plan_id, status, parcel_no, method, last_seq) VALUES ($1, 'NEW', $2, $3, 0)",
            (plan_id, state_after.draft.parcel.parcel_no, state_after.method.value),
            recorded, state_after, Rejected(Code.PLAN_EXISTS, plan_id=plan_id),
        )

    async def row(self, plan_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(
            "SELECT plan_id, status, parcel_no, method, last_seq, session_id, created_at, updated_at "
            "FROM plans WHERE plan_id = $1",
            plan_id,
        )
        return row

    async def rows(self, limit: int = 500) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT plan_id, status, parcel_no, method, last_seq, session_id, created_at, updated_at "
            "FROM plans ORDER BY created_at DESC, plan_id LIMIT $1",
            limit,
        )
        return rows

    async def sale_facts(self, plan_ids: list[str]) -> dict[str, SaleFacts]:
        """How far each plan's sale has come (auction/domain/plan/progress.py): its session's
        phase (a tender's: `OPENED`, or `CLOSED` once ended), the booked outcome, its published
        result, the contract's Q42 row. A tender's closing and rows are under its own id."""
        rows = await self.pool.fetch(
            """SELECT p.plan_id,
                      COALESCE(s.phase, CASE t.phase WHEN 'ENDED' THEN 'CLOSED' WHEN 'OPENED' THEN 'OPENED' END)
                          AS phase,
                      c.outcome,
                      EXISTS (SELECT 1 FROM publications r WHERE r.plan_id = p.plan_id
                                 AND r.kind IN ('RESULT', 'RESULT_UNSOLD')) AS result_published,
                      (SELECT d.state FROM deadlines d WHERE d.session_id = COALESCE(p.session_id, t.tender_id)
                          AND d.kind = 'CONTRACT_SIGNING' ORDER BY d.created_at LIMIT 1) AS contract
                 FROM plans p
                 LEFT JOIN tenders t ON t.plan_id = p.plan_id
                 LEFT JOIN sessions s ON s.session_id = p.session_id
                 LEFT JOIN session_closings c ON c.session_id = COALESCE(p.session_id, t.tender_id)
                WHERE p.plan_id = ANY($1::text[])""",
            plan_ids,
        )
        return {r["plan_id"]: SaleFacts(r["phase"], r["outcome"], r["result_published"], r["contract"]) for r in rows}

    async def session_of(self, plan_id: str) -> str | None:
        value: str | None = await self.pool.fetchval("SELECT session_id FROM plans WHERE plan_id = $1", plan_id)
        return value

    async def session_made(self, plan_id: str, console_action: str) -> tuple[datetime | None, str | None]:
        """When the plan's session was created (its log's first event, SessionCreated) and, where the
        console created it, by whom (the audit trail's successful `console_action` for it)."""
        row = await self.pool.fetchrow(
            """SELECT e.at, (SELECT a.username FROM console_audit a
                              WHERE a.session_id = p.session_id AND a.action = $2 AND a.outcome = 'OK'
                              ORDER BY a.id LIMIT 1) AS username
                 FROM plans p JOIN session_events e ON e.session_id = p.session_id AND e.seq = 1
                WHERE p.plan_id = $1""",
            plan_id, console_action,
        )
        return (None, None) if row is None else (row["at"], row["username"])

    async def link_session(self, plan_id: str, session_id: str) -> str:
        """Record the plan's session once; returns the session the plan is linked to."""
        linked: str | None = await self.pool.fetchval(
            """UPDATE plans SET session_id = COALESCE(session_id, $2), updated_at = now()
                WHERE plan_id = $1 RETURNING session_id""",
            plan_id, session_id,
        )
        if linked is None:
            raise Rejected(Code.NOT_FOUND, plan_id=plan_id)
        return linked

    # committee members

    async def register_member(self, member_id: str, name: str, public_key: bytes) -> Member:
        """Register a member's key. The same registration again is accepted (a retry);
        a different key or name for a registered id, or a key already registered, is refused."""
        row = await self.pool.fetchrow(
            """INSERT INTO committee_members (member_id, name, public_key) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING member_id, name, public_key, registered_at""",
            member_id, name, public_key,
        )
        if row is None:
            row = await self.pool.fetchrow(
                "SELECT member_id, name, public_key, registered_at FROM committee_members WHERE member_id = $1",
                member_id,
            )
            if row is None or bytes(row["public_key"]) != public_key or row["name"] != name:
                raise Rejected(Code.MEMBER_KEY_REGISTERED,  # permanent: a retry never succeeds
                               field="member_id" if row is not None else "public_key_hex")
        return Member(row["member_id"], row["name"], bytes(row["public_key"]), row["registered_at"])

    async def members(self, member_ids: list[str] | None = None) -> list[Member]:
        if member_ids is None:
            rows = await self.pool.fetch(
                "SELECT member_id, name, public_key, registered_at FROM committee_members ORDER BY member_id"
            )
        else:
            rows = await self.pool.fetch(
                """SELECT member_id, name, public_key, registered_at FROM committee_members
                    WHERE member_id = ANY($1::text[]) ORDER BY member_id""",
                member_ids,
            )
        return [Member(r["member_id"], r["name"], bytes(r["public_key"]), r["registered_at"]) for r in rows]

    async def signatures(self, plan_id: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT member_id, signature, record FROM reserve_signatures WHERE plan_id = $1 ORDER BY member_id",
            plan_id,
        )
        return rows

    @staticmethod
    async def archive_signatures(
        con: asyncpg.Connection, plan_id: str, record: bytes, signatures: dict[str, bytes]
    ) -> None:
        await con.executemany(
            "INSERT INTO reserve_signatures (plan_id, member_id, signature, record) VALUES ($1, $2, $3, $4)",
            [(plan_id, member_id, signature, record) for member_id, signature in sorted(signatures.items())],
        )


async def plans_table_exists(con: Executor) -> bool:
    """Whether the plans table is there (a database migrated before plans existed has none)."""
    return bool(await con.fetchval("SELECT to_regclass('plans') IS NOT NULL"))


async def plan_of_session(con: Executor, session_id: str) -> str | None:
    """The supply plan the session was created from, if any."""
    plan_id: str | None = await con.fetchval("SELECT plan_id FROM plans WHERE session_id = $1", session_id)
    return plan_id
