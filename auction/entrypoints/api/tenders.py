"""Tenders over HTTP (RULES 6): the operator's routes (bearer key) and the bidders' (their
bidding token). Same conventions as the plans API: times ISO 8601 with an offset in,
`+08:00` out; amounts integer fen; a refusal is `{"error": {"code", "message", "details"}}`.

Operator (key):
    POST /api/plans/{plan_id}/tender     create the tender of an announced tender plan
    GET  /api/tenders/{tender_id}        the tender as the public sees it, and the bidders after the end
    POST /api/tenders/{tender_id}/applications   apply: bidders qualify by deposit, as for sessions
                                         (api/deposits.py; the token: /api/applications/{id}/issue-token)
    POST /api/tenders/{tender_id}/open   开标, at the opening time (the escrow key unlocked)
    POST /api/tenders/{tender_id}/panel  seat the scoring panel
    POST /api/tenders/{tender_id}/score-sheets   a member's signed score sheet
    POST /api/tenders/{tender_id}/terminate      end it, with a reason
    POST /api/tenders/{tender_id}/resume the suspended tender again, with a new bid deadline and
                                         opening (RULES 6.7: held for an outage across its deadline)
    GET  /api/tenders/{tender_id}/notice the winner's 中标通知书 (HTML), once awarded
Bidder (token, `Authorization: Bearer bt_...`):
    GET  /tender/{tender_id}             the terms, the escrow public key, the opening and result;
                                         with the token also `you: {bidder_no}` (what the bid is bound to)
    POST /tender/{tender_id}/bid         a sealed bid (commitment and envelope only): its receipt

The reserve arrives in the create request and goes no further than the tender
service, which seals it; no response, log line or row holds it before the end.
"""

from __future__ import annotations

import math
import re
import time
from fractions import Fraction
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from auction.documents.tender_notice import TenderNotice, render_html
from auction.domain.china import iso_cst
from auction.domain.codes import Code, Rejected
from auction.domain.money import is_valid_amount
from auction.domain.tender.commands import Envelope
from auction.domain.tender.events import RankedBid, SealedBidReceived
from auction.domain.tender.status import tender_status
from auction.domain.tender.tender import TenderState
from auction.domain.tender.terms import Criterion, Evaluation
from auction.entrypoints.api.guard import Handler, RetryLater, json_body, refusing, text_field
from auction.entrypoints.api.inputs import instant
from auction.entrypoints.api.operator import _reason
from auction.entrypoints.api.plans import MEMBER_ID, plan_id_of
from auction.entrypoints.api.records import parcel_facts
from auction.entrypoints.api.routes import FEN, INT, OBJECT, TIME, Doc, Endpoint, RouteTable, get, obj, post, text
from auction.entrypoints.http.limits import TokenGuess, address_of
from auction.services.registration import TOKEN_PREFIX
from auction.services.session import now_us
from auction.services.tender import TenderRequest, TenderService, receipt_view
from auction.settings import Settings
from auction.store.tender.log import TenderLogin

TENDER_TERMS = obj(
    "evaluation", "bid_deadline", "opening_at",
    evaluation={"enum": ["HIGHEST_PRICE", "SCORING"]}, bid_deadline=TIME, opening_at=TIME,
    reserve_fen=FEN, price_weight=INT,
    criteria={"type": "array", "items": obj("key", "name", "weight", key=text(32), name=text(100), weight=INT)},
)
TENDER_ID = re.compile(r"T-[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")


def _service(request: Request) -> TenderService:
    service: TenderService = request.state.tenders
    return service


def tender_id_of(request: Request) -> str:
    tender_id = request.path_params["tender_id"]
    if not TENDER_ID.fullmatch(tender_id):
        raise Rejected(Code.NOT_FOUND, "no such tender")
    return str(tender_id)


def sale_id_of(request: Request) -> str:
    """The session's id, or the tender's (`/api/tenders/{tender_id}/...`): a sale, as deposits and
    deadlines name it (migrations/0018_sales.sql)."""
    if "tender_id" in request.path_params:
        return tender_id_of(request)
    return str(request.path_params["session_id"])


