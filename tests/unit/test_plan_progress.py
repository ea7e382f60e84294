"""A plan's `progress` (auction/domain/plan/progress.py): its status until the session opens,
then the session's, the outcome, the published result and the contract's Q42 row."""

from __future__ import annotations

import pytest

from auction.domain.plan.progress import SaleFacts, sale_progress


@pytest.mark.parametrize(("status", "facts", "progress"), [
    ("ANNOUNCED", SaleFacts(), "ANNOUNCED"),
    ("RESERVE_SEALED", SaleFacts(phase="SCHEDULED"), "RESERVE_SEALED"),
    ("RESERVE_SEALED", SaleFacts(phase="AUCTION"), "SESSION_OPEN"),
    ("RESERVE_SEALED", SaleFacts(phase="SUSPENDED"), "SESSION_OPEN"),
    ("ANNOUNCED", SaleFacts(phase="HELD"), "SESSION_HELD"),
    ("RESERVE_SEALED", SaleFacts(phase="CLOSED"), "CLOSED"),  # the close not booked yet
    ("RESERVE_SEALED", SaleFacts(phase="CLOSED", outcome="SOLD", contract="PENDING"), "SOLD"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "SOLD", result_published=True, contract="OVERDUE"), "RESULT_PUBLISHED"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "SOLD", result_published=True, contract="DONE"), "RESULT_PUBLISHED"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "SOLD", result_published=False, contract="DONE"), "CONTRACT_SIGNED"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "SOLD", result_published=True, contract="DEFAULTED"),
     "CONTRACT_DEFAULTED"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "UNSOLD"), "UNSOLD"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "UNSOLD", result_published=True), "UNSOLD_PUBLISHED"),
    ("ANNOUNCED", SaleFacts(phase="TERMINATED"), "TERMINATED"),
    ("ANNOUNCED", SaleFacts("TERMINATED", "TERMINATED", result_published=True), "TERMINATED_PUBLISHED"),
    ("WITHDRAWN", SaleFacts("TERMINATED", "TERMINATED"), "WITHDRAWN"),
    # A tender: opened and under evaluation, then ended with its outcome booked (an award is SOLD)
    ("RESERVE_SEALED", SaleFacts(phase="OPENED"), "SESSION_OPEN"),
    ("RESERVE_SEALED", SaleFacts("CLOSED", "SOLD", contract="DONE"), "CONTRACT_SIGNED"),
])
def test_progress_follows_the_sale_past_the_plans_own_status(status: str, facts: SaleFacts, progress: str) -> None:
    assert sale_progress(status, facts) == progress
