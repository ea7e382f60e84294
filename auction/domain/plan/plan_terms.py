"""The values a supply plan (供地方案) is made of: method, settings, schedule,
announcement and appraisal. Plain frozen data with JSON forms.

Times are integer µs since the Unix epoch, UTC (as in `terms.py`). The dates of
an appraisal report are China local calendar dates (`datetime.date`): they come
from a paper document and are compared with the China date of a decision
(`auction.domain.china.china_date`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from enum import Enum
from typing import Any

from auction.domain.bidding.terms import DAY, HOUR


class PlanMethod(str, Enum):
    """出让方式 (RULES 1.3). The session engine runs LISTING and AUCTION; a TENDER plan
    becomes a tender (auction/domain/tender/, RULES 6), never a session (`TENDER_NOT_SUPPORTED`)."""

    LISTING = "LISTING"  # 挂牌
    AUCTION = "AUCTION"  # 拍卖
    TENDER = "TENDER"  # 招标


@dataclass(frozen=True)
class PlanRules:
    """Per-trading-center numbers for plans, each with its source (docs/rules.md).

    Copied into the plan when it is drafted, so a replay judges by the settings
    in force then.
    """

    # Q22: the plan passes only with yes votes from at least 2/3 of the members present.
    committee_pass_numerator: int = 2
    committee_pass_denominator: int = 3
    # Q29, N: the announcement is published at least 20 days before bidding starts.
    min_announcement_period: int = 20 * DAY
    # N Art.18, RULES 4.1: the listing period is at least 10 days.
    min_listing_period: int = 10 * DAY
    # RULES 3.4 (P): a listing's registration closes at least this long before the listing ends.
    registration_lead: int = 2 * DAY
    # Q31: deposit at least 20% of the starting price.
    min_deposit_percent: int = 20
    # Q26: the reserve is fixed within the hour before the start.
    reserve_window: int = HOUR
    # Q26: the reserve is fixed collectively (集体确定): at least this many members.
    reserve_min_members: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanRules:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Schedule:
    """When things happen (µs UTC). `listing_end_at` only for a listing."""

    start_at: int  # 挂牌/拍卖/招标开始时间
    listing_end_at: int | None  # 挂牌截止时间
    deposit_deadline: int  # 保证金到账截止时间
    registration_closes_at: int  # 报名（竞买申请）截止时间

    def shifted(self, by: int) -> Schedule:
        """Every time moved back by `by` µs (a late change to the announcement, RULES 3.1)."""
        return replace(
            self,
            start_at=self.start_at + by,
            listing_end_at=None if self.listing_end_at is None else self.listing_end_at + by,
            deposit_deadline=self.deposit_deadline + by,
            registration_closes_at=self.registration_closes_at + by,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


class Channel(str, Enum):
    """Q29: where the announcement and the result must be published (RULES 3.3)."""

    LAND_MARKET = "LAND_MARKET"  # 当地土地有形市场
    MAINSTREAM_MEDIA = "MAINSTREAM_MEDIA"  # 当地主流媒体
    CHINA_LAND_MARKET = "CHINA_LAND_MARKET"  # 中国土地市场网
    PROVINCIAL_DEPARTMENT = "PROVINCIAL_DEPARTMENT"  # 省自然资源厅网站
    PUBLIC_RESOURCE_PLATFORM = "PUBLIC_RESOURCE_PLATFORM"  # 公共资源交易平台
    ONLINE_TRADING_SYSTEM = "ONLINE_TRADING_SYSTEM"  # 曲靖中心城市国有建设用地使用权网上交易系统


@dataclass(frozen=True)
class Announcement:
    """出让公告 (RULES 3.2, N Art.9). The parcel, method, prices, deposit and bidder
    conditions come from the plan itself; this holds the rest."""

    announcement_no: str  # 公告编号
    seller: str  # 出让人
    published_at: int  # µs UTC
    schedule: Schedule
    place_and_method: str  # 出让时间、地点和方式 (the online system's address, how bids are made)
    application: str  # 竞买申请: who may apply, documents, how to qualify
    contacts: str  # 联系方式
    channels: frozenset[Channel]  # Q29: where it was published
    other_matters: str = ""  # 其他事项
    # 公告标题 as the operator writes it; '': made from the seller and the method
    # (auction/documents/landchina.py). Left out of stored payloads while empty.
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = self.schedule.to_dict()
        data["channels"] = sorted(c.value for c in self.channels)
        if not self.title:
            del data["title"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Announcement:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["schedule"] = Schedule.from_dict(data["schedule"])
        values["channels"] = frozenset(Channel(c) for c in data["channels"])
        return cls(**values)


@dataclass(frozen=True)
class Appraisal:
    """土地估价报告 (Q25): by a qualified agency, filed electronically."""

    appraisal_id: str  # this system's id for the report
    agency: str  # 估价机构
    qualification_cert: str  # 资质（资格）证书编号
    filing_no: str  # 电子备案号
    valuation_date: date  # 估价期日 (China date)
    valid_until: date  # 报告有效期截止日 (China date, inclusive)
    unit_price_fen_per_m2: int  # 评估单价
    total_price_fen: int  # 评估总价

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["valuation_date"] = self.valuation_date.isoformat()
        data["valid_until"] = self.valid_until.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Appraisal:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["valuation_date"] = date.fromisoformat(data["valuation_date"])
        values["valid_until"] = date.fromisoformat(data["valid_until"])
        return cls(**values)