def _ranked(r: RankedBid) -> dict[str, Any]:
    return {"bidder_no": r.bidder_no, "price_fen": r.price, "score": r.score, "eligible": r.eligible}


def score_text(score: str) -> str:
    """An exact score ("426/5") as people read it: two decimals."""
    if not score:
        return ""
    hundredths = math.floor(Fraction(score) * 100 + Fraction(1, 2))  # half up
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def tender_view(state: TenderState, escrow_public_key_hex: str, now: int | None = None) -> dict[str, Any]:
    """The tender as anyone may see it: never a bid, or how many, before the opening. `status`: what
    it does at `now` (default: the server's clock), e.g. `BIDS_NOT_OPEN` before bids open
    (auction/domain/tender/status.py)."""
    terms = state.terms
    assert terms is not None
    shown = terms.to_dict()
    for name in ("registration_closes_at", "bids_open_at", "bid_deadline", "opening_at"):
        shown[name] = iso_cst(shown[name])
    for name in ("start_price", "deposit"):
        shown[f"{name}_fen"] = shown.pop(name)
    # The reserve in force: sealed at the creation, or later by the committee (Q26), which the terms
    # as created do not say; the view says the same thing in both places.
    shown["has_reserve"] = state.reserve_commitment is not None
    shown["reserve_commitment"] = state.reserve_commitment
    view: dict[str, Any] = {
        "tender_id": terms.tender_id, "phase": state.phase.value, "terms": shown,
        "status": tender_status(state, now_us() if now is None else now).status.value,
        "escrow_public_key_hex": escrow_public_key_hex, "opening": None, "panel": None, "result": None,
        "reserve_commitment": state.reserve_commitment,  # at the creation, or the committee's (Q26)
    }
    # RULES 6.7: held for an outage across its bid deadline; the status names `since` (SUSPENDED)
    view["suspension"] = None if state.suspended is None else {
        "since": iso_cst(state.suspended.at), "reason": state.suspended.reason, "recovery": state.suspended.recovery}
    if state.opened is not None:
        view["opening"] = {
            "at": iso_cst(state.opened.at), "valid_count": state.opened.valid_count,
            "bids": [{"bidder_no": b.bidder_no, "price_fen": b.price, "valid": b.valid, "reason": b.reason,
                      "commitment": b.commitment, "salt": b.salt, "proposal_sha256": b.proposal_sha256,
                      "submitted_at": iso_cst(b.submitted_at)} for b in state.opened.bids],
        }
    if state.panel is not None:
        view["panel"] = {"members": list(state.panel.members), "signed": len(state.sheets)}
    if state.ended is not None:
        e = state.ended
        view["result"] = {
            "at": iso_cst(e.at), "outcome": e.outcome, "reason": e.reason, "winner_bidder_no": e.winner_bidder_no,
            "price_fen": e.price, "ranking": [_ranked(r) for r in e.ranking], "reserve_fen": e.reserve,
            "reserve_salt": e.reserve_salt,
            "score_sheets": [{"member_id": s.member_id, "signature": s.signature,
                              "scores": {str(no): dict(items) for no, items in s.scores}} for s in state.sheets],
        }
    return view


def _escrow_hex(request: Request) -> str:
    return _service(request).sealer.public_hex


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if type(value) is not int:
        raise Rejected(Code.INVALID_FIELD, f"{name} must be a whole number", field=name)
    return value


