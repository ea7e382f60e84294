"""`GET /api/openapi.json`: the HTTP API as an OpenAPI 3.1 document, written from the
route tables the server routes with (auction/entrypoints/api/routes.py), never by hand
beside them: each `Endpoint` gives its method, path (and so its path parameters), its
success status, whether it exists on this server (a stand-in only with stand-ins on),
and its `Doc` (summary, body schema, query parameters, media type, security scheme).
The open endpoints (public records, transparency log, the bidders' token routes) are
`Endpoint` lists too, routed by app.py from the very list handed here. The few routes
outside both (the bank's webhook, `/healthz`, `/metrics`, this document) are declared
below with the same `Endpoint`; tests/unit/test_openapi.py fails if the app routes
anything else that is not one of its short list of pages for people. Every refusal is
the one error body (docs/protocol.md, "HTTP API errors"), a shared component, unless
a `Doc` names another answer (the public documents' not-found page).

Behind the operator key, as the API it describes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.domain.codes import Code
from auction.entrypoints.api.guard import OperatorGuard
from auction.entrypoints.api.routes import TIME, Doc, Endpoint, RouteTable, Schema, obj, text
from auction.settings import Settings

PATH = "/api/openapi.json"
ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "enum": [c.value for c in Code], "description": "stable, docs/protocol.md"},
            "message": {"type": "string", "description": "Chinese first, then English"},
            "details": {"type": "object"},
        },
    }},
}


async def _described_elsewhere(request: Request) -> Any:
    raise NotImplementedError  # routed by its own module; declared here for the document only


def _elsewhere(settings: Settings) -> list[Endpoint]:
    """The routes outside the tables and the lists of open endpoints, each with its security scheme."""
    bank = Endpoint("POST", "/bank/notifications", _described_elsewhere, doc=Doc(
        "银行到账通知 / The bank reports a payment into a deposit sub-account (signed: X-Bank-Id, X-Timestamp, "
        "X-Signature = hex HMAC-SHA256(secret, timestamp + '.' + body))",
        obj("txn_id", "sub_account", "amount_fen", "payer_name", "payer_account", "received_at",
            txn_id=text(64), sub_account=text(32), amount_fen={"type": "integer"}, payer_name=text(200),
            payer_account=text(64), received_at=TIME), security=("bankSignature",)))
    found = [
        Endpoint("GET", "/healthz", _described_elsewhere, doc=Doc(
            "就绪检查 / Ready, and the database reachable", security=(None,))),
        bank,
        Endpoint("GET", PATH, _described_elsewhere, doc=Doc("本文档 / This document (OpenAPI 3.1)")),
    ]
    if settings.metrics != "off":
        found.append(Endpoint("GET", "/metrics", _described_elsewhere, doc=Doc(
            "Prometheus 指标 / Prometheus metrics (docs/operations.md)", answers="text/plain",
            security=("operatorKey",) if settings.metrics == "operator" else (None,))))
    return found


def _answer(description: str, media_type: str) -> dict[str, Any]:
    if media_type == "application/json":
        return {"$ref": "#/components/responses/Refused"}
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _operation(e: Endpoint) -> dict[str, Any]:
    doc = e.doc
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"{(\w+)}", e.path)
    ]
    parameters += [{"name": name, "in": "query", "required": name in doc.required_query, "schema": schema}
                   for name, schema in doc.query.items()]
    if e.path == "/bank/notifications":
        parameters += [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                       for name in ("X-Bank-Id", "X-Timestamp", "X-Signature")]
    success_schema: Schema = {} if doc.answers.endswith("json") else {"type": "string"}
    responses: dict[str, Any] = {
        str(e.status): {"description": "done", "content": {doc.answers: {"schema": success_schema}}},
        "4XX": {"$ref": "#/components/responses/Refused"},
        "503": {"$ref": "#/components/responses/Refused"},
    }
    responses |= {str(status): _answer(what, media) for status, (what, media) in doc.also.items()}
    operation: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{e.method.lower()}{e.path}").strip("_"),
        "summary": doc.summary or f"{e.method} {e.path}",
        "parameters": parameters,
        "responses": responses,
        "security": [] if doc.security == (None,) else [{s: []} if s else {} for s in doc.security],
    }
    if doc.body is not None:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": doc.body}}}
    elif doc.raw_body is not None:
        operation["requestBody"] = {"required": False, "content": {doc.raw_body: {"schema": {}}}}
    if e.stand_in:
        operation["description"] = "Stand-in for tests and demos (AUCTION_STAND_INS=on); 404 elsewhere."
    return operation


DESCRIPTION = (
    "The HTTP API for machines: the operator's APIs (/api/..., the operator key), the bank's webhook, the "
    "public records and transparency log (/public/...), the bidders' token routes (/bid/session, "
    "/tender/...), /healthz and /metrics. HTML pages for people are not described here (the console, "
    "the hall, the portal, the bidder page and the public pages), nor the WebSocket /ws (docs/protocol.md). "
    "docs/protocol.md: the error codes; README: each API.")


def document(settings: Settings, tables: Sequence[RouteTable], public: Sequence[Endpoint] = ()) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server's HTTP API, as configured: the operator's tables, the
    open endpoints (`public`, routed from the same list) and the routes declared above."""
    declared = [e for table in tables for e in table.table() if not e.stand_in or settings.stand_ins_on]
    paths: dict[str, dict[str, Any]] = {}
    for e in [*declared, *public, *_elsewhere(settings)]:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {"title": "国有建设用地使用权网上交易系统 API / Land-use-rights online trading server API",
                 "version": "1", "description": DESCRIPTION},
        "servers": [{"url": settings.base_url}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "responses": {"Refused": {"description": "the standard error body",
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {
                "operatorKey": {"type": "http", "scheme": "bearer", "description": "AUCTION_OPERATOR_KEY"},
                "bankSignature": {"type": "apiKey", "in": "header", "name": "X-Signature",
                                  "description": "with X-Bank-Id and X-Timestamp (AUCTION_BANK_SECRETS)"},
                "bidderToken": {"type": "http", "scheme": "bearer",
                                "description": "a bidder's bidding token (bt_...), issued with the application"},
            },
        },
    }


def routes(settings: Settings, tables: Sequence[RouteTable], public: Sequence[Endpoint] = ()) -> list[Route]:
    described = document(settings, tables, public)

    async def openapi(request: Request) -> Response:
        return JSONResponse(described)

    return [Route(PATH, OperatorGuard(settings)(openapi), methods=["GET"])]
