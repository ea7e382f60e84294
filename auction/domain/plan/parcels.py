"""A parcel (宗地): what a supply plan offers, with the facts Q23 and Q24 judge.

Exact numbers only, no floats:

- area: integer **hundredths of a square metre** (0.01 m²), the precision land
  surveys are published in. 1 公顷 = 10,000 m² = 1,000,000 hundredths, so the
  area in 公顷 is an exact decimal with at most six places (`to_hectares`).
- plot ratio (容积率) limits: integer hundredths (2.5 -> 250).
- building density and green ratio: basis points, hundredths of a percent
  (30% -> 3000).
- height limit: centimetres.
- benchmark land price (基准地价): fen per square metre of land area.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount
from auction.domain.plan.limits import contains


@dataclass(frozen=True)
class LandUse:
    code: str  # GB/T 21010-2017 secondary class
    name: str
    # Longest term of use for this purpose (城镇国有土地使用权出让和转让暂行条例 第十二条:
    # 居住70年, 工业50年, 商业旅游娱乐40年).
    max_term_years: int


# A small table of the uses this center offers (GB/T 21010-2017). Extend as needed.
LAND_USES: dict[str, LandUse] = {
    use.code: use
    for use in (
        LandUse("0501", "零售商业用地", 40),
        LandUse("0502", "批发市场用地", 40),
        LandUse("0503", "餐饮用地", 40),
        LandUse("0504", "旅馆用地", 40),
        LandUse("0505", "商务金融用地", 40),
        LandUse("0506", "娱乐用地", 40),
        LandUse("0507", "其他商服用地", 40),
        LandUse("0601", "工业用地", 50),
        LandUse("0602", "采矿用地", 50),
        LandUse("0604", "仓储用地", 50),
        LandUse("0701", "城镇住宅用地", 70),
        LandUse("0803", "教育用地", 50),
        LandUse("0804", "科研用地", 50),
        LandUse("0805", "医疗卫生用地", 50),
        LandUse("0806", "社会福利用地", 50),
        LandUse("0807", "文化设施用地", 50),
        LandUse("0808", "体育用地", 50),
    )
}

# Names of the older classification (GB/T 21010-2007 and the land-market statistics' housing
# classes) that published records still give a use (其他普通商品住房用地 for 0701): a parcel may
# state one as its `use_name`, for the code whose class it falls in. As the site's records write them.
RECORD_USE_NAMES: dict[str, frozenset[str]] = {
    "0701": frozenset({"住宅用地", "其他普通商品住房用地", "中低价位、中小套型普通商品住房用地", "高档住宅用地",
                       "经济适用住房用地", "廉租住房用地", "其他住房用地"}),
    "0501": frozenset({"批发零售用地"}),
    "0502": frozenset({"批发零售用地"}),
    "0503": frozenset({"住宿餐饮用地"}),
    "0504": frozenset({"住宿餐饮用地"}),
    "0506": frozenset({"文体娱乐用地"}),
    "0803": frozenset({"科教用地"}),
    "0804": frozenset({"科教用地"}),
    "0805": frozenset({"医卫慈善用地"}),
    "0806": frozenset({"医卫慈善用地"}),
    "0807": frozenset({"文体娱乐用地"}),
    "0808": frozenset({"文体娱乐用地"}),
}


def use_name_of(code: str, use_name: str = "") -> str:
    """The use as a document names it: the record's older name when given, else the code's."""
    if use_name:
        return use_name
    use = LAND_USES.get(code)
    return use.name if use is not None else ""

COMMERCIAL_USES = frozenset(code for code in LAND_USES if code.startswith("05"))  # 商服用地


class ConditionsCategory(str, Enum):
    """Q24: the only kinds of project for which bidder conditions (出让条件) may be set.

    The operator chooses the category; it must fit the land use code
    (`CATEGORY_USES`). `NONE` (every other project) allows no conditions.
    """

    NONE = "NONE"
    INDUSTRIAL = "INDUSTRIAL"  # 工业
    COMMERCIAL_COMPLEX = "COMMERCIAL_COMPLEX"  # 商业综合体
    HIGH_END_HOTEL = "HIGH_END_HOTEL"  # 高档酒店
    HIGH_END_OFFICE = "HIGH_END_OFFICE"  # 高端商务办公


# Which use codes each Q24 category may be declared on. An operator cannot mark
# residential land "industrial" to slip conditions in.
CATEGORY_USES: dict[ConditionsCategory, frozenset[str]] = {
    ConditionsCategory.NONE: frozenset(LAND_USES),
    ConditionsCategory.INDUSTRIAL: frozenset({"0601"}),
    ConditionsCategory.COMMERCIAL_COMPLEX: COMMERCIAL_USES,
    ConditionsCategory.HIGH_END_HOTEL: frozenset({"0504"}),
    ConditionsCategory.HIGH_END_OFFICE: frozenset({"0505"}),
}


@dataclass(frozen=True)
class PlanningConditions:
    """规划条件. `None` means the planning permit sets no such limit."""

    building_density_max_bp: int | None = None  # 建筑密度上限, basis points (3000 = 30.00%)
    green_ratio_min_bp: int | None = None  # 绿地率（绿化率）下限, basis points
    height_limit_cm: int | None = None  # 建筑限高, centimetres
    notes: str = ""  # other conditions, free text (the announcement's 备注)
    # The other ends real announcements state (建筑密度 大于或等于30, 绿化率 小于或等于20, 建筑限高
    # 大于或等于30并且小于54), 投资强度, and which ends are open (大于/小于: the value itself excluded),
    # by field name (`OPEN_BOUNDS`). Unset, they stay out of stored payloads.
    building_density_min_bp: int | None = None
    green_ratio_max_bp: int | None = None
    height_min_cm: int | None = None
    investment_fen_per_hectare: int | None = None  # 投资强度, shown in 万元/公顷
    open_bounds: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in PLANNING_OPTIONAL:
            if data[name] in (None, ()):
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanningConditions:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if "open_bounds" in values:
            values["open_bounds"] = tuple(values["open_bounds"])
        return cls(**values)

    def is_open(self, name: str) -> bool:
        return name in self.open_bounds


PLANNING_OPTIONAL = ("building_density_min_bp", "green_ratio_max_bp", "height_min_cm", "investment_fen_per_hectare",
                     "open_bounds")
# The ends that may be open: the parcel's plot ratio limits and the planning conditions' bounds.
OPEN_BOUNDS = frozenset({"plot_ratio_min", "plot_ratio_max", "building_density_min_bp", "building_density_max_bp",
                         "green_ratio_min_bp", "green_ratio_max_bp", "height_min_cm", "height_limit_cm"})


# Q23's six facts, in the order of the article, with their Chinese names.
READINESS_LABELS: dict[str, str] = {
    "compensation_settled": "征收（拆迁）补偿安置到位",
    "no_legal_dispute": "无法律经济纠纷",
    "title_clear": "土地权属清晰",
    "old_certificate_cancelled": "原土地使用证已依法注销",
    "planning_conditions_set": "规划条件明确",
    "development_ready": "具备动工开发基本条件",
}


@dataclass(frozen=True)
class Readiness:
    """Q23: a parcel may be offered only when all six are recorded true."""

    compensation_settled: bool = False
    no_legal_dispute: bool = False
    title_clear: bool = False
    old_certificate_cancelled: bool = False
    planning_conditions_set: bool = False
    development_ready: bool = False

    def missing(self) -> tuple[str, ...]:
        """The facts not recorded true, by field name, in the article's order."""
        return tuple(name for name in READINESS_LABELS if getattr(self, name) is not True)

    @property
    def ready(self) -> bool:
        return not self.missing()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Readiness:
        return cls(**{name: data[name] for name in READINESS_LABELS if name in data})

    @classmethod
    def all_true(cls) -> Readiness:
        return cls(**{name: True for name in READINESS_LABELS})


