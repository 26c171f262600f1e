"""Geolocated traffic maps: where inside and across cell footprints the offered traffic sits.

Per-cell counters (TS 28.552) say how much traffic a cell carries, not where in its footprint
it stands. Operators know that from MDT (TS 37.320) and call-trace geolocation, crowd-sourced
measurements, and planners' own traffic maps and event polygons. This module reads such a map
and blends it with the default prior (:mod:`twin.prior`); calibration
(:mod:`twin.calibration`) then sets each measured cell's level, so **the map decides where the
traffic sits and the counters decide how much**.

Inputs (:func:`read_traffic`), for any network with a local metric frame:

* **samples**, CSV or Parquet, one row per sample: ``lat_deg``/``lon_deg`` (needs the
  network's WGS84 origin) or ``x_m``/``y_m`` (local frame); ``weight`` >= 0 (default 1);
  optional ``hour`` 0..23 (a sample without an hour counts for every hour); optional ``mbps``,
  an absolute offered traffic in Mbit/s instead of a relative weight;
* **GeoJSON** ``FeatureCollection`` (WGS84, RFC 7946): ``Point`` features (properties
  ``weight``, ``hour``, ``mbps`` as above) and ``Polygon``/``MultiPolygon`` features (an area
  such as a stadium or a station whose weight or traffic is spread evenly over it).

A map is **absolute** when it gives ``mbps`` (every row or feature must then give it) and
**relative** otherwise. Samples outside the study area are counted, reported and dropped;
a map with no sample inside is refused. Limits: :data:`MAX_SAMPLES` rows,
:data:`MAX_FEATURES` features, :data:`MAX_VERTICES` polygon vertices.

Density (:func:`rasterise`, per hour h, ``[24, n_bin]``): point samples are binned to the
grid and smoothed with a Gaussian kernel of bandwidth
``h_bw = clip(sigma * n^(-1/6), s / 2, 3 s)`` (Silverman's rule for 2-D data: ``sigma`` the
samples' weighted standard deviation, ``n`` their number, ``s`` the bin spacing), so a dense cloud keeps
its shape at the grid's resolution and a sparse one is not a set of spikes; an area's value is
spread evenly over it: each bin gets the share of the area it overlaps (exact for bins on
the edge and for areas smaller than a bin).

Blend with the prior ``P_h`` (:func:`blend`), ``M_h`` the map's density, ``T_h = sum P_h``:

* relative: ``D_h = T_h [(1 - phi) M_h / sum M_h + phi P_h / T_h]``: the map gives the shape,
  the prior fills in where the map has no samples with the share :data:`PRIOR_SHARE` (phi);
* absolute: ``D_h = M_h + (1 - c) P_h``, ``c`` the share of each bin that the map's areas
  cover (1 inside, 0 outside): an area says what its traffic is (it replaces the prior there), a point sample
  is traffic offered at that place on top of the background (UEs of a crowd, an MDT report's
  volume);
* hours without any sample keep the prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

from twin.demand import HOURS, Demand
from twin.errors import InputFileError
from twin.geo import Origin
from twin.grid import Grid
from twin.input_limits import parse_json

MAX_SAMPLES = 2_000_000
MAX_FEATURES = 100_000
MAX_VERTICES = 1_000_000
MAX_GEOJSON_BYTES = 64 * 1024 * 1024
PRIOR_SHARE = 0.1
ALL_HOURS = -1
MIN_BANDWIDTH_BINS = 0.5
MAX_BANDWIDTH_BINS = 3.0

SAMPLE_COLUMNS = ("lat_deg", "lon_deg", "x_m", "y_m", "weight", "hour", "mbps")


@dataclass(frozen=True)
class TrafficArea:
    """An area whose value is spread evenly over it (local frame, shapely geometry).

    ``value`` counts for ``hour`` (or every hour); ``hourly``, when given, is the value of each
    hour ``[24]`` instead (one area for a square with a measured diurnal series)."""

    geometry: Any
    value: float
    hour: int
    label: str
    hourly: tuple[float, ...] | None = None

    def values(self) -> NDArray[np.float64]:
        """The area's value in each hour ``[24]``."""
        if self.hourly is not None:
            return np.asarray(self.hourly, dtype=float)
        v = np.zeros(HOURS)
        if self.hour == ALL_HOURS:
            v[:] = self.value
        else:
            v[self.hour] = self.value
        return v


