"""Demo data for `make run`: one listing and one auction, four demo bidders each.

DEMO ONLY: time is compressed (a 10-minute listing instead of the legal 10 days,
N Art.18) so a person can watch a whole session. Sessions are created through
the same service as the operator API's stand-in path.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from auction.domain.china import CST, china_date
from auction.domain.codes import Rejected
from auction.domain.commands import CreateSession
from auction.domain.terms import MINUTE, SECOND, Method, SessionRules, SessionTerms
from auction.services.registration import qualify
from auction.services.session import SessionService
from auction.settings import Settings

WAN = 1_000_000  # fen per 万元
NAMES = ["云岭置业有限公司", "珠江城建集团有限公司", "麒麟房地产开发有限公司", "南盘江投资有限公司"]


async def load(service: SessionService, settings: Settings, tokens_file: Path) -> list[dict[str, Any]]:
    """Create the demo sessions unless open ones exist; return the rows to print."""
    if tokens_file.exists():
        rows: list[dict[str, Any]] = json.loads(tokens_file.read_text())
        try:
            states = [await service.state(sid) for sid in {r["session_id"] for r in rows}]
            if all(not s.final for s in states):
                return rows
        except Rejected:
            pass
    now = service.clock()
    stamp = now // SECOND % 1_000_000
    rules = replace(settings.rules, min_listing_period=0)  # DEMO: compressed time
    listing = SessionTerms(
        session_id=f"DEMO-L-{stamp}", parcel_ref="曲靖市麒麟区 QJ2026-017 号地块（演示）",
        method=Method.LISTING, start_price=8_000 * WAN, increment=50 * WAN, deposit=1_600 * WAN,
        start_at=now + 10 * SECOND, listing_end_at=now + 10 * MINUTE, countdown=2 * MINUTE,
        registration_closes_at=now + 10 * SECOND, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    auction = SessionTerms(
        session_id=f"DEMO-A-{stamp}", parcel_ref="曲靖市沾益区 QJ2026-021 号地块（演示）",
        method=Method.AUCTION, start_price=3_000 * WAN, increment=20 * WAN, deposit=600 * WAN,
        start_at=now + 3 * MINUTE, listing_end_at=None, countdown=5 * MINUTE,
        registration_closes_at=now + 3 * MINUTE, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    rows = []
    for terms, reserve in ((listing, 8_100 * WAN), (auction, None)):
        await service.create(CreateSession(terms), reserve)
        for name in NAMES:
            q = await qualify(service, terms.session_id, name, timedelta(days=30))
            rows.append({"session_id": terms.session_id, "method": terms.method.value, "bidder_no": q.bidder_no,
                         "legal_name": name, "token": q.token})
    await hall_sessions(service, rules, now, stamp)
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    tokens_file.chmod(0o600)
    return rows


async def hall_sessions(service: SessionService, rules: SessionRules, now: int, stamp: int) -> None:
    """Two more sessions for the public trading hall (/hall), without bidders: an auction
    tomorrow at 10:00 CST (upcoming) and one that opens at once and, with no bids, closes
    unsold when its 1-minute countdown runs out (recently closed). Not in the tokens file:
    a restart keeps reusing the demo sessions while those are open."""
    tomorrow = datetime.combine(china_date(now) + timedelta(days=1), time(10), CST)
    start = int(tomorrow.timestamp()) * SECOND
    upcoming = SessionTerms(
        session_id=f"DEMO-U-{stamp}", parcel_ref="曲靖市马龙区 QJ2026-025 号地块（演示）",
        method=Method.AUCTION, start_price=5_200 * WAN, increment=30 * WAN, deposit=1_040 * WAN,
        start_at=start, listing_end_at=None, countdown=5 * MINUTE,
        registration_closes_at=start, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    brief = SessionTerms(
        session_id=f"DEMO-C-{stamp}", parcel_ref="曲靖市陆良县 QJ2026-009 号地块（演示）",
        method=Method.AUCTION, start_price=1_200 * WAN, increment=10 * WAN, deposit=240 * WAN,
        start_at=now + 5 * SECOND, listing_end_at=None, countdown=MINUTE,
        registration_closes_at=now + 5 * SECOND, has_reserve=False, reserve_commitment=None, rules=rules,
    )
    for terms in (upcoming, brief):
        await service.create(CreateSession(terms), None)
