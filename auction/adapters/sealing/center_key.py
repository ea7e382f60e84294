"""The trading center's transparency key: Ed25519, signs tree heads and bid receipts
(docs/protocol.md, "Transparency log"). Its public half is published
(`GET /public/transparency/key`) so anyone can check what it signed.

The private key is a PKCS#8 PEM file (`AUCTION_TRANSPARENCY_KEY`, default
`var/keys/transparency.key`), outside the database and the repository. A server
that finds none makes one (mode 600) and says so: right for the demo and tests;
in production it is made once and kept like the escrow key (README, "Key ceremony").
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auction.adapters.sealing.signatures import KeyFileError, raw_public, read_private_key, write_private_key

log = logging.getLogger(__name__)


class CenterKey:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = raw_public(key)
        # Which key signed: the first 16 hex digits of SHA-256 over the raw public key.
        self.key_id = hashlib.sha256(self.public).hexdigest()[:16]

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @classmethod
    def from_file(cls, path: Path) -> CenterKey:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                write_private_key(path)
                log.warning("transparency key created at %s: keep it (and only it) to sign this center's "
                            "tree heads", path)
            except KeyFileError:
                pass  # another node of the deployment made it first: that one
        return cls(read_private_key(path))
