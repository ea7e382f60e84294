"""`create_app(settings, dsn, migration_dsn=...)`: the routes, the middleware, and a lifespan that
runs what `auction/bootstrap.py` builds and wires (resources are made there, never at import)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from auction.bootstrap import Runtime, running
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api import bank_webhook
from auction.entrypoints.api.bank_webhook import BankWebhook
from auction.entrypoints.api.deadlines import DeadlinesApi
from auction.entrypoints.api.deposits import DepositsApi
from auction.entrypoints.api.operator import OperatorApi, unknown_route_message
from auction.entrypoints.api.plans import PlansApi
from auction.entrypoints.api.publication import PublicationApi
from auction.entrypoints.api.routes import method_not_allowed, open_routes
from auction.entrypoints.api.records import RecordsApi
from auction.entrypoints.api.tenders import BID_PATH, TendersApi, bidder_endpoints
from auction.entrypoints.console.pages import ConsolePages
from auction.entrypoints.http import i18n
from auction.entrypoints.http import metrics as metrics_route
from auction.entrypoints.http import openapi
from auction.entrypoints.http.input_guards import BodyLimit, SafePath
from auction.entrypoints.http.middleware import ApiAudit, SecurityHeaders
from auction.entrypoints.portal.pages import PortalPages
from auction.entrypoints.public.bidder_page import routes as bidder_page_routes
from auction.entrypoints.public.bidder_page import session_endpoint
from auction.entrypoints.public.hall import Hall
from auction.entrypoints.public.layout import FORM_AREAS, Layout, is_page_area
from auction.entrypoints.public.pages import exports as public_exports
from auction.entrypoints.public.pages import routes as public_page_routes
from auction.entrypoints.public.transparency import endpoints as transparency_endpoints
from auction.entrypoints.public.tender_watch import TenderWatch
from auction.entrypoints.ws.bidder import BidderEndpoint
from auction.services.session import now_us
from auction.settings import Settings
from auction.store import nodes
from auction.store.database import DATABASE_ERRORS


def _not_ready(status: str) -> JSONResponse:
    """`/healthz` not ready: its `status` for probes, and the standard error body beside it."""
    error = Rejected(Code.SERVICE_UNAVAILABLE, status).rejection.to_dict()
    return JSONResponse({"status": status, "error": error}, status_code=503)


def create_app(settings: Settings, dsn: str, *, migration_dsn: str | None = None) -> Starlette:
    """`dsn`: the server's login; `migration_dsn`: the schema owner's, which runs the
    migrations (None: `dsn` migrates, and so owns the schema; warned at start-up)."""
    holder: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        async with running(settings, dsn, migration_dsn) as runtime:
            holder["rt"] = runtime
            yield runtime.state()

    api = OperatorApi(settings)
    # The operator APIs' route tables: routed below, and described by GET /api/openapi.json.
    plans_api, deposits_api, deadlines_api = PlansApi(settings), DepositsApi(settings), DeadlinesApi(settings)
    records_api, publication_api = RecordsApi(settings), PublicationApi(settings)
    tenders_api = TendersApi(settings)
    tables = (api, plans_api, deposits_api, deadlines_api, records_api, publication_api, tenders_api)
    endpoint = BidderEndpoint(settings)

    async def healthz(request: Request) -> Response:
        rt = holder.get("rt")
        if rt is None:
            return _not_ready("starting")
        try:
            await nodes.ping(rt.pool)
        except DATABASE_ERRORS:
            return _not_ready("database unavailable")
        return JSONResponse({"status": "ok", "node": settings.node_id, "server_time_us": now_us(),
                             "connections": endpoint.connections})

    layout = Layout()
    # The routes anyone may call (no operator key): routed below, and described by GET /api/openapi.json:
    # the sessions' signed logs and public records, the documents' exports (/public/...), the bidders' token
    # routes (/bid/session; tenders, RULES 6: /tender/...).
    public = [*transparency_endpoints(), *public_exports(settings, layout), session_endpoint(settings),
              *bidder_endpoints(settings)]

    async def not_found(request: Request, exc: Exception) -> Response:
        # A person in a browser (a GET under the pages' paths) gets a page in the layout; the
        # JSON API, and any other request, the error body every unknown route gets.
        if request.method in ("GET", "HEAD") and is_page_area(request.url.path):
            return layout.not_found(request)
        return JSONResponse(unknown_route_message(), status_code=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        # A console form's address opened in a browser gets a page in the layout (with the
        # `Allow` header); the JSON API keeps its error body.
        response = await method_not_allowed(request, exc)
        if request.method in ("GET", "HEAD") and request.url.path != "/" and is_page_area(request.url.path, FORM_AREAS):
            return layout.not_allowed(request, response.headers["allow"])
        return response

    app = Starlette(
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws", endpoint.serve), *api.routes(), *plans_api.routes(),
                # after the trade: the bank's notices, deposits, the legal clock, the sold session's records
                *BankWebhook(settings).routes(), *deposits_api.routes(), *deadlines_api.routes(),
                *records_api.routes(),
                *ConsolePages(settings).routes(), *bidder_page_routes(settings),
                *publication_api.routes(), *public_page_routes(settings, layout),
                *Hall(settings, layout).routes(), *i18n.routes(),
                *PortalPages(settings).routes(),  # the bidders' portal (/portal)
                *metrics_route.routes(settings),  # GET /metrics, as AUCTION_METRICS says
                *openapi.routes(settings, tables, public),  # GET /api/openapi.json, from the lists above
                *open_routes(public),
                *tenders_api.routes(), *TenderWatch(layout).routes()],  # tenders (RULES 6)
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_allowed},
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,  # inside the audit: a 413 is recorded
                       smaller={bank_webhook.PATH: bank_webhook.MAX_BODY},
                       larger=((BID_PATH, settings.tender_bid_max_bytes),))  # a sealed bid carries its proposal
    app.add_middleware(ApiAudit, operator_key=settings.operator_key)  # every console action and POST /api/... (README, Security)
    app.add_middleware(SafePath)  # outside it: a path with NUL names nothing and cannot be stored
    app.add_middleware(SecurityHeaders)
    return app
