"""What `auction-bidder` says: Chinese first, English second; amounts in 万元 to
the fen (never rounded, never in exponent notation); times in China Standard Time.

The words are the bidder page's (auction/entrypoints/static/common.js) and the
console's (phases, outcomes, reasons from auction/domain/bidding/session.py), so a
bidder reads the same thing in the browser and in the terminal.
"""

from __future__ import annotations

import re
from typing import Any

from auction.domain.amount_words import fen_to_capital
from auction.domain.china import chinese_time
from auction.domain.money import MAX_AMOUNT_FEN, PLAIN_WAN, fen_of_wan_text, format_wan, format_yuan
from auction.domain.bidding.session import CLOSE_REASON_WORDS, OUTCOME_WORDS, PHASE_WORDS

PHASES = PHASE_WORDS
FINAL_PHASES = frozenset({"CLOSED", "TERMINATED"})
EVENTS = {
    "SessionCreated": "交易场次已创建 / Session created",
    "ReserveSealed": "底价已密封 / Reserve sealed",
    "SessionOpened": "竞价开始 / Bidding opened",
    "OpenRefused": "未能开始 / Could not open",
    "BidAccepted": "报价 / Bid accepted",
    "TimedBiddingStarted": "进入限时竞价 / Timed bidding started",
    "IncrementChanged": "增价幅度调整 / Increment changed",
    "SessionSuspended": "交易中止 / Suspended",
    "ResumptionScheduled": "恢复时间公告 / Resumption announced",
    "ResumptionCancelled": "取消恢复公告 / Resumption cancelled",
    "SessionResumed": "交易恢复 / Resumed",
    "SessionClosed": "交易结束 / Closed",
    "CloseHeld": "结果暂缓 / Close held",
    "SessionTerminated": "交易终止 / Terminated",
}
OUTCOMES = OUTCOME_WORDS
CLOSE_REASONS = CLOSE_REASON_WORDS
# A refusal's details (docs/protocol.md): amounts in fen and times in µs, said in words.
DETAIL_AMOUNTS = {
    "minimum": "最低可报 / minimum next bid",
    "increment": "增价幅度 / increment",
    "base": "基数 / base",
    "accepted_amount": "已接受 / accepted",
    "maximum": "系统上限 / system limit",
}
DETAIL_TIMES = {
    "deadline": "截止 / deadline",
    "opens_at": "开始 / opens",
    "resume_at": "预计恢复 / resumes",
}

AMOUNT_HINT = "请输入以万元为单位的金额，如 8050 或 8050.5 / type an amount in 万元, e.g. 8050 or 8050.5"
FEN_HINT = "请输入以分为单位的正整数，如 805000000000 / type a whole number of fen, e.g. 805000000000"
_FEN = re.compile(r"[0-9]{1,16}")


class AmountError(ValueError):
    """An amount the CLI refuses before anything is sent; the message is bilingual."""


def wan(fen: int | None) -> str:
    return "—" if fen is None else format_wan(fen)


def cst(us: int | None) -> str:
    return "—" if us is None else f"{chinese_time(us)}（北京时间 / CST）"


def parse_wan(text: str) -> int:
    """'8050.5' (万元) -> 8_050_500_000 fen, exactly. Plain decimals only: no exponent
    ('1e4' is not 10,000 万元), no sign, no separators, at most 6 decimals (1 fen)."""
    t = text.strip()
    found = PLAIN_WAN.fullmatch(t)
    if found is None:
        raise AmountError(f"金额无效：{t!r} 不是以万元为单位的数字 / invalid amount: {t!r} is not a number of 万元. "
                          + AMOUNT_HINT)
    fen = fen_of_wan_text(t)
    if fen is None:
        raise AmountError(f"金额无效：{t} 万元最多精确到分（小数点后6位） / invalid amount: {t} has more precision "
                          "than 1 fen (at most 6 decimals of 万元)")
    return _bounded(fen, t + " 万元")


def parse_fen(text: str) -> int:
    """'805000000000' -> 805_000_000_000 fen: digits only (no sign, no '_', no exponent)."""
    t = text.strip()
    if _FEN.fullmatch(t) is None:
        raise AmountError(f"金额无效：{t!r} 不是以分为单位的正整数 / invalid amount: {t!r} is not a whole number of "
                          f"fen. {FEN_HINT}")
    return _bounded(int(t), t + " 分")


