"""A sold session's records over HTTP (operator key): the transaction confirmation
(成交确认书, N Art.20) and the settlement figures (Q40-Q41).

    GET  /api/sessions/{id}/confirmation      HTML (Chinese)
    GET  /api/sessions/{id}/confirmation.pdf  the same as a PDF
    POST /api/sessions/{id}/settlement        {deductions: [{name, kind, amount_fen}], pre_reform, land_use_code?, by?}
    GET  /api/sessions/{id}/settlement        the latest figures (and how many times they were entered)

The confirmation names the winner, so it is for operators, and only after the
close (RULES 3.5, 8.1); the winner receives it from them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from auction.documents.confirmation import Confirmation, render_html, render_pdf
from auction.domain.china import iso_cst
from auction.domain.plan.parcels import Parcel
from auction.domain.codes import Code, Rejected
from auction.domain.clock.deadlines import DeadlineKind
from auction.domain.deposit.ledger import AccountKind
from auction.domain.bidding.session import Phase, SessionState
from auction.domain.deposit.settlement import Deduction, DeductionKind, Settlement, settle_q40, settle_q41
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.routes import BOOL, OBJECT, Endpoint, RouteTable, get, obj, post, text
from auction.services.deadlines import DeadlineService
from auction.services.plans import PlanService
from auction.settings import Settings
from auction.store import deadlines as rows_store
from auction.store import deposits as ledger_store
from auction.store import sessions as session_rows
from auction.store.events import to_micros

MAX_DEDUCTIONS = 50


def _sold(state: SessionState) -> tuple[int, int]:
    """(winner bidder number, price) of a sold session; `SESSION_NOT_SOLD` otherwise."""
    closed = state.closed
    if state.phase is not Phase.CLOSED or closed is None or closed.outcome != "SOLD":
        raise Rejected(Code.SESSION_NOT_SOLD, phase=state.phase.value)
    assert closed.winner_bidder_no is not None and closed.price is not None
    return closed.winner_bidder_no, closed.price


async def session_confirmation(clock: DeadlineService, plans: PlanService | None, settings: Settings,
                               session_id: str) -> Confirmation:
    """The transaction confirmation of a sold session (`SESSION_NOT_SOLD` otherwise), for
    `GET /api/sessions/{id}/confirmation[.pdf]` and the console's printable copy."""
    state = await clock.sessions.state(session_id)
    winner_no, price = _sold(state)
    assert state.terms is not None and state.closed is not None
    await clock.process_close(session_id)  # normally done at the close already; idempotent
    pool = clock.pool
    app = await ledger_store.application_by_bidder(pool, session_id, winner_no)
    applied = 0
    if app is not None:
        name, registration_no = app.legal_name, app.registration_no
        ledger = await ledger_store.ledger_for(pool, [app.sub_account])
        applied = ledger.held(AccountKind.APPLIED_TO_PRICE, app.sub_account) + ledger.held(
            AccountKind.FORFEITED, app.sub_account
        )
    else:  # qualified through the operator stand-in: no application, no deposit
        name = await session_rows.legal_name(pool, session_id, winner_no) or f"竞买号 {winner_no}"
        registration_no = ""
    contract = await rows_store.of_session(pool, session_id, DeadlineKind.CONTRACT_SIGNING)
    row = contract[0].deadline if contract else None
    return Confirmation(
        number=f"CJQR-{session_id}",
        session_id=session_id,
        seller=settings.seller_name,
        trading_center=settings.trading_center,
        winner_name=name,
        winner_registration_no=registration_no,
        bidder_no=winner_no,
        parcel_ref=state.terms.parcel_ref,
        parcel_facts=await _parcel_facts(plans, clock, session_id),
        method=state.terms.method.value,
        closed_at=state.closed.at,
        price_fen=price,
        deposit_applied_fen=applied,
        sign_place=settings.contract_place,
        sign_due_date=row.due_date if row is not None else None,
        sign_missing_year=row.missing_year if row is not None else None,
        sign_provisional_years=row.provisional_years if row is not None else (),
        contract_working_days=clock.rules.contract_working_days,
        issued_at=state.closed.at,
    )


