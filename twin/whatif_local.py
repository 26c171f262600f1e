"""Local what-ifs: a change's effect solved in the neighbourhood it can reach.

A change of a few cells moves the load of the cells it touches (the changed cells and those
that gain or lose bins), and through interference those of their neighbours, less and less
with every hop. :func:`local_what_if` solves the load fixed point only for the cells the
change can reach, with every other cell held at its base load:

* **coupling**: the base twin's load Jacobian ``J[c, j] = d f_c / d rho_j`` (kept sparse: it
  has an entry per pair of cells that interfere, not ``cells x cells``) and, for a changed
  cell, the coupling of its old and its new operator column (``|Z^T G_j|`` with ``Z`` the
  base's ``S^T diag(w) E`` of :meth:`twin.interference.InterferenceOperator.jacobian`);
* **neighbourhood**, grown round by round: first the seeds (changed cells, cells whose bins
  changed server) and the cells a seed at amplitude 1 (an interference change is at most
  ``min(rho, 1) <= 1`` of a column) moves by :data:`INITIAL_THRESHOLD`; after each local
  solve, the first-order load change it causes outside (``|J| |d min(rho, 1)|`` of the
  solved cells, the changed cells' column change exactly) is spread hop by hop along ``|J|``
  and every cell where it reaches :data:`COUPLING_THRESHOLD` joins; done when none does
  (at most :data:`MAX_ROUNDS`);
* **local fixed point**: the bins served by the neighbourhood, with the co-channel power of
  the rest of the network at its base utilisation (the base operator evaluated once per base
  twin and hour) and the neighbourhood's columns added exactly: ``I_b(r) = I0_b -
  sum_{j in N} r0_j G0_bj + sum_{j in N} r_j G1_bj - r_s own_b``; solved by chord-Newton on the
  Jacobian restricted to the neighbourhood (a dense ``|N| x |N|`` LU, never ``cells x cells``).

What is per base twin and hour (built once, :class:`BaseLinearisation`): the base state, the
co-channel power at its loads per carrier, the sparse Jacobian and ``Z``, and each cell's bins.
Per what-if the work is the twin's incremental association (twin/whatif_assembly.py) plus
terms in the size of the neighbourhood; the numpy passes over all bins that remain (copies of
the bin arrays in the incremental association) are vectorised and small next to it.

Error: a cell outside the neighbourhood is held at its base load although the change moves it
by less than about the threshold (first order); the neighbourhood's loads feel those moves
only through one more coupling. tests/twin/test_whatif_local.py checks ``max |rho_local -
rho_full| <= LOCAL_ERROR_BOUND`` against the full fixed point on generated networks of
hundreds of cells.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from twin.assembly import Assembly
from twin.demand import check_hour
from twin.engine import Twin
from twin.fixedpoint import (
    anderson_iteration,
    chord_preconditioner,
    lu_or_none,
    preconditioned_iteration,
)
from twin.interference import Block
from twin.load_coupling import jacobian_weights
from twin.network import Network
from twin.spectral import load_spectral_efficiency

#: A cell joins a change's neighbourhood when the change can move its PRB utilisation by at
#: least this much to first order (see the module docstring).
COUPLING_THRESHOLD = 1e-3
#: The error bound that is tested: max |prb_util local - full fixed point| (both stop at the
#: config's tolerance, 1e-6 by default).
LOCAL_ERROR_BOUND = 3e-3
#: The first guess of the neighbourhood: the cells a seed at amplitude 1 moves by this much.
INITIAL_THRESHOLD = 1e-2
#: Rounds of growing the neighbourhood (solve, look at what the solved loads move outside).
MAX_ROUNDS = 8
#: Hops an amplitude is spread along |J| within one round.
MAX_HOPS = 12


@dataclass(eq=False)
class BaseLinearisation:
    """What every local what-if of one base twin and hour reuses."""

    hour: int
    offered: NDArray[np.float64]       # [n_bin] Mbit/s
    rho: NDArray[np.float64]           # [n_cell] base fixed point
    acc: dict[int, NDArray[np.float64]]  # carrier -> [n_bin + n_node] power at min(rho, 1)
    jac: sp.csc_matrix                 # [n_cell, n_cell] d f / d rho, capped columns kept
    jac_abs: sp.csc_matrix             # |jac|, for the neighbourhood search
    z: dict[int, sp.csr_matrix]        # carrier -> [n_bin + n_node, n_cell] S^T diag(w) E
    bins_sorted: NDArray[np.int64]     # loaded bins (offered > 0, served) sorted by server
    bins_start: NDArray[np.int64]      # [n_cell + 1] each cell's slice of bins_sorted
    seconds: float


@dataclass(frozen=True)
class LocalWhatIf:
    """A local what-if's result: ``prb_util`` of every cell of the changed network (the
    neighbourhood solved, the rest at the base), the neighbourhood, and the solver's report.
    ``local`` is False when the change could not be done locally (cells removed or reordered,
    a new carrier, many cells changed) and the full fixed point was run instead."""

    prb_util: NDArray[np.float64]
    neighbourhood: NDArray[np.int64]
    n_bins: int
    converged: bool
    residual: float
    iterations: int
    local: bool
    rounds: int
    seconds: float


_CACHE: weakref.WeakKeyDictionary[Twin, dict[int, BaseLinearisation]] = \
    weakref.WeakKeyDictionary()


def base_linearisation(base: Twin, hour: int | None = None,
                       prb_util: NDArray[np.float64] | None = None) -> BaseLinearisation:
    """The :class:`BaseLinearisation` of ``base`` at ``hour`` (default: the busy hour), built
    once per twin and hour (``prb_util``: the base state's utilisation, if already run)."""
    hour = base.demand.busy_hour if hour is None else check_hour(hour)
    per_twin = _CACHE.setdefault(base, {})
    hit = per_twin.get(hour)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    offered = np.asarray(base.demand.at(hour), dtype=float)
    if prb_util is None:
        prb_util = np.asarray(base.run(hour).prb_util)
    rho = np.asarray(prb_util, dtype=float).copy()
    asm = base.assembly
    asm.link_index()  # what every what-if's association reads; built here, once
    op = asm.op
    n_cell = len(base.network.cells)
    r = np.minimum(rho, 1.0)
    acc: dict[int, NDArray[np.float64]] = {}
    for blk in op.blocks:
        y = blk.mat @ (r[blk.cols] * blk.mask)
        acc[blk.carrier] = acc[blk.carrier] + y if blk.carrier in acc else y
    prep, w = jacobian_weights(asm, base.cell_arrays, base.config, offered, rho)
    n_rows = op.n_bin + op.n_node
    z: dict[int, sp.csr_matrix] = {}
    jr: list[NDArray[np.int64]] = []
    jc: list[NDArray[np.int64]] = []
    jv: list[NDArray[np.float64]] = []
    for grp in prep.groups:
        pos = np.arange(prep.bins.size) if grp.pos is None else grp.pos
        srv, wt = prep.server[pos], w[pos]
        rows, cols, vals = [grp.bins], [srv], [wt]
        if op.far is not None:
            for q in range(4):
                rows.append(op.n_bin + grp.n00[q])
                cols.append(srv)
                vals.append(wt * grp.w[q])
        zt = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_cell))
        z[grp.carrier] = zt
        for blk in op.blocks:
            if blk.carrier != grp.carrier or not blk.mask.any():
                continue
            prod = (blk.mat.T @ zt).tocoo()  # [m, n_cell]: (column k, cell c) -> J[c, cols[k]]
            keep = blk.mask[prod.row] != 0.0
            jr.append(prod.col[keep].astype(np.int64))
            jc.append(blk.cols[prod.row[keep]])
            jv.append(prod.data[keep] * blk.mask[prod.row[keep]])
    own = np.bincount(prep.server, weights=w * prep.own, minlength=n_cell)
    jr.append(np.arange(n_cell))
    jc.append(np.arange(n_cell))
    jv.append(-own)
    jac = sp.csc_matrix((np.concatenate(jv), (np.concatenate(jr), np.concatenate(jc))),
                        shape=(n_cell, n_cell))
    jac.sum_duplicates()
    order = np.argsort(prep.server, kind="stable")
    bins_sorted = prep.bins[order]
    bins_start = np.searchsorted(prep.server[order], np.arange(n_cell + 1))
    lin = BaseLinearisation(hour, offered, rho, acc, jac, abs(jac).tocsc(), z, bins_sorted,
                            bins_start.astype(np.int64), 0.0)
    lin.seconds = time.perf_counter() - t0
    per_twin[hour] = lin
    return lin


