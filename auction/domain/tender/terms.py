"""What a tender is: its evaluation method, criteria and weights, deadlines and rule settings.

Times are integer µs since the Unix epoch, UTC (as in `bidding/terms.py`). The
terms are fixed when the tender is created from its announced plan and published
with it: nothing in them changes afterwards, so every bidder bids on the same
criteria and a replay judges by the settings in force then. One exception, in the
log for all to see: a tender suspended for an outage resumes with a new bid deadline
and opening (RULES 6.7, `TenderResumed`), which the terms in force carry from then on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

from auction.domain.bidding.terms import DIRECT_RESUME_WINDOW, RESUME_NOTICE
from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount

CRITERION_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
TOTAL_WEIGHT = 100  # the weights are points out of 100 (RULES 6.1)


class Evaluation(str, Enum):
    """评标办法 (RULES 6.1, 6.4-6.5, N Art.13)."""

    HIGHEST_PRICE = "HIGHEST_PRICE"  # 价高者得: the highest valid price meeting the requirements
    SCORING = "SCORING"  # 综合评分: the best combined score under the published criteria


@dataclass(frozen=True)
class Criterion:
    """One scored criterion of a scoring tender (e.g. the development scheme), with its weight."""

    key: str  # a short machine name: lowercase letters, digits, _
    name: str  # as the tender documents print it, e.g. 开发建设方案
    weight: int  # points out of 100


@dataclass(frozen=True)
class TenderRules:
    """Per-trading-center numbers for tenders, each with its source (docs/rules.md)."""

    # N Art.14, RULES 6.3: fewer than three valid bids ends the tender.
    min_valid_bids: int = 3
    # RULES 6.5: the evaluation panel has an odd number of at least five members.
    min_panel: int = 5
    # RULES 6.5: each member scores each criterion from 0 to this.
    max_score: int = 100
    # RULES 6.7, 7.3: a suspended tender's new bid deadline, announced as a session's resumption
    # (the same setting): within this of the fault at once, otherwise `resume_notice` ahead.
    direct_resume_window: int = DIRECT_RESUME_WINDOW
    resume_notice: int = RESUME_NOTICE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TenderRules:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class TenderTerms:
    tender_id: str
    plan_id: str
    parcel_ref: str  # 宗地编号
    start_price: int  # fen: 投标起始价; a lower bid is not valid
    deposit: int  # fen
    registration_closes_at: int  # µs UTC
    bids_open_at: int  # µs UTC: bids are taken from here (the plan's start)
    bid_deadline: int  # µs UTC: 投标截止时间; no bid is taken at or after it (RULES 6.2)
    opening_at: int  # µs UTC: 开标时间, at or after the deadline (RULES 6.3)
    evaluation: Evaluation
    # SCORING only: the price's points and the criteria's, adding up to 100.
    price_weight: int = 0
    criteria: tuple[Criterion, ...] = ()
    # The reserve (Q28: a tender has one) is never here: only whether there is one and
    # its commitment, published from the start (RULES 2.4).
    has_reserve: bool = False
    reserve_commitment: str | None = None
    rules: TenderRules = field(default_factory=TenderRules)

    def criterion(self, key: str) -> Criterion | None:
        return next((c for c in self.criteria if c.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"evaluation": self.evaluation.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TenderTerms:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["evaluation"] = Evaluation(values["evaluation"])
        values["criteria"] = tuple(Criterion(**c) for c in values.get("criteria", ()))
        values["rules"] = TenderRules.from_dict(values.get("rules", {}))
        return cls(**values)


def check_terms(terms: TenderTerms) -> None:
    """`Rejected(INVALID_TERMS)` naming the field, unless the terms are whole and coherent."""

    def bad(name: str, detail: str) -> Rejected:
        return Rejected(Code.INVALID_TERMS, detail, field=name)

    for name in ("tender_id", "plan_id", "parcel_ref"):
        value = getattr(terms, name)
        if not isinstance(value, str) or not value.strip():
            raise bad(name, f"{name} 必填 / {name} is required")
    for name in ("start_price", "deposit"):
        if not is_valid_amount(getattr(terms, name)):
            raise bad(name, f"{name} 须为正整数（分） / {name} must be a positive whole number of fen")
    times = ("registration_closes_at", "bids_open_at", "bid_deadline", "opening_at")
    if any(type(getattr(terms, name)) is not int for name in times):
        raise bad("bid_deadline", "times are integer µs")
    if terms.bid_deadline <= terms.bids_open_at:
        raise bad("bid_deadline", "投标截止时间须晚于投标开始时间 / the bid deadline must come after bids open")
    if terms.opening_at < terms.bid_deadline:
        raise bad("opening_at", "开标时间早于投标截止时间：须不早于截止时间 / the opening is before the bid deadline; it must be at or after it")
    if terms.registration_closes_at > terms.bid_deadline:
        raise bad("registration_closes_at", "报名截止时间晚于投标截止时间 / registration must close by the bid deadline")
    if not isinstance(terms.evaluation, Evaluation):
        raise bad("evaluation", "评标方法须为价高者得或综合评分 / evaluation: HIGHEST_PRICE or SCORING")
    if terms.has_reserve != (terms.reserve_commitment is not None):
        raise bad("reserve_commitment", "a reserve has a commitment, and only a reserve")
    if terms.evaluation is Evaluation.HIGHEST_PRICE:
        if terms.criteria or terms.price_weight:
            raise bad("criteria", "价高者得不设评分因素 / a highest-price tender has no scored criteria")
        return
    _check_criteria(terms, bad)


def _check_criteria(terms: TenderTerms, bad: Any) -> None:
    if not terms.criteria:
        raise bad("criteria", "综合评分须列出评分因素 / a scoring tender names its criteria")
    keys = [c.key for c in terms.criteria]
    if len(set(keys)) != len(keys) or "price" in keys:
        raise bad("criteria", "评分因素代码须各不相同，且不得为 price / criterion keys are unique (and 'price' is the price's own)")
    for c in terms.criteria:
        if not isinstance(c.key, str) or not CRITERION_KEY.fullmatch(c.key):
            raise bad("criteria", "评分因素代码为 1-32 个小写字母、数字或下划线 / a criterion key is 1-32 lowercase letters, digits or _")
        if not isinstance(c.name, str) or not c.name.strip():
            raise bad("criteria", f"评分因素 {c.key} 须有名称 / criterion {c.key}: a name is required")
        if type(c.weight) is not int or c.weight <= 0:
            raise bad("criteria", f"评分因素 {c.key} 的权重须为正整数 / criterion {c.key}: a positive whole weight")
    if type(terms.price_weight) is not int or terms.price_weight < 0:
        raise bad("price_weight", "价格分权重须为不小于 0 的整数 / price_weight is a whole number from 0")
    total = terms.price_weight + sum(c.weight for c in terms.criteria)
    if total != TOTAL_WEIGHT:
        raise bad("criteria", f"各项权重合计 {total}，须为 {TOTAL_WEIGHT} / the weights add up to {total}, not {TOTAL_WEIGHT}")
