"""`auction-bidder`: watch a session or bid in it from a terminal.

    auction-bidder --url ws://127.0.0.1:8000/ws watch SESSION
    auction-bidder --url ws://127.0.0.1:8000/ws bid SESSION --token T --amount-wan 8050
    auction-bidder --url ws://127.0.0.1:8000/ws bid SESSION --token T --amount-wan 8050 --yes   # scripts
    AUCTION_BIDDER_TOKEN=T auction-bidder --url ws://127.0.0.1:8000/ws bid SESSION   # interactive

Every bid is confirmed before it is sent, as on the bidder page: the amount in
万元, in 元 (and fen) and in capital numerals (大写), then y/N; `--yes` skips the
question for scripts. Interactive: type an amount in 万元 (e.g. 8050.5), or `+`
for the minimum next bid; Enter alone shows the state again. Amounts are plain
decimals converted to fen exactly (no exponent: `1e4` is refused).
`watch` (and the interactive mode) end with the outcome once the session has ended.

Exit status: 0 done (a bid accepted, or the session ended while watching), 1 no
connection or no answer, 2 bad input, 3 refused by the server (the bid, or the
connection: a bad token, an unknown session, a limit per address), 4 the bid
was not confirmed (nothing sent), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import io
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException

from auction.entrypoints.cli.parser import Parser
from clients import bidder_texts as say
from clients.bidder import BidderClient, ProtocolError, save_receipts

ACCEPTED, NO_CONNECTION, BAD_INPUT, REFUSED, NOT_CONFIRMED, INTERRUPTED = 0, 1, 2, 3, 4, 130
REFUSAL_CLOSES = frozenset({4001, 4004, 4029})  # the hello refused (docs/protocol.md section 1)
CONNECT_HINTS = {
    "INVALID_TOKEN": "请核对竞买凭证（--token 或 AUCTION_BIDDER_TOKEN） / check the bidding token "
                     "(--token or AUCTION_BIDDER_TOKEN)",
    "TOKEN_REVOKED": "凭证已重新发放，请使用新凭证 / the token was re-issued: use the new one",
    "WRONG_SESSION": "请核对交易场次编号与凭证是否对应 / check that the token belongs to this session id",
    "UNKNOWN_SESSION": "请核对交易场次编号（make run 会列出演示场次） / check the session id (make run lists the "
                       "demo sessions)",
}


class Lines:
    """Standard input, a line at a time, without blocking the event loop.

    A daemon thread reads, so a process that is done (the session ended) exits
    even while a `readline` still waits for the keyboard. None is the end of input.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, args=(loop,), daemon=True).start()

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(self._queue.put_nowait, line or None)
            if not line:
                return

    async def next(self) -> str | None:
        return await self._queue.get()


def ask(question: str) -> None:
    print(question, end="", flush=True)


async def confirmed(client: BidderClient, amount: int, lines: Lines, ended: asyncio.Event) -> bool:
    print(say.confirmation(amount, client.session_id))
    ask("确认发送此报价？输入 y 确认，直接回车取消 / Send this bid? [y/N] ")
    answer = await _line_or_end(lines, ended)
    if answer is not None and answer.strip().lower() in say.YES:
        return True
    print("已取消，报价未发送 / cancelled: no bid was sent")
    if answer is None and not ended.is_set():  # no input at all: most likely a script
        print("  脚本中不经询问报价请加 --yes / to bid from a script without the question, add --yes")
    return False


async def _line_or_end(lines: Lines, ended: asyncio.Event) -> str | None:
    """The next line typed, or None at the end of input or when the session has ended."""
    reading = asyncio.ensure_future(lines.next())
    ending = asyncio.ensure_future(ended.wait())
    await asyncio.wait({reading, ending}, return_when=asyncio.FIRST_COMPLETED)
    ending.cancel()
    if reading.done():
        return reading.result()
    reading.cancel()
    return None


