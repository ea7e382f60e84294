"""Sign-in for the operator console: cookies, CSRF, roles, and the audit record.

- The session cookie holds a random id (the database keeps its SHA-256):
  `__Host-` prefixed, Secure, HttpOnly, SameSite=Strict, no Domain. Browsers
  keep Secure cookies from http://127.0.0.1 and http://localhost, so the demo
  works without TLS; anywhere else the console must be served over HTTPS.
- CSRF: every form carries the session's token (synchronizer token); the
  sign-in form, which has no session yet, a double-submit token (a cookie and
  the same value in the form). A form from another origin is refused as well.
- Every POST is an action: it is written to `console_audit` with who, what,
  when and the client address, refused ones included. Refusals of requests
  nobody signed in to are rolled up per address and minute
  (auction/staff/refusals.py), so strangers cannot grow the trail at will.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from auction.domain.codes import MESSAGES, Code, Rejected
from auction.staff.roles import Permission, allowed
from auction.store.console import ConsoleStore, SignedIn
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

SESSION_COOKIE = "__Host-auction-console"
LOGIN_COOKIE = "__Host-auction-login"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024

STATUS = {
    Code.UNAUTHORIZED: 401,
    Code.SIGN_IN_FAILED: 401,
    Code.CSRF_TOKEN_INVALID: 403,
    Code.FORBIDDEN: 403,
    Code.SIGN_IN_THROTTLED: 429,
    Code.NOT_FOUND: 404,
    Code.UNKNOWN_SESSION: 404,
    Code.SERVICE_UNAVAILABLE: 503,
}


def grants(who: SignedIn | None) -> dict[str, bool]:
    """What the templates may offer: {permission name: allowed}."""
    return {p.value: who is not None and allowed(who.user.role, p) for p in Permission}


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def set_cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, path="/", secure=True, httponly=True, samesite="strict")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def tokens_match(expected: str | None, supplied: str | None) -> bool:
    if not expected or not supplied:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode())


def same_origin(request: Request) -> bool:
    """A browser names the page a POST comes from; it must be this site. (Clients that send
    no Origin still need the token.)"""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body; anything else reads as an empty form
    (and so fails the CSRF check)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length")
    if kind != "application/x-www-form-urlencoded" or (length and length.isdigit() and int(length) > MAX_FORM_BYTES):
        return {}
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return {}
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
    except (UnicodeDecodeError, ValueError):
        return {}


def local_link(request: Request, target: str | None) -> str | None:
    """A link back to a page of this site (from a Referer), or None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.headers.get("host", ""):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/") and not path.startswith("//") else None


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path of this site, nothing else."""
    if target and target.startswith("/console") and "//" not in target and "\\" not in target:
        return target
    return "/console"


@dataclass
class AuditNote:
    """What a handler tells the audit record about its action."""

    session_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    outcome: str | None = None  # a refusal the handler showed on its own page (beside the field): its code
    action: str | None = None  # what this request turned out to be, if not the route's action (a preview)


Page = Callable[[Request, SignedIn], Awaitable[Response]]
Action = Callable[[Request, SignedIn, dict[str, str], AuditNote], Awaitable[Response]]


class ConsoleAuth:
    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    @staticmethod
    def store(request: Request) -> ConsoleStore:
        return ConsoleStore(request.state.service.store.pool)

    async def signed_in(self, request: Request) -> SignedIn | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie or len(cookie) > 200:
            return None
        return await self.store(request).session(cookie)

    def refusal(self, request: Request, code: Code, who: SignedIn | None = None, message: str | None = None,
                back: str | None = None) -> Response:
        message = message or MESSAGES[code]
        return self.templates.TemplateResponse(
            request, "error.html",
            {"who": who, "can": grants(who), "csrf_field": CSRF_FIELD, "code": code.value, "message": message,
             "back": local_link(request, back or request.headers.get("referer"))},
            status_code=STATUS.get(code, 422),
        )

    def page(self, permission: Permission) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
        """A GET page: sign in first (redirect), then the role's permission (403)."""

        def wrap(handler: Page) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                who: SignedIn | None = None
                try:
                    who = await self.signed_in(request)
                    if who is None:
                        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                        return RedirectResponse(f"/console/login?next={target}", status_code=303)
                    if not allowed(who.user.role, permission):
                        return self.refusal(request, Code.FORBIDDEN, who)
                    response = await handler(request, who)
                except Rejected as r:
                    return self.refusal(request, r.code, who, r.rejection.message, back="/console")
                except DATABASE_ERRORS:
                    log.exception("console page %s", request.url.path)
                    return self.refusal(request, Code.SERVICE_UNAVAILABLE, who)
                response.headers["cache-control"] = "no-store"
                return response

            return endpoint

        return wrap

    def action(self, permission: Permission, name: str) -> Callable[[Action], Callable[[Request], Awaitable[Response]]]:
        """A form POST: signed in, same origin, the session's CSRF token, the role's
        permission; then the handler. Every outcome is audited."""

        def wrap(handler: Action) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                note = AuditNote(session_id=request.path_params.get("session_id"))
                who: SignedIn | None = None
                outcome = "OK"
                try:
                    who = await self.signed_in(request)
                    if who is None:
                        raise Rejected(Code.UNAUTHORIZED, "请先登录 / sign in first")
                    form = await read_form(request)
                    if not same_origin(request) or not tokens_match(who.csrf_token, form.get(CSRF_FIELD)):
                        raise Rejected(Code.CSRF_TOKEN_INVALID)
                    if not allowed(who.user.role, permission):
                        raise Rejected(Code.FORBIDDEN, f"{who.user.role.label}")
                    response = await handler(request, who, form, note)
                    outcome = note.outcome or outcome
                except Rejected as r:
                    outcome = r.code.value
                    note.detail.setdefault("message", r.rejection.message)
                    response = self.refusal(request, r.code, who, r.rejection.message,
                                            back=request.headers.get("referer"))
                except DATABASE_ERRORS:
                    log.exception("console action %s", name)
                    outcome = Code.SERVICE_UNAVAILABLE.value
                    response = self.refusal(request, Code.SERVICE_UNAVAILABLE, who)
                audited = note.action or name
                try:
                    if who is None:  # a stranger's refusal: rolled up per address and minute
                        await request.state.refusals.refused(
                            name, outcome, client_ip(request), action=name, session_id=note.session_id,
                            detail=note.detail)
                    else:
                        await self.store(request).audit(
                            audited, outcome, user=who.user, session_id=note.session_id,
                            client_ip=client_ip(request), detail=note.detail,
                        )
                except DATABASE_ERRORS:
                    log.error("audit record lost: %s %s by %s", name, outcome, who.user.username if who else "-")
                response.headers["cache-control"] = "no-store"
                return response

            return endpoint

        return wrap


Render = Callable[..., Response]  # ConsolePages.render: (request, template, who, status_code=200, **context)


class ConsoleArea:
    """One area of the console's pages: the shared sign-in guard (`page`, `action`) and the renderer."""

    def __init__(self, auth: ConsoleAuth, render: Render) -> None:
        self.auth = auth
        self.render = render

    def get(self, path: str, permission: Permission, page: Page) -> Route:
        """A page (`ConsoleAuth.page`)."""
        return Route(path, self.auth.page(permission)(page), methods=["GET"])

    def post(self, path: str, permission: Permission, name: str, action: Action) -> Route:
        """A form's action, audited as `name` (`ConsoleAuth.action`)."""
        return Route(path, self.auth.action(permission, name)(action), methods=["POST"])
