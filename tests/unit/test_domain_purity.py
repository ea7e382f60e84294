"""House rule (docs/architecture.md): `auction/domain` imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "auction" / "domain"
DOMAIN_FILES = sorted(DOMAIN.rglob("*.py"))


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the package
                names.append("auction.domain." + (node.module or ""))
            else:
                assert node.module is not None
                names.append(node.module)
    return names


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or module == "auction.domain" or module.startswith("auction.domain.")


def test_the_domain_has_modules() -> None:
    names = {p.name for p in DOMAIN_FILES}
    assert {"session.py", "commands.py", "events.py", "terms.py", "codes.py", "money.py"} <= names


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_imports_only_stdlib_and_domain(path: Path) -> None:
    foreign = [m for m in imported_modules(path) if not allowed(m)]
    assert foreign == [], f"{path.name} imports {foreign}"


@pytest.mark.parametrize(
    ("module", "ok"),
    [
        ("hashlib", True),
        ("dataclasses", True),
        ("auction.domain.codes", True),
        ("auction.store", False),
        ("auction.domainx", False),
        ("asyncpg", False),
        ("starlette.applications", False),
    ],
)
def test_the_checker_itself(module: str, ok: bool) -> None:
    assert allowed(module) is ok


def test_the_checker_finds_a_foreign_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom asyncpg import connect\nif True:\n    import websockets\n", encoding="utf-8")
    assert [m for m in imported_modules(bad) if not allowed(m)] == ["asyncpg", "websockets"]
