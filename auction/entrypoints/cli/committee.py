"""`auction committee keygen | public-key | sign` (a committee member's own machine: no
server, no database, no settings) and `auction verify-reserve` (anyone, after the close).

What they say is Chinese first, English second, with what to do. An amount is typed in
fen (`--amount-fen`) or in 万元 (`--amount-wan`, up to 6 decimals, i.e. exact fen; no
exponent). Nothing they print on a refusal repeats the reserve typed (Q26: it is secret
until the close).

Exit codes:

    0  done (verify-reserve: the reserve matches the commitment)
    1  refused: `verify-reserve` MISMATCH; `committee` a value read but refused (a weak
       salt, a time without its offset, no member) or a key file that cannot be written
       or read (which, and what to do, on stderr)
    2  the command was not given right: an option missing, not a number, or two that
       exclude each other; `verify-reserve` a salt or commitment that is not hex
       (on stderr, with `--help`)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from auction.adapters.sealing import signatures
from auction.entrypoints.cli.parser import BAD_INPUT
from auction.domain.bidding.session import reserve_commitment
from auction.domain.money import fen_of_wan_text, is_valid_amount

DONE, REFUSED = 0, 1
FEN_WORDS = "以分为单位的正整数，如 987654321 / a positive whole number of fen, e.g. 987654321"
WAN_WORDS = ("以万元为单位的正数，最多6位小数（精确到分），不用指数写法，如 98765.4321 / a positive amount in 万元, "
             "at most 6 decimals (exact fen), no exponent, e.g. 98765.4321")
TIME_WORDS = ("须为带时区的 ISO 8601 时间，如 2026-12-01T08:30:00+08:00 / ISO 8601 with a UTC offset, "
              "e.g. 2026-12-01T08:30:00+08:00")
SALT_WORDS = ("盐值须为 32 至 128 位小写十六进制数字；由一名委员运行 `auction committee sign --new-salt` 生成后告知其他委员 / "
              "salt: 32 to 128 lowercase hex digits; one member runs `auction committee sign --new-salt` and shares it")


def fen(text: str) -> int:
    """An amount in fen as typed: ASCII digits only (the typed value is never repeated)."""
    t = text.strip()
    if not (t.isascii() and t.isdigit() and len(t) <= 18) or not is_valid_amount(int(t)):
        raise argparse.ArgumentTypeError(f"金额无效，须为{FEN_WORDS}；以万元填写请用 --amount-wan / invalid amount; "
                                         "for 万元 use --amount-wan")
    return int(t)


def wan(text: str) -> int:
    """An amount in 万元 as typed, as exact fen (auction.domain.money.fen_of_wan_text)."""
    amount = fen_of_wan_text(text.strip())
    if amount is None or not is_valid_amount(amount):
        raise argparse.ArgumentTypeError(f"金额无效，须为{WAN_WORDS} / invalid amount")
    return amount


def _whole(chinese: str, english: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        t = text.strip()
        if not (t.isascii() and t.isdigit() and len(t) <= 18) or not is_valid_amount(int(t)):
            raise argparse.ArgumentTypeError(f"{chinese}须为正整数 / {english}: a positive whole number")
        return int(t)

    return convert


def _amount_options(parser: argparse.ArgumentParser, *, no_reserve: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=not no_reserve)
    group.add_argument("--amount-fen", type=fen, help="底价（分） / the reserve in fen")
    group.add_argument("--amount-wan", type=wan, help="底价（万元，最多6位小数） / the reserve in 万元, e.g. 5600.012345")
    if no_reserve:
        group.add_argument("--no-reserve", action="store_true", help="无底价拍卖（Q28） / an auction without a reserve")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`verify-reserve` and `committee keygen|public-key|sign` under `auction`."""
    vr = sub.add_parser("verify-reserve", help="核对揭示的底价与承诺值 / recompute a revealed reserve's commitment "
                                               "(anyone can)", epilog="退出码 / exit codes: 0 一致 match, "
                                               "1 不一致 MISMATCH, 2 参数有误 bad input")
    _amount_options(vr, no_reserve=False)
    vr.add_argument("--salt", required=True, help="揭示的盐值 / the revealed salt (hex)")
    vr.add_argument("--commitment", required=True, help="开始时公布的承诺值 / the commitment published at the open")

    p = sub.add_parser("committee", help="委员会成员的密钥和底价决定签名（Q26） / a committee member's key and "
                                         "signature on a reserve decision (Q26)")
    actions = p.add_subparsers(dest="action", required=True)
    epilog = "退出码 / exit codes: 0 完成 done, 1 拒绝（见提示） refused (see the message), 2 参数有误 bad input"
    keygen = actions.add_parser("keygen", epilog=epilog,
                                help="生成密钥对，打印待登记的公钥 / make your Ed25519 key pair; prints the public key "
                                     "to register")
    keygen.add_argument("--out", type=Path, required=True,
                        help="要创建的私钥文件（PEM，权限600） / private key file to create (PEM, mode 600)")
    public = actions.add_parser("public-key", epilog=epilog,
                                help="打印私钥文件的公钥（十六进制） / print the public key (hex) of a private key file")
    public.add_argument("--key", type=Path, required=True)
    sign = actions.add_parser(
        "sign", epilog=epilog, help="签署底价决定记录，打印签名（十六进制） / sign a reserve decision record; prints "
                                    "the signature (hex)",
        description="每名委员签署同一决定：同一方案、底价（或 --no-reserve）、盐值、决定时间、同样顺序的委员、估价报告和楼面地价。"
                    "先由一名委员运行 `auction committee sign --new-salt` 并把盐值告知其他委员。 / "
                    "Every member signs the same decision: the same plan, amount (or --no-reserve), salt, "
                    "decided-at, members in the same order, appraisal and floor price. One member first "
                    "runs `auction committee sign --new-salt` and shares the salt with the others.",
    )
    sign.add_argument("--new-salt", action="store_true", help="打印新的随机盐值后退出 / print a fresh random salt and exit")
    sign.add_argument("--key", type=Path)
    sign.add_argument("--plan-id")
    _amount_options(sign, no_reserve=True)
    sign.add_argument("--salt", help="全体委员使用的盐值 / the salt all members use (hex; from --new-salt)")
    sign.add_argument("--decided-at", help="决定时间 / ISO 8601 with offset, e.g. 2026-12-01T08:30:00+08:00")
    sign.add_argument("--members", help="参与决定的委员编号，逗号分隔，顺序与提交服务器时相同 / member ids who decide, "
                                        "comma-separated, in the order sent to the server")
    sign.add_argument("--appraisal-id")
    sign.add_argument("--floor-price-fen-per-m2", type=_whole("楼面地价（分/m²）", "floor price, fen per m²"))


