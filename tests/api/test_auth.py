"""Bearer tokens and roles: 401 without a valid token, 403 below the route's role; token
sources (environment, file, generated on first start)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import Role, load_tokens, parse_entries
from api.main import create_app
from api.settings import Settings
from tests.api.conftest import TOKENS, auth
from twin.errors import InputFileError

MISSING = "0" * 32  # a well-formed id that does not exist


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-known-token-at-all"},
    {"Authorization": f"Basic {TOKENS['admin']}"}, {"Authorization": "Bearer "},
])
def test_no_or_unknown_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    r = client.get("/api/v1/networks", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "token" in r.json()["detail"]


# (method, path, body, lowest role allowed)
MATRIX = [
    ("GET", "/api/v1/networks", None, "viewer"),
    ("GET", "/api/v1/scenarios", None, "viewer"),
    ("GET", "/api/v1/policies", None, "viewer"),
    ("POST", "/api/v1/networks", {"scenario": "no-such-scenario"}, "planner"),
    ("DELETE", f"/api/v1/networks/{MISSING}", None, "planner"),
    ("POST", f"/api/v1/networks/{MISSING}/plans", {}, "planner"),
    ("POST", f"/api/v1/plans/{MISSING}/cancel", None, "planner"),
    ("POST", f"/api/v1/plans/{MISSING}/verify", {"actions": []}, "planner"),
    ("POST", "/api/v1/policies/validate", {"yaml": "rules: []"}, "planner"),
    ("POST", f"/api/v1/plans/{MISSING}/approve", {}, "approver"),
    ("PUT", "/api/v1/policies", {"yaml": "rules: ["}, "admin"),
]
ROLES = ("viewer", "planner", "approver", "admin")


@pytest.mark.parametrize(("method", "path", "body", "lowest"), MATRIX)
def test_role_matrix(client: TestClient, method: str, path: str, body: object,
                     lowest: str) -> None:
    for role in ROLES:
        r = client.request(method, path, json=body, headers=auth(role))
        if ROLES.index(role) < ROLES.index(lowest):
            assert r.status_code == 403, (role, r.text)
            assert lowest in r.json()["detail"]
        else:
            # allowed: whatever the route answers for this input, it is not an auth error
            assert r.status_code not in (401, 403), (role, r.status_code, r.text)
            assert r.status_code < 500


def test_parse_entries_names_and_roles() -> None:
    entries = dict(parse_entries("viewer:abcdefghijklmnop, alice:approver:0123456789abcdefXYZ",
                                 "env", ","))
    assert entries["abcdefghijklmnop"].name == "viewer"
    assert entries["abcdefghijklmnop"].role == Role.viewer
    assert entries["0123456789abcdefXYZ"].name == "alice"
    assert entries["0123456789abcdefXYZ"].role == Role.approver


@pytest.mark.parametrize(("text", "needle"), [
    ("boss:abcdefghijklmnopqr", "unknown role"),
    ("admin:short", "at least 16"),
    ("admin", "role:TOKEN"),
    ("  ,  ", "no token entries"),
])
def test_bad_token_entries_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(InputFileError, match=needle):
        parse_entries(text, "CELLTWIN_TOKENS", ",")


def test_generated_token_file_is_private_and_reused(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    first = load_tokens(s)
    assert first.generated
    path = tmp_path / "tokens.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {u.role for _, u in first.entries} == set(Role)
    second = load_tokens(s)
    assert not second.generated
    assert second.token_for(Role.admin) == first.token_for(Role.admin)


def test_token_file_from_settings(tmp_path: Path) -> None:
    f = tmp_path / "tok.txt"
    f.write_text("# comment\nbob:planner:bob-token-0123456789  # trailing comment\n")
    table = load_tokens(Settings(data_dir=tmp_path, tokens_file=f))
    user = table.lookup("bob-token-0123456789")
    assert user is not None and user.name == "bob" and user.role == Role.planner
    assert table.lookup("bob-token-012345678") is None
    with pytest.raises(InputFileError, match="not found"):
        load_tokens(Settings(data_dir=tmp_path, tokens_file=tmp_path / "missing.txt"))


def test_first_start_prints_the_admin_token(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(Settings(data_dir=tmp_path, job_backend="thread"))
    with TestClient(app) as c:
        out = capsys.readouterr().out
        admin = load_tokens(Settings(data_dir=tmp_path)).token_for(Role.admin)
        assert admin is not None and admin in out
        r = c.get("/api/v1/policies", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200


def test_settings_from_env() -> None:
    s = Settings.from_env({"CELLTWIN_DATA_DIR": "/tmp/x", "CELLTWIN_WORKERS": "3",
                           "CELLTWIN_MAX_UPLOAD_MB": "1.5", "CELLTWIN_JOB_BACKEND": "thread"})
    assert s.data_dir == Path("/tmp/x") and s.workers == 3 and s.job_backend == "thread"
    assert s.max_upload_bytes == int(1.5 * 1024 * 1024)
    assert s.db_url == f"sqlite:///{Path('/tmp/x').resolve()}/celltwin.db"
    assert Settings.from_env({"DATABASE_URL": "postgresql+psycopg://u@h/db"}).db_url == \
        "postgresql+psycopg://u@h/db"
    with pytest.raises(InputFileError, match="CELLTWIN_WORKERS"):
        Settings.from_env({"CELLTWIN_WORKERS": "many"})
    with pytest.raises(InputFileError, match="job_backend"):
        Settings.from_env({"CELLTWIN_JOB_BACKEND": "cloud"})
