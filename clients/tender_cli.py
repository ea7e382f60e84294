"""A tender bid from a terminal: sealed here, sent as an envelope and a commitment.

    python -m clients.tender_cli --server http://127.0.0.1:8000 T-GD-1 --bidder-no 1234 \\
        --price-wan 5600.5 [--proposal 方案.pdf]        # the token from AUCTION_BIDDER_TOKEN

Prints the receipt and the salt (keep both: with the price and the proposal they prove
the bid). Exit status: 0 submitted, 2 bad input, 3 refused by the server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from auction.domain.money import fen_of_wan_text
from clients.tender import TenderRefused, submit_bid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.tender_cli", description="投标 / submit a sealed tender bid")
    parser.add_argument("tender_id")
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--bidder-no", type=int, required=True)
    parser.add_argument("--price-wan", required=True, help="投标价（万元）/ the price in 万元, exact to the fen")
    parser.add_argument("--proposal", type=Path, help="投标方案文件 / the proposal file")
    args = parser.parse_args(argv)
    token = os.environ.get("AUCTION_BIDDER_TOKEN", "")
    price = fen_of_wan_text(args.price_wan)
    if not token or price is None:
        print("需要 AUCTION_BIDDER_TOKEN 和万元金额 / AUCTION_BIDDER_TOKEN and an amount in 万元 are required",
              file=sys.stderr)
        return 2
    proposal = args.proposal.read_bytes() if args.proposal else b""
    try:
        done = submit_bid(args.server, args.tender_id, token, bidder_no=args.bidder_no, price_fen=price,
                          proposal=proposal)
    except TenderRefused as e:
        print(f"投标被拒绝 / refused: {e}", file=sys.stderr)
        return 3
    print(json.dumps({"receipt": done.receipt, "salt": done.salt}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
