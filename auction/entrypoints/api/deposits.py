"""Applications, deposits and the ledger over HTTP (JSON, operator key; RULES 3.4, Q31).

    POST /api/sessions/{id}/applications   {legal_name, registration_no, kind, deposit_deadline?}
    GET  /api/sessions/{id}/applications   each application, its payments, verdicts and status
    POST /api/tenders/{id}/applications    the same for a tender (RULES 6, 3.4): its deposit, its bidder
    GET  /api/tenders/{id}/applications    number and token once the bank's payment completes the deposit
    POST /api/applications/{id}/issue-token {by}: the bidding token, once, after qualification
                                           (never the bidder number: RULES 3.5, 8.1)
    POST /api/applications/{id}/reissue-token {by, reason}: a new token for a lost or exposed one, once
    GET  /api/ledger                       the deposit ledger checked (SQL and replay), totals,
                                           money paid to sub-accounts nobody holds
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from auction.domain.china import iso_cst
from auction.domain.codes import MESSAGES, Code, Rejected
from auction.domain.deposit.ledger import AccountKind
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.operator import _reason, _time
from auction.entrypoints.api.routes import TIME, Endpoint, RouteTable, get, obj, post, text
from auction.entrypoints.api.tenders import sale_id_of
from auction.services.deadlines import DeadlineService
from auction.services.deposits import DepositService, IssuedToken
from auction.store import deposits as store
from auction.store import portal as portal_rows
from auction.store.events import to_micros

REGISTRATION_NO = re.compile(r"[0-9A-Za-z-]{6,32}")


APPLICATION = obj("registration_no", "kind", "legal_name", registration_no=text(32),
                  kind={"enum": ["COMPANY", "PERSON"]}, legal_name=text(), deposit_deadline=TIME)


class DepositsApi(RouteTable):
    def table(self) -> list[Endpoint]:
        return [
            post("/api/sessions/{session_id}/applications", self.apply,
                 "竞买申请 / Apply: a deposit sub-account for this applicant (Q31)", status=201, body=APPLICATION),
            get("/api/sessions/{session_id}/applications", self.applications, "竞买申请与保证金 / Applications"),
            post("/api/tenders/{tender_id}/applications", self.apply,
                 "投标申请 / Apply to a tender: a deposit sub-account for this applicant (RULES 3.4, 6)", status=201,
                 body=APPLICATION),
            get("/api/tenders/{tender_id}/applications", self.applications,
                "投标申请与保证金 / A tender's applications"),
            post("/api/applications/{application_id}/issue-token", self.issue_token,
                 "发放竞价令牌 / Issue a qualified applicant's token (shown once)", status=201,
                 body=obj("by", by=text(100))),
            post("/api/applications/{application_id}/reissue-token", self.reissue_token,
                 "重新发放令牌 / Re-issue a token (the old one stops working)", status=201,
                 body=obj("by", "reason", by=text(100), reason=text(500))),
            get("/api/ledger", self.ledger, "保证金台账 / The deposits' ledger"),
        ]

    async def apply(self, request: Request, body: dict[str, Any]) -> Any:
        """竞买申请: a dedicated 13-digit sub-account for this applicant and parcel."""
        session_id = sale_id_of(request)
        registration_no = text_field(body, "registration_no", 32)
        if not REGISTRATION_NO.fullmatch(registration_no):
            raise Rejected(Code.INVALID_FIELD, "registration_no: 6-32 letters, digits or -", field="registration_no")
        kind = body.get("kind")
        if not isinstance(kind, str):
            raise Rejected(Code.INVALID_FIELD, "kind must be COMPANY or PERSON", field="kind")
        deposits: DepositService = request.state.deposits
        deadlines: DeadlineService = request.state.deadlines
        row = await deposits.apply(
            session_id,
            legal_name=text_field(body, "legal_name"),
            registration_no=registration_no.upper(),
            kind=kind,
            deposit_deadline=_time(body, "deposit_deadline", required=False),
            default_deadline=await deadlines.announced_deposit_deadline(session_id),
        )
        return {
            "application_id": row.application_id,
            "session_id": row.session_id,
            "kind": row.kind,
            "legal_name": row.legal_name,
            "registration_no": row.registration_no,
            "sub_account": row.sub_account,
            "required_fen": row.required_fen,
            "deposit_deadline": iso_cst(row.deposit_deadline),
            "status": "AWAITING_DEPOSIT",
        }

    async def applications(self, request: Request) -> Any:
        deposits: DepositService = request.state.deposits
        return await deposits.view(sale_id_of(request))

    async def issue_token(self, request: Request, body: dict[str, Any]) -> Any:
        """The qualified bidder's token, returned in this response only (only its hash is kept)."""
        return await issue_token(request.state.deposits, request.path_params["application_id"], body)

    async def reissue_token(self, request: Request, body: dict[str, Any]) -> Any:
        """A lost or exposed token replaced: the new one in this response only; the old
        one can neither sign in nor bid on an open connection (TOKEN_REVOKED)."""
        return await reissue_token(request.state.deposits, request.path_params["application_id"], body)

    async def ledger(self, request: Request) -> Any:
        deposits: DepositService = request.state.deposits
        report = await store.check(deposits.pool)
        report["unmatched"] = [
            {
                "txn_id": e.bank_txn_id,
                "sub_account": e.note,
                "amount_fen": -sum(p.amount for p in e.postings if p.account.kind is AccountKind.HELD_FOR_REFUND),
                "payer_name": e.counterparty,
                "received_at": iso_cst(e.at),
                "code": e.reason.value if e.reason else None,
                "reason": MESSAGES[e.reason] if e.reason else None,
            }
            for e in await store.unmatched(deposits.pool)
            if e.kind.value == "PAYMENT"
        ]
        return report


async def issue_token(deposits: DepositService, application_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/applications/{id}/issue-token` and the console's form: `{by}`."""
    by = text_field(body, "by", 100)
    await _not_the_portals(deposits, application_id)
    return _token_view(await deposits.issue_token(application_id, by))


async def reissue_token(deposits: DepositService, application_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/applications/{id}/reissue-token` and the console's form: `{by, reason}`."""
    by, reason = text_field(body, "by", 100), _reason(body)
    await _not_the_portals(deposits, application_id)
    return _token_view(await deposits.reissue_token(application_id, by, reason))


async def _not_the_portals(deposits: DepositService, application_id: str) -> None:
    """Staff never hold the token of an application a company made in the portal: it takes (and
    re-takes) its token there itself. A token in staff hands would let them sign in with it and
    learn which number that company bids under before the close (RULES 3.5, 8.1)."""
    if await portal_rows.is_portal_application(deposits.pool, application_id):
        raise Rejected(Code.TOKEN_VIA_PORTAL, application_id=application_id)


def _token_view(issued: IssuedToken) -> dict[str, Any]:
    """A token, shown in this response only (only its hash is kept). Without the bidder
    number: beside the application it would tell the staff who hand the token over which
    number that company bids under (RULES 3.5, 8.1). The bidder learns its number when it
    signs in with the token (the WebSocket welcome)."""
    return {
        "application_id": issued.application_id,
        "session_id": issued.session_id,
        "token": issued.token,
        "expires_at": iso_cst(to_micros(issued.expires_at)),
    }
