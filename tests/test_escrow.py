"""The escrowed reserve (RULES 2.4, Q26): X25519 + HKDF + AES-GCM to the escrow key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from auction.adapters.sealing.escrow import EscrowKeyError, ReserveSealer, init_keys
from auction.domain.codes import Code, Rejected
from auction.domain.bidding.session import reserve_commitment

PASS = b"correct horse battery staple"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "escrow.key", tmp_path / "escrow.pub"
    init_keys(private, public, PASS)
    return private, public


def test_the_private_key_file_is_encrypted_and_private(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert len(bytes.fromhex(public.read_text().strip())) == 32


def test_seal_with_the_public_key_unseal_only_after_unlock(keys: tuple[Path, Path]) -> None:
    private, public = keys
    sealer = ReserveSealer.from_files(public, private)
    sealed = sealer.seal("S-1", 987_654_321, salt="ab" * 16)
    assert sealed.commitment == reserve_commitment(987_654_321, "ab" * 16)
    assert b"987654321" not in sealed.ciphertext
    assert sealer.unseal("S-1", sealed.key_id, sealed.nonce, sealed.ciphertext) is None  # locked
    sealer.unlock(PASS)
    revealed = sealer.unseal("S-1", sealed.key_id, sealed.nonce, sealed.ciphertext)
    assert revealed is not None and (revealed.amount, revealed.salt) == (987_654_321, "ab" * 16)


def test_a_wrong_passphrase_is_refused_with_its_code(keys: tuple[Path, Path]) -> None:
    private, public = keys
    sealer = ReserveSealer.from_files(public, private)
    with pytest.raises(Rejected) as e:
        sealer.unlock(b"not the passphrase")
    assert e.value.code is Code.ESCROW_PASSPHRASE_WRONG
    assert not sealer.unlocked


def test_tampering_or_moving_the_envelope_is_detected() -> None:
    sealer = ReserveSealer.generate()
    sealed = sealer.seal("S-1", 5_000_000)
    flipped = bytearray(sealed.ciphertext)
    flipped[-1] ^= 1
    assert sealer.unseal("S-1", sealed.key_id, sealed.nonce, bytes(flipped)) is None
    assert sealer.unseal("S-2", sealed.key_id, sealed.nonce, sealed.ciphertext) is None  # bound to its session
    assert sealer.unseal("S-1", "0" * 16, sealed.nonce, sealed.ciphertext) is None  # another key


def test_each_seal_uses_a_fresh_salt_and_ephemeral_key() -> None:
    sealer = ReserveSealer.generate()
    a, b = sealer.seal("S-1", 5_000_000), sealer.seal("S-1", 5_000_000)
    assert a.commitment != b.commitment and a.ciphertext[:32] != b.ciphertext[:32]


def test_init_refuses_to_overwrite_and_short_passphrases(keys: tuple[Path, Path], tmp_path: Path) -> None:
    private, public = keys
    with pytest.raises(EscrowKeyError):
        init_keys(private, public, PASS)
    with pytest.raises(EscrowKeyError):
        init_keys(tmp_path / "k2", tmp_path / "p2", b"short")
