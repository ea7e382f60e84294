"""Committee members' keys and signatures on the reserve decision (Q26):
`auction committee keygen | public-key | sign` and `auction.adapters.sealing.signatures`.

The member's tool and the server must build the very same bytes; the record
holds the commitment, never the amount or the salt.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from auction.adapters.sealing import signatures
from auction.domain.plan.plan_commands import DecideReserve
from auction.domain.plan.plan_terms import PlanRules
from auction.domain.plan.plans import decision_record
from auction.domain.bidding.session import reserve_commitment
from auction.domain.bidding.terms import DAY, HOUR, SECOND
from auction.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SALT = "00112233445566778899aabbccddeeff"
DECIDED = "2026-03-26T08:30:00+08:00"
DECIDED_US = 1_774_485_000 * SECOND
AMOUNT = 987_654_321


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auction.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_the_record_is_the_plan_engines_decision_record() -> None:
    record = signatures.decision_bytes("GD-7", amount=AMOUNT, salt=SALT, decided_at=DECIDED_US,
                                       members=("m2", "m1"), appraisal_id="AP-1", floor_price_fen_per_m2=450_000)
    by_hand = DecideReserve(by="anyone", amount=AMOUNT, commitment=reserve_commitment(AMOUNT, SALT),
                            decided_at=DECIDED_US, members=("m2", "m1"), appraisal_id="AP-1",
                            floor_price_fen_per_m2=450_000, signatures_ok=True)
    assert record == decision_record("GD-7", by_hand)
    assert json.loads(record) == {
        "plan_id": "GD-7", "decided_at": DECIDED_US, "members": ["m2", "m1"], "has_reserve": True,
        "commitment": reserve_commitment(AMOUNT, SALT), "appraisal_id": "AP-1", "floor_price_fen_per_m2": 450_000,
    }
    assert str(AMOUNT).encode() not in record and SALT.encode() not in record
    assert signatures.parse_time(DECIDED) == DECIDED_US
    with pytest.raises(ValueError):
        signatures.parse_time("2026-03-26T08:30:00")  # no offset: refused, never guessed


def test_no_reserve_has_no_commitment() -> None:
    record = json.loads(signatures.decision_bytes("GD-7", amount=None, salt=None, decided_at=DECIDED_US,
                                                  members=("m1", "m2"), appraisal_id="AP-1",
                                                  floor_price_fen_per_m2=450_000))
    assert (record["has_reserve"], record["commitment"]) == (False, None)


@pytest.mark.parametrize("salt", [None, "abc", "00112233445566778899AABBCCDDEEFF", "0" * 30, "0" * 130])
def test_a_weak_or_malformed_salt_is_refused(salt: str | None) -> None:
    with pytest.raises(ValueError):
        signatures.decision_bytes("GD-7", amount=AMOUNT, salt=salt, decided_at=DECIDED_US, members=("m1",),
                                  appraisal_id="AP-1", floor_price_fen_per_m2=1)


def test_keygen_sign_and_verify_with_the_command_line(tmp_path: Path) -> None:
    key = tmp_path / "member.key"
    made = cli("committee", "keygen", "--out", str(key))
    assert made.returncode == 0, made.stderr
    public_hex = made.stdout.strip()
    assert len(bytes.fromhex(public_hex)) == 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and b"PRIVATE KEY" in key.read_bytes()
    assert cli("committee", "public-key", "--key", str(key)).stdout.strip() == public_hex
    again = cli("committee", "keygen", "--out", str(key))
    assert again.returncode == 1 and "not overwritten" in again.stderr

    salt = cli("committee", "sign", "--new-salt").stdout.strip()
    assert signatures.SALT.fullmatch(salt)
    common = ["--key", str(key), "--plan-id", "GD-7", "--salt", salt, "--decided-at", DECIDED,
              "--members", "m1,m2,m3", "--appraisal-id", "AP-1", "--floor-price-fen-per-m2", "450000"]
    signed = cli("committee", "sign", "--amount-fen", str(AMOUNT), *common)
    assert signed.returncode == 0, signed.stderr
    record = signatures.decision_bytes("GD-7", amount=AMOUNT, salt=salt, decided_at=DECIDED_US,
                                       members=("m1", "m2", "m3"), appraisal_id="AP-1", floor_price_fen_per_m2=450_000)
    signature = bytes.fromhex(signed.stdout.strip())
    assert signatures.verify(bytes.fromhex(public_hex), signature, record)
    # Not for another amount, another member order, or with another key.
    other = signatures.decision_bytes("GD-7", amount=AMOUNT + 1, salt=salt, decided_at=DECIDED_US,
                                      members=("m1", "m2", "m3"), appraisal_id="AP-1", floor_price_fen_per_m2=450_000)
    reordered = signatures.decision_bytes("GD-7", amount=AMOUNT, salt=salt, decided_at=DECIDED_US,
                                          members=("m2", "m1", "m3"), appraisal_id="AP-1",
                                          floor_price_fen_per_m2=450_000)
    assert not signatures.verify(bytes.fromhex(public_hex), signature, other)
    assert not signatures.verify(bytes.fromhex(public_hex), signature, reordered)
    stranger = signatures.write_private_key(tmp_path / "stranger.key")
    assert not signatures.verify(bytes.fromhex(stranger), signature, record)
    assert not signatures.verify(bytes.fromhex(public_hex), signature[:-1], record)

    no_reserve = cli("committee", "sign", "--no-reserve", *[a for a in common if a not in ("--salt", salt)])
    assert no_reserve.returncode == 0, no_reserve.stderr
    unreserved = signatures.decision_bytes("GD-7", amount=None, salt=None, decided_at=DECIDED_US,
                                           members=("m1", "m2", "m3"), appraisal_id="AP-1",
                                           floor_price_fen_per_m2=450_000)
    assert signatures.verify(bytes.fromhex(public_hex), bytes.fromhex(no_reserve.stdout.strip()), unreserved)

    missing = cli("committee", "sign", "--key", str(key), "--plan-id", "GD-7")
    assert missing.returncode == 2 and "--salt" in missing.stderr and "--amount-fen" in missing.stderr
    weak = cli("committee", "sign", "--amount-fen", str(AMOUNT), *common[:4], "--salt", "abc", *common[6:])
    assert weak.returncode == 1 and "salt" in weak.stderr and str(AMOUNT) not in weak.stderr


def test_plan_rules_come_from_the_environment() -> None:
    assert Settings.from_env({}).plan_rules == PlanRules()
    rules = Settings.from_env({
        "AUCTION_ANNOUNCEMENT_MIN_SECONDS": "20", "AUCTION_RESERVE_WINDOW_SECONDS": "60",
        "AUCTION_REGISTRATION_LEAD_SECONDS": "0", "AUCTION_MIN_LISTING_SECONDS": "5",
        "AUCTION_RESERVE_MIN_MEMBERS": "3",
    }).plan_rules
    assert (rules.min_announcement_period, rules.reserve_window, rules.registration_lead) == (
        20 * SECOND, 60 * SECOND, 0)
    assert (rules.min_listing_period, rules.reserve_min_members) == (5 * SECOND, 3)
    assert PlanRules().min_announcement_period == 20 * DAY and PlanRules().reserve_window == HOUR
