"""Commands to the supply plan (供地方案) engine. Plain frozen data.

Every command names `by`: the operator or committee member the shell has
authenticated. Times inside a command (`held_at`, `decided_at`, ...) are when
the act happened in the world; the engine's `now` is when it is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auction.domain.plan.parcels import Parcel
from auction.domain.plan.plan_terms import Announcement, Appraisal, PlanMethod, PlanRules, Schedule


@dataclass(frozen=True)
class DraftPlan:
    by: str
    plan_id: str
    parcels: tuple[Parcel, ...]  # exactly one (Q23); a list so bundling can be refused, not just impossible
    method: PlanMethod
    start_price: int  # fen, 起始价 (起叫价)
    increment: int  # fen, 增价幅度
    deposit: int  # fen, 竞买保证金
    bidder_conditions: str = ""  # 竞买条件; only where Q24 allows
    rules: PlanRules = field(default_factory=PlanRules)
    # Prices per square metre of floor area (元/建筑平方米, floor_price.py): the totals above are
    # then derived from them (0: derive; a different total is refused).
    start_fen_per_floor_m2: int | None = None
    increment_fen_per_floor_m2: int | None = None


@dataclass(frozen=True)
class EditDraft:
    """A new version of a plan still in draft (before the committee has met): the whole
    parcel and terms, judged as a draft is. The plan's id and its rules stay."""

    by: str
    parcels: tuple[Parcel, ...]  # exactly one (Q23), as in `DraftPlan`
    method: PlanMethod
    start_price: int  # fen
    increment: int  # fen
    deposit: int  # fen
    bidder_conditions: str = ""
    start_fen_per_floor_m2: int | None = None  # as in `DraftPlan`
    increment_fen_per_floor_m2: int | None = None


@dataclass(frozen=True)
class RecordCommitteeMeeting:
    """Q22: the committee's collective review, decided by secret ballot.

    Only the tally: who voted how is never asked for, so it cannot be stored.
    """

    by: str
    held_at: int  # µs UTC
    chair: str  # member id of the one chairing (主任, or a deputy so entrusted)
    members_present: tuple[str, ...]  # 到会成员 ids
    yes: int
    no: int
    abstain: int
    chair_spoke_last: bool  # 主要领导末位表态


@dataclass(frozen=True)
class RecordGovernmentApproval:
    by: str
    approver: str  # e.g. 曲靖市人民政府
    document_no: str  # 批复文号
    approved_at: int  # µs UTC


@dataclass(frozen=True)
class Announce:
    by: str
    announcement: Announcement


@dataclass(frozen=True)
class ChangeAnnouncement:
    """A change to the announcement (变更公告).

    `schedule` None keeps the current one. Either way, when the change is
    published less than `min_announcement_period` before the start, every time
    is pushed back so the start is that period after the change (RULES 3.1, P: Wuxi).
    """

    by: str
    published_at: int  # µs UTC
    reason: str
    content: str  # what the change says
    schedule: Schedule | None = None


@dataclass(frozen=True)
class RecordAppraisal:
    by: str
    appraisal: Appraisal


@dataclass(frozen=True)
class DecideReserve:
    """Q26: the reserve (底价), fixed collectively within the hour before the start.

    The shell seals `amount` (encrypts it to the escrow key) and computes
    `commitment` = SHA-256 over amount and salt (`session.reserve_commitment`).
    The engine uses `amount` only to check it (Q27, Q28); the event keeps the
    commitment and never the amount. `amount` is kept out of `repr` so a logged
    command does not leak it.

    `amount` None: an auction without a reserve; the starting price is the
    reserve (Q28) and `commitment` is None.
    """

    by: str
    amount: int | None = field(repr=False)  # fen, total for the parcel
    commitment: str | None  # 64 lowercase hex characters
    decided_at: int  # µs UTC
    members: tuple[str, ...]  # the members who took the decision
    appraisal_id: str  # basis: the appraisal report (Q25, Q26)
    floor_price_fen_per_m2: int  # basis: the area's floor price (区域楼面地价, Q26)
    signatures_ok: bool  # the shell's verdict on every member's signature of `decision_record`


@dataclass(frozen=True)
class WithdrawPlan:
    by: str
    reason: str


PlanCommand = (
    DraftPlan
    | EditDraft
    | RecordCommitteeMeeting
    | RecordGovernmentApproval
    | Announce
    | ChangeAnnouncement
    | RecordAppraisal
    | DecideReserve
    | WithdrawPlan
)
