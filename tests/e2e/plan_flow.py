"""Helpers for the supply plan end-to-end tests: JSON bodies for each plan step,
a committee whose members hold their own Ed25519 keys, and a driver that takes
a plan from draft to announced (and to a session) through the HTTP API.

Time is compressed by the server's environment (`COMPRESSED`): the announcement
period is seconds instead of 20 days, the reserve window a minute.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from collections.abc import Callable
from typing import Any

from auction.adapters.sealing import signatures
from auction.domain.china import CST
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, Qualified, assert_no_traceback

ROOT = Path(__file__).resolve().parents[2]
ANNOUNCEMENT_SECONDS = 6
COMPRESSED = {
    "AUCTION_ANNOUNCEMENT_MIN_SECONDS": str(ANNOUNCEMENT_SECONDS),
    "AUCTION_RESERVE_WINDOW_SECONDS": "60",
    "AUCTION_REGISTRATION_LEAD_SECONDS": "0",
}
CHANNELS = [
    "LAND_MARKET", "MAINSTREAM_MEDIA", "CHINA_LAND_MARKET", "PROVINCIAL_DEPARTMENT",
    "PUBLIC_RESOURCE_PLATFORM", "ONLINE_TRADING_SYSTEM",
]
AREA = 2_000_000  # 0.01 m²: 20,000 m²
BENCHMARK = 200_000  # fen/m²: the parcel's benchmark total is 4,000 万元
START_PRICE = 5_000 * WAN
INCREMENT = 10 * WAN
FLOOR_PRICE = 450_000


def at(seconds: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def china_today(offset_days: int = 0) -> str:
    return (datetime.now(CST).date() + timedelta(days=offset_days)).isoformat()


async def run_cli(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    """`python -m auction.cli ARGS` (the `auction` command), its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "auction.cli", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    assert_no_traceback(out.decode() + err.decode())
    return proc.returncode, out.decode(), err.decode()


# ---------------------------------------------------------------------------
# bodies


def parcel(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "parcel_no": f"QJ-E2E-{uuid.uuid4().hex[:6]}",
        "location": "曲靖市麒麟区珠江源大道以东",
        "area_m2_hundredths": AREA,
        "land_use": "0701",
        "term_years": 70,
        "plot_ratio_min": 100,
        "plot_ratio_max": 250,
        "benchmark_fen_per_m2": BENCHMARK,
        "readiness": {
            "compensation_settled": True, "no_legal_dispute": True, "title_clear": True,
            "old_certificate_cancelled": True, "planning_conditions_set": True, "development_ready": True,
        },
        "planning": {"building_density_max_bp": 3000, "green_ratio_min_bp": 3500, "height_limit_cm": 8000,
                     "notes": "退让道路红线10米"},
        "conditions_category": "NONE",
        "boundaries": "东至规划路，南至寥廓路，西至现状用地，北至规划绿地",
        "current_state": "净地",
    }
    body.update(overrides)
    return body


def plan_body(method: str = "AUCTION", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_id": f"GD-{uuid.uuid4().hex[:10].upper()}",
        "by": "op-li",
        "parcel": parcel(),
        "method": method,
        "start_price_fen": START_PRICE,
        "increment_fen": INCREMENT,
        "deposit_fen": START_PRICE // 5,
        "bidder_conditions": "",
    }
    body.update(overrides)
    return body


def meeting_body(present: int = 9, yes: int = 6, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "by": "op-li",
        "held_at": iso(at()),
        "chair": "m1",
        "members_present": [f"m{i}" for i in range(1, present + 1)],
        "yes": yes,
        "no": present - yes,
        "abstain": 0,
        "chair_spoke_last": True,
    }
    body.update(overrides)
    return body


def approval_body(**overrides: Any) -> dict[str, Any]:
    body = {"by": "op-li", "approver": "曲靖市人民政府", "document_no": "曲政复〔2026〕12号",
            "approved_at": iso(at())}
    body.update(overrides)
    return body