class RecordsApi(RouteTable):
    def table(self) -> list[Endpoint]:
        return [
            get("/api/sessions/{session_id}/confirmation", self.confirmation_html,
                "成交确认书 / The transaction confirmation (HTML)", answers="text/html"),
            get("/api/sessions/{session_id}/confirmation.pdf", self.confirmation_pdf,
                "成交确认书 PDF / The transaction confirmation (PDF)", answers="application/pdf"),
            post("/api/sessions/{session_id}/settlement", self.settle, "出让收入分成 / Record the settlement (Q40, Q41)",
                 status=201, body=obj(pre_reform=BOOL, by=text(100), land_use_code=text(8),
                                      deductions={"type": "array", "items": OBJECT})),
            get("/api/sessions/{session_id}/settlement", self.settlement, "出让收入分成 / The latest settlement"),
        ]

    async def confirmation_html(self, request: Request) -> Response:
        return HTMLResponse(render_html(await self._confirmation(request)))

    async def confirmation_pdf(self, request: Request) -> Response:
        c = await self._confirmation(request)
        return Response(render_pdf(c), media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="confirmation-{c.session_id}.pdf"'})

    async def _confirmation(self, request: Request) -> Confirmation:
        return await session_confirmation(request.state.deadlines, getattr(request.state, "plans", None),
                                          self.settings, request.path_params["session_id"])

    async def settle(self, request: Request, body: dict[str, Any]) -> Any:
        """Q40 (net split 4:6) or, for pre-reform stored commercial/residential land, Q41 (15%)."""
        clock: DeadlineService = request.state.deadlines
        session_id = request.path_params["session_id"]
        _, price = _sold(await clock.sessions.state(session_id))
        pre_reform = body.get("pre_reform", False)
        if not isinstance(pre_reform, bool):
            raise Rejected(Code.INVALID_FIELD, "pre_reform must be true or false", field="pre_reform")
        by = text_field(body, "by", 100) if "by" in body else "finance"
        land_use = body.get("land_use_code")
        if land_use is not None and (not isinstance(land_use, str) or not 1 <= len(land_use) <= 8):
            raise Rejected(Code.INVALID_FIELD, "land_use_code: a GB/T 21010 code, e.g. 0701", field="land_use_code")
        settlement: Settlement
        if pre_reform:
            if land_use is None:
                raise Rejected(Code.INVALID_FIELD, "land_use_code is required for Q41", field="land_use_code")
            settlement = settle_q41(price, land_use_code=land_use)
        else:
            settlement = settle_q40(price, _deductions(body.get("deductions", [])))
        figures = settlement.to_dict()
        await rows_store.add_settlement(clock.pool, session_id, regime=settlement.regime.value, pre_reform=pre_reform,
                                        land_use_code=land_use, figures=figures, entered_by=by)
        return await self._latest(clock, session_id)

    async def settlement(self, request: Request) -> Any:
        clock: DeadlineService = request.state.deadlines
        session_id = request.path_params["session_id"]
        await clock.sessions.state(session_id)
        return await self._latest(clock, session_id)

    @staticmethod
    async def _latest(clock: DeadlineService, session_id: str) -> dict[str, Any]:
        rows = await rows_store.settlements(clock.pool, session_id)
        if not rows:
            raise Rejected(Code.NOT_FOUND, "no settlement figures entered", session_id=session_id)
        r = rows[0]
        return {
            "session_id": session_id,
            "regime": r.regime,
            "pre_reform": r.pre_reform,
            "land_use_code": r.land_use_code,
            "figures": r.figures,
            "entered_by": r.entered_by,
            "entered_at": iso_cst(to_micros(r.entered_at)),
            "versions": len(rows),
        }


def _deductions(value: Any) -> list[Deduction]:
    if not isinstance(value, list) or len(value) > MAX_DEDUCTIONS:
        raise Rejected(Code.SETTLEMENT_INVALID_ITEM, f"deductions: a list of at most {MAX_DEDUCTIONS}")
    items = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or len(item["name"]) > 200:
            raise Rejected(Code.SETTLEMENT_INVALID_ITEM, "each deduction needs a name, kind and amount_fen")
        try:
            kind = DeductionKind(item.get("kind"))
        except ValueError:
            raise Rejected(Code.SETTLEMENT_INVALID_ITEM, f"kind must be one of {[k.value for k in DeductionKind]}",
                           name=item["name"]) from None
        amount: Any = item.get("amount_fen")  # judged by `settle_q40` (SETTLEMENT_INVALID_ITEM)
        items.append(Deduction(item["name"], kind, amount))
    return items


async def _parcel_facts(plans: PlanService | None, clock: DeadlineService,
                        session_id: str) -> tuple[tuple[str, str], ...]:
    """The parcel as the supply plan describes it, when the session came from one."""
    plan_id = await clock.plan_of(session_id)
    if plans is None or plan_id is None:
        return ()
    parcel = (await plans.state(plan_id)).parcel
    return () if parcel is None else parcel_facts(parcel)


def parcel_facts(parcel: Parcel) -> tuple[tuple[str, str], ...]:
    """The parcel's lines in a confirmation or a notice of award."""
    facts = [("坐落", parcel.location), ("面积", f"{parcel.area_m2} 平方米"),
             ("土地用途", f"{parcel.land_use_name}（{parcel.land_use}）"), ("出让年限", f"{parcel.term_years} 年")]
    return tuple((k, v) for k, v in facts if v.strip())
