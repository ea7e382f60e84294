"""The 行政区划 table the documents name divisions with (auction/domain/divisions.py).

The shipped table, `divisions_data/gbt2260.tsv` (its sources and date in its header),
is read once; an operator's newer file (`AUCTION_DIVISIONS_FILE`: the same columns,
`code<TAB>name` or `code,name`, 6- or 9-digit codes) is laid over it at start-up, so a
file holding only new or renamed divisions (a new district, a 团场's 9-digit code) is
enough. A file that cannot be read stops the start with its line number.
"""

from __future__ import annotations

import functools
from pathlib import Path

from auction.domain.divisions import Divisions, parse_divisions

SHIPPED = Path(__file__).resolve().parent / "divisions_data" / "gbt2260.tsv"


@functools.cache
def shipped_divisions() -> Divisions:
    return parse_divisions(SHIPPED.read_text(encoding="utf-8"))


def load_divisions(newer: Path | None = None) -> Divisions:
    """The shipped table, with `newer`'s rows over it when given."""
    table = shipped_divisions()
    if newer is None:
        return table
    try:
        return table.merged(parse_divisions(newer.read_text(encoding="utf-8-sig")))
    except ValueError as e:
        raise ValueError(f"{newer}: {e}") from None