@dataclass(frozen=True)
class UsePart:
    """One use of a parcel with several (城镇住宅用地70年; 其他商服用地40年), each with its term
    and, when the announcement states it, its area."""

    land_use: str  # GB/T 21010 code, a key of LAND_USES
    term_years: int
    area_m2_hundredths: int | None = None
    use_name: str = ""  # an older name of the use, as in RECORD_USE_NAMES

    @property
    def name(self) -> str:
        return use_name_of(self.land_use, self.use_name)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsePart:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Parcel:
    parcel_no: str  # 宗地编号
    location: str  # 坐落
    area_m2_hundredths: int  # 面积, 0.01 m²
    land_use: str  # GB/T 21010 code, a key of LAND_USES
    term_years: int  # 出让年限
    plot_ratio_min: int | None  # 容积率下限 (inclusive), hundredths; None: no lower limit
    plot_ratio_max: int | None  # 容积率上限 (inclusive), hundredths; None: no upper limit
    benchmark_fen_per_m2: int  # 基准地价, fen per m² of land
    readiness: Readiness
    planning: PlanningConditions = field(default_factory=PlanningConditions)
    conditions_category: ConditionsCategory = ConditionsCategory.NONE  # Q24, chosen by the operator
    boundaries: str = ""  # 四至
    current_state: str = ""  # 现状土地条件 (e.g. 净地)
    # 行政区: the parcel's GB/T 2260 division code (6 digits); '' means the seller's
    # (`AUCTION_REGION_CODE`). Its 电子监管号 must be given in it (supervision.py).
    region_code: str = ""
    # 土地用途 as the records name it when they use an older name (RECORD_USE_NAMES); '': the code's.
    use_name: str = ""
    # Several uses, each with its term (and area), in the order the documents list them; the
    # parcel's main use (`land_use`, `term_years`) is one of them. Empty: one use.
    uses: tuple[UsePart, ...] = ()
    # 建筑面积 (计容), 0.01 m², when the plan states it; None: land area × plot ratio upper limit
    # where prices are per floor area (floor_price.py).
    floor_area_m2_hundredths: int | None = None

    @property
    def land_use_name(self) -> str:
        return use_name_of(self.land_use, self.use_name)

    @property
    def term_text(self) -> str:
        """土地使用年限 as the site writes it: `70`, or per use `城镇住宅用地70年; 其他商服用地40年;`."""
        if not self.uses:
            return str(self.term_years)
        return "; ".join(f"{part.name}{part.term_years}年" for part in self.uses) + ";"

    @property
    def area_m2(self) -> str:
        return to_square_metres(self.area_m2_hundredths)

    @property
    def area_hectares(self) -> str:
        return to_hectares(self.area_m2_hundredths)

    @property
    def conditions_allowed(self) -> bool:
        """Q24: may a plan for this parcel set bidder conditions?"""
        return self.conditions_category is not ConditionsCategory.NONE and self.land_use in CATEGORY_USES.get(
            self.conditions_category, frozenset()
        )

    def benchmark_total_fen(self) -> int:
        """The benchmark price of the whole parcel, rounded up to a whole fen.

        A total of exactly this many fen or more is not below the benchmark
        (Q27(三)); `is_below_benchmark` is the exact test.
        """
        return -((-self.benchmark_fen_per_m2 * self.area_m2_hundredths) // 100)

    def is_below_benchmark(self, total_fen: int) -> bool:
        """Q27(三), exactly: total < benchmark per m² x area, i.e. total x 100 < benchmark x area in 0.01 m²."""
        return total_fen * 100 < self.benchmark_fen_per_m2 * self.area_m2_hundredths

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self) | {"conditions_category": self.conditions_category.value,
                               "planning": self.planning.to_dict()}
        for name in OPTIONAL_FIELDS:  # fields added later stay out of payloads while unset
            if data[name] in ("", (), None):
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Parcel:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["readiness"] = Readiness.from_dict(data["readiness"])
        values["planning"] = PlanningConditions.from_dict(data.get("planning", {}))
        values["conditions_category"] = ConditionsCategory(data.get("conditions_category", "NONE"))
        values["uses"] = tuple(UsePart.from_dict(part) for part in data.get("uses", ()))
        return cls(**values)


