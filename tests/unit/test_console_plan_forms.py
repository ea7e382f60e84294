"""The plan forms' pure parts: typed values into commands, refusals onto fields,
and the formats people read (auction/entrypoints/console/plan_forms.py, plan_view.py)."""

from __future__ import annotations

import pytest

from auction.documents.landchina import RESULT, UNSOLD, NoSale
from auction.domain.bidding.session import Phase
from auction.domain.bidding.terms import DAY, HOUR, SECOND
from auction.domain.codes import Code, Rejected
from auction.domain.plan.parcels import READINESS_LABELS
from auction.domain.plan.plan_events import PlanDrafted
from auction.domain.plan.plan_terms import PlanMethod, PlanRules
from auction.domain.plan.plans import replay
from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console.plan_view import NO_SALE_TITLES, SessionEnd, day, duration, next_step, wan, when

from .plan_helpers import START, announced, sealed

DRAFT = {
    "plan_id": "GD-1", "method": "LISTING", "start_price_wan": "1234.5678", "increment_wan": "5",
    "deposit_wan": "246.91356", "parcel_no": "QJ-1", "location": "曲靖", "area_m2": "12345.67", "land_use": "0701",
    "term_years": "70", "plot_ratio_min": "", "plot_ratio_max": "2.5", "benchmark_yuan_per_m2": "800.5",
    "conditions_category": "NONE", "building_density_pct": "30.5", "height_limit_m": "80",
    **{f"readiness_{n}": "yes" for n in READINESS_LABELS},
}


class TestDraftForm:
    def test_typed_units_become_the_commands_units(self) -> None:
        command = forms.draft_command(DRAFT, "op")
        parcel = command.parcels[0]
        assert (command.start_price, command.deposit, command.method) == (1_234_567_800, 246_913_560, PlanMethod.LISTING)
        assert (parcel.area_m2_hundredths, parcel.benchmark_fen_per_m2) == (1_234_567, 80_050)
        assert (parcel.plot_ratio_min, parcel.plot_ratio_max) == (None, 250)
        assert (parcel.planning.building_density_max_bp, parcel.planning.height_limit_cm) == (3050, 8000)
        assert parcel.readiness.ready

    @pytest.mark.parametrize(("name", "value"), [("area_m2", "12.345"), ("term_years", "-1"), ("land_use", "9999"),
                                                 ("start_price_wan", "一千"), ("plan_id", "新")])
    def test_what_cannot_be_read_is_refused_on_its_field(self, name: str, value: str) -> None:
        with pytest.raises(Rejected) as refused:
            forms.draft_command({**DRAFT, name: value}, "op")
        assert forms.field_of(forms.DRAFT, refused.value.rejection) == name

    def test_an_unticked_fact_is_false(self) -> None:
        command = forms.draft_command({**DRAFT, "readiness_title_clear": ""}, "op")
        assert command.parcels[0].readiness.missing() == ("title_clear",)


