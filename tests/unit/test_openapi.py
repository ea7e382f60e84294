"""The API document (auction/entrypoints/http/openapi.py) is written from the route
tables and endpoint lists the app routes with: every HTTP route of the built app is
described with its methods, and nothing else is, except the pages for people below
(a short, explicit list)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from auction.app import create_app
from auction.domain.codes import Code
from auction.entrypoints.api.routes import _absent as absent
from auction.entrypoints.http.openapi import PATH
from auction.settings import Settings


KEY = "k" * 32
# Pages for people, not described (the document says so): the console (its downloads too: the same
# records are under /api/ with the key), the hall, the portal, the bidder page and its files, the
# public lists and document pages, the language switch.
PAGES = re.compile(r"/(console|portal|hall)(/.*)?|/|/bid(/tender)?|/favicon\.ico|/i18n\.js|/lang/\{lang\}|/static/\{path\}"
                   r"|/public/(announcements|results)(/\{document_id\})?")


def _served(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every (method, path) the routes answer over HTTP, through every Mount (a mounted app: any path)."""
    for route in routes:
        if isinstance(route, Mount):
            yield from (_served(route.routes, prefix + route.path) if route.routes
                        else [("get", f"{prefix}{route.path}/{{path}}")])
        elif isinstance(route, Route) and route.endpoint is not absent:
            yield from ((m.lower(), prefix + route.path) for m in (route.methods or ()) if m != "HEAD")


async def _app_and_document(**settings: Any) -> tuple[set[tuple[str, str]], dict[str, Any]]:
    """The routes the built app serves, pages for people aside (a stand-in while stand-ins are off
    answers 404 as an unknown path does: not served), and the document it serves."""
    app = create_app(Settings(operator_key=KEY, **settings), "postgresql://unused")  # the lifespan never runs
    served = {(method, path) for method, path in _served(app.routes) if not PAGES.fullmatch(path)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        r = await http.get(PATH, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.text
    return served, r.json()


def _described(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in doc["paths"].items() for method in item}


@pytest.mark.parametrize("settings", [{"stand_ins": True}, {}, {"metrics": "off"}, {"metrics": "open"}],
                         ids=["stand-ins", "production", "metrics-off", "metrics-open"])
async def test_every_served_api_route_is_described_and_no_other(settings: dict[str, Any]) -> None:
    served, doc = await _app_and_document(**settings)
    assert _described(doc) == served


async def test_stand_ins_are_described_only_where_they_exist() -> None:
    assert ("post", "/api/sessions") in _described((await _app_and_document(stand_ins=True))[1])
    assert ("post", "/api/sessions") not in _described((await _app_and_document())[1])


async def test_each_operation_has_a_summary_its_path_parameters_and_the_error_body() -> None:
    _, doc = await _app_and_document(stand_ins=True)
    ids = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] and not operation["summary"].startswith(method.upper()), (method, path)
            names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
            assert names == re.findall(r"{(\w+)}", path)
            assert operation["responses"]["4XX"] == {"$ref": "#/components/responses/Refused"}
            if method == "post" and path.startswith("/api/") and "requestBody" in operation:
                assert operation["requestBody"]["content"]
            ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert codes == [c.value for c in Code]


async def test_the_open_routes_say_how_they_are_called() -> None:
    """No credentials for the public records; the bidding token where a route takes one, as it takes it."""
    _, doc = await _app_and_document()
    assert "HTML pages for people are not described here" in doc["info"]["description"]
    paths = doc["paths"]
    for path in ("/public/transparency/key", "/public/sessions/{session_id}/record.json", "/public/feed.atom",
                 "/public/documents/{document_id}.json", "/healthz"):
        assert paths[path]["get"]["security"] == [], path
    assert paths["/api/sessions/{session_id}"]["get"]["security"] == [{"operatorKey": []}]
    assert paths["/tender/{tender_id}"]["get"]["security"] == [{}, {"bidderToken": []}]  # the token optional
    bid = paths["/tender/{tender_id}/bid"]["post"]
    assert bid["security"] == [{"bidderToken": []}] and "201" in bid["responses"]
    assert bid["requestBody"]["content"]["application/json"]["schema"]["required"] == ["commitment", "envelope"]
    sign_in = paths["/bid/session"]["post"]  # the token in the body: no scheme, said in the summary
    assert sign_in["security"] == [] and "body" in sign_in["summary"]
    assert sign_in["requestBody"]["content"]["application/json"]["schema"]["required"] == ["token"]
    assert doc["components"]["securitySchemes"]["bidderToken"]["scheme"] == "bearer"
    inclusion = paths["/public/sessions/{session_id}/proof/inclusion"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in inclusion] == [
        ("session_id", "path", True), ("seq", "query", True), ("tree_size", "query", True)]
    record = paths["/public/sessions/{session_id}/record.json"]["get"]["responses"]
    assert record["409"] == {"$ref": "#/components/responses/Refused"}  # RECORD_NOT_FINAL before the end
    export = paths["/public/documents/{document_id}.xml"]["get"]["responses"]
    assert "application/xml" in export["200"]["content"] and "text/html" in export["404"]["content"]
    assert "application/atom+xml" in paths["/public/feed.atom"]["get"]["responses"]["200"]["content"]


def test_healthz_not_ready_answers_its_status_beside_the_standard_error_body() -> None:
    """A probe reads `status`; anything that reads the API's refusals reads the error body (docs/protocol.md)."""
    import json

    from auction.app import _not_ready

    r = _not_ready("database unavailable")
    body = json.loads(bytes(r.body))
    assert r.status_code == 503 and body["status"] == "database unavailable"
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE" and set(body["error"]) == {"code", "message", "details"}
