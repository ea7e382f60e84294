"""A fake bank for the end-to-end tests: a real HTTP client that signs its
notifications the way a bank is told to in the README (HMAC-SHA256 over
"{unix seconds}.{raw body}" with its own secret), computed here independently
of the server's code."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.e2e.helpers import KEEPALIVE, assert_no_traceback

BANK_ID = "ICBC-QJ"
BANK_SECRET = secrets.token_hex(24)
OTHER_BANK_ID = "CCB-QJ"
OTHER_SECRET = secrets.token_hex(24)
BANK_ENV = {"AUCTION_BANK_SECRETS": f"{BANK_ID}:{BANK_SECRET},{OTHER_BANK_ID}:{OTHER_SECRET}"}


def iso(dt: datetime) -> str:
    return dt.isoformat()


def now_iso(offset_seconds: float = 0.0) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=offset_seconds))


@dataclass
class Sent:
    status: int
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        if "error" in self.body:
            return str(self.body["error"]["code"])
        code = self.body.get("code")
        return str(code) if code is not None else None


@dataclass
class FakeBank:
    server: ServerProcess
    bank_id: str = BANK_ID
    secret: str = BANK_SECRET
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.server.http, timeout=10, trust_env=False, limits=KEEPALIVE)

    async def close(self) -> None:
        await self.http.aclose()

    def sign(self, timestamp: int | str, raw: bytes, secret: str | None = None) -> str:
        key = (secret or self.secret).encode()
        return hmac.new(key, f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()

    def payment(self, sub_account: str, amount: Any, payer: str, *, received_at: str | None = None,
                txn_id: str | None = None) -> dict[str, Any]:
        return {
            "txn_id": txn_id or f"T{uuid.uuid4().hex[:16].upper()}",
            "sub_account": sub_account,
            "amount_fen": amount,
            "payer_name": payer,
            "payer_account": "6222 0000 0000 " + str(secrets.randbelow(10_000)).zfill(4),
            "received_at": received_at or now_iso(),
        }

    async def send_raw(self, raw: bytes, headers: dict[str, str]) -> Sent:
        r = await self.http.post("/bank/notifications", content=raw,
                                 headers={"content-type": "application/json", **headers})
        assert_no_traceback(r.text)
        return Sent(r.status_code, r.json(), raw, headers)

    async def notify(self, body: dict[str, Any], *, timestamp: int | None = None, signature: str | None = None,
                     bank_id: str | None = None) -> Sent:
        raw = json.dumps(body, ensure_ascii=False).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "X-Bank-Id": bank_id or self.bank_id,
            "X-Timestamp": str(ts),
            "X-Signature": signature or self.sign(ts, raw),
        }
        return await self.send_raw(raw, headers)

    async def pay(self, sub_account: str, amount: Any, payer: str, **kw: Any) -> Sent:
        return await self.notify(self.payment(sub_account, amount, payer, **kw))