class TestPricesPerFloorArea:
    """元/建筑平方米 typed in the draft form: the engine derives the 万元 totals exactly (docs/rules.md,
    the plan's prices)."""

    FLOOR = {**DRAFT, "start_price_wan": "", "increment_wan": "", "start_yuan_per_floor_m2": "5500",
             "increment_yuan_per_floor_m2": "5", "floor_area_m2": "30000", "deposit_wan": "3300"}

    def test_a_unit_price_alone_leaves_the_total_to_the_engine(self) -> None:
        command = forms.draft_command(self.FLOOR, "op")
        assert (command.start_price, command.start_fen_per_floor_m2) == (0, 550_000)
        assert (command.increment, command.increment_fen_per_floor_m2) == (0, 500)
        assert command.parcels[0].floor_area_m2_hundredths == 3_000_000  # (the engine derives: test_floor_price.py)

    def test_a_total_typed_beside_the_unit_price_is_kept_for_the_engine_to_compare(self) -> None:
        command = forms.draft_command({**self.FLOOR, "start_price_wan": "16500"}, "op")
        assert (command.start_price, command.start_fen_per_floor_m2) == (16_500_000_000, 550_000)

    def test_without_a_unit_price_the_total_is_required(self) -> None:
        with pytest.raises(Rejected) as refused:
            forms.draft_command({**self.FLOOR, "start_yuan_per_floor_m2": ""}, "op")
        assert forms.field_of(forms.DRAFT, refused.value.rejection) == "start_price_wan"

    def test_the_engines_refusals_land_on_the_unit_fields(self) -> None:
        for name, field in (("start_fen_per_floor_m2", "start_yuan_per_floor_m2"),
                            ("floor_area_m2_hundredths", "floor_area_m2")):
            rejection = Rejected(Code.FLOOR_AREA_UNKNOWN, field=name).rejection
            assert forms.field_of(forms.DRAFT, rejection) == field

    def test_the_edit_form_keeps_the_unit_prices_and_the_floor_area(self) -> None:
        command = forms.draft_command(self.FLOOR, "op")
        drafted = PlanDrafted(at=0, by="op", plan_id="GD-1", parcel=command.parcels[0], method=command.method,
                              start_price=16_500_000_000, increment=15_000_000, deposit=command.deposit,
                              bidder_conditions="", rules=PlanRules(), start_fen_per_floor_m2=550_000,
                              increment_fen_per_floor_m2=500)
        values = forms.draft_values(drafted)
        assert (values["start_yuan_per_floor_m2"], values["increment_yuan_per_floor_m2"], values["floor_area_m2"]) == (
            "5500.00", "5.00", "30000.00")
        edit = forms.edit_command(values, "op")
        assert (edit.start_price, edit.start_fen_per_floor_m2, edit.parcels) == (
            16_500_000_000, 550_000, command.parcels)


class TestEditForm:
    def test_the_edit_form_is_drawn_with_what_the_plan_holds(self) -> None:
        command = forms.draft_command({**DRAFT, "bidder_conditions": "", "planning_notes": "退让10米"}, "op")
        drafted = PlanDrafted(at=0, by="op", plan_id="GD-1", parcel=command.parcels[0], method=command.method,
                              start_price=command.start_price, increment=command.increment, deposit=command.deposit,
                              bidder_conditions="", rules=PlanRules())
        values = forms.draft_values(drafted)
        assert (values["start_price_wan"], values["area_m2"], values["building_density_pct"]) == (
            "1234.5678", "12345.67", "30.50")
        assert values["plot_ratio_min"] == "" and values["readiness_title_clear"] == "yes"
        edit = forms.edit_command(values, "op-2")
        assert (edit.parcels, edit.method, edit.start_price, edit.increment, edit.deposit) == (
            command.parcels, command.method, command.start_price, command.increment, command.deposit)
        assert forms.defaults(forms.EDIT, replay([drafted]), 0) == values

    def test_a_refusal_lands_on_the_edit_forms_field(self) -> None:
        with pytest.raises(Rejected) as refused:
            forms.edit_command({**DRAFT, "area_m2": "1.234"}, "op")
        assert forms.field_of(forms.EDIT, refused.value.rejection) == "area_m2"
        assert "plan_id" not in forms.EDIT.fields


class TestRefusalsOnFields:
    def test_codes_and_details_point_at_fields(self) -> None:
        def field(code: Code, step: forms.Step = forms.DRAFT, **details: object) -> str | None:
            return forms.field_of(step, Rejected(code, **details).rejection)

        assert field(Code.Q31_DEPOSIT_BELOW_20_PERCENT) == "deposit_wan"
        assert field(Code.INVALID_PARCEL, field="area_m2_hundredths") == "area_m2"
        assert field(Code.Q23_MORE_THAN_ONE_PARCEL) is None  # no field: the top
        assert field(Code.Q29_CHANNELS_MISSING, forms.ANNOUNCE) == "channels"
        assert field(Code.INVALID_TERMS, forms.ANNOUNCE, field="schedule") == "start_at"
        assert field(Code.INVALID_FIELD, forms.APPROVAL, field="nonsense") is None

    def test_articles(self) -> None:
        assert forms.article(Code.Q31_DEPOSIT_BELOW_20_PERCENT) == "Q31"
        assert forms.article(Code.N18_LISTING_PERIOD_TOO_SHORT) == "N Art.18"
        assert forms.article(Code.PLAN_WRONG_STATUS) is None


