"""`GET /api/openapi.json` on a real server, and a property-based run of it
(schemathesis): every operation is called with bodies, parameters and paths drawn
from its own schema; no answer is a server error, and every refusal is the standard
error body (docs/protocol.md), or the page for people the operation itself declares
for that status (the public documents' not-found page). A bounded number of examples per operation,
derandomized: the same requests on every run, and a failure replays."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from auction.domain.codes import Code
from tests.conftest import ServerProcess
from tests.e2e.helpers import KEEPALIVE, Api, assert_no_traceback

EXAMPLES = 12  # per operation: ~60 operations, well under a minute or two on a loaded machine
CODES = {c.value for c in Code}


def _document(server: ServerProcess) -> dict[str, Any]:
    with httpx.Client(base_url=server.http, timeout=30, trust_env=False, limits=KEEPALIVE) as http:
        assert http.get("/api/openapi.json").status_code == 401  # behind the operator key, as the API
        r = http.get("/api/openapi.json", headers={"Authorization": f"Bearer {server.operator_key}"})
    assert r.status_code == 200, r.text
    document: dict[str, Any] = r.json()
    return document


def test_the_document_describes_the_running_api(server: ServerProcess) -> None:
    document = _document(server)
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    # The stand-ins are on in the test servers, so they are described (off, they are not: unit test).
    assert "post" in paths["/api/sessions"] and "post" in paths["/api/sessions/{session_id}/bidders"]
    suspend = paths["/api/sessions/{session_id}/suspend"]["post"]
    assert suspend["requestBody"]["content"]["application/json"]["schema"]["required"] == ["reason"]
    assert [p["name"] for p in suspend["parameters"]] == ["session_id"]
    assert suspend["responses"]["4XX"] == {"$ref": "#/components/responses/Refused"}
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]["code"]["enum"]) == CODES


def _refusal_is_the_error_body(response: httpx.Response, what: str, declared: dict[str, Any] | None = None) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    assert_no_traceback(response.text)
    page = (declared or {}).get(str(response.status_code), {}).get("content", {})
    if "text/html" in page:  # declared by the operation: a page for people, not the error body
        assert response.headers["content-type"].startswith("text/html"), f"{what}: {response.headers}"
    elif response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, f"{what}: {body}"
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, f"{what}: {body}"
        assert error["code"] in CODES and isinstance(error["message"], str) and isinstance(error["details"], dict)


def _with_known_ids(document: dict[str, Any], known: dict[str, str]) -> dict[str, Any]:
    """The operations with a path parameter named in `known`, that parameter always a real
    object's id (drawn from "the id or any string", the id came up in none of a dozen draws),
    so that the run reaches past the look-up into the handlers' checks."""
    with_ids = copy.deepcopy(document)
    with_ids["paths"] = {path: item for path, item in with_ids["paths"].items()
                         if any(f"{{{name}}}" in path for name in known)}
    for operation in (op for item in with_ids["paths"].values() for op in item.values()):
        for parameter in operation["parameters"]:
            if parameter["in"] == "path" and parameter["name"] in known:
                parameter["schema"] = {"const": known[parameter["name"]]}
    return with_ids


async def _a_session(server: ServerProcess) -> str:
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=3600)
    return s.id


def test_no_operation_answers_a_server_error_and_every_refusal_is_the_error_body(server: ServerProcess) -> None:
    session_id = asyncio.run(_a_session(server))
    document = _document(server)
    assert len(_operations(document)) > 50
    # Any path first, then the real session's (the session's own operations last: they may end it).
    runs = [(document, op) for op in _operations(document)]
    runs += [(known, op) for known in [_with_known_ids(document, {"session_id": session_id})]
             for op in _operations(known)]
    auth = {"Authorization": f"Bearer {server.operator_key}"}
    with httpx.Client(base_url=server.http, timeout=60, trust_env=False, limits=KEEPALIVE) as http:
        for document, operation in runs:
            what = f"{operation.method.upper()} {operation.path}"
            declared = document["paths"][operation.path][operation.method.lower()]["responses"]

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                kwargs = case.as_transport_kwargs(base_url=server.http, headers=auth)
                response = http.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                        headers=kwargs.get("headers"), content=_content(kwargs))
                _refusal_is_the_error_body(response, f"{what} {kwargs['url']} {kwargs.get('json', '')!r:.300}",
                                           declared)

            call()


def _operations(document: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document))
    return [result.ok() for result in schema.get_all_operations()]


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    return data.encode() if isinstance(data, str) else data


def test_the_public_routes_refuse_with_the_error_body_what_the_document_declares(server: ServerProcess) -> None:
    """The transparency log's routes, as described: a record before the close is 409 RECORD_NOT_FINAL
    (declared), and a proof's number that Python calls a digit but is none ("²") is refused, not a 500."""
    session_id = asyncio.run(_a_session(server))
    record = _document(server)["paths"]["/public/sessions/{session_id}/record.json"]["get"]
    assert record["security"] == [] and record["responses"]["409"] == {"$ref": "#/components/responses/Refused"}
    with httpx.Client(base_url=server.http, timeout=30, trust_env=False, limits=KEEPALIVE) as http:
        r = http.get(f"/public/sessions/{session_id}/record.json")
        assert r.status_code == 409 and r.json()["error"]["code"] == Code.RECORD_NOT_FINAL.value
        for query in ("seq=²&tree_size=1", "seq=1&tree_size=²", "seq=1"):
            r = http.get(f"/public/sessions/{session_id}/proof/inclusion?{query}")
            assert r.status_code == 422, (query, r.status_code, r.text[:300])
            _refusal_is_the_error_body(r, query)
            assert r.json()["error"]["code"] == Code.INVALID_FIELD.value
