"""`GET /api/openapi.json` on a real server, and a property-based run of it
(schemathesis): every operation is called with bodies, parameters and paths drawn
from its own schema; no answer is a server error, and every refusal is the standard
error body (docs/protocol.md). A bounded number of examples per operation,
derandomized: the same requests on every run, and a failure replays."""

from __future__ import annotations

import asyncio
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


def _refusal_is_the_error_body(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    assert_no_traceback(response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, f"{what}: {body}"
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, f"{what}: {body}"
        assert error["code"] in CODES and isinstance(error["message"], str) and isinstance(error["details"], dict)


def _with_known_ids(document: dict[str, Any], known: dict[str, str]) -> dict[str, Any]:
    """Path parameters drawn from a real object's id as well as from any string, so that
    the run reaches past the look-up into the handlers' checks."""
    for operation in (op for item in document["paths"].values() for op in item.values()):
        for parameter in operation["parameters"]:
            if parameter["in"] == "path" and parameter["name"] in known:
                parameter["schema"] = {"anyOf": [{"const": known[parameter["name"]]}, parameter["schema"]]}
    return document


async def _a_session(server: ServerProcess) -> str:
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=3600)
    return s.id


def test_no_operation_answers_a_server_error_and_every_refusal_is_the_error_body(server: ServerProcess) -> None:
    session_id = asyncio.run(_a_session(server))
    schema = schemathesis.openapi.from_dict(_with_known_ids(_document(server), {"session_id": session_id}))
    auth = {"Authorization": f"Bearer {server.operator_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    with httpx.Client(base_url=server.http, timeout=60, trust_env=False, limits=KEEPALIVE) as http:
        for operation in operations:
            what = f"{operation.method.upper()} {operation.path}"

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                kwargs = case.as_transport_kwargs(base_url=server.http, headers=auth)
                response = http.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                        headers=kwargs.get("headers"), content=_content(kwargs))
                _refusal_is_the_error_body(response, f"{what} {kwargs['url']} {kwargs.get('json', '')!r:.300}")

            call()


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    return data.encode() if isinstance(data, str) else data