def _amount(args: argparse.Namespace) -> int | None:
    amount: int | None = args.amount_fen if args.amount_fen is not None else args.amount_wan
    return amount


def verify_reserve(args: argparse.Namespace) -> int:
    amount = _amount(args)
    assert amount is not None  # the option group is required
    salt, commitment = args.salt.strip().lower(), args.commitment.strip().lower()
    if not signatures.SALT.fullmatch(salt):
        return _say(BAD_INPUT, "verify-reserve", "盐值须为 32 至 128 位十六进制数字（交易结束时与底价一同揭示） / salt: 32 "
                    "to 128 hex digits (revealed with the reserve at the close)")
    if len(commitment) != 64 or not all(c in "0123456789abcdef" for c in commitment):
        return _say(BAD_INPUT, "verify-reserve", "承诺值须为 64 位十六进制数字（开始时公布） / commitment: 64 hex digits "
                    "(published at the open)")
    if reserve_commitment(amount, salt) == commitment:
        print("一致：揭示的底价正是所承诺的底价 / match: the revealed reserve is the one committed to")
        return DONE
    print("不一致 / MISMATCH：揭示的底价或盐值与承诺值不符 / the revealed reserve or salt does not give the commitment")
    return REFUSED


def committee(args: argparse.Namespace) -> int:
    command = f"committee {args.action}"
    try:
        if args.action == "keygen":
            try:
                public = signatures.write_private_key(args.out)
            except signatures.KeyFileError:
                return _say(REFUSED, command, f"私钥文件已存在，未覆盖 / {args.out} exists; not overwritten. "
                            "换一个文件名，或先移走旧文件 / choose another file, or move the old one away")
            except OSError as e:
                return _say(REFUSED, command, f"无法写入私钥文件 / cannot write {args.out} ({e.strerror}). "
                            "请检查目录是否存在、是否可写 / check that the folder exists and is writable")
            print(public)
            print(f"私钥已写入 {args.out}（权限600）：只保存在您自己的设备上，绝不发往服务器。请将上面的公钥交交易中心登记。 / "
                  f"private key written to {args.out} (mode 600): keep it on your own device; it never goes "
                  "to the server. Register the public key above with the trading center.", file=sys.stderr)
            return DONE
        if args.action == "public-key":
            print(signatures.raw_public(signatures.read_private_key(args.key)).hex())
            return DONE
        return _sign(args, command)
    except signatures.KeyFileError as e:
        return _say(REFUSED, command, f"无法读取私钥文件 / {e}. 请使用 `auction committee keygen` 生成的文件 / use the "
                    "file `auction committee keygen` wrote")


def _sign(args: argparse.Namespace, command: str) -> int:
    if args.new_salt:
        print(signatures.new_salt())
        return DONE
    amount = _amount(args)
    missing = [f"--{name.replace('_', '-')}" for name in
               ("key", "plan_id", "salt", "decided_at", "members", "appraisal_id", "floor_price_fen_per_m2")
               if getattr(args, name) is None and not (name == "salt" and args.no_reserve)]
    if amount is None and not args.no_reserve:
        missing.append("--amount-fen, --amount-wan or --no-reserve")
    if missing:
        return _say(BAD_INPUT, command, f"缺少参数 / missing {', '.join(missing)}. 用 --help 查看用法 / see --help")
    members = tuple(m.strip() for m in args.members.split(",") if m.strip())
    if not members:
        return _say(REFUSED, command, "--members：至少一名委员编号，逗号分隔 / at least one member id, comma-separated")
    try:
        decided_at = signatures.parse_time(args.decided_at)
    except ValueError:
        return _say(REFUSED, command, f"--decided-at {TIME_WORDS}")
    try:
        record = signatures.decision_bytes(
            args.plan_id, amount=None if args.no_reserve else amount, salt=None if args.no_reserve else args.salt,
            decided_at=decided_at, members=members, appraisal_id=args.appraisal_id,
            floor_price_fen_per_m2=args.floor_price_fen_per_m2,
        )
    except ValueError:  # the salt (its words never carry the amount)
        return _say(REFUSED, command, SALT_WORDS)
    print(signatures.sign(signatures.read_private_key(args.key), record).hex())
    return DONE


def _say(code: int, command: str, message: str) -> int:
    print(f"auction {command}: {message}", file=sys.stderr)
    return code
