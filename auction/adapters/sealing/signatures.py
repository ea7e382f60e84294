"""Committee members' Ed25519 signatures on the reserve decision record (Q26).

Each member makes a key pair on their own machine (`auction committee keygen`),
registers the public key with the trading center, and signs the decision
record with `auction committee sign`. The server only verifies: a member's
private key never reaches it.

`decision_bytes` is the one place the signed bytes are built, for the server
and the member's tool alike: it turns what people type (ISO time, amount in
fen or none, salt, members in order) into the plan engine's `DecideReserve`
and returns `plans.decision_record` of it. The record holds the commitment,
never the amount or the salt.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import TypedDict, Unpack

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auction.domain.plan.plan_commands import DecideReserve
from auction.domain.plan.plans import decision_record
from auction.domain.bidding.session import reserve_commitment
from auction.store.events import to_micros

# 16 to 64 random bytes, lowercase hex. A short salt would let anyone who sees
# the commitment before the close try every plausible amount.
SALT = re.compile(r"[0-9a-f]{32,128}")
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class KeyFileError(RuntimeError):
    pass


def new_salt() -> str:
    """A fresh salt for one decision: 16 random bytes as 32 hex digits."""
    return secrets.token_hex(16)


def parse_time(text: str) -> int:
    """ISO 8601 with a UTC offset -> µs UTC (as the operator API reads times)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("the time needs a UTC offset, e.g. +08:00")
    return to_micros(parsed)


class Record(TypedDict):
    """What a reserve decision records besides the reserve itself: when, who, on what basis."""

    decided_at: int  # µs UTC
    members: tuple[str, ...]  # in the order they sign
    appraisal_id: str
    floor_price_fen_per_m2: int


class Decision(Record):
    """A reserve decision as people give it (`reserve_command`, `decision_bytes`)."""

    amount: int | None  # fen; None: an auction without a reserve (Q28)
    salt: str | None  # `SALT`; None without a reserve


def reserve_command(*, by: str, signatures_ok: bool, **decision: Unpack[Decision]) -> DecideReserve:
    """The engine's command for a decision. The commitment is SHA-256 over amount and salt."""
    amount, salt = decision["amount"], decision["salt"]
    if amount is not None and (salt is None or not SALT.fullmatch(salt)):
        raise ValueError("salt: 32 to 128 lowercase hex digits")
    commitment = reserve_commitment(amount, salt) if amount is not None and salt is not None else None
    return _command(by, amount, commitment, signatures_ok, decision)


def decision_bytes(plan_id: str, **decision: Unpack[Decision]) -> bytes:
    """What every member signs: `plans.decision_record` of the decision's `DecideReserve`."""
    return decision_record(plan_id, reserve_command(by="", signatures_ok=False, **decision))


def sealed_decision_bytes(plan_id: str, *, commitment: str | None, **record: Unpack[Record]) -> bytes:
    """The same bytes as `decision_bytes`, from the commitment alone: for a reserve sealed in
    the member's browser (the console), where the server never sees the amount or the salt.
    `commitment` None: an auction without a reserve (Q28)."""
    # `decision_record` reads the amount only as "is there a reserve": the commitment says so.
    return decision_record(plan_id, _command("", 0 if commitment is not None else None, commitment, False, record))


def _command(by: str, amount: int | None, commitment: str | None, signatures_ok: bool,
             record: Record) -> DecideReserve:
    return DecideReserve(
        by=by,
        amount=amount,
        commitment=commitment,
        decided_at=record["decided_at"],
        members=record["members"],
        appraisal_id=record["appraisal_id"],
        floor_price_fen_per_m2=record["floor_price_fen_per_m2"],
        signatures_ok=signatures_ok,
    )


def public_key(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """Does `signature` by the holder of `public_raw` cover exactly `message`?"""
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        public_key(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


# key files (the member's machine, never the server)


def write_private_key(path: Path) -> str:
    """A new member key pair: the private key as PKCS#8 PEM in `path` (mode 600, never
    overwritten). Returns the public key in hex, to register with the trading center."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; not overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return raw_public(key).hex()


def read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(f"{path}: not a readable unencrypted PEM private key ({type(e).__name__})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return key
