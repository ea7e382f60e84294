"""The sealed reserve price (RULES 2.3-2.4, Q26): encrypted to the trading
center's escrow public key, with a public commitment (SHA-256 over value and salt).

Scheme: an ephemeral X25519 key agrees a secret with the escrow key; HKDF-SHA256
(info bound to the session) derives an AES-256-GCM key; the session id is the
associated data, so a ciphertext cannot be moved to another session. The
database stores only the envelope (ephemeral public key, nonce, ciphertext).

The escrow private key lives in a passphrase-protected PKCS#8 file outside the
database (`auction keys init`). The server can seal with the public key alone;
it can unseal only once the key is unlocked with the passphrase, and only the
close procedure asks it to.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from auction.domain.codes import Code, Rejected
from auction.domain.bidding.commands import RevealedReserve
from auction.domain.bidding.session import reserve_commitment

INFO = b"land-auction reserve v1|"


@dataclass(frozen=True)
class Sealed:
    commitment: str
    key_id: str
    nonce: bytes
    ciphertext: bytes  # ephemeral public key (32 bytes) || AES-GCM ciphertext


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: X25519PublicKey) -> str:
    return hashlib.sha256(b"escrow-key-id:" + _raw(public)).hexdigest()[:16]


def _derive(shared: bytes, info: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)
    return AESGCM(key)


def seal_to(public: X25519PublicKey, info: bytes, aad: bytes, plain: bytes) -> tuple[bytes, bytes]:
    """`plain` sealed to the escrow key: (nonce, ephemeral public key || AES-GCM ciphertext).
    `info` binds the derived key to its purpose, `aad` the ciphertext to its place. Also what
    a bidder's client runs (clients/tender.py): it needs the public key alone."""
    ephemeral = X25519PrivateKey.generate()
    aead = _derive(ephemeral.exchange(public), info)
    nonce = secrets.token_bytes(12)
    return nonce, _raw(ephemeral.public_key()) + aead.encrypt(nonce, plain, aad)


def _open(private: X25519PrivateKey, info: bytes, aad: bytes, nonce: bytes, ciphertext: bytes) -> bytes | None:
    if len(ciphertext) < 32 + 16:
        return None
    try:
        peer = X25519PublicKey.from_public_bytes(ciphertext[:32])
        return _derive(private.exchange(peer), info).decrypt(nonce, ciphertext[32:], aad)
    except (InvalidTag, ValueError):
        return None


class EscrowKeyError(RuntimeError):
    pass


def init_keys(private_path: Path, public_path: Path, passphrase: bytes) -> str:
    """The key ceremony's first step: a new escrow key pair. Returns the key id."""
    if len(passphrase) < 12:
        raise EscrowKeyError("the escrow passphrase must be at least 12 characters")
    if private_path.exists() or public_path.exists():
        raise EscrowKeyError(f"{private_path} or {public_path} exists; not overwritten")
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_text(_raw(key.public_key()).hex() + "\n")
    return key_id_of(key.public_key())


class ReserveSealer:
    """Seals with the escrow public key; unseals once `unlock` was given the passphrase."""

    def __init__(self, public: X25519PublicKey, private_path: Path | None = None) -> None:
        self.public = public
        self.key_id = key_id_of(public)
        self.private_path = private_path
        self._private: X25519PrivateKey | None = None

    @classmethod
    def from_files(cls, public_path: Path, private_path: Path | None) -> ReserveSealer:
        try:
            raw = bytes.fromhex(public_path.read_text().strip())
            public = X25519PublicKey.from_public_bytes(raw)
        except (OSError, ValueError) as e:
            raise EscrowKeyError(f"escrow public key {public_path} unreadable ({e}); run `auction keys init`") from None
        return cls(public, private_path)

    @classmethod
    def generate(cls) -> ReserveSealer:
        """An unlocked sealer with a fresh in-memory key pair (tests and tools)."""
        key = X25519PrivateKey.generate()
        sealer = cls(key.public_key())
        sealer._private = key
        return sealer

    @property
    def public_hex(self) -> str:
        """The escrow public key as clients seal to it (clients/tender.py)."""
        return _raw(self.public).hex()

    @property
    def unlocked(self) -> bool:
        return self._private is not None

    def unlock(self, passphrase: bytes) -> None:
        """Load the escrow private key. A wrong passphrase is `ESCROW_PASSPHRASE_WRONG`."""
        if self.private_path is None:
            raise Rejected(Code.ESCROW_KEY_UNAVAILABLE, "no escrow private key file configured")
        try:
            pem = self.private_path.read_bytes()
        except OSError:
            raise Rejected(Code.ESCROW_KEY_UNAVAILABLE, str(self.private_path)) from None
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except (ValueError, TypeError):
            raise Rejected(Code.ESCROW_PASSPHRASE_WRONG) from None
        if not isinstance(key, X25519PrivateKey) or key_id_of(key.public_key()) != self.key_id:
            raise Rejected(Code.ESCROW_KEY_UNAVAILABLE, "the private key does not match the public key")
        self._private = key

    def seal(self, session_id: str, amount: int, salt: str | None = None) -> Sealed:
        salt = salt if salt is not None else secrets.token_hex(16)
        plain = json.dumps({"amount": amount, "salt": salt}).encode()
        nonce, ciphertext = seal_to(self.public, INFO + session_id.encode(), session_id.encode(), plain)
        return Sealed(reserve_commitment(amount, salt), self.key_id, nonce, ciphertext)

    def unseal(self, session_id: str, key_id: str, nonce: bytes, ciphertext: bytes) -> RevealedReserve | None:
        """The reserve, or None if it cannot be opened (key locked or different, tampered envelope)."""
        plain = self.open_envelope(INFO + session_id.encode(), session_id.encode(), key_id, nonce, ciphertext)
        try:
            data = json.loads(plain) if plain is not None else None
            return None if data is None else RevealedReserve(amount=int(data["amount"]), salt=str(data["salt"]))
        except (ValueError, KeyError, TypeError):
            return None

    def open_envelope(self, info: bytes, aad: bytes, key_id: str, nonce: bytes, ciphertext: bytes) -> bytes | None:
        """What `seal_to` sealed, or None (key locked or different, tampered envelope)."""
        if self._private is None or key_id != self.key_id:
            return None
        return _open(self._private, info, aad, nonce, ciphertext)
