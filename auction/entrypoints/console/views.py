"""What the console's templates need: the Jinja2 environment with its filters
(万元, 大写, China Standard Time), form values in 万元 and CST, and exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.templating import Jinja2Templates

from auction.domain.amount_words import fen_to_capital
from auction.domain.china import CST, cst_text, to_cst
from auction.domain.codes import Code, Rejected
from auction.domain.money import fen_of_wan_text, format_fen, format_wan, format_yuan, is_valid_amount
from auction.domain.bidding.session import CLOSE_REASON_WORDS, END_REASON_WORDS, OUTCOME_WORDS, PHASE_WORDS
from auction.entrypoints.console.people import field_label
from auction.entrypoints.console.people import cn_day, cn_time
from auction.entrypoints.http import i18n
from auction.store.events import to_micros

TEMPLATES = Path(__file__).resolve().parent / "templates"

PHASES = PHASE_WORDS
METHODS = {"LISTING": "挂牌 / Listing", "AUCTION": "拍卖 / Auction", "TENDER": "招标 / Tender"}
OUTCOMES = OUTCOME_WORDS
REASONS = {
    **CLOSE_REASON_WORDS,
    **END_REASON_WORDS,
    "START_PRICE": "无底价，以起始价为底价（第二十八条） / no reserve: the starting price stood in (Q28)",
    "RESERVE": "底价 / sealed reserve",
}


def cst(micros: int | None, seconds: bool = True) -> str:
    return "—" if micros is None else cst_text(micros, seconds)


def wan(fen: int | None) -> str:
    return "—" if fen is None else format_wan(fen)


def fen_text(fen: int | None) -> str:
    return "—" if fen is None else format_fen(fen)


def capital(fen: int | None) -> str:
    return "—" if fen is None else fen_to_capital(fen)


def templates(*more: Path) -> Jinja2Templates:
    """The console's templates (and `more` directories, searched first: the public pages),
    all on the one layout, base.html, with the language of the request (http/i18n.py)."""
    t = Jinja2Templates(directory=[*more, TEMPLATES], context_processors=[i18n.context])
    # Times as people read them (2026年12月06日 14:30:05, CST): µs, aware datetimes and ISO texts alike.
    # `cst` above stays the exports' machine form.
    t.env.filters.update(
        wan=wan, fen=fen_text, yuan=lambda f: "—" if f is None else format_yuan(f), capital=capital,
        cst=lambda v, seconds=True: cn_time(v, seconds), cst_datetime=lambda v: cn_time(v, True),
        cn_day=cn_day, cn_time=cn_time, phase=lambda p: PHASES.get(p, p), method=lambda m: METHODS.get(m, m),
        outcome=lambda o: OUTCOMES.get(o, o), reason=lambda r: REASONS.get(r, r),
        pretty=lambda v: json.dumps(v, ensure_ascii=False, indent=1, sort_keys=True),
    )
    i18n.localize_filters(t.env, "phase", "method", "outcome", "reason")
    t.env.globals.update(PHASES=PHASES)
    return t


# ---------------------------------------------------------------------------
# form values


def parse_wan(form: dict[str, str], name: str, required: bool = True) -> int | None:
    """An amount typed in 万元 (up to 6 decimals, i.e. exact fen) as fen."""
    text = form.get(name, "").strip().replace(",", "")
    if not text:
        if required:
            raise Rejected(Code.INVALID_FIELD, f"请填写{field_label(name)} / required", field=name)
        return None
    fen = fen_of_wan_text(text)
    if fen is None or not is_valid_amount(fen):
        raise Rejected(Code.INVALID_FIELD, f"{field_label(name)}：以万元为单位的正数，最多6位小数（精确到分），不用指数写法 / "
                       "a positive amount in 万元 with at most 6 decimals, no exponent", field=name)
    return fen


def parse_cst(form: dict[str, str], name: str, required: bool = True) -> str | None:
    """A `datetime-local` value, read as China Standard Time, as ISO 8601 with +08:00."""
    text = form.get(name, "").strip()
    if not text:
        if required:
            raise Rejected(Code.INVALID_FIELD, f"请填写{field_label(name)} / required", field=name)
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, f"{field_label(name)}：北京时间，如 2026-12-06T14:30 / "
                       "YYYY-MM-DDTHH:MM[:SS] (China Standard Time)", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return moment.isoformat()


def parse_micros_cst(form: dict[str, str], name: str) -> int | None:
    iso = parse_cst(form, name, required=False)
    return None if iso is None else to_micros(datetime.fromisoformat(iso))


def reason_of(form: dict[str, str]) -> str:
    reason = form.get("reason", "").strip()
    if not reason:
        raise Rejected(Code.REASON_REQUIRED)
    if len(reason) > 500 or "\x00" in reason:
        raise Rejected(Code.INVALID_FIELD, "理由最多500字 / reason: at most 500 characters", field="reason")
    return reason


def local_input(micros: int) -> str:
    """A `datetime-local` input's value in CST."""
    return to_cst(micros).strftime("%Y-%m-%dT%H:%M:%S")


# ---------------------------------------------------------------------------
# exports

EVENT_COLUMNS = ["seq", "pub_seq", "type", "at_us", "at_cst", "data"]


def _event_at(data: dict[str, Any]) -> int | None:
    at = data.get("at")
    return at if isinstance(at, int) else None


def events_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"seq": e["seq"], "pub_seq": e["pub_seq"], "type": e["type"], "at_us": _event_at(e["data"]),
         "at_cst": cst(_event_at(e["data"])), "data": e["data"]}
        for e in events
    ]


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV with a BOM so that spreadsheet programs read the Chinese text as UTF-8. Nested
    values are JSON; a cell that a spreadsheet would run as a formula is quoted with '."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            text = "" if value is None else (
                json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
            )
            if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text):
                text = "'" + text
            cells.append(text)
        writer.writerow(cells)
    return out.getvalue()


def _number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
