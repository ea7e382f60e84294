"""How far a plan's sale has come (`progress`), from the facts the server already keeps: the
plan's own status, its session's phase and outcome, whether its result (or no-sale result) is
published (Q29, RULES 8.3) and the state of the contract's Q42 row.

The plan engine's `status` stops at `RESERVE_SEALED`: it is what the plan's own steps allow
(`PLAN_WRONG_STATUS` names it), so it keeps that meaning; `progress` goes on where the
session and the legal clock take over. Before the session opens the two are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN = frozenset({"LISTING", "TIMED_BIDDING", "AUCTION", "SUSPENDED", "OPENED"})  # OPENED: a tender under evaluation
# What `sale_progress` answers past the plan's own status (GET /api/plans `progress`)
PROGRESS = ("SESSION_OPEN", "SESSION_HELD", "CLOSED", "SOLD", "UNSOLD", "TERMINATED", "RESULT_PUBLISHED",
            "UNSOLD_PUBLISHED", "TERMINATED_PUBLISHED", "CONTRACT_SIGNED", "CONTRACT_DEFAULTED")


@dataclass(frozen=True)
class SaleFacts:
    """What the store knows about a plan's sale; None where nothing has happened yet."""

    phase: str | None = None  # the session's phase
    outcome: str | None = None  # SOLD, UNSOLD or TERMINATED, once the close is booked
    result_published: bool = False  # RES-{plan}: the result or the no-sale result (结果公示)
    contract: str | None = None  # the CONTRACT_SIGNING row's state (PENDING, OVERDUE, DONE, DEFAULTED, ...)


def sale_progress(status: str, facts: SaleFacts) -> str:
    """The plan's progress code: its `status` until the session opens; then `SESSION_OPEN`,
    `SESSION_HELD`, the outcome (`SOLD`, `UNSOLD`, `TERMINATED`; `CLOSED` while the close is
    being booked); after a sale `CONTRACT_SIGNED` (Q42), then `RESULT_PUBLISHED` (the result
    quotes the recorded signing), or `CONTRACT_DEFAULTED`; after none `UNSOLD_PUBLISHED`,
    `TERMINATED_PUBLISHED`. A withdrawn plan stays `WITHDRAWN`."""
    phase = facts.phase
    if status == "WITHDRAWN":  # its session, if any, was terminated with it
        return status
    if phase in OPEN:
        return "SESSION_OPEN"
    if phase == "HELD":
        return "SESSION_HELD"
    outcome = facts.outcome or ("TERMINATED" if phase == "TERMINATED" else None)
    if outcome is None:
        return "CLOSED" if phase == "CLOSED" else status
    if outcome == "SOLD":  # the result quotes the recorded signing, so it comes after it (Q42, Q29)
        if facts.contract == "DEFAULTED":
            return "CONTRACT_DEFAULTED"
        if facts.result_published:
            return "RESULT_PUBLISHED"
        return "CONTRACT_SIGNED" if facts.contract == "DONE" else outcome
    return f"{outcome}_PUBLISHED" if facts.result_published else outcome
