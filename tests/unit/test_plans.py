"""The supply plan engine, rule by rule (Q22-Q31, RULES 1-3).

Every refusal is checked to leave the state exactly as it was (`rejection`),
and every accepted step to replay from the log to the live state (`PlanRecorder`).
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest

from auction.domain.china import china_date
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import Close, CreateSession, RevealedReserve
from auction.domain.plan.parcels import READINESS_LABELS, ConditionsCategory, Readiness
from auction.domain.plan.plan_commands import (
    Announce,
    ChangeAnnouncement,
    PlanCommand,
    RecordAppraisal,
    WithdrawPlan,
)
from auction.domain.plan.plan_events import (
    PLAN_EVENT_TYPES,
    CommitteeMeetingRecorded,
    PlanDraftEdited,
    PlanEvent,
    ReserveDecided,
    event_from_dict,
    event_to_dict,
    plan_event_type,
)
from auction.domain.plan.plan_terms import Channel, PlanMethod, PlanRules
from auction.domain.plan.plans import (
    PlanState,
    PlanStatus,
    committee_passes,
    decide,
    decision_record,
    replay,
    session_inputs,
    session_terms,
)
from auction.domain.bidding.session import SessionState, reserve_commitment
from auction.domain.bidding.session import decide as session_decide
from auction.domain.bidding.session import evolve as session_evolve
from auction.domain.bidding.terms import Method

from .plan_helpers import (
    APPRAISAL_RECORDED_AT,
    AREA,
    APPROVED_AT,
    BENCHMARK_TOTAL,
    COMMITMENT,
    DAY,
    DECIDED_AT,
    DEPOSIT,
    FLOOR_PRICE,
    HOUR,
    INCREMENT,
    LISTING_END,
    MEETING_AT,
    MINUTE,
    PUB,
    RESERVE,
    SALT,
    SECOND,
    START,
    START_PRICE,
    T0,
    WAN,
    PlanRecorder,
    announced,
    announcement,
    appraisal,
    approval,
    approved,
    auction_schedule,
    draft,
    drafted,
    edit,
    listing_schedule,
    meeting,
    parcel,
    rejection,
    reserve,
    sealed,
)

BEFORE_START = START - 20 * MINUTE  # when the reserve decisions below are recorded


def announce(method: PlanMethod, **overrides: Any) -> Announce:
    schedule = listing_schedule() if method is PlanMethod.LISTING else auction_schedule()
    return Announce(by="op-li", announcement=announcement(schedule, **overrides))


# ---------------------------------------------------------------------------


class TestLifecycle:
    def test_the_statuses_in_order(self) -> None:
        plan = PlanRecorder()
        seen = [plan.state.status]
        steps: list[tuple[PlanCommand, int]] = [
            (draft(), T0),
            (meeting(), MEETING_AT + HOUR),
            (approval(), APPROVED_AT + HOUR),
            (RecordAppraisal(by="op-wang", appraisal=appraisal()), APPRAISAL_RECORDED_AT),
            (announce(PlanMethod.LISTING), PUB),
            (reserve(), BEFORE_START),
        ]
        for cmd, now in steps:
            plan.do(cmd, now)
            seen.append(plan.state.status)
        assert seen == [
            PlanStatus.NEW,
            PlanStatus.DRAFT,
            PlanStatus.COMMITTEE_PASSED,
            PlanStatus.APPROVED,
            PlanStatus.APPROVED,  # an appraisal is not a step of its own
            PlanStatus.ANNOUNCED,
            PlanStatus.RESERVE_SEALED,
        ]
        assert plan.state.version == len(plan.log) == 6
        assert replay(plan.log) == plan.state

    def test_every_event_says_who_and_when(self) -> None:
        plan = sealed()
        for event in plan.log:
            assert isinstance(event.by, str) and event.by
            assert isinstance(event.at, int)
        assert [e.at for e in plan.log] == sorted(e.at for e in plan.log)

    def test_a_command_without_who_is_refused(self) -> None:
        rej = rejection(PlanState(), draft(by=" "), T0)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "by")

    def test_unknown_plan(self) -> None:
        assert rejection(PlanState(), meeting(), T0).code is Code.NOT_FOUND

    def test_a_plan_is_drafted_once(self) -> None:
        assert drafted().reject(draft(), T0 + HOUR).code is Code.PLAN_EXISTS

    def test_withdrawn_plan_takes_no_further_step(self) -> None:
        plan = announced()
        assert plan.reject(WithdrawPlan(by="op-li", reason=" "), PUB + DAY).code is Code.REASON_REQUIRED
        plan.do(WithdrawPlan(by="op-li", reason="规划调整"), PUB + DAY)
        assert plan.state.status is PlanStatus.WITHDRAWN
        for cmd in (reserve(), WithdrawPlan(by="op-li", reason="again"), RecordAppraisal(by="x", appraisal=appraisal(appraisal_id="AP-2"))):
            rej = plan.reject(cmd, BEFORE_START)
            assert (rej.code, rej.details["status"]) == (Code.PLAN_WRONG_STATUS, "WITHDRAWN")
        with pytest.raises(Rejected) as info:
            session_inputs(plan.state)
        assert info.value.code is Code.PLAN_WRONG_STATUS

    def test_announcing_twice_is_a_change_instead(self) -> None:
        plan = announced()
        assert plan.reject(announce(PlanMethod.LISTING), PUB + DAY).code is Code.PLAN_WRONG_STATUS


class TestQ23OneParcelAndReadiness:
    def test_two_parcels_are_refused(self) -> None:
        two = (parcel(), parcel(parcel_no="QJ-2026-08"))
        rej = rejection(PlanState(), draft(parcels=two), T0)
        assert (rej.code, rej.details["count"]) == (Code.Q23_MORE_THAN_ONE_PARCEL, 2)

    def test_no_parcel_is_refused(self) -> None:
        rej = rejection(PlanState(), draft(parcels=()), T0)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "parcels")

    def test_one_ready_parcel_is_drafted(self) -> None:
        plan = drafted()
        assert plan.state.parcel == parcel()
        assert plan.state.plan_id == "GD-2026-007"

    @pytest.mark.parametrize("name", list(READINESS_LABELS))
    def test_each_missing_fact_is_named(self, name: str) -> None:
        p = parcel(readiness=replace(Readiness.all_true(), **{name: False}))
        rej = rejection(PlanState(), draft(parcels=(p,)), T0)
        assert rej.code is Code.Q23_PARCEL_NOT_READY
        assert rej.details["missing"] == [name]
        assert READINESS_LABELS[name] in rej.message

    def test_all_missing_facts_are_listed(self) -> None:
        p = parcel(readiness=Readiness(title_clear=True, no_legal_dispute=True))
        rej = rejection(PlanState(), draft(parcels=(p,)), T0)
        assert rej.details["missing"] == [
            "compensation_settled",
            "old_certificate_cancelled",
            "planning_conditions_set",
            "development_ready",
        ]

    def test_an_invalid_parcel_is_refused(self) -> None:
        rej = rejection(PlanState(), draft(parcels=(parcel(land_use="0000"),)), T0)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_PARCEL, "land_use")


class TestQ31Deposit:
    def test_exactly_20_percent_passes(self) -> None:
        assert drafted(deposit=START_PRICE // 5).state.status is PlanStatus.DRAFT

    def test_one_fen_less_is_refused(self) -> None:
        rej = rejection(PlanState(), draft(deposit=START_PRICE // 5 - 1), T0)
        assert (rej.code, rej.details["minimum_deposit"]) == (Code.Q31_DEPOSIT_BELOW_20_PERCENT, START_PRICE // 5)

    def test_the_floor_rounds_up_to_a_whole_fen(self) -> None:
        start = 1_000_000_003  # 20% = 200,000,000.6 fen
        assert rejection(PlanState(), draft(start_price=start, deposit=200_000_000), T0).code is (
            Code.Q31_DEPOSIT_BELOW_20_PERCENT
        )
        drafted(start_price=start, deposit=200_000_001)

    @pytest.mark.parametrize("name", ["start_price", "increment", "deposit"])
    @pytest.mark.parametrize("value", [0, -1, 1.5, "100", True])
    def test_amounts_are_positive_whole_fen(self, name: str, value: object) -> None:
        rej = rejection(PlanState(), draft(**{name: value}), T0)  # type: ignore[arg-type]
        assert (rej.code, rej.details["field"]) == (Code.INVALID_TERMS, name)


class TestQ24BidderConditions:
    CONDITIONS = "竞买人须为从事新能源电池制造的企业"

    def test_residential_land_with_conditions_is_refused(self) -> None:
        rej = rejection(PlanState(), draft(bidder_conditions=self.CONDITIONS), T0)
        assert rej.code is Code.Q24_CONDITIONS_NOT_ALLOWED
        assert rej.details == {"land_use": "0701", "conditions_category": "NONE"}

    def test_residential_land_without_conditions_passes(self) -> None:
        drafted(bidder_conditions="  ")  # blank is no condition

    def test_commercial_land_not_declared_a_complex_is_refused(self) -> None:
        p = parcel(land_use="0501", term_years=40)
        rej = rejection(PlanState(), draft(parcels=(p,), bidder_conditions=self.CONDITIONS), T0)
        assert rej.code is Code.Q24_CONDITIONS_NOT_ALLOWED

    @pytest.mark.parametrize(
        ("category", "code", "term"),
        [
            (ConditionsCategory.INDUSTRIAL, "0601", 50),
            (ConditionsCategory.COMMERCIAL_COMPLEX, "0501", 40),
            (ConditionsCategory.HIGH_END_HOTEL, "0504", 40),
            (ConditionsCategory.HIGH_END_OFFICE, "0505", 40),
        ],
    )
    def test_the_four_kinds_may_set_conditions(self, category: ConditionsCategory, code: str, term: int) -> None:
        p = parcel(land_use=code, term_years=term, conditions_category=category)
        plan = drafted(parcels=(p,), bidder_conditions=self.CONDITIONS)
        assert plan.state.draft is not None and plan.state.draft.bidder_conditions == self.CONDITIONS

    def test_a_category_that_does_not_fit_the_use_is_refused(self) -> None:
        p = parcel(conditions_category=ConditionsCategory.INDUSTRIAL)  # residential land
        rej = rejection(PlanState(), draft(parcels=(p,), bidder_conditions=self.CONDITIONS), T0)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_PARCEL, "conditions_category")


class TestQ22CommitteeApproval:
    @pytest.mark.parametrize(
        ("present", "yes", "passes"),
        [
            (9, 6, True),  # exactly 2/3: 以上 includes the bound
            (9, 5, False),
            (10, 7, True),  # 7/10 = 0.7 >= 0.667
            (10, 6, False),  # 6/10 = 0.6
            (3, 2, True),
            (3, 1, False),
            (12, 8, True),
            (12, 7, False),
            (1, 1, True),
            (1, 0, False),
        ],
    )
    def test_two_thirds_of_the_members_present(self, present: int, yes: int, passes: bool) -> None:
        plan = drafted()
        (event,) = plan.do(meeting(present=present, yes=yes), MEETING_AT + HOUR)
        assert isinstance(event, CommitteeMeetingRecorded)
        assert event.passed is passes
        expected = PlanStatus.COMMITTEE_PASSED if passes else PlanStatus.COMMITTEE_REJECTED
        assert plan.state.status is expected

    def test_the_integer_test_is_the_fraction_two_thirds(self) -> None:
        rules = PlanRules()
        for present in range(1, 61):
            for yes in range(present + 1):
                assert committee_passes(yes, present, rules) is (Fraction(yes, present) >= Fraction(2, 3))

    def test_abstentions_count_as_present_and_not_in_favour(self) -> None:
        plan = drafted()
        (event,) = plan.do(meeting(present=9, yes=5, no=0, abstain=4), MEETING_AT + HOUR)
        assert isinstance(event, CommitteeMeetingRecorded) and not event.passed

    def test_the_tally_must_add_up_to_the_members_present(self) -> None:
        plan = drafted()
        rej = plan.reject(meeting(present=9, yes=6, no=2, abstain=0), MEETING_AT + HOUR)
        assert (rej.code, rej.details) == (Code.Q22_TALLY_MISMATCH, {"present": 9, "ballots": 8})
        assert plan.reject(meeting(present=9, yes=7, no=3), MEETING_AT + HOUR).code is Code.Q22_TALLY_MISMATCH
        assert plan.reject(meeting(present=9, yes=-1, no=10), MEETING_AT + HOUR).code is Code.Q22_TALLY_MISMATCH

    def test_the_chair_states_a_view_last(self) -> None:
        rej = drafted().reject(meeting(chair_spoke_last=False), MEETING_AT + HOUR)
        assert rej.code is Code.Q22_CHAIR_NOT_LAST

    def test_the_chair_is_among_the_members_present(self) -> None:
        rej = drafted().reject(meeting(chair="m99"), MEETING_AT + HOUR)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "chair")

    def test_a_member_is_counted_once(self) -> None:
        cmd = meeting(present=3, yes=3, members_present=("m1", "m2", "m2"))
        assert drafted().reject(cmd, MEETING_AT + HOUR).code is Code.INVALID_FIELD

    def test_no_individual_vote_is_recorded(self) -> None:
        names = {f.name for f in fields(CommitteeMeetingRecorded)}
        assert names == {
            "at", "by", "held_at", "chair", "members_present", "yes", "no", "abstain", "chair_spoke_last", "passed"
        }

    def test_a_rejected_plan_is_neither_approved_nor_announced(self) -> None:
        plan = drafted()
        plan.do(meeting(present=9, yes=5), MEETING_AT + HOUR)
        rej = plan.reject(approval(), APPROVED_AT + HOUR)
        assert (rej.code, rej.details["status"]) == (Code.Q22_NOT_APPROVED, "COMMITTEE_REJECTED")
        assert plan.reject(announce(PlanMethod.LISTING), PUB).code is Code.Q22_NOT_APPROVED

    def test_announcing_needs_the_government_too(self) -> None:
        plan = drafted()
        plan.do(meeting(), MEETING_AT + HOUR)
        rej = plan.reject(announce(PlanMethod.LISTING), PUB)
        assert (rej.code, rej.details["status"]) == (Code.Q22_NOT_APPROVED, "COMMITTEE_PASSED")
        plan.do(approval(), APPROVED_AT + HOUR)
        plan.do(announce(PlanMethod.LISTING), PUB)
        assert plan.state.status is PlanStatus.ANNOUNCED

    def test_a_draft_is_not_approved(self) -> None:
        assert drafted().reject(approval(), APPROVED_AT).code is Code.Q22_NOT_APPROVED
        assert drafted().reject(announce(PlanMethod.LISTING), PUB).code is Code.Q22_NOT_APPROVED

    def test_the_committee_may_meet_again_and_every_meeting_is_kept(self) -> None:
        plan = drafted()
        plan.do(meeting(present=9, yes=5), MEETING_AT + HOUR)
        plan.do(meeting(present=9, yes=7, held_at=MEETING_AT + 2 * HOUR), MEETING_AT + 3 * HOUR)
        assert plan.state.status is PlanStatus.COMMITTEE_PASSED
        assert [m.passed for m in plan.state.meetings] == [False, True]
        assert plan.reject(meeting(held_at=MEETING_AT + 4 * HOUR), MEETING_AT + 5 * HOUR).code is (
            Code.PLAN_WRONG_STATUS
        )

    def test_approval_is_recorded_once(self) -> None:
        assert approved().reject(approval(), APPROVED_AT + 2 * HOUR).code is Code.PLAN_WRONG_STATUS

    def test_approval_needs_approver_and_document(self) -> None:
        plan = drafted()
        plan.do(meeting(), MEETING_AT + HOUR)
        assert plan.reject(approval(document_no=""), APPROVED_AT + HOUR).details["field"] == "document_no"
        assert plan.reject(approval(approver=" "), APPROVED_AT + HOUR).details["field"] == "approver"

    def test_times_in_the_future_are_refused(self) -> None:
        assert drafted().reject(meeting(held_at=MEETING_AT + 1), MEETING_AT).details["field"] == "held_at"
        plan = drafted()
        plan.do(meeting(), MEETING_AT + HOUR)
        assert plan.reject(approval(approved_at=APPROVED_AT + 1), APPROVED_AT).details["field"] == "approved_at"


class TestQ27ProcedureOrder:
    def test_a_meeting_before_the_plan_existed(self) -> None:
        rej = drafted().reject(meeting(held_at=T0 - 1), MEETING_AT)
        assert rej.code is Code.Q27_PROCEDURE_INVERTED

    def test_an_approval_before_the_meeting(self) -> None:
        plan = drafted()
        plan.do(meeting(), MEETING_AT + HOUR)
        assert plan.reject(approval(approved_at=MEETING_AT - 1), APPROVED_AT).code is Code.Q27_PROCEDURE_INVERTED


class TestEditingADraft:
    """A draft is replaced in full while no committee has met (EditDraft, docs/rules.md Q22, Q27(五))."""

    def test_the_edit_replaces_the_parcel_and_terms(self) -> None:
        plan = drafted()
        new_parcel = parcel(parcel_no="QJ-2026-07A", location="曲靖市麒麟区寥廓南路", area_m2_hundredths=AREA + 50)
        events = plan.do(edit(parcels=(new_parcel,), method=PlanMethod.AUCTION, start_price=START_PRICE + WAN,
                              deposit=DEPOSIT + WAN), T0 + HOUR)
        assert isinstance(events[0], PlanDraftEdited) and (events[0].by, events[0].at) == ("op-wang", T0 + HOUR)
        draft_now = plan.state.draft
        assert draft_now is not None
        assert (draft_now.parcel, draft_now.method, draft_now.start_price, draft_now.deposit) == (
            new_parcel, PlanMethod.AUCTION, START_PRICE + WAN, DEPOSIT + WAN)
        # who drafted it, when, the plan id and its rules stay
        assert (draft_now.by, draft_now.at, draft_now.plan_id, draft_now.rules) == ("op-li", T0, "GD-2026-007",
                                                                                     PlanRules())
        assert plan.state.status is PlanStatus.DRAFT and plan.state.drafted_at == T0 + HOUR
        assert plan.state.edits == (events[0],)

    def test_the_edited_facts_reach_the_session(self) -> None:
        plan = drafted()
        plan.do(edit(parcels=(parcel(parcel_no="QJ-2026-99"),), start_price=START_PRICE * 2,
                     deposit=DEPOSIT * 2), T0 + HOUR)
        plan.do(meeting(), MEETING_AT + HOUR)
        plan.do(approval(), APPROVED_AT + HOUR)
        plan.do(announce(PlanMethod.LISTING), PUB)
        inputs = session_inputs(plan.state)
        assert (inputs.parcel_ref, inputs.start_price, inputs.deposit) == ("QJ-2026-99", START_PRICE * 2, DEPOSIT * 2)

    def test_an_edit_is_judged_as_a_draft_is(self) -> None:
        plan = drafted()
        assert plan.reject(edit(deposit=DEPOSIT - 1), T0 + HOUR).code is Code.Q31_DEPOSIT_BELOW_20_PERCENT
        two = (parcel(), parcel(parcel_no="QJ-2026-08"))
        assert plan.reject(edit(parcels=two), T0 + HOUR).code is Code.Q23_MORE_THAN_ONE_PARCEL
        not_ready = parcel(readiness=replace(Readiness.all_true(), development_ready=False))
        assert plan.reject(edit(parcels=(not_ready,)), T0 + HOUR).code is Code.Q23_PARCEL_NOT_READY
        assert plan.reject(edit(bidder_conditions="本地企业"), T0 + HOUR).code is Code.Q24_CONDITIONS_NOT_ALLOWED
        assert plan.reject(edit(increment=0), T0 + HOUR).code is Code.INVALID_TERMS
        assert plan.reject(edit(by=""), T0 + HOUR).details["field"] == "by"

    def test_the_deposit_floor_is_the_plans_own(self) -> None:
        plan = drafted(rules=PlanRules(min_deposit_percent=30), deposit=DEPOSIT * 2)
        rej = plan.reject(edit(deposit=DEPOSIT), T0 + HOUR)  # 20%: enough by default, not for this plan
        assert rej.code is Code.Q31_DEPOSIT_BELOW_20_PERCENT

    def test_only_a_draft_is_edited(self) -> None:
        assert rejection(PlanState(), edit(), T0).code is Code.NOT_FOUND
        rejected = drafted()
        rejected.do(meeting(yes=5), MEETING_AT + HOUR)
        for plan in (rejected, approved(), announced(), sealed()):
            rej = plan.reject(edit(), START - 2 * HOUR)
            assert (rej.code, rej.details["status"]) == (Code.PLAN_WRONG_STATUS, plan.state.status.value)
        withdrawn = drafted()
        withdrawn.do(WithdrawPlan(by="op-li", reason="规划调整"), T0 + HOUR)
        assert withdrawn.reject(edit(), T0 + DAY).details["status"] == "WITHDRAWN"

    def test_the_committee_meets_after_the_last_edit(self) -> None:  # Q27(五)
        plan = drafted()
        plan.do(edit(), MEETING_AT)
        assert plan.reject(meeting(held_at=MEETING_AT - 1), MEETING_AT + HOUR).code is Code.Q27_PROCEDURE_INVERTED
        plan.do(meeting(held_at=MEETING_AT), MEETING_AT + HOUR)

    def test_edits_are_kept_and_replay(self) -> None:
        plan = drafted()
        plan.do(edit(start_price=START_PRICE - WAN), T0 + HOUR)
        plan.do(edit(increment=INCREMENT * 2), T0 + 2 * HOUR)  # each edit is the whole version
        assert plan.state.draft is not None
        assert (plan.state.draft.start_price, plan.state.draft.increment) == (START_PRICE, INCREMENT * 2)
        assert len(plan.state.edits) == 2
        restored = [event_from_dict(plan_event_type(e), json.loads(json.dumps(event_to_dict(e)))) for e in plan.log]
        assert replay(restored) == plan.state


class TestQ29Announcement:
    @pytest.mark.parametrize("method", [PlanMethod.LISTING, PlanMethod.AUCTION])
    def test_exactly_20_days_passes(self, method: PlanMethod) -> None:
        plan = approved(method)
        start = PUB + 20 * DAY
        schedule = listing_schedule(start) if method is PlanMethod.LISTING else auction_schedule(start)
        plan.do(Announce(by="op-li", announcement=announcement(schedule)), PUB)
        assert plan.state.schedule == schedule

    @pytest.mark.parametrize("method", [PlanMethod.LISTING, PlanMethod.AUCTION])
    def test_19_days_23_59_is_refused(self, method: PlanMethod) -> None:
        plan = approved(method)
        start = PUB + 20 * DAY - MINUTE
        schedule = listing_schedule(start) if method is PlanMethod.LISTING else auction_schedule(start)
        rej = plan.reject(Announce(by="op-li", announcement=announcement(schedule)), PUB)
        assert rej.code is Code.Q29_ANNOUNCEMENT_TOO_SHORT
        assert rej.details["earliest_start_at"] == PUB + 20 * DAY

    def test_one_microsecond_short_is_refused(self) -> None:
        schedule = listing_schedule(PUB + 20 * DAY - 1)
        assert approved().reject(Announce(by="op-li", announcement=announcement(schedule)), PUB).code is (
            Code.Q29_ANNOUNCEMENT_TOO_SHORT
        )

    def test_a_backdated_publication_gains_no_days(self) -> None:
        schedule = listing_schedule(PUB + 20 * DAY)
        cmd = Announce(by="op-li", announcement=announcement(schedule, published_at=PUB - DAY))
        plan = approved()
        assert plan.reject(cmd, PUB + 1).code is Code.Q29_ANNOUNCEMENT_TOO_SHORT
        plan.do(cmd, PUB)
        assert plan.state.announced is not None and plan.state.announced.effective_published_at == PUB

    @pytest.mark.parametrize("channel", list(Channel))
    def test_every_channel_of_the_article(self, channel: Channel) -> None:
        cmd = Announce(
            by="op-li", announcement=announcement(listing_schedule(), channels=frozenset(Channel) - {channel})
        )
        rej = approved().reject(cmd, PUB)
        assert (rej.code, rej.details["missing"]) == (Code.Q29_CHANNELS_MISSING, [channel.value])

    @pytest.mark.parametrize("name", ["announcement_no", "seller", "place_and_method", "application", "contacts"])
    def test_the_contents_of_rules_3_2(self, name: str) -> None:
        cmd = Announce(by="op-li", announcement=announcement(listing_schedule(), **{name: ""}))  # type: ignore[arg-type]
        rej = approved().reject(cmd, PUB)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, name)

    def test_a_listing_lasts_at_least_10_days(self) -> None:
        plan = approved()
        short = listing_schedule(listing_end_at=START + 10 * DAY - 1, registration_closes_at=START, deposit_deadline=START - HOUR)
        rej = plan.reject(Announce(by="op-li", announcement=announcement(short)), PUB)
        assert rej.code is Code.N18_LISTING_PERIOD_TOO_SHORT
        plan.do(Announce(by="op-li", announcement=announcement(listing_schedule())), PUB)
        assert plan.state.schedule is not None and plan.state.schedule.listing_end_at == LISTING_END

    def test_a_listing_needs_its_end_and_an_auction_has_none(self) -> None:
        no_end = listing_schedule(listing_end_at=None)
        assert approved().reject(Announce(by="op-li", announcement=announcement(no_end)), PUB).details["field"] == (
            "listing_end_at"
        )
        with_end = auction_schedule(listing_end_at=START + 10 * DAY)
        rej = approved(PlanMethod.AUCTION).reject(Announce(by="op-li", announcement=announcement(with_end)), PUB)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_TERMS, "listing_end_at")

    def test_registration_closes_two_days_before_the_listing_ends(self) -> None:
        late = listing_schedule(registration_closes_at=LISTING_END - 2 * DAY + 1)
        rej = approved().reject(Announce(by="op-li", announcement=announcement(late)), PUB)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_TERMS, "registration_closes_at")

    def test_an_auctions_registration_closes_by_the_start(self) -> None:
        approved(PlanMethod.AUCTION).do(
            Announce(by="op-li", announcement=announcement(auction_schedule(registration_closes_at=START))), PUB
        )
        late = auction_schedule(registration_closes_at=START + 1)
        rej = approved(PlanMethod.AUCTION).reject(Announce(by="op-li", announcement=announcement(late)), PUB)
        assert rej.details["field"] == "registration_closes_at"

    @pytest.mark.parametrize("deadline", [PUB, LISTING_END - 2 * DAY + 1])
    def test_the_deposit_deadline_lies_between_publication_and_registration_close(self, deadline: int) -> None:
        cmd = Announce(by="op-li", announcement=announcement(listing_schedule(deposit_deadline=deadline)))
        assert approved().reject(cmd, PUB).details["field"] == "deposit_deadline"


class TestQ29AnnouncementChanges:
    def change(self, published_at: int, **overrides: Any) -> ChangeAnnouncement:
        values: dict[str, Any] = {
            "by": "op-li",
            "published_at": published_at,
            "reason": "更正规划指标",
            "content": "建筑限高调整为75米",
        }
        values.update(overrides)
        return ChangeAnnouncement(**values)

    def test_an_early_change_keeps_the_schedule(self) -> None:
        plan = announced()
        (event,) = plan.do(self.change(START - 25 * DAY), START - 25 * DAY)
        assert plan.state.schedule == listing_schedule()
        assert event.pushed_back_by == 0  # type: ignore[union-attr]

    def test_a_change_exactly_20_days_before_keeps_the_schedule(self) -> None:
        plan = announced()
        plan.do(self.change(START - 20 * DAY), START - 20 * DAY)
        assert plan.state.schedule == listing_schedule()

    def test_a_late_change_pushes_the_start_back(self) -> None:
        plan = announced()
        changed_at = START - 10 * DAY
        (event,) = plan.do(self.change(changed_at), changed_at)
        schedule = plan.state.schedule
        assert schedule is not None
        assert schedule.start_at == changed_at + 20 * DAY
        assert event.pushed_back_by == 10 * DAY  # type: ignore[union-attr]
        # The listing keeps its length and registration its lead.
        assert schedule == listing_schedule(START + 10 * DAY)
        assert session_inputs(plan.state).start_at == changed_at + 20 * DAY
        assert session_inputs(plan.state).listing_end_at == LISTING_END + 10 * DAY

    def test_a_change_one_minute_late_pushes_by_one_minute(self) -> None:
        plan = announced(PlanMethod.AUCTION)
        changed_at = START - 20 * DAY + MINUTE
        plan.do(self.change(changed_at), changed_at)
        assert plan.state.schedule == auction_schedule(START + MINUTE)

    def test_a_new_schedule_too_close_is_pushed_too(self) -> None:
        plan = announced()
        changed_at = START - 15 * DAY
        requested = listing_schedule(START + 2 * DAY)
        (event,) = plan.do(self.change(changed_at, schedule=requested), changed_at)
        assert event.requested == requested  # type: ignore[union-attr]
        assert plan.state.schedule == listing_schedule(changed_at + 20 * DAY)

    def test_a_new_schedule_is_checked_like_the_first(self) -> None:
        bad = listing_schedule(START + 30 * DAY, listing_end_at=START + 35 * DAY)
        assert announced().reject(self.change(PUB + DAY, schedule=bad), PUB + DAY).code is (
            Code.N18_LISTING_PERIOD_TOO_SHORT
        )

    def test_a_backdated_change_is_counted_from_when_it_is_recorded(self) -> None:
        plan = announced()
        now = START - 10 * DAY
        plan.do(self.change(now - 15 * DAY), now)
        assert plan.state.schedule is not None and plan.state.schedule.start_at == now + 20 * DAY

    def test_a_change_needs_a_reason_and_content(self) -> None:
        assert announced().reject(self.change(PUB + DAY, reason=" "), PUB + DAY).code is Code.REASON_REQUIRED
        assert announced().reject(self.change(PUB + DAY, content=""), PUB + DAY).code is Code.INVALID_FIELD

    def test_only_an_announced_plan_changes(self) -> None:
        assert approved().reject(self.change(PUB), PUB).code is Code.PLAN_WRONG_STATUS
        assert sealed().reject(self.change(START - 10 * MINUTE), START - 10 * MINUTE).code is Code.PLAN_WRONG_STATUS

    def test_a_session_that_could_not_open_is_rescheduled_by_a_change(self) -> None:
        plan = announced()
        late = START + HOUR  # no reserve was sealed in time
        plan.do(self.change(late, reason="底价未按时确定，延期"), late)
        assert plan.state.schedule is not None and plan.state.schedule.start_at == late + 20 * DAY
        new_start = late + 20 * DAY
        plan.do(reserve(decided_at=new_start - 10 * MINUTE), new_start - 5 * MINUTE)
        assert plan.state.status is PlanStatus.RESERVE_SEALED


class TestQ25Appraisal:
    def test_no_appraisal_at_all(self) -> None:
        plan = approved()
        plan.do(announce(PlanMethod.LISTING), PUB)
        rej = plan.reject(reserve(), BEFORE_START)
        assert (rej.code, rej.details["appraisal_id"]) == (Code.Q25_NO_APPRAISAL, "AP-1")

    def test_an_unknown_appraisal(self) -> None:
        assert announced().reject(reserve(appraisal_id="AP-9"), BEFORE_START).code is Code.Q25_NO_APPRAISAL

    @pytest.mark.parametrize("name", ["agency", "qualification_cert", "filing_no", "appraisal_id"])
    def test_a_report_names_its_agency_qualification_and_filing_number(self, name: str) -> None:
        cmd = RecordAppraisal(by="op-wang", appraisal=appraisal(**{name: " "}))
        rej = approved().reject(cmd, APPRAISAL_RECORDED_AT)
        assert (rej.code, rej.details["field"]) == (Code.Q25_APPRAISAL_INCOMPLETE, name)

    def test_a_report_is_recorded_once(self) -> None:
        rej = announced().reject(RecordAppraisal(by="op-wang", appraisal=appraisal()), PUB + DAY)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "appraisal_id")

    def test_a_report_valid_until_before_its_valuation_date(self) -> None:
        bad = appraisal(valuation_date=date(2026, 3, 1), valid_until=date(2026, 2, 28))
        assert approved().reject(RecordAppraisal(by="op-wang", appraisal=bad), APPRAISAL_RECORDED_AT).details[
            "field"
        ] == "valid_until"

    def test_a_new_appraisal_replaces_an_expired_one(self) -> None:
        plan = approved()
        plan.do(RecordAppraisal(by="op-wang", appraisal=appraisal(valid_until=date(2026, 3, 20))), APPRAISAL_RECORDED_AT)
        plan.do(announce(PlanMethod.LISTING), PUB)
        assert plan.reject(reserve(), BEFORE_START).code is Code.Q27_APPRAISAL_EXPIRED
        fresh = appraisal(appraisal_id="AP-2", valuation_date=date(2026, 3, 20))
        plan.do(RecordAppraisal(by="op-wang", appraisal=fresh), PUB + 18 * DAY)
        plan.do(reserve(appraisal_id="AP-2"), BEFORE_START)
        assert plan.state.reserve is not None and plan.state.reserve.appraisal_id == "AP-2"

    def test_no_appraisal_after_the_reserve(self) -> None:
        rej = sealed().reject(RecordAppraisal(by="op-wang", appraisal=appraisal(appraisal_id="AP-2")), START - MINUTE)
        assert rej.code is Code.PLAN_WRONG_STATUS


class TestQ26ReserveWindow:
    def test_at_start_minus_60_minutes_passes(self) -> None:
        plan = announced()
        plan.do(reserve(decided_at=START - 60 * MINUTE), START - 60 * MINUTE)
        assert plan.state.status is PlanStatus.RESERVE_SEALED

    def test_at_start_minus_61_minutes_is_refused(self) -> None:
        rej = announced().reject(reserve(decided_at=START - 61 * MINUTE), START - 61 * MINUTE)
        assert rej.code is Code.Q26_OUTSIDE_RESERVE_WINDOW
        assert rej.details == {"window_opens_at": START - HOUR, "start_at": START}

    def test_one_microsecond_before_the_window_is_refused(self) -> None:
        rej = announced().reject(reserve(decided_at=START - HOUR - 1), START - 30 * MINUTE)
        assert rej.code is Code.Q26_OUTSIDE_RESERVE_WINDOW

    def test_the_last_microsecond_before_the_start_passes(self) -> None:
        announced().do(reserve(decided_at=START - 1), START - 1)

    def test_at_the_start_is_refused(self) -> None:
        assert announced().reject(reserve(decided_at=START), START).code is Code.Q26_OUTSIDE_RESERVE_WINDOW

    def test_recorded_after_the_start_is_refused(self) -> None:
        rej = announced().reject(reserve(decided_at=START - 10 * MINUTE), START)
        assert rej.code is Code.Q26_OUTSIDE_RESERVE_WINDOW

    def test_a_decision_in_the_future(self) -> None:
        rej = announced().reject(reserve(decided_at=START - 10 * MINUTE), START - 20 * MINUTE)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "decided_at")

    def test_the_window_follows_a_pushed_start(self) -> None:
        plan = announced()
        changed_at = START - 10 * DAY
        plan.do(ChangeAnnouncement(by="op-li", published_at=changed_at, reason="r", content="c"), changed_at)
        assert plan.reject(reserve(), BEFORE_START).code is Code.Q26_OUTSIDE_RESERVE_WINDOW

    def test_a_bad_signature_is_refused(self) -> None:
        assert announced().reject(reserve(signatures_ok=False), BEFORE_START).code is Code.Q26_BAD_SIGNATURE

    def test_decided_collectively(self) -> None:
        rej = announced().reject(reserve(members=("m1",)), BEFORE_START)
        assert (rej.code, rej.details["minimum"]) == (Code.Q26_TOO_FEW_MEMBERS, 2)
        assert announced().reject(reserve(members=("m1", "m1")), BEFORE_START).code is Code.INVALID_FIELD

    def test_exactly_the_minimum_of_two_members_passes(self) -> None:
        """Q26 集体确定, at its boundary: two members (the default minimum) are enough."""
        assert PlanRules().reserve_min_members == 2
        plan = announced()
        (event,) = plan.do(reserve(members=("m1", "m2")), BEFORE_START)
        assert isinstance(event, ReserveDecided) and event.members == ("m1", "m2")
        assert plan.state.status is PlanStatus.RESERVE_SEALED

    @pytest.mark.parametrize("minimum", [2, 3, 5])
    def test_the_minimum_is_a_setting_judged_at_its_boundary(self, minimum: int) -> None:
        rules = PlanRules(reserve_min_members=minimum)
        members = tuple(f"m{i}" for i in range(1, minimum + 1))
        rej = announced(rules=rules).reject(reserve(members=members[:-1]), BEFORE_START)  # one fewer
        assert (rej.code, rej.details) == (Code.Q26_TOO_FEW_MEMBERS, {"minimum": minimum})
        plan = announced(rules=rules)
        plan.do(reserve(members=members), BEFORE_START)  # exactly the minimum
        assert plan.state.status is PlanStatus.RESERVE_SEALED

    def test_decided_once(self) -> None:
        assert sealed().reject(reserve(decided_at=START - 5 * MINUTE), START - 4 * MINUTE).code is (
            Code.PLAN_WRONG_STATUS
        )

    def test_only_for_an_announced_plan(self) -> None:
        plan = approved()
        plan.do(RecordAppraisal(by="op-wang", appraisal=appraisal()), APPRAISAL_RECORDED_AT)
        assert plan.reject(reserve(), BEFORE_START).code is Code.PLAN_WRONG_STATUS

    @pytest.mark.parametrize("commitment", [None, "abc", COMMITMENT.upper(), COMMITMENT + "0"])
    def test_the_commitment_is_64_lowercase_hex(self, commitment: str | None) -> None:
        rej = announced().reject(reserve(commitment=commitment), BEFORE_START)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "commitment")

    def test_the_record_keeps_the_basis_and_the_members(self) -> None:
        plan = sealed()
        decided = plan.state.reserve
        assert decided == ReserveDecided(
            at=BEFORE_START,
            by="m1",
            decided_at=DECIDED_AT,
            members=("m1", "m2", "m3"),
            has_reserve=True,
            commitment=COMMITMENT,
            appraisal_id="AP-1",
            floor_price_fen_per_m2=FLOOR_PRICE,
        )


class TestReserveSecrecy:
    """Q26: the reserve is kept strictly secret until the close; the plan never stores it."""

    def values(self, data: object) -> list[object]:
        if isinstance(data, dict):
            return [v for value in data.values() for v in self.values(value)]
        if isinstance(data, list | tuple):
            return [v for value in data for v in self.values(value)]
        return [data]

    def test_no_event_field_equals_the_amount(self) -> None:
        plan = sealed()
        for event in plan.log:
            data = event_to_dict(event)
            assert RESERVE not in self.values(data), plan_event_type(event)
            assert str(RESERVE) not in json.dumps(data, ensure_ascii=False)

    def test_the_state_does_not_hold_it(self) -> None:
        assert str(RESERVE) not in repr(sealed().state)

    def test_a_logged_command_does_not_show_it(self) -> None:
        cmd = reserve()
        assert str(RESERVE) not in repr(cmd)
        assert str(RESERVE) not in str(cmd)

    @pytest.mark.parametrize(
        "overrides",
        [
            {"decided_at": START - 2 * HOUR},
            {"signatures_ok": False},
            {"members": ("m1",)},
            {"appraisal_id": "AP-9"},
        ],
    )
    def test_refusals_do_not_show_it(self, overrides: dict[str, Any]) -> None:
        rej = announced().reject(reserve(**overrides), BEFORE_START)
        assert str(RESERVE) not in json.dumps(rej.to_dict(), ensure_ascii=False)

    def test_below_benchmark_refusal_shows_only_the_public_minimum(self) -> None:
        low = BENCHMARK_TOTAL - 1
        rej = announced().reject(reserve(amount=low), BEFORE_START)
        assert rej.code is Code.Q27_BELOW_BENCHMARK
        assert rej.details == {"minimum": BENCHMARK_TOTAL}
        assert str(low) not in json.dumps(rej.to_dict())

    def test_the_signed_record_binds_the_commitment_not_the_amount(self) -> None:
        cmd = reserve()
        record = decision_record("GD-2026-007", cmd)
        assert record == decision_record("GD-2026-007", reserve())  # deterministic
        assert str(RESERVE) not in record.decode("utf-8")
        parsed = json.loads(record)
        assert parsed["commitment"] == COMMITMENT
        assert parsed["members"] == list(cmd.members)
        assert decision_record("GD-2026-007", reserve(decided_at=DECIDED_AT + 1)) != record


class TestQ27AppraisalChecks:
    def plan_with(self, start: int = START, **appraisal_overrides: Any) -> PlanRecorder:
        plan = approved()
        plan.do(RecordAppraisal(by="op-wang", appraisal=appraisal(**appraisal_overrides)), APPRAISAL_RECORDED_AT)
        plan.do(Announce(by="op-li", announcement=announcement(listing_schedule(start))), PUB)
        return plan

    def test_valid_through_the_decision_day(self) -> None:
        assert china_date(DECIDED_AT) == date(2026, 3, 26)
        plan = self.plan_with(valid_until=date(2026, 3, 26))
        plan.do(reserve(), BEFORE_START)

    def test_expired_the_day_before(self) -> None:
        rej = self.plan_with(valid_until=date(2026, 3, 25)).reject(reserve(), BEFORE_START)
        assert (rej.code, rej.details["valid_until"]) == (Code.Q27_APPRAISAL_EXPIRED, "2026-03-25")

    def test_the_decision_day_is_the_china_date(self) -> None:
        # Start 00:30 on 27 March in Beijing: the decision is on the 27th there, the 26th in UTC.
        start = int(datetime(2026, 3, 26, 16, 30, tzinfo=UTC).timestamp()) * SECOND
        decided = start - 30 * MINUTE
        assert china_date(decided) == date(2026, 3, 27)
        rej = self.plan_with(start, valid_until=date(2026, 3, 26)).reject(reserve(decided_at=decided), decided)
        assert rej.code is Code.Q27_APPRAISAL_EXPIRED

    def test_valued_on_the_decision_day_passes(self) -> None:
        self.plan_with(valuation_date=date(2026, 3, 26)).do(reserve(), BEFORE_START)

    def test_valued_after_the_decision_day(self) -> None:
        rej = self.plan_with(valuation_date=date(2026, 3, 27)).reject(reserve(), BEFORE_START)
        assert rej.code is Code.Q27_APPRAISAL_AFTER_DECISION

    def test_recorded_after_the_decision(self) -> None:
        plan = approved()
        plan.do(Announce(by="op-li", announcement=announcement(listing_schedule())), PUB)
        plan.do(RecordAppraisal(by="op-wang", appraisal=appraisal()), DECIDED_AT + 1)
        rej = plan.reject(reserve(decided_at=DECIDED_AT), DECIDED_AT + 2)
        assert rej.code is Code.Q27_APPRAISAL_AFTER_DECISION

    def test_exactly_the_benchmark_passes(self) -> None:
        amount = BENCHMARK_TOTAL
        plan = announced()
        plan.do(reserve(amount=amount, commitment=reserve_commitment(amount, SALT)), BEFORE_START)

    def test_one_fen_below_the_benchmark_is_refused(self) -> None:
        assert announced().reject(reserve(amount=BENCHMARK_TOTAL - 1), BEFORE_START).code is Code.Q27_BELOW_BENCHMARK

    @pytest.mark.parametrize("amount", [0, -5, 1.5, True])
    def test_the_amount_is_whole_fen(self, amount: object) -> None:
        assert announced().reject(reserve(amount=amount), BEFORE_START).details["field"] == "amount"  # type: ignore[arg-type]


class TestQ28NoReserveAuction:
    def test_an_auction_without_a_reserve(self) -> None:
        plan = sealed(PlanMethod.AUCTION, amount=None)
        decided = plan.state.reserve
        assert decided is not None
        assert (decided.has_reserve, decided.commitment) == (False, None)
        inputs = session_inputs(plan.state)
        assert (inputs.reserve_required, inputs.reserve_decided, inputs.has_reserve) == (False, True, False)

    @pytest.mark.parametrize("method", [PlanMethod.LISTING, PlanMethod.TENDER])
    def test_listing_and_tender_need_a_reserve(self, method: PlanMethod) -> None:
        rej = announced(method).reject(reserve(amount=None), BEFORE_START)
        assert (rej.code, rej.details["method"]) == (Code.Q28_RESERVE_REQUIRED, method.value)

    def test_no_commitment_without_a_reserve(self) -> None:
        rej = announced(PlanMethod.AUCTION).reject(reserve(amount=None, commitment=COMMITMENT), BEFORE_START)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "commitment")

    def test_the_starting_price_then_must_not_be_below_the_benchmark(self) -> None:
        low_start = BENCHMARK_TOTAL - 1
        plan = announced(PlanMethod.AUCTION, start_price=low_start, deposit=low_start)
        assert plan.reject(reserve(amount=None), BEFORE_START).code is Code.Q27_BELOW_BENCHMARK
        plan.do(reserve(amount=RESERVE), BEFORE_START)  # with a reserve above it, the start may be lower

    def test_an_auction_may_still_have_a_reserve(self) -> None:
        plan = sealed(PlanMethod.AUCTION)
        assert session_inputs(plan.state).has_reserve is True


class TestSessionFromPlan:
    def test_not_before_the_announcement(self) -> None:
        with pytest.raises(Rejected) as info:
            session_inputs(approved().state)
        assert info.value.code is Code.PLAN_WRONG_STATUS

    def test_inputs_of_an_announced_listing(self) -> None:
        inputs = session_inputs(announced().state)
        assert inputs.plan_id == "GD-2026-007"
        assert inputs.parcel_ref == "QJ-2026-07"
        assert inputs.method is PlanMethod.LISTING
        assert (inputs.start_price, inputs.deposit) == (START_PRICE, DEPOSIT)
        assert (inputs.start_at, inputs.listing_end_at) == (START, LISTING_END)
        assert inputs.registration_closes_at == LISTING_END - 2 * DAY
        assert (inputs.reserve_required, inputs.reserve_decided, inputs.has_reserve) == (True, False, None)

    def test_terms_wait_for_the_sealed_reserve(self) -> None:
        with pytest.raises(Rejected) as info:
            session_terms(announced().state, session_id="S-1", countdown=5 * MINUTE)
        assert info.value.code is Code.Q26_RESERVE_NOT_SEALED

    def test_a_tender_is_not_a_session_yet(self) -> None:
        with pytest.raises(Rejected) as info:
            session_terms(sealed(PlanMethod.TENDER).state, session_id="S-1", countdown=5 * MINUTE)
        assert info.value.code is Code.TENDER_NOT_SUPPORTED

    def test_the_session_engine_accepts_the_terms_and_the_commitment_holds_at_close(self) -> None:
        plan = sealed()
        terms = session_terms(plan.state, session_id="S-1", countdown=5 * MINUTE)
        assert terms.method is Method.LISTING
        assert (terms.has_reserve, terms.reserve_commitment) == (True, COMMITMENT)
        assert terms.rules.min_deposit_percent == 20
        state = SessionState()
        for event in session_decide(state, CreateSession(terms), BEFORE_START):
            state = session_evolve(state, event)
        events = session_decide(state, Close(reserve=RevealedReserve(RESERVE, SALT)), LISTING_END + MINUTE)
        assert [type(e).__name__ for e in events][-1] == "SessionClosed"

    def test_a_no_reserve_auction_session(self) -> None:
        terms = session_terms(sealed(PlanMethod.AUCTION, amount=None).state, session_id="S-2", countdown=5 * MINUTE)
        assert (terms.method, terms.has_reserve, terms.reserve_commitment) == (Method.AUCTION, False, None)
        assert session_decide(SessionState(), CreateSession(terms), BEFORE_START)


# ---------------------------------------------------------------------------
# events as data


def scenario_logs() -> list[list[PlanEvent]]:
    """Real plans whose logs together hold every plan event type."""
    listing = sealed()
    rejected_then_passed = drafted(PlanMethod.AUCTION)
    rejected_then_passed.do(meeting(present=10, yes=6), MEETING_AT + HOUR)
    rejected_then_passed.do(meeting(present=10, yes=7, held_at=MEETING_AT + 2 * HOUR), MEETING_AT + 3 * HOUR)
    rejected_then_passed.do(approval(), APPROVED_AT + HOUR)
    rejected_then_passed.do(RecordAppraisal(by="op-wang", appraisal=appraisal()), APPRAISAL_RECORDED_AT)
    rejected_then_passed.do(Announce(by="op-li", announcement=announcement(auction_schedule())), PUB)
    changed_at = START - 5 * DAY
    rejected_then_passed.do(
        ChangeAnnouncement(by="op-li", published_at=changed_at, reason="更正", content="联系电话变更"), changed_at
    )
    new_start = changed_at + 20 * DAY
    rejected_then_passed.do(reserve(None, decided_at=new_start - HOUR), new_start - HOUR)
    withdrawn = drafted(
        parcels=(parcel(land_use="0601", term_years=50, conditions_category=ConditionsCategory.INDUSTRIAL),),
        bidder_conditions="新能源产业",
    )
    industrial = parcel(land_use="0601", term_years=50, conditions_category=ConditionsCategory.INDUSTRIAL)
    withdrawn.do(edit(parcels=(industrial,), bidder_conditions="新能源汽车零部件产业"), T0 + HOUR)
    withdrawn.do(WithdrawPlan(by="op-li", reason="规划调整"), T0 + DAY)
    return [listing.log, rejected_then_passed.log, withdrawn.log]


LOGS = scenario_logs()
ALL_EVENTS = [event for log in LOGS for event in log]


class TestEventsAsData:
    def test_the_scenarios_cover_every_event_type(self) -> None:
        assert {plan_event_type(e) for e in ALL_EVENTS} == set(PLAN_EVENT_TYPES)

    @pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: f"{plan_event_type(e)}@{e.at}")
    def test_round_trip_through_json(self, event: PlanEvent) -> None:
        text = json.dumps({"type": plan_event_type(event), "data": event_to_dict(event)}, ensure_ascii=False)
        back = json.loads(text)
        restored = event_from_dict(back["type"], back["data"])
        assert restored == event
        assert type(restored) is type(event)

    @pytest.mark.parametrize("log", LOGS, ids=["listing-sealed", "auction-rejected-changed-no-reserve", "withdrawn"])
    def test_replay_from_json_equals_the_live_state(self, log: list[PlanEvent]) -> None:
        restored = [event_from_dict(plan_event_type(e), json.loads(json.dumps(event_to_dict(e)))) for e in log]
        assert replay(restored) == replay(log)

    def test_the_rules_in_force_are_kept_in_the_log(self) -> None:
        rules = PlanRules(min_announcement_period=30 * DAY)
        plan = approved(rules=rules)
        rej = plan.reject(announce(PlanMethod.LISTING), PUB)  # 21 days: enough by default, not here
        assert rej.code is Code.Q29_ANNOUNCEMENT_TOO_SHORT
        assert replay(plan.log).rules == rules

    def test_unknown_type(self) -> None:
        with pytest.raises(ValueError, match="unknown plan event type"):
            event_from_dict("PlanSold", {"at": 0})

    def test_extra_fields_are_ignored(self) -> None:
        event = ALL_EVENTS[0]
        assert event_from_dict(plan_event_type(event), event_to_dict(event) | {"added_later": 1}) == event

    def test_decide_is_pure(self) -> None:
        plan = announced()
        before = replay(plan.log)
        first = decide(plan.state, reserve(), BEFORE_START)
        assert decide(plan.state, reserve(), BEFORE_START) == first
        assert plan.state == before


class TestAnnouncementChannelsInput:
    def test_channels_given_as_names_are_normalised(self) -> None:
        names = [c.value for c in Channel]
        plan = approved()
        plan.do(Announce(by="op-li", announcement=announcement(listing_schedule(), channels=names)), PUB)
        assert plan.state.announced is not None
        assert plan.state.announced.announcement.channels == frozenset(Channel)

    def test_an_unknown_channel_is_refused(self) -> None:
        channels = frozenset(Channel) | {"WECHAT"}
        cmd = Announce(by="op-li", announcement=announcement(listing_schedule(), channels=channels))
        rej = approved().reject(cmd, PUB)
        assert (rej.code, rej.details["field"]) == (Code.INVALID_FIELD, "channels")
