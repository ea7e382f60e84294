"""The legal clock over HTTP (JSON, operator key; RULES 8, 9): what the console draws.

    GET  /api/deadlines                      every open deadline (?all=1: every row): due date in
                                             China time, state, warning, working days left, timer,
                                             provisional (and why), the moves of its due date
    GET  /api/deadlines/moves                due dates moved by a recount (old, new, why), newest first
    POST /api/deadlines/{id}/done            {by, done_at, bank_txn_id?, amount_fen?}: published, refund confirmed
                                             by the bank (bank_txn_id), Q32 notice sent, or contract
                                             signed (then the Q32 row starts)
    POST /api/sessions/{id}/contract-signed  {by, signed_at}: the Q42 signing
    GET  /api/sessions/{id}/deadlines        the session's rows, what the clock did (Q42 default), re-offer
    POST /api/tenders/{id}/contract-signed   the same two for a tender's winner (RULES 6.6, 8)
    GET  /api/tenders/{id}/deadlines
    GET  /api/calendar/years                 the calendar years and where they come from (provisional ones too)
    POST /api/calendar/years                 body = a year file (auction/domain/clock/workdays.py); every
                                             deadline waiting for it or counted on its provisional
                                             year is recomputed. ?dry_run=1: only the difference from
                                             the provisional year and the rows it would move
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from auction.domain.china import iso_cst
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.operator import _time
from auction.entrypoints.api.routes import FEN, TIME, Endpoint, RouteTable, get, obj, post, post_raw, text
from auction.entrypoints.api.tenders import sale_id_of
from auction.services.deadlines import DeadlineService
from auction.store import deadlines as rows_store


async def deadline_board(clock: DeadlineService, every: bool) -> list[dict[str, Any]]:
    """`GET /api/deadlines` and the console's board: the open rows, or `every` row."""
    records = await (rows_store.all_records(clock.pool) if every else rows_store.open_records(clock.pool))
    return await clock.view(records)


async def session_deadlines(clock: DeadlineService, session_id: str) -> dict[str, Any]:
    """`GET /api/sessions/{id}/deadlines` and the console's page: the session's rows, what
    the clock did, the due dates moved, a re-offer. A tender's the same (`session_id`: the tender's)."""
    if clock.tenders is None or not await clock.tenders.is_tender(session_id):
        await clock.sessions.state(session_id)  # UNKNOWN_SESSION
    reoffer = await rows_store.reoffer(clock.pool, session_id)
    closing = await rows_store.closing(clock.pool, session_id)
    body: dict[str, Any] = {
        "session_id": session_id,
        "closing": None if closing is None else {
            "outcome": closing.outcome, "winner_application_id": closing.winner_application_id,
            "price_fen": closing.price_fen, "plan_id": closing.plan_id,
        },
        "deadlines": await clock.view(await rows_store.of_session(clock.pool, session_id)),
        "clock_events": await rows_store.clock_events(clock.pool, session_id),
        "deadline_moves": [{**m, "at": iso_cst(m["at"])}
                           for m in await rows_store.moves(clock.pool, session_id=session_id)],
        "reoffer": None if reoffer is None else {
            "old_plan_id": reoffer["old_plan_id"], "new_plan_id": reoffer["new_plan_id"], "note": reoffer["note"],
        },
    }
    return body


