"""电子监管号: the number the national land supervision system (土地市场动态监测与监管系统)
gives a supply contract, as the China Land Market website publishes it.

Its structure, read from published results (docs/publication.md):

    4406062019BI7595      4514002016B00269-1
    ^^^^^^                region: the 6-digit 行政区划代码 (GB/T 2260) of the parcel
          ^^^^            year: the contract's year (4 digits)
              ^           kind: one capital letter or digit (B for 出让 in every published result)
               ^^^^^      serial: 5 digits, or a capital letter and 4 digits once a
                          region's serials pass 99999 (BI7595, BJ0466)
                  ^^      suffix: `-1`, `-2`, … when one contract is split (分宗)

Pure: the year is judged against a China year passed in, never the machine's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auction.domain.codes import Code, Rejected

FIRST_YEAR = 1990  # older numbers were back-filled; none predates the 1990 出让 regulation
_REGION = re.compile(r"[1-9][0-9]{5}")
_YEAR = re.compile(r"[0-9]{4}")
_KIND = re.compile(r"[0-9A-Z]")
_SERIAL = re.compile(r"[0-9]{5}|[A-Z][0-9]{4}")
_SUFFIX = re.compile(r"[1-9][0-9]{0,2}")
LENGTH = 16  # without the suffix


@dataclass(frozen=True)
class SupervisionNumber:
    text: str
    region: str  # 6 digits
    year: int
    kind: str
    serial: str
    suffix: str  # '' or the digits after '-'


def _refuse(text: str, problem: str, detail: str) -> Rejected:
    return Rejected(Code.SUPERVISION_NUMBER_REQUIRED, f"{problem}: {detail}", field="supervision_no",
                    problem=problem, supervision_no=text[:32])


def parse_supervision_no(text: str, *, this_year: int) -> SupervisionNumber:
    """The number's parts, or `SUPERVISION_NUMBER_REQUIRED` with `details.problem` one of
    `length`, `region`, `year`, `kind`, `serial`, `suffix` (the first part that is wrong)."""
    if not isinstance(text, str):
        raise _refuse("", "length", f"{LENGTH} characters")
    base, dash, suffix = text.partition("-")
    if len(base) != LENGTH:
        raise _refuse(text, "length", f"{LENGTH} characters before an optional -N suffix, not {len(base)}")
    if not _REGION.fullmatch(base[:6]):
        raise _refuse(text, "region", "the first 6 characters are a GB/T 2260 division code")
    if not _YEAR.fullmatch(base[6:10]) or not FIRST_YEAR <= int(base[6:10]) <= this_year:
        raise _refuse(text, "year", f"characters 7-10 are a year from {FIRST_YEAR} to {this_year}")
    if not _KIND.fullmatch(base[10]):
        raise _refuse(text, "kind", "character 11 is a capital letter or a digit")
    if not _SERIAL.fullmatch(base[11:]):
        raise _refuse(text, "serial", "the last 5 characters are digits, or a capital letter and 4 digits")
    if dash and not _SUFFIX.fullmatch(suffix):
        raise _refuse(text, "suffix", "after '-' a number 1 to 999")
    return SupervisionNumber(text, base[:6], int(base[6:10]), base[10], base[11:], suffix)


def region_within(code: str, area: str) -> bool:
    """Whether division `code` (6 digits) lies in `area` (6 or 9 digits): the same county-level
    code, or any code of a prefecture (`XXXX00`) or province (`XX0000`) named by `area`."""
    area = area[:6]
    if code == area:
        return True
    if area.endswith("0000"):
        return code[:2] == area[:2]
    if area.endswith("00"):
        return code[:4] == area[:4]
    return False


def check_supervision_region(number: SupervisionNumber, region_code: str) -> None:
    """`SUPERVISION_NO_REGION_MISMATCH` unless the number was given in the parcel's 行政区."""
    if not region_within(number.region, region_code):
        raise Rejected(Code.SUPERVISION_NO_REGION_MISMATCH,
                       f"{number.region} is not in {region_code}", field="supervision_no",
                       supervision_region=number.region, region_code=region_code)
