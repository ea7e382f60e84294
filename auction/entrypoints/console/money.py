"""A session's applications and deposits in the console (竞买申请与保证金): the ledger per
application (sub-account, required, paid, missing, deadline), the bank's confirmations
as they arrive (the webhook books them; the page follows), qualification and the
bidding tokens. The same service answer as `GET /api/sessions/{id}/applications`.

Bidders stay anonymous before the close (RULES 3.5, 8.1): the rows are built from a
list of what may be shown, never by hiding names from what may not: no legal name,
registration number or payer name until the session has ended, and then only to
roles that may see identities.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auction.entrypoints.console.auth import ConsoleArea
from auction.services.deposits import DepositService
from auction.staff.roles import Permission, allowed
from auction.store.console import SignedIn

STATUS = {
    "AWAITING_DEPOSIT": "待缴保证金",
    "QUALIFYING": "资格确认中",
    "QUALIFIED": "已取得竞买资格",
    "NOT_QUALIFIED": "不予确认资格",
}
KINDS = {"COMPANY": "法人", "PERSON": "自然人", "INDIVIDUAL": "自然人", "OTHER": "其他组织"}
FATES = {
    "DEPOSIT": "保证金", "HELD_FOR_REFUND": "待退还", "APPLIED_TO_PRICE": "抵作价款",
    "FORFEITED": "不予退还", "REFUNDED": "已退还",
}
PAYMENT_FIELDS = ("txn_id", "amount_fen", "received_at", "counted", "code", "reason")


def ledger_rows(answer: list[dict[str, Any]], reveal: bool) -> list[dict[str, Any]]:
    """What a staff page may show of each application; names only when `reveal`."""
    rows = []
    for a in answer:
        row = {k: a.get(k) for k in ("application_id", "kind", "sub_account", "required_fen", "paid_fen",
                                     "missing_fen", "deposit_deadline", "status", "code", "message",
                                     "qualified_on", "qualified_at", "bidder_no", "token_issued")}
        row["fates"] = [(FATES[k], v) for k, v in (a.get("deposit") or {}).items() if k in FATES and v]
        row["payments"] = [
            {**{k: p.get(k) for k in PAYMENT_FIELDS}, "payer_name": p.get("payer_name") if reveal else None}
            for p in a.get("payments", [])
        ]
        row["legal_name"] = a.get("legal_name") if reveal else None
        row["registration_no"] = a.get("registration_no") if reveal else None
        rows.append(row)
    return rows


class ConsoleMoney(ConsoleArea):
    def routes(self) -> list[Route]:
        return [self.get("/console/sessions/{session_id}/applications", Permission.VIEW_BIDDERS, self.applications)]

    async def applications(self, request: Request, who: SignedIn) -> Response:
        sid = request.path_params["session_id"]
        state = await request.state.service.state(sid)  # UNKNOWN_SESSION
        deposits: DepositService = request.state.deposits
        reveal = state.final and allowed(who.user.role, Permission.SEE_IDENTITIES)  # RULES 3.5, 8.1
        rows = ledger_rows(await deposits.view(sid), reveal)
        may_issue = not state.final and allowed(who.user.role, Permission.QUALIFY_BIDDER)
        tokens = [{"application_id": r["application_id"], "issued": bool(r["token_issued"])}
                  for r in rows if may_issue and r["status"] == "QUALIFIED"]
        payments = sorted(({**p, "application_id": r["application_id"], "sub_account": r["sub_account"]}
                           for r in rows for p in r["payments"]), key=lambda p: p["received_at"] or "", reverse=True)
        return self.render(
            request, "money.html", who, session_id=sid, state=state, terms=state.terms, rows=rows,
            payments=payments, reveal=reveal, token_actions=tokens, STATUS=STATUS, KINDS=KINDS,
            qualified=sum(1 for r in rows if r["status"] == "QUALIFIED"),
        )
