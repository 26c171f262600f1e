"""The twin's run: association, load-coupled SINR fixed point, results and KPIs.

For one hour with offered traffic ``D_b`` (bit/s) in bin ``b`` served by cell ``s(b)``:

    SINR_b(rho) = P_s g_bs / (sum_{j != s, same carrier} min(rho_j, 1) P_j g_bj + N_s)
    se_b        = L_s * min(alpha log2(1 + SINR_b / L_s), se_max)  (truncated Shannon, L_s layers)
    rho_c       = sum_{b: s(b)=c} D_b / (se_b * B_prb,c) / n_prb,c     (PRB utilisation)

``rho = f(rho)`` is the load-coupling fixed point of Siomina & Yuan (IEEE TWC 2012); ``f`` is
a standard interference function, so the iteration from ``rho = 0`` increases monotonically to
the least fixed point when one exists. The iteration stops at ``tolerance`` or
``max_iterations`` and reports the flag and the residual: non-convergence is never hidden.
Inside the fixed point a bin below ``sinr_min_db`` is charged at the lowest MCS (the scheduler
still serves it, expensively), which keeps ``f`` monotone; the coverage KPI reports such bins.
A cell with ``rho > 1`` serves ``1/rho`` of its offered traffic; the rest is reported as
unserved, never clipped away.

This module is the entry point (:class:`Twin`, :func:`run`); how a run is computed lives in
the modules below, in the order a run uses them (docs/model.md, "Far-field interference" and
"What-ifs"):

* ``twin/links.py``: link gains per cell (exact near links, the far-field lattice), cached
  by geometry; path loss from ``twin/propagation.py`` (TR 38.901), patterns from
  ``twin/antenna.py``;
* ``twin/cell_arrays.py``: the per-cell numbers a run reads (power, CIO, PRBs, layers);
* ``twin/assembly.py``: :class:`~twin.assembly.Assembly`, a twin's association and
  interference operator, and :func:`~twin.assembly.assemble`, the full build;
* ``twin/association.py``: the server of each bin, the argmax of RSRP + CIO over exact
  link gains (links within ``near_link_distance_m``, plus the promoted outer links);
* ``twin/far_field.py``: the far-field safeguard, promoting to exact links every cell that
  could win a bin beyond its near zone, tile by tile;
* ``twin/operators.py``: the operator's blocks (a sparse matrix of exact near links,
  cell-major, plus the far field of every cell on a coarse lattice, interpolated to the
  bins; the server's own term is subtracted per bin) and the per-bin signal and noise;
* ``twin/whatif_assembly.py``: :meth:`Twin.what_if`'s assembly, re-associating only the bins
  whose server the changed cells can change and adding their new columns to the parent's
  operator (twin/interference.py) instead of rebuilding it;
* ``twin/load_coupling.py``: the load map ``f``, its analytic Jacobian and the factorised
  Jacobians a twin keeps for its what-ifs;
* ``twin/fixedpoint.py``: the solvers: cold runs iterate plainly from 0; warm-started runs
  use Anderson acceleration, what-ifs chord-Newton on their base twin's Jacobian, with the
  same stopping rule;
* ``twin/results.py``: the State's result tables and KPIs.

``twin/whatif_local.py`` solves a what-if's fixed point in the change's neighbourhood only.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.assembly import Assembly, AssemblyInputs, assemble
from twin.cell_arrays import CellArrays
from twin.config import RadioConfig
from twin.demand import Demand, check_hour
from twin.fixedpoint import (
    LoadMap,
    LuFactors,
    anderson_iteration,
    chord_preconditioner,
    plain_iteration,
    preconditioned_iteration,
)
from twin.links import LinkCache, link_records
from twin.load_coupling import JacobianCache, load_jacobian, load_map
from twin.network import Network
from twin.results import build_state
from twin.state import State
from twin.whatif_assembly import assemble_incremental, links_from, rows_like


class Twin:
    """A network, its demand and the model parameters, with cached link gains.

    ``Twin(network, demand).run(hour)`` gives a :class:`~twin.state.State`;
    :meth:`what_if` returns a twin of a changed network that reuses every cell's link gains
    whose geometry did not change, and the parent's association and interference operator
    everywhere the change does not reach.

    ``timings`` accumulates the seconds spent per stage (``links``, ``association``,
    ``operator``, ``fixed_point``, ``results``), for benchmarks.
    """

    def __init__(self, network: Network, demand: Demand, config: RadioConfig | None = None,
                 cache: LinkCache | None = None) -> None:
        self.network = network
        self.demand = demand
        self.config = config or RadioConfig()
        if cache is not None and (cache.grid != demand.grid or cache.config != self.config):
            cache = None
        # Not `cache or ...`: an empty LinkCache has len 0 and is falsy, yet must be shared.
        self.cache = cache if cache is not None else LinkCache(demand.grid, self.config)
        self._asm: Assembly | None = None
        self._parent: Twin | None = None
        # The twin this one is a what-if of, kept for its Jacobian (Twin._preconditioner).
        self._base: Twin | None = None
        self._lu = JacobianCache()
        self._recs: list[dict[str, Any]] = []
        self.timings: dict[str, float] = {}
        #: Evaluations of the load map ``f`` (every solve and load_operator use) and base
        #: Jacobians built (for this twin's what-ifs).
        self.counts: dict[str, int] = {"load_evaluations": 0, "jacobians": 0}
        #: The per-cell arrays of ``network.cells`` (raises ValidationError on PRBs that do
        #: not fit the bandwidth).
        self.cell_arrays = CellArrays.from_cells(network.cells)

    def _tick(self, stage: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + t1 - t0
        return t1

    # ------------------------------------------------------------------------------------
    def what_if(self, network: Network, precondition: bool = True) -> Twin:
        """A twin of ``network`` (a changed copy of this one) sharing this twin's link cache
        and, for a change of a few cells (cells appended, none removed or reordered), this
        twin's association and interference operator everywhere the change does not reach.

        With ``precondition`` its warm-started runs solve the fixed point by a chord-Newton
        iteration on this twin's load Jacobian (:meth:`prepare_what_ifs`, built on the first
        such run for each hour and reused by every what-if of this twin); without it, by
        Anderson acceleration. Both stop at the same tolerance."""
        child = Twin(network, self.demand, self.config, cache=self.cache)
        child._parent = self
        child._base = self if precondition else None
        return child

    def prepare_what_ifs(self, hour: int | None = None,
                         prb_util: NDArray[np.float64] | None = None) -> None:
        """Build (if not cached) the factorised load Jacobian ``I - df/drho`` at ``prb_util``
        (default: this twin's state at ``hour``) that this twin's what-ifs use for ``hour``
        (default: the busy hour). Optional: the first warm-started what-if of an hour builds
        it anyway; calling it first keeps that cost out of the what-if's time."""
        hour = self.demand.busy_hour if hour is None else check_hour(hour)
        if prb_util is None:
            prb_util = np.asarray(self.run(hour).prb_util)
        t0 = time.perf_counter()
        self._base_lu(self.demand.at(hour), np.asarray(prb_util, dtype=float))
        self.assembly.link_index()  # read by every what-if's association
        self._tick("jacobian", t0)

    @property
    def assembly(self) -> Assembly:
        """This twin's association and interference operator (built on first access)."""
        if self._asm is None:
            parent, self._parent = self._parent, None
            # The parent is assembled once and shared by all its what-ifs (the planner runs
            # many what-ifs of one base twin).
            base = parent.assembly if parent is not None else None
            t0 = time.perf_counter()
            rows: pd.DataFrame | None = None
            if parent is not None and base is not None:
                rows = rows_like(self.network, parent.network, base)
            if rows is None:
                rows = self.network.cells_with_sites()
            got = None
            if parent is not None and base is not None:
                got = links_from(parent._recs, base, rows, self.cache)
            if got is None:
                self._recs = link_records(rows)
                links = self.cache.tiered(self._recs)
            else:
                self._recs, links = got
            t0 = self._tick("links", t0)
            inp = AssemblyInputs(self.demand.grid, self.config, self.cache, self.cell_arrays,
                                 rows, self._recs, links,
                                 self.network.cells["fc_ghz"].to_numpy(float), self._tick)
            asm = assemble_incremental(inp, base) if base is not None else None
            self._asm = asm if asm is not None else assemble(inp, t0)
        return self._asm

    # ------------------------------------------------------------------------------------
    def run(self, hour: int | None = None, warm_start: NDArray[np.float64] | None = None
            ) -> State:
        """Simulate one hour (default: the busy hour) and return its State.

        Args:
            hour: 0..23; None for the demand's busy hour.
            warm_start: ``[n_cell]`` utilisation to start the fixed point from (e.g. the state
                before a small change); it converges to the same point, usually faster.
        """
        hour = self.demand.busy_hour if hour is None else check_hour(hour)
        return self.solve(self.demand.at(hour), hour, warm_start)

    def solve(self, offered: NDArray[np.float64], hour: int = -1,
              warm_start: NDArray[np.float64] | None = None) -> State:
        """Run the twin on an explicit offered-traffic map ``[n_bin]`` (Mbit/s); ``hour`` is
        only a label. Used by calibration, which rescales the map between runs."""
        load = self.load_operator(offered)
        t0 = time.perf_counter()
        cfg = self.config
        n_cell = len(self.network.cells)
        rho = np.zeros(n_cell) if warm_start is None else np.asarray(warm_start, float).copy()
        if rho.shape != (n_cell,) or not np.isfinite(rho).all():
            rho = np.zeros(n_cell)
        warm = warm_start is not None and bool(np.any(rho != 0.0))
        pre = None
        if warm and self._base is not None:
            pre = self._preconditioner(np.asarray(offered, float), rho)
            t0 = self._tick("jacobian", t0)
        if pre is not None:
            rho, converged, residual, iterations = preconditioned_iteration(
                load, rho, pre, cfg.tolerance, cfg.max_iterations)
        elif warm:
            rho, converged, residual, iterations = anderson_iteration(load, rho, cfg.tolerance,
                                                                      cfg.max_iterations)
        else:
            rho, converged, residual, iterations = plain_iteration(load, rho, cfg.tolerance,
                                                                   cfg.max_iterations)
        t0 = self._tick("fixed_point", t0)
        st = build_state(self.assembly, self.network.cells, self.cell_arrays, self.demand.grid,
                         cfg, hour, np.asarray(offered, dtype=float), rho, converged, residual,
                         iterations)
        self._tick("results", t0)
        return st

    def load_operator(self, offered: NDArray[np.float64]) -> LoadMap:
        """The load-coupling map ``f`` for one offered-traffic map ``[n_bin]`` (Mbit/s): see
        :func:`twin.load_coupling.load_map`."""
        return load_map(self.assembly, self.cell_arrays, self.config, offered, self.counts)

    def load_jacobian(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                      ) -> NDArray[np.float64]:
        """``[n_cell, n_cell]`` Jacobian of :meth:`load_operator` at ``rho``: see
        :func:`twin.load_coupling.load_jacobian`."""
        return load_jacobian(self.assembly, self.cell_arrays, self.config, offered, rho)

    def _base_lu(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                 ) -> LuFactors | None:
        """LU factors of ``I - J`` (:meth:`load_jacobian` at ``rho``) for ``offered``, built
        once per offered-traffic map (hour) and kept for every what-if of this twin; None if
        singular."""

        def jacobian() -> NDArray[np.float64]:
            jac = self.load_jacobian(offered, rho)
            self.counts["jacobians"] += 1
            return jac

        return self._lu.get(offered, jacobian)

    def _preconditioner(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                        ) -> LoadMap | None:
        """``g -> (I - J0)^-1 g`` with ``J0`` the base twin's Jacobian (:meth:`_base_lu`)
        for a what-if whose cells extend the base's (appended cells get an identity row, no
        coupling); None for other twins (they use Anderson acceleration)."""
        base = self._base
        if base is None:
            return None
        ids, base_ids = self.network.cell_ids, base.network.cell_ids
        n_old = len(base_ids)
        if n_old == 0 or len(ids) < n_old or list(ids[:n_old]) != list(base_ids):
            return None
        lu = base._base_lu(offered, rho[:n_old])
        if lu is None:
            return None
        return chord_preconditioner(lu, n_old)

    def run_day(self) -> pd.DataFrame:
        """KPIs of every hour, one row per hour (0..23), with ``busy_hour`` marked."""
        rows: list[dict[str, Any]] = []
        warm: NDArray[np.float64] | None = None
        busy = self.demand.busy_hour
        for h in range(24):
            st = self.run(h, warm_start=warm)
            warm = np.asarray(st.prb_util)
            row = {"hour": h, **{k: v for k, v in st.kpis.items() if k != "busiest_cell"},
                   "busiest_cell": st.kpis["busiest_cell"], "busy_hour": h == busy}
            rows.append(row)
        return pd.DataFrame(rows)


def run(network: Network, demand: Demand, hour: int | None = None,
        config: RadioConfig | None = None) -> State:
    """Run the twin for one hour; never mutates its inputs. See :class:`Twin`."""
    return Twin(network, demand, config).run(hour)
