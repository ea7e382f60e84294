"""The operator console: server-rendered pages under `/console` (Jinja2), with a
little JavaScript for the live view (it follows the session over `/ws` as a
watcher, exactly as any client of docs/protocol.md does).

Here: sign-in, the sessions, the live view, suspend / resume / terminate with
a required reason (the same service commands as the operator API), and the
outcome with the revealed reserve and its commitment check. The exports, the
audit trail and the pages drawn from the operator API are in records.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.domain.codes import MESSAGES, Code, Rejected
from auction.domain.bidding.commands import Resume, Suspend, Terminate
from auction.domain.bidding.session import reserve_commitment
from auction.services.deposits import DepositService
from auction.services.session import now_us
from auction.settings import Settings
from auction.staff.passwords import burn_time, hash_password, needs_rehash, verify_password
from auction.staff.refusals import RefusalRollup
from auction.staff.roles import Permission, allowed
from auction.store import sessions as session_rows
from auction.store.console import SignedIn
from auction.entrypoints.console.auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AuditNote,
    ConsoleAuth,
    clear_cookie,
    client_ip,
    grants,
    read_form,
    safe_next,
    same_origin,
    set_cookie,
    tokens_match,
)
from auction.entrypoints.console.views import (
    local_input,
    parse_cst,
    parse_micros_cst,
    parse_wan,
    reason_of,
    templates,
)
from auction.entrypoints.api.deposits import issue_token, reissue_token
from auction.entrypoints.api.operator import create_stand_in_session, qualify_stand_in
from auction.entrypoints.console.plans import ConsolePlans
from auction.entrypoints.console.records import ConsoleRecords
from auction.entrypoints.console.close import ConsoleClose
from auction.entrypoints.console.result import ConsoleResult
from auction.entrypoints.console.post_deal import ConsolePostDeal
from auction.entrypoints.console.money import ConsoleMoney
from auction.entrypoints.console.people import add_filters
from auction.entrypoints.console.reserve import ConsoleCommittee, ConsoleReserve
from auction.entrypoints.console.tender import ConsoleTenders
from auction.entrypoints.http.limits import Limits
from auction.entrypoints.http.sign_in import SignInGate


class ConsolePages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = templates()
        add_filters(self.templates.env)
        self.auth = ConsoleAuth(self.templates)

    def routes(self) -> list[Route]:
        page, action = self.auth.page, self.auth.action
        P = Permission
        sid = "/console/sessions/{session_id}"
        # The stand-ins' forms (a session without a plan, a bidder without a deposit) exist only
        # where their API routes do: demo mode or AUCTION_STAND_INS=on (entrypoints/api/operator.py).
        stand_ins = [
            Route("/console/sessions", action(P.CREATE_SESSION, "CREATE_SESSION")(self.create_session),
                  methods=["POST"]),
            Route(f"{sid}/bidders", action(P.QUALIFY_BIDDER, "QUALIFY_BIDDER")(self.qualify), methods=["POST"]),
        ] if self.settings.stand_ins_on else []
        return [
            Route("/console/login", self.login_form, methods=["GET"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/logout", action(P.VIEW_SESSIONS, "SIGN_OUT")(self.logout), methods=["POST"]),
            Route("/console", page(P.VIEW_SESSIONS)(self.sessions), methods=["GET"]),
            *stand_ins,
            Route(sid, page(P.VIEW_SESSIONS)(self.session), methods=["GET"]),
            Route(f"{sid}/applications/{{application_id}}/token",
                  action(P.QUALIFY_BIDDER, "ISSUE_TOKEN")(self.token), methods=["POST"]),
            Route(f"{sid}/suspend", action(P.CONTROL_SESSION, "SUSPEND")(self.suspend), methods=["POST"]),
            Route(f"{sid}/resume", action(P.CONTROL_SESSION, "RESUME")(self.resume), methods=["POST"]),
            Route(f"{sid}/terminate", action(P.CONTROL_SESSION, "TERMINATE")(self.terminate), methods=["POST"]),
            *ConsoleRecords(self.settings, self.auth, self.render).routes(),
            *ConsolePlans(self.settings, self.auth, self.render).routes(),
            *ConsoleReserve(self.auth, self.render).routes(),
            *ConsoleMoney(self.auth, self.render).routes(),
            *ConsoleClose(self.auth, self.render).routes(),
            *ConsoleCommittee(self.auth, self.render).routes(),
            *ConsoleResult(self.auth, self.render).routes(),
            *ConsoleTenders(self.settings, self.auth, self.render).routes(),
            *ConsolePostDeal(self.auth, self.render).routes(),
        ]

    def render(self, request: Request, name: str, who: SignedIn | None, status_code: int = 200,
               **context: Any) -> Response:
        return self.templates.TemplateResponse(
            request, name, {"who": who, "can": grants(who), "csrf_field": CSRF_FIELD,
                            "stand_ins": self.settings.stand_ins_on, **context},
            status_code=status_code,
        )

    # ------------------------------------------------------------------
    # sign-in and sign-out

    async def login_form(self, request: Request, error: str | None = None, status_code: int = 200,
                         token: str | None = None) -> Response:
        if error is None and await self.auth.signed_in(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        token = token or secrets.token_urlsafe(32)
        response = self.render(request, "login.html", None, status_code=status_code, login_token=token,
                               next=safe_next(request.query_params.get("next")), error=error)
        set_cookie(response, LOGIN_COOKIE, token)
        response.headers["cache-control"] = "no-store"
        return response

    async def login(self, request: Request) -> Response:
        """Sign in. Failures slow down the next attempt for that account from that address (and,
        with more room, for any account from that address): free at first, then a wait doubling
        with each failure up to a cap (auction/entrypoints/http/limits.py). Refused attempts (CSRF, or during
        the wait) are not counted; strangers' refusals are rolled up in the audit trail."""
        store = self.auth.store(request)
        limits: Limits = request.state.limits
        refusals: RefusalRollup = request.state.refusals
        form = await read_form(request)
        ip = client_ip(request)
        address = ip or "-"
        username = form.get("username", "").strip().lower()[:64]
        attempted = {"attempted": username}

        async def refused(code: Code) -> None:
            await refusals.refused("SIGN_IN", code.value, ip, action="SIGN_IN", sample=username, detail=attempted)

        if not same_origin(request) or not tokens_match(request.cookies.get(LOGIN_COOKIE), form.get(CSRF_FIELD)):
            await refused(Code.CSRF_TOKEN_INVALID)
            return self.auth.refusal(request, Code.CSRF_TOKEN_INVALID, back="/console/login")
        gate = SignInGate(limits, username, address)
        seconds = gate.wait()
        if seconds > 0:
            await refused(Code.SIGN_IN_THROTTLED)
            response = await self.login_form(
                request, f"{Code.SIGN_IN_THROTTLED.value}: {MESSAGES[Code.SIGN_IN_THROTTLED]} ({seconds} s)", 429)
            response.headers["retry-after"] = str(seconds)
            return response
        gate.attempt()  # before the password is judged, so that attempts sent all at once wait too
        password = form.get("password", "")
        account = await store.account(username) if username else None
        if account is None or account.disabled:
            await asyncio.to_thread(burn_time, password)  # as slow as a wrong password: no account probing
            ok = False
        else:
            ok = await asyncio.to_thread(verify_password, password, account.password_hash)
        if not ok or account is None:
            await refused(Code.SIGN_IN_FAILED)
            return await self.login_form(request, f"{Code.SIGN_IN_FAILED.value}: {MESSAGES[Code.SIGN_IN_FAILED]}", 401)
        gate.succeeded()
        if needs_rehash(account.password_hash):
            await store.set_password_hash(username, await asyncio.to_thread(hash_password, password))
        await store.purge_sessions()
        session_id, _csrf = await store.open_session(username, ip)
        await store.audit("SIGN_IN", "OK", user=account.user, client_ip=ip)
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        set_cookie(response, SESSION_COOKIE, session_id)
        clear_cookie(response, LOGIN_COOKIE)
        return response

    async def logout(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        await self.auth.store(request).close_session(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/console/login", status_code=303)
        clear_cookie(response, SESSION_COOKIE)
        return response

    # ------------------------------------------------------------------
    # sessions

    async def sessions(self, request: Request, who: SignedIn) -> Response:
        rows = await session_rows.listed(request.state.service.store.pool, 500)
        start = now_us() + 10 * 60 * 1_000_000
        return self.render(request, "sessions.html", who, sessions=rows, done=request.query_params.get("done"),
                           default_start=local_input(start), default_end=local_input(start + 10 * 60 * 1_000_000))

    async def create_session(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """Stand-in creation (tests, demos; announced plans are the real path): the operator
        API's own parsing and command (`POST /api/sessions`). Only routed when the stand-ins are on."""
        method = form.get("method", "")
        if method not in ("AUCTION", "LISTING"):
            raise Rejected(Code.INVALID_FIELD, "方式须为挂牌或拍卖 / method must be LISTING or AUCTION", field="method")
        body: dict[str, Any] = {
            "method": method,
            "parcel_ref": form.get("parcel_ref", "").strip(),
            "start_price_fen": parse_wan(form, "start_price_wan"),
            "increment_fen": parse_wan(form, "increment_wan"),
            "deposit_fen": parse_wan(form, "deposit_wan"),
            "start_at": parse_cst(form, "start_at"),
        }
        countdown = form.get("countdown_seconds", "").strip()
        if countdown:
            if not countdown.isdigit():
                raise Rejected(Code.INVALID_FIELD, "倒计时：整数秒 / countdown_seconds: whole seconds", field="countdown_seconds")
            body["countdown_seconds"] = int(countdown)
        if method == "LISTING":
            body["listing_end_at"] = parse_cst(form, "listing_end_at")
        # The audit record never holds the reserve: it is sealed at once and secret until the close (Q26).
        note.detail = {k: v for k, v in body.items()}
        reserve = parse_wan(form, "reserve_wan", required=False)
        if reserve is not None:
            body["reserve_fen"] = reserve
        note.detail["has_reserve"] = reserve is not None
        state = await create_stand_in_session(request.state.service, self.settings, body)
        assert state.terms is not None
        session_id = state.terms.session_id
        note.session_id = session_id
        return RedirectResponse(f"/console/sessions/{session_id}?done=CREATED", status_code=303)

    async def session(self, request: Request, who: SignedIn) -> Response:
        return await self._session_page(request, who)

    async def _session_page(self, request: Request, who: SignedIn, *, error: dict[str, Any] | None = None,
                            typed: dict[str, str] | None = None, status_code: int = 200) -> Response:
        """The live view; after a refused control form, with the refusal beside that form and
        what was typed in it (`error["form"]`: suspend, resume or terminate)."""
        sid = request.path_params["session_id"]
        service = request.state.service
        state = await service.state(sid)
        terms = state.terms
        assert terms is not None
        role = who.user.role
        bidders: list[dict[str, Any]] = []
        if allowed(role, Permission.VIEW_BIDDERS):
            reveal = state.final and allowed(role, Permission.SEE_IDENTITIES)  # RULES 3.5, 8.1
            bidders = [{"bidder_no": no, "legal_name": name if reveal else None}
                       for no, name in await session_rows.legal_names(service.store.pool, sid)]
        ladder = sorted(state.accepted.values(), key=lambda b: b.seq, reverse=True)
        closed = state.closed
        reserve_check = None
        if closed is not None and closed.reserve is not None and closed.reserve_salt is not None:
            reserve_check = reserve_commitment(closed.reserve, closed.reserve_salt) == state.reserve_commitment
        winner_name = next((b["legal_name"] for b in bidders
                            if closed is not None and b["bidder_no"] == closed.winner_bidder_no), None)
        # Links to the pages drawn from the operator API, where the role may see them and they apply.
        extras = {
            "confirmation": closed is not None and closed.outcome == "SOLD"
            and allowed(role, Permission.VIEW_CONFIRMATION),
            "deadlines": state.final and allowed(role, Permission.VIEW_DEADLINES),
            "applications": allowed(role, Permission.VIEW_BIDDERS),
        }
        trail = await self.auth.store(request).trail(sid, 200) if allowed(role, Permission.VIEW_AUDIT) else []
        # The supply plan this session was made from (none for a stand-in session).
        plan_id = await request.state.deadlines.plan_of(sid) if allowed(role, Permission.VIEW_PLANS) else None
        return self.render(
            request, "session.html", who, state=state, terms=terms, bidders=bidders, ladder=ladder, closed=closed,
            plan_id=plan_id,
            reserve_check=reserve_check, winner_name=winner_name, extras=extras, trail=trail,
            done=request.query_params.get("done"), qualified=None, server_time_us=now_us(),
            error=error, typed=typed or {}, status_code=status_code,
        )

    async def qualify(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """Stand-in qualification (tests, demos; deposits are the real path): the bidder's token is
        shown once. Only routed when the stand-ins are on."""
        sid = request.path_params["session_id"]
        legal_name = form.get("legal_name", "").strip()
        qualified = await qualify_stand_in(request.state.service, self.settings, sid, {"legal_name": legal_name})
        note.detail = {"bidder_no": qualified["bidder_no"]}  # neither the name (secret) nor the token
        return self.render(request, "qualified.html", who, session_id=sid, qualified=qualified,
                           legal_name=legal_name)

    async def token(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """A qualified applicant's bidding token, shown once: issued the first time, or
        re-issued (with a reason) when it was lost or exposed, which revokes the old one."""
        sid = request.path_params["session_id"]
        application_id = request.path_params["application_id"]
        mode = form.get("mode", "")
        if mode not in ("issue", "reissue"):
            raise Rejected(Code.INVALID_FIELD, "mode: issue or reissue", field="mode")
        deposits: DepositService = request.state.deposits
        if not any(a.get("application_id") == application_id for a in await deposits.view(sid)):
            raise Rejected(Code.NOT_FOUND, "no such application in this session", application_id=application_id)
        body = {"by": who.user.username}
        if mode == "reissue":
            body["reason"] = reason_of(form)
        note.detail = {"application_id": application_id, "mode": mode, **({"reason": body["reason"]}
                                                                          if mode == "reissue" else {})}
        issued = await (issue_token if mode == "issue" else reissue_token)(deposits, application_id, body)
        # The answer has no bidder number, and the audit record neither the token nor a
        # number: before the close nothing staff see ties an application (a company) to its
        # anonymous number (RULES 3.5, 8.1). The bidder sees it on signing in.
        return self.render(request, "qualified.html", who, session_id=sid, qualified=issued, legal_name=None,
                           reissued=mode == "reissue")

    async def _control(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote, kind: str,
                       command: Callable[[], Suspend | Resume | Terminate]) -> Response:
        """Suspend, resume or terminate (RULES 7); a refusal is shown beside its form on the
        session's page, with what was typed, as the other forms do."""
        sid = request.path_params["session_id"]
        try:
            await request.state.service.execute(sid, command())
        except Rejected as r:
            note.outcome = r.code.value
            note.detail.setdefault("message", r.rejection.message)
            error = {"code": r.code.value, "message": r.rejection.message, "form": kind}
            typed = {"form": kind, "reason": form.get("reason", "")[:500], "resume_at": form.get("resume_at", "")[:40]}
            return await self._session_page(request, who, error=error, typed=typed, status_code=422)
        return RedirectResponse(f"/console/sessions/{sid}?done={kind.upper()}", status_code=303)

    async def suspend(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        def command() -> Suspend:
            note.detail = {"reason": form.get("reason", "").strip()[:500]}
            return Suspend(reason=reason_of(form))

        return await self._control(request, who, form, note, "suspend", command)

    async def resume(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        def command() -> Resume:
            # what was typed first (a refusal is audited with it), then the parsed instant
            note.detail = {"reason": form.get("reason", "").strip()[:500], "resume_at": form.get("resume_at", "")[:40]}
            reason, resume_at = reason_of(form), parse_micros_cst(form, "resume_at")
            note.detail["resume_at_us"] = resume_at
            del note.detail["resume_at"]
            return Resume(reason=reason, resume_at=resume_at)

        return await self._control(request, who, form, note, "resume", command)

    async def terminate(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        def command() -> Terminate:
            note.detail = {"reason": form.get("reason", "").strip()[:500]}
            reason = reason_of(form)
            if form.get("confirm") != "yes":
                raise Rejected(Code.INVALID_FIELD, "终止须勾选确认 / tick the confirmation to terminate", field="confirm")
            return Terminate(reason=reason)

        return await self._control(request, who, form, note, "terminate", command)