@dataclass(frozen=True)
class TrafficMap:
    """A traffic map in the network's local frame.

    Attributes:
        points: one row per point sample inside the study area: ``x_m``, ``y_m``, ``value``
            (weight, or Mbit/s when ``absolute``), ``hour`` (0..23, or :data:`ALL_HOURS`).
        areas: polygon features.
        absolute: values are Mbit/s (``mbps``) rather than relative weights.
        source: the file it came from (for messages and reports).
        warnings: what was dropped or assumed, for the planner to see.
        n_raw: the number of point samples read, when ``points`` holds them summed per square
            (a map stored in a network document); the kernel bandwidth uses it.
    """

    points: pd.DataFrame
    areas: tuple[TrafficArea, ...]
    absolute: bool
    source: str
    warnings: tuple[str, ...] = ()
    n_raw: int | None = None

    @property
    def n_points(self) -> int:
        """Point samples as read (before a network document summed them per square)."""
        return len(self.points) if self.n_raw is None else self.n_raw

    @property
    def n_samples(self) -> int:
        return len(self.points) + len(self.areas)

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, "n_points": self.n_points,
                "n_areas": len(self.areas), "absolute": self.absolute,
                "warnings": list(self.warnings)}


# --- reading ---------------------------------------------------------------------------------
def read_traffic(path: str | Path, grid: Grid, origin: Origin | None,
                 name: str | None = None) -> TrafficMap:
    """Read a traffic map file (samples CSV/Parquet or GeoJSON, see module) onto ``grid``;
    ``name`` is how messages and the map's ``source`` call the file (default: its name; an
    upload gives the name the user's file had).

    Raises:
        InputFileError: unreadable file, missing or bad column, NaN, negative weight, hour out
            of 0..23, an invalid polygon, lat/lon without a network origin, no sample in the
            study area, a file over the limits; the message names the file, row or feature.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"traffic map {str(p)!r} not found")
    with p.open("rb") as f:
        head = f.read(64).lstrip()
    if p.suffix.lower() in (".geojson", ".json") or head.startswith(b"{"):
        return _read_geojson(p, grid, origin, name or p.name)
    return _read_samples(p, grid, origin, name or p.name)


def _read_samples(p: Path, grid: Grid, origin: Origin | None, name: str) -> TrafficMap:
    from twin.importers import read_table_file  # importers reads our documents

    if p.suffix.lower() in (".parquet", ".pq"):
        _check_parquet_rows(p)
    df = read_table_file(p, "traffic map")
    if len(df) == 0:
        raise InputFileError(f"traffic map {name!r} has no rows; give one row per sample with "
                             "lat_deg, lon_deg (or x_m, y_m) and optionally weight, hour, mbps")
    if len(df) > MAX_SAMPLES:
        raise InputFileError(f"traffic map {name!r} has {len(df):,} rows, more than the limit "
                             f"of {MAX_SAMPLES:,}; aggregate the samples (e.g. per 10 m square)")
    cols = {c.lower(): c for c in df.columns}
    unknown = sorted(set(cols) - set(SAMPLE_COLUMNS))
    if unknown:
        raise InputFileError(f"traffic map {name!r}: unknown column(s) {unknown}; expected "
                             f"{list(SAMPLE_COLUMNS)}")
    df = df.rename(columns={c: k for k, c in cols.items()})
    geo = {"lat_deg", "lon_deg"} <= set(df.columns)
    local = {"x_m", "y_m"} <= set(df.columns)
    if not (geo or local):
        raise InputFileError(f"traffic map {name!r}: needs lat_deg and lon_deg (or x_m and "
                             f"y_m) columns, got {list(df.columns)}")
    num = {c: _numeric(df, c, name) for c in df.columns}
    n = len(df)
    if geo:
        x, y = _to_local(num["lat_deg"], num["lon_deg"], origin, name)
    else:
        x, y = num["x_m"], num["y_m"]
        for col, v in (("x_m", x), ("y_m", y)):
            _require_finite(v, col, name, "every sample needs a position")
    absolute = "mbps" in num and bool(np.isfinite(num["mbps"]).any())
    if absolute:
        value = num["mbps"]
        _require_finite(value, "mbps", name, "an absolute map needs mbps on every row")
    else:
        value = num.get("weight", np.ones(n))
        _require_finite(value, "weight", name, "leave the weight column out for weight 1")
    bad = np.flatnonzero(value < 0)
    if bad.size:
        raise InputFileError(f"traffic map {name!r}, {_line(bad[0])}: "
                             f"{'mbps' if absolute else 'weight'} {value[bad[0]]:g} is negative; "
                             "use values >= 0")
    hour = _hours(num.get("hour"), n, name)
    return _finish(pd.DataFrame({"x_m": x, "y_m": y, "value": value, "hour": hour}), (),
                   absolute, name, grid)


def _check_parquet_rows(p: Path) -> None:
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(p).metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputFileError(f"cannot read traffic map {p.name!r} as Parquet: {exc}") from exc
    if rows > MAX_SAMPLES:
        raise InputFileError(f"traffic map {p.name!r} holds {rows:,} rows, more than the limit "
                             f"of {MAX_SAMPLES:,}; aggregate the samples (e.g. per 10 m square)")


def _numeric(df: pd.DataFrame, col: str, name: str) -> NDArray[np.float64]:
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    raw = df[col]
    bad = np.flatnonzero(np.isnan(v) & raw.notna().to_numpy()
                         & (raw.astype(str).str.strip() != "").to_numpy())
    if bad.size:
        raise InputFileError(f"traffic map {name!r}, {_line(bad[0])}, column {col!r}: "
                             f"{str(raw.iloc[bad[0]])[:40]!r} is not a number")
    return v


def _line(i: int | np.integer) -> str:
    return f"row {int(i) + 1} (file line {int(i) + 2})"


def _require_finite(v: NDArray[np.float64], col: str, name: str, hint: str) -> None:
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise InputFileError(f"traffic map {name!r}, {_line(bad[0])}: {col} is missing or not "
                             f"finite; {hint}")


def _hours(h: NDArray[np.float64] | None, n: int, name: str) -> NDArray[np.int64]:
    if h is None:
        return np.full(n, ALL_HOURS, dtype=np.int64)
    given = np.isfinite(h)
    bad = np.flatnonzero(given & ((h < 0) | (h > HOURS - 1) | (h != np.round(h))))
    if bad.size:
        raise InputFileError(f"traffic map {name!r}, {_line(bad[0])}: hour {h[bad[0]]:g} is not "
                             "an integer 0..23 (leave it empty for every hour)")
    return np.where(given, np.nan_to_num(h), ALL_HOURS).astype(np.int64)


def _to_local(lat: NDArray[np.float64], lon: NDArray[np.float64], origin: Origin | None,
              name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if origin is None:
        raise InputFileError(f"traffic map {name!r} gives lat_deg/lon_deg but the network has "
                             "no geographic origin (its sites have no lat/lon); give x_m/y_m "
                             "in the network's local frame instead")
    bad = np.flatnonzero(~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90)
                         | (np.abs(lon) > 180))
    if bad.size:
        raise InputFileError(f"traffic map {name!r}, {_line(bad[0])}: lat_deg/lon_deg "
                             f"({lat[bad[0]]}, {lon[bad[0]]}) is not a WGS84 position")
    x, y = origin.to_local(lat, lon)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _inside(grid: Grid, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    half = grid.spacing_m / 2
    return ((x >= grid.x0_m - half) & (x < grid.x0_m + (grid.nx - 0.5) * grid.spacing_m)
            & (y >= grid.y0_m - half) & (y < grid.y0_m + (grid.ny - 0.5) * grid.spacing_m))


def _finish(points: pd.DataFrame, areas: tuple[TrafficArea, ...], absolute: bool, name: str,
            grid: Grid, warnings: tuple[str, ...] = ()) -> TrafficMap:
    x = points["x_m"].to_numpy(float)
    y = points["y_m"].to_numpy(float)
    ok = _inside(grid, x, y)
    n_out = int((~ok).sum())
    notes = list(warnings)
    if n_out:
        notes.append(f"{n_out} of {len(points)} point samples of {name!r} lie outside the study "
                     "area and were dropped")
    points = points[ok].reset_index(drop=True)
    if len(points) == 0 and not areas:
        raise InputFileError(f"traffic map {name!r}: no sample lies inside the study area "
                             f"({n_out} outside); check the coordinates (lat/lon vs x/y, their "
                             "order) and that the map belongs to this network")
    total = float(points["value"].sum()) + sum(float(a.values().sum()) for a in areas)
    if total <= 0:
        raise InputFileError(f"traffic map {name!r}: every weight is 0; give some positive "
                             "weight or traffic")
    return TrafficMap(points, areas, absolute, name, tuple(notes))


def _read_geojson(p: Path, grid: Grid, origin: Origin | None, name: str) -> TrafficMap:
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    if p.stat().st_size > MAX_GEOJSON_BYTES:
        raise InputFileError(f"traffic map {name!r} is larger than "
                             f"{MAX_GEOJSON_BYTES // 2**20} MiB; simplify or split it")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"traffic map {name!r} is not UTF-8 text: {exc}") from exc
    doc = parse_json(text, f"traffic map {name!r}")
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
            doc.get("features"), list):
        raise InputFileError(f"traffic map {name!r}: expected a GeoJSON FeatureCollection "
                             "with a 'features' list")
    feats = doc["features"]
    if not feats:
        raise InputFileError(f"traffic map {name!r} has no features")
    if len(feats) > MAX_FEATURES:
        raise InputFileError(f"traffic map {name!r} has {len(feats):,} features, more than the "
                             f"limit of {MAX_FEATURES:,}")
    if origin is None:
        raise InputFileError(f"traffic map {name!r} is GeoJSON (WGS84) but the network has no "
                             "geographic origin (its sites have no lat/lon); give a samples "
                             "CSV with x_m/y_m in the network's local frame instead")
    absolute = any(isinstance(f, dict) and isinstance(f.get("properties"), dict)
                   and f["properties"].get("mbps") is not None for f in feats)
    key = "mbps" if absolute else "weight"
    rows: list[tuple[float, float, float, int]] = []
    areas: list[TrafficArea] = []
    vertices = 0
    for i, f in enumerate(feats):
        where = f"feature {i}"
        if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
            raise InputFileError(f"traffic map {name!r}, {where}: not a Feature with a geometry")
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            raise InputFileError(f"traffic map {name!r}, {where}: properties must be an object")
        value = _prop_number(props, key, 1.0 if not absolute else None, name, where)
        if value < 0:
            raise InputFileError(f"traffic map {name!r}, {where}: {key} {value:g} is negative")
        hour = _prop_hour(props, name, where)
        g = f["geometry"]
        kind = g.get("type")
        coords = g.get("coordinates")
        if kind == "Point":
            lon, lat = _lonlat(coords, name, where)
            x, y = origin.to_local(lat, lon)
            rows.append((float(x), float(y), value, hour))
            continue
        if kind not in ("Polygon", "MultiPolygon"):
            raise InputFileError(f"traffic map {name!r}, {where}: geometry {kind!r} is not "
                                 "supported; use Point, Polygon or MultiPolygon")
        local, n_vert = _local_geometry(kind, coords, origin, name, where)
        vertices += n_vert
        if vertices > MAX_VERTICES:
            raise InputFileError(f"traffic map {name!r}: more than {MAX_VERTICES:,} polygon "
                                 "vertices; simplify the polygons")
        try:
            geom = shape({"type": kind, "coordinates": local})
        except Exception as exc:  # shapely raises several types for malformed rings
            raise InputFileError(f"traffic map {name!r}, {where}: invalid {kind}: {exc}"
                                 ) from exc
        if not geom.is_valid:
            raise InputFileError(f"traffic map {name!r}, {where}: invalid {kind} "
                                 f"({explain_validity(geom)}); fix the ring (no "
                                 "self-intersection, closed, at least 3 distinct points)")
        if geom.area <= 0:
            raise InputFileError(f"traffic map {name!r}, {where}: the polygon has no area")
        areas.append(TrafficArea(geom, value, hour, str(props.get("name", where))[:80]))
    kept, notes = _areas_in_grid(areas, grid, name)
    points = pd.DataFrame(rows, columns=["x_m", "y_m", "value", "hour"])
    points = points.astype({"x_m": float, "y_m": float, "value": float, "hour": np.int64})
    return _finish(points, kept, absolute, name, grid, notes)


def _prop_number(props: dict[str, Any], key: str, default: float | None, name: str,
                 where: str) -> float:
    v = props.get(key, default)
    if v is None:
        raise InputFileError(f"traffic map {name!r}, {where}: property {key!r} is missing; an "
                             "absolute map (one that gives mbps) needs it on every feature")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputFileError(f"traffic map {name!r}, {where}: property {key!r} must be a finite "
                             f"number, got {str(v)[:40]!r}")
    return float(v)


def _prop_hour(props: dict[str, Any], name: str, where: str) -> int:
    h = props.get("hour")
    if h is None:
        return ALL_HOURS
    if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h < HOURS:
        raise InputFileError(f"traffic map {name!r}, {where}: hour {str(h)[:20]} is not an "
                             "integer 0..23 (leave it out for every hour)")
    return h


def _lonlat(c: Any, name: str, where: str) -> tuple[float, float]:
    ok = (isinstance(c, list) and len(c) in (2, 3)
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in c))
    if not ok or not (math.isfinite(c[0]) and math.isfinite(c[1])) or abs(c[0]) > 180 or abs(
            c[1]) > 90:
        raise InputFileError(f"traffic map {name!r}, {where}: a position must be [lon, lat] in "
                             f"WGS84 degrees, got {str(c)[:60]}")
    return float(c[0]), float(c[1])


def _local_geometry(kind: str, coords: Any, origin: Origin, name: str, where: str
                    ) -> tuple[Any, int]:
    polys = [coords] if kind == "Polygon" else coords
    if not isinstance(polys, list) or not polys:
        raise InputFileError(f"traffic map {name!r}, {where}: {kind} without coordinates")
    out = []
    n = 0
    for poly in polys:
        if not isinstance(poly, list) or not poly:
            raise InputFileError(f"traffic map {name!r}, {where}: a polygon needs rings")
        rings = []
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise InputFileError(f"traffic map {name!r}, {where}: a ring needs at least 4 "
                                     "positions (closed: the last repeats the first)")
            ll = np.array([_lonlat(c, name, where) for c in ring])
            x, y = origin.to_local(ll[:, 1], ll[:, 0])
            rings.append(np.column_stack([x, y]).tolist())
            n += len(ring)
        out.append(rings)
    return (out[0] if kind == "Polygon" else out), n


def _areas_in_grid(areas: list[TrafficArea], grid: Grid, name: str
                   ) -> tuple[tuple[TrafficArea, ...], tuple[str, ...]]:
    from shapely.geometry import box

    half = grid.spacing_m / 2
    study = box(grid.x0_m - half, grid.y0_m - half, grid.x0_m + (grid.nx - 0.5) * grid.spacing_m,
                grid.y0_m + (grid.ny - 0.5) * grid.spacing_m)
    kept = tuple(a for a in areas if a.geometry.intersects(study))
    n_out = len(areas) - len(kept)
    notes = (f"{n_out} of {len(areas)} areas of {name!r} lie outside the study area and were "
             "dropped",) if n_out else ()
    return kept, notes


# --- the map inside a network document ------------------------------------------------------
DOC_RESOLUTION_M = 10.0


def traffic_to_doc(tmap: TrafficMap) -> dict[str, Any]:
    """The map as JSON (local frame) for a network document: point samples summed per
    :data:`DOC_RESOLUTION_M` square and hour (so a million MDT samples stay a small
    document), areas as GeoJSON geometries in local metres."""
    from shapely.geometry import mapping

    pts = tmap.points
    r = DOC_RESOLUTION_M
    agg = (pts.assign(qx=np.rint(pts["x_m"] / r), qy=np.rint(pts["y_m"] / r))
           .groupby(["qx", "qy", "hour"], as_index=False)["value"].sum())
    return {"format": "celltwin-traffic", "version": 1, "source": tmap.source,
            "absolute": tmap.absolute, "n_points": tmap.n_points, "warnings": list(tmap.warnings),
            "points": [[float(a * r), float(b * r), float(v), int(h)] for a, b, h, v in
                       agg[["qx", "qy", "hour", "value"]].itertuples(index=False)],
            "areas": [{"geometry": mapping(a.geometry), "value": a.value, "hour": a.hour,
                       "label": a.label,
                       "hourly": None if a.hourly is None else list(a.hourly)}
                      for a in tmap.areas]}


def traffic_from_doc(doc: Any, source: str = "network document") -> TrafficMap:
    """Inverse of :func:`traffic_to_doc`; raises InputFileError for a malformed section."""
    from shapely.geometry import shape

    try:
        if doc.get("format") != "celltwin-traffic" or doc.get("version") != 1:
            raise ValueError("expected format 'celltwin-traffic', version 1")
        pts = pd.DataFrame(doc["points"], columns=["x_m", "y_m", "value", "hour"]).astype(
            {"x_m": float, "y_m": float, "value": float, "hour": np.int64})
        areas = tuple(TrafficArea(shape(a["geometry"]), float(a["value"]), int(a["hour"]),
                                  str(a.get("label", "")),
                                  None if a.get("hourly") is None
                                  else tuple(float(v) for v in a["hourly"]))
                      for a in doc["areas"])
        absolute = bool(doc["absolute"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputFileError(f"{source}: malformed 'traffic' section ({exc}); re-import the "
                             "network with its traffic map") from exc
    if not np.isfinite(pts[["x_m", "y_m", "value"]].to_numpy()).all() or (pts["value"] < 0).any(
            ) or not pts["hour"].between(ALL_HOURS, HOURS - 1).all():
        raise InputFileError(f"{source}: the 'traffic' section holds a non-finite, negative or "
                             "out-of-range value; re-import the network with its traffic map")
    for a in areas:
        v = a.values()
        if v.shape != (HOURS,) or not np.isfinite(v).all() or (v < 0).any() or not (
                a.geometry.is_valid and a.geometry.area > 0):
            raise InputFileError(f"{source}: the 'traffic' section holds an invalid area "
                                 f"({a.label!r}); re-import the network with its traffic map")
    n_raw = doc.get("n_points")
    return TrafficMap(pts, areas, absolute, str(doc.get("source", source)),
                      tuple(str(w) for w in doc.get("warnings", [])),
                      int(n_raw) if isinstance(n_raw, int) and n_raw >= 0 else None)


# --- density ---------------------------------------------------------------------------------
def bandwidth_m(points: pd.DataFrame, grid: Grid, n_raw: int | None = None) -> float:
    """Kernel bandwidth of the point samples (see module): Silverman's rule with the samples'
    weighted spread and ``n_raw`` (default: the number of rows) samples, clipped to
    [:data:`MIN_BANDWIDTH_BINS`, :data:`MAX_BANDWIDTH_BINS`] bin spacings."""
    s = grid.spacing_m
    n = len(points) if n_raw is None else n_raw
    w = points["value"].to_numpy(float)
    if n < 2 or len(points) < 2 or w.sum() <= 0:
        return s
    xy = points[["x_m", "y_m"]].to_numpy(float)
    mean = (w[:, None] * xy).sum(axis=0) / w.sum()
    sigma = float(np.mean(np.sqrt((w[:, None] * (xy - mean) ** 2).sum(axis=0) / w.sum())))
    return float(np.clip(sigma * n ** (-1.0 / 6.0), MIN_BANDWIDTH_BINS * s,
                         MAX_BANDWIDTH_BINS * s))


Overlaps = list[tuple[NDArray[np.int64], NDArray[np.float64]]]


def overlaps(tmap: TrafficMap, grid: Grid) -> Overlaps:
    """:func:`area_overlap` of each of the map's areas (computed once per map and grid)."""
    return [area_overlap(a.geometry, grid) for a in tmap.areas]


