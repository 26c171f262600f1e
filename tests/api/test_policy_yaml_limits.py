"""The policy routes on hostile YAML (issue 11, item 4): an alias bomb or a deeply nested
file is answered at once with file and line, by /policies/validate (planner) and by
/policies/test (viewer), never with a 500 or seconds of server CPU."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.policies.test_yaml_limits import alias_bomb

DEEP = "rules: " + "[" * 2000 + "]" * 2000


@pytest.mark.parametrize(("text", "needle"), [(alias_bomb(), "anchor &l0 is not allowed"),
                                              (DEEP, "MAX_YAML_DEPTH")])
def test_validate_refuses_bombs_quickly(client: TestClient, text: str, needle: str) -> None:
    t0 = time.perf_counter()
    r = client.post("/api/v1/policies/validate", json={"yaml": text}, headers=auth("planner"))
    assert time.perf_counter() - t0 < 5.0
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is False
    assert any(needle in i["message"] for i in body["issues"]), body


@pytest.mark.parametrize("file", ["budget.yaml", "budget_cases.yaml"])
@pytest.mark.parametrize(("text", "needle"), [(alias_bomb(8), "is not allowed"),
                                              (DEEP, "MAX_YAML_DEPTH")])
def test_policy_test_refuses_bombs_quickly(client: TestClient, file: str, text: str,
                                           needle: str) -> None:
    files = {"budget.yaml": "rules: []\n", file: text}
    t0 = time.perf_counter()
    r = client.post("/api/v1/policies/test", json={"files": files}, headers=auth("viewer"))
    assert time.perf_counter() - t0 < 5.0
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"] and file in r.json()["detail"]
