"""Physical invariants of a State, asserted by every twin test (like pandapower's checks).

:func:`check_state` raises :class:`InvariantError` with what broke; it is cheap enough to call
after every run in tests.
"""

from __future__ import annotations

import numpy as np

from twin.engine import Twin
from twin.state import RES_BIN_COLUMNS, RES_CELL_COLUMNS, State


class InvariantError(AssertionError):
    """A State that breaks a physical invariant (a bug in the twin, not a user error)."""


def check_state(state: State, twin: Twin, rtol: float = 1e-6) -> None:
    """Assert the invariants of ``state`` produced by ``twin``.

    * result tables have their declared columns, one row per cell / bin;
    * one server per bin: ``serving`` is a valid cell index or -1, and -1 only where no cell
      reaches the bin; ``res_bin.serving_cell`` agrees;
    * traffic is conserved: offered = served + unserved, per cell and in total, and the
      per-cell offered traffic sums the offered traffic of the bins each cell serves;
    * utilisation is consistent with demand and capacity: ``prb_util`` is finite and >= 0,
      ``served = offered / max(1, prb_util)``, ``prb_used = min(prb_util, 1) * n_prb``;
      a cell with no offered traffic has zero utilisation;
    * KPIs agree with the tables (peak, mean, overload count, unserved total).
    """
    rc, rb = state.res_cell, state.res_bin
    cells = twin.network.cells
    n_cell, n_bin = len(cells), twin.demand.grid.n_bin

    def fail(msg: str) -> None:
        raise InvariantError(msg)

    if tuple(rc.columns) != RES_CELL_COLUMNS or len(rc) != n_cell:
        fail(f"res_cell has columns {list(rc.columns)} and {len(rc)} rows; expected "
             f"{RES_CELL_COLUMNS} and {n_cell}")
    if tuple(rb.columns) != RES_BIN_COLUMNS or len(rb) != n_bin:
        fail(f"res_bin has columns {list(rb.columns)} and {len(rb)} rows")
    if list(rc["cell_id"]) != list(cells["cell_id"]):
        fail("res_cell is not in the network's cell order")
    srv = np.asarray(state.serving)
    if srv.shape != (n_bin,) or srv.min(initial=0) < -1 or srv.max(initial=-1) >= n_cell:
        fail("serving index out of range")
    reachable = np.zeros(n_bin, dtype=bool)
    reachable[twin.assembly.link_bin] = True
    if np.any((srv < 0) & reachable):
        fail("a bin reached by some cell has no server")
    ids = cells["cell_id"].to_numpy(dtype=object)
    expected = np.where(srv >= 0, ids[np.maximum(srv, 0)], None)
    # pandas 3 stores a missing server (None) as NaN in a string column: compare as None.
    got = rb["serving_cell"]
    got = np.where(got.isna().to_numpy(), None, got.to_numpy(dtype=object))
    if not np.array_equal(got, expected):
        fail("res_bin.serving_cell disagrees with the serving index")
    rho = rc["prb_util"].to_numpy(dtype=float)
    if not np.all(np.isfinite(rho)) or np.any(rho < 0):
        fail("prb_util must be finite and >= 0")
    offered_bin = rb["offered_mbps"].to_numpy(dtype=float)
    has = srv >= 0
    offered_cell = np.bincount(srv[has], weights=offered_bin[has], minlength=n_cell)
    off = rc["offered_mbps"].to_numpy(dtype=float)
    served = rc["served_mbps"].to_numpy(dtype=float)
    unserved = rc["unserved_mbps"].to_numpy(dtype=float)
    scale = max(1.0, float(offered_bin.sum()))
    if not np.allclose(off, offered_cell, rtol=rtol, atol=1e-9 * scale):
        fail("per-cell offered traffic does not sum its bins' traffic")
    if not np.allclose(off, served + unserved, rtol=rtol, atol=1e-9 * scale):
        fail("offered != served + unserved for some cell")
    if np.any(served < -1e-12) or np.any(unserved < -1e-12):
        fail("negative served or unserved traffic")
    if not np.allclose(served, off / np.maximum(rho, 1.0), rtol=rtol, atol=1e-9 * scale):
        fail("served traffic is not offered / max(1, prb_util)")
    n_prb = cells["n_prb"].to_numpy(dtype=float)
    if not np.allclose(rc["prb_used"].to_numpy(dtype=float), np.minimum(rho, 1.0) * n_prb):
        fail("prb_used != min(prb_util, 1) * n_prb")
    if np.any((off == 0) & (rho > 0)):
        fail("a cell without offered traffic has a non-zero utilisation")
    k = state.kpis
    total_unserved = float(unserved.sum() + offered_bin[~has].sum())
    if not np.isclose(k["unserved_mbps"], total_unserved, rtol=1e-6, atol=1e-9 * scale):
        fail("KPI unserved_mbps disagrees with the tables")
    if not np.isclose(k["offered_mbps"], offered_bin.sum(), rtol=1e-9):
        fail("KPI offered_mbps disagrees with the bins")
    if not np.isclose(k["served_mbps"] + k["unserved_mbps"], k["offered_mbps"], rtol=1e-6,
                      atol=1e-9 * scale):
        fail("served + unserved != offered in the KPIs")
    if not np.isclose(k["peak_prb_util"], rho.max()) or not np.isclose(k["mean_prb_util"],
                                                                        rho.mean()):
        fail("peak/mean utilisation KPIs disagree with res_cell")
    if k["n_overloaded"] != int(np.sum(rho > k["overload_threshold"])):
        fail("n_overloaded disagrees with res_cell")
    if not 0.0 <= k["coverage"] <= 1.0 or not 0.0 < k["jain_index"] <= 1.0 + 1e-12:
        fail("coverage or Jain index out of range")
