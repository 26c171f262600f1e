"""The command line is the top layer (cli/): the layers below it name no command-line option in
the errors they raise (those reach the API and the UI too). Which package may import which is
tests/test_architecture.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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
