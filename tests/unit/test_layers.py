"""House rules of the layers (docs/architecture.md): SQL lives in `auction/store/` only,
and imports point downward: the domain imports only itself, the services never import
the entrypoints, the store nothing above it, the documents only the domain.

Only string constants are read (the `ast` module), never comments, and a docstring is
prose: "SELECT" in a sentence is not SQL."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AUCTION = ROOT / "auction"
STORE = AUCTION / "store"

SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)\b|\b(FROM|JOIN) [a-z_]+\b")

# Files that may hold SQL outside the store: none. Kept as a named, empty set so an
# exception would have to be written here, in plain sight.
ALLOWED: set[str] = set()

# What the store must never import: the services and the entrypoints (and the app that mounts them).
ABOVE_THE_STORE = re.compile(r"^auction\.(services|entrypoints|app)(\.|$)")
ENTRYPOINTS = re.compile(r"^auction\.(entrypoints|app)(\.|$)")
PROJECT = re.compile(r"^(auction|clients)(\.|$)")

# Imports that break a rule below, by "module path: imported module". Empty: an exception
# would have to be written here, with the reason beside it.
LAYER_EXCEPTIONS: set[str] = set()

# The package root holds only the entry and configuration modules; the rest is in the layers' folders.
ROOT_MODULES = {"__init__", "app", "bootstrap", "cli", "reactions", "settings"}


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


def _modules(package: str) -> list[Path]:
    return sorted((AUCTION / package).rglob("*.py"))


def _breaking(package: str, breaks: re.Pattern[str] | None = None, only: tuple[str, ...] = ()) -> list[str]:
    """The imports of auction/<package> that break its rule: those matching `breaks`, or,
    with `only`, every import of the project outside those packages."""
    found = []
    for path in _modules(package):
        for module in imported_modules(path):
            if breaks is not None:
                bad = bool(breaks.match(module))
            else:
                bad = bool(PROJECT.match(module)) and not any(module == o or module.startswith(o + ".") for o in only)
            entry = f"{path.relative_to(ROOT)}: {module}"
            if bad and entry not in LAYER_EXCEPTIONS:
                found.append(entry)
    return found


def test_the_domain_imports_only_itself() -> None:
    assert _breaking("domain", only=("auction.domain",)) == []


def test_the_services_never_import_the_entrypoints() -> None:
    assert _breaking("services", ENTRYPOINTS) == []


def test_the_store_imports_no_service_and_no_entrypoint() -> None:
    assert _breaking("store", ABOVE_THE_STORE) == []


def test_the_documents_import_only_the_domain() -> None:
    # They render values handed to them: no store, no clock, no service.
    assert _breaking("documents", only=("auction.documents", "auction.domain")) == []


@pytest.mark.parametrize("package", ["adapters", "staff"])
def test_adapters_and_staff_never_import_the_entrypoints(package: str) -> None:
    assert _breaking(package, ENTRYPOINTS) == []


def test_the_layer_exceptions_name_real_files() -> None:
    assert [e for e in sorted(LAYER_EXCEPTIONS) if not (ROOT / e.split(":")[0]).is_file()] == []


def test_the_package_root_holds_only_entry_and_configuration_modules() -> None:
    assert {p.stem for p in AUCTION.glob("*.py")} == ROOT_MODULES


def test_no_folder_holds_more_than_a_dozen_modules() -> None:
    # A newcomer reads a folder at a glance; past a dozen modules it wants a subpackage.
    crowded = {str(d.relative_to(ROOT)): n for d in [AUCTION, *(p for p in AUCTION.rglob("*") if p.is_dir())]
               if (n := len([m for m in d.glob("*.py") if m.name != "__init__.py"])) > 12}
    assert crowded == {}


def test_the_rules_see_a_breaking_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The checkers read real files: a fake tree with one import of each kind the rules forbid.
    fake = tmp_path / "auction"
    for package, source in {
        "domain": "from auction.store import events\nimport json\n",
        "services": "from auction.entrypoints.api import guard\nfrom auction.store import events\n",
        "documents": "from auction.domain import money\nfrom auction.store.events import to_micros\n",
    }.items():
        (fake / package).mkdir(parents=True)
        (fake / package / "m.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "AUCTION", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _breaking("domain", only=("auction.domain",)) == [
        "auction/domain/m.py: auction.store", "auction/domain/m.py: auction.store.events"]
    assert _breaking("services", ENTRYPOINTS) == [
        "auction/services/m.py: auction.entrypoints.api", "auction/services/m.py: auction.entrypoints.api.guard"]
    assert _breaking("documents", only=("auction.documents", "auction.domain")) == [
        "auction/documents/m.py: auction.store.events", "auction/documents/m.py: auction.store.events.to_micros"]


@pytest.mark.parametrize(
    "text",
    [
        "SELECT plan_id FROM plans WHERE session_id = $1",
        "INSERT INTO bidders (session_id) VALUES ($1)",
        "UPDATE reoffers SET note = $2",
        "DELETE FROM console_sessions WHERE id_hash = $1",
        "   FROM publication_outbox o JOIN publications p USING (document_id)",
    ],
)
def test_the_sql_pattern_finds_sql(text: str) -> None:
    assert SQL.search(text)


@pytest.mark.parametrize("text", ["select the parcel from the list", "Q42: the contract was not signed in time", "FROM"])
def test_the_sql_pattern_skips_prose(text: str) -> None:
    assert not SQL.search(text)


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
    "module",
    ["auction.services.session", "auction.services.deposits", "auction.services.registration", "auction.app",
     "auction.entrypoints"],
)
def test_the_import_checker_flags_what_is_above_the_store(module: str) -> None:
    assert ABOVE_THE_STORE.match(module)


@pytest.mark.parametrize(
    "module", ["auction.domain.codes", "auction.store.events", "auction.services_doc", "auction.applications"]
)
def test_the_import_checker_lets_the_rest_pass(module: str) -> None:
    assert not ABOVE_THE_STORE.match(module)
