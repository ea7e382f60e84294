"""Minimal operator HTTP API (JSON), guarded by the operator key.

Two stand-ins, clearly marked, for tests and demo data only: `POST /api/sessions`
creates a session without a plan (the real path: an announced plan,
`POST /api/plans/{id}/session`) and `POST /api/sessions/{id}/bidders` qualifies a
bidder without a deposit (the real path: an application whose deposit the bank
reports, Q31). They exist only in demo mode or with `AUCTION_STAND_INS=on`
(`Settings.stand_ins_on`); otherwise they answer 404 `NOT_FOUND` exactly as an
unknown route does, before the key is even looked at.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request

from auction.adapters.protocol import state_view, storable_text, terms_view
from auction.domain.china import iso_cst
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import ChangeIncrement, Command, CreateSession, Resume, Suspend, Terminate
from auction.domain.bidding.events import event_to_dict, event_type
from auction.domain.money import is_valid_amount
from auction.domain.bidding.session import SessionState, replay, reserve_commitment
from auction.domain.bidding.terms import SECOND, Method, SessionTerms
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.inputs import instant
from auction.entrypoints.api.routes import FEN, TIME, Endpoint, RouteTable, get, obj, post, post_raw, text
from auction.entrypoints.api.routes import unknown_route_message as unknown_route_message  # app.py's 404
from auction.services.registration import qualify
from auction.services.session import SessionService
from auction.settings import Settings
from auction.store import sessions as session_rows
from auction.store.events import Recorded, to_micros

# A session id is a path segment (/api/sessions/{id}, the console, the hall): the characters the other
# ids take (plans, publication: auction/entrypoints/api/plans.py), and never `..`.
SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _time(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Rejected(Code.INVALID_FIELD, f"{name} is required (ISO 8601 with offset)", field=name)
        return None
    return instant(value, name)


def _fen(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if type(value) is not int or value <= 0:
        raise Rejected(Code.INVALID_FIELD, f"{name} must be a positive whole number of fen", field=name)
    return value


def _reason(body: dict[str, Any], max_len: int = 500) -> str:
    """A step's reason: absent or blank is `REASON_REQUIRED` (what docs/protocol.md promises),
    present but not storable text of at most `max_len` is `INVALID_FIELD`."""
    value = body.get("reason")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Rejected(Code.REASON_REQUIRED, field="reason")
    return text_field(body, "reason", max_len)


async def create_stand_in_session(service: SessionService, settings: Settings, body: dict[str, Any]) -> SessionState:
    """`POST /api/sessions` and the console's stand-in form: a session without a plan (tests,
    demo), with the reserve, if any, sealed at once (Q26)."""
    try:
        method = Method(body.get("method"))
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, "method must be LISTING or AUCTION", field="method") from None
    start_at = _time(body, "start_at")
    listing_end_at = _time(body, "listing_end_at", required=method is Method.LISTING)
    assert start_at is not None
    countdown_seconds = body.get("countdown_seconds", 300)  # RULES 4.5/5.2 default 5 min
    if type(countdown_seconds) is not int or not 1 <= countdown_seconds <= 3600:
        raise Rejected(Code.INVALID_FIELD, "countdown_seconds must be 1..3600", field="countdown_seconds")
    default_close = start_at if method is Method.AUCTION else max(
        start_at, (listing_end_at or start_at) - 2 * 86_400 * SECOND  # RULES 3.4: 2 days before the end
    )
    registration_closes_at = _time(body, "registration_closes_at", required=False) or default_close
    session_id = body.get("session_id") or f"S-{uuid.uuid4().hex[:12].upper()}"
    if not isinstance(session_id, str) or not 1 <= len(session_id) <= 64 or not storable_text(session_id):
        raise Rejected(Code.INVALID_FIELD, "session_id must be 1-64 characters", field="session_id")
    if not SESSION_ID.fullmatch(session_id) or ".." in session_id:
        raise Rejected(Code.INVALID_ID, "session_id: A-Z a-z 0-9 _ . -, first a letter or digit, no '..'",
                       field="session_id")
    reserve = _fen(body, "reserve_fen", required=False)
    if reserve is not None and not is_valid_amount(reserve):  # the engine never sees it: it is sealed here
        raise Rejected(Code.INVALID_FIELD, "reserve_fen exceeds the system limit", field="reserve_fen")
    terms = SessionTerms(
        session_id=session_id,
        parcel_ref=text_field(body, "parcel_ref"),
        method=method,
        start_price=_fen(body, "start_price_fen") or 0,
        increment=_fen(body, "increment_fen") or 0,
        deposit=_fen(body, "deposit_fen") or 0,
        start_at=start_at,
        listing_end_at=listing_end_at,
        countdown=countdown_seconds * SECOND,
        registration_closes_at=registration_closes_at,
        has_reserve=False,
        reserve_commitment=None,
        rules=settings.rules,
    )
    result = await service.create(CreateSession(terms), reserve)
    return result.state


async def qualify_stand_in(service: SessionService, settings: Settings, session_id: str,
                           body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/sessions/{id}/bidders` and the console's stand-in form: the number and
    the token (shown once) of a bidder qualified without a deposit (tests, demo)."""
    ttl = timedelta(days=settings.token_ttl_days)
    q = await qualify(service, session_id, text_field(body, "legal_name"), ttl)
    return {"session_id": session_id, "bidder_no": q.bidder_no, "token": q.token,
            "expires_at": iso_cst(to_micros(q.expires_at))}