def rasterise(tmap: TrafficMap, grid: Grid, area_cells: Overlaps | None = None
              ) -> NDArray[np.float64]:
    """The map's traffic per hour and bin ``[24, n_bin]`` (weights, or Mbit/s if absolute)."""
    out = np.zeros((HOURS, grid.n_bin))
    pts = tmap.points
    if len(pts):
        ix = np.clip(np.rint((pts["x_m"].to_numpy(float) - grid.x0_m) / grid.spacing_m), 0,
                     grid.nx - 1).astype(np.int64)
        iy = np.clip(np.rint((pts["y_m"].to_numpy(float) - grid.y0_m) / grid.spacing_m), 0,
                     grid.ny - 1).astype(np.int64)
        b = iy * grid.nx + ix  # [n_point]
        hour = pts["hour"].to_numpy(np.int64)
        val = pts["value"].to_numpy(float)
        sigma = bandwidth_m(pts, grid, tmap.n_raw) / grid.spacing_m
        # one smoothing per distinct hour (and one for the all-hours samples)
        for h in np.unique(hour):
            sel = hour == h
            raw = np.bincount(b[sel], weights=val[sel], minlength=grid.n_bin)
            dens = gaussian_filter(raw.reshape(grid.ny, grid.nx), sigma, mode="constant",
                                   truncate=3.0).ravel()
            dens *= raw.sum() / max(dens.sum(), 1e-300)  # mass lost past the edge put back
            if h == ALL_HOURS:
                out += dens[None, :]
            else:
                out[h] += dens
    area_cells = overlaps(tmap, grid) if area_cells is None else area_cells
    for a, (bins, overlap) in zip(tmap.areas, area_cells, strict=True):
        out[:, bins] += a.values()[:, None] * (overlap / a.geometry.area)[None, :]
    return out


