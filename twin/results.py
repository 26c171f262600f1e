"""A twin's result tables and KPIs at the load fixed point (the State of one hour).

Per bin: the server's SINR at the fixed point's utilisation, the user throughput with all
PRBs times the share the server has left (``1 - rho``); per cell: utilisation, offered,
served and unserved traffic (a cell with ``rho > 1`` serves ``1/rho`` of its offered
traffic), the traffic-weighted mean SINR; then the KPIs (twin/kpis.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.assembly import Assembly
from twin.cell_arrays import CellArrays
from twin.config import RadioConfig
from twin.grid import Grid
from twin.kpis import compute_kpis
from twin.spectral import spectral_efficiency
from twin.state import State


def build_state(asm: Assembly, cells: pd.DataFrame, arrays: CellArrays, grid: Grid,
                cfg: RadioConfig, hour: int, offered: NDArray[np.float64],
                rho: NDArray[np.float64], converged: bool, residual: float, iterations: int
                ) -> State:
    """The :class:`~twin.state.State` of a twin (its assembly, ``Network.cells`` and their
    arrays, on ``grid``) at the fixed point ``rho`` ``[n_cell]`` for ``offered`` ``[n_bin]``
    (Mbit/s); ``hour`` is a label, the solver's outcome is reported as it is."""
    n_bin = grid.n_bin
    n_cell = len(cells)
    has = asm.serving >= 0
    srv = np.maximum(asm.serving, 0)
    served_bins = np.flatnonzero(has)
    prep = asm.prepared(served_bins)
    sinr_lin = np.zeros(n_bin)
    sinr_lin[served_bins] = asm.signal_mw[served_bins] / (
        asm.op.interference(np.minimum(rho, 1.0), prep) + asm.noise_mw[served_bins])
    with np.errstate(divide="ignore"):
        sinr_db = np.where(has, 10.0 * np.log10(sinr_lin), -np.inf)
    peak_rate = spectral_efficiency(sinr_lin, arrays.layers[srv], cfg) * arrays.n_prb[srv] \
        * arrays.prb_bw_hz[srv] / 1e6  # [n_bin] Mbit/s with all PRBs
    user_thr = np.where(has, peak_rate * np.clip(1.0 - rho[srv], 0.0, 1.0), 0.0)
    offered_cell = np.bincount(srv[has], weights=offered[has], minlength=n_cell)
    served_cell = offered_cell / np.maximum(rho, 1.0)
    unserved_cell = offered_cell - served_cell
    no_server_mbps = float(offered[~has].sum())
    w = np.where(has, offered, 0.0)
    sinr_w = np.bincount(srv[has], weights=(w * np.where(has, sinr_db, 0.0))[has],
                         minlength=n_cell)
    wsum = np.bincount(srv[has], weights=w[has], minlength=n_cell)
    n_bins_cell = np.bincount(srv[has], minlength=n_cell)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_sinr = np.where(wsum > 0, sinr_w / wsum, np.nan)
    res_cell = pd.DataFrame({
        "cell_id": cells["cell_id"].to_numpy(),
        "site_id": cells["site_id"].to_numpy(),
        "prb_util": rho,
        "prb_used": np.minimum(rho, 1.0) * arrays.n_prb,
        "offered_mbps": offered_cell,
        "served_mbps": served_cell,
        "unserved_mbps": unserved_cell,
        "mean_sinr_db": mean_sinr,
        "n_bins": n_bins_cell.astype(np.int64),
        "overloaded": rho > cfg.overload_threshold,
    })
    x, y = grid.xy()
    # The serving cell's id per bin by an Arrow take (missing where no server).
    ids = pd.array(cells["cell_id"].astype(str).to_numpy(),
                   dtype=pd.StringDtype(na_value=np.nan))
    res_bin = pd.DataFrame({
        "bin_id": np.arange(n_bin),
        "x_m": x,
        "y_m": y,
        "serving_cell": ids.take(asm.serving, allow_fill=True),
        "rsrp_dbm": asm.rsrp_dbm,
        "sinr_db": sinr_db,
        "offered_mbps": offered,
        "user_thr_mbps": user_thr,
    })
    kpis = compute_kpis(
        rho, offered, sinr_db, user_thr, float(served_cell.sum()),
        float(unserved_cell.sum()) + no_server_mbps, cfg.overload_threshold,
        cfg.coverage_sinr_db, cells["cell_id"].tolist())
    kpis["converged"] = converged
    rho_ro = rho.copy()
    rho_ro.setflags(write=False)
    serving = asm.serving.copy()
    serving.setflags(write=False)
    return State(hour=hour, res_cell=res_cell, res_bin=res_bin, kpis=kpis,
                 converged=converged, residual=residual, iterations=iterations,
                 prb_util=rho_ro, serving=serving)
