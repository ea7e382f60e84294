"""The console's records: a session's event log as CSV or JSON, the audit trail of
operator actions, and the pages that show what the operator API answers (the
transaction confirmation, the deadline board; the supply plans have their own
pages, plans.py, and applications and deposits theirs, money.py):
drawn from the same functions and services as those API routes, so the page and
the route cannot drift apart."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.documents.confirmation import Confirmation, render_html, render_pdf
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.deadlines import deadline_board, session_deadlines
from auction.entrypoints.api.operator import staff_log
from auction.entrypoints.api.records import session_confirmation
from auction.entrypoints.console.auth import ConsoleAuth, Render, client_ip
from auction.entrypoints.console.views import EVENT_COLUMNS, events_rows, json_default, to_csv
from auction.services.deadlines import DeadlineService
from auction.services.plans import PlanService
from auction.settings import Settings
from auction.staff.roles import Permission
from auction.store.console import SignedIn
from auction.store.database import DATABASE_ERRORS

AUDIT_COLUMNS = ["id", "at", "username", "role", "action", "session_id", "client_ip", "outcome", "detail"]


# A document of its own (inline styles, print layout): its own, stricter policy.
DOCUMENT_POLICY = {"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}


@dataclass(frozen=True)
class Answer:
    """What a page drawn from an API route shows: the route's JSON answer, or its refusal
    (`{"code", "message", "details"}`) in its place."""

    body: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def answer_of(work: Awaitable[Any], as_json: bool = True) -> Answer:
    """Run what the API route runs and keep its answer as the route's JSON would carry it
    (`as_json`: the same values an API client reads), or the refusal it would send."""
    try:
        body = await work
    except Rejected as r:
        return Answer(error=r.rejection.to_dict())
    except DATABASE_ERRORS:
        return Answer(error=Rejected(Code.SERVICE_UNAVAILABLE).rejection.to_dict())
    return Answer(json.loads(json.dumps(body, ensure_ascii=False)) if as_json else body)


class ConsoleRecords:
    def __init__(self, settings: Settings, auth: ConsoleAuth, render: Render) -> None:
        self.settings = settings
        self.auth = auth
        self.render = render

    def routes(self) -> list[Route]:
        page = self.auth.page
        P = Permission
        sid = "/console/sessions/{session_id}"
        return [
            Route(f"{sid}/events.csv", page(P.EXPORT_LOG)(self.export_csv), methods=["GET"]),
            Route(f"{sid}/events.json", page(P.EXPORT_LOG)(self.export_json), methods=["GET"]),
            Route(f"{sid}/confirmation", page(P.VIEW_CONFIRMATION)(self.confirmation), methods=["GET"]),
            Route(f"{sid}/confirmation.pdf", page(P.VIEW_CONFIRMATION)(self.confirmation), methods=["GET"]),
            Route(f"{sid}/deadlines", page(P.VIEW_DEADLINES)(self.session_deadlines), methods=["GET"]),
            Route("/console/deadlines", page(P.VIEW_DEADLINES)(self.deadlines), methods=["GET"]),
            Route("/console/audit", page(P.VIEW_AUDIT)(self.audit_page), methods=["GET"]),
            Route("/console/audit.csv", page(P.VIEW_AUDIT)(self.audit_csv), methods=["GET"]),
            Route("/console/audit.json", page(P.VIEW_AUDIT)(self.audit_json), methods=["GET"]),
        ]

    # ------------------------------------------------------------------
    # exports: the session's whole event log (the audit trail of the sale)

    async def _log(self, request: Request, who: SignedIn, kind: str) -> list[dict[str, Any]]:
        sid = request.path_params["session_id"]
        service = request.state.service
        state = await service.state(sid)  # UNKNOWN_SESSION
        recorded = await service.store.load(sid)
        await self.auth.store(request).audit(f"EXPORT_EVENTS_{kind}", "OK", user=who.user, session_id=sid,
                                             client_ip=client_ip(request))
        # Before the close without private events' bidder numbers, as the API (RULES 3.5, 8.1).
        return events_rows(staff_log(recorded, state.final))

    async def export_csv(self, request: Request, who: SignedIn) -> Response:
        rows = await self._log(request, who, "CSV")
        sid = request.path_params["session_id"]
        return Response(to_csv(rows, EVENT_COLUMNS), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{_file_name(sid)}-events.csv"'})

    async def export_json(self, request: Request, who: SignedIn) -> Response:
        rows = await self._log(request, who, "JSON")
        sid = request.path_params["session_id"]
        return JSONResponse(rows, headers={"content-disposition": f'attachment; filename="{_file_name(sid)}-events.json"'})

    # ------------------------------------------------------------------
    # the console's own audit trail

    async def audit_page(self, request: Request, who: SignedIn) -> Response:
        rows = await self.auth.store(request).trail(None, 500)
        return self.render(request, "audit.html", who, rows=rows)

    async def _audit_rows(self, request: Request, who: SignedIn, kind: str) -> list[dict[str, Any]]:
        store = self.auth.store(request)
        await store.audit(f"EXPORT_AUDIT_{kind}", "OK", user=who.user, client_ip=client_ip(request))
        return await store.trail(None, 100_000)

    async def audit_csv(self, request: Request, who: SignedIn) -> Response:
        rows = await self._audit_rows(request, who, "CSV")
        for row in rows:
            row["at"] = row["at"].isoformat()
        return Response(to_csv(rows, AUDIT_COLUMNS), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="console-audit.csv"'})

    async def audit_json(self, request: Request, who: SignedIn) -> Response:
        rows = await self._audit_rows(request, who, "JSON")
        text = json.dumps(rows, ensure_ascii=False, default=json_default)
        return Response(text, media_type="application/json",
                        headers={"content-disposition": 'attachment; filename="console-audit.json"'})

    # ------------------------------------------------------------------
    # pages showing what the operator API answers

    async def confirmation(self, request: Request, who: SignedIn) -> Response:
        """The transaction confirmation (成交确认书) as `GET /api/sessions/{id}/confirmation[.pdf]`
        renders it, for printing. It names the winner: only after the close (RULES 3.5)."""
        sid = request.path_params["session_id"]
        state = await request.state.service.state(sid)
        if not state.final:
            raise Rejected(Code.FORBIDDEN, "成交确认书在交易结束后出具 / issued after the close")
        pdf = request.url.path.endswith(".pdf")
        deadlines: DeadlineService = request.state.deadlines
        plans: PlanService | None = getattr(request.state, "plans", None)
        answer = await answer_of(session_confirmation(deadlines, plans, self.settings, sid), as_json=False)
        if not answer.ok:
            return self.render(request, "api_view.html", who, title=f"成交确认书 / Transaction confirmation · {sid}",
                               answer=answer, back=f"/console/sessions/{sid}")
        confirmation: Confirmation = answer.body
        await self.auth.store(request).audit("VIEW_CONFIRMATION_PDF" if pdf else "VIEW_CONFIRMATION", "OK",
                                             user=who.user, session_id=sid, client_ip=client_ip(request))
        csp = DOCUMENT_POLICY
        if pdf:
            return Response(render_pdf(confirmation), media_type="application/pdf", headers=csp)
        return Response(render_html(confirmation), media_type="text/html; charset=utf-8", headers=csp)

    async def deadlines(self, request: Request, who: SignedIn) -> Response:
        """The deadline board (`GET /api/deadlines`): working days left, overdue in red."""
        every = bool(request.query_params.get("all"))
        title = "期限看板 / Deadline board"
        answer = await answer_of(deadline_board(request.state.deadlines, every))
        if answer.ok and isinstance(answer.body, list):
            pages = {sid: await _sale_page(request, sid) for sid in {str(r["session_id"]) for r in answer.body}}
            return self.render(request, "deadlines.html", who, title=title, rows=answer.body, all=every,
                               sale_pages=pages)
        return self.render(request, "api_view.html", who, title=title, answer=answer)

    async def session_deadlines(self, request: Request, who: SignedIn) -> Response:
        sid = request.path_params["session_id"]
        title = f"期限 / Deadlines · {sid}"
        back = await _sale_page(request, sid, "#deadlines")
        answer = await answer_of(session_deadlines(request.state.deadlines, sid))
        if answer.ok and isinstance(answer.body, dict) and isinstance(answer.body.get("deadlines"), list):
            body = answer.body
            extra = {k: v for k, v in body.items() if k not in ("session_id", "closing", "deadlines") and v}
            return self.render(request, "deadlines.html", who, title=title, rows=body["deadlines"],
                               closing=body.get("closing"), extra=extra, back=back, all=True)
        return self.render(request, "api_view.html", who, title=title, answer=answer, back=back)



async def _sale_page(request: Request, sale_id: str, tender_part: str = "") -> str:
    """The console page of a sale's id on the legal clock: a tender's (its deadline rows are
    there, `tender_part`) or a session's."""
    deadlines: DeadlineService = request.state.deadlines
    if deadlines.tenders is not None and await deadlines.tenders.is_tender(sale_id):
        return f"/console/tenders/{quote(sale_id)}{tender_part}"
    return f"/console/sessions/{quote(sale_id)}"


def _file_name(session_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in session_id)[:64] or "session"