def appraisal_body(appraisal_id: str = "AP-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "by": "op-wang",
        "appraisal_id": appraisal_id,
        "agency": "云南某土地房地产评估有限公司",
        "qualification_cert": "土估资A2026001",
        "filing_no": "5301262026000123",
        "valuation_date": china_today(-1),
        "valid_until": china_today(180),
        "unit_price_fen_per_m2": 280_000,
        "total_price_fen": 5_600 * WAN,
    }
    body.update(overrides)
    return body


def schedule_body(method: str, start: datetime, listing_seconds: float = 3.0) -> dict[str, Any]:
    if method == "LISTING":
        end = start + timedelta(seconds=listing_seconds)
        return {"start_at": iso(start), "listing_end_at": iso(end),
                "deposit_deadline": iso(start - timedelta(seconds=1)), "registration_closes_at": iso(start)}
    return {"start_at": iso(start), "deposit_deadline": iso(start - timedelta(seconds=1)),
            "registration_closes_at": iso(start)}


def announce_body(schedule: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "by": "op-li",
        "announcement_no": "曲公资土告〔2026〕7号",
        "seller": "曲靖市自然资源和规划局",
        "published_at": iso(at()),
        "schedule": schedule,
        "place_and_method": "曲靖中心城市国有建设用地使用权网上交易系统，网上拍卖",
        "application": "境内法人、自然人和其他组织均可申请，保证金到账后取得竞买资格",
        "contacts": "曲靖市公共资源交易中心 0874-0000000",
        "channels": CHANNELS,
    }
    body.update(overrides)
    return body


# ---------------------------------------------------------------------------
# the committee


@dataclass
class Member:
    member_id: str
    key_file: Path
    public_key_hex: str


@dataclass
class Committee:
    members: list[Member] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [m.member_id for m in self.members]

    @classmethod
    async def register(cls, api: Api, directory: Path, n: int = 3, *, with_cli: bool = False) -> Committee:
        """Members make their keys (`auction committee keygen`, or the same library call)
        and the trading center registers the public keys."""
        committee = cls()
        tag = uuid.uuid4().hex[:6]
        for i in range(1, n + 1):
            member_id, key_file = f"m{i}-{tag}", directory / f"member-{i}-{tag}.key"
            if with_cli:
                code, out, err = await run_cli("committee", "keygen", "--out", str(key_file))
                assert code == 0, err
                public = out.strip()
            else:
                public = signatures.write_private_key(key_file)
            r = await api.post("/api/committee-members",
                               {"member_id": member_id, "name": f"委员{i}", "public_key_hex": public})
            assert r.status_code == 201, r.text
            committee.members.append(Member(member_id, key_file, public))
        return committee

    async def sign(self, plan_id: str, decision: dict[str, Any], *, with_cli: bool = False) -> dict[str, str]:
        """Every member signs the decision record on their own machine."""
        amount = decision["amount_fen"]
        if with_cli:
            async def one(m: Member) -> str:
                args = ["committee", "sign", "--key", str(m.key_file), "--plan-id", plan_id,
                        "--decided-at", decision["decided_at"], "--members", ",".join(decision["members"]),
                        "--appraisal-id", decision["appraisal_id"],
                        "--floor-price-fen-per-m2", str(decision["floor_price_fen_per_m2"])]
                args += ["--no-reserve"] if amount is None else ["--amount-fen", str(amount),
                                                                 "--salt", decision["salt"]]
                code, out, err = await run_cli(*args)
                assert code == 0, err
                return out.strip()

            signed = await asyncio.gather(*(one(m) for m in self.members if m.member_id in decision["members"]))
            return dict(zip([m.member_id for m in self.members if m.member_id in decision["members"]], signed))
        record = signatures.decision_bytes(
            plan_id,
            amount=amount,
            salt=decision.get("salt"),
            decided_at=signatures.parse_time(decision["decided_at"]),
            members=tuple(decision["members"]),
            appraisal_id=decision["appraisal_id"],
            floor_price_fen_per_m2=decision["floor_price_fen_per_m2"],
        )
        return {
            m.member_id: signatures.sign(signatures.read_private_key(m.key_file), record).hex()
            for m in self.members if m.member_id in decision["members"]
        }

    async def decision(self, plan_id: str, amount: int | None, *, salt: str | None = None,
                       with_cli: bool = False, **overrides: Any) -> dict[str, Any]:
        """The body of POST /api/plans/{id}/reserve, signed by every member."""
        body: dict[str, Any] = {
            "by": self.ids[0],
            "amount_fen": amount,
            "salt": salt or signatures.new_salt(),
            "decided_at": iso(at()),
            "members": self.ids,
            "appraisal_id": "AP-1",
            "floor_price_fen_per_m2": FLOOR_PRICE,
        }
        body.update(overrides)
        body["signatures"] = await self.sign(plan_id, body, with_cli=with_cli)
        return body


