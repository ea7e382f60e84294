"""The tender's public watchers' page (RULES 6.3: the opening is public): `/hall/tenders/{id}`.

No sign-in. It shows what `GET /tender/{id}` shows anyone: the terms, before the opening
only that the bids are sealed (not how many, RULES 6.2), then each bid's price, the
panel's progress and the result by anonymous bidder number. The page follows the
tender and reloads itself when it changes (static/tender.js), so the opening at its
set time is watched live; the console's tender page shows the same sections.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auction.domain.codes import Rejected
from auction.domain.tender.status import tender_status
from auction.entrypoints.api.tenders import TENDER_ID, score_text
from auction.entrypoints.public.layout import Layout
from auction.services.session import now_us
from auction.services.tender import TenderService
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

HEADERS = {"cache-control": "no-cache"}


class TenderWatch:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    async def page(self, request: Request) -> Response:
        tender_id = request.path_params["tender_id"]
        service: TenderService = request.state.tenders
        if not TENDER_ID.fullmatch(tender_id):
            return self.layout.not_found(request)
        try:
            state = await service.fresh_state(tender_id)
        except Rejected:
            return self.layout.not_found(request)
        except DATABASE_ERRORS:
            log.exception("tender page %s", tender_id)
            return self.layout.render(request, "unavailable.html", status_code=503, body_class="public")
        return self.layout.render(request, "tender_watch.html", headers=HEADERS, state=state, names={},
                                  status_now=tender_status(state, now_us()),
                                  score_text=score_text, notice_url=None, body_class="public hall")

    def routes(self) -> list[Route]:
        return [Route("/hall/tenders/{tender_id}", self.page, methods=["GET"])]