def session_view(state: SessionState) -> dict[str, Any]:
    view = {"terms": terms_view(state), "state": state_view(state), "seq": state.pub_seq}
    view["qualified_bidders"] = len(state.qualified)
    view["times_cst"] = {
        "start_at": iso_cst(state.terms.start_at if state.terms else None),
        "opens_at": iso_cst(state.opens_at),
        "deadline": iso_cst(state.deadline),
        "registration_closes_at": iso_cst(state.terms.registration_closes_at if state.terms else None),
    }
    return view


class OperatorApi(RouteTable):
    def table(self) -> list[Endpoint]:
        return [
            post("/api/sessions", self.create_session, "创建场次（替身） / Create a session without a plan",
                 status=201, stand_in=True, body=obj(
                     "method", "parcel_ref", "start_price_fen", "increment_fen", "deposit_fen", "start_at",
                     method={"enum": ["LISTING", "AUCTION"]}, parcel_ref=text(), start_price_fen=FEN,
                     increment_fen=FEN, deposit_fen=FEN, start_at=TIME, listing_end_at=TIME,
                     registration_closes_at=TIME, countdown_seconds={"type": "integer", "minimum": 1, "maximum": 3600},
                     session_id={**text(64), "pattern": f"^{SESSION_ID.pattern}$"}, reserve_fen=FEN)),
            get("/api/sessions", self.list_sessions, "交易场次 / The sessions"),
            get("/api/sessions/{session_id}", self.get_session, "场次 / A session's terms and state"),
            post("/api/sessions/{session_id}/bidders", self.qualify_bidder,
                 "竞买人资格（替身） / Qualify a bidder without a deposit", status=201, stand_in=True,
                 body=obj("legal_name", legal_name=text())),
            get("/api/sessions/{session_id}/bidders", self.list_bidders, "竞买人 / The qualified bidders"),
            post("/api/sessions/{session_id}/suspend", self.suspend, "中止 / Suspend (RULES 7)",
                 body=obj("reason", reason=text(500))),
            post("/api/sessions/{session_id}/resume", self.resume, "恢复 / Resume (RULES 7.3)",
                 body=obj("reason", reason=text(500), resume_at=TIME)),
            post("/api/sessions/{session_id}/terminate", self.terminate, "终止 / Terminate",
                 body=obj("reason", reason=text(500))),
            post("/api/sessions/{session_id}/increment", self.change_increment, "调整增价幅度 / Change the increment",
                 body=obj("increment_fen", "reason", increment_fen=FEN, reason=text(500))),
            get("/api/sessions/{session_id}/events", self.events, "事件日志 / The session's event log"),
            get("/api/sessions/{session_id}/verify", self.verify, "重放核验 / Replay the log and check it"),
            post_raw("/api/sessions/{session_id}/close", self.close, "执行结束程序 / Run the close procedure now"),
            post("/api/escrow/unlock", self.unlock, "解锁托管密钥 / Unlock the escrow key",
                 body=obj("passphrase", passphrase={"type": "string", "minLength": 1})),
        ]

    async def create_session(self, request: Request, body: dict[str, Any]) -> Any:
        """Stand-in creation path (tests, demo): the real one is an announced plan's session.
        Absent (404) unless stand-ins are on (auction/entrypoints/api/routes.py)."""
        return session_view(await create_stand_in_session(request.state.service, self.settings, body))

    async def list_sessions(self, request: Request) -> Any:
        rows = await session_rows.listed(request.state.service.store.pool, 500)
        return [
            {
                "session_id": r.session_id,
                "method": r.method,
                "parcel_ref": r.parcel_ref,
                "phase": r.phase,
                "seq": r.last_pub_seq,
                "next_wakeup_us": to_micros(r.next_wakeup) if r.next_wakeup else None,
                "highest_fen": r.highest_fen,
                "highest_bidder_no": r.highest_bidder_no,
                "bid_count": r.bid_count,
            }
            for r in rows
        ]

    async def get_session(self, request: Request) -> Any:
        return session_view(await request.state.service.state(request.path_params["session_id"]))

    async def qualify_bidder(self, request: Request, body: dict[str, Any]) -> Any:
        """Stand-in for tests and the demo (absent unless stand-ins are on): qualifies without a
        deposit and returns the token once, with the number beside the name the caller gave: never
        in production. The real path is an application (POST /api/sessions/{id}/applications) whose
        deposit the bank reports (POST /bank/notifications); see auction/services/deposits.py."""
        return await qualify_stand_in(request.state.service, self.settings, request.path_params["session_id"], body)

    async def list_bidders(self, request: Request) -> Any:
        """Bidder numbers; legal names only once the session has ended (RULES 3.5, 8.1)."""
        session_id = request.path_params["session_id"]
        state = await request.state.service.state(session_id)
        rows = await session_rows.legal_names(request.state.service.store.pool, session_id)
        reveal = state.final
        return [{"bidder_no": no, "legal_name": name if reveal else None} for no, name in rows]

    @staticmethod
    async def _execute(request: Request, command: Command) -> Any:
        result = await request.state.service.execute(request.path_params["session_id"], command)
        return session_view(result.state)

    async def suspend(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._execute(request, Suspend(reason=_reason(body)))

    async def resume(self, request: Request, body: dict[str, Any]) -> Any:
        resume_at = _time(body, "resume_at", required=False)
        return await self._execute(request, Resume(reason=_reason(body), resume_at=resume_at))

    async def terminate(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._execute(request, Terminate(reason=_reason(body)))

    async def change_increment(self, request: Request, body: dict[str, Any]) -> Any:
        """Absent: `INVALID_FIELD`; there but not a positive JSON integer of fen (0, -5, "5", 1.5,
        true, over 10^15): `INVALID_INCREMENT`, as docs/protocol.md says."""
        increment = body.get("increment_fen")
        if increment is None:
            raise Rejected(Code.INVALID_FIELD, "increment_fen is required", field="increment_fen")
        if not is_valid_amount(increment):
            raise Rejected(Code.INVALID_INCREMENT, field="increment_fen")
        return await self._execute(request, ChangeIncrement(increment=increment, reason=_reason(body)))

    async def close(self, request: Request) -> Any:
        """Run the close procedure now (it also runs by timer): e.g. again for a session held
        because the escrow key was locked at its deadline. Before the deadline it is refused
        with `CLOSE_NOT_DUE` (409) and nothing changes; the timer's own run is `tick`."""
        return session_view(await request.state.service.close_now(request.path_params["session_id"]))

    async def unlock(self, request: Request, body: dict[str, Any]) -> Any:
        """Give the escrow key its passphrase (the close ceremony). Never logged, never stored."""
        passphrase = body.get("passphrase")
        if not isinstance(passphrase, str) or not passphrase:
            raise Rejected(Code.INVALID_FIELD, "passphrase is required", field="passphrase")
        sealer = request.state.service.sealer
        sealer.unlock(passphrase.encode())
        return {"unlocked": True, "key_id": sealer.key_id}

    async def events(self, request: Request) -> Any:
        """The whole log of a session, private events included (operators and auditors);
        before the close without the bidder numbers of private events (`staff_log`)."""
        sid = request.path_params["session_id"]
        state = await request.state.service.state(sid)
        recorded = await request.state.service.store.load(sid)
        return staff_log(recorded, state.final)

    async def verify(self, request: Request) -> Any:
        """Replay the log and compare with the projection; check a revealed reserve."""
        sid = request.path_params["session_id"]
        recorded = await request.state.service.store.load(sid)
        if not recorded:
            raise Rejected(Code.UNKNOWN_SESSION)
        state = replay([r.event for r in recorded])
        row = await session_rows.projection(request.state.service.store.pool, sid)
        checks = {
            "seq_gap_free": [r.seq for r in recorded] == list(range(1, len(recorded) + 1)),
            "projection_matches": row is not None
            and (row.phase, row.last_seq, row.last_pub_seq, row.highest_fen)
            == (state.phase.value, state.seq, state.pub_seq, state.highest.amount if state.highest else None),
        }
        closed = state.closed
        if closed is not None and closed.reserve is not None and closed.reserve_salt is not None:
            checks["reserve_matches_commitment"] = (
                reserve_commitment(closed.reserve, closed.reserve_salt) == state.reserve_commitment
            )
        return {"session_id": sid, "ok": all(checks.values()), "checks": checks, "state": state_view(state)}


def staff_log(recorded: list[Recorded], final: bool) -> list[dict[str, Any]]:
    """A session's log as staff read it (`GET /api/sessions/{id}/events`, the console's
    CSV and JSON exports). Before the close a private event (`BidderQualified`,
    `BidderTokenReissued`: no `pub_seq`) has its `bidder_no` withheld (null): its time
    matches the application's qualification or the token re-issue, which name the
    company, so the number beside it would tie the company to the number it bids under
    (RULES 3.5, 8.1). Public events keep theirs (every watcher sees them). After the
    close the log is shown whole."""
    rows = []
    for r in recorded:
        data = event_to_dict(r.event)
        if not final and r.pub_seq is None and "bidder_no" in data:
            data["bidder_no"] = None
        rows.append({"seq": r.seq, "pub_seq": r.pub_seq, "type": event_type(r.event), "data": data})
    return rows

