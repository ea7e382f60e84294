"""Two ASGI middlewares at the application's input edge (README "Security", Limits).

`SafePath`: a path or query with a control character (`%00`, `%01`, ... `%1F`,
`%7F`) names nothing this server keeps (every id is printable text, and
PostgreSQL refuses NUL outright), so it is answered `400 INVALID_ID` here, once
for every route (API, console, public pages), before any handler or the audit
trail tries to look it up or store it.

`BodyLimit`: a request body larger than `AUCTION_MAX_BODY_BYTES` is answered
`413 BODY_TOO_LARGE`: at once when its Content-Length says so (nothing of it is
read), else as soon as the chunks received pass the limit (chunked transfer, no
Content-Length). The body is read here, up to the limit, and handed on whole,
so no handler ever holds more than the limit, and the answer closes the
connection (the rest of the body is never read).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auction.adapters.protocol import dumps
from auction.domain.codes import Code, Rejected

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUERY_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF])|[\x00-\x1f\x7f]")


async def refuse(send: Send, status: int, rejection: Rejected, close: bool = False) -> None:
    """Answer with the standard error body `{"error": {"code", "message", "details"}}`."""
    body = dumps({"error": rejection.rejection.to_dict()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class SafePath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            _CONTROL.search(scope["path"]) or _QUERY_CONTROL.search(scope.get("query_string", b""))
        ):
            await refuse(send, 400, Rejected(Code.INVALID_ID))
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """`max_bytes` for every path; `smaller` holds paths with a lower limit of their own (the bank
    webhook's 16 KiB), so that a body over both is refused with the limit that path keeps;
    `larger`, path patterns that may take more (a sealed tender bid with its proposal file)."""

    def __init__(self, app: ASGIApp, max_bytes: int, smaller: dict[str, int] | None = None,
                 larger: tuple[tuple[re.Pattern[str], int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.smaller = smaller or {}
        self.larger = larger

    def limit(self, path: str) -> int:
        for pattern, max_bytes in self.larger:
            if pattern.fullmatch(path):
                return max(self.max_bytes, max_bytes)
        return min(self.max_bytes, self.smaller.get(path, self.max_bytes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit(scope["path"])
        too_large = Rejected(Code.BODY_TOO_LARGE, maximum=max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > max_bytes):
                await refuse(send, 413, too_large, close=True)
                return
        chunks: list[bytes] = []
        size = 0
        early: list[Message] = []  # a disconnect before the body ended: handed on as it came
        while True:
            message = await receive()
            if message["type"] != "http.request":
                early.append(message)
                break
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > max_bytes:
                await refuse(send, 413, too_large, close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        first: list[Message] = early or [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return first.pop() if first else await receive()

        await self.app(scope, replay, send)