OPTIONAL_FIELDS = ("region_code", "use_name", "uses", "floor_area_m2_hundredths")
REGION_CODE = re.compile(r"[1-9][0-9]{5}")  # 行政区划代码 (GB/T 2260)


def _whole(value: object) -> bool:
    return type(value) is int and value >= 0


def check_parcel(parcel: Parcel) -> None:
    """Refuse a parcel whose data are inconsistent (`INVALID_PARCEL`, `details.field`).

    Readiness is not judged here: that is Q23's own refusal, made by the plan.
    """

    def bad(name: str, detail: str) -> Rejected:
        return Rejected(Code.INVALID_PARCEL, f"{name}: {detail}", field=name)

    if not isinstance(parcel, Parcel):
        raise Rejected(Code.INVALID_PARCEL, "not a parcel", field="parcels")
    for name in ("parcel_no", "location"):
        value = getattr(parcel, name)
        if not isinstance(value, str) or not value.strip():
            raise bad(name, "required")
    if not _whole(parcel.area_m2_hundredths) or parcel.area_m2_hundredths == 0:
        raise bad("area_m2_hundredths", "a positive whole number of 0.01 m²")
    use = LAND_USES.get(parcel.land_use)
    if use is None:
        raise bad("land_use", f"unknown GB/T 21010 code {parcel.land_use!r}")
    if type(parcel.term_years) is not int or not 1 <= parcel.term_years <= use.max_term_years:
        raise bad("term_years", f"1 to {use.max_term_years} years for {use.name}")
    _check_uses(parcel, bad)
    _check_floor_area(parcel, bad)
    low, high = parcel.plot_ratio_min, parcel.plot_ratio_max
    if low is None and high is None:
        raise bad("plot_ratio_max", "a plot ratio limit is required (规划条件)")
    for name, value in (("plot_ratio_min", low), ("plot_ratio_max", high)):
        if value is not None and not _whole(value):
            raise bad(name, "whole hundredths, not negative")
    if low is not None and high is not None and low > high:
        raise bad("plot_ratio_min", "above the upper limit")
    if not is_valid_amount(parcel.benchmark_fen_per_m2):
        raise bad("benchmark_fen_per_m2", "a positive whole number of fen per m²")
    if not isinstance(parcel.readiness, Readiness) or not all(
        type(getattr(parcel.readiness, name)) is bool for name in READINESS_LABELS
    ):
        raise bad("readiness", "six true/false facts")
    planning = parcel.planning
    for name in ("building_density_max_bp", "green_ratio_min_bp", "building_density_min_bp", "green_ratio_max_bp"):
        value = getattr(planning, name)
        if value is not None and (not _whole(value) or value > 10_000):
            raise bad(name, "basis points from 0 to 10000")
    for name in ("height_limit_cm", "height_min_cm", "investment_fen_per_hectare"):
        value = getattr(planning, name)
        if value is not None and (not _whole(value) or value == 0):
            raise bad(name, "a positive whole number")
    for lower, upper in (("building_density_min_bp", "building_density_max_bp"),
                         ("green_ratio_min_bp", "green_ratio_max_bp"), ("height_min_cm", "height_limit_cm")):
        a, b = getattr(planning, lower), getattr(planning, upper)
        if a is not None and b is not None and a > b:
            raise bad(lower, "above the upper limit")
    if not isinstance(planning.open_bounds, tuple) or not set(planning.open_bounds) <= OPEN_BOUNDS:
        raise bad("open_bounds", "names of limits: " + ", ".join(sorted(OPEN_BOUNDS)))
    if not isinstance(parcel.region_code, str) or (parcel.region_code and not REGION_CODE.fullmatch(parcel.region_code)):
        raise bad("region_code", "a 6-digit administrative division code (GB/T 2260), or empty")
    if not isinstance(parcel.conditions_category, ConditionsCategory):
        raise bad("conditions_category", "unknown category")
    if parcel.land_use not in CATEGORY_USES[parcel.conditions_category]:
        raise bad("conditions_category", f"{parcel.conditions_category.value} does not fit use {parcel.land_use}")


