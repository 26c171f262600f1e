"""Per-cell KPI counters (TS 28.552 names) read from CSV or Parquet, validated.

Long format, one row per cell and hour:

| column | meaning (TS 28.552) | unit |
|---|---|---|
| ``cell_id`` | the cell | text |
| ``hour`` | hour of day 0..23 (or give ``timestamp`` and the hour is taken from it) | h |
| ``RRU.PrbUsedDl`` | mean DL PRBs used (5.1.1.2.1) | PRBs |
| ``RRU.PrbAvailDl`` | DL PRBs available (5.1.1.2.5) | PRBs |
| ``RRU.PrbTotDl`` | DL total PRB usage (5.1.1.2.2), alternative to the two above | % |
| ``DRB.UEThpDl`` | mean DL UE throughput (5.1.1.3.1), informative | kbit/s |
| ``DRB.PdcpSduVolumeDL`` | DL PDCP SDU volume in the hour (5.1.2.1.1.1) | Mbit |

Each row needs a utilisation (``RRU.PrbUsedDl`` with ``RRU.PrbAvailDl``, or ``RRU.PrbTotDl``)
or a volume. Several rows for the same cell and hour (e.g. several days, or 15-minute
periods) are averaged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin import input_limits
from twin.errors import InputFileError, ValidationError
from twin.input_limits import check_parquet, check_rows
from twin.schema import Column, TableSchema, validate

PRB_USED = "RRU.PrbUsedDl"
PRB_AVAIL = "RRU.PrbAvailDl"
PRB_TOT_PCT = "RRU.PrbTotDl"
UE_THP = "DRB.UEThpDl"
VOLUME = "DRB.PdcpSduVolumeDL"

MEASUREMENTS = TableSchema(
    name="measurements",
    columns=(
        Column("cell_id", "str", "measured cell"),
        Column("hour", "int", "hour of day", min=0, max=23),
        Column(PRB_USED, "float", "mean DL PRBs used", min=0, nullable=True),
        Column(PRB_AVAIL, "float", "DL PRBs available", min=0, nullable=True),
        Column(PRB_TOT_PCT, "float", "DL PRB usage in percent", min=0, max=100, nullable=True),
        Column(UE_THP, "float", "mean DL UE throughput, kbit/s", min=0, nullable=True),
        Column(VOLUME, "float", "DL volume in the hour, Mbit", min=0, nullable=True),
    ),
)
_OPTIONAL = (PRB_USED, PRB_AVAIL, PRB_TOT_PCT, UE_THP, VOLUME)
#: Distinct timestamps in other layouts than ISO 8601 (parsed one by one) a file may hold.
MAX_ODD_TIMESTAMPS = 100_000



def _wall_clock(col: pd.Series) -> pd.Series:
    """Timestamps as the local wall-clock time written in the file (NaT where unreadable).

    The hour of day that matters for the traffic profile is the local one: a UTC offset
    (``+01:00``, ``Z``) is dropped rather than converted, so ``14:15+01:00`` is hour 14 and a
    file spanning a daylight-saving change (two offsets) still parses.
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        return col  # .dt.hour of a tz-aware column is already its own zone's hour
    text = col.astype(str).str.strip().str.replace(r"(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    text = text.where(col.notna())
    ts = pd.to_datetime(text, errors="coerce", format="ISO8601")
    rest = ts.isna() & text.notna()
    if rest.any():
        # Other layouts, one by one (about 25 us each); only the hour is used, so day/month
        # order is moot. Bounded: 800 000 distinct odd timestamps fit in a 20 MB upload.
        n_odd = int(text[rest].nunique())
        if n_odd > MAX_ODD_TIMESTAMPS:
            raise ValidationError(
                "measurements", f"{n_odd:,} distinct timestamps are not ISO 8601, more than "
                f"{MAX_ODD_TIMESTAMPS:,} (limit MAX_ODD_TIMESTAMPS); write them as "
                "2026-03-01T14:15:00 or give an 'hour' column", column="timestamp")
        ts[rest] = pd.to_datetime(text[rest], errors="coerce", format="mixed")
    return ts


def validate_measurements(raw: pd.DataFrame) -> pd.DataFrame:
    """Validate and aggregate counters to one row per (cell, hour).

    Returns columns ``cell_id``, ``hour``, ``prb_util`` (fraction or NaN), ``volume_mbit``
    (or NaN), ``ue_thp_kbps`` (or NaN), ``n_samples``.
    """
    df = raw.copy()
    if "hour" not in df.columns and "timestamp" in df.columns:
        ts = _wall_clock(df["timestamp"])
        if ts.isna().any():
            pos = int(np.flatnonzero(ts.isna().to_numpy())[0])
            raise ValidationError("measurements", f"cannot read timestamp "
                                  f"{df['timestamp'].iloc[pos]!r}", pos, "timestamp")
        df["hour"] = ts.dt.hour
        df = df.drop(columns=["timestamp"])
    for c in _OPTIONAL:  # blank text cells mean "not measured"
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):  # object or str
            df[c] = df[c].where(df[c].astype(str).str.strip() != "", np.nan)
    v = validate(df, MEASUREMENTS)
    used, avail, pct = v[PRB_USED], v[PRB_AVAIL], v[PRB_TOT_PCT]
    has_pair = used.notna() & avail.notna()
    bad_pair = (used.notna() ^ avail.notna()).to_numpy()
    if bad_pair.any():
        pos = int(np.flatnonzero(bad_pair)[0])
        raise ValidationError("measurements", f"{PRB_USED} and {PRB_AVAIL} must be given "
                              "together", pos, PRB_USED)
    zero_avail = (has_pair & (avail <= 0)).to_numpy()
    if zero_avail.any():
        pos = int(np.flatnonzero(zero_avail)[0])
        raise ValidationError("measurements", f"{PRB_AVAIL} must be > 0", pos, PRB_AVAIL)
    over = (has_pair & (used > avail * 1.0001)).to_numpy()
    if over.any():
        pos = int(np.flatnonzero(over)[0])
        raise ValidationError("measurements", f"{PRB_USED} exceeds {PRB_AVAIL}", pos, PRB_USED)
    util = np.where(has_pair, used / avail.where(avail > 0, 1.0),
                    pct / 100.0)
    volume = v[VOLUME].to_numpy(dtype=float)
    if np.any(np.isnan(util) & np.isnan(volume)):
        pos = int(np.flatnonzero(np.isnan(util) & np.isnan(volume))[0])
        raise ValidationError("measurements", f"row has neither a PRB utilisation ({PRB_USED} + "
                              f"{PRB_AVAIL}, or {PRB_TOT_PCT}) nor a volume ({VOLUME})", pos)
    thp = v[UE_THP].to_numpy(dtype=float)
    tidy = pd.DataFrame({"cell_id": v["cell_id"], "hour": v["hour"], "prb_util": util,
                         "volume_mbit": volume, "ue_thp_kbps": thp})
    agg = tidy.groupby(["cell_id", "hour"], as_index=False).agg(
        prb_util=("prb_util", "mean"), volume_mbit=("volume_mbit", "mean"),
        ue_thp_kbps=("ue_thp_kbps", "mean"), n_samples=("prb_util", "size"))
    return agg


def read_measurements(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet counter file and validate it (see module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"measurements file {str(p)!r} not found")
    parquet = p.suffix.lower() in (".parquet", ".pq")
    if parquet:
        check_parquet(p, "measurements")  # rows and decompressed size, before reading
    try:
        raw = (pd.read_parquet(p) if parquet
               else pd.read_csv(p, nrows=input_limits.MAX_TABLE_ROWS + 1))
        if not parquet and not isinstance(raw.index, pd.RangeIndex):
            # pandas silently turns extra leading fields into an index and shifts every column.
            raise ValueError("some rows have more fields than the header")
    except Exception as exc:  # pandas raises many types for a malformed file
        raise InputFileError(f"cannot read measurements file {str(p)!r} as "
                             f"{'Parquet' if parquet else 'CSV'}: {exc}") from exc
    check_rows(len(raw), "measurements", str(p), len(raw.columns))
    return validate_measurements(raw)
