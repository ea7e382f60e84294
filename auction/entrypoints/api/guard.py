"""What every operator API class shares: the key check in front of each route, the
JSON error body, and reading a JSON body and its text fields.

`OperatorGuard(settings)(handler)` checks the bearer key (constant time), counts
wrong keys per client address and minute (auction/entrypoints/http/limits.py: over the limit
a wrong key gets `OPERATOR_KEY_ATTEMPTS_LIMIT`, the right one still works), runs the handler and
turns a `Rejected` into `{"error": {"code", "message", "details"}}` with its
status, and a database failure into `SERVICE_UNAVAILABLE` (503). The body's size
is limited before any handler reads it (`BodyLimit`, auction/entrypoints/http/input_guards.py).
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auction.adapters.protocol import loads, storable_text
from auction.domain.codes import Code, Rejected
from auction.entrypoints.http.limits import Limits, address_of
from auction.settings import Settings
from auction.store.database import DATABASE_ERRORS

Handler = Callable[[Request], Awaitable[Response]]

STATUS = {
    Code.UNAUTHORIZED: 401,
    Code.NOT_FOUND: 404,
    Code.UNKNOWN_SESSION: 404,
    Code.SESSION_EXISTS: 409,
    Code.CONFLICT: 409,
    Code.SERVICE_UNAVAILABLE: 503,
    Code.BODY_TOO_LARGE: 413,
    Code.INVALID_ID: 400,
    Code.APPLICATION_EXISTS: 409,
    Code.TOKEN_ALREADY_ISSUED: 409,
    Code.TOKEN_NOT_YET_ISSUED: 409,
    Code.TOKEN_VIA_PORTAL: 409,
    Code.RESULT_ALREADY_PUBLISHED: 409,
    Code.SESSION_SOLD: 409,
    Code.OPERATOR_KEY_ATTEMPTS_LIMIT: 429,
    Code.TOKEN_ATTEMPTS_LIMIT: 429,
    Code.RECORD_NOT_FINAL: 409,
    Code.POSTDEAL_NO_RESULT: 409,
    Code.CLOSE_NOT_DUE: 409,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.MEMBER_KEY_REGISTERED: 409,
}


def problem(r: Rejected, retry_after: int | None = None) -> JSONResponse:
    """The error body with its status; `Retry-After` in seconds where a limit says when to come back."""
    headers = {"retry-after": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"error": r.rejection.to_dict()}, status_code=STATUS.get(r.code, 422), headers=headers)


class RetryLater(Exception):
    """A refusal that says when to come back (a limit's window): `refusing` answers it with
    `Retry-After`."""

    def __init__(self, rejected: Rejected, retry_after: int | None) -> None:
        super().__init__(rejected)
        self.rejected = rejected
        self.retry_after = retry_after


def refusing(handler: Handler) -> Handler:
    """`handler` with its refusals as the standard error body, and a database it cannot reach
    as `SERVICE_UNAVAILABLE` (503), never a 500."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except RetryLater as later:
            return problem(later.rejected, later.retry_after)
        except Rejected as r:
            return problem(r)
        except DATABASE_ERRORS:
            return problem(Rejected(Code.SERVICE_UNAVAILABLE))

    return endpoint


class OperatorGuard:
    """Wraps an API handler: the operator key first, then the handler, refusals as JSON."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            self.check_key(request)
            return await handler(request)

        return refusing(endpoint)

    def check_key(self, request: Request) -> None:
        supplied = request.headers.get("authorization", "")
        expected = f"Bearer {self.settings.operator_key}"
        # Wrong keys per client address and minute: over the limit a wrong key is refused as a
        # guess (429); the right key still works, so a stranger behind the same address cannot
        # lock the trading center's desk out.
        limits: Limits | None = getattr(request.state, "limits", None)
        address, now = address_of(request.client), time.monotonic()
        if not self.settings.operator_key or not hmac.compare_digest(supplied.encode(), expected.encode()):
            if supplied and limits is not None:
                if limits.key_failures.blocked(address, now):
                    raise RetryLater(Rejected(Code.OPERATOR_KEY_ATTEMPTS_LIMIT, limit=limits.key_failures.limit),
                                     limits.key_failures.retry_after(address, now))
                limits.key_failures.failed(address, now)
            raise Rejected(Code.UNAUTHORIZED)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is `{}`); `MALFORMED_JSON` otherwise."""
    body = loads(await request.body() or b"{}")
    if not isinstance(body, dict):
        raise Rejected(Code.MALFORMED_JSON, "expected a JSON object")
    return body


def text_field(body: dict[str, Any], name: str, max_len: int = 200, *, required: bool = True) -> str:
    """A text field, stripped: storable text of at most `max_len` characters, not blank.
    Not `required`: absent is "", and blank is allowed."""
    value = body.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len \
            or not storable_text(value):
        raise Rejected(Code.INVALID_FIELD, f"{name}: text of at most {max_len} characters", field=name)
    return value.strip()
