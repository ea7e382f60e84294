"""The sealed reserve price (RULES 2.3-2.4, Q26): encrypted under a key kept
outside the database, with a public commitment (SHA-256 over value and salt).

This is the seam issue 3 widens (X25519 escrow, committee signatures): the
database and every message before the close see only ciphertext and the
commitment; the plain value exists in memory only inside `seal` and during
the close procedure.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auction.domain.commands import RevealedReserve
from auction.domain.session import reserve_commitment


@dataclass(frozen=True)
class Sealed:
    commitment: str
    key_id: str
    nonce: bytes
    ciphertext: bytes


class ReserveKeyError(RuntimeError):
    pass


class ReserveSealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ReserveKeyError("the reserve key must be 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"reserve-key-id:" + key).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> ReserveSealer:
        if not path.exists():
            if not create:
                raise ReserveKeyError(f"reserve key file {path} not found (create one with `auction keys init`)")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        text = path.read_text().strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise ReserveKeyError(f"reserve key file {path} is not 64 hex digits") from None
        return cls(key)

    def seal(self, session_id: str, amount: int) -> Sealed:
        salt = secrets.token_hex(16)
        nonce = secrets.token_bytes(12)
        plain = json.dumps({"amount": amount, "salt": salt}).encode()
        ciphertext = self._aead.encrypt(nonce, plain, session_id.encode())
        return Sealed(reserve_commitment(amount, salt), self.key_id, nonce, ciphertext)

    def unseal(self, session_id: str, key_id: str, nonce: bytes, ciphertext: bytes) -> RevealedReserve | None:
        """The reserve, or None if it cannot be opened (wrong key, tampered ciphertext)."""
        if key_id != self.key_id:
            return None
        try:
            data = json.loads(self._aead.decrypt(nonce, ciphertext, session_id.encode()))
        except (InvalidTag, ValueError):
            return None
        return RevealedReserve(amount=int(data["amount"]), salt=str(data["salt"]))
