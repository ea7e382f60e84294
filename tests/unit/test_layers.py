"""House rules of the layers (docs/architecture.md): SQL lives in `auction/store/` only,
and the store depends on nothing above it (services, web).

Only string constants are read (the `ast` module), never comments, and a docstring is
prose: "SELECT" in a sentence is not SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AUCTION = ROOT / "auction"
STORE = AUCTION / "store"

SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)\b|\b(FROM|JOIN) [a-z_]+\b")

# Files that may hold SQL outside the store: none. Kept as a named, empty set so an
# exception would have to be written here, in plain sight.
ALLOWED: set[str] = set()

# What the store must never import: the services and the web entrypoints.
ABOVE_THE_STORE = re.compile(r"^auction\.(services|entrypoints|app)(\.|$)")


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def sql_lines(path: Path) -> list[tuple[int, str]]:
    """(line, the SQL words found) for every string constant that reads as SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    prose = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            match = SQL.search(node.value)
            if match:
                found.append((node.lineno, match.group(0)))
    return sorted(found)


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                assert node.module is not None
                module = node.module
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def _outside_store() -> list[Path]:
    return sorted(p for p in AUCTION.rglob("*.py") if STORE not in p.parents)


def test_no_sql_outside_the_store() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {words}"
        for path in _outside_store()
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line, words in sql_lines(path)
    ]
    assert offending == [], "SQL outside auction/store/ (move it into a store module):\n" + "\n".join(offending)


def test_the_allow_list_names_real_files() -> None:
    # A file moved or deleted leaves the list, it is not carried along.
    assert [name for name in sorted(ALLOWED) if not (ROOT / name).is_file()] == []


def test_the_store_has_the_sql() -> None:
    assert any(sql_lines(path) for path in STORE.glob("*.py"))


@pytest.mark.parametrize("path", sorted(STORE.rglob("*.py")), ids=lambda p: str(p.relative_to(STORE)))
def test_the_store_imports_no_service_and_no_web(path: Path) -> None:
    above = [m for m in imported_modules(path) if ABOVE_THE_STORE.match(m)]
    assert above == [], f"{path.name} imports {above}"


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        ("SELECT plan_id FROM plans WHERE session_id = $1", True),
        ("INSERT INTO bidders (session_id) VALUES ($1)", True),
        ("UPDATE reoffers SET note = $2", True),
        ("DELETE FROM console_sessions WHERE id_hash = $1", True),
        ("   FROM publication_outbox o JOIN publications p USING (document_id)", True),
        ("select the parcel from the list", False),
        ("Q42: the contract was not signed in time", False),
        ("FROM", False),
    ],
)
def test_the_sql_pattern(text: str, sql: bool) -> None:
    assert bool(SQL.search(text)) is sql


def test_the_checker_finds_sql_and_skips_prose(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""SELECT in a docstring is prose."""\n'
        "async def f(con):\n"
        '    """Reads: SELECT * FROM x."""\n'
        '    return await con.fetch(\n'
        '        f"SELECT a FROM t WHERE b = {1}"\n'
        "    )\n"
        'NOTE = "From here on, from the table"\n',
        encoding="utf-8",
    )
    assert sql_lines(bad) == [(5, "SELECT")]


@pytest.mark.parametrize(
    ("module", "above"),
    [
        ("auction.services.session", True),
        ("auction.services.deposits", True),
        ("auction.services.registration", True),
        ("auction.app", True),
        ("auction.entrypoints", True),
        ("auction.domain.codes", False),
        ("auction.store.events", False),
        ("auction.services_doc", False),
        ("auction.applications", False),
    ],
)
def test_the_import_checker(module: str, above: bool) -> None:
    assert bool(ABOVE_THE_STORE.match(module)) is above