def _spread(lin: BaseLinearisation, amp: NDArray[np.float64], inside: NDArray[np.bool_],
            threshold: float) -> NDArray[np.bool_]:
    """Cells (``[n_old]`` mask, ``inside`` excluded) whose summed first-order amplitude,
    starting from ``amp`` and spread hop by hop along ``|J|``, reaches ``threshold``; only
    amplitudes that reach it spread on (what a weaker one moves is below the threshold times
    the coupling)."""
    total = np.zeros(amp.size)
    amp = np.where(inside, 0.0, amp)
    for _ in range(MAX_HOPS):
        total += amp
        front = np.flatnonzero(amp >= threshold)
        if front.size == 0:
            break
        amp = lin.jac_abs[:, front] @ amp[front]
        amp[inside] = 0.0
    return (total >= threshold) & ~inside


def _gather(blocks: list[Block], cells: NDArray[np.int64], pos_rows: NDArray[np.int64] | None,
            n_rows: int) -> sp.csc_matrix:
    """``[n_rows, len(cells)]`` the operator columns (mW at utilisation 1, masks applied) of
    ``cells`` (sorted) over ``blocks``, with the rows mapped by ``pos_rows`` (-1 = dropped;
    None = all rows as they are)."""
    rr: list[NDArray[np.int64]] = []
    cc: list[NDArray[np.int64]] = []
    vv: list[NDArray[np.float64]] = []
    for blk in blocks:
        if blk.cols.size == 0 or cells.size == 0:
            continue
        k = np.minimum(np.searchsorted(blk.cols, cells), blk.cols.size - 1)
        hit = blk.cols[k] == cells
        hit[hit] = blk.mask[k[hit]] != 0.0
        if not hit.any():
            continue
        kk = k[hit]
        sub = blk.mat[:, kk]
        counts = np.diff(sub.indptr)
        col = np.repeat(np.flatnonzero(hit), counts)
        val = sub.data * np.repeat(blk.mask[kk], counts)
        row = sub.indices.astype(np.int64)
        if pos_rows is not None:
            row = pos_rows[row]
            keep = row >= 0
            row, col, val = row[keep], col[keep], val[keep]
        rr.append(row)
        cc.append(col)
        vv.append(val)
    if not rr:
        return sp.csc_matrix((n_rows, cells.size))
    return sp.csc_matrix((np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))),
                         shape=(n_rows, cells.size))


