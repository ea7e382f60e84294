"""The close in the console (交易结束与后续事项): the escrow key's unlock (the close
ceremony), the outcome with the revealed reserve, the transaction confirmation
(成交确认书), the result's publication per channel with a retry, and the session's
deadlines with their actions: contract signed (Q42), refund made (Q31), result
published (Q29), Q32 notice sent, and the deposit forfeited when the contract
deadline passed unsigned (Q42).

Each action calls what its API route calls (operator.py `unlock` and `close`,
publication.py `retry`, deadlines.py `done` / `contract-signed`), with the same
checks and refusal codes; a refusal is shown beside its form with what was typed,
and changes nothing. A second submission of a finished step changes nothing either.

The deadline rows' actions are `SaleDeadlines`, shared with the tender's page (a tender's end
is a close: console/tender/pages.py): the same handlers, checks, refusals and audit names,
under each page's own path. A tender's id on this page leads to the tender's page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.adapters.sealing.escrow import ReserveSealer
from auction.documents.landchina import UNSOLD, no_sale_reason
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.session import Phase, reserve_commitment
from auction.entrypoints.api.deadlines import session_deadlines
from auction.entrypoints.api.tenders import TENDER_ID
from auction.entrypoints.console.auth import AuditNote, ConsoleArea
from auction.entrypoints.console.views import parse_cst, parse_wan
from auction.services.deadlines import DeadlineService
from auction.staff.roles import Permission, allowed
from auction.store import publication as outbox
from auction.store.console import SignedIn
from auction.store.events import to_micros

CHANNELS = {
    "LAND_MARKET": "土地市场网", "MAINSTREAM_MEDIA": "主流媒体", "CHINA_LAND_MARKET": "中国土地市场网",
    "PROVINCIAL_DEPARTMENT": "省自然资源厅", "PUBLIC_RESOURCE_PLATFORM": "公共资源交易平台",
    "ONLINE_TRADING_SYSTEM": "网上交易系统",
}
DELIVERY = {"DELIVERED": "已送达", "PENDING": "待送达", "FAILED": "送达失败", "SENDING": "发送中"}
DOCUMENTS = {"ANNOUNCEMENT": "出让公告", "ANNOUNCEMENT_CHANGE": "变更公告", "RESULT": "出让结果公示",
             "RESULT_UNSOLD": "流拍公示", "RESULT_UPDATE": "结果公示（更新）"}
OPEN = ("PENDING", "OVERDUE", "CALENDAR_MISSING")
TYPED = ("passphrase_field", "signed_at", "done_at", "bank_txn_id", "amount_wan")


def _time(form: dict[str, str], name: str) -> int:
    iso = parse_cst(form, name)
    assert iso is not None
    return to_micros(datetime.fromisoformat(iso))


def _confirmed(form: dict[str, str], field: str) -> None:
    if form.get("confirm") != "yes":
        raise Rejected(Code.INVALID_FIELD, "请勾选确认 / tick the confirmation", field=field)


class SaleDeadlines(ConsoleArea):
    """A sale's deadline rows with their actions (RULES 8): contract signed (Q42), a row done
    (Q29, Q31, Q32), the deposit forfeited (Q42). A page subclasses it with the path parameter
    naming the sale, where an action leads back to, and how the page shows a refusal."""

    param = "session_id"

    def sale_id(self, request: Request) -> str:
        sale_id: str = request.path_params[self.param]
        return sale_id

    def after(self, sale_id: str, done: str, field: str) -> str:
        """Where an action leads once done (`done`: what it did; `field`: the form)."""
        raise NotImplementedError

    async def _show(self, request: Request, who: SignedIn, *, error: dict[str, Any] | None = None,
                    typed: dict[str, str] | None = None, status_code: int = 200) -> Response:
        raise NotImplementedError

    def deadline_routes(self, base: str) -> list[Route]:
        control = Permission.CONTROL_SESSION
        return [
            self.post(f"{base}/contract-signed", control, "CONTRACT_SIGNED", self.contract_signed),
            self.post(f"{base}/deadlines/{{deadline_id}}/done", control, "DEADLINE_DONE", self.done),
            self.post(f"{base}/deadlines/{{deadline_id}}/forfeit", control, "DEPOSIT_FORFEITED", self.forfeit),
        ]

    async def _act(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote,
                   field: str, work: Any) -> Response:
        """Run one action; a refusal comes back beside the form named `field`, typed values kept."""
        sid = self.sale_id(request)
        note.session_id = sid
        try:
            done = await work()
        except Rejected as r:
            note.outcome = r.code.value
            note.detail.setdefault("message", r.rejection.message)
            error = {"code": r.code.value, "message": r.rejection.message, "form": field,
                     "field": r.rejection.details.get("field")}
            typed = {k: form.get(k, "") for k in TYPED} | {"form": field}
            return await self._show(request, who, error=error, typed=typed, status_code=422)
        return RedirectResponse(self.after(sid, done, field), status_code=303)

    async def _row(self, request: Request, deadline_id: str) -> dict[str, Any]:
        sid = self.sale_id(request)
        clock: DeadlineService = request.state.deadlines
        for row in (await session_deadlines(clock, sid))["deadlines"]:
            if row["deadline_id"] == deadline_id:
                return dict(row)
        raise Rejected(Code.NOT_FOUND, "本场次无此期限事项 / no such deadline in this sale", deadline_id=deadline_id)

    async def contract_signed(self, request: Request, who: SignedIn, form: dict[str, str],
                              note: AuditNote) -> Response:
        sid = self.sale_id(request)
        clock: DeadlineService = request.state.deadlines

        async def work() -> str:
            signed_at = _time(form, "signed_at")
            _confirmed(form, "confirm")
            note.detail = {"signed_at_us": signed_at}
            rows = (await session_deadlines(clock, sid))["deadlines"]
            if any(r["kind"] == "CONTRACT_SIGNING" and r["state"] == "DONE" for r in rows):
                return "ALREADY"  # the same form twice
            await clock.contract_signed(sid, by=who.user.username, signed_at=signed_at)
            return "CONTRACT_SIGNED"

        return await self._act(request, who, form, note, "contract", work)

    async def done(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        deadline_id = request.path_params["deadline_id"]
        clock: DeadlineService = request.state.deadlines

        async def work() -> str:
            row = await self._row(request, deadline_id)
            if row["state"] not in OPEN:
                return "ALREADY"
            done_at = _time(form, "done_at")
            bank_txn_id = form.get("bank_txn_id", "").strip() or None
            if bank_txn_id is not None and len(bank_txn_id) > 64:
                raise Rejected(Code.INVALID_FIELD, "银行流水号：1至64个字符 / bank_txn_id: 1-64 characters", field="bank_txn_id")
            amount = parse_wan(form, "amount_wan", required=False)
            _confirmed(form, "confirm")
            note.detail = {"deadline_id": deadline_id, "done_at_us": done_at, "bank_txn_id": bank_txn_id,
                           "amount_fen": amount}
            await clock.done(deadline_id, by=who.user.username, done_at=done_at, bank_txn_id=bank_txn_id,
                             amount_fen=amount)
            return "DONE"

        return await self._act(request, who, form, note, f"d-{deadline_id}", work)

    async def forfeit(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """Q42: the contract deadline passed unsigned (and on a final calendar): the win is cancelled
        and the deposit forfeited, as the clock does by itself when its timer fires."""
        deadline_id = request.path_params["deadline_id"]
        clock: DeadlineService = request.state.deadlines

        async def work() -> str:
            row = await self._row(request, deadline_id)
            note.detail = {"deadline_id": deadline_id}
            if row["state"] == "DEFAULTED":
                return "ALREADY"
            if row["kind"] != "CONTRACT_SIGNING" or row["state"] != "OVERDUE" or row["provisional"]:
                raise Rejected(Code.INVALID_FIELD, "没收保证金仅适用于逾期未签合同且到期日已确定 / only a contract deadline "
                               "that passed on a final calendar (Q42)", field="confirm")
            _confirmed(form, "confirm")
            await clock.apply_default(deadline_id)
            return "FORFEITED"

        return await self._act(request, who, form, note, f"d-{deadline_id}", work)


class ConsoleClose(SaleDeadlines):
    def routes(self) -> list[Route]:
        base = "/console/sessions/{session_id}/close"
        control = Permission.CONTROL_SESSION
        return [
            self.get(base, Permission.VIEW_DEADLINES, self.page),
            self.post(f"{base}/unlock", control, "ESCROW_UNLOCK", self.unlock),
            self.post(f"{base}/retry", control, "PUBLICATION_RETRY", self.retry),
            *self.deadline_routes(base),
        ]

    def after(self, sale_id: str, done: str, field: str) -> str:
        return f"/console/sessions/{sale_id}/close?done={done}#{field}"

    # ------------------------------------------------------------------
    # the page

    async def _show(self, request: Request, who: SignedIn, *, error: dict[str, Any] | None = None,
                    typed: dict[str, str] | None = None, status_code: int = 200) -> Response:
        sid = request.path_params["session_id"]
        service = request.state.service
        state = await service.state(sid)  # UNKNOWN_SESSION
        sealer: ReserveSealer = service.sealer
        clock: DeadlineService = request.state.deadlines
        closed = state.closed
        reserve_ok = None
        if closed is not None and closed.reserve is not None and closed.reserve_salt is not None:
            reserve_ok = reserve_commitment(closed.reserve, closed.reserve_salt) == state.reserve_commitment
        board = await session_deadlines(clock, sid)
        plan_id = await clock.plan_of(sid)
        documents = await self._documents(request, plan_id) if plan_id else []
        unsold = plan_id is not None and not any(d["kind"].startswith("RESULT") for d in documents) \
            and await request.state.publisher.result_due(plan_id) == UNSOLD
        role = who.user.role
        terminated = None
        if state.phase is Phase.TERMINATED:  # ended without a close: the reason given (or RULES 5.4's)
            terminated = {"reason": no_sale_reason(state.end_reason or "", terminated=True), "at": state.last_at}
        return self.render(
            request, "close.html", who, status_code=status_code, session_id=sid, state=state, terms=state.terms,
            closed=closed, reserve_ok=reserve_ok, escrow_unlocked=sealer.unlocked, escrow_key_id=sealer.key_id,
            deadlines=board["deadlines"], closing=board["closing"], plan_id=plan_id, documents=documents,
            may_act=allowed(role, Permission.CONTROL_SESSION), unsold=unsold,
            confirmation=closed is not None and closed.outcome == "SOLD" and allowed(role, Permission.VIEW_CONFIRMATION),
            CHANNELS=CHANNELS, DELIVERY=DELIVERY, DOCUMENTS=DOCUMENTS, OPEN=OPEN,
            error=error, typed=typed or {}, done=request.query_params.get("done"), terminated=terminated,
        )

    @staticmethod
    async def _documents(request: Request, plan_id: str) -> list[dict[str, Any]]:
        pool = request.state.publisher.pool
        rows = [r for r in await outbox.documents(pool, None, limit=500) if r["plan_id"] == plan_id]
        deliveries = await outbox.deliveries(pool, [r["document_id"] for r in rows])
        return [
            {"document_id": r["document_id"], "kind": r["kind"], "published_at": r["published_at"],
             "deliveries": [dict(d) for d in deliveries if d["document_id"] == r["document_id"]]}
            for r in rows
        ]

    async def page(self, request: Request, who: SignedIn) -> Response:
        sid = request.path_params["session_id"]
        if TENDER_ID.fullmatch(sid):  # a tender's close is on its own page: one place for its rows
            return RedirectResponse(f"/console/tenders/{sid}#deadlines", status_code=303)
        return await self._show(request, who)

    # ------------------------------------------------------------------
    # actions

    async def unlock(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        """The passphrase unlocks the escrow key (never logged or kept); a session held for the
        locked key then closes at once, as `POST /api/sessions/{id}/close` does."""
        sid = request.path_params["session_id"]
        service = request.state.service

        async def work() -> str:
            passphrase = form.get("passphrase", "")
            if not passphrase:
                raise Rejected(Code.INVALID_FIELD, "请输入口令 / the passphrase is required", field="passphrase")
            if not service.sealer.unlocked:
                service.sealer.unlock(passphrase.encode())  # ESCROW_PASSPHRASE_WRONG
            await service.tick(sid)
            return "UNLOCKED"

        return await self._act(request, who, form, note, "escrow", work)

    async def retry(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        sid = request.path_params["session_id"]
        document_id, channel = form.get("document_id", ""), form.get("channel") or None
        note.detail = {"document_id": document_id, "channel": channel}

        async def work() -> str:
            clock: DeadlineService = request.state.deadlines
            publisher = request.state.publisher
            plan_id = await clock.plan_of(sid)
            if plan_id is None or not any(d["document_id"] == document_id for d in await self._documents(request, plan_id)):
                raise Rejected(Code.NOT_FOUND, "无此文件 / no such document", field="document_id")
            await outbox.retry(publisher.pool, document_id, channel)  # delivered rows stay as they are
            publisher.wake()
            return "RETRY"

        return await self._act(request, who, form, note, "publication", work)
