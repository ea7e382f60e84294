"""Values as the China Land Market website writes them for people (the HTML page and any
printed form of a publication), from the machine documents' values (ISO 8601, exact
decimals; docs/publication.md, "Units and formats"):

- 面积(公顷) always with six decimals: `6.000000`;
- 万元 with at least four decimals, more only to keep every fen: `1668.0000`, `5123.004567`;
- dates `2019年04月27日`, times to the minute in China Standard Time `2019年06月24日09时00分`.

The machine documents (JSON, XML) keep ISO 8601 and plain exact numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from auction.domain.china import CST

HECTARE_PLACES = 6
WAN_PLACES = 4
_SITE_DATE = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{2}:[0-9]{2}")
# Keys whose values are instants (ISO with +08:00) and dates (YYYY-MM-DD) in every document kind.
TIME_KEYS = frozenset({"deposit_deadline", "qualification_confirmed_by", "published_at"})


def padded(decimal_text: str, places: int) -> str:
    """'2' -> '2.000000' (6); '5123.004567' stays; never fewer than `places` decimals, never rounded."""
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", decimal_text):
        return decimal_text
    whole, _, decimals = decimal_text.partition(".")
    return f"{whole}.{decimals.ljust(places, '0')}"


def site_date(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def site_minute(at: datetime) -> str:
    t = at.astimezone(CST)
    return f"{site_date(t.date())}{t.hour:02d}时{t.minute:02d}分"


def parse_site_date(text: str) -> date:
    """A date typed either way: '2019-04-27' or '2019年04月27日' (also '2019年4月27日').
    Raises ValueError otherwise."""
    text = text.strip()
    match = _SITE_DATE.fullmatch(text)
    if match is not None:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"not a date: {text!r}")
    return date.fromisoformat(text)


def human_value(key: str, value: Any) -> Any:
    """A field's value as the site shows it to people; unknown keys and empty values unchanged."""
    if not isinstance(value, str) or value == "":
        return value
    if key == "area_hectares":
        return padded(value, HECTARE_PLACES)
    if key.endswith("_wan"):
        return padded(value, WAN_PLACES)
    if (key.endswith("_at") or key in TIME_KEYS) and _ISO_TIME.fullmatch(value):
        return site_minute(datetime.fromisoformat(value))
    if key.endswith("_date") and _ISO_DATE.fullmatch(value):
        return site_date(date.fromisoformat(value))
    return value


def human_installments(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: human_value(k, v) for k, v in part.items()} for part in parts]