class TestFormats:
    def test_wan_is_exact_and_grouped(self) -> None:
        assert wan(12_345_678_000) == "12,345.678 万元"
        assert wan(1_000_000) == "1 万元" and wan(1) == "0.000001 万元" and wan(None) == "—"

    def test_dates_and_times_in_cst(self) -> None:
        at = 1_796_532_000 * SECOND + 123_456  # 2026-12-06 04:40:00.123456 UTC
        assert day(at) == "2026年12月06日" and when(at) == "2026年12月06日 12:40:00"

    def test_durations(self) -> None:
        assert duration(20 * DAY) == "20 日 / days" and duration(HOUR) == "1 小时 / hours"
        assert duration(86 * SECOND) == "86 秒 / seconds"


class TestNextStep:
    """The plan page's next step (plan_view.next_step): it follows the session once it has ended,
    and a limit already passed is never shown as the next one."""

    SID = "S-GD-2026-007"

    def test_before_the_start_the_start_is_the_limit(self) -> None:
        step = next_step(sealed().state, self.SID, START - HOUR)
        assert step is not None and step.deadline == START and "Bidding starts" in step.title

    def test_after_the_start_no_past_limit_is_shown(self) -> None:
        for now in (START, START + DAY):
            step = next_step(sealed().state, self.SID, now)
            assert step is not None and step.deadline is None and "Bidding under way" in step.title
            assert step.link == f"/console/sessions/{self.SID}"

    def test_a_sale_leads_to_the_result_form_then_the_close_page(self) -> None:
        state = sealed().state
        step = next_step(state, self.SID, START + DAY, SessionEnd(Phase.CLOSED, RESULT, False))
        assert step is not None and step.deadline is None and step.opens is None
        assert step.page == f"/console/sessions/{self.SID}/result" and "Q42" in step.rule
        assert step.link == f"/console/sessions/{self.SID}" and "Sold" in step.title
        done = next_step(state, self.SID, START + DAY, SessionEnd(Phase.CLOSED, RESULT, True))
        assert done is not None and done.page == f"/console/sessions/{self.SID}/close" and done.deadline is None

    @pytest.mark.parametrize(("phase", "outcome", "title"), [
        (Phase.CLOSED, "流拍", "未成交（流拍）"), (Phase.TERMINATED, "终止", "交易已终止"),
        (Phase.CLOSED, "成交取消", "成交已取消（第四十二条）"),
    ])
    def test_no_sale_leads_to_the_no_sale_notice(self, phase: Phase, outcome: str, title: str) -> None:
        no_sale = NoSale(self.SID, START + HOUR, outcome, "无人报价，流拍")
        step = next_step(sealed().state, self.SID, START + DAY, SessionEnd(phase, UNSOLD, False, no_sale))
        assert step is not None and step.title.startswith(title) and "结果公示（未成交）" in step.title
        assert "无人报价，流拍" in step.rule and step.page == f"/console/sessions/{self.SID}/result"
        assert step.deadline is None
        done = next_step(sealed().state, self.SID, START + DAY, SessionEnd(phase, UNSOLD, True, no_sale))
        assert done is not None and done.title == NO_SALE_TITLES[outcome] and "已发布" in done.rule
        assert done.page == f"/console/sessions/{self.SID}/close"

    def test_a_held_close_sends_to_the_close_page(self) -> None:
        step = next_step(sealed().state, self.SID, START + DAY, SessionEnd(Phase.HELD, None, False))
        assert step is not None and step.page == f"/console/sessions/{self.SID}/close" and step.deadline is None

    def test_an_announced_plan_past_its_limits_shows_none_as_next(self) -> None:
        state = announced().state
        assert next_step(state, None, START - DAY) is not None  # create the session: before registration closes
        for session_id in (None, self.SID):
            step = next_step(state, session_id, START + HOUR)
            assert step is not None and (step.deadline is None or step.deadline > START + HOUR)
