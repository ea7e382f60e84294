"""Real published records (tests/fixtures/landchina/results.json, 供地结果信息 pages of the China
Land Market website kept by public scrapers) against our result document, field by field.

For every record sold by 招标/拍卖/挂牌出让 (the methods this center sells by), the same deal is
built in our terms (the parcel, the close, the operator's entry from the contract) and our
result, as people see it (`human_value`: 公顷 to six places, 万元 to four, dates 年月日), must
show every label of the page with the record's value. The fields the page has and we do not
produce are docs/publication.md's "Site fields not produced", checked here to be exactly those.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from auction.domain.china import CST
from auction.domain.divisions import Divisions
from auction.domain.plan.parcels import LAND_USES, RECORD_USE_NAMES, UsePart
from auction.domain.plan.plans import PlanState
from auction.domain.plan.supervision import check_supervision_region, parse_supervision_no
from auction.documents.landchina import (
    LAND_SOURCES, SITE_INSTALLMENT_FIELDS, SITE_RESULT_FIELDS, SUPPLY_METHODS, Deal, Installment, ResultEntry,
    result_document,
)
from auction.documents.site_format import human_value, parse_site_date
from auction.services.divisions import shipped_divisions
from tests.unit.plan_helpers import parcel, sealed

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "landchina" / "results.json").read_text("utf-8"))
RECORDS: list[dict[str, Any]] = FIXTURE["records"]
OUR_METHODS = {name: method for method, name in SUPPLY_METHODS.items()}
SOLD = [(i, r) for i, r in enumerate(RECORDS) if r["fields"]["供地方式"] in OUR_METHODS]

# Page fields the result does not carry (docs/publication.md says why).
NOT_PRODUCED = {"土地使用权人(第二行)"}

# Division codes the records' 电子监管号 start with that GB/T 2260 no longer has (counties made
# districts or cities since; 团场 are not in GB/T 2260): the site keeps the name it had. An
# operator lays such rows over the table with AUCTION_DIVISIONS_FILE; the names are the records'.
RETIRED = {"140624": "怀仁县", "220181": "九台市", "320323": "铜山县", "320482": "金坛市", "320621": "海安县",
           "370282": "即墨市", "441827": "清新县", "652923": "库车县", "660816": "150团"}
SHIPPED = shipped_divisions()
DIVISIONS = SHIPPED.merged(Divisions(RETIRED))


def region_of(record: dict[str, Any]) -> str:
    return str(record["codes"].get("行政区") or record["fields"]["电子监管号"][:6])


def exact(text: str, scale: int) -> int:
    value = Decimal(text) * scale
    assert value == value.to_integral_value(), text
    return int(value)


def ratio(text: str) -> int | None:
    return None if text == "" else exact(text, 100)


def use_of(name: str) -> tuple[str, str]:
    """(GB/T 21010-2017 code, older name or '') for a use as a record names it."""
    if re.fullmatch(r"[0-9]{4}", name):  # a record showing the code itself
        return name, ""
    for code, use in LAND_USES.items():
        if use.name == name:
            return code, ""
    return min(code for code, names in RECORD_USE_NAMES.items() if name in names), name


def terms_of(text: str, main_code: str) -> tuple[int, tuple[UsePart, ...]]:
    """土地使用年限: `50`, or per use `城镇住宅用地70年; 其他商服用地40年;`."""
    if re.fullmatch(r"[0-9]+", text):
        return int(text), ()
    parts = []
    for piece in text.rstrip(";").split("; "):
        match = re.fullmatch(r"(.+?)([0-9]+)年", piece)
        assert match is not None, text
        code, older = use_of(match.group(1))
        parts.append(UsePart(code, int(match.group(2)), use_name=older))
    main = next(p.term_years for p in parts if p.land_use == main_code)
    return main, tuple(parts)


def at_nine(day: date) -> int:
    return int(datetime.combine(day, time(9), CST).timestamp()) * 10**6


def numeric_source(record: dict[str, Any]) -> bool:
    """The page's source carries 土地来源 as a number (公顷); its script shows the words. Scrapers
    that read the source kept the number: our result carries the words (LAND_SOURCES)."""
    return re.fullmatch(r"[0-9.]+", record["fields"]["土地来源"]) is not None


def paid_in_full(record: dict[str, Any]) -> bool:
    """The record's 分期支付约定 rows add up to the price (a scraper that kept only the first row
    of several, or none, gives no whole schedule to compare)."""
    rows, price = record["installments"], record["fields"]["成交价格(万元)"]
    return bool(rows) and sum(Decimal(row[2]) for row in rows) == Decimal(price)


def build(record: dict[str, Any]) -> tuple[PlanState, Deal, ResultEntry, int]:
    """The record's deal in our terms: the parcel of an approved plan, its close, the entry."""
    f = record["fields"]
    code, older = use_of(f["土地用途"])
    term, uses = terms_of(f["土地使用年限"], code)
    land = replace(parcel(), location=f["项目位置"], area_m2_hundredths=exact(f["面积(公顷)"], 1_000_000),
                   land_use=code, use_name=older, term_years=term, uses=uses,
                   plot_ratio_min=ratio(f["约定容积率下限"]), plot_ratio_max=ratio(f["约定容积率上限"]))
    state = sealed().state
    assert state.draft is not None and state.approval is not None
    state = replace(state, draft=replace(state.draft, parcel=land, method=OUR_METHODS[f["供地方式"]]),
                    approval=replace(state.approval, approver=f["批准单位"]))
    price = exact(f["成交价格(万元)"], 1_000_000)
    signed = parse_site_date(f["合同签订日期"])
    if paid_in_full(record):
        parts = tuple(Installment(int(n), parse_site_date(day), exact(amount, 1_000_000), note)
                      for n, day, amount, note in record["installments"])
    else:
        parts = (Installment(1, signed, price),)
    source = f["土地来源"]
    if numeric_source(record):
        source = LAND_SOURCES[0] if Decimal(source) == Decimal(f["面积(公顷)"]) else LAND_SOURCES[1]
    entry = ResultEntry(
        region_code=region_of(record), project_name=f["项目名称"], land_source=source, industry=f["行业分类"],
        land_grade=f["土地级别"], installments=parts, delivery_date=parse_site_date(f["约定交地时间"]),
        construction_start_date=parse_site_date(f["约定开工时间"]), completion_date=parse_site_date(f["约定竣工时间"]),
        contract_date=signed,
    )
    deal = Deal(session_id="S-1", closed_at=at_nine(signed), price_fen=price, holder=f["土地使用权人"])
    return state, deal, entry, at_nine(signed)


