"""GeoJSON (RFC 7946, WGS84 lon/lat) of a network and its state, for maps.

Features:

* one ``Point`` per site (``feature_type: "site"``);
* one ``Polygon`` per cell (``feature_type: "cell"``): a sector wedge from the site along the
  azimuth, opening the horizontal beamwidth (capped at :data:`MAX_WEDGE_DEG`), of radius
  :data:`WEDGE_FRACTION` x the network's site spacing (median distance to the nearest site,
  :func:`twin.prior.site_spacing_m`), or a circle of half that radius for omni cells. The
  wedge is a drawing aid, not the cell's coverage;
* optionally one ``Point`` per candidate small-cell location (``feature_type: "candidate"``).

Cell properties: every column of the per-cell state (``prb_util``, ``offered_mbps``,
``served_mbps``, ``unserved_mbps``, ``mean_sinr_db``, ``overloaded``, ...) and the cell's
configuration (``azimuth_deg``, ``elec_tilt_deg``, ``tx_power_dbm``, ``cio_db``, ...).

Positions: a network with a WGS84 origin (given, or derived from its sites' lat/lon, see
:mod:`twin.georef`) is drawn in RFC 7946 lon/lat, so its sites land where the input put them.
A network without one (a synthetic layout) is never put at a made-up real place: its
coordinates are its local metres ``[x_m, y_m]`` (x east, y north), and the collection says
so (``properties.frame: "local_m"``, a ``crs`` member naming the local frame, and
``synthetic_origin: true``); maps draw it on a plain metric plane.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.geo import Origin
from twin.network import Network
from twin.prior import site_spacing_m
from twin.state import json_value

LOCAL_CRS = {"type": "name", "properties": {
    "name": "local metres: x east, y north of the network's (0, 0); not a geographic position"}}
WEDGE_FRACTION = 0.35
MAX_WEDGE_DEG = 120.0
ARC_POINTS = 12
CIRCLE_POINTS = 24

CELL_CONFIG_COLUMNS = ("azimuth_deg", "mech_tilt_deg", "elec_tilt_deg", "tx_power_dbm", "fc_ghz",
                       "bandwidth_mhz", "n_prb", "mimo_layers", "cio_db", "height_m", "antenna",
                       "h_beamwidth_deg")


def map_origin(network: Network) -> tuple[Origin | None, bool]:
    """The network's WGS84 origin, and whether it has none (drawn in its local frame)."""
    return network.origin, network.origin is None


def frame_of(network: Network) -> str:
    """``"wgs84"`` (lon/lat degrees) or ``"local_m"`` (x/y metres)."""
    return "local_m" if network.origin is None else "wgs84"


def coords(origin: Origin | None, x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    """Positions ``[[lon, lat], ...]`` (WGS84, 1e-7 deg) or, without an origin, the local
    ``[[x_m, y_m], ...]`` (cm)."""
    if origin is None:
        return [[round(float(a), 2), round(float(b), 2)] for a, b in zip(
            np.asarray(x, dtype=float), np.asarray(y, dtype=float), strict=True)]
    lat, lon = origin.to_wgs84(x, y)
    return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]




def wedge_xy(x_m: float, y_m: float, azimuth_deg: float, beamwidth_deg: float, radius_m: float,
             omni: bool) -> tuple[np.ndarray, np.ndarray]:
    """Closed ring (local metres) of a sector wedge, or of a circle for omni cells."""
    if omni:
        a = np.radians(np.linspace(0.0, 360.0, CIRCLE_POINTS + 1))
        r = radius_m / 2.0
        return x_m + r * np.sin(a), y_m + r * np.cos(a)
    half = min(float(beamwidth_deg), MAX_WEDGE_DEG) / 2.0
    a = np.radians(azimuth_deg + np.linspace(-half, half, ARC_POINTS))
    xs = np.concatenate([[x_m], x_m + radius_m * np.sin(a), [x_m]])
    ys = np.concatenate([[y_m], y_m + radius_m * np.cos(a), [y_m]])
    return xs, ys