def _check_uses(parcel: Parcel, bad: Any) -> None:
    """An older use name fits its code; several uses hold the parcel's own use and term,
    each a known use within its longest term, their stated areas within the parcel's."""
    if not isinstance(parcel.use_name, str) or (
            parcel.use_name and parcel.use_name not in RECORD_USE_NAMES.get(parcel.land_use, frozenset())):
        raise bad("use_name", f"an older name of use {parcel.land_use} (RECORD_USE_NAMES), or empty")
    if not parcel.uses:
        return
    if len(parcel.uses) < 2 or (parcel.land_use, parcel.term_years) not in {
            (part.land_use, part.term_years) for part in parcel.uses if isinstance(part, UsePart)}:
        raise bad("uses", "two or more, the parcel's own use and term among them")
    for part in parcel.uses:
        use = LAND_USES.get(part.land_use) if isinstance(part, UsePart) else None
        if use is None or type(part.term_years) is not int or not 1 <= part.term_years <= use.max_term_years:
            raise bad("uses", f"a known use with 1 to its longest term in years: {part!r}")
        if part.use_name and part.use_name not in RECORD_USE_NAMES.get(part.land_use, frozenset()):
            raise bad("uses", f"an older name of use {part.land_use}: {part.use_name!r}")
        if part.area_m2_hundredths is not None and (not _whole(part.area_m2_hundredths)
                                                    or part.area_m2_hundredths == 0):
            raise bad("uses", "a positive whole number of 0.01 m² for each stated area")
    if sum(part.area_m2_hundredths or 0 for part in parcel.uses) > parcel.area_m2_hundredths:
        raise bad("uses", "the uses' areas add up to more than the parcel's")