def area_overlap(geometry: Any, grid: Grid) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Bins that ``geometry`` overlaps and the overlap of each in m^2 ``([k], [k])``: an area's
    value is spread over it in proportion to the overlap (exact for bins partly inside, and for
    an area smaller than a bin; the part outside the study area is not modelled)."""
    import shapely

    x0, y0, x1, y1 = geometry.bounds
    s = grid.spacing_m
    ix0 = max(0, int(np.floor((x0 - grid.x0_m) / s + 0.5)))
    ix1 = min(grid.nx - 1, int(np.floor((x1 - grid.x0_m) / s + 0.5)))
    iy0 = max(0, int(np.floor((y0 - grid.y0_m) / s + 0.5)))
    iy1 = min(grid.ny - 1, int(np.floor((y1 - grid.y0_m) / s + 0.5)))
    if ix1 < ix0 or iy1 < iy0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ix = np.tile(np.arange(ix0, ix1 + 1), iy1 - iy0 + 1)
    iy = np.repeat(np.arange(iy0, iy1 + 1), ix1 - ix0 + 1)
    cx, cy = grid.x0_m + ix * s, grid.y0_m + iy * s
    boxes = shapely.box(cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2)  # [k]
    overlap = shapely.area(shapely.intersection(boxes, geometry))
    keep = overlap > 0
    return (iy[keep] * grid.nx + ix[keep]).astype(np.int64), overlap[keep]


def area_bins(geometry: Any, grid: Grid) -> NDArray[np.int64]:
    """Bins that ``geometry`` overlaps (see :func:`area_overlap`)."""
    return area_overlap(geometry, grid)[0]


# --- blending with the prior -----------------------------------------------------------------
@dataclass(frozen=True)
class MappedDemand:
    """The demand after the map, and how much of it the map placed.

    Attributes:
        demand: offered traffic ``[24, n_bin]`` (Mbit/s).
        map_mbps: the part of ``demand`` the map placed ``[24, n_bin]`` (the rest is prior).
        tmap: the map.
    """

    demand: Demand
    map_mbps: NDArray[np.float64]
    tmap: TrafficMap

    def map_share(self) -> NDArray[np.float64]:
        """Share of each bin's traffic the map placed ``[24, n_bin]`` (0 where no traffic)."""
        d = self.demand.mbps
        return np.divide(self.map_mbps, d, out=np.zeros_like(d), where=d > 0)


