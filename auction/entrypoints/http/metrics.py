"""`GET /metrics`: the Prometheus exposition of this node's metrics (auction/adapters/metrics.py).

Who may read it is `AUCTION_METRICS` (README, Configuration and Security):
`operator` (the default) asks for the operator key exactly as the operator API
does (the same guard, the same refusals and limits), `open` answers anyone (a
scraper on a private network; bind or firewall the port accordingly), and
`off` leaves the route out: it answers 404 like any unknown path.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auction.adapters.metrics import CONTENT_TYPE, Metrics
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.guard import OperatorGuard, problem
from auction.settings import Settings
from auction.store.database import DATABASE_ERRORS


async def _scrape(request: Request) -> Response:
    metrics: Metrics = request.state.metrics
    try:
        return Response(await metrics.scrape(), media_type=CONTENT_TYPE)
    except DATABASE_ERRORS:
        return problem(Rejected(Code.SERVICE_UNAVAILABLE))  # the database's gauges cannot be read


def routes(settings: Settings) -> list[Route]:
    if settings.metrics == "off":
        return []
    if settings.metrics == "open":
        return [Route("/metrics", _scrape, methods=["GET"])]
    return [Route("/metrics", OperatorGuard(settings)(_scrape), methods=["GET"])]
