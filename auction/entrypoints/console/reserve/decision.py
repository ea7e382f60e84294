"""The reserve decision in the console (Q26, docs/rules.md): committee members sign
in, see the decision window, and each signs the decision record in the browser.

The reserve is sealed in the preparing member's browser (static/reserve.js) to
the escrow public key, with the server's own scheme, and the commitment computed
there: the form carries the commitment and the envelope, never the amount or
the salt. Every member's browser signs `decision_record` (the same bytes as
`auction committee sign` signs) with the member's Ed25519 key kept in IndexedDB.

A console account signs as the committee member of the same name: the username
is the `member_id` its public key was registered under (POST /api/committee-members,
by the trading center, as for keys made with `auction committee keygen`).

When the last listed member has signed, the decision goes to the same service
call as `POST /api/plans/{id}/reserve` (`PlanService.decide_reserve`), with the
browser's envelope kept as the sealed reserve. The plan engine judges the amount
against the benchmark (Q27): so the server opens the envelope in memory with the
escrow key, as the close does, checks that it holds the committed value, and
forgets it. With the escrow key locked, sealing waits (`ESCROW_KEY_UNAVAILABLE`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.adapters.sealing import signatures
from auction.adapters.sealing.escrow import ReserveSealer, Sealed
from auction.domain.codes import Code, Rejected
from auction.domain.plan.plan_terms import PlanMethod
from auction.domain.plan.plans import PlanState, PlanStatus
from auction.domain.bidding.session import reserve_commitment
from auction.entrypoints.console.auth import AuditNote, ConsoleArea
from auction.services.plans import PlanService, ReserveRequest
from auction.services.session import now_us
from auction.staff.roles import Permission, allowed
from auction.store import reserve_drafts
from auction.store.console import SignedIn
from auction.store.reserve_drafts import ReserveDraft

HEX64 = re.compile(r"[0-9a-f]{64}")
DRAFT_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
MEMBER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
FIELDS = ("appraisal_id", "floor_price_yuan_per_m2", "members")
Step = Callable[[Request, SignedIn, str, dict[str, str], AuditNote], Awaitable[str]]


def _plans(request: Request) -> PlanService:
    plans: PlanService = request.state.plans
    return plans


async def _sealed_into(request: Request, plan_id: str) -> str | None:
    """Where the decision is sealed: the plan's session, or its tender (RULES 6.1); the
    browser seals the amount bound to this id."""
    plans = _plans(request)
    return await plans.store.session_of(plan_id) or await request.state.tenders.store.tender_of(plan_id)


def _sealer(request: Request) -> ReserveSealer:
    sealer: ReserveSealer = request.state.service.sealer
    return sealer


def _hex(form: dict[str, str], name: str, size: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(form.get(name, ""))
    except ValueError:
        raw = b""
    if not raw or (size is not None and len(raw) != size):
        raise Rejected(Code.INVALID_FIELD, f"{name}: hex", field=name)
    return raw


def parse_yuan(form: dict[str, str], name: str) -> int:
    """An amount typed in 元 (at most 2 decimals) as fen."""
    text = form.get(name, "").strip().replace(",", "")
    try:
        fen = Decimal(text) * 100
    except InvalidOperation:
        fen = Decimal(0)
    if not fen.is_finite() or fen <= 0 or fen != fen.to_integral_value():
        raise Rejected(Code.INVALID_FIELD, "楼面地价：元/平方米，最多2位小数 / yuan per m², at most 2 decimals",
                       field=name)
    return int(fen)


class ConsoleReserve(ConsoleArea):
    def routes(self) -> list[Route]:
        P = Permission
        path = "/console/plans/{plan_id}/reserve"
        return [
            self.get(path, P.VIEW_PLANS, self.page),
            self.post(f"{path}/draft", P.DECIDE_RESERVE, "RESERVE_PREPARE", self.prepare),
            self.post(f"{path}/sign", P.DECIDE_RESERVE, "RESERVE_SIGN", self.sign),
        ]

    # ------------------------------------------------------------------
    # the page

    async def _show(self, request: Request, who: SignedIn, *, error: dict[str, Any] | None = None,
                    typed: dict[str, str] | None = None, status_code: int = 200) -> Response:
        plan_id = request.path_params["plan_id"]
        plans = _plans(request)
        state = await plans.fresh_state(plan_id)  # NOT_FOUND
        session_id = await _sealed_into(request, plan_id)
        registered = {m.member_id: m for m in await plans.store.members()}
        draft = await reserve_drafts.draft(plans.store.pool, plan_id)
        sealer = _sealer(request)
        me = who.user.username
        window = None
        if state.schedule is not None:
            start = state.schedule.start_at
            window = {"opens": start - state.rules.reserve_window, "start": start}
        parcel = state.parcel
        return self.render(
            request, "reserve.html", who, status_code=status_code, plan_id=plan_id, plan=state,
            status=state.status.value, session_id=session_id, window=window, draft=draft,
            appraisals=[a.appraisal for a in state.appraisals], registered=registered,
            my_key=registered[me].public_key.hex() if me in registered else "",
            signer=allowed(who.user.role, Permission.DECIDE_RESERVE), me=me,
            escrow_public=sealer.public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
            escrow_key_id=sealer.key_id, escrow_unlocked=sealer.unlocked,
            benchmark_fen=parcel.benchmark_total_fen() if parcel is not None else None,
            may_go_without=state.draft is not None and state.draft.method is PlanMethod.AUCTION,
            min_members=state.rules.reserve_min_members, server_time_us=now_us(),
            error=error, typed=typed or {}, done=request.query_params.get("done"),
        )

    async def page(self, request: Request, who: SignedIn) -> Response:
        return await self._show(request, who)

    async def _refused(self, request: Request, who: SignedIn, note: AuditNote, r: Rejected,
                       form: dict[str, str]) -> Response:
        """The page again, the refusal beside its field, what was typed kept (never an amount)."""
        note.outcome = r.code.value
        note.detail.setdefault("message", r.rejection.message)
        error = {"code": r.code.value, "message": r.rejection.message,
                 "field": r.rejection.details.get("field") or "form"}
        typed = {k: form.get(k, "") for k in FIELDS}
        return await self._show(request, who, error=error, typed=typed, status_code=422)

    async def _answer(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote,
                      step: Step) -> Response:
        """Run a step: on success back to the page (GET), on a refusal the page with it beside its field."""
        plan_id = request.path_params["plan_id"]
        try:
            done = await step(request, who, plan_id, form, note)
        except Rejected as r:
            return await self._refused(request, who, note, r, form)
        return RedirectResponse(f"/console/plans/{plan_id}/reserve?done={done}", status_code=303)

    # ------------------------------------------------------------------
    # prepare: one member's browser sealed the amount and signed the record

    async def prepare(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        return await self._answer(request, who, form, note, self._prepare)

    async def _prepare(self, request: Request, who: SignedIn, plan_id: str, form: dict[str, str],
                       note: AuditNote) -> str:
        plans = _plans(request)
        state = await plans.fresh_state(plan_id)
        me = who.user.username
        draft_id = form.get("draft_id", "")
        if not DRAFT_ID.fullmatch(draft_id):
            raise Rejected(Code.INVALID_FIELD, "draft_id", field="form")
        existing = await reserve_drafts.draft(plans.store.pool, plan_id)
        if existing is not None and existing.draft_id == draft_id:
            return "PREPARED"  # the same form twice: already kept
        _check_open(state)
        session_id = await _sealed_into(request, plan_id)
        if session_id is None:
            raise Rejected(Code.PLAN_WRONG_STATUS, "先由操作员创建交易场次 / the operator creates the session first",
                           field="form")
        members = tuple(m for m in form.get("members", "").split(",") if m)
        if me not in members or len(set(members)) != len(members) or not all(MEMBER_ID.fullmatch(m)
                                                                              for m in members):
            raise Rejected(Code.INVALID_FIELD, "成员：勾选参加决定的成员（含本人） / tick the members, yourself included",
                           field="members")
        if len(members) < state.rules.reserve_min_members:
            raise Rejected(Code.Q26_TOO_FEW_MEMBERS, minimum=state.rules.reserve_min_members, field="members")
        appraisal_id = form.get("appraisal_id", "")
        if state.appraisal(appraisal_id) is None:
            raise Rejected(Code.Q25_NO_APPRAISAL, appraisal_id=appraisal_id, field="appraisal_id")
        floor = parse_yuan(form, "floor_price_yuan_per_m2")
        decided_at_text = form.get("decided_at_us", "")
        decided_at = int(decided_at_text) if decided_at_text.isdigit() else 0
        if not 0 < decided_at <= now_us():
            raise Rejected(Code.INVALID_FIELD, "decided_at: the browser's time ran ahead of the server's",
                           field="form")
        assert state.schedule is not None
        start = state.schedule.start_at
        if not start - state.rules.reserve_window <= decided_at < start:
            raise Rejected(Code.Q26_OUTSIDE_RESERVE_WINDOW, field="form")
        commitment: str | None = None
        sealed: Sealed | None = None
        if form.get("has_reserve") == "no":
            if state.draft is None or state.draft.method is not PlanMethod.AUCTION:  # Q28
                raise Rejected(Code.Q28_RESERVE_REQUIRED, field="amount")
        else:
            commitment = form.get("commitment", "")
            if not HEX64.fullmatch(commitment):
                raise Rejected(Code.INVALID_FIELD, "commitment: 64 lowercase hex", field="amount")
            if form.get("key_id") != _sealer(request).key_id:
                raise Rejected(Code.ESCROW_KEY_UNAVAILABLE, "封存所用的不是本系统的托管公钥 / sealed to another key",
                               field="amount")
            sealed = Sealed(commitment, _sealer(request).key_id, _hex(form, "nonce_hex", 12),
                            _hex(form, "ciphertext_hex"))
            if _sealer(request).unlocked:
                _opened(_sealer(request), session_id, sealed)
        record = signatures.sealed_decision_bytes(
            plan_id, commitment=commitment, decided_at=decided_at, members=members, appraisal_id=appraisal_id,
            floor_price_fen_per_m2=floor)
        signature = await self._verified(request, me, record, form)
        draft = ReserveDraft(
            plan_id=plan_id, draft_id=draft_id, prepared_by=me, decided_at=decided_at, members=members,
            appraisal_id=appraisal_id, floor_price_fen_per_m2=floor, commitment=commitment,
            key_id=sealed.key_id if sealed else None, nonce=sealed.nonce if sealed else None,
            ciphertext=sealed.ciphertext if sealed else None, record=record, signatures={me: signature})
        # The audit record holds the commitment (public after the close anyway), never an amount.
        note.detail = {"plan_id": plan_id, "members": list(members), "has_reserve": commitment is not None,
                       "commitment": commitment}
        await reserve_drafts.replace_draft(plans.store.pool, draft)
        if set(members) <= draft.signatures.keys():
            return await self._seal(request, draft)
        return "PREPARED"

    # ------------------------------------------------------------------
    # sign: another member's browser signed the same record

    async def sign(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        return await self._answer(request, who, form, note, self._sign)

    async def _sign(self, request: Request, who: SignedIn, plan_id: str, form: dict[str, str],
                    note: AuditNote) -> str:
        plans = _plans(request)
        me = who.user.username
        draft = await reserve_drafts.draft(plans.store.pool, plan_id)
        if draft is None or draft.draft_id != form.get("draft_id"):
            raise Rejected(Code.CONFLICT, "决策记录已更换，请重新查看后签署 / the draft changed: read it again",
                           field="signature")
        note.detail = {"plan_id": plan_id, "draft_id": draft.draft_id}
        state = await plans.fresh_state(plan_id)
        if state.reserve is not None:
            if state.reserve.commitment == draft.commitment:
                return "SEALED"  # sealed already (a second click, or another member's signature did it)
            raise Rejected(Code.RESERVE_ALREADY_SEALED, field="signature")
        if me not in draft.members:
            raise Rejected(Code.FORBIDDEN, "您不在本次决定的成员之列 / you are not among this decision's members",
                           field="signature")
        if me not in draft.signatures:
            signature = await self._verified(request, me, draft.record, form)
            await reserve_drafts.add_signature(plans.store.pool, plan_id, draft.draft_id, me, signature)
            draft = await reserve_drafts.draft(plans.store.pool, plan_id) or draft
        if set(draft.members) <= draft.signatures.keys():
            return await self._seal(request, draft)
        return "SIGNED"

    async def _verified(self, request: Request, member: str, record: bytes, form: dict[str, str]) -> bytes:
        """The member's signature of `record`, checked against the key registered for them."""
        keys = {m.member_id: m.public_key for m in await _plans(request).store.members([member])}
        if member not in keys:
            raise Rejected(Code.Q26_BAD_SIGNATURE, "您的公钥尚未登记 / your public key is not registered",
                           field="key")
        try:
            signature = bytes.fromhex(form.get("signature_hex", ""))
        except ValueError:
            signature = b""
        if not signatures.verify(keys[member], signature, record):
            raise Rejected(Code.Q26_BAD_SIGNATURE, members=[member], field="key")
        return signature

    async def _seal(self, request: Request, draft: ReserveDraft) -> str:
        """Every member has signed: the decision goes where the API's goes (`decide_reserve`)."""
        plans = _plans(request)
        session_id = await _sealed_into(request, draft.plan_id)
        amount: int | None = None
        salt: str | None = None
        sealed: Sealed | None = None
        if draft.commitment is not None:
            assert draft.key_id is not None and draft.nonce is not None and draft.ciphertext is not None
            sealer = _sealer(request)
            if not sealer.unlocked or session_id is None:
                raise Rejected(Code.ESCROW_KEY_UNAVAILABLE, "托管密钥解锁后再密封（第二十七条核对基准地价） / "
                               "unlock the escrow key, then sign again to seal (Q27 checks the benchmark)",
                               field="signature")
            sealed = Sealed(draft.commitment, draft.key_id, draft.nonce, draft.ciphertext)
            amount, salt = _opened(sealer, session_id, sealed)
        decision = ReserveRequest(
            by=draft.prepared_by, amount=amount, salt=salt, decided_at=draft.decided_at, members=draft.members,
            appraisal_id=draft.appraisal_id, floor_price_fen_per_m2=draft.floor_price_fen_per_m2,
            signatures=tuple(sorted(draft.signatures.items())),
        )
        try:
            await request.state.tenders.decide_reserve(draft.plan_id, decision, sealed=sealed)
        except Rejected as r:
            # The engine's refusal, shown beside the signature button (the amount is never in it).
            r.rejection.details.setdefault("field", "signature")
            raise
        return "SEALED"


def _check_open(state: PlanState) -> None:
    if state.status is not PlanStatus.ANNOUNCED:
        raise Rejected(Code.PLAN_WRONG_STATUS, "底价对已公告的方案确定一次 / decided once, for an announced plan",
                       status=state.status.value, field="form")


def _opened(sealer: ReserveSealer, session_id: str, sealed: Sealed) -> tuple[int, str]:
    """Open the browser's envelope (in memory, for this check only): it must hold the committed value."""
    revealed = sealer.unseal(session_id, sealed.key_id, sealed.nonce, sealed.ciphertext)
    if revealed is None or reserve_commitment(revealed.amount, revealed.salt) != sealed.commitment:
        raise Rejected(Code.INVALID_FIELD, "密封的底价与承诺值不符 / the sealed reserve does not match its commitment",
                       field="amount")
    return revealed.amount, revealed.salt
