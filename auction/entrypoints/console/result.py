"""Publishing a sale's result from the console (出让结果公示, Q29, RULES 8.3).

After a sale the operator enters, from the signed contract, what the records do not
hold: the 电子监管号, the project name, the land source, industry and grade, the
payment schedule in 万元 and the agreed dates. The form does what the two operator
API calls do (`POST /api/plans/{id}/supervision-number`, then `/result`): the same
publisher calls with the same checks and codes. The document then goes to every
configured channel; the close page shows its delivery per channel, and the public
pages (/public/results) show it at once.

A session that ended without a sale (流拍, terminated 终止, or a sale cancelled by the
Q42 default) has its own notice, 结果公示（未成交）: the same page then shows what
that notice will say, taken from the records, and one button publishes it, as
`POST /api/plans/{id}/result-unsold` does (the publisher's `publish_unsold`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.documents.landchina import LAND_SOURCES, Deal, NoSale
from auction.domain.china import to_cst
from auction.domain.codes import Code, Rejected
from auction.domain.money import wan_number
from auction.entrypoints.api.publication import result_entry
from auction.entrypoints.api.tenders import TENDER_ID
from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console.auth import AuditNote, ConsoleArea
from auction.entrypoints.console.views import parse_wan
from auction.services.deadlines import DeadlineService
from auction.services.publication import Publisher
from auction.services.session import now_us
from auction.staff.roles import Permission
from auction.store import publication as outbox
from auction.store.console import SignedIn

DATES = ("contract_date", "delivery_date", "construction_start_date", "completion_date")
FIELDS = ("supervision_no", "project_name", "land_source", "industry", "land_grade", "region_code",
          "installments", *DATES)


def installments(form: dict[str, str], name: str = "installments") -> list[dict[str, Any]]:
    """One period a line: `YYYY-MM-DD 金额（万元） 备注`, e.g. `2026-05-10 2505.002283 首期50%`."""
    parts: list[dict[str, Any]] = []
    for line in form.get(name, "").splitlines():
        words = line.split(maxsplit=2)
        if not words:
            continue
        if len(words) < 2:
            raise Rejected(Code.INVALID_FIELD, "分期：每行“日期 金额（万元） 备注” / one period a line: "
                           "date, amount in 万元, note", field=name)
        amount = parse_wan({name: words[1]}, name)
        parts.append({"due_date": words[0], "amount_fen": amount, "note": words[2] if len(words) > 2 else ""})
    return parts


def _after(sid: str, done: str) -> str:
    """Where the operator lands once the result is published: the close page, or the tender's."""
    page = f"/console/tenders/{sid}" if TENDER_ID.fullmatch(sid) else f"/console/sessions/{sid}/close"
    return f"{page}?done={done}#publication"


