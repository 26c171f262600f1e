"""The bottom of the dependency direction planner -> policies -> actions -> twin: ``actions``
imports only ``twin`` of our packages, and ``policies`` only ``actions`` and ``twin`` (also
inside functions: a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"twin", "actions", "policies", "planner", "api", "ui", "cli", "bench", "tests"}
ALLOWED = {"actions": {"actions", "twin"}, "policies": {"policies", "actions", "twin"}}


def our_imports(path: Path) -> set[str]:
    """Top-level names of our packages that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[0] for n in names} & OURS
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_the_layers_below(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = {str(f.relative_to(ROOT)): sorted(our_imports(f) - ALLOWED[package])
             for f in files if our_imports(f) - ALLOWED[package]}
    assert wrong == {}
