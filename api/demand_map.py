"""The offered traffic of a network at an hour, as the UI's demand heatmap draws it, and the
map context the product owns (study area, Milano GRID squares), so that a map reads well
without any base tiles.

The grid's bins are summed in blocks of ``k x k`` bins (``k`` the smallest integer that
leaves at most :data:`MAX_POINTS` blocks) and each non-empty block becomes one point at its
traffic-weighted centre: the heatmap stays light to send and draw, and the traffic is
conserved (the sum over points equals the grid's total at that hour). Each point also
carries its density in Mbit/s/km^2 (the block's traffic over the block's area), the unit of
the map's legend. Positions are WGS84 (``frame: "wgs84"``: ``lat``/``lon`` in degrees) or,
for a network without an origin, its local frame (``frame: "local_m"``: ``lat``/``lon`` hold
``y_m``/``x_m``, as a plain metric map reads them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.geojson import coords, frame_of, map_origin
from twin.demand import Demand
from twin.network import Network

MAX_POINTS = 4000


def block_sum(demand: Demand, hour: int, max_points: int = MAX_POINTS
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Blocks of bins: traffic-weighted x, y (m) and offered Mbit/s of the non-empty blocks,
    and the block size ``k`` in bins. Shapes ``[n_point]``."""
    g = demand.grid
    k = max(1, int(np.ceil(np.sqrt(g.n_bin / max_points))))
    mbps = np.asarray(demand.at(hour), dtype=float).reshape(g.ny, g.nx)  # [ny, nx]
    x, y = (np.asarray(a, dtype=float).reshape(g.ny, g.nx) for a in g.xy())
    ny, nx = -(-g.ny // k) * k, -(-g.nx // k) * k  # padded to whole blocks

    def blocks(a: np.ndarray) -> np.ndarray:
        p = np.zeros((ny, nx))
        p[:g.ny, :g.nx] = a
        return p.reshape(ny // k, k, nx // k, k).sum(axis=(1, 3)).ravel()  # [n_block]

    w = blocks(mbps)
    keep = w > 0
    wx, wy = blocks(mbps * x)[keep] / w[keep], blocks(mbps * y)[keep] / w[keep]
    return wx, wy, w[keep], k


def study_area(network: Network, demand: Demand) -> dict[str, Any]:
    """GeoJSON Polygon of the demand grid's extent (the area the twin models)."""
    origin, _ = map_origin(network)
    g = demand.grid
    x0, y0 = g.x0_m - g.spacing_m / 2, g.y0_m - g.spacing_m / 2
    x1, y1 = x0 + g.nx * g.spacing_m, y0 + g.ny * g.spacing_m
    xs, ys = np.array([x0, x1, x1, x0, x0]), np.array([y0, y0, y1, y1, y0])
    return {"type": "Polygon", "coordinates": [coords(origin, xs, ys)]}


def milan_squares() -> dict[str, Any]:
    """The shipped Milano GRID squares (Telecom Italia, ODbL) as a FeatureCollection."""
    from twin.scenarios.milan import grid_squares

    sq = grid_squares()
    feats = []
    for r in sq.itertuples(index=False):
        ring = [[r.lon_min, r.lat_min], [r.lon_max, r.lat_min], [r.lon_max, r.lat_max],
                [r.lon_min, r.lat_max], [r.lon_min, r.lat_min]]
        feats.append({"type": "Feature", "id": f"square:{r.cellId}",
                      "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"feature_type": "grid_square",
                                     "square_id": int(r.cellId)}})
    return {"type": "FeatureCollection", "features": feats,
            "properties": {"name": "Milano GRID (Telecom Italia Big Data Challenge, ODbL)"}}


def demand_map(network: Network, demand: Demand, hour: int, scenario: str | None
               ) -> dict[str, Any]:
    """The body of ``GET /networks/{id}/demand``."""
    origin, local = map_origin(network)
    x, y, w, k = block_sum(demand, hour)
    if origin is None:
        lat, lon = np.round(y, 2), np.round(x, 2)
    else:
        lat, lon = (np.round(v, 7) for v in origin.to_wgs84(x, y))
    block_km2 = (k * demand.grid.spacing_m / 1000.0) ** 2
    return {
        "hour": hour,
        "busy_hour": demand.busy_hour,
        "unit": "Mbit/s",
        "block_m": float(k * demand.grid.spacing_m),
        "total_mbps": float(np.sum(w)),
        "frame": frame_of(network),
        "lat": lat.tolist(),
        "lon": lon.tolist(),
        "offered_mbps": np.round(w, 6).tolist(),
        "density_unit": "Mbit/s/km^2",
        "density_mbps_km2": np.round(w / block_km2, 3).tolist(),
        "max_density_mbps_km2": float(np.max(w) / block_km2) if len(w) else 0.0,
        "area": study_area(network, demand),
        "synthetic_origin": local,
        "grid_squares": milan_squares() if scenario == "milan" else None,
    }
