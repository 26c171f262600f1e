"""Georeferencing of input tables: a sites (and candidates) table that gives WGS84 positions
keeps its place on the Earth.

* ``lat_deg``/``lon_deg`` without ``x_m``/``y_m``: the origin is the sites' mean position and
  the local frame is computed from it (:class:`twin.geo.Origin`, equirectangular);
* both: the origin is fitted (the mean offset between the two) and every row must agree with it
  within :data:`MAX_DISAGREEMENT_M`, or the import names the row that does not;
* neither: the network has no origin and lives in its local frame only (maps and exports say
  so; it is never put at a made-up real place).

Candidates use the sites' origin: lat/lon are converted to the local frame, x/y to lat/lon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.errors import ValidationError
from twin.geo import EARTH_RADIUS_M, Origin

MAX_DISAGREEMENT_M = 5.0


def _given(df: pd.DataFrame | None, cols: tuple[str, str]) -> bool:
    """Whether ``df`` has both columns with a value in every row (a column of blanks is
    absent; a partly filled one is an error raised by :func:`_numbers`)."""
    if df is None or not set(cols) <= set(df.columns) or len(df) == 0:
        return False
    filled = df[list(cols)].notna() & (df[list(cols)].astype(str) != "")
    if not filled.any().any():
        return False
    # (0, 0) everywhere is the schema's default of a table without positions (a synthetic
    # layout written out), not a network in the Gulf of Guinea.
    zero = pd.to_numeric(df[cols[0]], errors="coerce").fillna(0).eq(0) & pd.to_numeric(
        df[cols[1]], errors="coerce").fillna(0).eq(0)
    return not bool(zero.all())


def _numbers(df: pd.DataFrame, table: str, cols: tuple[str, ...], key: str
             ) -> list[np.ndarray]:
    out = []
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            i = int(bad[0])
            raise ValidationError(table, "needs a number (every row gives lat/lon, or none "
                                  f"does), got {df[c].iloc[i]!r}",
                                  f"{i} ({key}={df[key].iloc[i]!r})", c)
        out.append(v)
    return out


def fit_origin(lat: np.ndarray, lon: np.ndarray, x: np.ndarray | None = None,
               y: np.ndarray | None = None) -> Origin:
    """The origin that maps local ``x``/``y`` onto ``lat``/``lon`` (the mean position when no
    local coordinates are given)."""
    if x is None or y is None:
        return Origin(float(np.mean(lat)), float(np.mean(lon)))
    lat0 = float(np.mean(lat - np.degrees(y / EARTH_RADIUS_M)))
    lon0 = float(np.mean(lon - np.degrees(x / (EARTH_RADIUS_M * np.cos(np.radians(lat0))))))
    return Origin(lat0, lon0)


def _place(df: pd.DataFrame, table: str, key: str, origin: Origin | None, fitted: bool
           ) -> pd.DataFrame:
    has_geo = _given(df, ("lat_deg", "lon_deg"))
    has_xy = _given(df, ("x_m", "y_m"))
    if origin is None or len(df) == 0:
        return df
    out = df.copy()
    if has_geo:
        lat, lon = _numbers(df, table, ("lat_deg", "lon_deg"), key)
        bad = np.flatnonzero((np.abs(lat) > 90) | (np.abs(lon) > 180))
        if bad.size:
            i = int(bad[0])
            raise ValidationError(table, f"({lat[i]}, {lon[i]}) is not a WGS84 position",
                                  f"{i} ({key}={df[key].iloc[i]!r})", "lat_deg")
        gx, gy = origin.to_local(lat, lon)
        if has_xy:
            x, y = _numbers(df, table, ("x_m", "y_m"), key)
            d = np.hypot(np.asarray(gx) - x, np.asarray(gy) - y)
            worst = int(np.argmax(d))
            if d[worst] > MAX_DISAGREEMENT_M:
                raise ValidationError(
                    table, f"x_m/y_m ({x[worst]:.1f}, {y[worst]:.1f}) and lat_deg/lon_deg "
                    f"({lat[worst]:.6f}, {lon[worst]:.6f}) are {d[worst]:.0f} m apart"
                    f"{' in the frame fitted to all rows' if fitted else ''} (more than "
                    f"{MAX_DISAGREEMENT_M:g} m); give one of them or make them agree",
                    f"{worst} ({key}={df[key].iloc[worst]!r})", "x_m")
        else:
            out["x_m"], out["y_m"] = gx, gy
    elif has_xy:
        x, y = _numbers(df, table, ("x_m", "y_m"), key)
        out["lat_deg"], out["lon_deg"] = origin.to_wgs84(x, y)
    return out


def georeference(sites: pd.DataFrame, candidates: pd.DataFrame | None,
                 origin: Origin | None) -> tuple[pd.DataFrame, pd.DataFrame | None,
                                                 Origin | None]:
    """Sites and candidates with both local and WGS84 positions where either is given, and
    the network's origin (see module). ``origin`` given wins; else it is derived from the
    sites' lat/lon; else None."""
    fitted = False
    if origin is None and _given(sites, ("lat_deg", "lon_deg")):
        lat, lon = _numbers(sites, "sites", ("lat_deg", "lon_deg"), "site_id")
        if _given(sites, ("x_m", "y_m")):
            x, y = _numbers(sites, "sites", ("x_m", "y_m"), "site_id")
            origin = fit_origin(lat, lon, x, y)
            fitted = True
        else:
            origin = fit_origin(lat, lon)
    sites = _place(sites, "sites", "site_id", origin, fitted)
    if candidates is not None:
        candidates = _place(candidates, "candidates", "candidate_id", origin, fitted)
    return sites, candidates, origin