def coverage(tmap: TrafficMap, grid: Grid, hour: int, area_cells: Overlaps | None = None
             ) -> NDArray[np.float64]:
    """``c`` ``[n_bin]``: the share of each bin that the map's areas for ``hour`` cover (1
    inside an area, 0 outside every area, between for a bin on an area's edge)."""
    c = np.zeros(grid.n_bin)
    area_cells = overlaps(tmap, grid) if area_cells is None else area_cells
    for a, (bins, overlap) in zip(tmap.areas, area_cells, strict=True):
        if a.hourly is not None or a.hour in (ALL_HOURS, hour):
            c[bins] += overlap / grid.spacing_m**2
    return np.minimum(c, 1.0)


def blend(prior: Demand, tmap: TrafficMap, prior_share: float = PRIOR_SHARE) -> MappedDemand:
    """The map blended with ``prior`` (equations in the module docstring)."""
    grid = prior.grid
    area_cells = overlaps(tmap, grid)
    m = rasterise(tmap, grid, area_cells)  # [24, n_bin]
    p = np.asarray(prior.mbps, dtype=float)  # [24, n_bin]
    out = p.copy()
    placed = np.zeros_like(p)
    for h in range(HOURS):
        mh = m[h]
        total_m = float(mh.sum())
        if total_m <= 0:
            continue
        if tmap.absolute:
            c = coverage(tmap, grid, h, area_cells)
            placed[h] = mh
            out[h] = mh + (1.0 - c) * p[h]
        else:
            total_p = float(p[h].sum())
            placed[h] = total_p * (1.0 - prior_share) * mh / total_m
            out[h] = placed[h] + prior_share * p[h]
    return MappedDemand(Demand(grid, out), placed, tmap)
