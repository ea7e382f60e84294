"""Publication over HTTP for operators (operator key): the 电子监管号, the result,
each document's delivery state per channel, retries, and the Q29 check."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from starlette.requests import Request

from auction.adapters.protocol import storable_text
from auction.documents.landchina import Installment, ResultEntry
from auction.documents.site_format import parse_site_date
from auction.domain.china import iso_cst
from auction.domain.codes import Code, Rejected
from auction.domain.plan.post_deal import Payment, PostDealRecording
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.routes import DATE, FEN, INT, Endpoint, RouteTable, get, obj, post, text
from auction.services.publication import Publisher
from auction.services.session import now_us
from auction.store import publication as outbox
from auction.store.events import to_micros

KINDS = ("ANNOUNCEMENT", "ANNOUNCEMENT_CHANGE", "RESULT", "RESULT_UNSOLD", "RESULT_UPDATE")
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _iso(value: datetime | None) -> str | None:
    return iso_cst(to_micros(value)) if value is not None else None


def _date(data: dict[str, Any], name: str) -> date:
    """YYYY-MM-DD, or as the site and the contract write it: 2019年04月27日."""
    value = data.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError(name)
        return parse_site_date(value)
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, f"{name}: a date, YYYY-MM-DD or YYYY年MM月DD日", field=name) from None


def _installments(body: dict[str, Any]) -> tuple[Installment, ...]:
    value = body.get("installments")
    if not isinstance(value, list) or not value or len(value) > 24:
        raise Rejected(Code.INVALID_FIELD, "installments: a list of 1 to 24 periods", field="installments")
    parts = []
    for i, item in enumerate(value, start=1):
        if not isinstance(item, dict) or type(item.get("amount_fen")) is not int:
            raise Rejected(Code.INVALID_FIELD, "installments: {due_date, amount_fen, note}", field="installments")
        note = item.get("note", "")
        if not isinstance(note, str) or len(note) > 200 or not storable_text(note):
            raise Rejected(Code.INVALID_FIELD, "installments: note is text", field="installments")
        parts.append(Installment(i, _date(item, "due_date"), item["amount_fen"], note))
    return tuple(parts)


def post_deal_recording(body: dict[str, Any]) -> PostDealRecording:
    """{actual_start_date?, actual_completion_date?, payments?: [{period, paid_date, amount_fen}]}:
    dates as `_date` takes them; what is absent is not recorded now."""
    value = body.get("payments", [])
    if not isinstance(value, list) or len(value) > 24:
        raise Rejected(Code.INVALID_FIELD, "payments: a list of up to 24 payments", field="payments")
    payments = []
    for item in value:
        if not isinstance(item, dict) or type(item.get("period")) is not int or type(item.get("amount_fen")) is not int:
            raise Rejected(Code.INVALID_FIELD, "payments: {period, paid_date, amount_fen}", field="payments")
        payments.append(Payment(item["period"], _date(item, "paid_date"), item["amount_fen"]))
    return PostDealRecording(
        actual_start_date=_date(body, "actual_start_date") if body.get("actual_start_date") is not None else None,
        actual_completion_date=(_date(body, "actual_completion_date")
                                if body.get("actual_completion_date") is not None else None),
        payments=tuple(payments),
    )


def result_entry(body: dict[str, Any], default_region: str) -> ResultEntry:
    region = body.get("region_code", default_region)
    return ResultEntry(
        region_code=region if isinstance(region, str) else "",
        project_name=text_field(body, "project_name"),
        land_source=text_field(body, "land_source", 40),
        industry=text_field(body, "industry", 100),
        land_grade=text_field(body, "land_grade", 40),
        installments=_installments(body),
        delivery_date=_date(body, "delivery_date"),
        construction_start_date=_date(body, "construction_start_date"),
        completion_date=_date(body, "completion_date"),
        contract_date=_date(body, "contract_date"),
        industry_code=text_field(body, "industry_code", 8, required=False),
        land_grade_code=text_field(body, "land_grade_code", 8, required=False),
    )


class PublicationApi(RouteTable):
    def table(self) -> list[Endpoint]:
        return [
            post("/api/plans/{plan_id}/supervision-number", self.supervision_number,
                 "电子监管号 / Record the plan's supervision number",
                 body=obj("supervision_no", "by", supervision_no=text(32), by=text(64))),
            post("/api/plans/{plan_id}/result", self.publish_result, "发布出让结果 / Publish the result of a sale",
                 status=201, body=obj(
                     "by", "project_name", "land_source", "industry", "land_grade", "installments", "delivery_date",
                     "construction_start_date", "completion_date", "contract_date",
                     by=text(64), region_code=text(12), project_name=text(), land_source=text(40), industry=text(100),
                     land_grade=text(40), installments={"type": "array", "minItems": 1, "maxItems": 24, "items": obj(
                         "due_date", "amount_fen", due_date=DATE, amount_fen=INT, note={"type": "string"})},
                     delivery_date=DATE, construction_start_date=DATE, completion_date=DATE, contract_date=DATE)),
            post("/api/plans/{plan_id}/post-deal", self.record_post_deal,
                 "登记成交后事项 / Record facts after the deal: actual start, completion, installments paid",
                 status=201, body=obj(
                     "by", by=text(64), actual_start_date=DATE, actual_completion_date=DATE,
                     payments={"type": "array", "maxItems": 24, "items": obj(
                         "period", "paid_date", "amount_fen", period=INT, paid_date=DATE, amount_fen=FEN)})),
            get("/api/plans/{plan_id}/post-deal", self.post_deal_history,
                "成交后事项记录 / Facts recorded after the deal, each with the result version it produced"),
            post("/api/plans/{plan_id}/result-unsold", self.publish_unsold,
                 "发布结果公示（未成交） / Publish the no-sale notice", status=201, body=obj("by", by=text(64))),
            get("/api/plans/{plan_id}/publication", self.plan_publication, "发布情况 / The plan's publication (Q29)"),
            get("/api/publications", self.list_publications, "已发布文件 / Published documents",
                query={"kind": {"enum": list(KINDS)}}),
            get("/api/publications/{document_id}", self.get_publication, "发布文件 / A document and its deliveries"),
            post("/api/publications/{document_id}/retry", self.retry, "重新投递 / Retry its delivery",
                 body=obj(channel=text(64))),
        ]

    @staticmethod
    def _publisher(request: Request) -> Publisher:
        publisher: Publisher = request.state.publisher
        return publisher

    @staticmethod
    def _id(request: Request, name: str) -> str:
        value: str = request.path_params[name]
        if not ID.fullmatch(value):
            raise Rejected(Code.NOT_FOUND)
        return value

    async def supervision_number(self, request: Request, body: dict[str, Any]) -> Any:
        plan_id = self._id(request, "plan_id")
        number = body.get("supervision_no")
        await self._publisher(request).record_supervision_no(
            plan_id, number if isinstance(number, str) else "", text_field(body, "by", 64))
        return {"plan_id": plan_id, "supervision_no": number}

    async def publish_unsold(self, request: Request, body: dict[str, Any]) -> Any:
        """结果公示（未成交）: {by}; the session ended without a sale or was terminated."""
        plan_id = self._id(request, "plan_id")
        return await self._publisher(request).publish_unsold(plan_id, by=text_field(body, "by", 64), now=now_us())

    async def publish_result(self, request: Request, body: dict[str, Any]) -> Any:
        plan_id = self._id(request, "plan_id")
        by = text_field(body, "by", 64)
        entry = result_entry(body, self.settings.region_code)
        return await self._publisher(request).publish_result(plan_id, entry, by=by, now=now_us())

    async def record_post_deal(self, request: Request, body: dict[str, Any]) -> Any:
        """A recording after the deal: 201 with the result's new version (RESULT_UPDATE)."""
        plan_id = self._id(request, "plan_id")
        by = text_field(body, "by", 64)
        return await self._publisher(request).record_post_deal(plan_id, post_deal_recording(body), by=by,
                                                               now=now_us())

    async def post_deal_history(self, request: Request) -> Any:
        plan_id = self._id(request, "plan_id")
        rows = await outbox.post_deal_history(self._publisher(request).pool, plan_id)

        def day(value: date | None) -> str | None:
            return value.isoformat() if value is not None else None

        return [{"version": r["version"], "document_id": r["document_id"], "recorded_by": r["recorded_by"],
                 "recorded_at": _iso(r["recorded_at"]),
                 "actual_start_date": day(r["recording"].actual_start_date),
                 "actual_completion_date": day(r["recording"].actual_completion_date),
                 "payments": [{"period": p.period, "paid_date": p.paid_date.isoformat(), "amount_fen": p.amount_fen}
                              for p in r["recording"].payments]}
                for r in rows]

    async def _views(self, request: Request, rows: list[Any]) -> list[dict[str, Any]]:
        pool = self._publisher(request).pool
        ids = [r["document_id"] for r in rows]
        deliveries = await outbox.deliveries(pool, ids)
        by_doc: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for d in deliveries:
            by_doc[d["document_id"]].append({
                "outbox_id": d["outbox_id"], "channel": d["channel"], "state": d["state"], "attempts": d["attempts"],
                "next_attempt_at": _iso(d["next_attempt_at"]) if d["state"] == "PENDING" else None,
                "last_error": d["last_error"], "receipt": d["receipt"], "delivered_at": _iso(d["delivered_at"]),
            })
        return [
            {"document_id": r["document_id"], "kind": r["kind"], "plan_id": r["plan_id"], "parcel_no": r["parcel_no"],
             "published_at": _iso(r["published_at"]), "deliveries": by_doc[r["document_id"]],
             "confirmed": bool(by_doc[r["document_id"]]) and all(d["state"] == "DELIVERED"
                                                                 for d in by_doc[r["document_id"]])}
            for r in rows
        ]

    async def list_publications(self, request: Request) -> Any:
        kind = request.query_params.get("kind")
        if kind not in (None, *KINDS):
            raise Rejected(Code.INVALID_FIELD, "kind: " + ", ".join(KINDS),
                           field="kind")
        rows = await outbox.documents(self._publisher(request).pool, (kind,) if kind else None, limit=500)
        return await self._views(request, rows)

    async def get_publication(self, request: Request) -> Any:
        document_id = self._id(request, "document_id")
        pool = self._publisher(request).pool
        row = await outbox.document_row(pool, document_id)
        if row is None:
            raise Rejected(Code.NOT_FOUND, "no such document")
        view = (await self._views(request, [row]))[0]
        ids = [d["outbox_id"] for d in view["deliveries"]]
        view["attempts"] = [
            {"outbox_id": a["outbox_id"], "attempt": a["attempt"], "node_id": a["node_id"],
             "started_at": _iso(a["started_at"]), "finished_at": _iso(a["finished_at"]),
             "http_status": a["http_status"], "error": a["error"], "receipt": a["receipt"]}
            for a in await outbox.attempts(pool, ids)
        ]
        view["document"] = await outbox.document(pool, document_id)
        return view

    async def retry(self, request: Request, body: dict[str, Any]) -> Any:
        document_id = self._id(request, "document_id")
        channel = body.get("channel")
        if channel is not None and not isinstance(channel, str):
            raise Rejected(Code.INVALID_FIELD, "channel: a channel name", field="channel")
        publisher = self._publisher(request)
        if await outbox.document(publisher.pool, document_id) is None:
            raise Rejected(Code.NOT_FOUND, "no such document")
        count = await outbox.retry(publisher.pool, document_id, channel)
        publisher.wake()
        return {"document_id": document_id, "rescheduled": count}

    async def plan_publication(self, request: Request) -> Any:
        """The Q29 check (what the deadline service asks): met only when every required
        channel confirmed the result."""
        plan_id = self._id(request, "plan_id")
        status = await self._publisher(request).q29_status(plan_id)
        status["confirmed_at"] = _iso(status["confirmed_at"])
        return status
