"""The command line is the top layer (cli/): no lower package imports it, and api/ does not
import the UI (the UI is a client of the API over HTTP; the launcher, ``celltwin demo``, lives
in cli/). Every import statement of every module is read, the lazy ones inside functions too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: package -> top-level packages it must not import
FORBIDDEN = {"api": {"cli", "ui"}, "planner": {"cli", "api", "ui"},
             "policies": {"cli", "api", "ui"}, "twin": {"cli", "api", "ui"}}


def imported_packages(path: Path) -> set[str]:
    """The top-level package names ``path`` imports (absolute imports)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.add(node.args[0].value.split(".")[0])  # importlib.import_module("pkg.mod")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(package: str) -> None:
    bad = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & FORBIDDEN[package])
           for p in sorted((ROOT / package).rglob("*.py"))}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_checker_sees_lazy_and_importlib_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import os\n\ndef f():\n    from ui.settings import X\n"
                 "    importlib.import_module('cli.plan_cmd')\n")
    assert imported_packages(f) == {"os", "ui", "cli"}


#: A command-line option as a user would type it (``--cells``, ``--llm-adapter``).
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def raised_texts(path: Path) -> list[str]:
    """The string parts of every ``raise`` statement's expression in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            out += [c.value for c in ast.walk(node.exc)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return out


@pytest.mark.parametrize("package", ["planner", "policies", "twin"])
def test_lower_layers_name_no_command_line_option(package: str) -> None:
    """Their errors reach the API and the UI too, where a flag means nothing: the command
    line names its own options (cli/)."""
    found = {str(p.relative_to(ROOT)): hits for p in sorted((ROOT / package).rglob("*.py"))
             if (hits := [t for t in raised_texts(p) if FLAG.search(t)])}
    assert found == {}


def test_the_flag_checker_finds_a_flag(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f(n):\n    raise ValueError(f'--max-length {n} is too small')\n")
    assert raised_texts(f) and FLAG.search(raised_texts(f)[0])
