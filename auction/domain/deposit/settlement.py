"""Settlement figures (土地收益分成, Q40-Q41): who gets what of the final price, in whole fen.

Q40 (第四十条):

    土地成本核算和收益分成。市级储备供应的土地成交价款统一缴入市级财政，纳入市级核算。
    土地成交总价款全额缴入市级国库后，在计提国家、省、市、区专项资金（基金）、扣除土地
    储备及财务运行等土地成本后的纯收益，按市、区 4∶6 的比例分成。计提的区级专项资金
    （基金）由市级财政全额划拨至区级财政。

Q41 (第四十一条):

    本办法实施前，已完成交易并签订出让合同但未缴清土地出让价款的，按调整体制前的政策进行
    核算；已完成征收储备的商业和住宅用地，从土地出让成交总价款中（含转为价款的竞买保证金）
    提取 15% 的调节专项收入缴入市级国库，余额缴入各区国库，各区财政进行核算。

What that gives (`settle_q40`, `settle_q41`):

- Q40: net = total price - special funds (national, provincial, city, district
  level) - land costs (land reserve, financial operation, ...), each entered by
  finance operators as a named amount. The city gets 4/10 of the net and the
  district 6/10; the district also receives the district-level special funds in
  full (`district_funds`). Funds and costs larger than the price are refused
  (`Q40_DEDUCTIONS_EXCEED_PRICE`): Q40 says nothing about sharing a loss, so
  finance must look at it, not the server.
- Q41, second clause: for commercial and residential land (GB/T 21010 classes
  05 商服用地 and 07 住宅用地) whose acquisition and storage was complete before
  the measures took effect, 15% of the TOTAL price (the winner's deposit is part
  of it, not extra) goes to the city treasury as regulation revenue (调节专项收入)
  and the whole balance to the district, which does its own accounting, so no
  special funds or costs are deducted here. Other uses are refused
  (`Q41_NOT_COMMERCIAL_OR_RESIDENTIAL`) and follow Q40.
- Q41, first clause (traded and contracted before the measures, price unpaid:
  the pre-reform policy) concerns no sale held on this server and is not computed.

Fen that do not divide: the city's share is rounded down to a whole fen and the
district receives the remainder, under both articles. So city + district (+ funds
+ costs) is always exactly the total price.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount


class DeductionKind(str, Enum):
    NATIONAL_FUND = "NATIONAL_FUND"  # 国家专项资金（基金）
    PROVINCIAL_FUND = "PROVINCIAL_FUND"  # 省级专项资金（基金）
    CITY_FUND = "CITY_FUND"  # 市级专项资金（基金）
    DISTRICT_FUND = "DISTRICT_FUND"  # 区级专项资金（基金）: paid on to the district in full
    LAND_COST = "LAND_COST"  # 土地储备及财务运行等土地成本


FUND_KINDS = frozenset(
    {DeductionKind.NATIONAL_FUND, DeductionKind.PROVINCIAL_FUND, DeductionKind.CITY_FUND, DeductionKind.DISTRICT_FUND}
)


class Regime(str, Enum):
    Q40_NET_SPLIT = "Q40_NET_SPLIT"  # 纯收益按市、区 4∶6 分成
    Q41_PRE_REFORM_STORED = "Q41_PRE_REFORM_STORED"  # 提取 15% 调节专项收入


@dataclass(frozen=True)
class Deduction:
    name: str  # e.g. 国有土地收益基金, 农业土地开发资金, 土地储备成本
    kind: DeductionKind
    amount: int  # fen


@dataclass(frozen=True)
class Settlement:
    regime: Regime
    total_price: int  # 土地成交总价款 (fen), including the deposit applied to it
    deductions: tuple[Deduction, ...]
    special_funds: int  # all levels, district included
    costs: int
    net: int  # 纯收益 (Q40); under Q41 the total price
    city_share: int  # Q40: 4/10 of the net; Q41: the 15% regulation revenue
    district_share: int  # Q40: 6/10 of the net; Q41: the balance
    district_funds: int  # Q40: district-level funds, paid on to the district in full

    @property
    def district_total(self) -> int:
        """All the district receives from the city treasury."""
        return self.district_share + self.district_funds

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime.value,
            "total_price": self.total_price,
            "deductions": [{"name": d.name, "kind": d.kind.value, "amount": d.amount} for d in self.deductions],
            "special_funds": self.special_funds,
            "costs": self.costs,
            "net": self.net,
            "city_share": self.city_share,
            "district_share": self.district_share,
            "district_funds": self.district_funds,
            "district_total": self.district_total,
        }


def split_down(amount: int, numerator: int, denominator: int) -> tuple[int, int]:
    """(floor(amount * numerator / denominator), the rest): the first part rounded down to a fen."""
    first = amount * numerator // denominator
    return first, amount - first


def settle_q40(
    total_price: int, deductions: Iterable[Deduction], *, city_parts: int = 4, district_parts: int = 6
) -> Settlement:
    """Q40: net = price - special funds - costs, split city:district 4:6 (city rounded down)."""
    _check_price(total_price)
    items = tuple(deductions)
    for item in items:
        if not isinstance(item, Deduction) or not item.name.strip() or not isinstance(item.kind, DeductionKind):
            raise Rejected(Code.SETTLEMENT_INVALID_ITEM, repr(item))
        if not is_valid_amount(item.amount):
            raise Rejected(Code.SETTLEMENT_INVALID_ITEM, f"{item.name}: amount", name=item.name)
    funds = sum(d.amount for d in items if d.kind in FUND_KINDS)
    costs = sum(d.amount for d in items if d.kind is DeductionKind.LAND_COST)
    if funds + costs > total_price:
        raise Rejected(
            Code.Q40_DEDUCTIONS_EXCEED_PRICE, total_price=total_price, special_funds=funds, costs=costs
        )
    net = total_price - funds - costs
    city, district = split_down(net, city_parts, city_parts + district_parts)
    district_funds = sum(d.amount for d in items if d.kind is DeductionKind.DISTRICT_FUND)
    return Settlement(Regime.Q40_NET_SPLIT, total_price, items, funds, costs, net, city, district, district_funds)


def settle_q41(total_price: int, *, land_use_code: str, regulation_percent: int = 15) -> Settlement:
    """Q41: 15% of the total price to the city (rounded down), the balance to the district."""
    _check_price(total_price)
    if not isinstance(land_use_code, str) or land_use_code[:2] not in ("05", "07"):
        raise Rejected(Code.Q41_NOT_COMMERCIAL_OR_RESIDENTIAL, str(land_use_code), land_use=land_use_code)
    city, district = split_down(total_price, regulation_percent, 100)
    return Settlement(Regime.Q41_PRE_REFORM_STORED, total_price, (), 0, 0, total_price, city, district, 0)


def _check_price(total_price: int) -> None:
    if not is_valid_amount(total_price):
        raise Rejected(Code.INVALID_AMOUNT, repr(total_price))
