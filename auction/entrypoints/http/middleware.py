"""Two small ASGI middlewares around the whole application.

`SecurityHeaders`: every HTTP answer gets nosniff, no framing, a same-origin
referrer policy; the console and the bidder page get a Content-Security-Policy
that allows only this site's own scripts, styles and WebSocket (no inline
script anywhere).

`ApiAudit`: every state-changing call to the JSON API (`POST /api/...`) is an
operator action too, so it goes into `console_audit` with the client address
and the outcome code, like the console's forms. Only the method, path and
outcome are recorded, never the body: some bodies carry a reserve price and its
salt (Q26), which no record may hold. Refusals of calls without the operator
key are rolled up per client address and minute (console/refusals.py): a
stranger cannot grow the append-only trail at will.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auction.staff.roles import Role
from auction.store.console import ConsoleStore, User
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
STATIC_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
SESSION_PATH = re.compile(r"^/api/sessions/([^/]+)")
API_DESK = User("operator-api-key", "操作员接口密钥 / operator API key", Role.OPERATOR)
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _own_page(path: str) -> bool:
    """The console, the bidder page, the hall and their files (other routes set their own policy)."""
    return path == "/" or path.startswith(("/console", "/bid", "/static/", "/hall", "/lang/", "/i18n.js"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in STATIC_HEADERS if k not in present]
                if b"content-security-policy" not in present and _own_page(scope["path"]):
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class ApiAudit:
    def __init__(self, app: ASGIApp, operator_key: str) -> None:
        self.app = app
        self.operator_key = operator_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CHANGING or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def holding(message: Message) -> None:
            held.append(message)

        try:
            await self.app(scope, receive, holding)
        finally:
            # Recorded before the answer leaves: whoever reads the answer finds the record.
            await self._record(scope, held)
            for message in held:
                await send(message)

    def _actor(self, scope: Scope) -> User | None:
        """The operator desk if the call carried the operator key (it names a desk, not a person)."""
        supplied = b""
        for key, value in scope.get("headers", []):
            if key.lower() == b"authorization":
                supplied = value
        expected = f"Bearer {self.operator_key}".encode()
        return API_DESK if self.operator_key and hmac.compare_digest(supplied, expected) else None

    async def _record(self, scope: Scope, held: list[Message]) -> None:
        service: Any = (scope.get("state") or {}).get("service")
        if service is None:
            return
        status = next((int(m["status"]) for m in held if m["type"] == "http.response.start"), 500)
        outcome = "OK"
        if status >= 400:
            body = b"".join(bytes(m.get("body", b"")) for m in held if m["type"] == "http.response.body")
            try:
                outcome = str(json.loads(body)["error"]["code"])
            except (ValueError, KeyError, TypeError):
                outcome = f"HTTP_{status}"
        path: str = scope["path"]
        match = SESSION_PATH.match(path)
        client = scope.get("client")
        action = f"API {scope['method']} {path}"[:300]
        actor = self._actor(scope)
        refusals: Any = (scope.get("state") or {}).get("refusals")
        if actor is None and status >= 400 and refusals is not None:
            # Nobody's key, refused: rolled up per address and minute (console/refusals.py).
            await refusals.refused(f"API {scope['method']}", outcome, client[0] if client else None, action=action,
                                   sample=path, detail={"status": status},
                                   session_id=match.group(1) if match else None)
            return
        try:
            await ConsoleStore(service.store.pool).audit(
                action, outcome, session_id=match.group(1) if match else None,
                user=actor, client_ip=client[0] if client else None, detail={"status": status},
            )
        except DATABASE_ERRORS:
            log.error("audit record lost: API %s %s -> %s", scope["method"], path, outcome)
