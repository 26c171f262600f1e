"""The twin package's layout: modules share public names only, and twin/engine.py's
docstring is a table of contents of the modules a run goes through."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import twin
import twin.engine

TWIN_DIR = Path(twin.__file__).parent


def _imports(path: Path) -> list[ast.ImportFrom]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0
            and n.module is not None and n.module.split(".")[0] == "twin"]


def test_twin_modules_import_no_private_names():
    # A name another module needs is part of its module's interface: public, documented.
    bad = [f"{p.relative_to(TWIN_DIR.parent)}: from {n.module} import {a.name}"
           for p in sorted(TWIN_DIR.rglob("*.py")) for n in _imports(p) for a in n.names
           if a.name.startswith("_")]
    assert not bad, bad


def test_engine_docstring_lists_the_modules_it_uses():
    doc = twin.engine.__doc__ or ""
    listed = set(re.findall(r"``twin/(\w+)\.py``", doc))
    assert listed, "the docstring names no module"
    missing = sorted(m for m in listed if not (TWIN_DIR / f"{m}.py").is_file())
    assert not missing, f"engine.py's docstring lists modules that do not exist: {missing}"
    used = {n.module.split(".")[1] for n in _imports(TWIN_DIR / "engine.py")
            if n.module is not None and n.module.count(".") == 1}
    # The plain data modules every twin module reads need no entry.
    unlisted = sorted(used - listed - {"config", "demand", "network", "state", "errors"})
    assert not unlisted, f"engine.py uses modules its docstring does not list: {unlisted}"
