"""The result of one twin run: per-cell and per-bin tables, KPIs and the solver's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: Columns of ``State.res_cell`` (units in the names; ``prb_util`` is a fraction, may exceed 1).
RES_CELL_COLUMNS = (
    "cell_id", "site_id", "prb_util", "prb_used", "offered_mbps", "served_mbps", "unserved_mbps",
    "mean_sinr_db", "n_bins", "overloaded",
)
#: Columns of ``State.res_bin``.
RES_BIN_COLUMNS = (
    "bin_id", "x_m", "y_m", "serving_cell", "rsrp_dbm", "sinr_db", "offered_mbps",
    "user_thr_mbps",
)


@dataclass(frozen=True)
class State:
    """Frozen result of :func:`twin.run` for one hour.

    Attributes:
        hour: the hour of day simulated (0..23).
        res_cell: one row per cell (:data:`RES_CELL_COLUMNS`), in the network's cell order.
        res_bin: one row per grid bin (:data:`RES_BIN_COLUMNS`).
        kpis: network KPIs (see :func:`twin.kpis.compute_kpis`).
        converged: whether the load fixed point met its tolerance.
        residual: last max |rho_k+1 - rho_k| of the fixed point.
        iterations: fixed-point iterations used.
        prb_util: ``[n_cell]`` PRB utilisation (same as ``res_cell.prb_util``).
        serving: ``[n_bin]`` index of the serving cell, -1 where no cell reaches the bin.
    """

    hour: int
    res_cell: pd.DataFrame
    res_bin: pd.DataFrame
    kpis: dict[str, Any]
    converged: bool
    residual: float
    iterations: int
    prb_util: NDArray[np.float64] = field(repr=False)
    serving: NDArray[np.int64] = field(repr=False)

    def util_by_cell(self) -> dict[str, float]:
        return dict(zip(self.res_cell["cell_id"], self.res_cell["prb_util"].astype(float),
                        strict=True))

    def to_json(self, scenario: str = "", include_cells: bool = True) -> dict[str, Any]:
        """The object printed by ``celltwin twin --json``."""
        out: dict[str, Any] = {
            "scenario": scenario,
            "hour": self.hour,
            "n_cells": len(self.res_cell),
            "converged": self.converged,
            "residual": self.residual,
            "iterations": self.iterations,
            "kpis": self.kpis,
        }
        if include_cells:
            out["cells"] = [{k: json_value(v) for k, v in row.items()}
                            for row in self.res_cell.to_dict(orient="records")]
        out["kpis"] = {k: json_value(v) for k, v in self.kpis.items()}
        return out


def json_value(v: Any) -> Any:
    """A plain JSON value: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
