"""GET /plans/{id}/export: CSV (one row per action), GeoJSON (changed cells, new small cells),
A1 (O-RAN traffic-steering policy for the load-balancing actions)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.exports import CSV_COLUMNS, a1_cell_id, plan_a1
from planner.result import PlanResult
from tests.api.conftest import QUICK_PLAN, auth, wait_plan
from twin.scenarios import load_scenario

EDIT = [
    {"kind": "set_cio", "cell_id": "S01-1", "cio_db": -3.0, "rationale": "shed load"},
    {"kind": "set_cio", "cell_id": "S01-2", "cio_db": 3.0, "rationale": "take load"},
    {"kind": "set_power", "cell_id": "S05-3", "tx_power_dbm": 43.0},
    {"kind": "set_tilt", "cell_id": "S06-2", "elec_tilt_deg": 8.0},
    {"kind": "split_sector", "cell_id": "S06-1"},
    {"kind": "add_small_cell", "candidate_id": "C01", "tx_power_dbm": 30.0, "cio_db": 3.0},
]


@pytest.fixture(scope="module")
def edited(client: TestClient, hotspot_id: str) -> dict[str, Any]:
    """A finished plan whose actions were replaced by EDIT (every kind the exports handle)."""
    pid = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=QUICK_PLAN,
                      headers=auth("planner")).json()["id"]
    assert wait_plan(client, pid)["status"] == "done"
    cands = load_scenario("hotspot").network.candidates["candidate_id"].tolist()
    assert "C01" in cands, cands
    r = client.post(f"/api/v1/plans/{pid}/verify", json={"actions": EDIT, "save": True},
                    headers=auth("planner"))
    assert r.status_code == 200, r.text
    return client.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()


def export(client: TestClient, plan_id: str, fmt: str) -> Any:
    return client.get(f"/api/v1/plans/{plan_id}/export?format={fmt}", headers=auth("viewer"))


def approve(client: TestClient, plan_id: str) -> None:
    """An A1 document is only exported for an approved plan (test_policy_standing.py)."""
    r = client.post(f"/api/v1/plans/{plan_id}/approve", json={}, headers=auth("approver"))
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/plans/{plan_id}", headers=auth("viewer")).json()["approved"]


def test_csv_one_row_per_action(client: TestClient, edited: dict[str, Any]) -> None:
    r = export(client, edited["id"], "csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["kind"] for row in rows] == [a["kind"] for a in EDIT]
    assert rows[0]["cio_db"] == "-3.0" and rows[0]["cell_id"] == "S01-1"
    assert rows[5]["candidate_id"] == "C01" and rows[5]["tx_power_dbm"] == "30.0"
    costs = [a["cost"] for a in edited["result"]["actions"]]
    assert [float(row["cost_eur"]) for row in rows] == costs
    assert {row["plan_id"] for row in rows} == {edited["id"]}


def test_geojson_changed_cells_and_small_cells(client: TestClient,
                                               edited: dict[str, Any]) -> None:
    r = export(client, edited["id"], "geojson")
    assert r.status_code == 200
    doc = r.json()
    ids = {f["properties"].get("cell_id"): f for f in doc["features"]}
    # changed cells as wedges, the split sector as its two halves, the small cell as a
    # footprint and a point
    for cid in ("S01-1", "S01-2", "S05-3", "S06-2", "S06-1a", "S06-1b", "SC-C01-1"):
        assert cid in ids, cid
    assert "S06-1" not in ids  # split: only the new halves exist after the plan
    assert ids["S01-1"]["properties"]["actions"][0]["cio_db"] == -3.0
    assert ids["S01-1"]["properties"]["cio_db"] == -3.0  # configuration after the plan
    assert ids["S06-1a"]["properties"]["h_beamwidth_deg"] == pytest.approx(32.5)
    points = [f for f in doc["features"] if f["properties"]["feature_type"] == "small_cell"]
    assert len(points) == 1 and points[0]["geometry"]["type"] == "Point"
    assert doc["properties"]["plan_id"] == edited["id"]


def test_a1_policy_for_load_balancing(client: TestClient, edited: dict[str, Any]) -> None:
    """The document of the edit (every action kind); the edit breaks deny rules, so over
    HTTP its A1 export is refused (a plan must be approved first)."""
    r = export(client, edited["id"], "a1")
    assert r.status_code == 409 and "deny rule" in r.json()["detail"], r.text
    doc = plan_a1(load_scenario("hotspot").network, edited["id"],
                  PlanResult.model_validate(edited["result"]))
    assert doc["policy_type_id"] == "ORAN_TrafficSteeringPreference_2.0.0"
    (pol,) = doc["policies"]
    obj = pol["policy_object"]
    assert obj["scope"]["sliceId"]["sst"] == 1
    groups = {g["preference"]: [c["cId"]["localId"] for c in g["cellIdList"]]
              for g in obj["tspResources"]}
    # CIO lowered and power lowered (46 -> 43 dBm) shed load; CIO raised attracts it
    assert groups == {"AVOID": ["S01-1", "S05-3"], "PREFER": ["S01-2"]}
    changes = {(c["cell_id"], c["parameter"]): (c["from"], c["to"])
               for c in doc["x_celltwin"]["parameter_changes"]}
    assert changes[("S01-1", "cio_db")] == (0.0, -3.0)
    assert changes[("S05-3", "tx_power_dbm")] == (46.0, 43.0)
    assert {o["kind"] for o in doc["x_celltwin"]["not_in_a1"]} == {
        "set_tilt", "split_sector", "add_small_cell"}
    assert any("localId" in n for n in doc["notes"])


def test_a1_cell_ids() -> None:
    plmn = {"mcc": "001", "mnc": "01"}
    assert a1_cell_id("222-10:26113537", plmn) == (
        {"plmnId": {"mcc": "222", "mnc": "10"}, "cId": {"ecI": 26113537}}, True)
    assert a1_cell_id("26113537", plmn) == ({"plmnId": plmn, "cId": {"ecI": 26113537}}, True)
    assert a1_cell_id(str(2**28), plmn)[1] is False  # beyond the 28-bit ECI range
    assert a1_cell_id("S01-1", plmn) == ({"plmnId": plmn, "cId": {"localId": "S01-1"}}, False)


def test_a1_without_steering_actions(client: TestClient, done_plan: dict[str, Any]) -> None:
    kinds = {a["kind"] for a in done_plan["result"]["actions"]}
    approve(client, done_plan["id"])
    doc = export(client, done_plan["id"], "a1").json()
    if kinds & {"set_cio", "set_power"}:
        assert doc["policies"]
    else:
        assert doc["policies"] == [] and any("no load-balancing" in n for n in doc["notes"])


def test_bad_export_requests(client: TestClient, done_plan: dict[str, Any]) -> None:
    r = export(client, done_plan["id"], "xml")
    assert r.status_code == 422 and "format" in r.json()["detail"]
    assert export(client, "nope", "csv").status_code == 404
