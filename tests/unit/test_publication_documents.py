"""The announcement and the result, generated from a plan's records (docs/publication.md)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.money import wan_number as wan
from auction.domain.plan.plan_commands import ChangeAnnouncement
from auction.domain.plan.plan_terms import PlanMethod
from auction.documents.landchina import (
    ANNOUNCEMENT_LABELS,
    CHANGE_LABELS,
    UNSOLD_LABELS,
    NoSale,
    change_document,
    no_sale_reason,
    unsold_document,
    RESULT_LABELS,
    Deal,
    Installment,
    ResultEntry,
    announcement_document,
    result_document,
    to_xml,
)
from tests.unit.plan_helpers import DAY, DEPOSIT, RESERVE, START, START_PRICE, announced, sealed

PRICE = 5_123 * 1_000_000 + 4_567  # fen: 5123.004567 万元
SUPERVISION_NO = "5303022026B00123"


def entry(**overrides: object) -> ResultEntry:
    base = ResultEntry(
        region_code="530302",
        project_name="珠江源大道住宅项目",
        land_source="现有建设用地",
        industry="房地产业",
        land_grade="二级",
        installments=(Installment(1, date(2026, 5, 1), PRICE // 2), Installment(2, date(2026, 8, 1), PRICE - PRICE // 2)),
        delivery_date=date(2026, 6, 1),
        construction_start_date=date(2026, 12, 1),
        completion_date=date(2029, 12, 1),
        contract_date=date(2026, 4, 10),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def deal() -> Deal:
    return Deal(session_id="S-GD-2026-007", closed_at=START + 3600 * 10**6, price_fen=PRICE, holder="曲靖某置业有限公司")


class TestUnits:
    def test_wan_keeps_every_fen(self) -> None:
        assert wan(START_PRICE) == "5000"
        assert wan(PRICE) == "5123.004567"
        assert wan(1) == "0.000001"

    def test_announcement_area_and_prices_exact(self) -> None:
        doc = announcement_document(announced(PlanMethod.LISTING).state, region_code="530300")
        f = doc["fields"]
        assert (f["area_hectares"], f["area_m2"]) == ("2", "20000.00")
        assert (f["start_price_wan"], f["start_price_fen"]) == ("5000", str(START_PRICE))
        assert f["deposit_fen"] == str(DEPOSIT) and f["deposit_wan"] == wan(DEPOSIT)
        assert (f["plot_ratio_min"], f["plot_ratio_max"]) == ("1.00", "2.50")
        assert (f["building_density_max"], f["green_ratio_min"], f["height_limit_m"]) == ("30.00%", "35.00%", "80.00")
        assert f["land_use_code"] == "0701" and f["land_use_name"] == "城镇住宅用地"
        assert f["supply_method"] == "挂牌出让"
        assert f["listing_start_at"].endswith("+08:00") and f["listing_end_at"] and f["auction_start_at"] == ""
        assert f["appraisal_filing_no"]


class TestAnnouncement:
    def test_every_labelled_field_is_present_and_nothing_else(self) -> None:
        doc = announcement_document(announced(PlanMethod.AUCTION).state, region_code="530300")
        assert list(doc["fields"]) == list(ANNOUNCEMENT_LABELS)
        assert doc["document_id"] == "ANN-GD-2026-007" and doc["unified_deal_code"] == "530300-TD-GD-2026-007"
        assert doc["fields"]["auction_start_at"] and doc["fields"]["listing_start_at"] == ""

    def test_never_reveals_the_reserve(self) -> None:
        doc = announcement_document(sealed(PlanMethod.LISTING).state, region_code="530300")
        text = str(doc) + to_xml(doc)
        assert str(RESERVE) not in text and wan(RESERVE) not in text

    def test_not_announced_is_refused(self) -> None:
        from tests.unit.plan_helpers import approved

        with pytest.raises(Rejected) as info:
            announcement_document(approved().state, region_code="530300")
        assert info.value.code is Code.PLAN_WRONG_STATUS


class TestAnnouncementChange:
    """变更公告 (RULES 3.1): the reason, the content and the schedule that now holds."""

    def test_a_late_change_shows_the_pushed_back_schedule(self) -> None:
        plan = announced(PlanMethod.LISTING)
        original = announcement_document(plan.state, region_code="530300")["fields"]
        early = START - 25 * DAY
        plan.do(ChangeAnnouncement(by="op-li", published_at=early, reason="更正", content="联系电话变更"), early)
        late = START - 10 * DAY
        plan.do(ChangeAnnouncement(by="op-li", published_at=late, reason="更正规划指标", content="建筑限高调整为75米"),
                late)
        first = change_document(plan.state, 1, region_code="530300")
        second = change_document(plan.state, 2, region_code="530300")
        assert (first["document_id"], second["document_id"]) == ("CHG-GD-2026-007-1", "CHG-GD-2026-007-2")
        assert first["kind"] == second["kind"] == "ANNOUNCEMENT_CHANGE"
        assert list(second["fields"]) == list(CHANGE_LABELS)
        f1, f2 = first["fields"], second["fields"]
        assert (f1["pushed_back_days"], f1["listing_start_at"]) == ("0", original["listing_start_at"])
        # Published 10 days before the start: pushed back 10 days to keep 20 (Q29).
        assert (f2["change_no"], f2["reason"], f2["content"], f2["pushed_back_days"]) == (
            "2", "更正规划指标", "建筑限高调整为75米", "10")
        assert f2["listing_start_at"] > original["listing_start_at"]
        assert f2["listing_start_at"][:10] == china_date_of(START + 10 * DAY)
        assert f2["announcement_no"] == original["announcement_no"]
        root = ET.fromstring(to_xml(second))
        assert root.get("kind") == "ANNOUNCEMENT_CHANGE"
        assert root.find("fields/reason").get("label") == "变更原因"  # type: ignore[union-attr]

    def test_no_such_change_is_refused(self) -> None:
        with pytest.raises(Rejected) as info:
            change_document(announced().state, 1, region_code="530300")
        assert info.value.code is Code.PLAN_WRONG_STATUS


def china_date_of(at: int) -> str:
    from auction.domain.china import iso_cst_seconds

    return iso_cst_seconds(at)[:10]


class TestUnsoldResult:
    """结果公示（未成交）: that it ended, when and why; no price, bidder or reserve."""

    def test_no_sale_and_termination(self) -> None:
        state = sealed(PlanMethod.AUCTION).state
        flop = unsold_document(state, NoSale("S-1", START + 3600 * 10**6, "流拍",
                                             no_sale_reason("BELOW_RESERVE", terminated=False)),
                               region_code="530300", published_at=START + 7200 * 10**6)
        assert flop["document_id"] == "RES-GD-2026-007" and flop["kind"] == "RESULT_UNSOLD"
        assert list(flop["fields"]) == list(UNSOLD_LABELS)
        assert (flop["fields"]["outcome"], flop["fields"]["reason"]) == ("流拍", "最高报价未达底价，流拍")
        text = str(flop) + to_xml(flop)
        assert str(RESERVE) not in text and wan(RESERVE) not in text
        ended = unsold_document(state, NoSale("S-1", START, "终止",
                                              no_sale_reason("TOO_FEW_QUALIFIED_BIDDERS", terminated=True)),
                                region_code="530300", published_at=START)
        assert (ended["fields"]["outcome"], ended["fields"]["reason"]) == ("终止", "取得竞买资格的竞买人不足，交易终止")

    def test_reasons_are_worded_for_the_public_in_their_context(self) -> None:
        assert no_sale_reason("规划调整，政府决定终止出让", terminated=True) == "规划调整，政府决定终止出让"
        assert no_sale_reason("PLAN_WITHDRAWN: 规划调整", terminated=True) == "出让计划撤回：规划调整"
        # An operator who typed a code word gets it as typed: codes are looked up in their context only.
        assert no_sale_reason("NO_BIDS", terminated=True) == "NO_BIDS"
        assert no_sale_reason("NO_BIDS", terminated=False) == "无人报价，流拍"


class TestResult:
    def test_fields_and_units(self) -> None:
        doc = result_document(sealed().state, deal(), entry(), supervision_no=SUPERVISION_NO, published_at=START)
        f = doc["fields"]
        assert list(f) == list(RESULT_LABELS)
        assert (f["price_wan"], f["price_fen"]) == ("5123.004567", str(PRICE))
        assert f["holder"] == "曲靖某置业有限公司" and f["supervision_no"] == SUPERVISION_NO
        assert f["approver"] and f["region_code"] == "530302" and f["area_hectares"] == "2"
        assert sum(int(p["amount_fen"]) for p in f["installments"]) == PRICE

    @pytest.mark.parametrize("number", ["", "123", "5303022026b00123", "5303022026B001234"])
    def test_supervision_number_required(self, number: str) -> None:
        with pytest.raises(Rejected) as info:
            result_document(sealed().state, deal(), entry(), supervision_no=number, published_at=START)
        assert info.value.code is Code.SUPERVISION_NUMBER_REQUIRED

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"region_code": "53030"}, "region_code"),
            ({"land_source": "划拨"}, "land_source"),
            ({"installments": (Installment(1, date(2026, 5, 1), PRICE - 1),)}, "installments"),
            ({"installments": ()}, "installments"),
            ({"completion_date": date(2026, 1, 1)}, "completion_date"),
            ({"project_name": " "}, "project_name"),
        ],
    )
    def test_bad_entries_refused(self, overrides: dict[str, object], field: str) -> None:
        with pytest.raises(Rejected) as info:
            result_document(sealed().state, deal(), entry(**overrides), supervision_no=SUPERVISION_NO,
                            published_at=START)
        assert info.value.code is Code.INVALID_FIELD and info.value.rejection.details["field"] == field

    def test_xml_carries_the_same_fields(self) -> None:
        doc = result_document(sealed().state, deal(), entry(), supervision_no=SUPERVISION_NO, published_at=START)
        root = ET.fromstring(to_xml(doc))
        assert root.get("kind") == "RESULT" and root.findtext("unified_deal_code") == doc["unified_deal_code"]
        fields = root.find("fields")
        assert fields is not None
        assert fields.findtext("price_wan") == "5123.004567"
        assert fields.find("holder") is not None and fields.find("holder").get("label") == "土地使用权人"  # type: ignore[union-attr]
        assert [i.findtext("amount_fen") for i in fields.iter("installment")] == [
            p["amount_fen"] for p in doc["fields"]["installments"]]


@pytest.mark.parametrize("micros, shown", [
    (0, "0"), (10 * 86_400_000_000, "10"), (3 * 86_400_000_000 + 43_200_000_000, "3.50"),
    (5_000_000, "0.01"), (1, "0.01"), (20 * 86_400_000_000 + 1, "20.01"),
])
def test_pushed_back_days_are_plain_decimals(micros: int, shown: str) -> None:
    """A push of any length shows, rounded up to 0.01 day, never in exponent form."""
    from auction.documents.landchina import _days

    assert _days(micros) == shown


class TestSupervisionNumberInTheResult:
    @pytest.mark.parametrize("number", ["4406062019BI7595", "4514002016B00269-1"])
    def test_a_number_of_another_region_is_refused(self, number: str) -> None:
        with pytest.raises(Rejected) as info:
            result_document(sealed().state, deal(), entry(), supervision_no=number, published_at=START)
        assert info.value.code is Code.SUPERVISION_NO_REGION_MISMATCH

    @pytest.mark.parametrize(("number", "region"), [("4406062019BI7595", "440606"), ("4514002016B00269-1", "451400")])
    def test_real_numbers_are_published_in_their_region(self, number: str, region: str) -> None:
        doc = result_document(sealed().state, deal(), entry(region_code=region), supervision_no=number,
                              published_at=START)
        assert doc["fields"]["supervision_no"] == number
