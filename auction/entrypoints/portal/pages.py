"""The bidders' portal (竞买人自助): server-rendered pages under `/portal`.

    GET  /portal                                  the company's applications (or sign-in / register links)
    GET  /portal/register · POST                  register: name, 统一社会信用代码, contact, password
    GET  /portal/login · POST                     sign in with the code and the password
    POST /portal/logout
    GET  /portal/parcels                          announced parcels and their sales (sessions, tenders)
    POST /portal/parcels/{sale_id}/apply          apply (the deposit service's application)
    GET  /portal/applications/{id}                sub-account, deposit, status, bidder number, result, refund
    POST /portal/applications/{id}/credentials    the bidding token, shown once, and the way to /bid
    GET  /portal/applications/{id}/confirmation   the winner's 成交确认书 (a tender's: its 中标通知书)

Sign-in as the console's (auction/entrypoints/console/auth.py): a server-side session in
a `__Host-` cookie, a CSRF token in every form (the sign-in and registration forms, which
have no session, a double-submit cookie), same-origin POSTs, and the sign-in back-off per
code and address (auction/entrypoints/http/sign_in.py). A refused form is shown again with
the reason beside the field and what was typed (never the password); nothing changes.

The token never travels in a URL a server sees: the credentials page links to
`/bid#token=…`; the fragment stays in the browser, and the bidder page takes it out
of the address bar at once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.documents.confirmation import render_html
from auction.domain.china import chinese_minute
from auction.domain.codes import MESSAGES, Code, Rejected
from auction.entrypoints.http import i18n
from auction.entrypoints.api.records import session_confirmation
from auction.entrypoints.api.tenders import notice_html
from auction.entrypoints.console import auth
from auction.entrypoints.console.people import cn_day
from auction.entrypoints.console.views import templates as console_templates
from auction.entrypoints.http.middleware import PAGE_POLICY
from auction.entrypoints.http.sign_in import SignInGate
from auction.services.portal import PortalService, Registration, problems
from auction.settings import Settings
from auction.store.events import to_micros
from auction.store.portal import SignedInCompany
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "__Host-auction-portal"
FORM_COOKIE = "__Host-auction-portal-form"  # the double-submit token of the forms without a session
STATUS_LABELS = {
    "AWAITING_DEPOSIT": "待缴纳保证金 / Awaiting the deposit",
    "QUALIFYING": "保证金已足额，资格确认中 / Deposit complete, qualifying",
    "QUALIFIED": "已取得竞买资格 / Qualified to bid",
    "NOT_QUALIFIED": "未取得竞买资格 / Not qualified",
}
REFUND_STATES = {
    "PENDING": "退还中 / Being refunded", "OVERDUE": "已逾期未退 / Overdue", "DONE": "已退还 / Refunded",
    "CALENDAR_MISSING": "待定（工作日历未载入） / Pending the calendar", "DEFAULTED": "不予退还 / Forfeited",
}
REGISTER_FIELDS = ("legal_name", "uscc", "contact_name", "contact_phone")

Page = Callable[[Request, SignedInCompany], Awaitable[Response]]
Action = Callable[[Request, SignedInCompany, dict[str, str]], Awaitable[Response]]


def _templates() -> Any:
    """The console's environment (its filters: 万元, CST, 大写), reading the portal's templates first."""
    t = console_templates()
    console = t.env.loader
    assert console is not None
    t.env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES), console])
    t.env.filters.update(minute=lambda us: "—" if us is None else chinese_minute(us),
                         status=lambda s: STATUS_LABELS.get(s, s), refund_state=lambda s: REFUND_STATES.get(s, s),
                         cday=cn_day)
    i18n.localize_filters(t.env, "status", "refund_state")
    return t


def _no_store(response: Response) -> Response:
    response.headers["cache-control"] = "no-store"
    response.headers.setdefault("content-security-policy", PAGE_POLICY)
    return response


def _field_errors(found: dict[str, Code]) -> dict[str, str]:
    return {name: f"{code.value}: {MESSAGES[code]}" for name, code in found.items()}


class PortalPages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = _templates()

    def routes(self) -> list[Route]:
        page, action = self.page, self.action
        app = "/portal/applications/{application_id}"
        return [
            Route("/portal", self.home, methods=["GET"]),
            Route("/portal/register", self.register_form, methods=["GET"]),
            Route("/portal/register", self.register, methods=["POST"]),
            Route("/portal/login", self.login_form, methods=["GET"]),
            Route("/portal/login", self.login, methods=["POST"]),
            Route("/portal/logout", action(self.logout), methods=["POST"]),
            Route("/portal/parcels", self.parcels, methods=["GET"]),
            Route("/portal/parcels/{sale_id}/apply", action(self.apply), methods=["POST"]),
            Route(app, page(self.application), methods=["GET"]),
            Route(f"{app}/credentials", action(self.credentials), methods=["POST"]),
            Route(f"{app}/confirmation", page(self.confirmation), methods=["GET"]),
        ]

    # ------------------------------------------------------------------
    # plumbing

    @staticmethod
    def service(request: Request) -> PortalService:
        portal: PortalService = request.state.portal
        return portal

    async def who(self, request: Request) -> SignedInCompany | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie or len(cookie) > 200:
            return None
        return await self.service(request).signed_in(cookie)

    def render(self, request: Request, name: str, who: SignedInCompany | None, status_code: int = 200,
               **context: Any) -> Response:
        response = self.templates.TemplateResponse(
            request, name, {"who": who, "csrf_field": auth.CSRF_FIELD, **context}, status_code=status_code)
        return _no_store(response)

    def refusal(self, request: Request, who: SignedInCompany | None, r: Rejected, back: str = "/portal") -> Response:
        status = auth.STATUS.get(r.code, 409 if "EXISTS" in r.code.value else 422)
        return self.render(request, "error.html", who, status,
                           code=r.code.value, message=r.rejection.message, back=back, layout="portal_base.html",
                           home=("/portal", "我的申请 / My applications"), sign_in="/portal/login")

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        """A GET page for a signed-in company (else to the sign-in form)."""
        return self._guarded(handler, post=False)

    def action(self, handler: Action) -> Callable[[Request], Awaitable[Response]]:
        """A form POST: signed in, same origin, the session's CSRF token; then the handler."""

        async def checked(request: Request, who: SignedInCompany) -> Response:
            form = await auth.read_form(request)
            if not auth.same_origin(request) or not auth.tokens_match(who.csrf_token, form.get(auth.CSRF_FIELD)):
                raise Rejected(Code.CSRF_TOKEN_INVALID)
            return await handler(request, who, form)

        return self._guarded(checked, post=True)

    def _guarded(self, handler: Page, *, post: bool) -> Callable[[Request], Awaitable[Response]]:
        """The company signed in, then `handler`; whatever it refuses is shown as a page."""

        async def endpoint(request: Request) -> Response:
            who: SignedInCompany | None = None
            try:
                who = await self.who(request)
                if who is None:
                    if post:
                        raise Rejected(Code.UNAUTHORIZED, "请先登录 / sign in first")
                    return _no_store(RedirectResponse("/portal/login", status_code=303))
                return await handler(request, who)
            except Rejected as r:
                return self.refusal(request, who, r, back=request.headers.get("referer", "/portal") if post
                                    else "/portal")
            except DATABASE_ERRORS:
                log.exception("portal %s %s", request.method, request.url.path)
                return self.refusal(request, who, Rejected(Code.SERVICE_UNAVAILABLE))

        return endpoint

    def _form_page(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        """A form without a session (sign-in, registration), with its double-submit token."""
        token = secrets.token_urlsafe(32)
        response = self.render(request, name, None, status_code, form_token=token, **context)
        auth.set_cookie(response, FORM_COOKIE, token)
        return response

    @staticmethod
    def _form_ok(request: Request, form: dict[str, str]) -> bool:
        token = form.get(auth.CSRF_FIELD)
        return auth.same_origin(request) and auth.tokens_match(request.cookies.get(FORM_COOKIE), token)

    async def _signed_in_as(self, request: Request, company: Any, target: str = "/portal") -> Response:
        cookie = await self.service(request).open_session(company, auth.client_ip(request))
        response = _no_store(RedirectResponse(target, status_code=303))
        auth.set_cookie(response, SESSION_COOKIE, cookie)
        auth.clear_cookie(response, FORM_COOKIE)
        return response

    # ------------------------------------------------------------------
    # registration, sign-in, sign-out

    async def home(self, request: Request) -> Response:
        who = await self.who(request)
        applications = await self.service(request).applications(who.company) if who is not None else []
        return self.render(request, "portal_home.html", who, applications=applications)

    async def register_form(self, request: Request) -> Response:
        return self._form_page(request, "portal_register.html", typed={}, errors={})

    async def register(self, request: Request) -> Response:
        form = await auth.read_form(request)
        typed = {k: form.get(k, "")[:300] for k in REGISTER_FIELDS}
        if not self._form_ok(request, form):
            return self._form_page(request, "portal_register.html", 403, typed=typed,
                                   errors=_field_errors({"form": Code.CSRF_TOKEN_INVALID}))
        registration = Registration(typed["uscc"], typed["legal_name"], typed["contact_name"],
                                    typed["contact_phone"], form.get("password", ""), form.get("password_again", ""))
        found = problems(registration)
        if not found:
            try:
                company = await self.service(request).register(registration)
            except Rejected as r:
                found = {str(r.rejection.details.get("field", "form")): r.code}
            else:
                return await self._signed_in_as(request, company, "/portal/parcels")
        status = 409 if Code.COMPANY_EXISTS in found.values() else 422
        return self._form_page(request, "portal_register.html", status, typed=typed, errors=_field_errors(found))

    async def login_form(self, request: Request) -> Response:
        if await self.who(request) is not None:
            return _no_store(RedirectResponse("/portal", status_code=303))
        return self._form_page(request, "portal_login.html", typed={}, errors={})

    async def login(self, request: Request) -> Response:
        """Sign in with the code and the password; failures slow down the next attempt for that
        code from that address (and any code from it), as the console's sign-in does."""
        form = await auth.read_form(request)
        uscc = "".join(form.get("uscc", "").split()).upper()[:40]
        typed = {"uscc": uscc}

        def again(status: int, code: Code, detail: str = "") -> Response:
            return self._form_page(request, "portal_login.html", status, typed=typed,
                                   errors={"form": f"{code.value}: {MESSAGES[code]}{detail}"})

        if not self._form_ok(request, form):
            return again(403, Code.CSRF_TOKEN_INVALID)
        gate = SignInGate(request.state.limits, f"portal:{uscc}", auth.client_ip(request) or "-")
        seconds = gate.wait()
        if seconds > 0:
            response = again(429, Code.SIGN_IN_THROTTLED, f" ({seconds} s)")
            response.headers["retry-after"] = str(seconds)
            return response
        gate.attempt()
        company = await self.service(request).authenticate(uscc, form.get("password", ""))
        if company is None:
            return again(401, Code.SIGN_IN_FAILED)
        gate.succeeded()
        return await self._signed_in_as(request, company)

    async def logout(self, request: Request, who: SignedInCompany, form: dict[str, str]) -> Response:
        await self.service(request).close_session(request.cookies.get(SESSION_COOKIE, ""))
        response = _no_store(RedirectResponse("/portal/login", status_code=303))
        auth.clear_cookie(response, SESSION_COOKIE)
        return response

    # ------------------------------------------------------------------
    # parcels and applications

    async def parcels(self, request: Request, apply_errors: dict[str, str] | None = None,
                      status_code: int = 200) -> Response:
        who = await self.who(request)
        portal = self.service(request)
        mine = await portal.applied(who.company) if who is not None else {}
        return self.render(request, "portal_parcels.html", who, status_code, parcels=await portal.parcels(),
                           mine=mine, apply_errors=apply_errors or {})

    async def apply(self, request: Request, who: SignedInCompany, form: dict[str, str]) -> Response:
        sale_id = request.path_params["sale_id"]  # a session's or a tender's id
        try:
            application_id = await self.service(request).apply(who.company, sale_id)
        except Rejected as r:
            if r.code in (Code.NOT_FOUND, Code.UNKNOWN_SESSION):
                raise
            return await self.parcels(request, {sale_id: f"{r.code.value}: {r.rejection.message}"},
                                      409 if r.code is Code.APPLICATION_EXISTS else 422)
        return _no_store(RedirectResponse(f"/portal/applications/{application_id}", status_code=303))

    async def application(self, request: Request, who: SignedInCompany) -> Response:
        view = await self.service(request).application(who.company, request.path_params["application_id"])
        return self.render(request, "portal_application.html", who, a=view, s=view["session"])

    async def credentials(self, request: Request, who: SignedInCompany, form: dict[str, str]) -> Response:
        issued = await self.service(request).credentials(who.company, request.path_params["application_id"])
        return self.render(request, "portal_credentials.html", who, issued=issued,
                           expires_us=to_micros(issued.expires_at))

    async def confirmation(self, request: Request, who: SignedInCompany) -> Response:
        """The winner's own transaction confirmation (成交确认书; a tender's winner, its 中标通知书,
        as the console serves it); nobody else's."""
        view = await self.service(request).application(who.company, request.path_params["application_id"])
        if not view["won"]:
            raise Rejected(Code.SESSION_NOT_SOLD, "成交确认书仅出具给竞得人 / issued to the winner only")
        if view["tender_terms"] is not None:
            html = await notice_html(request.state.tenders, self.settings, view["session_id"])
        else:
            html = render_html(await session_confirmation(
                request.state.deadlines, getattr(request.state, "plans", None), self.settings, view["session_id"]))
        # A document of its own (inline styles, print layout), as the console serves it.
        return Response(html, media_type="text/html; charset=utf-8", headers={
            "cache-control": "no-store",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"})

