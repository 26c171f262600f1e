"""Verdicts and approvals against the policy in force (api/verdicts.py): after ``PUT
/policies`` a plan shows the policy its stored verdict was made under, the verdict of the
policy in force, and approvals given under another policy as stale; exports say where the
plan stands, and an A1 document is refused unless the plan is approved."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.policy_store import default_files
from tests.api.conftest import QUICK_PLAN, auth, wait_plan

#: The default policy with a budget cap the quick hotspot plan (a few thousand EUR) breaks.
STRICT_RULE = """rules:
  - id: budget-tiny
    kind: budget
    severity: deny
    scope: total
    max_eur: 50
    message: The plan costs more than EUR 50.
"""


def put_policy(client: TestClient, files: dict[str, str]) -> dict[str, Any]:
    r = client.put("/api/v1/policies", json={"files": files}, headers=auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def get(client: TestClient, pid: str) -> dict[str, Any]:
    return client.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()  # type: ignore[no-any-return]


def listed(client: TestClient, pid: str) -> dict[str, Any]:
    items = client.get("/api/v1/plans", headers=auth("viewer")).json()["items"]
    return next(p for p in items if p["id"] == pid)


def export(client: TestClient, pid: str, fmt: str) -> Any:
    return client.get(f"/api/v1/plans/{pid}/export?format={fmt}", headers=auth("viewer"))


@pytest.fixture(scope="module")
def loose(client: TestClient) -> dict[str, Any]:
    return put_policy(client, default_files())


@pytest.fixture(scope="module")
def approved_plan(client: TestClient, hotspot_id: str, loose: dict[str, Any]
                  ) -> dict[str, Any]:
    pid = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=QUICK_PLAN,
                      headers=auth("planner")).json()["id"]
    assert wait_plan(client, pid)["status"] == "done"
    r = client.post(f"/api/v1/plans/{pid}/approve", json={}, headers=auth("approver"))
    assert r.status_code == 201, r.text
    return get(client, pid)


def test_a_plan_names_the_policy_of_its_verdict(approved_plan: dict[str, Any],
                                                loose: dict[str, Any]) -> None:
    p = approved_plan
    assert p["policy_passed"] is True and p["approved"] is True
    assert p["policy_version"] == loose["version"] and p["policy_hash"] == loose["policy_hash"]
    assert p["policy_current"] == {"version": loose["version"],
                                   "policy_hash": loose["policy_hash"], "stale": False,
                                   "passed": True, "violations": [],
                                   "status": "approved"}
    assert p["policy_passed_current"] is True
    (a,) = p["approvals"]
    assert a["policy_version"] == loose["version"] and a["stale"] is False


def test_a_stricter_policy_makes_the_verdict_and_approvals_stale(
        client: TestClient, approved_plan: dict[str, Any], loose: dict[str, Any]) -> None:
    pid = approved_plan["id"]
    strict = put_policy(client, {**default_files(), "tiny.yaml": STRICT_RULE})
    try:
        for p in (get(client, pid), listed(client, pid)):
            # what was recorded stays, what counts now is the policy in force
            assert p["policy_passed"] is True and p["policy_version"] == loose["version"]
            assert p["policy_passed_current"] is False and p["approved"] is False
            cur = p["policy_current"]
            assert cur["stale"] is True and cur["passed"] is False
            assert cur["version"] == strict["version"]
            assert cur["policy_hash"] == strict["policy_hash"]
            assert [a["stale"] for a in p["approvals"]] == [True]
        cur = get(client, pid)["policy_current"]
        assert cur["violations"] == ["budget-tiny"] and cur["status"] == "denied"
        # the approver cannot approve it again under the policy in force
        r = client.post(f"/api/v1/plans/{pid}/approve", json={}, headers=auth("admin"))
        assert r.status_code == 409 and "budget-tiny" in r.json()["detail"]
        # exports say so; A1 is refused
        r = export(client, pid, "geojson")
        assert r.status_code == 200
        props = r.json()["properties"]
        assert props["status"] == "denied" and props["approved"] is False
        assert props["policy_version"] == strict["version"] and props["policy_passed"] is False
        assert r.headers["x-celltwin-plan-status"] == "denied"
        assert r.headers["x-celltwin-approved"] == "false"
        assert r.headers["x-celltwin-policy-version"] == str(strict["version"])
        r = export(client, pid, "csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows and {(x["plan_status"], x["approved"], x["policy_version"])
                         for x in rows} == {("denied", "false", str(strict["version"]))}
        assert f"plan-{pid}-denied.csv" in r.headers["content-disposition"]
        r = export(client, pid, "a1")
        assert r.status_code == 409
        assert "not approved" in r.json()["detail"] and "budget-tiny" in r.json()["detail"]
    finally:
        put_policy(client, default_files())
    # the loose policy again (same content, same hash): the approval counts again
    back = get(client, pid)
    assert back["approved"] is True and back["policy_current"]["stale"] is False
    assert [a["stale"] for a in back["approvals"]] == [False]
    r = export(client, pid, "a1")
    assert r.status_code == 200, r.text
    x = r.json()["x_celltwin"]
    assert x["status"] == "approved" and x["approved"] is True
    assert [a["by"] for a in x["approvals"]] == ["approver"]
    assert r.headers["x-celltwin-plan-status"] == "approved"


def test_an_approval_under_another_policy_must_be_given_again(
        client: TestClient, hotspot_id: str, loose: dict[str, Any]) -> None:
    pid = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=QUICK_PLAN,
                      headers=auth("planner")).json()["id"]
    assert wait_plan(client, pid)["status"] == "done"
    assert client.post(f"/api/v1/plans/{pid}/approve", json={},
                       headers=auth("approver")).status_code == 201
    files = default_files()
    files["budget.yaml"] += "\n# reviewed\n"  # another version, the same rules
    try:
        new = put_policy(client, files)
        p = get(client, pid)
        assert p["policy_current"]["passed"] is True and p["approved"] is False
        assert p["policy_current"]["stale"] is True
        assert p["policy_current"]["status"] == "draft"
        r = export(client, pid, "geojson")
        assert r.json()["properties"]["status"] == "draft"
        assert export(client, pid, "a1").status_code == 409
        # the same approver approves again under the policy in force
        r = client.post(f"/api/v1/plans/{pid}/approve", json={}, headers=auth("approver"))
        assert r.status_code == 201, r.text
        assert r.json()["approval"]["policy_version"] == new["version"]
        p = get(client, pid)
        assert p["approved"] is True and p["policy_version"] == new["version"]
        assert [a["stale"] for a in p["approvals"]] == [True, False]
        assert export(client, pid, "a1").status_code == 200
    finally:
        put_policy(client, default_files())


def test_a_plan_that_is_not_approved_is_a_draft(client: TestClient,
                                                done_plan: dict[str, Any]) -> None:
    r = export(client, done_plan["id"], "geojson")
    assert r.json()["properties"]["status"] == "draft"
    assert r.json()["properties"]["approved"] is False
    r = export(client, done_plan["id"], "a1")
    assert r.status_code == 409 and "no approval" in r.json()["detail"]