def tender_request(body: dict[str, Any]) -> TenderRequest:
    try:
        evaluation = Evaluation(body.get("evaluation"))
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, "evaluation: HIGHEST_PRICE or SCORING", field="evaluation") from None
    reserve = body.get("reserve_fen")  # absent: the committee decides it (Q26, POST /api/plans/{id}/reserve)
    if reserve is not None and (type(reserve) is not int or not is_valid_amount(reserve)):  # never echoed
        raise Rejected(Code.INVALID_FIELD, "reserve_fen: a positive whole number of fen (Q28)", field="reserve_fen")
    raw = body.get("criteria", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise Rejected(Code.INVALID_FIELD, "criteria: a list of {key, name, weight}", field="criteria")
    criteria = tuple(Criterion(key=str(c.get("key", "")), name=text_field(c, "name", 100), weight=_int(c, "weight"))
                     for c in raw)
    return TenderRequest(
        bid_deadline=instant(body.get("bid_deadline"), "bid_deadline"),
        opening_at=instant(body.get("opening_at"), "opening_at"),
        evaluation=evaluation, reserve=reserve, price_weight=_int(body, "price_weight", 0), criteria=criteria,
    )


async def create_tender(request: Request, plan_id: str, body: dict[str, Any]) -> Response:
    """The tender of an announced tender plan (201), or the one already created (200)."""
    state, created = await _service(request).create_from_plan(plan_id, tender_request(body))
    return JSONResponse(tender_view(state, _escrow_hex(request)) | {"created": created},
                        status_code=201 if created else 200)


def scores_of(body: dict[str, Any]) -> tuple[tuple[int, tuple[tuple[str, int], ...]], ...]:
    raw = body.get("scores")
    bad = Rejected(Code.INVALID_FIELD, "scores: {bidder_no: {criterion key: score}}", field="scores")
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise bad
    try:
        return tuple((int(no), tuple((str(k), v) for k, v in items.items())) for no, items in raw.items())
    except ValueError:
        raise bad from None


async def notice_html(service: TenderService, settings: Settings, tender_id: str) -> str:
    """The winner's 中标通知书 (RULES 6.6), once the tender is awarded (else SESSION_NOT_SOLD)."""
    state = await service.fresh_state(tender_id)
    ended, terms = state.ended, state.terms
    if ended is None or ended.winner_bidder_no is None or ended.price is None or terms is None \
            or state.opened is None:
        raise Rejected(Code.SESSION_NOT_SOLD, "no award yet", tender_id=tender_id)
    plan = await service.plans.fresh_state(terms.plan_id)
    names = await service.store.bidder_names(tender_id)
    seller = plan.announced.announcement.seller if plan.announced is not None else settings.seller_name
    winner = next(r for r in ended.ranking if r.bidder_no == ended.winner_bidder_no)
    notice = TenderNotice(
        number=f"ZBTZ-{tender_id}", tender_id=tender_id, seller=seller,
        trading_center=settings.trading_center,
        winner_name=names.get(ended.winner_bidder_no, f"投标人 {ended.winner_bidder_no}"),
        bidder_no=ended.winner_bidder_no, parcel_ref=terms.parcel_ref,
        parcel_facts=() if plan.parcel is None else parcel_facts(plan.parcel),
        evaluation=terms.evaluation.value, score=score_text(winner.score), opened_at=state.opened.at,
        awarded_at=ended.at, price_fen=ended.price, issued_at=ended.at,
    )
    return render_html(notice)


class TendersApi(RouteTable):
    def table(self) -> list[Endpoint]:
        tid = "/api/tenders/{tender_id}"
        return [
            post("/api/plans/{plan_id}/tender", self.create, "招标文件 / The tender of an announced tender plan",
                 body=TENDER_TERMS),
            get(tid, self.show, "招标 / A tender: terms, opening, panel, result"),
            post(f"{tid}/open", self.open_bids, "开标 / Open the bids (at the opening time; also by its timer)"),
            post(f"{tid}/panel", self.panel, "评标委员会 / Seat the scoring panel (RULES 6.5)",
                 body=obj("members", members={"type": "array", "items": text(64)})),
            post(f"{tid}/score-sheets", self.score, "评分表 / A member's signed score sheet", body=obj(
                "member_id", "scores", "signature_hex", member_id=text(64), scores=OBJECT, signature_hex=text(128))),
            post(f"{tid}/terminate", self.terminate, "终止招标 / Terminate the tender", body=obj("reason", reason=text())),
            post(f"{tid}/resume", self.resume, "恢复招标 / Resume a suspended tender with a new bid deadline and "
                 "opening (RULES 6.7; the deadline announced as a session's resumption, RULES 7.3)",
                 body=RESUMPTION),
            get(f"{tid}/notice", self.notice, "中标通知书 / The winner's notice of award (HTML)", answers="text/html"),
        ]

    async def create(self, request: Request, body: dict[str, Any]) -> Response:
        return await create_tender(request, plan_id_of(request.path_params["plan_id"]), body)

    async def _shown(self, request: Request, state: TenderState) -> dict[str, Any]:
        view = tender_view(state, _escrow_hex(request))
        if state.final:  # who the bidders are: for staff, after the end (RULES 3.5)
            names = await _service(request).store.bidder_names(tender_id_of(request))
            view["bidders"] = {str(no): name for no, name in sorted(names.items())}
        return view

    async def show(self, request: Request) -> Any:
        return await self._shown(request, await _service(request).fresh_state(tender_id_of(request)))

    async def open_bids(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._shown(request, await _service(request).open_bids(tender_id_of(request)))

    async def panel(self, request: Request, body: dict[str, Any]) -> Any:
        members = body.get("members")
        if not isinstance(members, list) or not all(isinstance(m, str) and MEMBER_ID.fullmatch(m) for m in members):
            raise Rejected(Code.INVALID_FIELD, "members: a list of member ids", field="members")
        return await self._shown(request, await _service(request).seat_panel(tender_id_of(request), tuple(members)))

    async def score(self, request: Request, body: dict[str, Any]) -> Any:
        member_id = text_field(body, "member_id", 64)
        try:
            signature = bytes.fromhex(str(body.get("signature_hex", "")))
        except ValueError:
            signature = b""  # does not verify: TENDER_SHEET_BAD_SIGNATURE
        state = await _service(request).score(tender_id_of(request), member_id, scores_of(body), signature)
        return await self._shown(request, state)

    async def notice(self, request: Request) -> Response:
        """中标通知书 (RULES 6.6) for the winner, once the tender is awarded."""
        return HTMLResponse(await notice_html(_service(request), self.settings, tender_id_of(request)))

    async def terminate(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._shown(request, await _service(request).terminate(tender_id_of(request), _reason(body)))

    async def resume(self, request: Request, body: dict[str, Any]) -> Any:
        reason, deadline, opening = resumption_of(body)
        return await self._shown(request, await _service(request).resume(tender_id_of(request), reason, deadline,
                                                                         opening))


RESUMPTION = obj("reason", "bid_deadline", "opening_at", reason=text(500), bid_deadline=TIME, opening_at=TIME)


def resumption_of(body: dict[str, Any]) -> tuple[str, int, int]:
    """A tender's resumption as the API and the console's form read it: the reason, then the new
    bid deadline and opening (ISO 8601 with an offset), each refused by its own field."""
    return (_reason(body), instant(body.get("bid_deadline"), "bid_deadline"),
            instant(body.get("opening_at"), "opening_at"))


# The sealed bid's own body limit (app.py `BodyLimit`): the proposal file travels in it.
BID_PATH = re.compile(r"/tender/[^/]+/bid")
BID_OVERHEAD = 4096  # bytes of the body besides the proposal: the JSON, the price, salt, digest, commitment


def proposal_max_bytes(bid_max_bytes: int) -> int:
    """The largest proposal file a sealed bid of `bid_max_bytes` can carry: base64 in the sealed JSON
    (4/3), then the ciphertext in hex (2): 8/3 bytes of body a byte of file."""
    return max(0, (bid_max_bytes - BID_OVERHEAD) * 3 // 8)


def public_tender(settings: Settings) -> Handler:
    @refusing
    async def shown(request: Request) -> Response:
        """The public view; with a bidder's token (`Authorization: Bearer bt_...`) also its own number,
        which the token was issued without (RULES 3.5) and the sealed bid is bound to."""
        tender_id = tender_id_of(request)
        service = _service(request)
        state = await service.fresh_state(tender_id)
        view = tender_view(state, _escrow_hex(request))
        view["proposal_max_bytes"] = proposal_max_bytes(max(settings.tender_bid_max_bytes, settings.max_body_bytes))
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token.startswith(TOKEN_PREFIX):  # a bidding token (an operator's key is not one: ignored)
            login = await _login(request, tender_id, token)
            view["you"] = {"bidder_no": login.bidder_no, "bid": own_receipt(state, tender_id, login.bidder_no)}
        return JSONResponse(view)

    return shown


async def _login(request: Request, tender_id: str, token: str) -> TenderLogin:
    """The bidder's token, looked up as a guess from its client address in the same window as the
    WebSocket hello's (`TokenGuess`): over the limit a wrong token gets 429 `TOKEN_ATTEMPTS_LIMIT`
    with `Retry-After`; a valid one still signs in."""
    guess = TokenGuess.start(request.state.limits.token_failures, address_of(request.client), time.monotonic())
    try:
        login = await _service(request).login(tender_id, token)
    except Rejected as r:
        if r.code is not Code.INVALID_TOKEN:
            guess.good()  # a real token of another tender: no guess
            raise
        raise RetryLater(guess.refusal(), guess.retry_after()) from None
    guess.good()
    return login


@refusing
async def submit_bid(request: Request) -> Response:
    """投标: the bidder's token signs it in; the body holds the commitment and the envelope only."""
    tender_id = tender_id_of(request)
    supplied = request.headers.get("authorization", "")
    if not supplied.startswith("Bearer "):
        raise Rejected(Code.INVALID_TOKEN)
    service = _service(request)
    login = await _login(request, tender_id, supplied.removeprefix("Bearer ").strip())
    body = await json_body(request)
    raw = body.get("envelope")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("key_id", "nonce", "ciphertext")):
        raise Rejected(Code.INVALID_FIELD, "envelope: {key_id, nonce, ciphertext}", field="envelope")
    envelope = Envelope(key_id=raw["key_id"], nonce=raw["nonce"], ciphertext=raw["ciphertext"])
    commitment = body.get("commitment")
    if not isinstance(commitment, str):
        raise Rejected(Code.INVALID_FIELD, "commitment: 64 lowercase hex digits", field="commitment")
    received = await service.submit(tender_id, login.bidder_no, commitment, envelope)
    return JSONResponse(_receipt(received, tender_id), status_code=201)


def _receipt(received: SealedBidReceived, tender_id: str) -> dict[str, Any]:
    return receipt_view(received, tender_id) | {"received_at": iso_cst(received.at)}


def own_receipt(state: TenderState, tender_id: str, bidder_no: int) -> dict[str, Any] | None:
    """The receipt of the bidder's own sealed bid (None: not yet): shown to its own token only,
    so that a bidder in a new tab or browser sees that its bid is in (never the price: the
    server cannot read it before the opening, and the salt stays with the bidder)."""
    mine = next((b for b in state.bids if b.bidder_no == bidder_no), None)
    return None if mine is None else _receipt(mine, tender_id)


SEALED_BID = obj(
    "commitment", "envelope", commitment={"type": "string", "pattern": "^[0-9a-f]{64}$"},
    envelope=obj("key_id", "nonce", "ciphertext", key_id={"type": "string"}, nonce={"type": "string"},
                 ciphertext={"type": "string"}))


def bidder_endpoints(settings: Settings) -> list[Endpoint]:
    """The bidders' routes (their token, no operator key): routed by app.py from this list, which
    GET /api/openapi.json describes."""
    return [
        Endpoint("GET", "/tender/{tender_id}", public_tender(settings), doc=Doc(
            "招标公告 / A tender as the public sees it: terms, escrow public key, opening, result, the largest "
            "proposal file a sealed bid takes (`proposal_max_bytes`); with a bidding token (Authorization: Bearer "
            "bt_...) also `you: {bidder_no}`", security=(None, "bidderToken"))),
        Endpoint("POST", "/tender/{tender_id}/bid", submit_bid, 201, doc=Doc(
            "投标 / A sealed bid (the commitment and the envelope only); answers its receipt",
            SEALED_BID, security=("bidderToken",))),
    ]
