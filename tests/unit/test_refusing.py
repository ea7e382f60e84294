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
