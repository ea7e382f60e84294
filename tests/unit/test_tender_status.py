"""The tender's status as people are told (auction/domain/tender/status.py): 投标中 exactly when
the engine takes a sealed bid, and otherwise what holds (RULES 6.1-6.3, Q26); the console
form that creates a tender (plan_forms.tender_body) and the plan's next step that follows it."""

from __future__ import annotations


import pytest

from auction.domain.bidding.terms import HOUR, MINUTE
from auction.domain.codes import Code, Rejected
from auction.domain.plan.plan_terms import PlanMethod
from auction.domain.tender import commands as tc
from auction.domain.tender.status import StatusNow, TenderStatus, tender_status
from auction.domain.tender.tender import TenderState, decide
from auction.entrypoints.api.tenders import tender_request
from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console import plan_view as view
from tests.unit.plan_helpers import announced
from tests.unit.test_tender import ENVELOPE, T0, Tender, terms

S = TenderStatus
TIMES = [T0, T0 + HOUR - 1, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR - 1, T0 + 3 * HOUR, T0 + 4 * HOUR]


def qualified(reserve: bool) -> Tender:
    tender = Tender(terms(has_reserve=reserve, **({} if reserve else {"reserve_commitment": None})))
    tender.do(tc.QualifyTenderBidder(7), T0 + HOUR - MINUTE)
    return tender


def takes_a_bid(state: TenderState, now: int) -> bool:
    try:
        decide(state, tc.SubmitSealedBid(7, "cd" * 32, ENVELOPE), now)
    except Rejected:
        return False
    return True


@pytest.mark.parametrize("reserve", [True, False])
@pytest.mark.parametrize("now", TIMES)
def test_taking_bids_exactly_when_a_bid_is_taken(reserve: bool, now: int) -> None:
    state = qualified(reserve).state
    assert (tender_status(state, now).status is S.TAKING_BIDS) is takes_a_bid(state, now)


def test_the_status_through_a_tender_and_the_time_it_names() -> None:
    sealed, pending = qualified(True).state, qualified(False).state
    bids_open, deadline, opening = T0 + HOUR, T0 + 3 * HOUR, T0 + 3 * HOUR
    assert tender_status(TenderState(), T0) == StatusNow(S.NOT_CREATED)
    assert tender_status(sealed, T0) == StatusNow(S.BIDS_NOT_OPEN, bids_open)
    assert tender_status(pending, T0) == StatusNow(S.RESERVE_PENDING, bids_open)
    assert tender_status(pending, bids_open) == StatusNow(S.NO_RESERVE, deadline)
    assert tender_status(sealed, bids_open) == StatusNow(S.TAKING_BIDS, deadline)
    assert tender_status(sealed, deadline) == StatusNow(S.BIDS_CLOSED, opening)
    tender = qualified(True)
    tender.open()
    assert tender_status(tender.state, opening).status is S.ENDED  # fewer than three: ended at the opening


def test_the_console_form_reads_as_the_apis_body() -> None:
    form = {"evaluation": "SCORING", "bid_deadline": "2026-12-29T10:00", "opening_at": "2026-12-29T10:30:00",
            "price_weight": "40", "criteria": "scheme 开发建设方案 40\n\n  design 规划 设计 20  \n"}
    request = tender_request(forms.tender_body(form))
    assert request.evaluation.value == "SCORING" and request.price_weight == 40 and request.reserve is None
    assert [(c.key, c.name, c.weight) for c in request.criteria] == [("scheme", "开发建设方案", 40),
                                                                     ("design", "规划 设计", 20)]
    assert request.bid_deadline == 1_798_509_600_000_000  # 2026-12-29 10:00 CST = 02:00 UTC
    highest = tender_request(forms.tender_body({**form, "evaluation": "HIGHEST_PRICE", "price_weight": "",
                                                "criteria": ""}))
    assert highest.criteria == () and highest.price_weight == 0
    for bad, field in (({"criteria": "scheme 40"}, "criteria"), ({"criteria": "scheme 方案 四十"}, "criteria"),
                       ({"bid_deadline": ""}, "bid_deadline"), ({"opening_at": "tomorrow"}, "opening_at"),
                       ({"evaluation": "LOWEST"}, "evaluation"), ({"price_weight": "-1"}, "price_weight")):
        with pytest.raises(Rejected) as info:
            tender_request(forms.tender_body({**form, **bad}))
        assert info.value.code is Code.INVALID_FIELD and forms.field_of(forms.TENDER, info.value.rejection) == field


def test_a_tender_plans_timeline_and_next_step_follow_its_tender() -> None:
    plan = announced(PlanMethod.TENDER).state
    first = view.next_step(plan, None, T0)
    assert first is not None and first.form == "tender" and "创建招标" in first.title
    keys = [(s.key, s.form) for s in view.stages(plan, None)]
    assert ("tender", "tender") in keys and "session" not in [k for k, _ in keys]
    created = [(s.key, s.done, s.form) for s in view.stages(plan, None, "T-P-1")]
    assert ("tender", True, None) in created and ("change", False, None) not in created
    pending = view.TenderProgress("T-P-1", qualified(False).state)
    step = view.next_step(plan, None, T0, tender=pending)
    assert step is not None and step.page == f"/console/plans/{plan.plan_id}/reserve"
    assert step.link == "/console/tenders/T-P-1" and step.form is None and "前往招标" in step.link_label
    sealed = view.TenderProgress("T-P-1", qualified(True).state)
    for now, words in ((T0, "开始投标"), (T0 + 2 * HOUR, "投标中"), (T0 + 3 * HOUR, "开标")):
        step = view.next_step(plan, None, now, tender=sealed)
        assert step is not None and words in step.title, (now, step)
    session_plan = announced(PlanMethod.AUCTION).state
    assert [s.key for s in view.stages(session_plan, None)].count("session") == 1


def test_a_suspended_tenders_next_step_is_its_resumption() -> None:
    """RULES 6.7: held for an outage across its deadline, the plan's next step leads to the resume
    form on the tender's page, not past the end."""
    plan = announced(PlanMethod.TENDER).state
    tender = qualified(True)
    tender.do(tc.SuspendTender("SERVER_DOWN_PAST_DEADLINE", recovery=True), T0 + 2 * HOUR)
    step = view.next_step(plan, None, T0 + 4 * HOUR, tender=view.TenderProgress("T-P-1", tender.state))
    assert step is not None and "中止" in step.title and step.link == "/console/tenders/T-P-1#resume", step