class ConsoleResult(ConsoleArea):
    def routes(self) -> list[Route]:
        path = "/console/sessions/{session_id}/result"
        control = Permission.CONTROL_SESSION
        return [
            self.get(path, control, self.page),
            self.post(path, control, "RESULT_PUBLISH", self.publish),
            self.post(f"{path}-unsold", control, "RESULT_UNSOLD_PUBLISH", self.publish_unsold),
        ]

    @staticmethod
    async def _plan(request: Request) -> tuple[str, Publisher]:
        """The plan the session was created from (`NOT_FOUND` for a session without one)."""
        clock: DeadlineService = request.state.deadlines
        publisher: Publisher = request.state.publisher
        plan_id = await clock.plan_of(request.path_params["session_id"])
        if plan_id is None and TENDER_ID.fullmatch(request.path_params["session_id"]):  # a tender's result (RULES 6.6)
            plan_id = await request.state.tenders.store.plan_of(request.path_params["session_id"])
        if plan_id is None:
            raise Rejected(Code.NOT_FOUND, "本场次不是由供地方案创建的 / this session has no supply plan")
        return plan_id, publisher

    async def _deal(self, request: Request) -> tuple[str, Publisher, Deal]:
        """The plan of the session and its sale (`SESSION_NOT_SOLD` before one)."""
        plan_id, publisher = await self._plan(request)
        return plan_id, publisher, await publisher.deal(plan_id)

    async def _show_unsold(self, request: Request, who: SignedIn, plan_id: str, no_sale: NoSale, *,
                           error: Any = None, status_code: int = 200) -> Response:
        draft = (await request.state.plans.fresh_state(plan_id)).draft
        return self.render(request, "result_unsold.html", who, status_code=status_code,
                           title="发布结果公示（未成交） / Publish the no-sale result",
                           session_id=request.path_params["session_id"], plan_id=plan_id, no_sale=no_sale,
                           draft=draft, error=error)

    async def _show(self, request: Request, who: SignedIn, *, values: dict[str, str] | None = None,
                    errors: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        plan_id, publisher, deal = await self._deal(request)
        number = await outbox.supervision_no(publisher.pool, plan_id)
        signed = await publisher.contract_signed_on(deal.session_id)  # Q42: the result quotes the record
        if values is None:
            today = to_cst(now_us()).date()
            values = {"supervision_no": number or "", "region_code": publisher.region_code,
                      "land_source": LAND_SOURCES[0], "contract_date": signed.isoformat() if signed else "",
                      "delivery_date": (today + timedelta(days=30)).isoformat(),
                      "construction_start_date": (today + timedelta(days=180)).isoformat(),
                      "completion_date": (today + timedelta(days=3 * 365)).isoformat(),
                      "installments": f"{(today + timedelta(days=30)).isoformat()} {wan_number(deal.price_fen)} "
                                      "一次性付清"}
        return self.render(request, "result_form.html", who, status_code=status_code,
                           title="发布出让结果 / Publish the result", session_id=request.path_params["session_id"],
                           plan_id=plan_id, deal=deal, recorded_no=number, land_sources=LAND_SOURCES,
                           values=values, errors=errors or {}, contract_signed=signed)

    async def page(self, request: Request, who: SignedIn) -> Response:
        """The sale's result form, or the no-sale notice for a session that ended unsold."""
        try:
            return await self._show(request, who)
        except Rejected as r:
            if r.code is not Code.SESSION_NOT_SOLD:
                raise
            plan_id, publisher = await self._plan(request)
            return await self._show_unsold(request, who, plan_id, await publisher.no_sale(plan_id))

    async def publish_unsold(self, request: Request, who: SignedIn, form: dict[str, str],
                             note: AuditNote) -> Response:
        sid = request.path_params["session_id"]
        plan_id, publisher = await self._plan(request)
        note.detail = {"plan_id": plan_id}
        no_sale = await publisher.no_sale(plan_id)  # SESSION_SOLD, SESSION_NOT_SOLD: the refusal page
        if form.get("confirm") != "yes":
            note.outcome = Code.INVALID_FIELD.value
            error = forms.shown(Rejected(Code.INVALID_FIELD, "请勾选确认 / tick the confirmation",
                                         field="confirm").rejection)
            return await self._show_unsold(request, who, plan_id, no_sale, error=error, status_code=422)
        try:
            document = await publisher.publish_unsold(plan_id, by=who.user.username, now=now_us())
        except Rejected as r:
            if r.code is not Code.RESULT_ALREADY_PUBLISHED:
                raise
            note.outcome = r.code.value  # the same form twice: nothing changes
            return RedirectResponse(_after(sid, "ALREADY"), status_code=303)
        note.detail["document_id"] = document["document_id"]
        return RedirectResponse(_after(sid, "PUBLISHED"), status_code=303)

    async def publish(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        sid = request.path_params["session_id"]
        values = {k: form.get(k, "")[:2000] for k in FIELDS}
        try:
            plan_id, publisher, _deal = await self._deal(request)
            note.detail = {"plan_id": plan_id, "supervision_no": values["supervision_no"][:32]}
            body: dict[str, Any] = {k: values[k].strip() for k in FIELDS if k != "installments"}
            body["installments"] = installments(values)
            entry = result_entry(body, publisher.region_code)
            by = who.user.username
            await publisher.record_supervision_no(plan_id, body["supervision_no"], by)
            document = await publisher.publish_result(plan_id, entry, by=by, now=now_us())
        except Rejected as r:
            if r.code in (Code.NOT_FOUND, Code.SESSION_NOT_SOLD, Code.UNKNOWN_SESSION):
                raise
            if r.code is Code.RESULT_ALREADY_PUBLISHED:  # the same form twice: nothing changes
                note.outcome = r.code.value
                return RedirectResponse(_after(sid, "ALREADY"), status_code=303)
            note.outcome = r.code.value
            return await self._show(request, who, values=values, errors=forms.errors_beside(r.rejection, FIELDS),
                                    status_code=422)
        note.detail["document_id"] = document["document_id"]
        return RedirectResponse(_after(sid, "PUBLISHED"), status_code=303)