def _props(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in rec.items()}


def site_features(network: Network, origin: Origin | None) -> list[dict[str, Any]]:
    s = network.sites
    points = coords(origin, s["x_m"].to_numpy(float), s["y_m"].to_numpy(float))
    feats = []
    for rec, xy in zip(s.to_dict(orient="records"), points, strict=True):
        props = _props({"feature_type": "site", "site_id": rec["site_id"],
                        "name": rec.get("name", "-"), "estimated": bool(rec.get("estimated")),
                        "x_m": rec["x_m"], "y_m": rec["y_m"]})
        feats.append({"type": "Feature", "id": f"site:{rec['site_id']}",
                      "geometry": {"type": "Point", "coordinates": xy}, "properties": props})
    return feats


def cell_features(network: Network, origin: Origin | None, cell_props: pd.DataFrame | None = None,
                  only: set[str] | None = None, extra: dict[str, dict[str, Any]] | None = None
                  ) -> list[dict[str, Any]]:
    """Wedges of the cells (``only`` those ids when given), with the config columns, the
    matching row of ``cell_props`` (by ``cell_id``) and ``extra[cell_id]`` as properties."""
    cells = network.cells_with_sites()
    radius = WEDGE_FRACTION * site_spacing_m(network)
    by_id: dict[str, dict[str, Any]] = {}
    if cell_props is not None and len(cell_props):
        by_id = {str(r["cell_id"]): r for r in cell_props.to_dict(orient="records")}
    feats = []
    for rec in cells.to_dict(orient="records"):
        cid = str(rec["cell_id"])
        if only is not None and cid not in only:
            continue
        xs, ys = wedge_xy(float(rec["x_m"]), float(rec["y_m"]), float(rec["azimuth_deg"]),
                          float(rec["h_beamwidth_deg"]), radius, rec["antenna"] == "omni")
        props: dict[str, Any] = {"feature_type": "cell", "cell_id": cid,
                                 "site_id": rec["site_id"]}
        props.update({c: rec[c] for c in CELL_CONFIG_COLUMNS if c in rec})
        props.update({k: v for k, v in by_id.get(cid, {}).items() if k not in props})
        props.update((extra or {}).get(cid, {}))
        feats.append({"type": "Feature", "id": f"cell:{cid}",
                      "geometry": {"type": "Polygon", "coordinates": [coords(origin, xs, ys)]},
                      "properties": _props(props)})
    return feats


def candidate_features(network: Network, origin: Origin | None) -> list[dict[str, Any]]:
    c = network.candidates
    if len(c) == 0:
        return []
    points = coords(origin, c["x_m"].to_numpy(float), c["y_m"].to_numpy(float))
    return [{"type": "Feature", "id": f"candidate:{rec['candidate_id']}",
             "geometry": {"type": "Point", "coordinates": xy},
             "properties": _props({"feature_type": "candidate",
                                   "candidate_id": rec["candidate_id"],
                                   "name": rec.get("name", "-"),
                                   "height_m": rec.get("height_m")})}
            for rec, xy in zip(c.to_dict(orient="records"), points, strict=True)]


def collection(features: list[dict[str, Any]], network: Network,
               **properties: Any) -> dict[str, Any]:
    origin, local = map_origin(network)
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if local:
        doc["crs"] = LOCAL_CRS
    doc["properties"] = {
        "network": network.name, "frame": frame_of(network),
        "origin": None if origin is None else {"lat_deg": origin.lat_deg,
                                               "lon_deg": origin.lon_deg},
        "synthetic_origin": local, **properties}
    return doc


def state_geojson(network: Network, res_cell: pd.DataFrame, hour: int,
                  candidates: bool = True) -> dict[str, Any]:
    """Sites, cell wedges with the state's per-cell results, and candidate locations."""
    origin, _ = map_origin(network)
    feats = site_features(network, origin) + cell_features(network, origin, res_cell)
    if candidates:
        feats += candidate_features(network, origin)
    return collection(feats, network, hour=hour)