class DeadlinesApi(RouteTable):
    def table(self) -> list[Endpoint]:
        return [
            get("/api/deadlines", self.list_open, "期限看板 / The deadline board (RULES 8-9)",
                query={"all": {"enum": ["1", "true", "0", "false"]}}),
            get("/api/deadlines/moves", self.moves, "期限变动 / Deadlines moved by a calendar change"),
            post("/api/deadlines/{deadline_id}/done", self.done, "期限事项完成 / Mark a deadline's step done",
                 body=obj("done_at", "by", done_at=TIME, by=text(100), bank_txn_id=text(64), amount_fen=FEN)),
            post("/api/sessions/{session_id}/contract-signed", self.contract_signed,
                 "合同已签订 / The contract was signed (Q42)", body=obj("signed_at", "by", signed_at=TIME, by=text(100))),
            get("/api/sessions/{session_id}/deadlines", self.of_session, "场次期限 / A session's deadlines"),
            post("/api/tenders/{tender_id}/contract-signed", self.contract_signed,
                 "中标人合同已签订 / The tender winner's contract was signed (Q42)",
                 body=obj("signed_at", "by", signed_at=TIME, by=text(100))),
            get("/api/tenders/{tender_id}/deadlines", self.of_tender, "招标期限 / A tender's deadlines"),
            get("/api/calendar/years", self.years, "工作日历年份 / The working-day calendar's years"),
            post_raw("/api/calendar/years", self.load_year, "载入年度日历 / Load a year file (RULES 9)",
                     query={"by": text(100), "dry_run": {"enum": ["1", "true", "0", "false"]}},
                     raw_body="application/json"),
        ]

    async def list_open(self, request: Request) -> Any:
        return await deadline_board(request.state.deadlines, request.query_params.get("all") in ("1", "true"))

    async def moves(self, request: Request) -> Any:
        clock: DeadlineService = request.state.deadlines
        return [{**m, "at": iso_cst(m["at"])} for m in await rows_store.moves(clock.pool)]

    async def done(self, request: Request, body: dict[str, Any]) -> Any:
        clock: DeadlineService = request.state.deadlines
        done_at = _time(body, "done_at")
        assert done_at is not None
        bank_txn_id = body.get("bank_txn_id")
        if bank_txn_id is not None and (not isinstance(bank_txn_id, str) or not 1 <= len(bank_txn_id) <= 64):
            raise Rejected(Code.INVALID_FIELD, "bank_txn_id: 1-64 characters", field="bank_txn_id")
        amount_fen = body.get("amount_fen")
        if amount_fen is not None and (type(amount_fen) is not int or amount_fen <= 0):
            raise Rejected(Code.INVALID_AMOUNT, "amount_fen: a positive JSON integer of fen", field="amount_fen")
        written = await clock.done(
            request.path_params["deadline_id"], by=text_field(body, "by", 100), done_at=done_at, bank_txn_id=bank_txn_id,
            amount_fen=amount_fen,
        )
        return await clock.view([rows_store.Record(r, None) for r in written])

    async def contract_signed(self, request: Request, body: dict[str, Any]) -> Any:
        clock: DeadlineService = request.state.deadlines
        signed_at = _time(body, "signed_at")
        assert signed_at is not None
        done, notice = await clock.contract_signed(
            sale_id_of(request), by=text_field(body, "by", 100), signed_at=signed_at
        )
        views = await clock.view([rows_store.Record(done, None), rows_store.Record(notice, None)])
        return {"contract": views[0], "q32_notice": views[1]}

    async def of_session(self, request: Request) -> Any:
        return await session_deadlines(request.state.deadlines, request.path_params["session_id"])

    async def of_tender(self, request: Request) -> Any:
        tender_id = sale_id_of(request)
        await request.state.tenders.fresh_state(tender_id)  # NOT_FOUND
        return await session_deadlines(request.state.deadlines, tender_id) | {"tender_id": tender_id}

    async def years(self, request: Request) -> Any:
        clock: DeadlineService = request.state.deadlines
        calendar = await clock.calendar.calendar()
        loaded = {y.year: y for y in await clock.calendar.loaded()}
        repository = clock.calendar.repository

        def origin(year: int) -> str:
            entry = calendar.years[year]
            if entry.provisional:
                return "provisional"
            if year in repository:
                return "repository"
            if year in clock.calendar.official.years:
                return "chinese-calendar"
            return "operator"

        return [
            {
                "year": year,
                "source": calendar.years[year].source,
                "loaded_by": loaded[year].loaded_by if year in loaded and origin(year) == "operator" else None,
                "from": origin(year),
                "provisional": calendar.years[year].provisional,
                "notice_date": (d := calendar.years[year].notice_date) and d.isoformat(),
            }
            for year in sorted(calendar.loaded_years)
        ]

    async def load_year(self, request: Request) -> Any:
        """The body is the year file itself; the operator is named by ?by= (default: operator)."""
        raw = await request.body()
        if len(raw) > self.settings.max_body_bytes:
            raise Rejected(Code.BODY_TOO_LARGE, maximum=self.settings.max_body_bytes)
        by = request.query_params.get("by") or "operator"
        clock: DeadlineService = request.state.deadlines
        if request.query_params.get("dry_run") in ("1", "true"):
            preview, would_move = await clock.preview_year(raw)
            return {**preview.to_dict(), "stored": False, "would_recompute": would_move}
        preview, changed = await clock.load_year(raw, by[:100])
        year = preview.year
        return JSONResponse(
            {**preview.to_dict(), "stored": not preview.already, "holidays": len(year.holidays),
             "workdays": len(year.workdays),
             "recomputed": await clock.view([rows_store.Record(r, None) for r in changed])},
            status_code=200 if preview.already else 201,
        )
