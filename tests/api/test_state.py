"""GET /networks/{id}/state (same names as `celltwin twin --json`) and state.geojson."""

from __future__ import annotations

import json
import math

import pytest
from fastapi.testclient import TestClient

from api.geojson import WEDGE_FRACTION
from cli.main import main as cli_main
from tests.api.conftest import auth, small_tables
from twin.geo import Origin
from twin.importers import network_to_dict
from twin.network import Network
from twin.scenarios import load_scenario


def test_state_matches_the_cli_json(client: TestClient, hotspot_id: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["twin", "--scenario", "hotspot", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    r = client.get(f"/api/v1/networks/{hotspot_id}/state", headers=auth("viewer"))
    assert r.status_code == 200
    api = r.json()
    assert set(api) == set(cli)
    assert set(api["kpis"]) == set(cli["kpis"])
    assert api["hour"] == cli["hour"] == load_scenario("hotspot").demand.busy_hour
    assert api["kpis"]["peak_prb_util"] == pytest.approx(cli["kpis"]["peak_prb_util"],
                                                         abs=1e-9)
    assert [c["cell_id"] for c in api["cells"]] == [c["cell_id"] for c in cli["cells"]]
    assert set(api["cells"][0]) == set(cli["cells"][0])
    for a, b in zip(api["cells"], cli["cells"], strict=True):
        assert a["prb_util"] == pytest.approx(b["prb_util"], abs=1e-9)


def test_state_of_another_hour(client: TestClient, hotspot_id: str) -> None:
    busy = client.get(f"/api/v1/networks/{hotspot_id}/state", headers=auth("viewer")).json()
    night = client.get(f"/api/v1/networks/{hotspot_id}/state?hour=4",
                       headers=auth("viewer")).json()
    assert night["hour"] == 4
    # calibrated to counters that follow Milan's diurnal shapes: less traffic at 4 am
    assert night["kpis"]["offered_mbps"] < 0.8 * busy["kpis"]["offered_mbps"]
    assert night["kpis"]["peak_prb_util"] < busy["kpis"]["peak_prb_util"]


@pytest.mark.parametrize("hour", ["24", "-1", "noon", "3.5"])
def test_bad_hour_is_422(client: TestClient, hotspot_id: str, hour: str) -> None:
    r = client.get(f"/api/v1/networks/{hotspot_id}/state?hour={hour}", headers=auth("viewer"))
    assert r.status_code == 422 and "hour" in r.json()["detail"]


def test_state_of_unknown_network_is_404(client: TestClient) -> None:
    for suffix in ("state", "state.geojson"):
        r = client.get(f"/api/v1/networks/unknown/{suffix}", headers=auth("viewer"))
        assert r.status_code == 404


def _by_type(doc: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in doc["features"]:
        out.setdefault(f["properties"]["feature_type"], []).append(f)
    return out


def test_geojson_sites_wedges_candidates(client: TestClient, hotspot_id: str) -> None:
    r = client.get(f"/api/v1/networks/{hotspot_id}/state.geojson", headers=auth("viewer"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    # a synthetic layout has no place on the Earth: drawn in its local metres, and says so
    assert doc["properties"]["synthetic_origin"] is True
    assert doc["properties"]["frame"] == "local_m" and doc["properties"]["origin"] is None
    assert "local metres" in doc["crs"]["properties"]["name"]
    net = load_scenario("hotspot").network
    kinds = _by_type(doc)
    assert len(kinds["site"]) == len(net.sites)
    assert len(kinds["cell"]) == len(net.cells)
    assert len(kinds["candidate"]) == len(net.candidates)
    state = client.get(f"/api/v1/networks/{hotspot_id}/state", headers=auth("viewer")).json()
    util = {c["cell_id"]: c["prb_util"] for c in state["cells"]}
    for f in kinds["cell"]:
        ring = f["geometry"]["coordinates"][0]
        assert f["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]
        assert f["properties"]["prb_util"] == pytest.approx(util[f["properties"]["cell_id"]])
    # S01-1 (azimuth 30 deg): apex at its site, arc centre 0.35 x ISD (400 m) along 30 deg
    s01 = net.sites.set_index("site_id").loc["S01"]
    site_pt = next(f for f in kinds["site"] if f["properties"]["site_id"] == "S01")
    x, y = site_pt["geometry"]["coordinates"]
    assert float(x) == pytest.approx(float(s01["x_m"]), abs=0.05)
    assert float(y) == pytest.approx(float(s01["y_m"]), abs=0.05)
    wedge = next(f for f in kinds["cell"] if f["properties"]["cell_id"] == "S01-1")
    ring = wedge["geometry"]["coordinates"][0]
    mx, my = ring[len(ring) // 2]
    dx, dy = float(mx) - float(s01["x_m"]), float(my) - float(s01["y_m"])
    bearing = math.degrees(math.atan2(dx, dy)) % 360
    half_step = 65.0 / (12 - 1) / 2  # the arc has 12 points: its middle is half a step off
    assert abs(bearing - 30.0) == pytest.approx(half_step, abs=0.05)
    assert math.hypot(dx, dy) == pytest.approx(WEDGE_FRACTION * 400.0, rel=1e-3)
    no_cand = client.get(f"/api/v1/networks/{hotspot_id}/state.geojson?candidates=false",
                         headers=auth("viewer")).json()
    assert "candidate" not in _by_type(no_cand)


def test_geojson_uses_the_network_origin(client: TestClient) -> None:
    sites, cells = small_tables()
    origin = Origin(48.1374, 11.5755)
    doc = network_to_dict(Network.from_tables(sites, cells, origin=origin, name="munich-7"))
    r = client.post("/api/v1/networks/import", headers=auth("planner"),
                    files={"network": ("net.json", json.dumps(doc).encode())})
    assert r.status_code == 201, r.text
    geo = client.get(f"/api/v1/networks/{r.json()['id']}/state.geojson",
                     headers=auth("viewer")).json()
    assert geo["properties"]["synthetic_origin"] is False
    sites_geo = {f["properties"]["site_id"]: f["geometry"]["coordinates"]
                 for f in geo["features"] if f["properties"]["feature_type"] == "site"}
    for rec in sites.to_dict(orient="records"):
        lat, lon = origin.to_wgs84(rec["x_m"], rec["y_m"])
        assert sites_geo[rec["site_id"]] == pytest.approx([float(lon), float(lat)], abs=1e-6)
