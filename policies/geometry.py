"""Zones as GeoJSON polygons and a vectorised point-in-polygon test (numpy, no new
dependency), used by forbidden zones and EMF caps.

A zone is given inline in the rule file as any GeoJSON object holding polygons: a
``Polygon``, a ``MultiPolygon``, a ``Feature`` or a ``FeatureCollection`` of those (RFC 7946;
YAML is a superset of JSON, so a GeoJSON file's text can be pasted as it is). Coordinates are
``[x_m, y_m]`` in the network's local frame (``crs: local_m``, metres east/north of its
origin) or ``[lon_deg, lat_deg]`` (``crs: wgs84``, GeoJSON order). Holes (inner rings) are
honoured; points on an edge count as inside (a forbidden zone is closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from twin.network import Network

Crs = Literal["local_m", "wgs84"]
EDGE_TOL = 1e-9
#: Elements of one ``[points, vertices]`` temporary of :func:`inside` (about 8 MB of floats).
CHUNK_ELEMENTS = 1_000_000


@dataclass(frozen=True)
class Zone:
    """One polygon: ``rings[0]`` the exterior, the others holes; each ring ``[n_vertex, 2]``."""

    name: str
    rings: tuple[NDArray[np.float64], ...]


def parse_zones(obj: Any, crs: Crs) -> list[Zone]:
    """All polygons of a GeoJSON object; raises ValueError saying what is wrong."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise ValueError("zones must be a GeoJSON object with a 'type' (Polygon, MultiPolygon, "
                         "Feature or FeatureCollection)")
    kind = obj["type"]
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list) or not feats:
            raise ValueError("a FeatureCollection needs a non-empty 'features' list")
        out: list[Zone] = []
        for j, f in enumerate(feats):
            try:
                out += parse_zones(f, crs)
            except ValueError as exc:
                raise ValueError(f"feature {j}: {exc}") from None
        return out
    if kind == "Feature":
        props = obj.get("properties") or {}
        name = str(props.get("name", "")) if isinstance(props, dict) else ""
        zones = parse_zones(obj.get("geometry"), crs)
        return [Zone(name or z.name, z.rings) for z in zones]
    coords = obj.get("coordinates")
    if kind == "Polygon":
        return [Zone("", _polygon(coords, crs))]
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise ValueError("a MultiPolygon needs a non-empty list of polygons")
        return [Zone("", _polygon(p, crs)) for p in coords]
    raise ValueError(f"GeoJSON type {kind!r} holds no polygon; use Polygon, MultiPolygon, "
                     f"Feature or FeatureCollection")


def _polygon(coords: Any, crs: Crs) -> tuple[NDArray[np.float64], ...]:
    if not isinstance(coords, list) or not coords:
        raise ValueError("a Polygon needs 'coordinates': a list of rings")
    rings = []
    for r, ring in enumerate(coords):
        try:
            arr = np.asarray(ring, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"ring {r} is not a list of [x, y] numbers") from None
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"ring {r} is not a list of [x, y] pairs")
        if not np.isfinite(arr).all():
            raise ValueError(f"ring {r} has a non-finite coordinate")
        if len(arr) > 1 and np.array_equal(arr[0], arr[-1]):
            arr = arr[:-1]
        if len(arr) < 3:
            raise ValueError(f"ring {r} has fewer than 3 distinct vertices")
        if crs == "wgs84" and (np.abs(arr[:, 0]).max() > 180 or np.abs(arr[:, 1]).max() > 90):
            raise ValueError(f"ring {r} is not [lon_deg, lat_deg] (|lon| <= 180, |lat| <= 90); "
                             f"for metres use crs: local_m")
        rings.append(arr)
    return tuple(rings)


def inside(points: NDArray[np.float64], zone: Zone) -> NDArray[np.bool_]:
    """Whether each point ``[n, 2]`` lies in the zone (even-odd rule over all rings, so holes
    are excluded; points on an edge are inside). Returns ``[n]``.

    Points go in chunks so that the ``[chunk, n_vertex]`` temporaries stay near
    :data:`CHUNK_ELEMENTS` whatever the zone's size (a rule file may hold a detailed
    boundary of tens of thousands of vertices, a network thousands of cells)."""
    n_vertex = sum(len(r) for r in zone.rings)
    chunk = max(1, CHUNK_ELEMENTS // max(1, n_vertex))
    if len(points) <= chunk:
        return _inside(points, zone)
    return np.concatenate([_inside(points[i:i + chunk], zone)
                           for i in range(0, len(points), chunk)])


def _inside(points: NDArray[np.float64], zone: Zone) -> NDArray[np.bool_]:
    px, py = points[:, 0:1], points[:, 1:2]                       # [n, 1]
    crossings = np.zeros(len(points), dtype=int)
    on_edge = np.zeros(len(points), dtype=bool)
    for ring in zone.rings:
        a, b = ring, np.roll(ring, -1, axis=0)                       # [m, 2] edges a -> b
        ax, ay, bx, by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]          # [m]
        straddle = (ay > py) != (by > py)                            # [n, m]
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = ax + (py - ay) * (bx - ax) / (by - ay)
        crossings += (straddle & (px < x_cross)).sum(axis=1)
        # on-edge: collinear with the segment and between its ends
        scale = max(1.0, float(np.abs(ring).max()))
        cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
        dot = (px - ax) * (bx - ax) + (py - ay) * (by - ay)
        seg2 = (bx - ax) ** 2 + (by - ay) ** 2
        on_edge |= ((np.abs(cross) <= EDGE_TOL * scale * scale)
                    & (dot >= -EDGE_TOL) & (dot <= seg2 + EDGE_TOL)).any(axis=1)
    return (crossings % 2 == 1) | on_edge


def positions(network: Network, what: Literal["candidates", "cells"], crs: Crs
              ) -> tuple[list[str], NDArray[np.float64], NDArray[np.bool_]]:
    """Ids, positions ``[n, 2]`` in ``crs`` and a mask of positions that are known.

    Cells are placed at their site. In WGS84 a point is known when the network has an origin
    or the row carries a non-zero lat/lon (tables without an origin default lat/lon to 0).
    """
    if what == "candidates":
        df = network.candidates
        ids = df["candidate_id"].astype(str).tolist()
    else:
        df = network.cells_with_sites()
        ids = df["cell_id"].astype(str).tolist()
    if crs == "local_m":
        xy = df[["x_m", "y_m"]].to_numpy(dtype=float)
        return ids, xy, np.ones(len(df), dtype=bool)
    xy = df[["lon_deg", "lat_deg"]].to_numpy(dtype=float)
    known = np.full(len(df), network.origin is not None) | (np.abs(xy) > 0).any(axis=1)
    return ids, xy, known