def left_seconds(state: dict[str, Any], client: BidderClient) -> int | None:
    if not state.get("deadline_us") or state.get("phase") in say.FINAL_PHASES:
        return None
    deadline: int = state["deadline_us"]
    return max(0, (deadline - client.server_now_us()) // 1_000_000)


def describe(state: dict[str, Any], client: BidderClient) -> str:
    return say.describe(state, left_seconds(state, client))


async def follow(client: BidderClient, ended: asyncio.Event) -> None:
    """Print every event as it comes; set `ended` once the session has ended."""
    async for message in client.events():
        if message["type"] == "event":
            print(say.event_line(message))
            print("  " + describe(message["state"], client))
            if message["state"].get("phase") in say.FINAL_PHASES:
                ended.set()
                return
        else:
            print(f"! {say.refusal(message)}")


def _reply(reply: dict[str, Any]) -> str:
    if reply["type"] == "ack":
        return f"✔ 报价已接受 / accepted: {say.wan(reply['amount_fen'])} (seq {reply['seq']})"
    return f"✘ 报价未被接受 / refused: {say.refusal(reply)}"


async def place(client: BidderClient, amount: int) -> int:
    try:
        reply = await client.bid(amount)
    except TimeoutError:
        print("✘ 未收到服务器答复，报价是否被接受未知；请用 watch 查看 / no answer from the server: whether the bid "
              "was accepted is unknown; check with watch", file=sys.stderr)
        return NO_CONNECTION
    print(_reply(reply))
    return ACCEPTED if reply["type"] == "ack" else REFUSED


async def interactive(client: BidderClient, lines: Lines, ended: asyncio.Event, yes: bool) -> int:
    print("输入报价（万元），'+' 为最低可报价，回车刷新，Ctrl-D 退出 / type an amount in 万元, '+' for the minimum "
          "next bid, Enter to refresh, Ctrl-D to leave")
    while True:
        line = await _line_or_end(lines, ended)
        if line is None:
            return ACCEPTED
        line = line.strip()
        if not line:
            print("  " + describe(client.state, client))
            continue
        if line == "+":
            amount = client.state.get("min_next_fen")
            if amount is None:
                print("! 当前不可报价 / bidding is not open")
                continue
        else:
            try:
                amount = say.parse_wan(line)
            except say.AmountError as e:
                print(f"! {e}")
                continue
        if yes or await confirmed(client, amount, lines, ended):
            await place(client, amount)


async def run(args: argparse.Namespace) -> int:
    token = getattr(args, "token", None)
    if args.command == "bid" and not token:
        print("需要竞买凭证：--token T，或设置环境变量 AUCTION_BIDDER_TOKEN=T（不留在命令历史中） / a bidding token "
              "is required: --token T or AUCTION_BIDDER_TOKEN=T (keeps it out of shell history)", file=sys.stderr)
        return BAD_INPUT
    amount: int | None = None
    if args.command == "bid":
        amount = args.amount_fen if args.amount_fen is not None else args.amount_wan
    signing_key = None
    if getattr(args, "key", None):
        try:
            signing_key = _signing_key(Path(args.key))
        except (OSError, ValueError, TypeError) as e:
            print(f"无法读取签名私钥 / cannot read the signing key {args.key}: {e}", file=sys.stderr)
            return BAD_INPUT
    client = BidderClient(args.url, args.session, token, signing_key=signing_key)
    try:
        welcome = await client.connect()
        if signing_key is not None and welcome["bidder_no"] is not None:
            await client.register_key()  # once per bidder; the same key again is fine
    except ProtocolError as e:
        code = str(e.message.get("code"))
        hint = CONNECT_HINTS.get(code, "")
        print(f"服务器拒绝连接 / the server refused: {say.refusal(e.message)}" + (f"\n  {hint}" if hint else ""),
              file=sys.stderr)
        return REFUSED
    except (OSError, WebSocketException) as e:
        refused_with = _refusal_close(e)
        if refused_with is not None:  # closed at the hello without an error frame: refused all the same
            reason, close_code = refused_with
            hint = CONNECT_HINTS.get(reason, "")
            print(f"服务器拒绝连接 / the server refused: {reason or '-'} (close {close_code})"
                  + (f"\n  {hint}" if hint else ""), file=sys.stderr)
            return REFUSED
        print(_connect_failed(args.url, e), file=sys.stderr)
        return NO_CONNECTION
    who = f"竞买号 / bidder {welcome['bidder_no']}" if welcome["bidder_no"] else "旁观 / watcher"
    print(f"已连接 / connected: {args.session} ({who}); 地块 / parcel {welcome['terms']['parcel_ref']}")
    print("  " + describe(welcome["state"], client))
    ended = asyncio.Event()
    if welcome["state"].get("phase") in say.FINAL_PHASES:
        ended.set()
    # Events are printed while someone reads them: watching, typing, or deciding on a bid.
    live = args.command == "watch" or amount is None or not args.yes
    printer = asyncio.create_task(follow(client, ended)) if live and not ended.is_set() else None
    try:
        if args.command == "watch":
            await ended.wait()
            return ACCEPTED
        if ended.is_set():
            print("交易已结束，不再接受报价 / the session has ended: no more bids")
            return REFUSED if amount is not None else ACCEPTED
        lines = Lines()
        if amount is None:
            return await interactive(client, lines, ended, args.yes)
        if not args.yes and not await confirmed(client, amount, lines, ended):
            return NOT_CONFIRMED
        return await place(client, amount)
    finally:
        if printer is not None:
            printer.cancel()
        await client.close()
        receipts = getattr(args, "receipts", None)
        if receipts and client.receipts:
            save_receipts(Path(receipts), args.session, client.receipts)


def _refusal_close(error: BaseException) -> tuple[str, int] | None:
    """The reason (the server's code) and close code of a hello the server refused by closing
    (docs/protocol.md section 1: 4001 a bad hello or token, 4004 no such session, 4029 a limit
    per address), else None."""
    if isinstance(error, ConnectionClosed) and error.rcvd is not None and error.rcvd.code in REFUSAL_CLOSES:
        return error.rcvd.reason, error.rcvd.code
    return None


def _connect_failed(url: str, error: BaseException) -> str:
    if isinstance(error, InvalidURI):
        why = "地址格式不对 / not a WebSocket address"
    elif isinstance(error, socket.gaierror):
        why = "主机名无法解析 / unknown host"
    elif _refused(error):
        why = "连接被拒绝 / connection refused"
    elif isinstance(error, TimeoutError):
        why = "连接超时 / timed out"
    else:
        why = f"{type(error).__name__}: {error}"
    return (f"无法连接服务器 / cannot connect to {url}: {why}\n"
            "  请确认服务器已启动（如 make run）且地址正确（--url ws://主机:端口/ws） / check that the server is running "
            "(e.g. make run) and the address (--url ws://HOST:PORT/ws)")


def _refused(error: BaseException) -> bool:
    # Every address of the host refused (asyncio joins them in one OSError: "Multiple exceptions: ...").
    if isinstance(error, ConnectionRefusedError):
        return True
    text = str(error)
    return text.startswith("Multiple exceptions") and text.count("[Errno") == text.count(
        f"[Errno {errno.ECONNREFUSED}]")


def _signing_key(path: Path) -> Ed25519PrivateKey:
    """A bidder's Ed25519 private key (PKCS#8 PEM, e.g. `openssl genpkey -algorithm ed25519`)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def _amount(parse: Callable[[str], int]) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            return parse(text)
        except say.AmountError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return convert


def main(argv: list[str] | None = None) -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # events show as they come, also through a pipe
    parser = Parser(prog="auction-bidder", description="竞买人客户端 / bidder client for the land trading server")
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws",
                        help="服务器地址 / server address (default ws://127.0.0.1:8000/ws)")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("watch", help="旁观 / follow a session read-only until it ends")
    w.add_argument("session")
    b = sub.add_parser("bid", help="报价 / bid (one amount, or interactive without one)")
    b.add_argument("session")
    b.add_argument("--token", default=os.environ.get("AUCTION_BIDDER_TOKEN"),
                   help="竞买凭证 / bidding token (or set AUCTION_BIDDER_TOKEN, which keeps it out of shell history)")
    amount = b.add_mutually_exclusive_group()
    amount.add_argument("--amount-fen", type=_amount(say.parse_fen), help="报价（分） / the bid in fen")
    amount.add_argument("--amount-wan", type=_amount(say.parse_wan), help="报价（万元） / the bid in 万元, e.g. 8050.5")
    b.add_argument("--key", metavar="FILE",
                   help="用此 Ed25519 私钥签名报价（要求签名的场次） / sign bids with this Ed25519 private key "
                        "(PEM; sessions that take signed bids); its public key is registered on connecting")
    b.add_argument("--receipts", metavar="FILE",
                   help="把服务器签名的回执存入此文件，供 auction-verify 核对 / keep the server's signed receipts "
                        "in FILE, for auction-verify --receipts")
    b.add_argument("--yes", "-y", action="store_true",
                   help="不再询问确认（脚本用） / send without the confirmation question (for scripts)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
