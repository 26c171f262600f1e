"""Calibration: fit the demand map so that the twin reproduces measured per-cell load.

Given a prior demand (a spatial shape, e.g. uniform, population- or cell-density-based) and
per-cell, per-hour measurements (PRB utilisation and/or DL volume, TS 28.552 counters), each
round runs the twin and scales the demand of every bin by ``measured / modelled`` of its
serving cell (utilisation, or offered volume where only a volume is measured). Because SINR is
load-coupled, one scaling is not exact; the rounds repeat until every matchable cell is within
``tolerance`` of its measurement. The spatial shape inside a cell's footprint is the prior's:
measurements per cell cannot say where inside the cell the traffic is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import ValidationError
from twin.network import Network

SATURATED_UTIL = 0.995
#: Unmatched cells spelled out in :attr:`CalibrationResult.warnings` (all are in ``unmatched``).
MAX_WARNINGS = 20


@dataclass(frozen=True)
class CalibrationResult:
    """The fitted demand and how well it matches.

    Attributes:
        demand: fitted demand ``[24, n_bin]``.
        report: one row per measured (cell, hour): ``cell_id``, ``hour``, ``measured_prb_util``,
            ``model_prb_util``, ``abs_error``, ``ape`` (absolute percentage error), ``matched``.
        mape: mean absolute percentage error over matched rows (fraction, 0.05 = 5 %).
        max_abs_error: largest |model - measured| utilisation over matched rows.
        unmatched: cells the fit could not match, each ``{"cell_id", "hours", "reason"}``.
        rounds: rounds used per calibrated hour.
    """

    demand: Demand
    report: pd.DataFrame
    mape: float
    max_abs_error: float
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    rounds: dict[int, int] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        """The measured cells the fit left out, in words (at most :data:`MAX_WARNINGS`)."""
        out = [f"measurements of cell {u['cell_id']} ({len(u['hours'])} hour(s)) not used: "
               f"{u['reason']}" for u in self.unmatched[:MAX_WARNINGS]]
        if len(self.unmatched) > MAX_WARNINGS:
            out.append(f"... and {len(self.unmatched) - MAX_WARNINGS} more unmatched cells "
                       "(see 'unmatched')")
        return out

    def summary(self) -> dict[str, Any]:
        return {"mape": self.mape, "max_abs_error": self.max_abs_error,
                "n_rows": len(self.report), "n_matched": int(self.report["matched"].sum()),
                "unmatched": self.unmatched, "rounds": self.rounds, "warnings": self.warnings}


def calibrate_demand(network: Network, prior: Demand, measurements: pd.DataFrame,
                     config: RadioConfig | None = None, max_rounds: int = 40,
                     tolerance: float = 0.002) -> CalibrationResult:
    """Fit ``prior`` to ``measurements`` (the output of
    :func:`twin.measurements.validate_measurements`).

    Hours without measurements keep the prior. Cells that cannot be matched (unknown id,
    serving no bin, no prior traffic in the footprint, saturated at 100 %) keep the prior
    in their footprint and are listed with the reason. ``tolerance`` is the largest
    acceptable |model - measured| utilisation, and the largest relative error of the offered
    volume for cells measured by volume only.

    Raises:
        ValidationError: no measured cell id is a cell of the network (the file is for
            another network), or no measured row could be fitted at all (every cell
            unmatched): a calibration that fits nothing is not one.
    """
    cell_ids = network.cell_ids
    measured = pd.unique(measurements["cell_id"].astype(str))
    if len(measured) and not set(measured) & set(cell_ids):
        raise ValidationError(
            "measurements", f"none of the {len(measured)} measured cell ids is a cell of the "
            f"network (measured e.g. {_sample(measured)}; the network has e.g. "
            f"{_sample(cell_ids)}): the counters are for another network, or the cell_id "
            "column is written differently", column="cell_id")
    twin = Twin(network, prior, config)
    serving = twin.assembly.serving  # [n_bin], association does not depend on demand
    idx = {c: i for i, c in enumerate(cell_ids)}
    n_cell = len(cell_ids)
    has = serving >= 0
    n_bins_cell = np.bincount(serving[has], minlength=n_cell)
    fitted = np.array(prior.mbps, dtype=float)
    unmatched: dict[tuple[str, str], list[int]] = {}
    rows: list[dict[str, Any]] = []
    rounds: dict[int, int] = {}

    def flag(cell: str, hour: int, reason: str) -> None:
        unmatched.setdefault((cell, reason), []).append(int(hour))

    for hour, meas_h in measurements.groupby("hour"):
        hour = int(hour)
        target_u = np.full(n_cell, np.nan)
        target_v = np.full(n_cell, np.nan)
        for rec in meas_h.itertuples(index=False):
            i = idx.get(rec.cell_id)
            if i is None:
                flag(rec.cell_id, hour, "cell id not in the network")
                continue
            if n_bins_cell[i] == 0:
                flag(rec.cell_id, hour, "serves no bin of the study area (check position, "
                     "azimuth, power or enlarge the grid)")
                continue
            if not np.isnan(rec.prb_util):
                if rec.prb_util >= SATURATED_UTIL:
                    flag(rec.cell_id, hour, "saturated (utilisation ~100 %): the offered traffic "
                         "is above what the counter can show; a volume counter would help")
                    continue
                target_u[i] = rec.prb_util
            elif not np.isnan(rec.volume_mbit):
                target_v[i] = rec.volume_mbit / 3600.0
        d = fitted[hour]
        offered_cell = np.bincount(serving[has], weights=d[has], minlength=n_cell)
        for i in np.flatnonzero((~np.isnan(target_u) | ~np.isnan(target_v)) & (offered_cell <= 0)):
            if (target_u[i] > 0) or (target_v[i] > 0):
                flag(cell_ids[i], hour, "no prior traffic in its footprint to scale; give the "
                     "prior a non-zero floor")
                target_u[i] = target_v[i] = np.nan
        fit = ~np.isnan(target_u) | ~np.isnan(target_v)
        state = twin.solve(d, hour)
        used = 0
        for used in range(1, max_rounds + 1):  # noqa: B007
            rho = np.asarray(state.prb_util)
            err = np.where(~np.isnan(target_u), np.abs(rho - np.nan_to_num(target_u)), 0.0)
            offered_cell = np.bincount(serving[has], weights=d[has], minlength=n_cell)
            v = ~np.isnan(target_v) & (offered_cell > 0)
            # Volume targets: relative error, held to the same tolerance (0.002 = 0.2 %).
            err[v] = np.abs(offered_cell[v] / target_v[v] - 1.0)
            if not fit.any() or err[fit].max() < tolerance:
                break
            # With interference evaluated at the measured loads, a cell's load is linear in its
            # own traffic, so one scaling matches it exactly; rounds only settle the coupling
            # with unmeasured cells and the volume-only ones.
            rho_interf = np.where(np.isnan(target_u), rho, np.nan_to_num(target_u))
            rho_lin = twin.load_operator(d)(rho_interf)
            factor = np.ones(n_cell)
            u = ~np.isnan(target_u) & (rho_lin > 0)
            factor[u] = target_u[u] / rho_lin[u]
            factor[v] = target_v[v] / offered_cell[v]
            d = d * np.where(has, factor[np.maximum(serving, 0)], 1.0)
            state = twin.solve(d, hour, warm_start=rho_interf)
        fitted[hour] = d
        rounds[hour] = used
        rho = np.asarray(state.prb_util)
        for rec in meas_h.itertuples(index=False):
            i = idx.get(rec.cell_id)
            meas = float(rec.prb_util) if not np.isnan(rec.prb_util) else float("nan")
            model = float(rho[i]) if i is not None else float("nan")
            ok = i is not None and bool(fit[i])
            rows.append({"cell_id": rec.cell_id, "hour": hour, "measured_prb_util": meas,
                         "model_prb_util": model, "abs_error": abs(model - meas),
                         "ape": abs(model - meas) / meas if meas > 0 else float("nan"),
                         "matched": ok})
    report = pd.DataFrame(rows, columns=["cell_id", "hour", "measured_prb_util",
                                         "model_prb_util", "abs_error", "ape", "matched"])
    good = report[report["matched"] & report["measured_prb_util"].notna()]
    mape = float(good["ape"].dropna().mean()) if len(good) else float("nan")
    max_abs = float(good["abs_error"].max()) if len(good) else float("nan")
    unmatched_list = [{"cell_id": c, "hours": sorted(set(h)), "reason": r}
                      for (c, r), h in sorted(unmatched.items())]
    if len(report) and not report["matched"].any():
        reasons = sorted({u["reason"] for u in unmatched_list})
        raise ValidationError(
            "measurements", f"none of the {len(report)} measured (cell, hour) rows could be "
            f"fitted: {'; '.join(reasons)}", column="cell_id")
    return CalibrationResult(Demand(prior.grid, fitted), report, mape, max_abs, unmatched_list,
                             rounds)


def map_share_per_cell(network: Network, map_share: np.ndarray, demand: Demand,
                       config: RadioConfig | None = None) -> pd.DataFrame:
    """Per cell, the busy-hour share of its offered traffic that a traffic map placed.

    Args:
        map_share: share of each bin's traffic the map placed ``[24, n_bin]``
            (:meth:`twin.traffic_map.MappedDemand.map_share`); calibration scales the map's
            part and the prior's part of a bin alike, so the share survives it.
        demand: the final demand ``[24, n_bin]``.

    Returns: ``cell_id``, ``offered_mbps``, ``map_mbps``, ``map_share`` (NaN for a cell that
    serves no traffic).
    """
    twin = Twin(network, demand, config)
    serving = twin.assembly.serving  # [n_bin]
    h = demand.busy_hour
    d = np.asarray(demand.mbps[h], dtype=float)
    has = serving >= 0
    n_cell = len(network.cells)
    offered = np.bincount(serving[has], weights=d[has], minlength=n_cell)
    placed = np.bincount(serving[has], weights=(d * map_share[h])[has], minlength=n_cell)
    share = np.divide(placed, offered, out=np.full(n_cell, np.nan), where=offered > 0)
    return pd.DataFrame({"cell_id": network.cell_ids, "offered_mbps": offered,
                         "map_mbps": placed, "map_share": share})
def _sample(ids: Any, n: int = 3) -> str:
    shown = ", ".join(repr(str(i)[:40]) for i in list(ids)[:n])
    return shown + (", ..." if len(ids) > n else "")
