"""The server's pool hands connections on without a reset query (auction/bootstrap.py
`_released`): that holds only while nothing run on a pooled connection leaves session
state behind. This reads every module of the store (the only place with SQL:
tests/unit/test_layers.py) for statements that would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STORE = Path(__file__).resolve().parents[2] / "auction" / "store"
# Run on connections of their own, never the pool's: the migration's lock, and the role the
# pool takes once per connection at connect (`init`), which is meant to stay.
OWN_CONNECTIONS = {"database/migrate.py", "database/roles.py"}

SESSION_STATE = [
    re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),  # session-level locks (xact ones end with it)
    re.compile(r"\bLISTEN\s+\w", re.I),
    re.compile(r"\bWITH\s+HOLD\b", re.I),
    re.compile(r"\bSET\s+(SESSION\b|ROLE\b|search_path\b|statement_timeout\b|TIME\s+ZONE\b)", re.I),
    re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I),
]


def offenders(text: str) -> list[str]:
    return [m.group(0) for pattern in SESSION_STATE for m in pattern.finditer(text)]


def test_no_module_leaves_session_state_on_a_pooled_connection() -> None:
    assert len(list(STORE.rglob("*.py"))) > 10
    found = {}
    for path in sorted(STORE.rglob("*.py")):
        name = path.relative_to(STORE).as_posix()
        if name in OWN_CONNECTIONS:
            continue
        hits = offenders("\n".join(line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()))
        if hits:
            found[name] = hits
    assert found == {}


@pytest.mark.parametrize(("sql", "leaves_state"), [
    ("SELECT pg_advisory_lock($1)", True),
    ("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", False),
    ("LISTEN auction_events", True),
    ("SET ROLE auction_app", True),
    ("SET search_path TO other", True),
    ("SET LOCAL statement_timeout = 1000", False),
    ("UPDATE sessions SET phase = $2", False),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", True),
    ("SELECT set_config('x.y', '1', false)", True),
    ("SELECT set_config('x.y', '1', true)", False),
])
def test_the_reader_itself(sql: str, leaves_state: bool) -> None:
    assert bool(offenders(sql)) is leaves_state
