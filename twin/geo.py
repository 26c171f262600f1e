"""Local metric frame <-> WGS84 (equirectangular about an origin; metre-accurate over a city)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Origin:
    """The WGS84 point at local (0, 0)."""

    lat_deg: float
    lon_deg: float

    def to_local(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray, NDArray]:
        lat = np.radians(np.asarray(lat_deg, dtype=float))
        lon = np.radians(np.asarray(lon_deg, dtype=float))
        lat0, lon0 = np.radians(self.lat_deg), np.radians(self.lon_deg)
        x = (lon - lon0) * np.cos(lat0) * EARTH_RADIUS_M
        y = (lat - lat0) * EARTH_RADIUS_M
        return x, y

    def to_wgs84(self, x_m: ArrayLike, y_m: ArrayLike) -> tuple[NDArray, NDArray]:
        lat0 = np.radians(self.lat_deg)
        lat = self.lat_deg + np.degrees(np.asarray(y_m, dtype=float) / EARTH_RADIUS_M)
        lon = self.lon_deg + np.degrees(
            np.asarray(x_m, dtype=float) / (EARTH_RADIUS_M * np.cos(lat0)))
        return lat, lon
