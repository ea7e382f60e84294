"""`auction-bidder`: watch a session or bid in it from a terminal.

    auction-bidder --url ws://127.0.0.1:8000/ws watch SESSION
    auction-bidder --url ws://127.0.0.1:8000/ws bid SESSION --token T --amount-wan 8050
    AUCTION_BIDDER_TOKEN=T auction-bidder --url ws://127.0.0.1:8000/ws bid SESSION   # interactive

Interactive: type an amount in 万元 (e.g. 8050.5), or `+` for the minimum next
bid; Enter confirms. Amounts are converted to fen exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from websockets.exceptions import WebSocketException

from clients.bidder import BidderClient, ProtocolError

CST = timezone(timedelta(hours=8), "CST")
FEN_PER_WAN = 1_000_000


def wan(fen: int | None) -> str:
    if fen is None:
        return "—"
    whole, rest = divmod(fen, FEN_PER_WAN)
    return f"{whole}.{rest:06d}".rstrip("0").rstrip(".") + " 万元"


def parse_wan(text: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    fen = value * FEN_PER_WAN
    if fen != fen.to_integral_value():
        raise ValueError("more precision than 1 fen (6 decimals of 万元)")
    return int(fen)


def cst(us: int | None) -> str:
    if us is None:
        return "—"
    return datetime.fromtimestamp(us / 1e6, UTC).astimezone(CST).strftime("%Y-%m-%d %H:%M:%S CST")


def describe(state: dict[str, Any], client: BidderClient) -> str:
    left = ""
    if state.get("deadline_us"):
        secs = max(0, (state["deadline_us"] - client.server_now_us()) // 1_000_000)
        left = f"  剩余 {secs // 60}:{secs % 60:02d}"
    text = (f"[{state['phase']}] 当前最高价 {wan(state.get('highest_fen'))} (竞买号 {state.get('highest_bidder_no') or '—'})"
            f"  最低可报 {wan(state.get('min_next_fen'))}  截止 {cst(state.get('deadline_us'))}{left}")
    if "outcome" in state:
        o = state["outcome"]
        text += f"\n  结果 {o['outcome']} ({o['reason']}) 竞得人竞买号 {o['winner_bidder_no']} 成交价 {wan(o['price_fen'])}"
    return text


async def watch(client: BidderClient) -> None:
    async for message in client.events():
        if message["type"] == "event":
            print(f"#{message['seq']} {message['event']} @ {cst(message['at_us'])}")
            print("  " + describe(message["state"], client))
        else:
            print(f"! {message.get('code')}: {message.get('message')}")


async def interactive(client: BidderClient) -> None:
    loop = asyncio.get_running_loop()
    printer = asyncio.create_task(watch(client))
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            line = line.strip()
            if not line:
                print("  " + describe(client.state, client))
                continue
            try:
                amount = client.state["min_next_fen"] if line == "+" else parse_wan(line)
            except (ValueError, KeyError) as e:
                print(f"! {e}")
                continue
            if amount is None:
                print("! 当前不可报价 / bidding is not open")
                continue
            reply = await client.bid(amount)
            print(_reply(reply))
    finally:
        printer.cancel()


def _reply(reply: dict[str, Any]) -> str:
    if reply["type"] == "ack":
        return f"✔ 报价已接受 / accepted: {wan(reply['amount_fen'])} (seq {reply['seq']})"
    return f"✘ {reply['code']}: {reply['message']} {reply.get('details') or ''}"


async def run(args: argparse.Namespace) -> int:
    token = getattr(args, "token", None)
    if args.command == "bid" and not token:
        print("a bidding token is required: --token T or AUCTION_BIDDER_TOKEN=T", file=sys.stderr)
        return 2
    amount: int | None = None
    if args.command == "bid" and (args.amount_fen is not None or args.amount_wan is not None):
        try:
            amount = args.amount_fen if args.amount_fen is not None else parse_wan(args.amount_wan)
        except ValueError as e:
            print(f"invalid amount: {e}", file=sys.stderr)
            return 2
    client = BidderClient(args.url, args.session, token)
    try:
        welcome = await client.connect()
    except (OSError, ProtocolError, WebSocketException) as e:
        print(f"cannot connect: {e}", file=sys.stderr)
        return 1
    who = f"竞买号 {welcome['bidder_no']}" if welcome["bidder_no"] else "旁观 / watcher"
    print(f"已连接 {args.session} ({who}); 地块 {welcome['terms']['parcel_ref']}")
    print("  " + describe(welcome["state"], client))
    try:
        if args.command == "watch":
            await watch(client)
        elif amount is not None:
            reply = await client.bid(amount)
            print(_reply(reply))
            return 0 if reply["type"] == "ack" else 3
        else:
            print("输入报价（万元），'+' 为最低可报价，回车刷新 / type an amount in 万元, '+' for the minimum")
            await interactive(client)
    finally:
        await client.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auction-bidder", description="Bidder client for the land trading server")
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("watch", help="follow a session read-only")
    w.add_argument("session")
    b = sub.add_parser("bid", help="bid (one amount, or interactive without one)")
    b.add_argument("session")
    b.add_argument("--token", default=os.environ.get("AUCTION_BIDDER_TOKEN"),
                   help="bidding token (or set AUCTION_BIDDER_TOKEN, which keeps it out of shell history)")
    b.add_argument("--amount-fen", type=int)
    b.add_argument("--amount-wan")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