class TestFixtureSet:
    def test_real_records_from_several_sources_provinces_uses_and_methods(self) -> None:
        assert len(RECORDS) == 237 and len(SOLD) == 109
        assert set(FIXTURE["sources"]) == {r["source"] for r in RECORDS}
        for source in FIXTURE["sources"].values():
            assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]) and source["repository"] and source["path"]
        sold = [r["fields"] for _, r in SOLD]
        assert len({f["电子监管号"][:2] for f in sold}) >= 15  # provinces
        assert {f["供地方式"] for f in sold} == {"挂牌出让", "拍卖出让"}
        assert len({f["土地用途"] for f in sold}) >= 12
        assert {r["fields"]["供地方式"] for r in RECORDS} >= {"划拨", "协议出让"}

    def test_every_record_shows_the_same_page_labels(self) -> None:
        labels = list(SITE_RESULT_FIELDS)  # 实际开工时间 and 实际竣工时间 among them, in the page's order
        for record in RECORDS:
            shown = [label for label in record["fields"] if label != "土地使用权人(第二行)"]
            if "truncated" in record:  # the source file ends inside the page: what it has, in order
                assert shown == [label for label in labels if label in shown] and len(shown) >= 13
            else:
                assert sorted(shown) == sorted(labels)


class TestSupervisionNumbers:
    def test_every_published_number_is_accepted_and_lies_in_its_region(self) -> None:
        for record in RECORDS:
            number = parse_supervision_no(record["fields"]["电子监管号"], this_year=2019)
            check_supervision_region(number, region_of(record))

    @pytest.mark.parametrize("bad", ["4406062019BI759", "0406062019B07595", "4406062019b07595", "4406062019B0759X"])
    def test_malformed_refused(self, bad: str) -> None:
        from auction.domain.codes import Code, Rejected
        with pytest.raises(Rejected) as refused:
            parse_supervision_no(bad, this_year=2019)
        assert refused.value.code is Code.SUPERVISION_NUMBER_REQUIRED


class TestRegionNames:
    def test_the_table_names_every_records_division_as_the_site_shows_it(self) -> None:
        missing = {region_of(r)[:6]: r["fields"]["行政区"] for r in RECORDS if SHIPPED.name(region_of(r)) is None}
        assert missing == RETIRED
        for record in RECORDS:
            assert DIVISIONS.site_name(region_of(record)) == record["fields"]["行政区"]


@pytest.mark.parametrize("index", [i for i, _ in SOLD], ids=[r["fields"]["电子监管号"] for _, r in SOLD])
def test_our_result_shows_what_the_record_shows(index: int) -> None:
    record = RECORDS[index]
    state, deal, entry, published_at = build(record)
    document = result_document(state, deal, entry, supervision_no=record["fields"]["电子监管号"],
                               published_at=published_at, divisions=DIVISIONS)
    ours = document["fields"]
    for label, key in SITE_RESULT_FIELDS.items():
        site = record["fields"][label]
        if label == "土地来源" and numeric_source(record):
            continue
        if label == "土地用途" and re.fullmatch(r"[0-9]{4}", site):
            key = "land_use_code"
        if label in ("实际开工时间", "实际竣工时间"):  # empty at the deal; the page pads it with a space
            site = site.strip()
        assert human_value(key, ours[key]) == site, label
    if paid_in_full(record):
        shown = [[human_value(k, part[k]) for k in SITE_INSTALLMENT_FIELDS.values()] for part in ours["installments"]]
        assert shown == record["installments"]
