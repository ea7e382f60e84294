"""The tender's console pages (RULES 6).

- `/console/tenders`: every tender, newest first.
- `/console/tenders/{id}`: the terms; before the opening only that the bids are sealed
  (how many stays secret, RULES 6.2); the opening with each bid's price; the panel and
  how many have signed; the result with the ranking, the revealed reserve and the link
  to the 中标通知书. The page follows the tender (static/tender.js) and reloads itself
  when the phase changes: the opening at its set time is seen live.
- A panel member's score sheet: the scores typed per valid bid and criterion, the
  record built and signed in the browser with the member's Ed25519 key (the key
  panel and IndexedDB of the reserve decision, static/reserve.js), and the same
  service call as `POST /api/tenders/{id}/score-sheets`. A console account signs as
  the registered committee member of the same name (DECIDE_RESERVE: members only).
- `/console/tenders/{id}/notice`: the winner's 中标通知书 (VIEW_CONFIRMATION).
- A tender suspended for an outage across its bid deadline (RULES 6.7): the suspension (since
  when, why) and, for operators, the resume form: the new bid deadline and opening typed in
  CST, read as `POST /api/tenders/{id}/resume`'s body (`resumption_of`) and the same service
  call; a refusal is shown beside the form with what was typed. Terminating stays the API's.
- After the end, what its close books (RULES 8; a tender's end is a close): the deadline rows
  with their actions (合同已签订 (Q42), a refund made (Q31), the Q29/Q32 rows done, the Q42
  forfeit), the same handlers as the session's close page (console/close.py `SaleDeadlines`)
  under `/console/tenders/{id}/…`; a refusal is shown beside its form. The session's close page
  for a tender's id leads here.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from auction.documents.landchina import RESULT, document_id
from auction.domain.codes import Code, Rejected
from auction.domain.tender.status import tender_status
from auction.entrypoints.api.tenders import notice_html, resumption_of, score_text, scores_of
from auction.entrypoints.api.deadlines import session_deadlines
from auction.entrypoints.console.auth import AuditNote, client_ip
from auction.entrypoints.console.close import OPEN, SaleDeadlines
from auction.entrypoints.console.records import DOCUMENT_POLICY
from auction.entrypoints.console.views import parse_cst
from auction.entrypoints.console.auth import ConsoleAuth, Render
from auction.services.publication import Publisher
from auction.services.session import now_us
from auction.services.tender import TenderService
from auction.settings import Settings
from auction.staff.roles import Permission, allowed
from auction.store.console import SignedIn

PATH = "/console/tenders/{tender_id}"


def _service(request: Request) -> TenderService:
    service: TenderService = request.state.tenders
    return service


def _signature(form: dict[str, str]) -> bytes:
    try:
        return bytes.fromhex(form.get("signature_hex", ""))
    except ValueError:
        return b""  # does not verify: TENDER_SHEET_BAD_SIGNATURE


class ConsoleTenders(SaleDeadlines):
    param = "tender_id"

    def __init__(self, settings: Settings, auth: ConsoleAuth, render: Render) -> None:
        super().__init__(auth, render)
        self.settings = settings

    def routes(self) -> list[Route]:
        P = Permission
        return [
            self.get("/console/tenders", P.VIEW_PLANS, self.index),
            self.get(PATH, P.VIEW_PLANS, self.page),
            self.post(f"{PATH}/score", P.DECIDE_RESERVE, "TENDER_SCORE", self.score),
            self.post(f"{PATH}/resume", P.CONTROL_SESSION, "TENDER_RESUME", self.resume),
            self.get(f"{PATH}/notice", P.VIEW_CONFIRMATION, self.notice),
            *self.deadline_routes(PATH),
        ]

    def after(self, sale_id: str, done: str, field: str) -> str:
        return f"/console/tenders/{sale_id}?deadline={done}#{field}"

    async def index(self, request: Request, who: SignedIn) -> Response:
        service, now = _service(request), now_us()
        rows = [dict(r) | {"status_now": tender_status(await service.fresh_state(r["tender_id"]), now)}
                for r in await service.store.rows()]
        return self.render(request, "tenders.html", who, rows=rows)

    async def _show(self, request: Request, who: SignedIn, *, error: dict[str, Any] | None = None,
                    typed: dict[str, str] | None = None, status_code: int = 200) -> Response:
        service = _service(request)
        tender_id = request.path_params["tender_id"]
        state = await service.fresh_state(tender_id)  # NOT_FOUND
        me = who.user.username
        members = {m.member_id: m for m in await service.plans.store.members()}
        on_panel = state.panel is not None and me in state.panel.members
        signed = {s.member_id for s in state.sheets}
        scoring = (on_panel and state.opened is not None and not state.final and me not in signed
                   and allowed(who.user.role, Permission.DECIDE_RESERVE))
        names = await service.store.bidder_names(tender_id) if state.final else {}
        assert state.terms is not None
        publisher: Publisher = request.state.publisher
        published = state.final and await publisher.result_published(state.terms.plan_id)
        deadlines = (await session_deadlines(request.state.deadlines, tender_id))["deadlines"] if state.ended else []
        return self.render(
            request, "tender.html", who, status_code=status_code, state=state, tender_id=tender_id,
            terms=state.terms, status_now=tender_status(state, now_us()), me=me, scoring=scoring, signed_by_me=me in signed,
            my_key=members[me].public_key.hex() if me in members else "", signer=on_panel,
            valid_bids=state.valid_bids, score_text=score_text, names=names, error=error,
            notice_url=f"/console/tenders/{tender_id}/notice" if allowed(who.user.role, Permission.VIEW_CONFIRMATION)
            else None, done=request.query_params.get("done"), published=published,
            result_id=document_id(RESULT, state.terms.plan_id),
            deadlines=deadlines, OPEN=OPEN, typed=typed or {}, may_act=allowed(who.user.role, Permission.CONTROL_SESSION),
            deadline_done=request.query_params.get("deadline"),
        )

    async def page(self, request: Request, who: SignedIn) -> Response:
        return await self._show(request, who)

    async def score(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """A member's signed score sheet (RULES 6.5); the last one concludes the evaluation."""
        tender_id = request.path_params["tender_id"]
        note.detail["tender_id"] = tender_id
        try:
            try:
                raw = json.loads(form.get("scores_json", ""))
            except ValueError:
                raw = None
            scores = scores_of({"scores": raw})
            await _service(request).score(tender_id, who.user.username, scores, _signature(form))
        except Rejected as r:
            note.outcome = r.code.value
            error = {"code": r.code.value, "message": r.rejection.message}
            return await self._show(request, who, error=error, status_code=404 if r.code is Code.NOT_FOUND else 422)
        return RedirectResponse(f"/console/tenders/{tender_id}?done=SIGNED", status_code=303)

    async def resume(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """RULES 6.7: the suspended tender again, until a new bid deadline, opened at a new time."""
        tender_id = request.path_params["tender_id"]
        typed = {"form": "resume", **{k: form.get(k, "")[:500 if k == "reason" else 40]
                                      for k in ("reason", "bid_deadline", "opening_at")}}
        note.detail = {"tender_id": tender_id, **{k: v.strip() for k, v in typed.items() if k != "form"}}
        try:
            body = {"reason": form.get("reason"), "bid_deadline": parse_cst(form, "bid_deadline"),
                    "opening_at": parse_cst(form, "opening_at")}
            await _service(request).resume(tender_id, *resumption_of(body))
        except Rejected as r:
            note.outcome = r.code.value
            earliest = r.rejection.details.get("earliest_bid_deadline")  # RULES 7.3: say how far ahead
            message = r.rejection.message + (f"（{earliest}）" if earliest else "")
            error = {"code": r.code.value, "message": message, "form": "resume"}
            return await self._show(request, who, error=error, typed=typed,
                                    status_code=404 if r.code is Code.NOT_FOUND else 422)
        return RedirectResponse(f"/console/tenders/{tender_id}?done=RESUMED", status_code=303)

    async def notice(self, request: Request, who: SignedIn) -> Response:
        """The winner's 中标通知书 (RULES 6.6), for printing; it names the winner, so its viewing is audited."""
        tender_id = request.path_params["tender_id"]
        html = await notice_html(_service(request), self.settings, tender_id)
        await self.auth.store(request).audit("VIEW_TENDER_NOTICE", "OK", user=who.user, session_id=tender_id,
                                             client_ip=client_ip(request))
        return HTMLResponse(html, headers=DOCUMENT_POLICY)
