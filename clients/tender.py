"""A bidder's tender client (RULES 6.2): seal the bid here, send only the envelope and its
commitment, keep the receipt and the salt.

    terms = fetch_tender("http://127.0.0.1:8000", "T-GD-1")
    receipt = submit_bid("http://127.0.0.1:8000", "T-GD-1", token, price_fen=12_000_000_000,
                         proposal=Path("方案.pdf").read_bytes())

The price and the proposal never leave this process in the clear: they are sealed
to the trading center's escrow public key (the reserve's scheme,
auction/adapters/sealing/tender_bids.py) and opened only at the opening. The
command line is `python -m clients.tender_cli`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from auction.adapters.sealing.tender_bids import seal_bid
from auction.domain.money import format_wan


class TenderRefused(Exception):
    """The server refused (its `{"error": {...}}` body), or answered with something else."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        self.status = status
        self.error = error
        super().__init__(f"{error.get('code')}: {error.get('message')}")


class BelowStartPrice(ValueError):
    """A price below the tender's starting price (`terms.start_price_fen`): refused here, before
    anything is sealed or sent. The server cannot read a sealed price, so it would take such a bid
    and the opening would find it invalid (BELOW_START_PRICE), and a submitted bid is irrevocable."""

    def __init__(self, price_fen: int, start_price_fen: int) -> None:
        self.price_fen = price_fen
        self.start_price_fen = start_price_fen
        super().__init__(f"投标价格 {format_wan(price_fen)} 低于起始价 {format_wan(start_price_fen)}，开标时将为无效投标"
                         f"（BELOW_START_PRICE）；未发送 / the price {format_wan(price_fen)} is below the starting price "
                         f"{format_wan(start_price_fen)}: the opening would find it invalid (BELOW_START_PRICE); "
                         "nothing was sent")


def _call(request: urllib.request.Request, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body: dict[str, Any] = json.loads(answer.read())
            return body
    except urllib.error.HTTPError as e:
        try:
            error = json.loads(e.read()).get("error", {})
        except ValueError:
            error = {"code": "HTTP_ERROR", "message": str(e)}
        raise TenderRefused(e.code, error) from None


def fetch_tender(base_url: str, tender_id: str, timeout: float = 30) -> dict[str, Any]:
    """The tender's published terms, the escrow public key, and (later) the opening and result."""
    return _call(urllib.request.Request(f"{base_url.rstrip('/')}/tender/{tender_id}"), timeout)


@dataclass(frozen=True)
class Submitted:
    receipt: dict[str, Any]  # the server's receipt: tender, bidder number, commitment, received_at
    salt: str  # keep it: with the price and proposal it recomputes the commitment

    def __repr__(self) -> str:
        return f"Submitted(receipt={self.receipt!r})"


def check_price(view: dict[str, Any], price_fen: int) -> None:
    """BelowStartPrice unless `price_fen` is at least the starting price of the tender `view`
    (GET /tender/{id})."""
    start: int = view["terms"]["start_price_fen"]
    if price_fen < start:
        raise BelowStartPrice(price_fen, start)


def submit_bid(base_url: str, tender_id: str, token: str, *, bidder_no: int, price_fen: int,
               proposal: bytes = b"", timeout: float = 30, view: dict[str, Any] | None = None) -> Submitted:
    """Seal and submit one bid (irrevocable: a second is refused, TENDER_BID_ALREADY_SUBMITTED).
    A price below the starting price raises BelowStartPrice and nothing is sent. `view`: the
    tender as `fetch_tender` just gave it (else it is fetched here)."""
    if view is None:
        view = fetch_tender(base_url, tender_id, timeout)
    check_price(view, price_fen)
    key = view["escrow_public_key_hex"]
    sealed = seal_bid(key, tender_id, bidder_no, price_fen, proposal)
    body = json.dumps({"commitment": sealed.commitment, "envelope": {
        "key_id": sealed.envelope.key_id, "nonce": sealed.envelope.nonce, "ciphertext": sealed.envelope.ciphertext,
    }}).encode()
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/tender/{tender_id}/bid", data=body, method="POST",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    receipt = _call(request, timeout)
    if receipt.get("commitment") != sealed.commitment:
        raise TenderRefused(200, {"code": "RECEIPT_MISMATCH", "message": "the receipt names another commitment"})
    return Submitted(receipt, sealed.salt)
