"""The public trading hall (交易大厅): today's, upcoming and recently closed sessions with
their parcels, and a live read-only view of each, no sign-in.

The hall shows what a watcher of docs/protocol.md sees and nothing more: the terms, the
public bids by anonymous bidder number, the phase, and after the close the reserve with its
salt (SessionClosed gives them to every watcher); never the reserve before the close, never a
company's name, never a token. The live view follows the session over `/ws` as a
watcher (auction/entrypoints/static/hall.js), like any client. Parcel facts (location,
area) are those of the announcement (N Art.9) for a session made from a supply plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auction.domain.china import china_date
from auction.domain.codes import Rejected
from auction.domain.bidding.events import SessionClosed
from auction.domain.bidding.session import OPEN_PHASES, SessionState, reserve_commitment
from auction.domain.bidding.terms import SECOND
from auction.domain.tender.status import tender_status
from auction.entrypoints.public.bidder_page import announced_parcel
from auction.entrypoints.public.layout import Layout
from auction.services.session import now_us
from auction.settings import Settings
from auction.store import sessions as session_rows
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

RECENT = 7 * 24 * 3600 * SECOND  # closed sessions stay in the hall for a week
LISTED = 200  # the newest sessions looked at
HEADERS = {"cache-control": "no-cache"}


@dataclass(frozen=True)
class HallSession:
    """One line of the hall: the public terms and state of a session, and its parcel facts."""

    session_id: str
    name: str
    location: str | None
    area_hectares: str | None
    method: str
    phase: str
    start_price: int
    increment: int
    start_at: int
    listing_end_at: int | None
    highest: int | None
    bid_count: int
    ended_at: int | None
    outcome: str | None

    @property
    def open(self) -> bool:
        return self.phase in {p.value for p in OPEN_PHASES}


def hall_session(state: SessionState, parcel: dict[str, Any] | None) -> HallSession:
    terms = state.terms
    assert terms is not None
    closed = state.closed
    area = parcel.get("area_hectares") if parcel else None
    return HallSession(
        session_id=terms.session_id,
        name=str(parcel.get("parcel_no") or terms.parcel_ref) if parcel else terms.parcel_ref,
        location=parcel.get("location") if parcel else None,
        area_hectares=None if area is None else str(area),
        method=terms.method.value,
        phase=state.phase.value,
        start_price=terms.start_price,
        increment=state.increment,
        start_at=state.opens_at or terms.start_at,
        listing_end_at=state.listing_end_at or terms.listing_end_at,
        highest=state.highest.amount if state.highest else None,
        bid_count=state.bid_count,
        ended_at=closed.at if closed else (state.last_at if state.final else None),
        outcome=closed.outcome if closed else None,
    )


def revealed_reserve(state: SessionState) -> tuple[SessionClosed | None, bool]:
    """After the close the reserve is public with its salt (SessionClosed gives it to every
    watcher): the close that revealed one, and whether it matches the commitment of the open."""
    closed = state.closed
    if closed is None or closed.reserve is None or closed.reserve_salt is None:
        return None, False
    return closed, reserve_commitment(closed.reserve, closed.reserve_salt) == state.reserve_commitment


def grouped(sessions: list[HallSession], now: int) -> dict[str, list[HallSession]]:
    """Today's (open now, or starting today in CST), upcoming (later days), recently closed."""
    today = china_date(now)
    groups: dict[str, list[HallSession]] = {"today": [], "upcoming": [], "closed": []}
    for s in sessions:
        if s.ended_at is not None:
            if now - s.ended_at <= RECENT:
                groups["closed"].append(s)
        elif china_date(s.start_at) > today and not s.open:
            groups["upcoming"].append(s)
        else:
            groups["today"].append(s)
    groups["today"].sort(key=lambda s: s.start_at)
    groups["upcoming"].sort(key=lambda s: s.start_at)
    groups["closed"].sort(key=lambda s: s.ended_at or 0, reverse=True)
    return groups


class Hall:
    def __init__(self, settings: Settings, layout: Layout) -> None:
        self.settings = settings
        self.layout = layout

    async def _session(self, request: Request, session_id: str) -> tuple[SessionState, HallSession,
                                                                           dict[str, Any] | None]:
        state = await request.state.service.state(session_id)
        parcel = await announced_parcel(request, self.settings, session_id)
        return state, hall_session(state, parcel), parcel

    @staticmethod
    async def _tenders(request: Request) -> list[dict[str, Any]]:
        """The listed tenders with their status now (auction/domain/tender/status.py)."""
        service = request.state.tenders
        now = now_us()
        return [dict(r) | {"status_now": tender_status(await service.state(r["tender_id"]), now)}
                for r in await service.store.rows(LISTED)]

    async def index(self, request: Request) -> Response:
        try:
            rows = await session_rows.listed(request.state.service.store.pool, LISTED)
            tenders = await self._tenders(request)  # 招标 (RULES 6): each has its own page
            sessions = []
            for row in rows:
                try:
                    sessions.append((await self._session(request, row.session_id))[1])
                except Rejected:
                    continue  # created but not yet readable: the next visit shows it
        except DATABASE_ERRORS:
            log.exception("hall")
            return self.layout.render(request, "unavailable.html", status_code=503, body_class="public")
        now = now_us()
        return self.layout.render(request, "hall.html", headers=HEADERS, groups=grouped(sessions, now),
                                  now=now, tenders=tenders, body_class="public")

    async def session(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            state, view, parcel = await self._session(request, session_id)
        except Rejected:
            return self.layout.not_found(request)
        except DATABASE_ERRORS:
            log.exception("hall session %s", session_id)
            return self.layout.render(request, "unavailable.html", status_code=503, body_class="public")
        terms = state.terms
        assert terms is not None
        revealed, reserve_check = revealed_reserve(state)
        return self.layout.render(request, "hall_session.html", headers=HEADERS, s=view, parcel=parcel,
                                  countdown_seconds=terms.countdown // SECOND, has_reserve=state.has_reserve,
                                  commitment=state.reserve_commitment, revealed=revealed,
                                  reserve_check=reserve_check, server_time_us=now_us(), body_class="public hall")

    def routes(self) -> list[Route]:
        return [
            Route("/", self.layout.home, methods=["GET"]),
            Route("/hall", self.index, methods=["GET"]),
            Route("/hall/{session_id}", self.session, methods=["GET"]),
        ]

