"""Sealed tender bids (RULES 6.2): sealed to the escrow key with the reserve's scheme
(`escrow.seal_to`), bound to the tender and the bidder, opened together at the opening.

The bidder's client seals (`seal_bid`, clients/tender.py) before anything leaves it:
the price, the proposal file and a fresh salt go into the envelope; only the
envelope and the commitment (`tender.bid_commitment`) are sent. The server opens
the envelopes only at the opening (`open_bid`), with the escrow key unlocked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from auction.adapters.sealing.escrow import ReserveSealer, Sealed, key_id_of, seal_to
from auction.domain.tender.commands import Envelope, RevealedBid
from auction.domain.tender.events import SealedBidReceived
from auction.domain.tender.tender import bid_commitment

INFO = b"land-auction tender bid v1|"


def _place(tender_id: str, bidder_no: int) -> bytes:
    return f"{tender_id}|{bidder_no}".encode()


@dataclass(frozen=True)
class SealedBid:
    commitment: str
    envelope: Envelope
    salt: str  # the bidder keeps it (with its receipt); the envelope holds it too

    def __repr__(self) -> str:  # never the salt, whoever logs this
        return f"SealedBid(commitment={self.commitment!r})"


def seal_bid(public_key_hex: str, tender_id: str, bidder_no: int, price: int, proposal: bytes = b"") -> SealedBid:
    """A bid sealed to the escrow public key (hex, as `GET /tender/{id}` gives it)."""
    public = X25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    salt = secrets.token_hex(16)
    digest = hashlib.sha256(proposal).hexdigest()
    plain = json.dumps({"price": price, "salt": salt, "proposal_sha256": digest,
                        "proposal": base64.b64encode(proposal).decode("ascii")}).encode()
    place = _place(tender_id, bidder_no)
    nonce, ciphertext = seal_to(public, INFO + place, place, plain)
    envelope = Envelope(key_id=key_id_of(public), nonce=nonce.hex(), ciphertext=ciphertext.hex())
    return SealedBid(bid_commitment(tender_id, bidder_no, price, digest, salt), envelope, salt)


def _payload(sealer: ReserveSealer, tender_id: str, bidder_no: int, envelope: Envelope) -> dict[str, object] | None:
    place = _place(tender_id, bidder_no)
    try:
        plain = sealer.open_envelope(INFO + place, place, envelope.key_id, bytes.fromhex(envelope.nonce),
                                     bytes.fromhex(envelope.ciphertext))
        data = json.loads(plain) if plain is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def open_bid(sealer: ReserveSealer, tender_id: str, sealed: SealedBidReceived) -> RevealedBid:
    """What the envelope holds (the engine checks it against the commitment); an envelope
    that does not open, or holds something else, is revealed as unreadable (all None)."""
    data = _payload(sealer, tender_id, sealed.bidder_no, sealed.envelope)
    price, salt, digest = (None, None, None) if data is None else (
        data.get("price"), data.get("salt"), data.get("proposal_sha256"))
    if type(price) is not int or not isinstance(salt, str) or not isinstance(digest, str):
        return RevealedBid(sealed.bidder_no, None, None, None)
    return RevealedBid(sealed.bidder_no, price, salt, digest)


def proposal_of(sealer: ReserveSealer, tender_id: str, sealed: SealedBidReceived) -> bytes | None:
    """The proposal file in a bid's envelope (for the panel, after the opening)."""
    data = _payload(sealer, tender_id, sealed.bidder_no, sealed.envelope)
    try:
        return None if data is None else base64.b64decode(str(data.get("proposal", "")), validate=True)
    except ValueError:
        return None


def envelope_of(sealed: Sealed) -> Envelope:
    """A sealed reserve (`ReserveSealer.seal`) as the tender log keeps it."""
    return Envelope(key_id=sealed.key_id, nonce=sealed.nonce.hex(), ciphertext=sealed.ciphertext.hex())
