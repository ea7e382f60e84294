"""The console as an in-process client of the operator API.

Stand-in commands (session creation, qualification) and the pages drawn from
other issues' routes (plans, the transaction confirmation, the deadline board)
go through the JSON API's own handlers: the same validation, the same service
commands, the same answers, and the console follows when those routes change.
A route that does not exist (yet) answers 404, and the page says so.

The request goes straight to the router (no middleware: the console writes its
own audit record), authenticated as the operator desk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import Message

from auction.settings import Settings


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any  # parsed JSON, or None
    raw: bytes = b""
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def missing_route(self) -> bool:
        """404 from the router itself (no such route), not a 404 about an object."""
        return self.status == 404 and not (isinstance(self.body, dict) and "error" in self.body)

    @property
    def error(self) -> dict[str, Any]:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            error: dict[str, Any] = self.body["error"]
            return error
        return {"code": f"HTTP_{self.status}", "message": "", "details": {}}


async def call_api(request: Request, settings: Settings, method: str, path: str,
                   body: dict[str, Any] | None = None, query: str = "") -> ApiAnswer:
    raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    headers = [(b"authorization", f"Bearer {settings.operator_key}".encode()), (b"host", b"console.internal")]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": quote(path).encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "state": dict(request.scope.get("state") or {}),
        "app": request.app,
    }
    sent = False
    status = 500
    content_type = ""
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for key, value in message.get("headers", []):
                if key.lower() == b"content-type":
                    content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await request.app.router(scope, receive, send)
    data = b"".join(chunks)
    parsed = None
    if content_type.startswith("application/json") and data:
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
    return ApiAnswer(status, parsed, data, content_type)


def route_exists(request: Request, method: str, path: str) -> bool:
    """Whether the application has a route for `method path` (without running it)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)
