"""Prices per square metre of floor area (楼面地价), as real announcements state them:
起始价 `5500元/建筑平方米`, 加价幅度 `5元/平方米`. The plan states the unit price; the total the
engine bids on is derived from it, exactly, in whole fen.

The floor area (建筑面积) is the 计容建筑面积 such announcements derive their totals from: the
parcel's land area times its plot ratio upper limit (宗地面积 × 容积率上限), unless the plan states
the 建筑面积 itself (`Parcel.floor_area_m2_hundredths`), as announcements do whose planning
conditions fix it, or whose upper limit is open (`小于2.2`: no floor area reaches it).

Pure, integers only: a floor area is kept in 0.0001 m² (0.01 m² of land × a plot ratio in
hundredths), a unit price in fen per m², a total in fen. A unit price whose total is not a whole
number of fen is refused (`FLOOR_PRICE_NOT_WHOLE_FEN`), never rounded.
"""

from __future__ import annotations

from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount
from auction.domain.plan.limits import plain
from auction.domain.plan.parcels import Parcel

FLOOR_UNIT = 10_000  # a floor area's units per m² (0.0001 m²)


def floor_area(parcel: Parcel) -> int | None:
    """The floor area in 0.0001 m²: the stated 建筑面积, else land area × the closed plot ratio
    upper limit; None when neither is there."""
    if parcel.floor_area_m2_hundredths is not None:
        return parcel.floor_area_m2_hundredths * 100
    if parcel.plot_ratio_max is None or "plot_ratio_max" in parcel.planning.open_bounds:
        return None
    return parcel.area_m2_hundredths * parcel.plot_ratio_max


def floor_area_text(units: int) -> str:
    """A floor area in m², exact, with at least two decimals: 29012.3245, 30000.00."""
    text = plain(units, 4)
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def yuan_text(fen: int) -> str:
    """Fen as 元, exact, no trailing zeros: 550000 -> '5500', 550050 -> '5500.5'."""
    return plain(fen, 2)


def floor_total(parcel: Parcel, fen_per_m2: object, name: str, stated_total: int) -> int:
    """The total in fen of `fen_per_m2` (a plan's unit price, field `name`) over the parcel's
    floor area, exactly; `stated_total` is the total the plan gives beside it (0: none).
    Refused when the unit price is not a positive whole number of fen (`INVALID_TERMS`), there is
    no floor area (`FLOOR_AREA_UNKNOWN`), the total is not whole fen (`FLOOR_PRICE_NOT_WHOLE_FEN`)
    or the stated total differs (`FLOOR_PRICE_TOTAL_MISMATCH`)."""
    if not is_valid_amount(fen_per_m2):
        raise Rejected(Code.INVALID_TERMS, f"{name} must be a positive whole number of fen per m²", field=name)
    assert isinstance(fen_per_m2, int)
    area = floor_area(parcel)
    if area is None:
        raise Rejected(Code.FLOOR_AREA_UNKNOWN, field=name)
    total, rest = divmod(fen_per_m2 * area, FLOOR_UNIT)
    if rest:
        raise Rejected(Code.FLOOR_PRICE_NOT_WHOLE_FEN, field=name, floor_area_m2=floor_area_text(area),
                       total_fen=plain(fen_per_m2 * area, 4))
    if stated_total and stated_total != total:
        raise Rejected(Code.FLOOR_PRICE_TOTAL_MISMATCH, field=name, derived_fen=total, stated_fen=stated_total)
    return total
