"""Public publication pages (Q29), no authentication: announcement and result lists
and details, the Atom feed, and each document's JSON and XML export.

Only stored documents are shown: an announcement holds no bidder or reserve, and a
result exists only after the close (auction/documents/landchina.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from auction.documents.landchina import ANNOUNCEMENT, CHANGE, RESULT, UNSOLD, to_xml
from auction.documents.pages import STYLE, atom_feed, detail_page, list_page
from auction.settings import Settings
from auction.store import publication as outbox

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# No script at all; the one inline style by its hash.
POLICY = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self'; form-action 'none'; "
          "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"content-security-policy": POLICY, "cache-control": "public, max-age=60"}


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.state.publisher.pool
    return pool


def _not_found() -> Response:
    return HTMLResponse('<!DOCTYPE html><html lang="zh-CN"><meta charset="utf-8"><title>未找到</title>'
                        "<p>未找到该文件。</p></html>", status_code=404, headers=HEADERS)


async def _documents(request: Request, kind: str | None) -> list[dict[str, Any]]:
    rows = await outbox.documents(_pool(request), _KINDS[kind] if kind is not None else None)
    return [dict(json.loads(r["document"])) for r in rows]


# A page's kinds: announcement changes (变更公告) go with the announcements.
_KINDS = {ANNOUNCEMENT: (ANNOUNCEMENT, CHANGE), RESULT: (RESULT, UNSOLD)}


async def _document(request: Request, kind: str | None) -> dict[str, Any] | None:
    document = await outbox.document(_pool(request), request.path_params["document_id"])
    if document is None or (kind is not None and document["kind"] not in _KINDS[kind]):
        return None
    return document


def _unavailable() -> Response:
    return HTMLResponse("<!DOCTYPE html><p>服务暂不可用，请稍后再试。</p>", status_code=503, headers=HEADERS)


def _safe(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return _unavailable()

    return endpoint


async def announcements(request: Request) -> Response:
    return HTMLResponse(list_page(ANNOUNCEMENT, await _documents(request, ANNOUNCEMENT)), headers=HEADERS)


async def results(request: Request) -> Response:
    return HTMLResponse(list_page(RESULT, await _documents(request, RESULT)), headers=HEADERS)


async def announcement(request: Request) -> Response:
    document = await _document(request, ANNOUNCEMENT)
    return _not_found() if document is None else HTMLResponse(detail_page(document), headers=HEADERS)


async def result(request: Request) -> Response:
    document = await _document(request, RESULT)
    return _not_found() if document is None else HTMLResponse(detail_page(document), headers=HEADERS)


async def export_json(request: Request) -> Response:
    document = await _document(request, None)
    if document is None:
        return _not_found()
    return JSONResponse(document, headers={"cache-control": "public, max-age=60"})


async def export_xml(request: Request) -> Response:
    document = await _document(request, None)
    if document is None:
        return _not_found()
    return Response(to_xml(document), media_type="application/xml; charset=utf-8",
                    headers={"cache-control": "public, max-age=60"})


async def feed(request: Request, base: str) -> Response:
    """Absolute links from the configured `AUCTION_PUBLIC_BASE_URL`, never from the request's
    Host header: a feed cached or copied from a request with a forged Host links to this site."""
    documents = await _documents(request, None)
    updated = documents[0]["published_at"] if documents else datetime.now(UTC).isoformat(timespec="seconds")
    return Response(atom_feed(documents, base, updated), media_type="application/atom+xml; charset=utf-8",
                    headers={"cache-control": "public, max-age=60"})


def routes(settings: Settings) -> list[Route]:
    async def atom(request: Request) -> Response:
        return await feed(request, settings.base_url)

    return [
        Route("/public/announcements", _safe(announcements)),
        Route("/public/announcements/{document_id}", _safe(announcement)),
        Route("/public/results", _safe(results)),
        Route("/public/results/{document_id}", _safe(result)),
        Route("/public/feed.atom", _safe(atom)),
        Route("/public/documents/{document_id}.json", _safe(export_json)),
        Route("/public/documents/{document_id}.xml", _safe(export_xml)),
    ]