def _check_floor_area(parcel: Parcel, bad: Any) -> None:
    """A stated 建筑面积 is a positive whole number of 0.01 m² the plot ratio allows on the land
    (land area × the limits, each end open or closed as stated)."""
    floor = parcel.floor_area_m2_hundredths
    if floor is None:
        return
    if not _whole(floor) or floor == 0:
        raise bad("floor_area_m2_hundredths", "a positive whole number of 0.01 m²")
    low, high, area = parcel.plot_ratio_min, parcel.plot_ratio_max, parcel.area_m2_hundredths
    if all(v is None or _whole(v) for v in (low, high)):  # the limits' own form is judged after
        if not contains(floor * 100, None if low is None else area * low, None if high is None else area * high,
                        low_open=parcel.planning.is_open("plot_ratio_min"),
                        high_open=parcel.planning.is_open("plot_ratio_max")):
            raise bad("floor_area_m2_hundredths", "outside land area × the plot ratio limits")


# ---------------------------------------------------------------------------
# exact decimal text


def _decimal(value: int, places: int, *, strip: bool) -> str:
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(value), 10**places)
    decimals = f"{rest:0{places}d}"
    if strip:
        decimals = decimals.rstrip("0")
    return f"{sign}{whole}.{decimals}" if decimals else f"{sign}{whole}"


def to_hectares(area_m2_hundredths: int) -> str:
    """Exact area in 公顷: 1234567 (12345.67 m²) -> '1.234567'; 500000 -> '0.5'."""
    return _decimal(area_m2_hundredths, 6, strip=True)


def to_square_metres(area_m2_hundredths: int) -> str:
    """Exact area in m² with two decimals: 1234567 -> '12345.67'."""
    return _decimal(area_m2_hundredths, 2, strip=False)


def format_hundredths(value: int) -> str:
    """Plot ratios and the like: 250 -> '2.50'."""
    return _decimal(value, 2, strip=False)


def format_basis_points(value: int) -> str:
    """3050 -> '30.50%'."""
    return _decimal(value, 2, strip=False) + "%"


_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")  # ASCII digits only


def parse_hundredths(text: str) -> int:
    """'12345.67' -> 1234567, '2.5' -> 250, '3' -> 300; anything else (more places, signs,
    exponents) raises ValueError. For the shell reading decimals typed by people."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a decimal with at most two places: {text!r}")
    whole, decimals = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(decimals)


def plot_ratio_text(parcel: Parcel) -> str:
    """How an announcement states the range: '1.00-2.50', '≤2.50' or '≥1.00'."""
    low, high = parcel.plot_ratio_min, parcel.plot_ratio_max
    if low is not None and high is not None:
        return f"{format_hundredths(low)}-{format_hundredths(high)}"
    if high is not None:
        return f"≤{format_hundredths(high)}"
    assert low is not None
    return f"≥{format_hundredths(low)}"
