"""Public publication pages (Q29), no authentication: announcement and result lists
and details, the Atom feed, and each document's JSON and XML export.

Only stored documents are shown: an announcement holds no bidder or reserve, and a
result exists only after the close (auction/documents/landchina.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from starlette.requests import Request
from markupsafe import Markup
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.documents.landchina import ANNOUNCEMENT, CHANGE, RESULT, UNSOLD, UPDATE, to_xml
from auction.documents.pages import TITLES, atom_feed, detail_body, list_body, list_title, versions_note
from auction.entrypoints.api.routes import Doc, Endpoint
from auction.entrypoints.http.i18n import lang_of
from auction.entrypoints.public.layout import Layout
from auction.settings import Settings
from auction.store import publication as outbox
from auction.store.database import DATABASE_ERRORS

# No script at all; this site's style sheet.
POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'none'; "
          "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"content-security-policy": POLICY, "cache-control": "public, max-age=60"}


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.state.publisher.pool
    return pool


async def _documents(request: Request, kind: str | None) -> list[dict[str, Any]]:
    rows = await outbox.documents(_pool(request), _LISTED[kind] if kind is not None else None)
    return [outbox.stored_document(r["document"]) for r in rows]


# A page's kinds: announcement changes (变更公告) go with the announcements; a result's later
# versions are shown from its page (and their own), not listed beside it.
_KINDS = {ANNOUNCEMENT: (ANNOUNCEMENT, CHANGE), RESULT: (RESULT, UNSOLD, UPDATE)}
_LISTED = {ANNOUNCEMENT: (ANNOUNCEMENT, CHANGE), RESULT: (RESULT, UNSOLD)}


async def _document(request: Request, kind: str | None) -> dict[str, Any] | None:
    document = await outbox.document(_pool(request), request.path_params["document_id"])
    if document is None or (kind is not None and document["kind"] not in _KINDS[kind]):
        return None
    return document


class Pages:
    """The lists and the documents, in the site's layout."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def page(self, request: Request, title: str, body: str) -> Response:
        return self.layout.render(request, "document.html", headers=HEADERS, title=title, body=Markup(body))

    def not_found(self, request: Request) -> Response:
        return self.layout.render(request, "not_found.html", status_code=404, headers=HEADERS)

    def safe(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except DATABASE_ERRORS:
                return self.layout.render(request, "unavailable.html", status_code=503, headers=HEADERS)

        return endpoint

    async def announcements(self, request: Request) -> Response:
        return self.page(request, list_title(ANNOUNCEMENT),
                         list_body(await _documents(request, ANNOUNCEMENT), english_first=lang_of(request) == "en"))

    async def results(self, request: Request) -> Response:
        return self.page(request, list_title(RESULT),
                         list_body(await _documents(request, RESULT), english_first=lang_of(request) == "en"))

    async def announcement(self, request: Request) -> Response:
        return await self.detail(request, ANNOUNCEMENT)

    async def result(self, request: Request) -> Response:
        """A sale's result shows its latest version, saying when it was updated, with every
        version's link; `?version=1` and a later version's own id show that version as it was."""
        document = await _document(request, RESULT)
        if document is None or document["kind"] not in (RESULT, UPDATE):
            return await self.detail(request, RESULT)
        versions = await outbox.result_versions(_pool(request), document["plan_id"])
        shown = document
        if document["kind"] == RESULT and request.query_params.get("version") != "1":
            shown = versions[-1]
        shown = next((v for v in versions if v["document_id"] == shown["document_id"]), shown)
        return self.page(request, TITLES[shown["kind"]], versions_note(versions, shown) + detail_body(shown))

    async def detail(self, request: Request, kind: str) -> Response:
        document = await _document(request, kind)
        if document is None:
            return self.not_found(request)
        return self.page(request, TITLES[document["kind"]], detail_body(document))

    async def export_json(self, request: Request) -> Response:
        document = await _document(request, None)
        if document is None:
            return self.not_found(request)
        return JSONResponse(document, headers={"cache-control": "public, max-age=60"})

    async def export_xml(self, request: Request) -> Response:
        document = await _document(request, None)
        if document is None:
            return self.not_found(request)
        return Response(to_xml(document), media_type="application/xml; charset=utf-8",
                        headers={"cache-control": "public, max-age=60"})


async def feed(request: Request, base: str) -> Response:
    """Absolute links from the configured `AUCTION_PUBLIC_BASE_URL`, never from the request's
    Host header: a feed cached or copied from a request with a forged Host links to this site."""
    documents = await _documents(request, None)
    updated = documents[0]["published_at"] if documents else datetime.now(UTC).isoformat(timespec="seconds")
    return Response(atom_feed(documents, base, updated), media_type="application/atom+xml; charset=utf-8",
                    headers={"cache-control": "public, max-age=60"})


def routes(settings: Settings, layout: Layout | None = None) -> list[Route]:
    """The pages for people (not described in GET /api/openapi.json; the exports are: `exports`)."""
    pages = Pages(layout or Layout())
    safe = pages.safe
    return [
        Route("/public/announcements", safe(pages.announcements)),
        Route("/public/announcements/{document_id}", safe(pages.announcement)),
        Route("/public/results", safe(pages.results)),
        Route("/public/results/{document_id}", safe(pages.result)),
    ]


# Their refusals are the site's pages, for people who followed a link: not the JSON error body.
_UNAVAILABLE = {503: ("the database unavailable: the site's page saying so", "text/html")}
_PAGES_REFUSE = {404: ("no such document: the site's not-found page", "text/html"), **_UNAVAILABLE}


def exports(settings: Settings, layout: Layout | None = None) -> list[Endpoint]:
    """The feed and each document's exports, for machines: routed by app.py from this list,
    which GET /api/openapi.json describes."""
    pages = Pages(layout or Layout())
    safe = pages.safe

    async def atom(request: Request) -> Response:
        return await feed(request, settings.base_url)

    def export(path: str, handler: Any, summary: str, answers: str) -> Endpoint:
        also = _PAGES_REFUSE if "{document_id}" in path else _UNAVAILABLE
        return Endpoint("GET", path, safe(handler), doc=Doc(summary, answers=answers, security=(None,), also=also))

    return [
        export("/public/feed.atom", atom, "公告订阅 / The Atom feed of every published document",
               "application/atom+xml"),
        export("/public/documents/{document_id}.json", pages.export_json,
               "公告导出 / A published document (announcement or result) as JSON", "application/json"),
        export("/public/documents/{document_id}.xml", pages.export_xml,
               "公告导出 / A published document in the landchina XML form", "application/xml"),
    ]
