"""`POST /bank/notifications`: the bank reports a payment into a deposit sub-account.

Not behind the operator key: each bank signs its requests with its own secret
(AUCTION_BANK_SECRETS="bankid:secret,..."):

    X-Bank-Id:    the bank's id
    X-Timestamp:  unix seconds when the bank sent it
    X-Signature:  hex HMAC-SHA256(secret, "{X-Timestamp}." + raw body bytes)

Checks, in order, each with its code (HTTP 401 unless said): the bank is known
(`BANK_UNKNOWN`), the signature matches (`BANK_SIGNATURE_INVALID`), the
timestamp is within ±300 s of the server clock (`BANK_TIMESTAMP_STALE`), and
this exact signed request was not received before (`BANK_REPLAYED`, 409).

Replay protection is both: every accepted signature is stored (so a captured
request cannot be sent again, even within the window), and the bank's
transaction id is the idempotency key of the booking (so a bank retry, signed
afresh, gets the first answer and books nothing new: `DEPOSIT_DUPLICATE_TXN`).

Body (JSON): {txn_id, sub_account, amount_fen, payer_name, payer_account,
received_at (ISO 8601 with offset)}. Money that arrived is always booked and
answered 200 with the verdict (`code` null: counted; else why it is held for
refund); what is not money (`INVALID_AMOUNT`, `INVALID_FIELD`, `MALFORMED_JSON`, `JSON_TOO_DEEP`)
or contradicts an earlier report (`DEPOSIT_TXN_CONFLICT`) is refused (422) and
books nothing. Every authenticated request is kept in `bank_notifications`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.adapters.protocol import loads, storable_text
from auction.domain.codes import Code, Rejected
from auction.domain.deposit.deposits import Payment
from auction.entrypoints.api.operator import _time
from auction.services.deposits import DepositService
from auction.services.session import now_us
from auction.settings import Settings
from auction.store import deposits as store
from auction.store.database import DATABASE_ERRORS

log = logging.getLogger(__name__)

PATH = "/bank/notifications"
MAX_BODY = 16 * 1024  # also the limit BodyLimit keeps for PATH (auction/app.py)
TIMESTAMP = re.compile(r"\d{1,12}")
HEX = re.compile(r"[0-9a-fA-F]{64}")
STATUS = {
    Code.BANK_UNKNOWN: 401,
    Code.BANK_SIGNATURE_INVALID: 401,
    Code.BANK_TIMESTAMP_STALE: 401,
    Code.BANK_REPLAYED: 409,
    Code.SERVICE_UNAVAILABLE: 503,
    Code.CONFLICT: 409,
    Code.BODY_TOO_LARGE: 413,
}


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Signature a bank sends (the test's fake bank uses this very function's formula)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _problem(r: Rejected) -> JSONResponse:
    return JSONResponse({"error": r.rejection.to_dict()}, status_code=STATUS.get(r.code, 422))


class BankWebhook:
    def __init__(self, settings: Settings, clock: Callable[[], int] = now_us) -> None:
        self.settings = settings
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route(PATH, self.notify, methods=["POST"])]

    async def notify(self, request: Request) -> Response:
        try:
            raw = await request.body()
            if len(raw) > MAX_BODY:
                raise Rejected(Code.BODY_TOO_LARGE, maximum=MAX_BODY)
            bank_id, signature, sent_at = self._authenticate(request, raw)
        except Rejected as r:
            log.warning("bank notification refused: %s", r.code.value)
            return _problem(r)
        deposits: DepositService = request.state.deposits
        try:
            if not await store.claim_signature(deposits.pool, bank_id, signature, sent_at, raw.decode("utf-8", "replace")):
                raise Rejected(Code.BANK_REPLAYED, bank_id=bank_id)
        except Rejected as r:
            log.warning("bank notification from %s refused: %s", bank_id, r.code.value)
            return _problem(r)
        except DATABASE_ERRORS:
            return _problem(Rejected(Code.SERVICE_UNAVAILABLE))
        txn_id: str | None = None
        try:
            payment = _payment(raw)
            txn_id = payment.txn_id
            if payment.received_at > self.clock() + self.settings.bank_max_skew_seconds * 1_000_000:
                raise Rejected(Code.INVALID_FIELD, "received_at is in the future", field="received_at")
            outcome = await deposits.receive(payment)
        except Rejected as r:
            await self._outcome(deposits, bank_id, signature, txn_id, r.code.value)
            return _problem(r)
        except DATABASE_ERRORS:
            return _problem(Rejected(Code.SERVICE_UNAVAILABLE))
        result = "QUALIFIED" if outcome.qualified_now else (outcome.code.value if outcome.code else "COUNTED")
        await self._outcome(deposits, bank_id, signature, txn_id, result)
        return JSONResponse(outcome.to_dict())

    def _authenticate(self, request: Request, raw: bytes) -> tuple[str, str, int]:
        bank_id = request.headers.get("x-bank-id", "")
        secret = self.settings.bank_secrets.get(bank_id)
        if secret is None:
            raise Rejected(Code.BANK_UNKNOWN)
        timestamp = request.headers.get("x-timestamp", "")
        signature = request.headers.get("x-signature", "")
        if not TIMESTAMP.fullmatch(timestamp) or not HEX.fullmatch(signature):
            raise Rejected(Code.BANK_SIGNATURE_INVALID, "X-Timestamp (unix seconds) and X-Signature (hex) required")
        if not hmac.compare_digest(sign(secret, timestamp, raw), signature.lower()):
            raise Rejected(Code.BANK_SIGNATURE_INVALID)
        skew = abs(self.clock() // 1_000_000 - int(timestamp))
        if skew > self.settings.bank_max_skew_seconds:
            raise Rejected(Code.BANK_TIMESTAMP_STALE, skew_seconds=skew,
                           max_skew_seconds=self.settings.bank_max_skew_seconds)
        return bank_id, signature.lower(), int(timestamp) * 1_000_000

    @staticmethod
    async def _outcome(deposits: DepositService, bank_id: str, signature: str, txn_id: str | None, outcome: str) -> None:
        try:
            await store.notification_outcome(deposits.pool, bank_id, signature, txn_id, outcome)
        except DATABASE_ERRORS:
            log.warning("could not record the outcome of a bank notification (txn %s)", txn_id)


def _payment(raw: bytes) -> Payment:
    body: Any = loads(raw)
    if not isinstance(body, dict):
        raise Rejected(Code.MALFORMED_JSON, "expected a JSON object")

    def text(name: str, max_len: int) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > max_len or not storable_text(value):
            raise Rejected(Code.INVALID_FIELD, f"{name} must be a non-empty string of at most {max_len}", field=name)
        return value.strip()

    txn_id = text("txn_id", 64)
    sub_account = text("sub_account", 32)
    payer_name = text("payer_name", 200)
    text("payer_account", 64)  # kept in the notification record; the refund goes back to it
    received_at = _time(body, "received_at")
    assert received_at is not None
    # What is not money is refused by `check_payment` (INVALID_AMOUNT), whatever its JSON type.
    amount: Any = body.get("amount_fen")
    return Payment(txn_id, sub_account, amount, payer_name, received_at)
