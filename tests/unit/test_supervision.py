"""电子监管号 by its structure (auction/domain/plan/supervision.py, docs/publication.md)."""

from __future__ import annotations

import pytest

from auction.domain.codes import Code, Rejected
from auction.domain.plan.supervision import (
    check_supervision_region,
    parse_supervision_no,
    region_within,
)

# Numbers as published results on the China Land Market website carry them.
PUBLISHED = ["4406062019BI7595", "4406062019BJ0466", "4514002016B00269-1", "5303022026B00123"]


@pytest.mark.parametrize("text", PUBLISHED)
def test_published_numbers_are_accepted(text: str) -> None:
    number = parse_supervision_no(text, this_year=2026)
    assert number.text == text and len(number.region) == 6


def test_the_parts() -> None:
    number = parse_supervision_no("4514002016B00269-1", this_year=2026)
    assert (number.region, number.year, number.kind, number.serial, number.suffix) == (
        "451400", 2016, "B", "00269", "1")
    assert parse_supervision_no("4406062019BI7595", this_year=2026).serial == "I7595"


@pytest.mark.parametrize(("text", "problem"), [
    ("", "length"),
    ("123", "length"),
    ("4406062019BI75951", "length"),
    ("440606201BI7595", "length"),
    ("0406062019BI7595", "region"),
    ("44O6062019BI7595", "region"),
    ("4406062035BI7595", "year"),  # after this year
    ("4406061899BI7595", "year"),
    ("4406062019bI7595", "kind"),
    ("4406062019BII595", "serial"),
    ("4406062019B0046a", "serial"),
    ("4514002016B00269-", "suffix"),
    ("4514002016B00269-0", "suffix"),
    ("4514002016B00269-1a", "suffix"),
])
def test_malformed_numbers_are_refused_with_the_part(text: str, problem: str) -> None:
    with pytest.raises(Rejected) as info:
        parse_supervision_no(text, this_year=2026)
    assert info.value.code is Code.SUPERVISION_NUMBER_REQUIRED
    assert info.value.rejection.details["problem"] == problem
    assert info.value.rejection.message.startswith("未录入有效的电子监管号")


@pytest.mark.parametrize(("code", "area", "inside"), [
    ("440606", "440606", True),
    ("440606", "440600", True),  # a prefecture covers its districts
    ("440606", "440000", True),  # a province its counties
    ("440606", "440606000", True),  # the site's 9-digit form
    ("440606", "440605", False),
    ("440606", "530300", False),
    ("440600", "440606", False),  # a district does not cover its prefecture
])
def test_region_within(code: str, area: str, inside: bool) -> None:
    assert region_within(code, area) is inside


def test_a_number_from_another_region_is_refused() -> None:
    number = parse_supervision_no("4406062019BJ0466", this_year=2026)
    check_supervision_region(number, "440606")
    with pytest.raises(Rejected) as info:
        check_supervision_region(number, "530300")
    assert info.value.code is Code.SUPERVISION_NO_REGION_MISMATCH
    assert info.value.rejection.details == {"field": "supervision_no", "supervision_region": "440606",
                                            "region_code": "530300"}
    assert info.value.rejection.message.startswith("电子监管号的行政区划代码与宗地所在行政区不符")
