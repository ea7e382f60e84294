"""`refusing` (auction/entrypoints/api/guard.py): every API handler's refusals are the standard error
body, and a database it cannot reach is 503 SERVICE_UNAVAILABLE, never a 500 (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.guard import refusing


def _answer(error: BaseException | None) -> Response:
    @refusing
    async def handler(request: Request) -> Response:
        if error is not None:
            raise error
        return JSONResponse({"ok": True})

    return asyncio.run(handler(Request({"type": "http", "method": "GET", "path": "/", "headers": []})))


def test_a_refusal_and_a_database_away_are_the_error_body() -> None:
    for error, status, code in ((Rejected(Code.NOT_FOUND), 404, "NOT_FOUND"),
                                (ConnectionRefusedError(), 503, "SERVICE_UNAVAILABLE"),
                                (asyncpg.InterfaceError("pool is closing"), 503, "SERVICE_UNAVAILABLE"),
                                (asyncpg.PostgresError(), 503, "SERVICE_UNAVAILABLE")):
        r = _answer(error)
        assert r.status_code == status and json.loads(bytes(r.body))["error"]["code"] == code, error
    assert _answer(None).status_code == 200


def test_a_405_offers_every_method_of_the_path_but_a_stand_in_that_is_off() -> None:
    """Routing names only the first route that matched the path; a route table routes each method
    on its own, and a stand-in that is off answers 404, so it is not offered."""
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route

    from auction.entrypoints.api.routes import _absent, method_not_allowed

    async def ok(request: Request) -> Response:
        return JSONResponse({})

    app = Starlette(routes=[Route("/api/things", _absent, methods=["POST"]), Route("/api/things", ok, methods=["GET"]),
                            Mount("/pages", routes=[Route("/form", ok, methods=["GET"]),
                                                    Route("/form", ok, methods=["POST"])])],
                    exception_handlers={405: method_not_allowed})

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.delete("/api/things"), await client.put("/pages/form")

    things, form = asyncio.run(ask())
    assert things.status_code == 405 and things.json()["error"]["details"]["allow"] == ["GET", "HEAD"]
    assert things.headers["allow"] == "GET, HEAD"
    assert form.status_code == 405 and form.json()["error"]["details"]["allow"] == ["GET", "HEAD", "POST"]
