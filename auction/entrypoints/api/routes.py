"""One route table per operator API: each route is declared once, and the wrapper around
every handler is written once, here.

An API class (`RouteTable`) lists its routes in `table()`: `get(path, handler)`,
`post(path, handler, status=201)`, with `stand_in=True` for the stand-ins of
auction/entrypoints/api/operator.py. For each route the wrapper

- answers 404 `NOT_FOUND`, exactly as an unknown route does, for a stand-in while
  stand-ins are off (`Settings.stand_ins_on`), before the key is even looked at;
- checks the operator key and turns a refusal into its JSON error body
  (`OperatorGuard`, auction/entrypoints/api/guard.py);
- reads the JSON body of a `post` route and hands it to the handler with the request
  (`post_raw`: the handler gets the request alone, and reads a raw body itself, if any);
- answers what the handler returns as JSON with the route's status (a `Response`
  the handler built itself goes out as it is).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.domain.codes import MESSAGES, Code
from auction.entrypoints.api.guard import OperatorGuard, json_body
from auction.settings import Settings

Reader = Callable[[Request], Awaitable[Any]]
Writer = Callable[[Request, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Reader
    status: int = 200
    stand_in: bool = False  # tests and demo only: absent unless stand-ins are on


def get(path: str, handler: Reader) -> Endpoint:
    return Endpoint("GET", path, handler)


def post(path: str, handler: Writer, *, status: int = 200, stand_in: bool = False) -> Endpoint:
    async def with_body(request: Request) -> Any:
        return await handler(request, await json_body(request))

    return Endpoint("POST", path, with_body, status, stand_in)


def post_raw(path: str, handler: Reader, *, status: int = 200) -> Endpoint:
    return Endpoint("POST", path, handler, status)


def unknown_route_message() -> dict[str, Any]:
    return {"error": {"code": Code.NOT_FOUND.value, "message": MESSAGES[Code.NOT_FOUND], "details": {}}}


async def _absent(request: Request) -> Response:
    return JSONResponse(unknown_route_message(), status_code=404)


class RouteTable:
    """An operator API: its routes in `table()`, each behind the operator key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.guard = OperatorGuard(settings)

    def table(self) -> list[Endpoint]:
        raise NotImplementedError

    def routes(self) -> list[Route]:
        return [Route(e.path, self._endpoint(e), methods=[e.method]) for e in self.table()]

    def _endpoint(self, e: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        if e.stand_in and not self.settings.stand_ins_on:
            return _absent

        async def answer(request: Request) -> Response:
            result = await e.handler(request)
            return result if isinstance(result, Response) else JSONResponse(result, status_code=e.status)

        return self.guard(answer)