# ---------------------------------------------------------------------------
# driving a plan


async def ok(api: Api, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = await api.post(path, body)
    assert r.status_code == status, r.text
    view: dict[str, Any] = r.json()
    return view


async def refused(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await api.post(path, body)
    assert r.status_code >= 400, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


async def approved_plan(api: Api, method: str = "AUCTION", **overrides: Any) -> str:
    """Drafted, passed by the committee (6 of 9), approved, with appraisal AP-1: the plan id."""
    body = plan_body(method, **overrides)
    await ok(api, "/api/plans", body, 201)
    plan_id: str = body["plan_id"]
    await ok(api, f"/api/plans/{plan_id}/committee-meeting", meeting_body())
    await ok(api, f"/api/plans/{plan_id}/government-approval", approval_body())
    await ok(api, f"/api/plans/{plan_id}/appraisal", appraisal_body())
    return plan_id


async def announced_plan(api: Api, method: str = "AUCTION", *, start_in: float = ANNOUNCEMENT_SECONDS + 1.0,
                         listing_seconds: float = 3.0, **overrides: Any) -> tuple[str, datetime]:
    """An announced plan whose bidding starts `start_in` seconds from now: (plan id, start)."""
    plan_id = await approved_plan(api, method, **overrides)
    start = at(start_in)
    await ok(api, f"/api/plans/{plan_id}/announce", announce_body(schedule_body(method, start, listing_seconds)))
    return plan_id, start


async def session_of(api: Api, plan_id: str, countdown: int = 2) -> str:
    view = await ok(api, f"/api/plans/{plan_id}/session", {"countdown_seconds": countdown}, 201)
    session_id: str = view["terms"]["session_id"]
    return session_id


async def plan_session_bidder(server_factory: Callable[..., ServerProcess], countdown: int = 60
                              ) -> tuple[ServerProcess, str, Qualified]:
    """A started server with the compressed periods, the session of an auction plan announced to
    start in 60 s, and one qualified bidder (云岭置业有限公司): (server, session id, bidder)."""
    server = server_factory(**COMPRESSED)
    server.start()
    async with Api(server) as api:
        plan_id, _ = await announced_plan(api, start_in=60)
        session_id = await session_of(api, plan_id, countdown=countdown)
        return server, session_id, await api.qualify(session_id, "云岭置业有限公司")


async def sealed_auction(api: Api, committee: Committee, reserve: int = START_PRICE) -> tuple[str, str]:
    """An announced auction plan starting in 9 s, its session (1 s countdown) and the
    committee's reserve decision sealed into it: (plan id, session id)."""
    plan_id, _ = await announced_plan(api, "AUCTION", start_in=9.0)
    session_id = await session_of(api, plan_id, countdown=1)
    await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, reserve))
    return plan_id, session_id


async def plan(api: Api, plan_id: str) -> dict[str, Any]:
    r = await api.get(f"/api/plans/{plan_id}")
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view


def today() -> date:
    return datetime.now(CST).date()
