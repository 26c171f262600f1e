"""The policy in force: get, validate, replace (admin), and plans gated by the new policy."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from policies import load_policy, policy_from_texts
from tests.api.conftest import QUICK_PLAN, auth, wait_plan

ONE_ACTION = """\
description: test policy
rules:
  - id: one-change
    kind: max_actions
    severity: deny
    max_count: 1
    message: One change per plan in this test.
"""
BROKEN = """\
rules:
  - id: one-change
    kind: max_actions
    severity: sometimes
    max_count: 1
    message: x
"""


def test_get_default_policy(client: TestClient) -> None:
    body = client.get("/api/v1/policies", headers=auth("viewer")).json()
    default = load_policy(None)
    assert body["version"] is None and body["policy_hash"] == default.policy_hash
    assert set(body["files"]) == set(default.files)
    assert not any(f.endswith("_cases.yaml") for f in body["files"])
    assert {r["id"] for r in body["rules"]} == set(default.rule_ids)
    tilt = next(r for r in body["rules"] if r["id"] == "tilt-range")
    assert tilt["severity"] == "deny" and tilt["file"] == "actions.yaml" and tilt["line"] > 0


def test_validate_good_and_bad(client: TestClient) -> None:
    r = client.post("/api/v1/policies/validate", json={"yaml": ONE_ACTION},
                    headers=auth("planner"))
    assert r.status_code == 200
    assert r.json()["valid"] is True
    assert r.json()["policy_hash"] == policy_from_texts({"policy.yaml": ONE_ACTION}).policy_hash
    r = client.post("/api/v1/policies/validate",
                    json={"files": {"count.yaml": BROKEN, "syntax.yaml": "rules: [\n"}},
                    headers=auth("planner"))
    body = r.json()
    assert r.status_code == 200 and body["valid"] is False
    by_file = {i["file"]: i for i in body["issues"]}
    assert by_file["count.yaml"]["line"] == 4 and "severity" in by_file["count.yaml"]["message"]
    assert "syntax.yaml" in by_file and "YAML" in by_file["syntax.yaml"]["message"]


@pytest.mark.parametrize("body", [{}, {"yaml": "a", "files": {"a.yaml": "b"}}, {"files": {}},
                                  {"files": {"../etc/passwd.yaml": "rules: []"}},
                                  {"yaml": "rules: []", "name": "policy.txt"}])
def test_bad_policy_body_is_422(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/api/v1/policies/validate", json=body, headers=auth("planner"))
    assert r.status_code == 422


def test_replace_then_plans_use_the_new_policy(client: TestClient, hotspot_id: str,
                                               done_plan: dict[str, Any]) -> None:
    r = client.put("/api/v1/policies", json={"yaml": BROKEN}, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["issues"][0]["line"] == 4
    assert client.get("/api/v1/policies", headers=auth("viewer")).json()["version"] is None
    r = client.put("/api/v1/policies", json={"yaml": ONE_ACTION, "name": "test.yaml"},
                   headers=auth("admin"))
    assert r.status_code == 200, r.text
    new_hash = policy_from_texts({"test.yaml": ONE_ACTION}).policy_hash
    assert r.json()["policy_hash"] == new_hash and r.json()["version"] == 1
    got = client.get("/api/v1/policies", headers=auth("viewer")).json()
    assert got["files"] == {"test.yaml": ONE_ACTION} and got["created_by"] == "admin"
    # a new plan is optimised and gated under the new policy
    pid = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=QUICK_PLAN,
                      headers=auth("planner")).json()["id"]
    plan = wait_plan(client, pid)
    assert plan["status"] == "done" and plan["params"]["policy_hash"] == new_hash
    assert len(plan["result"]["actions"]) == 1
    assert plan["result"]["policy"]["passed"] is True
    # an older two-action plan fails the gate of the policy now in force
    if len(done_plan["result"]["actions"]) == 2:
        r = client.post(f"/api/v1/plans/{done_plan['id']}/verify",
                        json={"actions": done_plan["result"]["actions"]},
                        headers=auth("planner"))
        assert r.json()["passed"] is False
        assert [v["id"] for v in r.json()["policy"]["violations"]] == ["one-change"]
    audit = client.get("/api/v1/audit?action=policy.replace", headers=auth("viewer")).json()
    assert audit["count"] == 1 and audit["items"][0]["details"]["policy_hash"] == new_hash
