"""Facts after the deal from the console (实际开工时间, 实际竣工时间, installments as paid;
docs/publication.md, "After the deal").

Once a sale's result is published, the plan page shows the facts in force and a form to
record more; it does what `POST /api/plans/{id}/post-deal` does (the same publisher call,
the same checks and codes), and each recording publishes the result's next version
(RES-{plan}-2, -3, ...) to every channel. A refusal comes back on this area's own page
with the typed values kept; nothing is recorded.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.documents.landchina import RESULT
from auction.documents.site_format import human_installments, human_value
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.plans import plan_id_of
from auction.entrypoints.api.publication import post_deal_recording
from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console.auth import AuditNote, ConsoleArea
from auction.entrypoints.console.views import parse_wan
from auction.services.publication import Publisher
from auction.services.session import now_us
from auction.staff.roles import Permission
from auction.store import publication as outbox
from auction.store.console import SignedIn

FIELDS = ("actual_start_date", "actual_completion_date", "payments")


def payments(form: dict[str, str]) -> list[dict[str, Any]]:
    """One payment a line: `期号 日期 金额（万元）`, e.g. `1 2026-05-08 2505.002283`."""
    parts: list[dict[str, Any]] = []
    for line in form.get("payments", "").splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) != 3 or not words[0].isdigit():
            raise Rejected(Code.INVALID_FIELD, "实际支付：每行“期号 日期 金额（万元）” / one payment a line: period, "
                           "date, amount in 万元", field="payments")
        parts.append({"period": int(words[0]), "paid_date": words[1],
                      "amount_fen": parse_wan({"payments": words[2]}, "payments")})
    return parts


async def post_deal_view(publisher: Publisher, plan_id: str) -> dict[str, Any] | None:
    """The sale's result as its latest version states it, and every version; None without one."""
    versions = await outbox.result_versions(publisher.pool, plan_id)
    if not versions or versions[0]["kind"] != RESULT:
        return None
    latest = versions[-1]
    fields = latest["fields"]
    return {"latest": latest, "versions": versions,  # and as people read them: 2026年12月01日
            "start": human_value("actual_start_date", fields["actual_start_date"]),
            "completion": human_value("actual_completion_date", fields["actual_completion_date"]),
            "installments": human_installments(fields["installments"]),
            "updated_at": human_value("published_at", latest["published_at"])}


class ConsolePostDeal(ConsoleArea):
    def routes(self) -> list[Route]:
        path = "/console/plans/{plan_id}/post-deal"
        return [self.get(path, Permission.CONTROL_SESSION, self.page),
                self.post(path, Permission.CONTROL_SESSION, "POST_DEAL_RECORD", self.record)]

    async def _show(self, request: Request, who: SignedIn, *, values: dict[str, str] | None = None,
                    errors: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        plan_id = plan_id_of(request.path_params["plan_id"])
        publisher: Publisher = request.state.publisher
        await publisher.plans.state(plan_id)  # NOT_FOUND
        return self.render(request, "post_deal.html", who, status_code=status_code,
                           title="成交后事项 / After the deal", plan_id=plan_id,
                           post_deal=await post_deal_view(publisher, plan_id), values=values or {},
                           errors=errors or {})

    async def page(self, request: Request, who: SignedIn) -> Response:
        return await self._show(request, who)

    async def record(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        plan_id = plan_id_of(request.path_params["plan_id"])
        publisher: Publisher = request.state.publisher
        values = {k: form.get(k, "")[:2000] for k in FIELDS}
        note.detail = {"plan_id": plan_id}
        try:
            body: dict[str, Any] = {k: values[k].strip() or None for k in FIELDS if k != "payments"}
            body["payments"] = payments(values)
            document = await publisher.record_post_deal(plan_id, post_deal_recording(body), by=who.user.username,
                                                        now=now_us())
        except Rejected as r:
            if r.code is Code.NOT_FOUND:
                raise
            note.outcome = r.code.value
            return await self._show(request, who, values=values, errors=forms.errors_beside(r.rejection, FIELDS),
                                    status_code=422)
        note.detail["document_id"] = document["document_id"]
        return RedirectResponse(f"/console/plans/{plan_id}?done=post-deal#post-deal", status_code=303)
