"""The three small API routes the UI added, against the live API: ``GET /me``,
``GET /networks/{id}/demand`` (heatmap, study area, Milano GRID) and ``POST /policies/test``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from api.demand_map import milan_squares
from tests.ui.conftest import TOKENS, Server, client_for
from twin.scenarios.milan import GRID_FILE, data_dir
from ui.client import ApiClient, ApiClientError


def test_me_names_the_token_role(live_api: Server) -> None:
    for role in TOKENS:
        c = client_for(live_api, role)
        try:
            assert c.me() == {"name": role, "role": role}
        finally:
            c.close()


@pytest.mark.parametrize("hour", [3, None])
def test_demand_conserves_the_traffic_the_twin_serves(api: ApiClient, hotspot: dict[str, Any],
                                                      hour: int | None) -> None:
    d = api.demand(hotspot["id"], hour)
    state = api.state(hotspot["id"], hour)
    assert d["hour"] == state["hour"]
    offered = sum(c["offered_mbps"] for c in state["cells"])  # coverage 1: all bins served
    assert sum(d["offered_mbps"]) == pytest.approx(offered, rel=1e-4)
    assert d["total_mbps"] == pytest.approx(offered, rel=1e-4)
    assert len(d["lat"]) == len(d["lon"]) == len(d["offered_mbps"]) <= 4000
    ring = d["area"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lats) <= min(d["lat"]) and max(d["lat"]) <= max(lats)
    assert min(lons) <= min(d["lon"]) and max(d["lon"]) <= max(lons)
    assert d["grid_squares"] is None  # only the Milan network has them


def test_milan_grid_squares_are_the_packaged_squares() -> None:
    doc = milan_squares()
    sq = pd.read_csv(data_dir() / GRID_FILE)
    assert len(doc["features"]) == len(sq) == 625
    f = next(f for f in doc["features"] if f["properties"]["square_id"] == 5060)  # Duomo
    row = sq[sq["cellId"] == 5060].iloc[0]
    ring = f["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert min(p[0] for p in ring) == row["lon_min"] and max(p[1] for p in ring) == row["lat_max"]
    assert "ODbL" in doc["properties"]["name"]


def test_policy_cases_fail_when_a_rule_no_longer_denies(api: ApiClient) -> None:
    files = dict(api.policy()["files"])
    ok = api.test_policy(files)
    assert ok["ok"] and ok["n_failed"] == 0
    assert "actions_cases.yaml" in ok["case_files"]
    # loosen a deny rule: the cases that expect its denial must now fail, by name
    files["actions.yaml"] = files["actions.yaml"].replace("max_count: 12", "max_count: 40", 1)
    loose = api.test_policy(files)
    assert not loose["ok"] and loose["n_failed"] >= 1
    failed = [r for r in loose["results"] if not r["ok"]]
    assert any(r["file"] == "actions_cases.yaml" and "expected deny" in r["detail"]
               for r in failed), failed


def test_policy_case_errors_name_the_file_not_the_server_path(api: ApiClient) -> None:
    files = dict(api.policy()["files"])
    files["actions_cases.yaml"] = "network: hotspot\ncases: []\n"
    with pytest.raises(ApiClientError) as e:
        api.test_policy(files)
    assert e.value.status == 422
    issues = e.value.body.get("issues") or []
    assert issues and all(i["file"] == "actions_cases.yaml" for i in issues)
    assert "celltwin-policy-test-" not in str(e.value.body)
