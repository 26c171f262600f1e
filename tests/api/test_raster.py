"""GET /networks/{id}/raster and /plans/{id}/raster: radio layers as images with bounds,
unit and scale; bad requests are 4xx."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.raster import SCALES
from tests.api.conftest import auth
from twin.scenarios import load_scenario


def _image(doc: dict[str, Any]) -> np.ndarray:
    img = Image.open(io.BytesIO(base64.b64decode(doc["png_base64"])))
    assert img.mode == "RGBA"
    return np.asarray(img)


@pytest.mark.parametrize("layer", ["rsrp", "sinr", "best_server", "demand"])
def test_layers_cover_the_grid(client: TestClient, hotspot_id: str, layer: str) -> None:
    r = client.get(f"/api/v1/networks/{hotspot_id}/raster?layer={layer}&hour=20",
                   headers=auth("viewer"))
    assert r.status_code == 200, r.text
    doc = r.json()
    sc = load_scenario("hotspot")
    g = sc.demand.grid
    img = _image(doc)
    assert img.shape == (g.ny, g.nx, 4) and (doc["width"], doc["height"]) == (g.nx, g.ny)
    assert doc["hour"] == 20 and doc["frame"] == "local_m"
    (s, w), (n, e) = doc["bounds"]
    assert n - s == pytest.approx(g.ny * g.spacing_m) and e - w == pytest.approx(g.nx * g.spacing_m)
    if layer == "best_server":
        assert doc["legend"][0]["bins"] >= doc["legend"][-1]["bins"] > 0
        assert {c["cell_id"] for c in doc["legend"]} <= set(sc.network.cell_ids)
    else:
        assert doc["unit"] == SCALES[layer][0]
        assert doc["scale"]["min"] < doc["scale"]["max"]
    # image rows run north -> south: the top row is the grid's northern edge, and a layer
    # with values differs across the image
    assert img[..., 3].max() > 0 and len(np.unique(img[..., :3].reshape(-1, 3), axis=0)) > 5


def test_demand_image_matches_the_state(client: TestClient, hotspot_id: str) -> None:
    """The pixel of the densest bin is the top of the scale's colour range."""
    doc = client.get(f"/api/v1/networks/{hotspot_id}/raster?layer=demand",
                     headers=auth("viewer")).json()
    img = _image(doc)
    sc = load_scenario("hotspot")
    g = sc.demand.grid
    d = sc.demand.at(sc.demand.busy_hour)
    b = int(np.argmax(d))
    row, col = g.ny - 1 - b // g.nx, b % g.nx
    top = tuple(int(doc["scale"]["colours"][-1][i:i + 2], 16) for i in (1, 3, 5))
    assert tuple(img[row, col, :3]) == top
    assert doc["scale"]["max"] == pytest.approx(d[b] / g.bin_area_km2)


def test_bad_raster_requests(client: TestClient, hotspot_id: str) -> None:
    v = auth("viewer")
    assert client.get(f"/api/v1/networks/{hotspot_id}/raster?layer=snr", headers=v
                      ).status_code == 422
    assert client.get(f"/api/v1/networks/{hotspot_id}/raster?hour=24", headers=v
                      ).status_code == 422
    assert client.get("/api/v1/networks/nope/raster", headers=v).status_code == 404
    assert client.get("/api/v1/plans/nope/raster", headers=v).status_code == 404
    assert client.get(f"/api/v1/networks/{hotspot_id}/raster").status_code == 401


def test_plan_after_state_layer(client: TestClient, done_plan: dict[str, Any]) -> None:
    r = client.get(f"/api/v1/plans/{done_plan['id']}/raster?layer=best_server",
                   headers=auth("viewer"))
    assert r.status_code == 200, r.text
    assert _image(r.json()).shape[2] == 4
