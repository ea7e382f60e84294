"""The transparency log over HTTP, for anyone (no authentication; docs/protocol.md):

    GET /public/transparency/key                          the center's Ed25519 public key
    GET /public/sessions/{id}/tree-heads                  every signed tree head, and the latest
    GET /public/sessions/{id}/proof/inclusion?seq=&tree_size=
    GET /public/sessions/{id}/proof/consistency?first=&second=
    GET /public/sessions/{id}/record.json                 the public record, once the session has ended

Nothing here tells more than the public events do: hashes, sizes and signatures
before the close; the reserve and its salt only in the record, after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.guard import refusing
from auction.entrypoints.api.routes import Doc, Endpoint, Schema
from auction.services.public_record import public_record
from auction.services.session import SessionService
from auction.services.transparency import TransparencyLog, head_view

Handler = Callable[[Request, TransparencyLog, str], Awaitable[Any]]


def _int(request: Request, name: str) -> int:
    value = request.query_params.get(name, "")
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise Rejected(Code.INVALID_FIELD, f"{name} must be a whole number", field=name)
    return int(value)


def _log(request: Request) -> TransparencyLog:
    log: TransparencyLog = request.state.transparency
    return log


async def key(request: Request) -> Response:
    log = _log(request)
    return JSONResponse({"key_id": log.key.key_id, "public_key": log.key.public.hex(), "algorithm": "Ed25519"})


def session_route(path: str, handler: Handler, doc: Doc, *, cache: str = "no-store") -> Endpoint:
    """A route about one session: unknown sessions, refusals and an unavailable database answered once."""

    @refusing
    async def endpoint(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        service: SessionService = request.state.service
        if not await service.store.exists(session_id):
            raise Rejected(Code.UNKNOWN_SESSION, session_id=session_id)
        body = await handler(request, _log(request), session_id)
        return JSONResponse(body, headers={"cache-control": cache})

    return Endpoint("GET", path, endpoint, doc=doc)


async def heads(request: Request, log: TransparencyLog, session_id: str) -> dict[str, Any]:
    latest = await log.latest_head(session_id)
    return {"session_id": session_id, "latest": head_view(latest) if latest is not None else None,
            "heads": [head_view(h) for h in await log.heads(session_id)]}


async def inclusion(request: Request, log: TransparencyLog, session_id: str) -> dict[str, Any]:
    return await log.inclusion(session_id, _int(request, "seq"), _int(request, "tree_size"))


async def consistency(request: Request, log: TransparencyLog, session_id: str) -> dict[str, Any]:
    return await log.consistency(session_id, _int(request, "first"), _int(request, "second"))


async def record(request: Request, log: TransparencyLog, session_id: str) -> dict[str, Any]:
    plans = request.state.plans
    return await public_record(request.state.service, log, plans.store if plans is not None else None, session_id)


SEQ: Schema = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
PUBLIC = (None,)  # anyone, no credentials
UNENDED = {409: ("RECORD_NOT_FINAL: the session has not ended yet", "application/json")}


def endpoints() -> list[Endpoint]:
    """The routes of the transparency log, as routed (app.py) and as GET /api/openapi.json describes them."""
    one = "/public/sessions/{session_id}"
    return [
        Endpoint("GET", "/public/transparency/key", key, doc=Doc(
            "交易中心公钥 / The trading center's Ed25519 public key (key_id, public_key hex)", security=PUBLIC)),
        session_route(f"{one}/tree-heads", heads, Doc(
            "签名树头 / Every signed tree head of a session's log, and the latest", security=PUBLIC)),
        session_route(f"{one}/proof/inclusion", inclusion, Doc(
            "包含证明 / Proof that event `seq` is in the tree of size `tree_size` (1 <= seq <= tree_size)",
            query={"seq": SEQ, "tree_size": SEQ}, required_query=("seq", "tree_size"), security=PUBLIC)),
        session_route(f"{one}/proof/consistency", consistency, Doc(
            "一致性证明 / Proof that the tree of size `first` is a prefix of the tree of size `second`",
            query={"first": SEQ, "second": SEQ}, required_query=("first", "second"), security=PUBLIC)),
        # An ended session's record never changes (its last head is signed before it is served).
        session_route(f"{one}/record.json", record, Doc(
            "公开记录 / A session's public record (events, bidders' keys, the reserve and its salt), once ended",
            security=PUBLIC, also=UNENDED), cache="public, max-age=60"),
    ]
