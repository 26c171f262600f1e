"""Hourly traffic shapes from the real Milan measurements (Telecom Italia, 2013-11-01).

The data are 10-minute "internet" activity counts for six Milano GRID squares on one day (a
public holiday, so the shape is a weekend-like one). We use them as diurnal shapes and as the
contrast between a hotspot (the Duomo, square 5060) and quieter squares, never as absolute
traffic (the units are arbitrary).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import NDArray

DUOMO_SQUARE = 5060
MEASURED_SQUARES = (4259, 4456, 4703, 5060, 5085, 5200)


@lru_cache(maxsize=1)
def milan_traffic() -> pd.DataFrame:
    """The shipped 10-minute series: ``square_id``, ``time_interval`` (ms, UTC), ``internet_total``
    and ``hour_local`` (Europe/Rome)."""
    path = resources.files("twin") / "data" / "milan" / "milan_internet_2013-11-01_6squares_10min.csv"
    with resources.as_file(path) as p:
        df = pd.read_csv(p)
    ts = pd.to_datetime(df["time_interval"], unit="ms", utc=True).dt.tz_convert("Europe/Rome")
    df["hour_local"] = ts.dt.hour
    return df


def hourly_activity(square_id: int) -> NDArray[np.float64]:
    """Mean activity per local hour ``[24]`` of one measured square (arbitrary units)."""
    df = milan_traffic()
    sq = df[df["square_id"] == square_id]
    if sq.empty:
        raise KeyError(f"square {square_id} is not among the measured squares {MEASURED_SQUARES}")
    per_hour = sq.groupby("hour_local")["internet_total"].mean()
    return per_hour.reindex(range(24)).interpolate(limit_direction="both").to_numpy(dtype=float)


def hourly_profile(square_id: int = DUOMO_SQUARE) -> NDArray[np.float64]:
    """Hourly shape ``[24]`` of one square, normalised so that its busiest hour is 1."""
    a = hourly_activity(square_id)
    return a / a.max()


def mean_profile() -> NDArray[np.float64]:
    """Hourly shape ``[24]`` averaged over the six measured squares (each normalised first)."""
    prof = np.mean([hourly_profile(s) for s in MEASURED_SQUARES], axis=0)
    return prof / prof.max()
