"""Error answers: they echo what the user sent only in part (a megabyte-long key, file name,
id or argument comes back cut, api/echo.py, in the API and in the CLI), and a body that cannot
be parsed at all is a 422 with the usual ``errors``, never the framework's bare 400."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.echo import MAX_DETAIL, MAX_ITEMS, clip, clip_strings
from cli.main import main
from tests.api.conftest import auth

BIG = "x" * 1_000_000


def test_clip_keeps_start_and_end() -> None:
    assert clip("short") == "short"
    cut = clip("a" * 5000 + "what to do", 300)
    assert len(cut) < 350 and cut.startswith("a" * 200) and cut.endswith("what to do")
    assert "characters cut" in cut
    doc = clip_strings({"issues": [{"message": "m" * 5000}] * 1000})
    assert len(doc["issues"]) == MAX_ITEMS and len(doc["issues"][0]["message"]) < 600


@pytest.mark.parametrize(("method", "url", "kwargs"), [
    ("POST", "/api/v1/networks", {"json": {"scenario": "hotspot", BIG: 1}}),  # key in loc
    ("POST", "/api/v1/policies/test", {"json": {"files": {BIG + ".yaml": "rules: []"}}}),
    ("GET", "/api/v1/plans/" + BIG[:60_000], {}),
    ("POST", "/api/v1/plans/" + BIG[:60_000] + "/approve", {"json": {}}),
])
def test_error_bodies_are_bounded(client: TestClient, method: str, url: str,
                                  kwargs: dict[str, Any]) -> None:
    r = client.request(method, url, headers=auth("admin"), **kwargs)
    assert 400 <= r.status_code < 500, r.text[:300]
    assert len(r.content) < 3 * MAX_DETAIL, len(r.content)
    assert "characters cut" in r.json()["detail"]


def test_many_errors_are_listed_in_part(client: TestClient, done_plan: dict[str, Any]) -> None:
    actions = [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": "steep"}] * 200
    r = client.post(f"/api/v1/plans/{done_plan['id']}/verify", json={"actions": actions},
                    headers=auth("planner"))
    assert r.status_code == 422
    body = r.json()
    assert len(body["errors"]) == 50 and body["n_errors"] == 200
    assert body["detail"].endswith("(and 195 more)")


def test_cli_error_line_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["twin", "--scenario", "y" * 200_000]) == 2
    err = capsys.readouterr().err
    assert err.startswith("celltwin: error: ") and len(err) < MAX_DETAIL + 100
    assert "characters cut" in err


# --- bodies that cannot be parsed ---------------------------------------------------------------
JSON_ROUTES = [("POST", "/api/v1/networks"), ("POST", "/api/v1/networks/x/plans"),
               ("POST", "/api/v1/plans/x/verify"), ("POST", "/api/v1/plans/x/approve"),
               ("PUT", "/api/v1/policies"), ("POST", "/api/v1/policies/validate"),
               ("POST", "/api/v1/policies/test")]


@pytest.mark.parametrize(("method", "url"), JSON_ROUTES)
@pytest.mark.parametrize("body", [b'{"scenario": "\xff\xfe"}', b"\xff\xfe{"])
def test_non_utf8_json_is_422_with_the_error_shape(client: TestClient, method: str, url: str,
                                                   body: bytes) -> None:
    r = client.request(method, url, content=body, headers={
        **auth("admin"), "content-type": "application/json"})
    assert r.status_code == 422, r.text
    got = r.json()
    assert "UTF-8" in got["detail"]
    assert got["errors"] == [{"loc": ["body"], "msg": got["errors"][0]["msg"],
                              "type": "body_unreadable"}]


def test_broken_multipart_is_422(client: TestClient) -> None:
    r = client.post("/api/v1/networks/import", content=b"--zz\r\n\xff\xff",
                    headers={**auth("planner"),
                             "content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["type"] == "body_unreadable"
