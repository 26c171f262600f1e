"""Plans end to end on hotspot: job, progress, result, cancel, verify an edit, approve, audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from actions.apply import apply_actions
from actions.models import parse_actions
from api.audit import code_version
from api.main import create_app
from api.network_store import network_hash
from policies import load_policy
from tests.api.conftest import QUICK_PLAN, auth, make_settings, wait_plan
from twin.scenarios import load_scenario

#: The fields of `celltwin plan --json` (cli/plan_cmd.py -> planner.plan.Plan.to_json)
PLAN_JSON_FIELDS = {
    "scenario", "target", "budget", "horizon", "before", "after", "peak_before", "peak_after",
    "actions", "total_cost", "verified", "target_met", "converged", "iterations",
    "lower_bound", "solver", "executor", "max_actions", "what_ifs", "candidates", "message",
    "cells_before", "cells_after", "predicted", "history", "timings_s", "policy",
}


def start(client: TestClient, network_id: str, body: dict[str, Any] | None = None) -> str:
    r = client.post(f"/api/v1/networks/{network_id}/plans", json=body or QUICK_PLAN,
                    headers=auth("planner"))
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/plans/{r.json()['id']}"
    return str(r.json()["id"])


def test_plan_result_has_the_cli_fields(done_plan: dict[str, Any]) -> None:
    assert done_plan["progress"] == 1.0 and done_plan["stage"].startswith("done")
    res = done_plan["result"]
    assert set(res) >= PLAN_JSON_FIELDS
    assert res["scenario"] == "hotspot" and res["max_actions"] == 2
    assert 0 < len(res["actions"]) <= 2
    assert res["total_cost"] == pytest.approx(sum(a["cost"] for a in res["actions"]))
    assert res["peak_after"] < res["peak_before"]
    assert res["policy"]["passed"] is True and done_plan["policy_passed"] is True
    assert done_plan["params"]["max_neighbours"] == 0
    assert done_plan["started_at"] and done_plan["finished_at"]


def test_progress_is_monotone_and_stages_are_reported(client: TestClient,
                                                       hotspot_id: str) -> None:
    pid = start(client, hotspot_id)
    seen: list[tuple[str, float, str]] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        b = client.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()
        seen.append((b["status"], b["progress"], b["stage"]))
        if b["status"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert seen[-1][0] == "done" and seen[-1][1] == 1.0
    progress = [p for _, p, _ in seen]
    assert progress == sorted(progress)
    assert all(0.0 <= p <= 1.0 for p in progress)
    audit = client.get(f"/api/v1/plans/{pid}/audit", headers=auth("viewer")).json()
    stages = audit["provenance"]["stages"]
    assert [s.split(":")[0] for s in stages[:4]] == ["loading", "base", "candidates",
                                                       "sensitivities"]


def test_plan_list_and_unknown_plan(client: TestClient, done_plan: dict[str, Any]) -> None:
    listed = client.get(f"/api/v1/plans?network_id={done_plan['network_id']}&status=done",
                        headers=auth("viewer")).json()
    assert done_plan["id"] in {p["id"] for p in listed["items"]}
    assert all(p["result"] is None for p in listed["items"])  # lists stay light
    assert client.get("/api/v1/plans?status=bogus", headers=auth("viewer")).status_code == 422
    assert client.get("/api/v1/plans/nope", headers=auth("viewer")).status_code == 404
    r = client.post("/api/v1/networks/nope/plans", json=QUICK_PLAN, headers=auth("planner"))
    assert r.status_code == 404


@pytest.mark.parametrize("body", [{"target": 0}, {"budget_eur": -1}, {"horizon": "week"},
                                  {"max_iterations": 0}, {"colour": "red"},
                                  {"proposer": "oracle"}])
def test_bad_plan_request_is_422(client: TestClient, hotspot_id: str, body: dict) -> None:
    r = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=body, headers=auth("planner"))
    assert r.status_code == 422
    assert r.json()["detail"].startswith("invalid request")


def test_audit_records_provenance(client: TestClient, done_plan: dict[str, Any]) -> None:
    a = client.get(f"/api/v1/plans/{done_plan['id']}/audit", headers=auth("viewer")).json()
    prov = a["provenance"]
    assert prov["code"] == code_version() and prov["code"]["version"]
    assert prov["network"]["network_hash"] == network_hash(load_scenario("hotspot").network)
    assert prov["policy"]["policy_hash"] == load_policy(None).policy_hash
    assert prov["policy"]["version"] is None  # the shipped default
    assert prov["llm"] is None  # systematic generator only
    assert prov["solver"]["solver"] == "cbc"
    assert prov["solver"]["rounds"][0]["milp_status"] in ("optimal", "feasible")
    actions = [e["action"] for e in a["events"]]
    assert actions[0] == "plan.create" and "plan.done" in actions
    assert a["events"][0]["actor"] == "planner"


# --- verify and approve -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def edit_plan(client: TestClient, hotspot_id: str) -> dict[str, Any]:
    """A second finished plan that the verify/approve tests may edit."""
    return wait_plan(client, start(client, hotspot_id))


def verify(client: TestClient, plan_id: str, actions: list[dict[str, Any]],
           save: bool = False) -> tuple[int, dict[str, Any]]:
    r = client.post(f"/api/v1/plans/{plan_id}/verify", json={"actions": actions, "save": save},
                    headers=auth("planner"))
    return r.status_code, r.json()


@pytest.mark.parametrize(("extra", "rule"), [
    ({"kind": "set_tilt", "cell_id": "S02-1", "elec_tilt_deg": 20.0}, "tilt-range"),
    ({"kind": "set_cio", "cell_id": "S10-1", "cio_db": 2.0}, "protected-shared-mast"),
])
def test_edit_breaking_a_deny_rule_does_not_pass(client: TestClient,
                                                 edit_plan: dict[str, Any], extra: dict,
                                                 rule: str) -> None:
    actions = edit_plan["result"]["actions"] + [extra]
    status, body = verify(client, edit_plan["id"], actions)
    assert status == 200, body
    assert body["passed"] is False and body["verified"] is False
    assert rule in [v["id"] for v in body["policy"]["violations"]]
    assert body["saved"] is False
    again = client.get(f"/api/v1/plans/{edit_plan['id']}", headers=auth("viewer")).json()
    assert again["result"]["actions"] == edit_plan["result"]["actions"]  # not saved


def test_verify_runs_the_twin_on_the_edit(client: TestClient,
                                          edit_plan: dict[str, Any]) -> None:
    edit = [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 10.0,
             "rationale": "shrink the hot sector"}]
    status, body = verify(client, edit_plan["id"], edit)
    assert status == 200, body
    sc = load_scenario("hotspot")
    after = sc.twin().what_if(apply_actions(sc.network, parse_actions(edit))).run()
    assert body["peak_after"] == pytest.approx(after.kpis["peak_prb_util"], abs=1e-6)
    assert body["after"]["peak_prb_util"] == pytest.approx(after.kpis["peak_prb_util"],
                                                           abs=1e-6)
    assert body["total_cost"] == 100.0  # set_tilt in actions/costs_default.yaml
    assert body["actions"][0]["description"].startswith("set electrical tilt")


def test_a_saved_edit_describes_the_edited_plan(client: TestClient, hotspot_id: str) -> None:
    """The edited result's message is about the edit (its peak and cost), not the original
    plan's words; the rest of the record (rounds, candidates) stays the original's."""
    plan = wait_plan(client, start(client, hotspot_id))
    edit = [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 10.0}]
    status, body = verify(client, plan["id"], edit, save=True)
    assert status == 200 and body["saved"], body
    got = client.get(f"/api/v1/plans/{plan['id']}", headers=auth("viewer")).json()["result"]
    assert got["message"] != plan["result"]["message"]
    assert f"{got['peak_after']:.3f}" in got["message"] and got["peak_after"] == pytest.approx(
        body["peak_after"])
    assert f"{got['total_cost']:,.0f}" in got["message"] and got["total_cost"] == 100.0
    assert got["history"] == plan["result"]["history"]
    assert "predicted" not in got and "lower_bound" not in got


@pytest.mark.parametrize(("actions", "needle"), [
    ([{"kind": "set_tilt", "cell_id": "NOPE-1", "elec_tilt_deg": 8.0}], "NOPE-1"),
    ([{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8.0, "colour": 1}], "colour"),
    ([{"kind": "warp_drive", "cell_id": "S01-1"}], "kind"),
    ([{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8.0},
      {"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 9.0}], "keep one"),
])
def test_bad_edit_is_422(client: TestClient, edit_plan: dict[str, Any],
                         actions: list[dict], needle: str) -> None:
    status, body = verify(client, edit_plan["id"], actions)
    assert status == 422, body
    assert needle in body["detail"]


def test_approve_flow(client: TestClient, edit_plan: dict[str, Any]) -> None:
    pid = edit_plan["id"]
    approve = f"/api/v1/plans/{pid}/approve"
    assert client.post(approve, json={}, headers=auth("planner")).status_code == 403
    # save an edit that breaks a deny rule: approval must be refused
    bad = edit_plan["result"]["actions"] + [{"kind": "set_tilt", "cell_id": "S02-1",
                                             "elec_tilt_deg": 20.0}]
    status, body = verify(client, pid, bad, save=True)
    assert status == 200 and body["saved"] and not body["passed"]
    got = client.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()
    assert got["policy_passed"] is False and got["result"]["edited"]["by"] == "planner"
    r = client.post(approve, json={"comment": "ship it"}, headers=auth("approver"))
    assert r.status_code == 409
    assert "tilt-range" in r.json()["detail"]
    # put the planner's actions back: now it passes and can be approved
    status, body = verify(client, pid, edit_plan["result"]["actions"], save=True)
    assert status == 200 and body["passed"]
    r = client.post(approve, json={"comment": "ship it"}, headers=auth("approver"))
    assert r.status_code == 201, r.text
    assert r.json()["approved"] is True
    assert r.json()["approval"]["approver"] == "approver"
    assert client.post(approve, json={}, headers=auth("approver")).status_code == 409
    r = client.post(approve, json={}, headers=auth("admin"))  # a second, different approver
    assert r.status_code == 201
    got = client.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()
    assert got["approved"] is True
    assert [a["approver"] for a in got["approvals"]] == ["approver", "admin"]
    assert [a["by"] for a in got["result"]["approvals"]] == ["approver", "admin"]
    # an approved plan cannot be edited any more
    status, body = verify(client, pid, edit_plan["result"]["actions"], save=True)
    assert status == 409
    events = [e["action"] for e in client.get(f"/api/v1/plans/{pid}/audit",
                                              headers=auth("viewer")).json()["events"]]
    assert events.count("plan.edit") == 2 and events.count("plan.approve") == 2


# --- cancel -----------------------------------------------------------------------------------
def test_cancel_queued_and_running(tmp_path: Path) -> None:
    """One worker: the first plan runs, the second waits in the queue."""
    app = create_app(make_settings(tmp_path, workers=1))
    slow = {"max_actions": 4, "max_iterations": 3, "max_neighbours": 3, "small_cells": True}
    with TestClient(app) as c:
        nid = c.post("/api/v1/networks", json={"scenario": "hotspot"},
                     headers=auth("planner")).json()["id"]
        first, second = start(c, nid, slow), start(c, nid, slow)
        wait_plan(c, first, until=("running",))
        r = c.post(f"/api/v1/plans/{second}/cancel", headers=auth("planner"))
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        r = c.post(f"/api/v1/plans/{first}/cancel", headers=auth("viewer"))
        assert r.status_code == 403
        r = c.post(f"/api/v1/plans/{first}/cancel", headers=auth("planner"))
        assert r.status_code == 202 and r.json()["cancel_requested"] is True
        end = wait_plan(c, first)
        assert end["status"] == "cancelled" and end["result"] is None
        assert c.post(f"/api/v1/plans/{first}/cancel",
                      headers=auth("planner")).status_code == 409
        assert wait_plan(c, second)["status"] == "cancelled"  # the worker skips it
        r = c.post(f"/api/v1/plans/{first}/approve", json={}, headers=auth("approver"))
        assert r.status_code == 409
        r = c.get(f"/api/v1/plans/{first}/export?format=csv", headers=auth("viewer"))
        assert r.status_code == 409
        events = [e["action"] for e in c.get(f"/api/v1/plans/{first}/audit",
                                             headers=auth("viewer")).json()["events"]]
        assert events == ["plan.create", "plan.cancel", "plan.cancelled"]


def test_concurrent_plans_do_not_interfere(client: TestClient, hotspot_id: str) -> None:
    """Four jobs at once (two worker threads sharing the network's twin) while the state is
    read: each ends done with its own parameters; the database stays consistent."""
    limits = [1, 2, 3, 1]
    ids = [start(client, hotspot_id, {**QUICK_PLAN, "max_actions": k}) for k in limits]
    for _ in range(5):
        assert client.get(f"/api/v1/networks/{hotspot_id}/state?hour=12",
                          headers=auth("viewer")).status_code == 200
    ends = [wait_plan(client, pid) for pid in ids]
    peaks = set()
    for k, end in zip(limits, ends, strict=True):
        assert end["status"] == "done", end
        assert end["params"]["max_actions"] == k and end["result"]["max_actions"] == k
        assert len(end["result"]["actions"]) <= k
        peaks.add(round(end["result"]["peak_before"], 9))
    assert len(peaks) == 1  # the same network before the plan, whatever ran beside it
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


# --- no server paths --------------------------------------------------------------------------
def _strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in [str(k), *_strings(v)]]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


def test_no_server_paths_reach_a_viewer(client: TestClient, done_plan: dict[str, Any]) -> None:
    """lp_file, policy_source (and rule files, model files) are names, never server paths,
    in plans, their audit and provenance, the audit trail and a verify answer."""
    pid = done_plan["id"]
    data_dir = str(client.app.state.settings.data_dir.resolve())  # type: ignore[attr-defined]
    repo = str(Path(__file__).resolve().parents[2])
    bodies = {name: client.get(url, headers=auth("viewer")).json() for name, url in (
        ("plan", f"/api/v1/plans/{pid}"), ("audit", f"/api/v1/plans/{pid}/audit"),
        ("trail", f"/api/v1/audit?plan_id={pid}"), ("list", "/api/v1/plans"))}
    status, bodies["verify"] = verify(client, pid, done_plan["result"]["actions"])
    assert status == 200
    res = bodies["plan"]["result"]
    assert res["lp_file"] and "/" not in res["lp_file"] and res["lp_file"].endswith(".lp")
    assert res["policy"]["detail"]["policy_source"] == "default"
    assert bodies["audit"]["provenance"]["solver"]["lp_file"] == res["lp_file"]
    for name, body in bodies.items():
        leaks = [s for s in _strings(body) if data_dir in s or repo in s or s.startswith("/")]
        assert not leaks, (name, leaks[:3])
