"""Committee members' keys and signatures on the reserve decision (Q26):
`auction committee keygen | public-key | sign` and `auction.adapters.sealing.signatures`.

The member's tool and the server must build the very same bytes; the record
holds the commitment, never the amount or the salt.
"""

from __future__ import annotations

import json
import re
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
CJK = re.compile(r"[\u4e00-\u9fff]")


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


def test_the_member_tools_say_what_is_wrong_in_chinese_first_and_never_echo_the_reserve(tmp_path: Path) -> None:
    """Bad input gets a bilingual message with what to do, and the documented exit code
    (auction/entrypoints/cli/committee.py): 2 the command not given right, 1 a value or key file
    refused (verify-reserve: MISMATCH). No traceback, and no typed reserve repeated."""
    key = tmp_path / "member.key"
    assert cli("committee", "keygen", "--out", str(key)).returncode == 0
    common = ["--key", str(key), "--plan-id", "GD-7", "--salt", SALT, "--decided-at", DECIDED,
              "--members", "m1,m2", "--appraisal-id", "AP-1", "--floor-price-fen-per-m2", "450000"]

    def refused(code: int, *args: str) -> str:
        done = cli(*args)
        assert done.returncode == code, (args, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        message = done.stderr.split("error: ")[-1]  # argparse's usage lines aside
        assert CJK.search(message.split(" / ")[0]) and " / " in message, done.stderr  # Chinese, then English
        return done.stderr

    # not numbers: argparse's "invalid int value" is gone, the way to type it is said
    for bad in ("98765.4321", "1e9", "-5", "0", "９８７"):
        err = refused(2, "committee", "sign", "--amount-fen", bad, *common)
        assert "金额无效" in err and "--amount-wan" in err and "invalid int value" not in err and bad not in err
    for bad in ("1e4", "5600.0123456", "-1", "0", "5,600"):
        err = refused(2, "committee", "sign", "--amount-wan", bad, *common)
        assert "万元" in err and "no exponent" in err and "用 --help 查看用法 / see --help" in err
    err = refused(2, "committee", "sign", "--amount-fen", str(AMOUNT), "--amount-wan", "1", *common)
    assert "只能选一个" in err and str(AMOUNT) not in err
    assert "缺少参数 --out" in refused(2, "committee", "keygen")
    assert "楼面地价" in refused(2, "committee", "sign", "--amount-fen", "1", *common[:-1], "一百")
    # values read but refused, and key files: exit 1
    assert "盐值" in refused(1, "committee", "sign", "--amount-wan", "987.654321", *common[:4], "--salt", "abc",
                            *common[6:])
    assert "+08:00" in refused(1, "committee", "sign", "--amount-fen", "1", *common[:6], "--decided-at",
                               "2026-03-26 08:30", *common[8:])
    assert "无法写入" in refused(1, "committee", "keygen", "--out", str(tmp_path / "no" / "such" / "dir.key"))
    assert "keygen" in refused(1, "committee", "public-key", "--key", str(tmp_path / "missing.key"))

    # --amount-wan signs exactly what --amount-fen does (987.654321 万元 = 987,654,321 fen)
    by_wan = cli("committee", "sign", "--amount-wan", "987.654321", *common)
    by_fen = cli("committee", "sign", "--amount-fen", str(AMOUNT), *common)
    assert by_wan.returncode == by_fen.returncode == 0 and by_wan.stdout == by_fen.stdout

    # verify-reserve: 0 match, 1 mismatch, 2 bad input; an amount in 万元 as well
    commitment = reserve_commitment(AMOUNT, SALT)
    match = cli("verify-reserve", "--amount-wan", "987.654321", "--salt", SALT, "--commitment", commitment)
    assert match.returncode == 0 and "一致" in match.stdout and "match" in match.stdout
    mismatch = cli("verify-reserve", "--amount-fen", str(AMOUNT + 1), "--salt", SALT, "--commitment", commitment)
    assert mismatch.returncode == 1 and "不一致" in mismatch.stdout and "MISMATCH" in mismatch.stdout
    assert "盐值" in refused(2, "verify-reserve", "--amount-fen", "1", "--salt", "盐", "--commitment", commitment)
    assert "承诺值" in refused(2, "verify-reserve", "--amount-fen", "1", "--salt", SALT, "--commitment", "abc")
    assert "金额无效" in refused(2, "verify-reserve", "--amount-fen", "1.5", "--salt", SALT, "--commitment", commitment)
