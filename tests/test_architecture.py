"""The packages import downwards only (docs/architecture.md):

    ui --(HTTP)--> api -> planner -> policies -> actions -> twin,   cli on top of them all.

``ui`` talks to the API over HTTP and imports none of the other packages; ``cli`` may import
everything (it starts the API and the UI). Dynamic imports of our own packages
(``importlib.import_module("planner...")``, ``__import__``) are refused too: they hide an edge
from this check and from a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: bottom to top: a package may import itself and the packages before it
LAYERS = ("twin", "actions", "policies", "planner", "api", "cli")
OURS = (*LAYERS, "ui")
ALLOWED: dict[str, frozenset[str]] = {
    **{pkg: frozenset(LAYERS[: i + 1]) for i, pkg in enumerate(LAYERS)},
    "ui": frozenset({"ui"}),
}
ALLOWED["cli"] = ALLOWED["cli"] | {"ui"}  # `celltwin demo` starts the UI with its settings

_DYNAMIC = {"import_module", "__import__"}


def imported_packages(source: str) -> Iterator[tuple[int, str, bool]]:
    """(line, top-level package, dynamic?) of every absolute import in ``source``, at any depth
    (imports inside functions count: a lazy import is still a dependency)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.partition(".")[0], False
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.partition(".")[0], False
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in _DYNAMIC and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                arg = node.args[0]
                text = arg.value if isinstance(arg, ast.Constant) else "".join(
                    v.value for v in arg.values if isinstance(v, ast.Constant))
                if isinstance(text, str):
                    yield node.lineno, text.partition(".")[0], True


def violations(package: str, source: str, where: str) -> list[str]:
    out = []
    for line, target, dynamic in imported_packages(source):
        if target not in OURS:
            continue
        if dynamic:
            out.append(f"{where}:{line}: imports {target!r} dynamically; use a plain import")
        elif target not in ALLOWED[package]:
            out.append(f"{where}:{line}: {package} must not import {target} "
                       f"(allowed: {', '.join(sorted(ALLOWED[package]))})")
    return out


def test_every_layer_exists() -> None:
    missing = [pkg for pkg in OURS if not (ROOT / pkg / "__init__.py").is_file()]
    assert not missing, f"packages named in the layer rule but missing: {missing}"


@pytest.mark.parametrize("package", OURS)
def test_imports_go_down_the_layers(package: str) -> None:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        found += violations(package, path.read_text(encoding="utf-8"),
                            str(path.relative_to(ROOT)))
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("package", "source", "bad"), [
    ("policies", "def f():\n    from planner.loop import plan_network\n", True),
    ("api", "import ui.settings\n", True),
    ("twin", "import importlib\nm = importlib.import_module('twin.scenarios.milan')\n", True),
    ("planner", "m = __import__(f'policies.{x}')\n", True),
    ("planner", "from policies import PolicySet\nfrom actions import ActionBase\n", False),
    ("ui", "import streamlit as st\nfrom ui.client import Client\n", False),
    ("cli", "from api.main import app\nfrom ui.settings import UiSettings\n", False),
])
def test_the_rule_catches_what_it_should(package: str, source: str, bad: bool) -> None:
    assert bool(violations(package, source, "example.py")) is bad
