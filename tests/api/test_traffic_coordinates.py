"""Uploads with a traffic map and with true coordinates: the map reaches the stored demand,
the sites and candidates keep the place the input gave them (state GeoJSON, plan GeoJSON),
bad maps and disagreeing positions are a 422 that stores nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import QUICK_PLAN, auth, csv_bytes, wait_plan
from twin.geo import Origin
from twin.scenarios.event import EventCase, event_case


@pytest.fixture(scope="module")
def case() -> EventCase:
    return event_case("boresight", seed=31)


def _files(case: EventCase, traffic: bytes | None = None, sites: pd.DataFrame | None = None
           ) -> dict[str, tuple[str, bytes]]:
    net = case.network
    files = {"network": ("sites.csv", csv_bytes(
                 net.sites.drop(columns=["x_m", "y_m"]) if sites is None else sites)),
             "cells": ("cells.csv", csv_bytes(net.cells)),
             "candidates": ("forecourt.csv",
                            csv_bytes(net.candidates.drop(columns=["x_m", "y_m"]))),
             "measurements": ("counters.csv", csv_bytes(case.counters))}
    if traffic is not None:
        files["traffic"] = ("crowd.csv", traffic)
    return files


def _metres(o: Origin, a: list[float], b: list[float]) -> float:
    """Distance in m between two [lon, lat] points."""
    x1, y1 = o.to_local(a[1], a[0])
    x2, y2 = o.to_local(b[1], b[0])
    return float(np.hypot(x1 - x2, y1 - y2))


@pytest.fixture(scope="module")
def uploaded(client: TestClient, case: EventCase) -> dict[str, Any]:
    r = client.post("/api/v1/networks/import", headers=auth("planner"),
                    files=_files(case, csv_bytes(case.samples)), data={"name": "event"})
    assert r.status_code == 201, r.text
    return r.json()


def test_traffic_map_reaches_the_stored_demand(client: TestClient, case: EventCase,
                                               uploaded: dict[str, Any]) -> None:
    tm = uploaded["summary"]["import"]["traffic"]
    assert tm["n_points"] == len(case.samples) and tm["warnings"] == []
    top = tm["map_share_by_cell"][0]
    assert top["cell_id"] == case.crowd_cell and top["map_share"] > 0.8
    d = client.get(f"/api/v1/networks/{uploaded['id']}/demand",
                   headers=auth("viewer")).json()
    assert d["frame"] == "wgs84" and d["density_unit"] == "Mbit/s/km^2"
    dens = np.asarray(d["density_mbps_km2"])
    assert dens.max() == pytest.approx(d["max_density_mbps_km2"], rel=1e-6)
    i = int(np.argmax(dens))
    lat, lon = case.network.origin.to_wgs84(*case.crowd_xy_m[0])
    peak = [d["lon"][i], d["lat"][i]]
    assert _metres(case.network.origin, peak, [float(lon), float(lat)]) < 1.5 * d["block_m"]
    # the busiest cell is the crowd's, as the counters say
    state = client.get(f"/api/v1/networks/{uploaded['id']}/state",
                       headers=auth("viewer")).json()
    assert state["kpis"]["busiest_cell"] == case.crowd_cell


def test_sites_and_new_small_cells_keep_their_input_coordinates(
        client: TestClient, case: EventCase, uploaded: dict[str, Any]) -> None:
    o = case.network.origin
    geo = client.get(f"/api/v1/networks/{uploaded['id']}/state.geojson",
                     headers=auth("viewer")).json()
    assert geo["properties"]["frame"] == "wgs84" and "crs" not in geo
    sites = case.network.sites.set_index("site_id")
    for f in geo["features"]:
        p = f["properties"]
        if p["feature_type"] == "site":
            s = sites.loc[p["site_id"]]
            assert _metres(o, f["geometry"]["coordinates"],
                           [float(s["lon_deg"]), float(s["lat_deg"])]) < 1.0
    # a plan whose small cell sits on a candidate: the export puts it on the input's point
    pid = client.post(f"/api/v1/networks/{uploaded['id']}/plans", json=QUICK_PLAN,
                      headers=auth("planner")).json()["id"]
    assert wait_plan(client, pid, timeout_s=120)["status"] == "done"
    cand = case.network.candidates.iloc[0]
    edit = [{"kind": "add_small_cell", "candidate_id": str(cand["candidate_id"]),
             "tx_power_dbm": 37.0, "cio_db": 3.0}]
    r = client.post(f"/api/v1/plans/{pid}/verify", json={"actions": edit, "save": True},
                    headers=auth("planner"))
    assert r.status_code == 200, r.text
    doc = client.get(f"/api/v1/plans/{pid}/export?format=geojson",
                     headers=auth("viewer")).json()
    (pt,) = [f for f in doc["features"] if f["properties"]["feature_type"] == "small_cell"]
    assert _metres(o, pt["geometry"]["coordinates"],
                   [float(cand["lon_deg"]), float(cand["lat_deg"])]) < 1.0
    # the CSV work order carries the same place
    import csv
    import io

    text = client.get(f"/api/v1/plans/{pid}/export?format=csv", headers=auth("viewer")).text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["frame"] == "wgs84"
    assert _metres(o, [float(row["site_lon_deg"]), float(row["site_lat_deg"])],
                   [float(cand["lon_deg"]), float(cand["lat_deg"])]) < 1.0


def _count(client: TestClient) -> int:
    return int(client.get("/api/v1/networks?limit=500", headers=auth("viewer")).json()["count"])


@pytest.mark.parametrize(("traffic", "message"), [
    (b"lat_deg,lon_deg,weight\n50.94,6.96,1\n50.94,6.96,-1\n", "negative"),
    (b"lat_deg,lon_deg,hour\n50.94,6.96,24\n", "hour 24"),
    (b"lat_deg,lon_deg\n10.0,10.0\n", "no sample lies inside"),
    (b"x,y\n1,2\n", "unknown column"),
    (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
     b'"geometry": {"type": "Polygon", "coordinates": [[[6.95, 50.94], [6.96, 50.95], '
     b'[6.96, 50.94], [6.95, 50.95], [6.95, 50.94]]]}}]}', "Self-intersection"),
])
def test_bad_traffic_maps_are_a_422_that_stores_nothing(client: TestClient, case: EventCase,
                                                       traffic: bytes, message: str) -> None:
    before = _count(client)
    r = client.post("/api/v1/networks/import", headers=auth("planner"),
                    files=_files(case, traffic))
    assert r.status_code == 422, r.text
    detail = str(r.json())
    assert message in detail and "'crowd.csv' (form field 'traffic')" in detail
    assert "/tmp" not in detail
    assert _count(client) == before


def test_positions_that_disagree_name_the_row(client: TestClient, case: EventCase) -> None:
    sites = case.network.sites.copy()
    sites.loc[3, "x_m"] += 40.0  # lat/lon and x/y both given: 40 m apart on one row
    before = _count(client)
    r = client.post("/api/v1/networks/import", headers=auth("planner"),
                    files=_files(case, None, sites))
    assert r.status_code == 422, r.text
    detail = str(r.json())
    assert "S04" in detail and "apart" in detail
    assert _count(client) == before
