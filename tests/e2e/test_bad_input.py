"""Bad input over the WebSocket and the operator API: each gets its own stable
code, the connection stays usable where the protocol says so, nothing is
written to the log, and nothing anybody receives contains a Python traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank
from tests.e2e.helpers import WAN, Api, WsClient, assert_no_traceback, close_all, iso_in, wait_opened


def _is_error(reply: dict[str, Any], code: str) -> bool:
    return reply["type"] == "error" and reply["code"] == code and isinstance(reply["message"], str)


async def _refused_hello(server: ServerProcess, hello: dict[str, Any] | str | bytes, code: str,
                         close_code: int = 4001) -> dict[str, Any]:
    """Connect, send `hello`; expect one error with `code`, then the close `close_code`."""
    conn = await WsClient.open(server.ws)
    try:
        reply = await conn.request(hello)
        assert _is_error(reply, code), (hello, reply)
        got, _ = await conn.wait_closed()
        assert got == close_code, (hello, got)
        assert [m["type"] for m in conn.messages] == ["error"]
        return reply
    finally:
        await conn.close()


async def test_websocket_bad_input_gets_specific_codes_and_writes_nothing(server: ServerProcess) -> None:
    # Opened first, says nothing: the server gives up on it after the hello timeout (10 s).
    silent = await WsClient.open(server.ws)
    async with Api(server) as api:
        # Three sessions, five bidders, a database update and four connections before the
        # start: 3 s leaves them ample time on a loaded machine.
        s = await api.auction(bidders=3, start_in=3.0, countdown=60)
        other = await api.auction(bidders=1, start_in=3.0, countdown=60)
        short = await api.auction(bidders=1, start_in=3.0, countdown=1)
        a, b, expiring = s.bidders
        con = await asyncpg.connect(server.dsn)
        try:
            status = await con.execute(
                "UPDATE bidders SET expires_at = now() - interval '1 minute' WHERE session_id = $1 AND bidder_no = $2",
                s.id, expiring.bidder_no,
            )
            assert status == "UPDATE 1"
        finally:
            await con.close()

        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        watcher = await WsClient.join(server.ws, s.id)
        cshort = await WsClient.join(server.ws, short.id, short.bidders[0].token)
        clients = [ca, cb, watcher, cshort, silent]
        try:
            await wait_opened(ca)
            await cshort.wait_event("SessionOpened", timeout=30)
            first = await cb.bid(100 * WAN, bid_id="valid-1")
            assert first["type"] == "ack"
            await ca.wait_seq(first["seq"])
            log_before = await api.events(s.id)
            other_before = await api.events(other.id)

            # --- frames that are not JSON objects: error, connection stays usable
            for raw in ("{not json", "", "[1, 2]", "42", '"bid"', "null", "{\"type\": \"bid\"", "\x00"):
                reply = await ca.request(raw)
                assert _is_error(reply, "MALFORMED_JSON"), (raw, reply)
            reply = await ca.request(b'{"type": "ping"}')  # a binary frame
            assert _is_error(reply, "MALFORMED_JSON") and "text frames" in reply["message"]
            await ca.ping()

            # --- unknown or mistyped message types
            reply = await ca.request({"type": "buy", "amount_fen": 1})
            assert _is_error(reply, "UNKNOWN_TYPE") and reply["details"] == {"type": "buy"}
            reply = await ca.request({"type": "x" * 100})
            assert _is_error(reply, "UNKNOWN_TYPE") and reply["details"] == {"type": "x" * 40}
            for message in ({}, {"type": 5}, {"type": None}, {"type": ["bid"]}, {"amount_fen": 1}):
                reply = await ca.request(message)
                assert _is_error(reply, "INVALID_FIELD") and reply["details"] == {"field": "type"}, (message, reply)
            reply = await ca.request({"type": "hello", "session_id": s.id, "token": a.token})
            assert _is_error(reply, "ALREADY_AUTHENTICATED")
            await ca.ping()

            # --- bids with missing or mistyped fields: `reject`, nothing written
            reply = await ca.request({"type": "bid", "amount_fen": 200 * WAN})
            assert reply["type"] == "reject" and reply["code"] == "INVALID_BID_ID" and reply["bid_id"] is None
            for bid_id in (7, None, "", "has space", "x" * 65, "ünï", ["a"]):
                reply = await ca.request({"type": "bid", "bid_id": bid_id, "amount_fen": 200 * WAN})
                assert reply["type"] == "reject" and reply["code"] == "INVALID_BID_ID", (bid_id, reply)
            reply = await ca.request({"type": "bid", "bid_id": "no-amount"})
            assert reply["type"] == "reject" and reply["code"] == "INVALID_FIELD"
            assert reply["details"] == {"field": "amount_fen"} and reply["bid_id"] == "no-amount"

            # --- amounts: whole positive fen only (RULES 1.6)
            cases: list[tuple[str, str]] = [
                ("-100", "INVALID_AMOUNT"), ("0", "INVALID_AMOUNT"), ("-0", "INVALID_AMOUNT"),
                ("1.5", "INVALID_AMOUNT"), ("100.0", "INVALID_AMOUNT"), ("1e10", "INVALID_AMOUNT"),
                ('"100"', "INVALID_AMOUNT"), ("true", "INVALID_AMOUNT"), ("false", "INVALID_AMOUNT"),
                ("null", "INVALID_AMOUNT"), ("[100]", "INVALID_AMOUNT"), ('{"fen": 100}', "INVALID_AMOUNT"),
                (str(10**16), "AMOUNT_TOO_LARGE"), (str(10**15 + 1), "AMOUNT_TOO_LARGE"),
                ("1" + "0" * 300, "AMOUNT_TOO_LARGE"),
            ]
            for i, (amount, code) in enumerate(cases):
                raw = f'{{"type": "bid", "bid_id": "amt-{i}", "amount_fen": {amount}}}'
                reply = await ca.request(raw)
                assert reply["type"] == "reject" and reply["code"] == code, (amount, reply)
                assert reply["bid_id"] == f"amt-{i}"
                if code == "AMOUNT_TOO_LARGE":
                    assert reply["details"] == {"maximum": 10**15}
            below = await ca.bid(100 * WAN)  # not above the highest
            assert below["code"] == "BELOW_MINIMUM" and below["details"] == {"minimum": 101 * WAN}

            # --- a bid for another session, a reused bid_id, a watcher's bid
            reply = await ca.bid(200 * WAN, session_id=other.id)
            assert reply["type"] == "reject" and reply["code"] == "WRONG_SESSION"
            reply = await ca.bid(200 * WAN, session_id=5)
            assert reply["type"] == "reject" and reply["code"] == "WRONG_SESSION"
            reply = await cb.bid(150 * WAN, bid_id="valid-1")
            assert reply["code"] == "DUPLICATE_BID" and reply["details"]["accepted_amount"] == 100 * WAN
            assert await cb.bid(100 * WAN, bid_id="valid-1") == first  # the same bid again: the same ack
            reply = await watcher.bid(200 * WAN)
            assert reply["type"] == "reject" and reply["code"] == "WATCHER_CANNOT_BID"
            await watcher.ping()
            await ca.ping()
            await cb.ping()

            # --- hellos that are refused: one error, then the documented close code
            await _refused_hello(server, {"type": "bid", "bid_id": "x", "amount_fen": 200 * WAN}, "NOT_AUTHENTICATED")
            await _refused_hello(server, {"type": "ping"}, "NOT_AUTHENTICATED")
            await _refused_hello(server, "{oops", "MALFORMED_JSON")
            await _refused_hello(server, b"\x00\x01", "MALFORMED_JSON")
            await _refused_hello(server, {"session_id": s.id}, "INVALID_FIELD")
            for session_id in (None, 5, "", "bad\u0000id", "\ud800"):
                reply = await _refused_hello(server, json.dumps({"type": "hello", "session_id": session_id}),
                                             "INVALID_FIELD")
                assert reply["details"] == {"field": "session_id"}
            # A token of the wrong type is a malformed hello (INVALID_FIELD), not a guess: 25 of them leave the
            # address's 20 wrong tokens a minute untouched, so the wrong tokens below are still INVALID_TOKEN.
            for token in (12345, 1.5, True, ["t" * 20], {"token": "t" * 20}) * 5:
                reply = await _refused_hello(server, json.dumps({"type": "hello", "session_id": s.id, "token": token}),
                                             "INVALID_FIELD")
                assert reply["details"] == {"field": "token"}, (token, reply)
            forged = secrets.token_urlsafe(32)
            for token in (forged, "short", "", "\ud800" * 20, "a\u0000" * 10, "t" * 201):
                await _refused_hello(server, json.dumps({"type": "hello", "session_id": s.id, "token": token}),
                                     "INVALID_TOKEN")
            await _refused_hello(server, {"type": "hello", "session_id": s.id, "token": expiring.token}, "INVALID_TOKEN")
            await _refused_hello(server, {"type": "hello", "session_id": s.id, "token": other.bidders[0].token},
                                 "WRONG_SESSION")
            reply = await _refused_hello(server, {"type": "hello", "session_id": "S-NOSUCH", "token": a.token},
                                         "UNKNOWN_SESSION", close_code=4004)
            assert reply["details"] == {"session_id": "S-NOSUCH"}
            await _refused_hello(server, {"type": "hello", "session_id": "S-NOSUCH"}, "UNKNOWN_SESSION", 4004)

            # --- frames over 8 KiB close the connection with 1009, before or after hello
            big = await WsClient.open(server.ws)
            clients.append(big)
            await big.send({"type": "hello", "session_id": s.id, "padding": "x" * 9000})
            assert (await big.wait_closed())[0] == 1009
            fat = await WsClient.join(server.ws, s.id, a.token)
            clients.append(fat)
            await fat.send({"type": "bid", "bid_id": "fat", "amount_fen": 200 * WAN, "note": "x" * 9000})
            assert (await fat.wait_closed())[0] == 1009
            under = await WsClient.join(server.ws, s.id)
            clients.append(under)
            reply = await under.request({"type": "ping", "nonce": "y" * 7000})  # under the limit: fine
            assert reply["type"] == "pong"

            # --- a bid after the close
            await cshort.wait_event("SessionClosed", timeout=30)
            reply = await cshort.bid(500 * WAN)
            assert reply["type"] == "reject" and reply["code"] == "SESSION_CLOSED"
            short_log = await api.events(short.id)
            assert [e["type"] for e in short_log][-1] == "SessionClosed"

            # --- the silent connection: an error, then 4010
            code, _ = await silent.wait_closed(timeout=12)
            assert code == 4010
            assert len(silent.messages) == 1 and _is_error(silent.messages[0], "NOT_AUTHENTICATED")

            # The bidders are still connected and can still bid; nothing else was written.
            assert await api.events(s.id) == log_before
            assert await api.events(other.id) == other_before
            assert not any(e["data"].get("bid_id") == "fat" for e in log_before)
            ok = await ca.bid(101 * WAN)
            assert ok["type"] == "ack"
            assert len(await api.events(s.id)) == len(log_before) + 1
            assert (await api.verify(s.id))["ok"] is True
        finally:
            await close_all(*clients)
            await api.post(f"/api/sessions/{s.id}/terminate", {"reason": "测试结束"})
            await api.post(f"/api/sessions/{other.id}/terminate", {"reason": "测试结束"})

        for client in clients:
            for raw in client.raw:
                assert_no_traceback(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))
    assert "Traceback" not in server.log_text()


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    return body["error"]


async def test_operator_api_bad_input(server: ServerProcess) -> None:
    good: dict[str, Any] = {
        "method": "AUCTION", "parcel_ref": "曲靖-坏输入", "start_price_fen": 1_000_000, "increment_fen": 10_000,
        "deposit_fen": 200_000, "start_at": iso_in(30), "countdown_seconds": 60,
    }
    async with Api(server, key="") as anonymous, Api(server, key="wrong-key") as wrong, Api(server) as api:
        # Authentication: missing key, wrong key, key without "Bearer".
        _error(await anonymous.post("/api/sessions", good), 401, "UNAUTHORIZED")
        _error(await anonymous.get("/api/sessions"), 401, "UNAUTHORIZED")
        _error(await wrong.post("/api/sessions", good), 401, "UNAUTHORIZED")
        _error(await wrong.get("/api/sessions/S-ANY/events"), 401, "UNAUTHORIZED")
        r = await api.http.get("/api/sessions", headers={"Authorization": server.operator_key})
        _error(r, 401, "UNAUTHORIZED")

        # Bodies that are not JSON objects.
        for content in (b"{not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe"):
            r = await api.post("/api/sessions", content=content, headers={"content-type": "application/json"})
            _error(r, 422, "MALFORMED_JSON")

        r = await api.post("/api/sessions", content=b"")  # an empty body is an empty object
        assert _error(r, 422, "INVALID_FIELD")["details"] == {"field": "method"}

        async def refused(code: str, status: int = 422, **change: Any) -> dict[str, Any]:
            body = {k: v for k, v in {**good, **change}.items() if v is not None}
            return _error(await api.post("/api/sessions", body), status, code)

        # Q31: deposit at least 20% of the starting price, rounded up to the fen.
        error = await refused("Q31_DEPOSIT_BELOW_20_PERCENT", deposit_fen=199_999)
        assert error["details"] == {"minimum_deposit": 200_000}
        error = await refused("Q31_DEPOSIT_BELOW_20_PERCENT", start_price_fen=1_000_001, deposit_fen=200_000)
        assert error["details"] == {"minimum_deposit": 200_001}
        # Times must carry an offset and be real instants in the future.
        for name in ("start_at",):
            error = await refused("INVALID_FIELD", **{name: "2031-01-01T10:00:00"})
            assert error["details"] == {"field": name} and "offset" in error["message"]
            assert (await refused("INVALID_FIELD", **{name: "tomorrow"}))["details"] == {"field": name}
            assert (await refused("INVALID_FIELD", **{name: 1893456000}))["details"] == {"field": name}
            assert (await refused("DATE_OUT_OF_RANGE", **{name: "9999-12-31T23:00:00-05:00"}))["details"][
                "field"] == name
        await refused("START_IN_PAST", start_at="2020-01-01T00:00:00+08:00")
        # Q28: a listing must have a reserve.
        await refused("Q28_RESERVE_REQUIRED", method="LISTING", listing_end_at=iso_in(90))
        await refused("INVALID_TERMS", method="LISTING", listing_end_at=iso_in(10), reserve_fen=1_000_000)
        # Amounts: positive whole fen within the system limit.
        for name in ("start_price_fen", "increment_fen", "deposit_fen", "reserve_fen"):
            for value in (0, -1, 1.5, 100.0, "100", True, 10**16):
                error = await refused("INVALID_FIELD" if (name == "reserve_fen" or value != 10**16) else "INVALID_TERMS",
                                      **{name: value})
                assert error["details"]["field"] in (name, name.removesuffix("_fen")), (name, value, error)
        # Other fields.
        assert (await refused("INVALID_FIELD", method="TENDER"))["details"] == {"field": "method"}
        assert (await refused("INVALID_FIELD", countdown_seconds=0))["details"] == {"field": "countdown_seconds"}
        assert (await refused("INVALID_FIELD", countdown_seconds="60"))["details"] == {"field": "countdown_seconds"}
        assert (await refused("INVALID_FIELD", parcel_ref="   "))["details"] == {"field": "parcel_ref"}
        assert (await refused("INVALID_FIELD", parcel_ref="P\u0000"))["details"] == {"field": "parcel_ref"}
        assert (await refused("INVALID_FIELD", parcel_ref="\ud800"))["details"] == {"field": "parcel_ref"}
        assert (await refused("INVALID_FIELD", session_id="S\u0000"))["details"] == {"field": "session_id"}
        assert (await refused("INVALID_FIELD", session_id="S" * 65))["details"] == {"field": "session_id"}
        for unsafe in ("a/b", "../../etc/passwd", "S-x' OR '1'='1", "S..1", ".S", "-S", "S 1", "S%2F1", "会话"):
            assert (await refused("INVALID_ID", 400, session_id=unsafe))["details"] == {"field": "session_id"}

        # Nothing refused was created.
        r = await api.get("/api/sessions")
        assert r.status_code == 200 and r.json() == []

        # Commands on a real session with bad input.
        for safe in ("S-GD-2026-007", "DEMO-L-123456", "S-PLAN-1.v2_b", "s" * 64):  # the ids in use still pass
            made = await api.create(**{**good, "session_id": safe})
            assert made["terms"]["session_id"] == safe and (await api.session(safe))["terms"]["session_id"] == safe
            await api.post(f"/api/sessions/{safe}/terminate", {"reason": "测试"})
        created = await api.create(**good)
        sid = created["terms"]["session_id"]
        _error(await api.post("/api/sessions", {**good, "session_id": sid}), 409, "SESSION_EXISTS")
        _error(await api.post(f"/api/sessions/{sid}/bidders", {}), 422, "INVALID_FIELD")
        _error(await api.post(f"/api/sessions/{sid}/bidders", {"legal_name": "公司\u0000"}), 422, "INVALID_FIELD")
        _error(await api.post(f"/api/sessions/{sid}/suspend", {}), 422, "REASON_REQUIRED")
        _error(await api.post(f"/api/sessions/{sid}/suspend", {"reason": "\ud800"}), 422, "INVALID_FIELD")
        _error(await api.post(f"/api/sessions/{sid}/resume", {"reason": "无故"}), 422, "NOT_SUSPENDED")
        for bad in (0, -5, "5", 1.5, 100.0, True, None, [5]):  # docs/protocol.md: not a positive integer of fen
            error = _error(await api.post(f"/api/sessions/{sid}/increment", {"increment_fen": bad, "reason": "x"}),
                           422, "INVALID_INCREMENT" if bad is not None else "INVALID_FIELD")
            assert error["details"] == {"field": "increment_fen"}, (bad, error)
        _error(await api.post(f"/api/sessions/{sid}/increment", {"reason": "x"}), 422, "INVALID_FIELD")
        error = _error(await api.post(f"/api/sessions/{sid}/increment", {"increment_fen": 10**16, "reason": "x"}),
                       422, "INVALID_INCREMENT")
        assert error["details"] == {"field": "increment_fen"}
        r = await api.post(f"/api/sessions/{sid}/resume", content=b"{", headers={"content-type": "application/json"})
        _error(r, 422, "MALFORMED_JSON")
        _error(await api.get("/api/sessions/S-NOSUCH"), 404, "UNKNOWN_SESSION")
        _error(await api.get("/api/sessions/S-NOSUCH/events"), 404, "UNKNOWN_SESSION")
        _error(await api.get("/api/sessions/S-NOSUCH/verify"), 404, "UNKNOWN_SESSION")
        _error(await api.post("/api/sessions/S-NOSUCH/bidders", {"legal_name": "某公司"}), 404, "UNKNOWN_SESSION")
        _error(await api.get("/api/nothing-here"), 404, "NOT_FOUND")
        log = await api.events(sid)
        assert [e["type"] for e in log] == ["SessionCreated"]
        assert (await api.verify(sid))["ok"] is True
    assert "Traceback" not in server.log_text()


# ---------------------------------------------------------------------------
# The input edges (README "Security", Limits): each refusal has its code, none is a 5xx.

DEEP = 100_000


def _deep(depth: int, kind: str = "[") -> bytes:
    if kind == "[":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


async def _raw_http(server: ServerProcess, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as is on a fresh connection; read the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        await writer.drain()
        data = b""
        with contextlib.suppress(ConnectionError):
            while chunk := await asyncio.wait_for(reader.read(65536), timeout):
                data += chunk
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


async def test_deeply_nested_json_gets_its_code(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(**BANK_ENV)
    server.start()
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=60)
        paths = ["/api/sessions", "/api/plans", f"/api/sessions/{s.id}/suspend", "/api/committee-members",
                 "/api/plans/P-NONE/appraisal", f"/api/sessions/{s.id}/applications", "/bid/session"]
        for path in paths:
            for kind in ("[", "{"):
                r = await api.post(path, content=_deep(DEEP, kind), headers={"content-type": "application/json"})
                if path == "/bid/session":  # the sign-in reads 1 KiB at most: a longer body is a wrong token
                    _error(r, 401, "INVALID_TOKEN")
                else:
                    assert _error(r, 422, "JSON_TOO_DEEP")["details"] == {"maximum": 32}, path
        # Past the parser's recursion limit in a small body (once a 500), and deep yet within it.
        r = await api.post("/api/sessions", content=_deep(20_000), headers={"content-type": "application/json"})
        _error(r, 422, "JSON_TOO_DEEP")
        r = await api.post("/api/sessions", {"method": "AUCTION", "nested": json.loads(_deep(200))})
        _error(r, 422, "JSON_TOO_DEEP")
        # The bank webhook parses only what a bank signed (and takes at most 16 KiB).
        bank = FakeBank(server)
        try:
            raw = _deep(5_000)
            ts = int(time.time())
            sent = await bank.send_raw(raw, {"X-Bank-Id": bank.bank_id, "X-Timestamp": str(ts),
                                             "X-Signature": bank.sign(ts, raw)})
            assert (sent.status, sent.code) == (422, "JSON_TOO_DEEP"), sent
            raw = _deep(DEEP)
            sent = await bank.send_raw(raw, {"X-Bank-Id": bank.bank_id, "X-Timestamp": str(ts),
                                             "X-Signature": bank.sign(ts, raw)})
            assert (sent.status, sent.code) == (413, "BODY_TOO_LARGE"), sent
        finally:
            await bank.close()
        assert [e["type"] for e in await api.events(s.id)] == ["SessionCreated", "BidderQualified"]

        # A WebSocket frame: deep within 8 KiB is an error and the connection stays usable;
        # 100,000 levels is over 8 KiB and closes it with 1009, before or after the hello.
        conn = await WsClient.join(server.ws, s.id, s.bidders[0].token)
        early = await WsClient.open(server.ws)
        try:
            reply = await conn.request(_deep(4_000).decode())
            assert _is_error(reply, "JSON_TOO_DEEP") and reply["details"] == {"maximum": 32}
            await conn.ping()
            reply = await _refused_hello(server, '{"type": "hello", "x": ' + _deep(3_000).decode() + "}",
                                         "JSON_TOO_DEEP")
            await conn.send_raw(_deep(DEEP).decode())
            assert (await conn.wait_closed())[0] == 1009
            await early.send_raw(_deep(DEEP, "{").decode())
            assert (await early.wait_closed())[0] == 1009
        finally:
            await close_all(conn, early)
    assert "Traceback" not in server.log_text()


async def test_oversized_bodies_get_413_before_they_are_read(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(AUCTION_MAX_BODY_BYTES="100000")
    server.start()
    auth = f"Authorization: Bearer {server.operator_key}\r\n".encode()
    for path in (b"/api/sessions", b"/api/plans", b"/console/login", b"/public/results", b"/bid/session"):
        # Content-Length over the limit: answered at once, with only 10 bytes of the body sent.
        status, headers, body = await _raw_http(server, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth +
                                                b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
                                                + b"{" * 10)
        assert status == 413 and headers["content-type"] == "application/json", (path, status, body)
        error = json.loads(body)["error"]
        assert error["code"] == "BODY_TOO_LARGE" and error["details"] == {"maximum": 100000}
        assert isinstance(error["message"], str)
        # Chunked, no Content-Length: answered once the chunks pass the limit (the last chunk never sent).
        chunk = b"x" * 30_000
        chunks = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(4))
        status, _, body = await _raw_http(server, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth +
                                          b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                          + chunks)
        assert status == 413 and json.loads(body)["error"]["code"] == "BODY_TOO_LARGE", (path, status, body)
    # The bank webhook keeps a smaller limit (16 KiB): a body over both is refused with its own.
    status, _, body = await _raw_http(server, b"POST /bank/notifications HTTP/1.1\r\nHost: x\r\n"
                                      b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{")
    assert status == 413 and json.loads(body)["error"]["details"] == {"maximum": 16 * 1024}, body
    # A sealed tender bid carries its proposal file: its path takes more (AUCTION_TENDER_BID_MAX_BYTES, 24 MiB),
    # so a body over the global limit reaches the route (no token: 422), and one over its own is refused.
    padded = b'{"pad": "' + b"x" * 200_000 + b'"}'
    status, _, body = await _raw_http(server, b"POST /tender/T-none/bid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(padded)
                                      + padded)
    assert status != 413 and json.loads(body)["error"]["code"] == "INVALID_TOKEN", (status, body)
    status, _, body = await _raw_http(server, b"POST /tender/T-none/bid HTTP/1.1\r\nHost: x\r\n"
                                      b"Content-Type: application/json\r\nContent-Length: 30000000\r\n\r\n{")
    assert status == 413 and json.loads(body)["error"]["details"] == {"maximum": 24 * 1024 * 1024}, body
    # Under the limit, chunked: an ordinary answer.
    status, _, body = await _raw_http(server, b"POST /api/sessions HTTP/1.1\r\nHost: x\r\n" + auth +
                                      b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    assert status == 422 and json.loads(body)["error"]["details"] == {"field": "method"}
    async with Api(server) as api:  # the refusals are in the audit trail with their code
        r = await api.get("/api/sessions")
        assert r.status_code == 200
    con = await asyncpg.connect(server.dsn)
    try:
        outcomes = await con.fetch("SELECT outcome FROM console_audit WHERE action = 'API POST /api/sessions'")
    finally:
        await con.close()
    assert "BODY_TOO_LARGE" in {r["outcome"] for r in outcomes}
    assert "Traceback" not in server.log_text()


async def test_control_characters_in_paths_are_invalid_ids(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=0, start_in=60)
        gets = ["/api/sessions/%00x", "/api/sessions/x%00", f"/api/sessions/{s.id}%00/events", "/api/plans/a%01b",
                "/api/sessions/%1f/verify", "/public/announcements/%00x", "/public/results/a%7fb",
                "/public/documents/%00.json", "/public/documents/x%0a.xml", "/console/sessions/%00x",
                "/api/deadlines?by=%00", "/public/results?x=a%00b"]
        posts = [f"/api/sessions/{s.id}%00/suspend", "/api/sessions/%00x/bidders", "/api/plans/a%01b/withdraw",
                 "/api/applications/%00/token", "/console/sessions/%00/suspend", "/bank/notifications%00"]
        for path in gets:
            r = await api.http.get(path)
            assert_no_traceback(r.text)
            _error(r, 400, "INVALID_ID")
        for path in posts:
            r = await api.post(path, {"reason": "测试", "by": "tester"})
            _error(r, 400, "INVALID_ID")
        assert [e["type"] for e in await api.events(s.id)] == ["SessionCreated"]
    assert "audit record lost" not in server.log_text()


async def test_slow_request_headers_are_cut_off(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(AUCTION_HEADER_TIMEOUT_SECONDS="2")
    server.start()

    async def slowloris(first: bytes = b"") -> float:
        """Send `first`, then headers a byte every 0.5 s; seconds until the server closes."""
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = time.monotonic()
        try:
            writer.write(first)
            if first:
                assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).startswith(b"HTTP/1.1 200")
                await asyncio.wait_for(reader.readexactly(int(2)), 10)  # the start of the body
            trickle = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
            for byte in trickle:
                writer.write(bytes([byte]))
                try:
                    await writer.drain()
                except ConnectionError:
                    break
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(reader.read(65536), 0.5) == b"":
                        break
                if time.monotonic() - started > 60:
                    raise AssertionError("the server kept the slow connection open for a minute")
            return time.monotonic() - started
        finally:
            writer.close()

    assert await slowloris() < 60
    # On a kept-alive connection after an answered request: the next request's headers too.
    assert await slowloris(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") < 60
    # Ordinary requests are untouched.
    async with Api(server) as api:
        assert (await api.get("/healthz")).status_code == 200


async def test_public_links_never_come_from_the_host_header(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(AUCTION_PUBLIC_BASE_URL="https://land.example.gov.cn/")
    server.start()
    async with httpx.AsyncClient(base_url=server.http, timeout=10, trust_env=False) as public:
        for path in ("/public/feed.atom", "/public/announcements", "/public/results"):
            for headers in ({"host": "evil.example"}, {"host": "evil.example", "x-forwarded-host": "evil.example"}):
                r = await public.get(path, headers=headers)
                assert r.status_code == 200 and "evil.example" not in r.text, (path, r.text)
        r = await public.get("/public/feed.atom", headers={"host": "evil.example"})
        assert 'href="https://land.example.gov.cn/public/feed.atom"' in r.text
    default = server_factory()
    default.start()
    r = httpx.get(f"{default.http}/public/feed.atom", headers={"host": "evil.example"}, trust_env=False)
    assert "evil.example" not in r.text and f'href="{default.http}/public/feed.atom"' in r.text


async def test_dates_far_ahead_are_out_of_range(server: ServerProcess) -> None:
    good: dict[str, Any] = {
        "method": "AUCTION", "parcel_ref": "曲靖-远期", "start_price_fen": 1_000_000, "increment_fen": 10_000,
        "deposit_fen": 200_000, "start_at": iso_in(60), "countdown_seconds": 60,
    }
    far = ["9000-01-01T09:00:00+08:00", "2200-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00",
           "10000-01-01T00:00:00+00:00", "+275760-09-13T00:00:00Z", "1999-12-31T23:59:59+00:00"]
    async with Api(server) as api:
        for value in far:
            for name in ("start_at", "registration_closes_at"):
                r = await api.post("/api/sessions", {**good, name: value})
                error = _error(r, 422, "DATE_OUT_OF_RANGE")
                assert error["details"]["field"] == name and error["details"]["latest"] == "2199-12-31", (value, error)
            r = await api.post("/api/plans/P-NONE/committee-meeting", {"by": "x", "chair_spoke_last": True, "held_at": value})
            assert _error(r, 422, "DATE_OUT_OF_RANGE")["details"]["field"] == "held_at"
            r = await api.post("/api/sessions/S-NONE/applications", {"legal_name": "x", "registration_no": "91530300MA6K00001A",
                                                                      "kind": "COMPANY", "deposit_deadline": value})
            _error(r, 422, "DATE_OUT_OF_RANGE")
        for day in ("9000-01-01", "10000-01-01", "1999-12-31"):
            r = await api.post("/api/plans/P-NONE/appraisal", {"by": "x", "appraisal_id": "A1", "valuation_date": day,
                                                               "valid_until": "2030-01-01"})
            assert _error(r, 422, "DATE_OUT_OF_RANGE")["details"]["field"] == "valuation_date", day
        # Still an ordinary day at both ends of the range.
        r = await api.post("/api/sessions", {**good, "start_at": "2199-12-31T23:59:59+00:00"})
        assert r.status_code == 201, r.text
        assert r.json()["terms"]["start_at_us"] == 7_258_118_399_000_000
    assert "Traceback" not in server.log_text()


async def test_missing_reasons_get_reason_required(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=60)
        missing: list[dict[str, Any]] = [{}, {"reason": None}, {"reason": ""}, {"reason": "   "}]
        for body in missing:
            for step in ("suspend", "resume", "terminate"):
                error = _error(await api.post(f"/api/sessions/{s.id}/{step}", body), 422, "REASON_REQUIRED")
                assert error["details"] == {"field": "reason"}
            r = await api.post(f"/api/sessions/{s.id}/increment", {"increment_fen": 20_000, **body})
            _error(r, 422, "REASON_REQUIRED")
            r = await api.post("/api/plans/P-NONE/withdraw", {"by": "x", **body})
            _error(r, 422, "REASON_REQUIRED")
        # A reason that is there but unusable is a field error, as before.
        for bad in (5, "x" * 501, "a\u0000b"):
            _error(await api.post(f"/api/sessions/{s.id}/suspend", {"reason": bad}), 422, "INVALID_FIELD")
        assert [e["type"] for e in await api.events(s.id)] == ["SessionCreated", "BidderQualified"]


async def test_invalid_utf8_frames_close_1007_with_one_log_line(server: ServerProcess) -> None:
    async with Api(server) as api:
        s = await api.auction(bidders=1, start_in=60)
    closes = []
    for i in range(4):
        conn = await WsClient.open(server.ws)
        try:
            if i % 2:
                assert (await conn.hello(s.id, s.bidders[0].token))["type"] == "welcome"
            await conn.ws.send(b'{"type": "ping", "nonce": "\xff\xfe"}', text=True)
            closes.append((await conn.wait_closed())[0])
        finally:
            await conn.close()
    assert closes == [1007] * 4
    text = server.log_text()
    assert "Traceback" not in text and "Invalid UTF-8" not in text
    assert text.count("is not UTF-8") == 1


async def test_debug_log_holds_no_token_and_no_reserve(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(AUCTION_LOG_LEVEL="DEBUG")
    server.start()
    reserve = 1_234_567_891
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=1.5, countdown=30, reserve=reserve)
        a, b = s.bidders
        ca = await WsClient.join(server.ws, s.id, a.token)
        cb = await WsClient.join(server.ws, s.id, b.token)
        try:
            await ca.wait_event("SessionOpened", timeout=10)
            assert (await ca.bid(100 * WAN))["type"] == "ack"
            assert (await cb.bid(101 * WAN))["type"] == "ack"
            r = await api.post("/bid/session", {"token": a.token})
            assert r.status_code == 200
        finally:
            await close_all(ca, cb)
            await api.post(f"/api/sessions/{s.id}/terminate", {"reason": "测试结束"})
    text = server.log_text()
    assert " DEBUG " in text or "DEBUG:" in text  # the level took effect
    for token in (a.token, b.token):
        secret = token.removeprefix("bt_")
        parts = {secret[i:i + 8] for i in range(len(secret) - 7)}  # any 8 characters of it, tails included
        assert not [p for p in parts if p in text], token
    assert str(reserve) not in text and f"{reserve:,}" not in text


async def test_closing_before_the_deadline_is_refused_and_the_timers_still_close(server: ServerProcess) -> None:
    # docs/protocol.md section 7: the operator's close before the deadline is `CLOSE_NOT_DUE` (409) and
    # changes nothing; the timers run the same close procedure and are never refused.
    async with Api(server) as api:
        listing = await api.listing(bidders=1, reserve=100 * WAN, start_in=1.0, listing_seconds=3600)
        tomorrow = await api.auction(bidders=1, start_in=86_400)
        short = await api.auction(bidders=1, start_in=3.0, countdown=5)
        watcher = await WsClient.join(server.ws, listing.id)
        bidder = await WsClient.join(server.ws, short.id, short.bidders[0].token)
        try:
            await wait_opened(watcher)
            for s, phase in ((listing, "LISTING"), (tomorrow, "SCHEDULED"), (short, None)):
                before = await api.session(s.id), await api.events(s.id)
                error = _error(await api.post(f"/api/sessions/{s.id}/close"), 409, "CLOSE_NOT_DUE")
                assert error["details"]["phase"] == (phase or before[0]["state"]["phase"]), error
                assert error["details"]["deadline"] == before[0]["state"]["deadline_us"], error
                assert (await api.session(s.id), await api.events(s.id)) == before  # nothing changed
            # The timer opens the short auction (a tick with nothing to close) and closes it after the bid.
            await wait_opened(bidder)
            assert (await bidder.bid(100 * WAN))["type"] == "ack"
            closed = await bidder.wait_event("SessionClosed", timeout=60)
            assert closed["data"]["outcome"] == "SOLD"
            again = await api.post(f"/api/sessions/{short.id}/close")  # an ended session: its state, as before
            assert again.status_code == 200 and again.json()["state"]["phase"] == "CLOSED", again.text
        finally:
            await close_all(watcher, bidder)
    assert "Traceback" not in server.log_text()


async def test_a_method_a_route_does_not_take_gets_the_error_body(server: ServerProcess) -> None:
    # README "Limits": 405 METHOD_NOT_ALLOWED with the Allow header, as the standard error body, on every route.
    async with Api(server) as api:
        s = await api.auction(bidders=0, start_in=3600)
        asked = [("DELETE", "/api/sessions"), ("OPTIONS", "/api/sessions"), ("PATCH", f"/api/sessions/{s.id}"),
                 ("POST", f"/api/sessions/{s.id}"), ("POST", f"/api/sessions/{s.id}/events"),
                 ("GET", f"/api/sessions/{s.id}/suspend"), ("PUT", "/bid/session"), ("DELETE", "/healthz"),
                 ("POST", "/public/transparency/key"), ("POST", "/console/login/nothing")]
        for method, path in asked:
            r = await api.http.request(method, path)
            if path.endswith("/nothing"):  # no such path: 404, the same body
                _error(r, 404, "NOT_FOUND")
                continue
            error = _error(r, 405, "METHOD_NOT_ALLOWED")
            allow = {m.strip() for m in r.headers["allow"].split(",")}
            assert method not in allow and set(error["details"]["allow"]) == allow, (method, path, r.headers, error)
            assert "error" in r.json() and r.headers["content-type"].startswith("application/json")
            if path == "/api/sessions":  # every method the path takes, each routed on its own (stand-ins on)
                assert allow == {"GET", "HEAD", "POST"}, allow
        # A page routes its form's POST on a route of its own too.
        r = await api.http.request("DELETE", "/portal/register")
        assert set(_error(r, 405, "METHOD_NOT_ALLOWED")["details"]["allow"]) == {"GET", "HEAD", "POST"}, r.text
        # The methods a route takes still work beside it.
        assert (await api.get(f"/api/sessions/{s.id}")).status_code == 200
        assert [e["type"] for e in await api.events(s.id)] == ["SessionCreated"]
    assert "Traceback" not in server.log_text()
