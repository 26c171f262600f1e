"""docs/api.md's role table names every route with the role the code requires, and the data
directory is private: the folder 0700, the database and the token file 0600."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import API_PREFIX, create_app
from api.settings import Settings
from tests.api.conftest import auth, make_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROLES = ("none", "viewer", "planner", "approver", "admin")
_ROUTE = re.compile(r"`(GET|POST|PUT|DELETE|PATCH) (/[^`?\s]*)")


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def documented_roles() -> dict[tuple[str, str], set[str]]:
    """(method, path with {} for parameters) -> the roles its row of the table names."""
    out: dict[tuple[str, str], set[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cols = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cols) < 3 or not _ROUTE.search(cols[0]):
            continue
        roles = {r.strip() for r in cols[1].split("/")}
        for method, path in _ROUTE.findall(cols[0]):
            out[(method, _norm(path))] = roles
    return out


def required_role(c: TestClient, method: str, path: str) -> str:
    """The lowest role the route answers without 401/403 (path ids are dummies: 404 or 422
    come after the role check)."""
    url = re.sub(r"\{[^}]*\}", "x", path)
    if c.request(method, url).status_code != 401:
        return "none"
    for role in ROLES[1:]:
        if c.request(method, url, headers=auth(role)).status_code not in (401, 403):
            return role
    raise AssertionError(f"{method} {path} refuses every role")


def test_every_route_is_in_the_role_table_with_its_role(tmp_path: Path) -> None:
    table = documented_roles()
    missing, wrong = [], []
    with TestClient(create_app(make_settings(tmp_path))) as c:
        for path, ops in c.get("/openapi.json").json()["paths"].items():
            if not path.startswith(API_PREFIX):
                continue
            for method in ops:
                method = method.upper()
                role = required_role(c, method, path)
                key = (method, _norm(path.removeprefix(API_PREFIX)))
                if key not in table:
                    missing.append(f"{method} {path} ({role})")
                elif role not in table[key]:
                    wrong.append(f"{method} {path}: code {role}, docs {sorted(table[key])}")
    assert not missing, "routes missing from docs/api.md: " + ", ".join(sorted(missing))
    assert not wrong, "roles that docs/api.md gets wrong: " + "; ".join(sorted(wrong))


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_data_dir_database_and_tokens_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    settings = Settings(data_dir=data, job_backend="thread")  # tokens generated in data/
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/v1/health").status_code == 200
        db = data / "celltwin.db"
        assert _mode(data) == 0o700
        assert _mode(db) == 0o600
        assert _mode(data / "tokens.txt") == 0o600
        wal = data / "celltwin.db-wal"
        if wal.exists():  # SQLite gives it the database file's mode
            assert _mode(wal) == 0o600