def _interp(bins: NDArray[np.int64], twin: Twin, n_bin: int
            ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """For each of ``bins``: the operator rows its interference reads (the bin and its four
    far-field nodes) ``[5, n]`` and their weights ``[5, n]``."""
    far = twin.cache.far
    if far is None:
        return bins[None, :], np.ones((1, bins.size))
    n00, fx, fy = (a[bins] for a in far.bin_corner)
    nx = far.nodes.nx
    rows = np.stack([bins, n_bin + n00, n_bin + n00 + 1, n_bin + n00 + nx, n_bin + n00 + nx + 1])
    w = np.stack([np.ones(bins.size), (1.0 - fx) * (1.0 - fy), fx * (1.0 - fy),
                  (1.0 - fx) * fy, fx * fy])
    return rows, w


def _full(wi: Twin, hour: int, warm: NDArray[np.float64], t0: float) -> LocalWhatIf:
    st = wi.run(hour, warm_start=warm)
    n = len(wi.network.cells)
    return LocalWhatIf(np.asarray(st.prb_util, dtype=float).copy(), np.arange(n), -1,
                       bool(st.converged), float(st.residual), int(st.iterations), False, 0,
                       time.perf_counter() - t0)


@dataclass(eq=False)
class _Local:
    """The load map of a neighbourhood (cells sorted) and its chord-Newton preconditioner."""

    load: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    solve: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None
    n_bins: int


def _local_problem(lin: BaseLinearisation, asm0: Assembly, asm1: Assembly, wi: Twin,
                   cells: NDArray[np.int64], moved: NDArray[np.int64],
                   r0: NDArray[np.float64], pos_rows: NDArray[np.int64]) -> _Local | None:
    """The load map of ``cells`` with every other cell at ``r0`` (None if a bin of theirs
    went to a cell outside them)."""
    n_old = lin.rho.size
    n_cell = r0.size
    parts = [lin.bins_sorted[lin.bins_start[c]:lin.bins_start[c + 1]]
             for c in cells[cells < n_old].tolist()]
    bins = np.concatenate(parts) if parts else np.empty(0, np.int64)
    bins = bins[~np.isin(bins, moved)]
    pos_of = np.full(n_cell, -1, dtype=np.int64)
    pos_of[cells] = np.arange(cells.size)
    extra = moved[(pos_of[np.maximum(asm1.serving[moved], 0)] >= 0)
                  & (asm1.serving[moved] >= 0) & (lin.offered[moved] > 0)]
    bins = np.sort(np.concatenate([bins, extra]))
    srv = asm1.serving[bins]
    srv_loc = pos_of[srv]
    if (srv_loc < 0).any():
        return None
    n_bin = asm1.grid_n_bin
    rows5, w5 = _interp(bins, wi, n_bin)
    rows = np.unique(rows5)
    pos_rows[rows] = np.arange(rows.size)
    changed = asm1.changed
    old = cells[cells < n_old]
    is_ch = np.isin(cells, changed)
    try:
        # Unchanged cells keep their base column (mask aside: a what-if replaces only the
        # changed cells' columns); changed cells have an old (base) and a new column.
        g_old = _gather(asm0.op.blocks, old, pos_rows, rows.size)
        g_new = _gather(asm1.op.blocks, cells[is_ch], pos_rows, rows.size)
        p5 = pos_rows[rows5]
    finally:
        pos_rows[rows] = -1
    # G: the columns at the what-if (unchanged: base; changed: new), in the order of cells.
    ch_pos = np.flatnonzero(is_ch)
    un_pos = np.flatnonzero(~is_ch)
    g = sp.hstack([g_old[:, np.flatnonzero(~is_ch[:old.size])], g_new], format="csc")
    order = np.argsort(np.concatenate([un_pos, ch_pos]), kind="stable")
    g = g[:, order]
    car_bin = asm1.carrier_bin[bins]
    groups = []
    const = np.zeros(bins.size)
    for f in np.unique(car_bin).tolist():
        pos = np.flatnonzero(car_bin == f)
        m = pos.size
        e = sp.csr_matrix((w5[:, pos].ravel(), (np.tile(np.arange(m), w5.shape[0]),
                                                p5[:, pos].ravel())), shape=(m, rows.size))
        on_f = np.flatnonzero(asm1.carrier[cells] == f)
        old_f = np.flatnonzero(asm1.carrier[old] == f)
        acc = lin.acc.get(f)
        c = e @ acc[rows] if acc is not None else np.zeros(m)
        c -= e @ (g_old[:, old_f] @ r0[old[old_f]])
        const[pos] = c
        groups.append((pos, e, g[:, on_f].tocsc(), on_f))
    signal = asm1.signal_mw[bins]
    noise = asm1.noise_mw[bins]
    own = asm1.own_mw[bins]
    cfg = wi.config
    layers = wi.cell_arrays.layers[srv]
    prb_bw = wi.cell_arrays.prb_bw_hz[srv]
    d_bps = lin.offered[bins] * 1e6
    n_prb = wi.cell_arrays.n_prb[cells]

    def load(x: NDArray[np.float64]) -> NDArray[np.float64]:
        rx = np.minimum(x, 1.0)
        i_mw = const.copy()
        for pos, e, g, on_f in groups:
            i_mw[pos] += e @ (g @ rx[on_f])
        i_mw = np.maximum(i_mw - rx[srv_loc] * own, 0.0)
        se = load_spectral_efficiency(signal / (i_mw + noise), layers, cfg)
        return np.bincount(srv_loc, weights=d_bps / (se * prb_bw), minlength=cells.size) / n_prb

    # Chord-Newton on the base Jacobian restricted to the neighbourhood (appended cells: an
    # identity row, no coupling), as Twin._preconditioner does for the whole network.
    is_old = cells < n_old
    mat = np.eye(cells.size)
    if is_old.any():
        sub = lin.jac[:, old].tocsr()[old].toarray()
        sub[:, lin.rho[old] >= 1.0] = 0.0
        ix = np.flatnonzero(is_old)
        mat[np.ix_(ix, ix)] -= sub
    lu = lu_or_none(mat)
    solve = chord_preconditioner(lu, cells.size) if lu is not None else None
    return _Local(load, solve, int(bins.size))


def local_what_if(base: Twin, network: Network, hour: int | None = None,
                  threshold: float = COUPLING_THRESHOLD) -> LocalWhatIf:
    """The utilisation of ``network`` (a changed copy of ``base``'s network: cells changed or
    appended) at ``hour``, solved in the change's neighbourhood (module docstring)."""
    t0 = time.perf_counter()
    hour = base.demand.busy_hour if hour is None else check_hour(hour)
    lin = base_linearisation(base, hour)
    asm0 = base.assembly
    wi = base.what_if(network)
    asm1: Assembly = wi.assembly
    n_old, n_cell = lin.rho.size, len(network.cells)
    warm = np.r_[lin.rho, np.zeros(max(n_cell - n_old, 0))]
    if asm1 is asm0:  # nothing the model reads changed
        return LocalWhatIf(lin.rho.copy(), np.empty(0, np.int64), 0, True, 0.0, 0, True, 0,
                           time.perf_counter() - t0)
    if asm1.window is None or asm1.changed is None or n_cell < n_old:
        return _full(wi, hour, warm[:n_cell], t0)
    win = asm1.window
    changed = np.asarray(asm1.changed, dtype=np.int64)
    moved = win[asm1.serving[win] != asm0.serving[win]]
    touched = np.unique(np.concatenate([asm0.serving[moved], asm1.serving[moved]]))
    touched = touched[touched >= 0]
    seeds = np.union1d(changed, touched).astype(np.int64)
    r0 = np.minimum(warm, 1.0)
    # How a changed cell's old and new columns move the others' loads: rows of G^T Z.
    ch_old = changed[changed < n_old]
    n_rows = asm0.op.n_bin + asm0.op.n_node
    zp0: dict[int, NDArray[np.float64]] = {}
    zp1: dict[int, NDArray[np.float64]] = {}
    for f, z in lin.z.items():
        for blocks, cs, out in ((asm0.op.blocks, ch_old, zp0), (asm1.op.blocks, changed, zp1)):
            cs_f = cs[asm1.carrier[cs] == f]
            if cs_f.size:
                prod = (_gather(blocks, cs_f, None, n_rows).T @ z).toarray()
                for j, row in zip(cs_f.tolist(), prod, strict=True):
                    out[j] = row
    # A first guess of the neighbourhood: the seeds and what they reach at amplitude 1.
    amp = np.zeros(n_old)
    for j in seeds.tolist():
        if j in zp0 or j in zp1:
            amp += np.abs(zp0.get(j, 0.0)) + np.abs(zp1.get(j, 0.0))
        elif j < n_old:
            amp += lin.jac_abs[:, j].toarray().ravel()
    inside = np.zeros(n_cell, dtype=bool)
    inside[seeds] = True
    inside[:n_old] |= amp >= INITIAL_THRESHOLD
    pos_rows = np.full(n_rows, -1, dtype=np.int64)
    x = warm.copy()
    converged, residual, its, rounds = False, np.inf, 0, 0
    cells = np.flatnonzero(inside)
    n_bins = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        cells = np.flatnonzero(inside)
        prob = _local_problem(lin, asm0, asm1, wi, cells, moved, r0, pos_rows)
        if prob is None:
            return _full(wi, hour, warm[:n_cell], t0)
        cfg = wi.config
        if prob.solve is not None:
            sol, converged, residual, k = preconditioned_iteration(
                prob.load, x[cells], prob.solve, cfg.tolerance, cfg.max_iterations)
        else:
            sol, converged, residual, k = anderson_iteration(prob.load, x[cells],
                                                             cfg.tolerance, cfg.max_iterations)
        its += k
        n_bins = prob.n_bins
        x[cells] = sol
        # What the solved loads move outside, to first order: unchanged cells along |J|,
        # changed cells by their new column at the new load minus the old at the old.
        a = np.abs(np.minimum(x, 1.0) - r0)
        plain = cells[(cells < n_old) & ~np.isin(cells, changed)]
        effect = lin.jac_abs[:, plain] @ a[plain] if plain.size else np.zeros(n_old)
        for j in changed.tolist():
            d = np.minimum(x[j], 1.0) * zp1.get(j, 0.0) - r0[j] * zp0.get(j, 0.0)
            effect = effect + np.abs(d)
        grow = (effect >= threshold) & ~inside[:n_old]
        if not grow.any():
            break
        # The cells joining move their neighbours in turn: spread their amplitudes along |J|
        # now rather than one hop per round.
        inside[:n_old] |= _spread(lin, effect, inside[:n_old], threshold)
    out = x[:n_cell].copy()
    return LocalWhatIf(out, cells, n_bins, bool(converged), float(residual), int(its), True,
                       rounds, time.perf_counter() - t0)
