"""The bidder's browser page (`/bid`) and the static files of the console and the page.

The page is plain JavaScript served as files (no build step). It signs in
with the bidding token: `POST /bid/session` tells which session the token is
for (and the announced parcel facts, for a session made from a supply plan),
then the page speaks docs/protocol.md over `/ws` with that token, like any
client. A tender's token (RULES 6) is answered with its tender instead, and the
page goes on to `/bid/tender`, which seals the bid in the browser and posts it
(docs/protocol.md section 10). The token stays in the tab (sessionStorage), never in a cookie,
so no other site can make the browser use it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from auction.adapters.protocol import loads, storable_text
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.guard import problem
from auction.entrypoints.api.plans import parcel_view
from auction.entrypoints.api.routes import Doc, Endpoint, obj
from auction.entrypoints.http.limits import TokenGuess, address_of
from auction.services.deadlines import DeadlineService
from auction.services.plans import PlanService
from auction.services.session import now_us
from auction.services.tender import TenderService
from auction.settings import Settings
from auction.store import sessions as session_rows
from auction.store.events import to_micros
from auction.store.tender.log import TenderLogin
from auction.store.database import DATABASE_ERRORS

# Shared by the console and the bidder page, so it sits beside both (auction/entrypoints/static).
STATIC = Path(__file__).resolve().parents[1] / "static"
# Parcel facts a listing or auction announcement states (N Art.9); not the benchmark price, not readiness.
ANNOUNCED = ("parcel_no", "location", "area_m2", "area_hectares", "land_use", "land_use_name", "term_years",
             "plot_ratio_min", "plot_ratio_max", "planning", "boundaries", "current_state")


def _refused(code: Code, status: int) -> JSONResponse:
    return JSONResponse({"error": Rejected(code).rejection.to_dict()}, status_code=status)


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers={"cache-control": "no-store"})
    return page


bid_page = _page("bid.html")
# A tender's bidder (RULES 6.2): the bid sealed in the page and posted over HTTP, no WebSocket.
tender_bid_page = _page("tender_bid.html")


async def which_session(request: Request, settings: Settings) -> Response:
    """`{"token"}` -> `{"session_id", "bidder_no"}` for a valid, unexpired session token, or
    `{"tender_id", "bidder_no"}` for a tender's (its bidder page is `/bid/tender`)."""
    # The same limit as the WebSocket hello's, in the same count: failed tokens per client address
    # and minute (auction/entrypoints/http/limits.py). Any string is a guess, counted before the
    # look-up and taken back when good; over the limit a wrong token is refused as a guess (429), a
    # valid one still signs in. A body that holds no string token is not a guess (as the hello's
    # INVALID_FIELD): refused as such, and not counted.
    raw = await request.body()
    try:
        token = loads(raw).get("token") if len(raw) <= 1024 else ""
    except Rejected as r:  # not JSON
        return problem(r)
    except AttributeError:  # JSON, not an object
        token = None
    if not isinstance(token, str):
        return problem(Rejected(Code.INVALID_FIELD, "token must be a string", field="token"))
    guess = TokenGuess.start(request.state.limits.token_failures, address_of(request.client), time.monotonic())

    def refused() -> Response:
        r = guess.refusal()  # over the limit: `details.limit` and when to come back
        return problem(r, guess.retry_after()) if guess.blocked else _refused(r.code, 401)
    if not 16 <= len(token) <= 200 or not storable_text(token):
        return refused()
    digest = hashlib.sha256(token.encode()).digest()
    try:
        row = await session_rows.bidder_by_token(request.state.service.store.pool, digest)
        tender = None if row is not None else await tender_bidder(request, digest)
    except DATABASE_ERRORS:
        return _refused(Code.SERVICE_UNAVAILABLE, 503)
    if tender is not None:  # a tender's token: its page seals and posts the bid over HTTP (docs/protocol.md 10)
        guess.good()
        return JSONResponse({"tender_id": tender.tender_id, "bidder_no": tender.bidder_no},
                            headers={"cache-control": "no-store"})
    if row is None or to_micros(row.expires_at) <= now_us():
        return refused()
    guess.good()
    body: dict[str, Any] = {"session_id": row.session_id, "bidder_no": row.bidder_no}
    parcel = await announced_parcel(request, settings, row.session_id)
    if parcel is not None:
        body["parcel"] = parcel
    return JSONResponse(body, headers={"cache-control": "no-store"})


async def tender_bidder(request: Request, digest: bytes) -> TenderLogin | None:
    """The tender bidder (RULES 6) a token's hash names, while its token is valid."""
    tenders: TenderService | None = getattr(request.state, "tenders", None)
    return None if tenders is None else await tenders.bidder_of(digest)


async def announced_parcel(request: Request, settings: Settings, session_id: str) -> dict[str, Any] | None:
    """The parcel facts of the announcement (N Art.9) when the session came from a supply plan
    (as `GET /api/plans/{id}` shows them); nothing from the plan that is not announced."""
    plans: PlanService | None = getattr(request.state, "plans", None)
    deadlines: DeadlineService | None = getattr(request.state, "deadlines", None)
    if plans is None or deadlines is None:
        return None
    try:
        plan_id = await deadlines.plan_of(session_id)
        if plan_id is None:
            return None
        draft = (await plans.fresh_state(plan_id)).draft
    except Rejected:
        return None  # the token's session is known: the page works without the parcel facts
    except DATABASE_ERRORS:
        return None
    if draft is None:
        return None
    parcel = parcel_view(draft.parcel)
    facts = {k: parcel[k] for k in ANNOUNCED if k in parcel}
    facts["bidder_conditions"] = draft.bidder_conditions
    return facts


async def no_icon(request: Request) -> Response:
    return Response(status_code=204)


def session_endpoint(settings: Settings) -> Endpoint:
    """`POST /bid/session`: routed by app.py as GET /api/openapi.json describes it."""
    async def session_of_token(request: Request) -> Response:
        return await which_session(request, settings)

    return Endpoint("POST", "/bid/session", session_of_token, doc=Doc(
        "竞买人登录 / Which session a bidding token is for: {session_id, bidder_no} and the announced parcel "
        "facts; for a tender's token {tender_id, bidder_no} (no session_id). The token travels in the JSON body, not in a header; wrong tokens count against the "
        "client address's limit (401 INVALID_TOKEN, then 429 TOKEN_ATTEMPTS_LIMIT); a body without a string "
        "token is refused as such (422 MALFORMED_JSON or INVALID_FIELD) and not counted",
        obj("token", token={"type": "string", "minLength": 16, "maxLength": 200,
                            "description": "the bidding token (bt_...), as issued"}),
        security=(None,)))


def routes(settings: Settings) -> list[Route | Mount]:
    """The page and its files (for people, not described in GET /api/openapi.json)."""
    return [
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/bid", bid_page, methods=["GET"]),
        Route("/bid/tender", tender_bid_page, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
