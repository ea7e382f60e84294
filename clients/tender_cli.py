"""A tender bid from a terminal: sealed here, sent as an envelope and a commitment.

    python -m clients.tender_cli --server http://127.0.0.1:8000 T-GD-1 --bidder-no 1234 \\
        --price-wan 5600.5 [--proposal 方案.pdf] [--yes]   # the token from AUCTION_BIDDER_TOKEN

A bid is irrevocable and the server cannot read a sealed price: a price below the
tender's starting price (`terms.start_price_fen` of GET /tender/{id}) is refused here,
before anything is sealed or sent (the opening would find it invalid, BELOW_START_PRICE).
The bid is then repeated (万元, 元 and fen, 大写, the proposal file's name and size) and
confirmed with y before it is sealed and sent, as `auction-bidder bid` does for an
auction bid; `--yes` skips the question for scripts.

Prints the receipt and the salt as JSON on stdout, the question on stderr (keep both:
with the price and the proposal they prove the bid). Exit status: 0 submitted, 1 no
connection, 2 bad input (a missing token, not an amount, a price below the starting price,
an unreadable file), 3 refused by the server, 4 not confirmed (nothing sent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
from pathlib import Path
from typing import Any

from clients import bidder_texts as say
from clients.tender import BelowStartPrice, TenderRefused, check_price, fetch_tender, submit_bid

SUBMITTED, NO_CONNECTION, BAD_INPUT, REFUSED, NOT_CONFIRMED = 0, 1, 2, 3, 4


def confirmation(tender_id: str, bidder_no: int, price: int, proposal: Path | None, size: int) -> str:
    """The bid as the bidder page's last step shows it, before it is sealed."""
    file = f"{proposal.name}（{size:,} 字节 / bytes）" if proposal else "无 / none"
    return (f"请确认投标 / Confirm the sealed bid in {tender_id} (投标人编号 / bidder {bidder_no}):\n"
            f"{say.amount_lines(price)}\n"
            f"  投标文件 / file:  {file}\n"
            "  投标一经递交不可撤回、不可修改 / the bid is irrevocable once submitted")


def confirmed() -> bool:
    print("确认密封并提交？输入 y 确认，直接回车取消 / Seal and submit? [y/N] ", end="", flush=True, file=sys.stderr)
    try:
        answer: str | None = input()
    except EOFError:
        answer = None
    if answer is not None and answer.strip().lower() in say.YES:
        return True
    print("\n已取消，投标未发送 / cancelled: no bid was sent", file=sys.stderr)
    if answer is None:  # no input at all: most likely a script
        print("  脚本中不经询问投标请加 --yes / to bid from a script without the question, add --yes", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.tender_cli", description="投标 / submit a sealed tender bid")
    parser.add_argument("tender_id")
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--bidder-no", type=int, required=True)
    parser.add_argument("--price-wan", required=True, help="投标价（万元）/ the price in 万元, exact to the fen")
    parser.add_argument("--proposal", type=Path, help="投标方案文件 / the proposal file")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="不再询问确认（脚本用） / submit without the confirmation question (for scripts)")
    args = parser.parse_args(argv)
    token = os.environ.get("AUCTION_BIDDER_TOKEN", "")
    bad = False
    if not token:
        print("需要投标凭证：请设置环境变量 AUCTION_BIDDER_TOKEN / the bidding token is required: set "
              "AUCTION_BIDDER_TOKEN", file=sys.stderr)
        bad = True
    price = 0
    try:
        price = say.parse_wan(args.price_wan)
    except say.AmountError as e:
        print(f"需要以万元为单位的金额 / an amount in 万元 is required: {e}", file=sys.stderr)
        bad = True
    proposal = b""
    if args.proposal:
        try:
            proposal = args.proposal.read_bytes()
        except OSError as e:
            print(f"无法读取投标文件 / cannot read the proposal file {args.proposal}: {e}", file=sys.stderr)
            bad = True
    if bad:
        return BAD_INPUT
    try:
        view: dict[str, Any] = fetch_tender(args.server, args.tender_id)
        check_price(view, price)
    except BelowStartPrice as e:
        print(f"✘ {e}", file=sys.stderr)
        return BAD_INPUT
    except TenderRefused as e:
        print(f"服务器拒绝 / refused: {e}", file=sys.stderr)
        return REFUSED
    except (OSError, urllib.error.URLError) as e:
        print(f"无法连接服务器 / cannot reach {args.server}: {e}", file=sys.stderr)
        return NO_CONNECTION
    # The question and the bid it asks about go to stderr: stdout holds the receipt's JSON alone.
    print(confirmation(args.tender_id, args.bidder_no, price, args.proposal, len(proposal)), file=sys.stderr)
    if not args.yes and not confirmed():
        return NOT_CONFIRMED
    try:
        done = submit_bid(args.server, args.tender_id, token, bidder_no=args.bidder_no, price_fen=price,
                          proposal=proposal, view=view)  # the price checked above against this view
    except TenderRefused as e:
        print(f"投标被拒绝 / refused: {e}", file=sys.stderr)
        return REFUSED
    except (OSError, urllib.error.URLError) as e:
        print(f"无法连接服务器，投标是否送达未知 / cannot reach {args.server}; whether the bid arrived is unknown "
              f"(GET /tender/{args.tender_id} with the token says): {e}", file=sys.stderr)
        return NO_CONNECTION
    print(json.dumps({"receipt": done.receipt, "salt": done.salt}, ensure_ascii=False, indent=2))
    return SUBMITTED


if __name__ == "__main__":
    sys.exit(main())
