"""GET /health, the OpenAPI document and unknown routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth


def test_health_needs_no_token_and_reports_version(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["version"] and body["job_backend"] == "thread" and body["workers"] == 2


def test_openapi_lists_every_resource(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/v1/health", "/api/v1/scenarios", "/api/v1/networks",
              "/api/v1/networks/import", "/api/v1/networks/{network_id}",
              "/api/v1/networks/{network_id}/state", "/api/v1/networks/{network_id}/state.geojson",
              "/api/v1/networks/{network_id}/plans", "/api/v1/plans/{plan_id}",
              "/api/v1/plans/{plan_id}/cancel", "/api/v1/plans/{plan_id}/verify",
              "/api/v1/plans/{plan_id}/approve", "/api/v1/plans/{plan_id}/export",
              "/api/v1/plans/{plan_id}/audit", "/api/v1/policies", "/api/v1/policies/validate"):
        assert p in paths, p


def test_the_plan_result_is_typed_in_openapi(client: TestClient) -> None:
    """GET /plans/{id}'s result is the planner's PlanResult (planner/result.py), field by
    field, not a bare object."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    result = schemas["PlanPublic"]["properties"]["result"]
    refs = [s.get("$ref", "") for s in result.get("anyOf", [result])]
    assert "#/components/schemas/PlanResult" in refs
    plan = schemas["PlanResult"]
    assert {"actions", "peak_after", "before", "history", "policy"} <= set(plan["properties"])
    assert {"actions", "peak_after", "target_met"} <= set(plan["required"])
    assert plan["properties"]["peak_after"]["type"] == "number"
    assert schemas["PlanPublic"]["properties"]["eta_s"]["anyOf"][0]["type"] == "number"


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here", headers=auth("viewer"))
    assert r.status_code == 404
    assert "openapi" in r.json()["detail"]


def test_scenarios_lists_the_registry(client: TestClient) -> None:
    body = client.get("/api/v1/scenarios", headers=auth("viewer")).json()
    names = [s["name"] for s in body["items"]]
    assert "hotspot" in names and body["count"] == len(names)
