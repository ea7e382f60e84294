"""Chinese first, English second: the one table of interface labels, and the language switch.

A label is a pair (Chinese, English). Pages show the chosen language first and the other
one second, smaller (`tt`), or the chosen one alone (`t`). The choice is a cookie
(`lang`, "zh" or "en"; default Chinese), set by `GET /lang/{zh|en}?next=...`; the static
bidder page reads the same table from `/i18n.js` and keeps the choice in localStorage too.
Codes' messages stay in auction/domain/codes.py (Chinese, then English).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.domain.china import chinese_minute, to_cst
from auction.domain.bidding.session import CLOSE_REASON_WORDS, END_REASON_WORDS, OUTCOME_WORDS, PHASE_WORDS
from auction.domain.codes import MESSAGES

COOKIE = "lang"
LANGS = ("zh", "en")
DEFAULT = "zh"

CATALOG = "labels.toml"  # the labels as data, beside this module (a translator edits that file alone)
# The engine's own words, written once in the domain as "中文 / English" (the console, the bidder CLI
# and the demo read them there): the pages' script reads them as `phase.*`, `outcome.*`, `close_reason.*`.
ENGINE_WORDS = {
    "phase": PHASE_WORDS,
    "outcome": OUTCOME_WORDS,
    "close_reason": {**CLOSE_REASON_WORDS, **END_REASON_WORDS},
}


def _catalog() -> dict[str, tuple[str, str]]:
    """The label table from `labels.toml` and ENGINE_WORDS: each key a pair [Chinese, English]."""
    data = tomllib.loads(Path(__file__).with_name(CATALOG).read_text(encoding="utf-8"))
    labels: dict[str, tuple[str, str]] = {}
    for key, pair in data.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ValueError(f"{CATALOG}: {key} must be [Chinese, English]")
        labels[key] = (pair[0], pair[1])
    for prefix, table in ENGINE_WORDS.items():
        for name, text in table.items():
            key = f"{prefix}.{name}"
            if key in labels:
                raise ValueError(f"{CATALOG}: {key} is the engine's word; it is written in auction/domain")
            chinese, english = text.split(" / ", 1)
            labels[key] = (chinese, english)
    return labels


LABELS: dict[str, tuple[str, str]] = _catalog()


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGS else DEFAULT


def label(lang: str, key: str) -> str:
    """The label in `lang` (the key itself for an unknown one, so a gap shows, never breaks)."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def _text(value: str) -> str:
    """Escaped for an element's text (quotes left as typed: labels are never attribute values
    holding user input)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ordered(lang: str, pair: tuple[str, str]) -> tuple[str, str]:
    return (pair[1], pair[0]) if lang == "en" else pair


def both(lang: str, key: str) -> Markup:
    """The chosen language first, the other second and smaller."""
    pair = LABELS.get(key)
    if pair is None:
        return Markup(escape(key))
    first, second = _ordered(lang, pair)
    return Markup(f"{_text(first)} <small>{_text(second)}</small>")


def both_plain(lang: str, key: str) -> Markup:
    """The chosen language first, the other after " / ": for buttons, options, titles and values
    written inline, where a <small> cannot go."""
    pair = LABELS.get(key)
    if pair is None:
        return Markup(escape(key))
    return Markup(_text(" / ".join(_ordered(lang, pair))))


def lead(lang: str, chinese: Markup, key: str) -> Markup:
    """A sentence whose Chinese holds values of the page (`chinese`, already rendered) and whose
    English is the key's: the chosen one first, the other second and smaller."""
    english = Markup(_text(LABELS.get(key, ("", key))[1]))
    first, second = (english, chinese) if lang == "en" else (chinese, english)
    return Markup(f"{first} <small>{second}</small>")


def words(lang: str, text: str | None) -> str:
    """A "中文 / English" pair kept as one string elsewhere (the domain's phase, outcome and
    status words): as it is in Chinese, "English / 中文" in English."""
    if not text or lang != "en" or " / " not in text:
        return text or ""
    chinese, english = text.split(" / ", 1)
    return f"{english} / {chinese}"


class Pair(str):
    """A value that is a "中文 / English" pair of the interface's words (a method, "无 / none"),
    not typed text: a page shows it in its order (the `pair` test, `{{ v | bi if v is pair }}`)."""


def localize_filters(env: Environment, *names: str) -> None:
    """Filters that answer a "中文 / English" pair answer it in the page's order (`words`);
    `bi` does that to any such value a page was handed."""
    def wrap(inner: Any) -> Any:
        @pass_context
        def localized(ctx: Context, value: Any, *args: Any) -> Any:
            out = inner(value, *args)
            return words(ctx.get("lang", DEFAULT), out) if isinstance(out, str) else out
        return localized
    for name in names:
        env.filters[name] = wrap(env.filters[name])
    env.filters["bi"] = wrap(lambda value: value)
    env.tests["pair"] = lambda value: isinstance(value, Pair)


def time_text(micros: int | None, lang: str = DEFAULT) -> str:
    """'2026年12月06日 10时00分' (CST), or '2026-12-06 10:00 CST' in English; with its seconds
    when it is not on a whole minute (chinese_minute)."""
    if micros is None:
        return "—"
    if lang == "en":
        t = to_cst(micros)
        return t.strftime("%Y-%m-%d %H:%M:%S CST" if t.second or t.microsecond else "%Y-%m-%d %H:%M CST")
    return chinese_minute(micros)


def local_path(target: str | None) -> str:
    """A path of this site to go back to, nothing else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def context(request: Request) -> dict[str, Any]:
    """For every template (a Jinja2Templates context processor): `lang`, `t(key)`, `tt(key)`,
    `tp(key)` ("chosen / other"), `lead(chinese, key)`, `when(micros)` and `here` (this page,
    for the language switch to come back to)."""
    lang = lang_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "lang": lang,
        "html_lang": "en" if lang == "en" else "zh-CN",
        "t": lambda key: label(lang, key),
        "tt": lambda key: both(lang, key),
        "tp": lambda key: both_plain(lang, key),
        "lead": lambda chinese, key: lead(lang, chinese, key),
        "when": lambda micros: time_text(micros, lang),
        "here": here,
    }


async def switch(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    if lang in LANGS:
        # A preference, not a secret: readable by the static pages' script, sent only to this site.
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax")
    response.headers["cache-control"] = "no-store"
    return response


SCRIPT = ("window.AUCTION_I18N = " + json.dumps(LABELS, ensure_ascii=False, sort_keys=True) + ";\n"
          # the refusals' messages as they are (Chinese, then English), for the English page
          "window.AUCTION_CODES = " + json.dumps({c.value: m for c, m in MESSAGES.items()}, ensure_ascii=False,
                                                 sort_keys=True) + ";\n")


async def script(request: Request) -> Response:
    """The same table for the static pages' JavaScript (auction/entrypoints/static/common.js)."""
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "public, max-age=300"})


def routes() -> list[Route]:
    return [Route("/lang/{lang}", switch, methods=["GET"]), Route("/i18n.js", script, methods=["GET"])]
