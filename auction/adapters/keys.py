"""Key files the server uses, and the demo's shortcut through the key ceremony.

Production (README, "Key ceremony"): the escrow key pair is made once with
`auction keys init` on a machine the custodians control; the private key file
and its passphrase never go into the database, its backups or the repository;
the server gets the public key, the private key file on separate storage, and
the passphrase only when the close procedure needs it (environment at start-up
or `POST /api/escrow/unlock`).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace

from auction.adapters.sealing.escrow import ReserveSealer, init_keys
from auction.domain.codes import Rejected
from auction.settings import Settings

log = logging.getLogger(__name__)


class KeySetupError(RuntimeError):
    pass


def demo_keys(settings: Settings) -> Settings:
    """DEMO ONLY: make an escrow key pair with a random passphrase kept beside it.

    That defeats the passphrase's purpose and is acceptable only for demo data.
    """
    passphrase_file = settings.escrow_private_key_file.with_suffix(".demo-passphrase")
    if not settings.escrow_private_key_file.exists():
        passphrase = secrets.token_urlsafe(24)
        init_keys(settings.escrow_private_key_file, settings.escrow_public_key_file, passphrase.encode())
        fd = os.open(passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(passphrase + "\n")
        log.warning("DEMO: escrow key created with its passphrase stored beside it (%s)", passphrase_file)
    if not settings.escrow_passphrase and passphrase_file.exists():
        settings = replace(settings, escrow_passphrase=passphrase_file.read_text().strip())
    return settings


def open_sealer(settings: Settings) -> ReserveSealer:
    """The sealer for this server; unlocked at once if a passphrase was configured."""
    sealer = ReserveSealer.from_files(settings.escrow_public_key_file, settings.escrow_private_key_file)
    if settings.escrow_passphrase:
        try:
            sealer.unlock(settings.escrow_passphrase.encode())
        except Rejected as r:
            raise KeySetupError(f"{r.code.value}: {r.rejection.message}") from None
    else:
        log.warning("escrow key locked: sessions with a reserve are held at the close until "
                    "POST /api/escrow/unlock is given the passphrase")
    return sealer
