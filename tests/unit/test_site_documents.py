"""The documents as the China Land Market website shows them (docs/publication.md): 行政区 names
from the GB/T 2260 table, the site's number and date formats on the page, the site's field
order after a round trip through jsonb, and one 统一交易编码 per offering."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from auction.documents.landchina import (
    RESULT_LABELS,
    Installment,
    announcement_document,
    result_document,
    site_order,
    to_xml,
)
from auction.documents.pages import detail_body
from auction.documents.site_format import human_value, padded, parse_site_date
from auction.domain.codes import Code, Rejected
from auction.domain.divisions import parse_divisions
from auction.services.divisions import SHIPPED, load_divisions, shipped_divisions
from tests.unit.plan_helpers import START, announced, parcel, sealed
from tests.unit.test_publication_documents import PRICE, deal, entry

TABLE = shipped_divisions()


class TestDivisionTable:
    def test_the_shipped_file_states_its_sources_and_date(self) -> None:
        head = SHIPPED.read_text(encoding="utf-8")[:2000]
        assert "# source:" in head and "# date: 2025-12-31" in head
        assert TABLE.as_of == "2025-12-31" and len(TABLE.sources) == 2 and len(TABLE) > 3000

    @pytest.mark.parametrize(("code", "name", "shown"), [
        ("440606", "顺德区", "顺德区"),
        ("440606000", "顺德区", "顺德区"),  # the site's 9-digit form
        ("530302", "麒麟区", "麒麟区"),
        ("451400", "崇左市", "崇左市本级"),  # a prefecture's own parcels
        ("511501", "宜宾市本级", "宜宾市本级"),  # 市辖区 of a prefecture
        ("130171", "石家庄高新技术产业开发区", "石家庄高新技术产业开发区"),  # a development zone
        ("659001", "石河子市", "石河子市"),  # 兵团 city, county level
    ])
    def test_codes_resolve(self, code: str, name: str, shown: str) -> None:
        assert TABLE.name(code) == name and TABLE.site_name(code) == shown

    @pytest.mark.parametrize("code", ["440606101", "999999", "44060", "0406060", "abc"])
    def test_unknown_or_malformed_codes_have_no_name(self, code: str) -> None:
        assert TABLE.name(code) is None

    def test_full_name(self) -> None:
        assert TABLE.full_name("440606") == "广东省佛山市顺德区"

    def test_a_newer_file_is_laid_over_the_shipped_one(self, tmp_path: Path) -> None:
        newer = tmp_path / "divisions.csv"
        newer.write_text("code,name\n# source: 兵团团场 (test)\n# date: 2026-06-30\n659001150,150团\n"
                         "440606,顺德区（更名测试）\n", encoding="utf-8")
        table = load_divisions(newer)
        assert table.name("659001150") == "150团" and table.site_name("440606") == "顺德区（更名测试）"
        assert table.name("530302") == "麒麟区" and table.as_of == "2026-06-30"

    def test_a_bad_file_names_its_line(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.tsv"
        bad.write_text("440606\t顺德区\n44060\t坏\n", encoding="utf-8")
        with pytest.raises(ValueError, match="line 2"):
            load_divisions(bad)

    def test_twelve_digit_adcodes_are_read(self) -> None:
        assert parse_divisions("adcode,name\n440606000000,顺德区\n").name("440606") == "顺德区"


class TestResultRegion:
    def test_the_result_shows_the_name_and_carries_the_code(self) -> None:
        doc = result_document(sealed().state, deal(), entry(region_code="530302"), supervision_no="5303022026B00123",
                              published_at=START, divisions=TABLE)
        assert (doc["fields"]["region_name"], doc["fields"]["region_code"]) == ("麒麟区", "530302")
        assert list(doc["fields"])[:3] == ["region_name", "region_code", "supervision_no"] == list(RESULT_LABELS)[:3]

    def test_nine_digit_codes_are_taken(self) -> None:
        doc = result_document(sealed().state, deal(), entry(region_code="530302000"),
                              supervision_no="5303022026B00123", published_at=START, divisions=TABLE)
        assert doc["fields"]["region_name"] == "麒麟区"

    def test_an_unknown_code_is_refused(self) -> None:
        with pytest.raises(Rejected) as info:
            result_document(sealed().state, deal(), entry(region_code="530399"), supervision_no="5303992026B00123",
                            published_at=START, divisions=TABLE)
        assert info.value.code is Code.REGION_CODE_UNKNOWN and info.value.rejection.details["field"] == "region_code"


class TestHumanFormats:
    @pytest.mark.parametrize(("key", "value", "shown"), [
        ("area_hectares", "6", "6.000000"),
        ("area_hectares", "0.5", "0.500000"),
        ("area_hectares", "1.234567", "1.234567"),
        ("price_wan", "1668", "1668.0000"),
        ("price_wan", "5123.004567", "5123.004567"),  # every fen kept
        ("start_price_wan", "5000.5", "5000.5000"),
        ("amount_wan", "0.000001", "0.000001"),
        ("contract_date", "2019-04-27", "2019年04月27日"),
        ("due_date", "2019-04-27", "2019年04月27日"),
        ("deal_at", "2019-06-24T09:00:00+08:00", "2019年06月24日09时00分"),
        ("deposit_deadline", "2019-06-24T01:00:00+00:00", "2019年06月24日09时00分"),  # China Standard Time
        ("area_m2", "20000.00", "20000.00"),
        ("plot_ratio_max", "", ""),
    ])
    def test_values_as_the_site_writes_them(self, key: str, value: str, shown: str) -> None:
        assert human_value(key, value) == shown

    def test_padding_never_rounds(self) -> None:
        assert padded("1.2345678", 6) == "1.2345678" and padded("x", 4) == "x"

    @pytest.mark.parametrize("text", ["2019-04-27", "2019年04月27日", "2019年4月27日", " 2019年04月27日 "])
    def test_dates_typed_either_way(self, text: str) -> None:
        assert parse_site_date(text) == date(2019, 4, 27)

    @pytest.mark.parametrize("text", ["2019/04/27", "2019年13月01日", "27.04.2019", ""])
    def test_other_dates_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_site_date(text)

    def test_the_page_uses_them_and_the_exports_keep_iso(self) -> None:
        doc = result_document(sealed().state, deal(), entry(), supervision_no="5303022026B00123",
                              published_at=START, divisions=TABLE)
        page = detail_body(doc)
        assert "2.000000" in page and "2026年04月10日" in page and "年" in page.split("发布时间：")[1][:12]
        assert "麒麟区" in page and "现状土地条件" not in page
        assert doc["fields"]["area_hectares"] == "2" and doc["fields"]["contract_date"] == "2026-04-10"
        assert doc["fields"]["deal_at"].endswith("+08:00")

    def test_the_announcement_label_is_the_sites(self) -> None:
        doc = announcement_document(announced().state, region_code="530300")
        assert '<current_state label="现状土地条件">净地</current_state>' in to_xml(doc)


class TestSiteOrder:
    def test_order_is_restored_after_jsonb(self) -> None:
        doc = result_document(sealed().state, deal(), entry(), supervision_no="5303022026B00123",
                              published_at=START, divisions=TABLE)
        jsonb_like = json.loads(json.dumps(doc, sort_keys=True))  # any order but the written one
        jsonb_like["fields"] = dict(sorted(jsonb_like["fields"].items(), key=lambda kv: (len(kv[0]), kv[0])))
        restored = site_order(jsonb_like)
        assert json.dumps(restored, ensure_ascii=False) == json.dumps(doc, ensure_ascii=False)
        assert list(restored["fields"]["installments"][0]) == ["period", "due_date", "amount_wan", "amount_fen", "note",
                                                               "paid_date", "paid_wan", "paid_fen"]

    def test_unknown_keys_follow(self) -> None:
        doc = announcement_document(announced().state, region_code="530300")
        doc["fields"] = {"later_field": "x", **doc["fields"]}
        assert list(site_order(doc)["fields"])[-1] == "later_field"


class TestOneDealCode:
    def test_the_result_carries_the_announcements_code(self) -> None:
        state = sealed().state
        announced_code = announcement_document(announced().state, region_code="530300")["unified_deal_code"]
        doc = result_document(state, deal(), entry(region_code="440606"), supervision_no="4406062019BI7595",
                              published_at=START, divisions=TABLE, unified_deal_code=announced_code)
        assert doc["unified_deal_code"] == announced_code == "530300-TD-GD-2026-007"

    def test_without_it_the_plans_region_not_the_entry(self) -> None:
        assert announcement_document(sealed().state, region_code="530300")["unified_deal_code"].startswith("530300-TD-")
        here = announced(parcels=(parcel(region_code="530302"),)).state
        assert announcement_document(here, region_code="530300")["unified_deal_code"].startswith("530302-TD-")
        result = result_document(here, deal(), entry(region_code="530302"), supervision_no="5303022026B00123",
                                 published_at=START)
        assert result["unified_deal_code"].startswith("530302-TD-")


def test_installments_keep_periods_in_order() -> None:
    parts = (Installment(1, date(2026, 5, 1), PRICE // 2), Installment(2, date(2026, 8, 1), PRICE - PRICE // 2))
    doc = result_document(sealed().state, deal(), entry(installments=parts), supervision_no="5303022026B00123",
                          published_at=START)
    assert [p["due_date"] for p in doc["fields"]["installments"]] == ["2026-05-01", "2026-08-01"]
