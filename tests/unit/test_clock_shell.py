"""Small pure parts of the clock's shell: when a row's timer fires next, and the re-offer plan id."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auction.adapters.jobs.deadlines import next_instant
from auction.domain.clock.deadlines import DeadlineState
from auction.services.deadlines import next_plan_id
from auction.settings import bank_secrets
from tests.unit.test_deadlines import contract, cst, publication, rows


def test_the_publication_fires_at_its_warning_then_when_overdue() -> None:
    row = publication()
    assert next_instant(row, None, 0) == cst(2026, 10, 16)
    assert next_instant(row, cst(2026, 10, 16), 0) == cst(2026, 10, 21)  # warned: next, the overdue instant


def test_a_refund_fires_when_overdue_and_done_rows_never() -> None:
    refund = rows()["S1:DEPOSIT_REFUND:1000000000009"]
    assert next_instant(refund, None, 0) == cst(2026, 10, 11)
    assert next_instant(replace(refund, state=DeadlineState.DONE), None, 0) is None
    assert next_instant(replace(refund, state=DeadlineState.OVERDUE), None, 0) is None
    assert next_instant(replace(refund, state=DeadlineState.CALENDAR_MISSING, due_at=None), None, 0) is None


def test_an_overdue_contract_fires_at_once_for_the_default() -> None:
    assert next_instant(replace(contract(), state=DeadlineState.OVERDUE), None, 123) == 123
    assert next_instant(replace(contract(), state=DeadlineState.DEFAULTED), None, 123) is None


def test_the_reoffer_plan_id_names_its_origin() -> None:
    assert next_plan_id("PLAN-7") == "PLAN-7-R1"
    assert next_plan_id("PLAN-7-R1") == "PLAN-7-R2"
    assert next_plan_id("QJ-2026-R") == "QJ-2026-R-R1"


def test_bank_secrets_from_the_environment() -> None:
    assert bank_secrets("") == {}
    assert bank_secrets("ICBC:0123456789abcdef, CCB:fedcba9876543210:x") == {
        "ICBC": "0123456789abcdef", "CCB": "fedcba9876543210:x"}
    for bad in ("ICBC", "ICBC:short", ":0123456789abcdef"):
        with pytest.raises(ValueError):
            bank_secrets(bad)