def _bounded(fen: int, said: str) -> int:
    if fen <= 0:
        raise AmountError(f"金额无效：{said} 须大于零 / invalid amount: {said} must be above zero")
    if fen > MAX_AMOUNT_FEN:
        raise AmountError(f"金额无效：{said} 超出系统上限 {format_wan(MAX_AMOUNT_FEN)} / invalid amount: above the "
                          f"system limit of {format_wan(MAX_AMOUNT_FEN)}")
    return fen


# What a bidder types to confirm a bid (the auction's and the tender's command lines).
YES = frozenset({"y", "yes", "是", "确认"})


def amount_lines(fen: int) -> str:
    """The amount three ways, as the bidder pages' confirmation steps show it."""
    return (f"  万元 / 10k yuan:  {format_wan(fen)}\n"
            f"  元 / yuan:        {format_yuan(fen)}（{fen:,} 分 / fen）\n"
            f"  大写 / in words:  人民币{fen_to_capital(fen)}")


def confirmation(fen: int, session_id: str) -> str:
    """An auction bid to confirm: its session and its amount three ways."""
    return f"请确认报价 / Confirm the bid in {session_id}:\n{amount_lines(fen)}"


def describe(state: dict[str, Any], left_seconds: int | None) -> str:
    """One line for the session's state (and the outcome once it has one)."""
    phase = state.get("phase") or ""
    highest = state.get("highest_bidder_no")
    left = ""
    if left_seconds is not None:
        left = f"  剩余 / left {left_seconds // 60}:{left_seconds % 60:02d}"
    text = (f"[{PHASES.get(phase, phase)}] 当前最高价 / highest {wan(state.get('highest_fen'))}"
            f" (竞买号 / bidder {highest if highest is not None else '—'})"
            f"  最低可报 / minimum next bid {wan(state.get('min_next_fen'))}"
            f"  截止 / deadline {cst(state.get('deadline_us'))}{left}")
    ending = outcome(state)
    return text if ending is None else f"{text}\n  {ending}"


def outcome(state: dict[str, Any]) -> str | None:
    """The outcome in words (成交 / 流拍 / 终止), or None while the session goes on."""
    o = state.get("outcome")
    if o is not None:
        if o["outcome"] == "SOLD":
            return (f"结果 / outcome: 成交 / Sold  竞得人竞买号 / winning bidder {o['winner_bidder_no']}"
                    f"  成交价 / price {wan(o['price_fen'])}（人民币{fen_to_capital(o['price_fen'])}）")
        reason = CLOSE_REASONS.get(o["reason"], o["reason"])
        return f"结果 / outcome: {OUTCOMES.get(o['outcome'], o['outcome'])}（{reason}）"
    if state.get("phase") == "TERMINATED":
        why = state.get("end_reason")
        return "结果 / outcome: 交易终止 / Terminated" + (f"（{why}）" if why else "")
    return None


def event_line(message: dict[str, Any]) -> str:
    name = message.get("event") or ""
    line = f"#{message['seq']} {EVENTS.get(name, name)} [{name}] @ {cst(message.get('at_us'))}"
    data = message.get("data") or {}
    if name == "BidAccepted":
        line += f"  竞买号 / bidder {data.get('bidder_no')} 报价 / bid {wan(data.get('amount_fen'))}"
    elif isinstance(data.get("reason"), str) and name != "SessionClosed":
        line += f"  理由 / reason: {data['reason']}"
    return line


def refusal(message: dict[str, Any]) -> str:
    """A server's refusal: its code, its bilingual message, and the details in 万元 / CST."""
    text = f"{message.get('code')}: {message.get('message') or ''}"
    details = message.get("details") or {}
    said = []
    for key, value in details.items():
        if key in DETAIL_AMOUNTS and type(value) is int:
            said.append(f"{DETAIL_AMOUNTS[key]} {format_wan(value)}")
        elif key in DETAIL_TIMES and type(value) is int:
            said.append(f"{DETAIL_TIMES[key]} {cst(value)}")
        elif key not in DETAIL_AMOUNTS and key not in DETAIL_TIMES:
            said.append(f"{key}: {value}")
    return text + ("；" + "；".join(said) if said else "")
