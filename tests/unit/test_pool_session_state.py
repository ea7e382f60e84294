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
    # A statement of its own that begins with SET (an UPDATE's SET follows its table name), unless
    # it is SET LOCAL (or SET TRANSACTION / CONSTRAINTS), which ends with the transaction.
    re.compile(r"(?:[\"';]\s*)SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)\w", re.I),
    re.compile(r"set_config\s*\(.*?,\s*false\s*\)", re.I | re.S),
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
        hits = offenders("\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                                   if not line.lstrip().startswith("#")))
        if hits:
            found[name] = hits
    assert found == {}


# As the reader sees them: statements inside the source's string literals.
@pytest.mark.parametrize(("sql", "leaves_state"), [
    ("SELECT pg_advisory_lock($1)", True),
    ("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", False),
    ("LISTEN auction_events", True),
    ('"SET ROLE auction_app"', True),
    ("'SET search_path TO other'", True),
    ('"SET LOCAL statement_timeout = 1000"', False),
    ("UPDATE sessions SET phase = $2", False),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", True),
    ("SELECT set_config('x.y', '1', false)", True),
    ("SELECT set_config('x.y', '1', true)", False),
    ('"SET synchronous_commit TO off"', True),
    ('"""SET work_mem = 1"""', True),
    ('"SET LOCAL lock_timeout = 10"', False),
    ('"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"', False),
    ('"UPDATE bidders\n   SET token_hash = $3"', False),
    ("SELECT set_config('x.y', lower('A'), false)", True),
])
def test_the_reader_itself(sql: str, leaves_state: bool) -> None:
    assert bool(offenders(sql)) is leaves_state
