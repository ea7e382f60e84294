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

Each route also carries what `GET /api/openapi.json` says of it (`Doc`: a summary,
the JSON Schema of its body, its query parameters, the media type it answers
with); auction/entrypoints/http/openapi.py writes the document from these same
tables, so a route cannot exist without being described, nor the other way round.
The routes anyone may call (the public records, the bidders' token routes) are
`Endpoint`s too, routed as they are by `open_routes` (each handler answers its own
refusals, no key) from the same list the document is written from, with their own
security scheme in their `Doc`.
The schemas describe what the handlers check (they stay the judges: a body outside
its schema is refused by the handler with its own code).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from auction.domain.codes import MESSAGES, Code, Rejected
from auction.entrypoints.api.guard import OperatorGuard, json_body, problem
from auction.settings import Settings

Reader = Callable[[Request], Awaitable[Any]]
Writer = Callable[[Request, dict[str, Any]], Awaitable[Any]]
Schema = dict[str, Any]  # a JSON Schema (OpenAPI 3.1)

# The words the tables' body schemas are written in.
TIME: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset, 2000-2199"}
DATE: Schema = {"type": "string", "format": "date", "description": "YYYY-MM-DD, 2000-2199"}
FEN: Schema = {"type": "integer", "minimum": 1, "description": "an amount in fen (分)"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}


def text(max_len: int = 200) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": max_len}


def obj(*required: str, **properties: Schema) -> Schema:
    """A JSON object with these properties, `required` among them."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


@dataclass(frozen=True)
class Doc:
    """What the API document says of a route."""

    summary: str = ""
    body: Schema | None = None  # a JSON body's schema (None: the route reads none)
    query: Mapping[str, Schema] = field(default_factory=dict)  # optional query parameters
    answers: str = "application/json"  # the media type of its success
    raw_body: str | None = None  # post_raw: the media type of the body it reads itself
    # The security schemes that admit it, any one of them (None: anyone, no credentials).
    security: tuple[str | None, ...] = ("operatorKey",)
    required_query: tuple[str, ...] = ()  # the names in `query` the route refuses to go without
    # Answers worth naming beyond the success and the standard refusals: status -> (what, media type);
    # a refusal in application/json is the standard error body, any other media type a page for people.
    also: Mapping[int, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Reader
    status: int = 200
    stand_in: bool = False  # tests and demo only: absent unless stand-ins are on
    doc: Doc = Doc()


def get(path: str, handler: Reader, summary: str = "", *, query: Mapping[str, Schema] | None = None,
        answers: str = "application/json") -> Endpoint:
    return Endpoint("GET", path, handler, doc=Doc(summary, None, query or {}, answers))


def post(path: str, handler: Writer, summary: str = "", *, status: int = 200, stand_in: bool = False,
         body: Schema | None = None) -> Endpoint:
    async def with_body(request: Request) -> Any:
        return await handler(request, await json_body(request))

    return Endpoint("POST", path, with_body, status, stand_in, Doc(summary, body if body is not None else OBJECT))


def post_raw(path: str, handler: Reader, summary: str = "", *, status: int = 200,
             query: Mapping[str, Schema] | None = None, raw_body: str | None = None) -> Endpoint:
    return Endpoint("POST", path, handler, status, doc=Doc(summary, None, query or {}, raw_body=raw_body))


def unknown_route_message() -> dict[str, Any]:
    return {"error": {"code": Code.NOT_FOUND.value, "message": MESSAGES[Code.NOT_FOUND], "details": {}}}


def open_routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """Routes without the operator key: each handler checks what it needs and answers its refusals."""
    return [Route(e.path, e.handler, methods=[e.method]) for e in endpoints]


async def _absent(request: Request) -> Response:
    return JSONResponse(unknown_route_message(), status_code=404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """app.py's handler for routing's 405 (a path that exists, asked with a method it does not
    take, on every route): the error body every refusal has (`METHOD_NOT_ALLOWED`,
    `details.allow`), with the `Allow` header routing gave."""
    # Routing names only the first route whose path matched, and a table routes each method of
    # a path on a route of its own: the methods are gathered from every route at this path (a
    # stand-in that is off, answering 404, offers none).
    scope = request.scope  # as the app saw it (a mount on the way left its own root in it)
    allow = sorted(_methods_at(request.app.routes, {**scope, "root_path": scope.get("app_root_path", "")}))
    response = problem(Rejected(Code.METHOD_NOT_ALLOWED, allow=allow))
    response.headers["allow"] = ", ".join(allow)
    return response


def _methods_at(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    found: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            found |= _methods_at(route.routes, {**scope, **child})
        elif isinstance(route, Route) and route.methods and route.endpoint is not _absent:
            found |= route.methods
    return found


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
