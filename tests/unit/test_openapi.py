"""The API document (auction/entrypoints/http/openapi.py) is written from the route
tables the app routes with: every route of the built app under /api (and the bank's
webhook) is described with its methods, and nothing else is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Route

from auction.app import create_app
from auction.domain.codes import Code
from auction.entrypoints.api.routes import _absent as absent
from auction.entrypoints.http.openapi import PATH
from auction.settings import Settings


KEY = "k" * 32


async def _app_and_document(**settings: Any) -> tuple[set[tuple[str, str]], dict[str, Any]]:
    """The API routes the built app serves (a stand-in while stand-ins are off answers 404
    as an unknown path does: not served), and the document it serves."""
    app = create_app(Settings(operator_key=KEY, **settings), "postgresql://unused")  # the lifespan never runs
    served = {(method.lower(), route.path) for route in app.routes if isinstance(route, Route)
              and (route.path.startswith("/api/") or route.path in ("/bank/notifications", "/healthz", "/metrics"))
              and route.endpoint is not absent
              for method in (route.methods or ()) if method != "HEAD"}
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
            assert [f"{{{n}}}" for n in names] == [part for part in path.split("/") if part.startswith("{")]
            assert operation["responses"]["4XX"] == {"$ref": "#/components/responses/Refused"}
            if method == "post" and path.startswith("/api/") and "requestBody" in operation:
                assert operation["requestBody"]["content"]
            ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert codes == [c.value for c in Code]
