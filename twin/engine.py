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

How it is computed (docs/model.md, "Far-field interference" and "What-ifs"):

* the server of each bin is the argmax of RSRP + CIO over exact link gains (links within
  ``near_link_distance_m``, plus every link of a cell that could win a bin farther out);
* the co-channel power ``sum_j min(rho_j, 1) P_j g_bj`` is a linear map of the utilisation:
  a sparse matrix of exact near links (cell-major, so building it is a concatenation) plus the
  far field of every cell on a coarse lattice, interpolated to the bins; the server's own term
  is subtracted per bin;
* :meth:`Twin.what_if` re-associates only the bins whose server the changed cells can change
  and adds their new columns to the parent's operator (twin/interference.py) instead of
  rebuilding it;
* cold runs iterate plainly from 0; warm-started runs use Anderson acceleration
  (twin/fixedpoint.py), with the same stopping rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from twin.config import RadioConfig
from twin.demand import Demand, check_hour
from twin.errors import ValidationError
from twin.fixedpoint import anderson_iteration, plain_iteration, preconditioned_iteration
from twin.interference import Block, InterferenceOperator, Prepared
from twin.kpis import compute_kpis
from twin.links import (
    LINK_COLUMNS,
    LN10_10,
    CellLinks,
    FarField,
    LinkCache,
    TieredLinks,
    db_to_lin,
    link_records,
    mast_path_loss_db,
)
from twin.network import Network
from twin.spectral import load_spectral_efficiency, spectral_efficiency
from twin.state import State

#: Cell columns whose change makes a cell "changed" for a what-if.
MODEL_COLUMNS = (*LINK_COLUMNS, "tx_power_dbm", "cio_db", "n_prb", "scs_khz", "bandwidth_mhz",
                 "mimo_layers")
#: A what-if that changes more cells than this share rebuilds the twin instead.
INCREMENTAL_MAX_SHARE = 0.1
#: Operator blocks (the parent's plus what-if deltas) before a rebuild.
MAX_BLOCKS_PER_CARRIER = 6
#: Side of the tiles (bins) on which the server bound of the far-field check is kept.
TILE_BINS = 16
#: Candidates computed per round when a tile's server bound is raised (see Twin._promote).
PROMOTE_BATCH = 3
#: Factorised base Jacobians a twin keeps for its what-ifs (one per offered-traffic map).
JACOBIAN_CACHE = 4


def _wrap_deg(a: NDArray[np.float64]) -> NDArray[np.float64]:
    return (a + 180.0) % 360.0 - 180.0


def _attenuation_bound(x: NDArray[np.float64], y: NDArray[np.float64],
                       cx0: NDArray[np.float64], cx1: NDArray[np.float64],
                       cy0: NDArray[np.float64], cy1: NDArray[np.float64],
                       d_near: NDArray[np.float64], d_far: NDArray[np.float64],
                       dh: NDArray[np.float64], az: NDArray[np.float64],
                       elec_tilt: NDArray[np.float64], h_bw: NDArray[np.float64],
                       v_bw: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least TR 38.901 Table 7.3-1 attenuation (dB, no mechanical tilt) of sectors at
    ``(x, y)`` towards the bins of rectangles ``[cx0, cx1] x [cy0, cy1]`` at distances
    ``d_near..d_far`` (all arrays, one entry per sector and rectangle): horizontal from the
    bearing range, vertical from the zenith range."""
    inside = (x >= cx0) & (x <= cx1) & (y >= cy0) & (y <= cy1)
    c = np.degrees(np.arctan2((cx0 + cx1) / 2 - x, (cy0 + cy1) / 2 - y))
    offs = np.stack([_wrap_deg(np.degrees(np.arctan2(ax - x, ay - y)) - c)
                     for ax, ay in ((cx0, cy0), (cx0, cy1), (cx1, cy0), (cx1, cy1))])
    lo, hi = offs.min(axis=0), offs.max(axis=0)
    rel_az = _wrap_deg(az - c)
    phi = np.minimum(np.abs(_wrap_deg(lo - rel_az)), np.abs(_wrap_deg(hi - rel_az)))
    phi = np.where(inside | ((rel_az >= lo) & (rel_az <= hi)), 0.0, phi)
    a_h = np.minimum(12.0 * (phi / h_bw) ** 2, 30.0)
    # theta - 90 runs between its values at the nearest and the farthest distance.
    t1 = np.degrees(np.arctan2(dh, np.maximum(d_near, 1.0)))
    t2 = np.degrees(np.arctan2(dh, np.maximum(d_far, 1.0)))
    vlo, vhi = np.minimum(t1, t2) - elec_tilt, np.maximum(t1, t2) - elec_tilt
    v = np.where((vlo <= 0.0) & (vhi >= 0.0), 0.0, np.minimum(np.abs(vlo), np.abs(vhi)))
    a_v = np.minimum(12.0 * (v / v_bw) ** 2, 30.0)
    return np.minimum(a_h + a_v, 30.0)


@dataclass(frozen=True)
class _Kept:
    """One cell's links during association (positions in the output, score, gain)."""

    cell: int | NDArray[np.int64]  # one cell, or one per link (Twin._max_pass_window)
    bins: NDArray[np.int64]
    score: NDArray[np.float64]
    gain: NDArray[np.float32]
    outer: bool


# --- the interference operator -------------------------------------------------------------
# --- the assembly --------------------------------------------------------------------------
@dataclass(eq=False)
class _Assembly:
    """Association and interference operator of one twin.

    Public fields (used by calibration, invariants and tests): ``serving`` ``[n_bin]`` (-1 =
    no cell reaches the bin), ``rsrp_dbm``, ``signal_mw`` and ``noise_mw`` ``[n_bin]``; the
    link-level views ``link_bin``, ``link_cell``, ``rx_dbm`` ``[n_link]`` (exact links) and
    ``interf`` ``[n_bin, n_cell]`` (the co-channel power of non-serving cells, mW, far field
    included) are built on first access.
    """

    serving: NDArray[np.int64]
    rsrp_dbm: NDArray[np.float64]
    signal_mw: NDArray[np.float64]
    noise_mw: NDArray[np.float64]
    own_mw: NDArray[np.float64]        # [n_bin] the server's own term in the operator
    carrier_bin: NDArray[np.int64]     # [n_bin] carrier group of the server, -1 = none
    best_score: NDArray[np.float64]    # [n_bin] the server's RSRP + CIO (-inf if none)
    best_near: NDArray[np.float64]     # [n_bin] best RSRP + CIO over near links
    near_arg: NDArray[np.int64]        # [n_bin] a cell reaching best_near (-1 if none)
    tile_lb: NDArray[np.float64]       # [n_tile] worst best-server RSRP + CIO per tile
    promoted: dict[int, NDArray[np.int64]]  # cell -> tiles where it has exact outer links
    links: list[TieredLinks]
    outer: dict[int, CellLinks]        # cell -> exact links in its promoted tiles
    rows: pd.DataFrame                 # the cells the assembly was built for
    tx_dbm: NDArray[np.float64]
    carrier: NDArray[np.int64]         # [n_cell] carrier group
    carrier_fc: NDArray[np.float64]    # [n_carrier] GHz
    op: InterferenceOperator
    grid_n_bin: int
    _lazy: dict[str, Any] = field(default_factory=dict)

    def link_index(self) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
        """The exact near links by bin (built once): ``indptr`` ``[n_bin + 1]``, then the cell
        and the gain (dB) of each link, cells ascending within a bin. A what-if's window pass
        reads the links of its bins only, not every link of every cell within reach (in a
        dense city thousands of cells, each with links to 3 km)."""
        if "link_index" not in self._lazy:
            sizes = np.array([tl.bins.size for tl in self.links], dtype=np.int64)
            bins = _cat([tl.bins for tl in self.links], np.int32)
            order = np.argsort(bins, kind="stable")
            cells = np.repeat(np.arange(len(self.links), dtype=np.int32), sizes)[order]
            gains = _cat([tl.gain_db for tl in self.links], np.float32)[order]
            indptr = np.searchsorted(bins[order], np.arange(self.grid_n_bin + 1))
            self._lazy["link_index"] = (indptr.astype(np.int64), cells, gains)
        return self._lazy["link_index"]

    def tile_cells(self) -> dict[int, list[int]]:
        """Tile -> the cells promoted there (built once)."""
        if "tile_cells" not in self._lazy:
            out: dict[int, list[int]] = {}
            for j, tiles in self.promoted.items():
                for t in tiles.tolist():
                    out.setdefault(t, []).append(j)
            self._lazy["tile_cells"] = out
        return self._lazy["tile_cells"]

    def prepared(self, bins: NDArray[np.int64]) -> Prepared:
        """The operator's preparation for ``bins`` (cached for the last set asked for)."""
        hit = self._lazy.get("prep")
        if hit is not None and np.array_equal(hit[0], bins):
            return hit[1]
        prep = self.op.prepare(bins, self.serving, self.carrier_bin, self.own_mw)
        self._lazy["prep"] = (bins, prep)
        return prep

    def _exact_links(self) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float64]]:
        if "links" not in self._lazy:
            bins, cells, rx = [], [], []
            for j, tl in enumerate(self.links):
                parts = [(tl.bins, tl.gain_db)]
                if j in self.outer:
                    parts.append((self.outer[j].bins, self.outer[j].gain_db))
                for b, g in parts:
                    bins.append(b.astype(np.int64))
                    cells.append(np.full(b.size, j, dtype=np.int32))
                    rx.append(self.tx_dbm[j] + g.astype(np.float64))
            self._lazy["links"] = (_cat(bins, np.int64), _cat(cells, np.int32),
                                   _cat(rx, np.float64))
        return self._lazy["links"]

    @property
    def link_bin(self) -> NDArray[np.int64]:
        """``[n_link]`` bin of each exact link (links grouped by cell)."""
        return self._exact_links()[0]

    @property
    def link_cell(self) -> NDArray[np.int32]:
        """``[n_link]`` cell of each exact link."""
        return self._exact_links()[1]

    @property
    def rx_dbm(self) -> NDArray[np.float64]:
        """``[n_link]`` received power over the channel of each exact link (dBm)."""
        return self._exact_links()[2]

    @property
    def flagged(self) -> NDArray[np.bool_]:
        """``[n_cell]`` cells with exact links beyond ``near_link_distance_m``."""
        out = np.zeros(len(self.links), dtype=bool)
        out[list(self.outer)] = True
        return out

    @property
    def interf(self) -> sp.csr_matrix:
        """``[n_bin, n_cell]`` co-channel received power (mW) of every non-serving cell, as the
        model uses it (far field interpolated). Built on first access: it holds every link
        within ``max_link_distance_m``, so it is large for big grids."""
        if "interf" not in self._lazy:
            self._lazy["interf"] = self._materialise_interf()
        return self._lazy["interf"]

    def _materialise_interf(self) -> sp.csr_matrix:
        far = self.op.far
        n_bin, n_cell = self.grid_n_bin, len(self.links)
        rows_, cols_, vals_ = [], [], []
        for j, tl in enumerate(self.links):
            p_mw = float(db_to_lin(self.tx_dbm[j]))
            b = tl.bins.astype(np.int64)
            v = p_mw * db_to_lin(tl.gain_db)
            if far is not None and tl.nodes.size:
                fb = _far_bins(far, tl)
                fb = np.setdiff1d(fb, b, assume_unique=True)
                fv = p_mw * _far_values(far, tl, fb)
                keep = fv > 0
                b = np.concatenate([b, fb[keep]])
                v = np.concatenate([v, fv[keep]])
            co = (self.carrier_bin[b] == self.carrier[j]) & (self.serving[b] != j)
            rows_.append(b[co])
            cols_.append(np.full(int(co.sum()), j, dtype=np.int64))
            vals_.append(v[co])
        if not rows_:
            return sp.csr_matrix((n_bin, n_cell))
        return sp.csr_matrix((np.concatenate(vals_), (np.concatenate(rows_),
                                                      np.concatenate(cols_))),
                             shape=(n_bin, n_cell))


def _rows_differ(rows: pd.DataFrame, prev: pd.DataFrame, columns: Iterable[str], n: int
                 ) -> NDArray[np.bool_]:
    """``[n]`` whether each of the first ``n`` rows differs from ``prev`` in ``columns``
    (compared as pandas columns: string columns stay in Arrow, which is much faster than
    converting them to numpy objects)."""
    out = np.zeros(n, dtype=bool)
    head = rows.iloc[:n] if len(rows) != n else rows
    for c in columns:
        a, b = head[c], prev[c]
        if a.dtype == b.dtype and a.dtype.kind in "fiub":
            out |= a.to_numpy() != b.to_numpy()
        else:
            out |= (a.reset_index(drop=True) != b.reset_index(drop=True)).to_numpy(dtype=bool)
    return out


def _cat(parts: list[NDArray[Any]], dtype: Any) -> NDArray[Any]:
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def _far_bins(far: FarField, tl: TieredLinks) -> NDArray[np.int64]:
    """The bins whose block has a corner among the cell's lattice nodes."""
    w = far.nodes.nx
    bx, by = tl.nodes % w, tl.nodes // w
    g = far.grid
    ix0 = max(0, (int(bx.min()) - 1) * far.k)
    ix1 = min(g.nx - 1, (int(bx.max()) + 1) * far.k)
    iy0 = max(0, (int(by.min()) - 1) * far.k)
    iy1 = min(g.ny - 1, (int(by.max()) + 1) * far.k)
    ix = np.arange(ix0, ix1 + 1)
    iy = np.arange(iy0, iy1 + 1)
    return (iy[:, None] * g.nx + ix[None, :]).ravel().astype(np.int64)


def _far_values(far: FarField, tl: TieredLinks, bins: NDArray[np.int64]) -> NDArray[np.float64]:
    dense = np.zeros(far.nodes.n_bin)
    dense[tl.nodes] = db_to_lin(tl.node_gain_db)
    return far.interpolate(dense, bins)


def _carrier_groups(fc: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Group carriers that are equal up to ``np.isclose`` (co-channel cells)."""
    uniq = np.unique(fc)
    reps: list[float] = []
    for f in uniq:
        if not reps or not np.isclose(f, reps[-1]):
            reps.append(float(f))
    rep = np.array(reps)
    idx = np.searchsorted(rep, fc, side="right") - 1
    return np.clip(idx, 0, len(rep) - 1).astype(np.int64), rep


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
        self._asm: _Assembly | None = None
        self._parent: Twin | None = None
        # The twin this one is a what-if of, kept for its Jacobian (Twin._preconditioner).
        self._base: Twin | None = None
        # (offered map, LU of I - J at it), most recent last; see Twin._base_lu.
        self._lu: list[tuple[NDArray[np.float64], tuple[Any, Any] | None]] = []
        self._recs: list[dict[str, Any]] = []
        self._rows: pd.DataFrame | None = None
        self.timings: dict[str, float] = {}
        #: Evaluations of the load map ``f`` (every solve and load_operator use) and base
        #: Jacobians built (for this twin's what-ifs).
        self.counts: dict[str, int] = {"load_evaluations": 0, "jacobians": 0}
        cells = network.cells
        self._n_prb = cells["n_prb"].to_numpy(dtype=float)
        self._prb_bw_hz = 12.0 * cells["scs_khz"].to_numpy(dtype=float) * 1e3
        self._layers = cells["mimo_layers"].to_numpy(dtype=float)
        self._bw_hz = cells["bandwidth_mhz"].to_numpy(dtype=float) * 1e6
        self._tx = cells["tx_power_dbm"].to_numpy(dtype=float)
        self._cio = cells["cio_db"].to_numpy(dtype=float)
        self._rs = 10.0 * np.log10(12.0 * self._n_prb)  # RSRP = rx - rs (per resource element)
        if np.any(self._n_prb * self._prb_bw_hz > self._bw_hz * 1.0001):
            i = int(np.argmax(self._n_prb * self._prb_bw_hz > self._bw_hz * 1.0001))
            raise ValidationError("cells", "n_prb x 12 x scs_khz exceeds bandwidth_mhz; check the "
                                  "PRB table (TS 36.101 / 38.101)", cells["cell_id"].iloc[i],
                                  "n_prb")

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
    def assembly(self) -> _Assembly:
        if self._asm is None:
            parent, self._parent = self._parent, None
            # The parent is assembled once and shared by all its what-ifs (the planner runs
            # many what-ifs of one base twin).
            base = parent.assembly if parent is not None else None
            t0 = time.perf_counter()
            rows = self._rows_like(parent, base) if parent is not None and base is not None \
                else None
            if rows is None:
                rows = self.network.cells_with_sites()
            self._rows = rows
            got = self._links_from(parent, base, rows) if base is not None else None
            if got is None:
                self._recs = link_records(rows)
                links = self.cache.tiered(self._recs)
            else:
                self._recs, links = got
            t0 = self._tick("links", t0)
            asm = self._assemble_incremental(base, rows, links) if base is not None else None
            self._asm = asm if asm is not None else self._assemble(rows, links, t0)
        return self._asm

    def _rows_like(self, parent: Twin, base: _Assembly) -> pd.DataFrame | None:
        """``cells_with_sites()`` of a what-if that changes cells on the parent's sites only,
        from the parent's rows (the join costs more than the rest of a small what-if)."""
        cells, prev = self.network.cells, base.rows
        n = cells.shape[1]
        if (len(cells) != len(prev) or list(prev.columns[:n]) != list(cells.columns)
                or not isinstance(cells.index, pd.RangeIndex)
                or not isinstance(prev.index, pd.RangeIndex)
                or not np.array_equal(cells["site_id"].to_numpy(), prev["site_id"].to_numpy())):
            return None
        sites, old = self.network.sites, parent.network.sites
        if sites is not old and not sites.equals(old):
            return None
        return pd.concat([cells, prev[list(prev.columns[n:])]], axis=1)

    def _links_from(self, parent: Twin | None, base: _Assembly, rows: pd.DataFrame
                    ) -> tuple[list[dict[str, Any]], list[TieredLinks]] | None:
        """The link records and gains of ``rows`` from the parent's for every cell whose
        link columns did not change (cells appended only), so that a what-if's cost does not
        grow with the cells it leaves alone; None when the cells do not extend the parent's."""
        if parent is None or not parent._recs:
            return None
        n_old, n_new = len(base.rows), len(rows)
        if n_new < n_old or len(parent._recs) != n_old or not np.array_equal(
                rows["cell_id"].to_numpy()[:n_old], base.rows["cell_id"].to_numpy()):
            return None
        diff = np.ones(n_new, dtype=bool)
        diff[:n_old] = False
        diff[:n_old] = _rows_differ(rows, base.rows, LINK_COLUMNS, n_old)
        redo = np.flatnonzero(diff)
        recs = list(parent._recs) + [{}] * (n_new - n_old)
        links = list(base.links) + [None] * (n_new - n_old)
        new_recs = link_records(rows.iloc[redo])
        for i, rec, tl in zip(redo.tolist(), new_recs, self.cache.tiered(new_recs), strict=True):
            recs[i] = rec
            links[i] = tl
        return recs, links  # type: ignore[return-value]

    # --- association ------------------------------------------------------------------------
    def _max_pass(self, entries: Iterable[tuple[int, NDArray[Any], NDArray[np.float32]]],
                  best: NDArray[np.float64], loc: NDArray[np.int64] | None, outer: bool = False,
                  arg: NDArray[np.int64] | None = None) -> list[_Kept]:
        """Raise ``best`` (RSRP + CIO, per output bin) with each cell's links (and ``arg``, the
        first cell reaching it, if given); returns the links kept for :meth:`_resolve`.

        ``loc`` maps grid bins to output positions (-1 = not wanted); None = identity.
        """
        if loc is not None:
            return self._max_pass_window(entries, best, loc, outer, arg)
        kept = []
        tx, rs, cio = self._tx, self._rs, self._cio
        for j, bins, gain in entries:
            if loc is not None:
                lb = loc[bins]
                m = lb >= 0
                if not m.any():
                    continue
                b, g = lb[m], gain[m]
            else:
                b, g = bins, gain
            # Same operation order as RSRP = (tx + g) - rs, score = RSRP + CIO everywhere.
            sc = ((tx[j] + g.astype(np.float64)) - rs[j]) + cio[j]
            upd = sc > best[b]
            best[b[upd]] = sc[upd]
            if arg is not None:
                arg[b[upd]] = j
            kept.append(_Kept(j, b, sc, g, outer))
        return kept

    def _max_pass_window(self, entries: Iterable[tuple[int, NDArray[Any], NDArray[np.float32]]],
                         best: NDArray[np.float64], loc: NDArray[np.int64], outer: bool,
                         arg: NDArray[np.int64] | None) -> list[_Kept]:
        """:meth:`_max_pass` over a window of bins, all cells at once (a what-if's window is
        reached by hundreds of cells in a dense city: a pass per cell cost more than the rest
        of the what-if). Same scores, same maxima, same first cell reaching each."""
        parts = list(entries)
        if not parts:
            return []
        sizes = np.array([p[1].size for p in parts], dtype=np.int64)
        cells = np.repeat(np.array([p[0] for p in parts], dtype=np.int64), sizes)
        lb = loc[np.concatenate([p[1] for p in parts])]
        m = lb >= 0
        if not m.any():
            return []
        return self._max_arrays(cells[m], lb[m], np.concatenate([p[2] for p in parts])[m],
                                best, outer, arg)

    def _max_arrays(self, c: NDArray[np.int64], b: NDArray[np.int64], g: NDArray[np.float32],
                    best: NDArray[np.float64], outer: bool, arg: NDArray[np.int64] | None
                    ) -> list[_Kept]:
        """The window pass over links given as arrays (cell, output position, gain): raise
        ``best``, set ``arg`` to the lowest cell reaching a raised maximum (the cell the
        sequential pass, in ascending cell order, keeps)."""
        if b.size == 0:
            return []
        c = c.astype(np.int64, copy=False)
        # Same operation order as RSRP = (tx + g) - rs, score = RSRP + CIO everywhere.
        sc = ((self._tx[c] + g.astype(np.float64)) - self._rs[c]) + self._cio[c]
        old = best.copy()
        np.maximum.at(best, b, sc)
        if arg is not None:
            hit = np.flatnonzero((sc == best[b]) & (best[b] > old[b]))
            hit = hit[np.lexsort((c[hit], b[hit]))]
            first = np.ones(hit.size, dtype=bool)
            first[1:] = b[hit][1:] != b[hit][:-1]
            arg[b[hit[first]]] = c[hit[first]]
        return [_Kept(c, b, sc, g, outer)]

    def _window_links(self, base: _Assembly, links: list[TieredLinks],
                      changed: NDArray[np.bool_], bins: NDArray[np.int64],
                      loc: NDArray[np.int64]
                      ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
        """(cell, output position, gain) of every exact near link to ``bins`` (``loc`` maps
        them to positions): the base's links of unchanged cells from its bin index, and the
        changed cells' links as they are now."""
        indptr, cell, gain = base.link_index()
        lo, hi = indptr[bins], indptr[bins + 1]
        n = hi - lo
        tot = int(n.sum())
        # The concatenated ranges lo..hi of every bin, without a loop.
        idx = np.repeat(lo - np.cumsum(np.r_[0, n[:-1]]), n) + np.arange(tot)
        c = cell[idx].astype(np.int64)
        pos = np.repeat(loc[bins], n)
        keep = ~changed[c]
        cs, ps, gs = [c[keep]], [pos[keep]], [gain[idx][keep]]
        for j in np.flatnonzero(changed).tolist():
            tl = links[j]
            lb = loc[tl.bins]
            m = lb >= 0
            if m.any():
                cs.append(np.full(int(m.sum()), j, dtype=np.int64))
                ps.append(lb[m])
                gs.append(tl.gain_db[m])
        return np.concatenate(cs), np.concatenate(ps), np.concatenate(gs)

    def _resolve(self, kept: list[_Kept], best: NDArray[np.float64],
                 out_bins: NDArray[np.int64] | None
                 ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]]:
        """Server, its received power (dBm) and whether it is an outer (beyond the near zone)
        link, per output bin, from the kept links that reach ``best``.

        Exact ties of RSRP + CIO happen where the 3GPP pattern is at its 30 dB floor for
        several sectors of one site (under the mast). Such bins go to the sector whose
        boresight is closest to the bin's bearing (then to the lowest cell index) instead of
        to the lowest cell index.
        """
        n_out = best.size
        qb, qc, qr, qo = [], [], [], []
        for k in kept:
            eq = k.score == best[k.bins]
            if eq.any():
                n = int(eq.sum())
                qb.append(k.bins[eq])
                if np.ndim(k.cell):  # a window pass: one cell per link
                    ce = np.asarray(k.cell)[eq]
                    qc.append(ce)
                    qr.append(self._tx[ce] + k.gain[eq].astype(np.float64))
                else:
                    qc.append(np.full(n, k.cell, dtype=np.int64))
                    qr.append(self._tx[k.cell] + k.gain[eq].astype(np.float64))
                qo.append(np.full(n, k.outer))
        srv = np.full(n_out, -1, dtype=np.int64)
        rx = np.full(n_out, -np.inf)
        is_outer = np.zeros(n_out, dtype=bool)
        if not qb:
            return srv, rx, is_outer
        cb, cc, cr, co = (np.concatenate(qb), np.concatenate(qc), np.concatenate(qr),
                          np.concatenate(qo))
        count = np.bincount(cb, minlength=n_out)
        pick = np.flatnonzero(count[cb] == 1)
        tied = np.flatnonzero(count[cb] > 1)
        if tied.size:
            tb, tc = cb[tied], cc[tied]
            gb = tb if out_bins is None else out_bins[tb]
            grid = self.demand.grid
            x, y, az, omni = self._mast_arrays()
            dx = grid.x0_m + (gb % grid.nx) * grid.spacing_m - x[tc]
            dy = grid.y0_m + (gb // grid.nx) * grid.spacing_m - y[tc]
            bearing = np.degrees(np.arctan2(dx, dy))
            off = np.abs((bearing - az[tc] + 180.0) % 360.0 - 180.0)
            off = np.where(omni[tc], 0.0, off)
            order = np.lexsort((tc, off, tb))  # by bin, then offset, then cell index
            first = np.ones(order.size, dtype=bool)
            first[1:] = tb[order][1:] != tb[order][:-1]
            pick = np.concatenate([pick, tied[order[first]]])
        srv[cb[pick]] = cc[pick]
        rx[cb[pick]] = cr[pick]
        is_outer[cb[pick]] = co[pick]
        return srv, rx, is_outer

    def _mast_arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                    NDArray[np.float64], NDArray[np.bool_]]:
        rows = self._rows if self._rows is not None else self.network.cells_with_sites()
        return (rows["x_m"].to_numpy(dtype=float), rows["y_m"].to_numpy(dtype=float),
                rows["azimuth_deg"].to_numpy(dtype=float),
                (rows["antenna"] == "omni").to_numpy())

    # --- the far-field safeguard -------------------------------------------------------------
    def _tile_min(self, best_near: NDArray[np.float64]) -> NDArray[np.float64]:
        g = self.demand.grid
        t = TILE_BINS
        ty, tx = -(-g.ny // t), -(-g.nx // t)
        pad = np.full((ty * t, tx * t), np.inf)
        pad[:g.ny, :g.nx] = best_near.reshape(g.ny, g.nx)
        return pad.reshape(ty, t, tx, t).min(axis=(1, 3))

    def _tile_shape(self) -> tuple[int, int]:
        g = self.demand.grid
        return -(-g.ny // TILE_BINS), -(-g.nx // TILE_BINS)

    def _tile_bins(self, tiles: NDArray[np.int64]) -> NDArray[np.int64]:
        """All bins of the given tiles (ids ``ty * n_tile_x + tx``), sorted."""
        g = self.demand.grid
        t = TILE_BINS
        n_tx = -(-g.nx // t)
        ty, tx = tiles // n_tx, tiles % n_tx
        off = np.arange(t)
        ix = tx[:, None] * t + off[None, :]  # [n_tile, t]
        iy = ty[:, None] * t + off[None, :]
        ids = iy[:, :, None] * g.nx + ix[:, None, :]  # [n_tile, t, t]
        ok = (ix < g.nx)[:, None, :] & (iy < g.ny)[:, :, None]
        return np.sort(ids[ok].astype(np.int64))

    def _bin_tiles(self, bins: NDArray[np.int64]) -> NDArray[np.int64]:
        g = self.demand.grid
        t = TILE_BINS
        n_tx = -(-g.nx // t)
        return np.unique((bins // g.nx) // t * n_tx + (bins % g.nx) // t)

    def _candidates(self, rows: pd.DataFrame, lb: NDArray[np.float64],
                    tile_ok: NDArray[np.bool_] | None, cells: Iterable[int] | None = None
                    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(cell, tile, bound) of every cell and tile where the cell's best possible
        RSRP + CIO beyond its near zone reaches ``lb`` (the tile's worst server so far).

        The bound takes the path loss at the tile's nearest point (not nearer than the near
        distance) and the pattern's least attenuation over the tile's bearings and zenith
        angles (maximum gain for omni or mechanically tilted antennas). ``tile_ok`` limits
        the tiles (flat mask), ``cells`` the cells.
        """
        far = self.cache.far
        assert far is not None
        cfg = self.config
        g = self.demand.grid
        t = TILE_BINS
        ty, tx = lb.shape
        idx = np.arange(len(rows)) if cells is None else np.asarray(list(cells), dtype=np.int64)
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
        if idx.size == 0:
            return empty
        sub = rows.iloc[idx] if cells is not None else rows
        col = {c: sub[c].to_numpy() for c in (
            "x_m", "y_m", "height_m", "fc_ghz", "scenario", "antenna_gain_dbi", "azimuth_deg",
            "elec_tilt_deg", "h_beamwidth_deg", "v_beamwidth_deg", "antenna", "mech_tilt_deg")}
        x, y = col["x_m"].astype(float), col["y_m"].astype(float)
        h, fc = col["height_m"].astype(float), col["fc_ghz"].astype(float)
        scen = col["scenario"].astype(str)
        gmax = col["antenna_gain_dbi"].astype(float)
        sector = (col["antenna"] != "omni") & (col["mech_tilt_deg"].astype(float) == 0.0)
        offset = (self._tx - self._rs + self._cio)[idx]
        keys = list(zip(scen.tolist(), h.tolist(), fc.tolist(), strict=True))
        key_id = {k: n for n, k in enumerate(dict.fromkeys(keys))}
        kid = np.array([key_id[k] for k in keys])
        pl_near = np.array([float(mast_path_loss_db(k[0], np.array([far.near_m]), k[1],
                                                    cfg.ue_height_m, k[2], cfg.los_model)[0])
                            for k in key_id])
        ub0 = offset + gmax - pl_near[kid] + 1e-6
        reach = far.max_m
        side = t * g.spacing_m
        r_t = int(np.ceil(reach / side)) + 1
        off = np.arange(-r_t, r_t + 1)
        cix = np.floor((x - g.x0_m) / side).astype(np.int64)
        ciy = np.floor((y - g.y0_m) / side).astype(np.int64)
        lb_flat = lb.ravel()
        out_c, out_t, out_u = [], [], []
        chunk = max(1, 200_000 // off.size**2)
        for c0 in range(0, idx.size, chunk):
            sl = slice(c0, c0 + chunk)
            ptx = cix[sl, None, None] + off[None, None, :]
            pty = ciy[sl, None, None] + off[None, :, None]
            ok = (ptx >= 0) & (ptx < tx) & (pty >= 0) & (pty < ty)
            ci, ky, kx = np.nonzero(ok)
            ci = ci + c0
            ptx, pty = ptx[ci - c0, 0, kx], pty[ci - c0, ky, 0]
            tile = pty * tx + ptx
            lbv = lb_flat[tile]
            keep = lbv <= ub0[ci]
            if tile_ok is not None:
                keep &= tile_ok[tile]
            ci, ptx, pty, tile, lbv = ci[keep], ptx[keep], pty[keep], tile[keep], lbv[keep]
            # Nearest and farthest bin centre of each tile from the mast.
            cx0 = g.x0_m + ptx * t * g.spacing_m
            cx1 = g.x0_m + np.minimum(ptx * t + t - 1, g.nx - 1) * g.spacing_m
            cy0 = g.y0_m + pty * t * g.spacing_m
            cy1 = g.y0_m + np.minimum(pty * t + t - 1, g.ny - 1) * g.spacing_m
            xm, ym = x[ci], y[ci]
            dmin = np.hypot(np.maximum(np.maximum(cx0 - xm, xm - cx1), 0.0),
                            np.maximum(np.maximum(cy0 - ym, ym - cy1), 0.0))
            dmax = np.hypot(np.maximum(np.abs(cx0 - xm), np.abs(cx1 - xm)),
                            np.maximum(np.abs(cy0 - ym), np.abs(cy1 - ym)))
            rel = (dmin <= reach) & (dmax > far.near_m)
            if not rel.any():
                continue
            ci, tile, lbv = ci[rel], tile[rel], lbv[rel]
            cx0, cx1, cy0, cy1, dmax = cx0[rel], cx1[rel], cy0[rel], cy1[rel], dmax[rel]
            d_eff = np.maximum(dmin[rel], far.near_m)
            gain = gmax[ci].copy()
            sec = sector[ci]
            if sec.any():
                cs = ci[sec]
                gain[sec] -= _attenuation_bound(
                    x[cs], y[cs], cx0[sec], cx1[sec], cy0[sec], cy1[sec], d_eff[sec], dmax[sec],
                    h[cs] - cfg.ue_height_m, col["azimuth_deg"][cs].astype(float),
                    col["elec_tilt_deg"][cs].astype(float),
                    col["h_beamwidth_deg"][cs].astype(float),
                    col["v_beamwidth_deg"][cs].astype(float))
            pl = np.empty(ci.size)
            for k, n in key_id.items():
                m = kid[ci] == n
                if m.any():
                    pl[m] = mast_path_loss_db(k[0], d_eff[m], k[1], cfg.ue_height_m, k[2],
                                              cfg.los_model)
            ub = offset[ci] + gain - pl + 1e-6
            hit = ub >= lbv
            out_c.append(idx[ci[hit]])
            out_t.append(tile[hit].astype(np.int64))
            out_u.append(ub[hit])
        if not out_c:
            return empty
        return (_cat(out_c, np.int64), _cat(out_t, np.int64), _cat(out_u, np.float64))

    def _promote(self, rows: pd.DataFrame, best_near: NDArray[np.float64],
                 tile_ok: NDArray[np.bool_] | None = None, cells: list[int] | None = None
                 ) -> tuple[dict[int, list[int]], NDArray[np.float64],
                            dict[tuple[int, int], CellLinks]]:
        """Which cells need exact links beyond their near zone, tile by tile.

        For each tile, ``LB`` is the worst (lowest) best-server RSRP + CIO over its bins with
        every exact link that can matter: starting from the near links, the candidates with
        the highest bound are computed first and raise ``LB`` until no uncomputed candidate's
        bound reaches it. A cell is promoted in a tile when its bound reaches the final
        ``LB``; it then has exact links to the tile's bins beyond its near zone. The result
        depends on the network only, not on the order of the work.

        Returns ``(tiles -> promoted cells, LB per tile (flat), computed pieces)``.
        """
        lb0 = self._tile_min(best_near)
        tile_lb = lb0.ravel().copy()
        by_tile: dict[int, list[int]] = {}
        pieces: dict[tuple[int, int], CellLinks] = {}
        if self.cache.far is None:
            return by_tile, tile_lb, pieces
        cand_c, cand_t, cand_u = self._candidates(rows, lb0, tile_ok, cells)
        if cand_c.size == 0:
            return by_tile, tile_lb, pieces
        order = np.lexsort((-cand_u, cand_t))  # by tile, then bound, highest first
        cand_c, cand_t, cand_u = cand_c[order], cand_t[order], cand_u[order]
        starts = np.flatnonzero(np.r_[True, cand_t[1:] != cand_t[:-1]])
        ends = np.r_[starts[1:], cand_t.size]
        tx, rs, cio = self._tx, self._rs, self._cio
        for s0, s1 in zip(starts.tolist(), ends.tolist(), strict=True):
            tile = int(cand_t[s0])
            cs, us = cand_c[s0:s1], cand_u[s0:s1]
            bins_t = self._tile_bins(np.array([tile]))
            best_t = best_near[bins_t].copy()
            lb = float(best_t.min())
            done = np.zeros(cs.size, dtype=bool)
            while True:
                todo = np.flatnonzero(~done & (us >= lb))
                if todo.size == 0:
                    break
                for i in todo[:PROMOTE_BATCH].tolist():
                    j = int(cs[i])
                    piece = self.cache.outer(self._recs[j], bins_t, tile)
                    pieces[(j, tile)] = piece
                    done[i] = True
                    if piece.bins.size:
                        sc = ((tx[j] + piece.gain_db.astype(np.float64)) - rs[j]) + cio[j]
                        pos = np.searchsorted(bins_t, piece.bins)
                        best_t[pos] = np.maximum(best_t[pos], sc)
                lb = float(best_t.min())
            tile_lb[tile] = lb
            keep = [int(cs[i]) for i in np.flatnonzero(done & (us >= lb)).tolist()
                    if pieces[(int(cs[i]), tile)].bins.size]
            if keep:
                by_tile[tile] = keep
        return by_tile, tile_lb, pieces

    def _outer_links(self, rows: pd.DataFrame, by_tile: dict[int, list[int]],
                     pieces: dict[tuple[int, int], CellLinks], base: _Assembly | None = None,
                     changed: NDArray[np.bool_] | None = None
                     ) -> tuple[dict[int, NDArray[np.int64]], dict[int, CellLinks]]:
        """Promoted tiles and the exact outer links per cell, from the tiles' promotions
        (an unchanged cell promoted in the same tiles as in ``base`` keeps its links)."""
        tiles_of: dict[int, list[int]] = {}
        for tile, cs in by_tile.items():
            for j in cs:
                tiles_of.setdefault(j, []).append(tile)
        promoted: dict[int, NDArray[np.int64]] = {}
        outer: dict[int, CellLinks] = {}
        for j in sorted(tiles_of):
            tiles = np.sort(np.array(tiles_of[j], dtype=np.int64))
            promoted[j] = tiles
            if base is not None and changed is not None and not changed[j] \
                    and j in base.promoted and np.array_equal(base.promoted[j], tiles):
                outer[j] = base.outer[j]
                continue
            got = []
            for tile in tiles.tolist():
                p = pieces.get((j, tile))
                if p is None:
                    p = self.cache.outer(self._recs[j], self._tile_bins(np.array([tile])), tile)
                got.append(p)
            outer[j] = CellLinks(bins=np.concatenate([p.bins for p in got]),
                                 gain_db=np.concatenate([p.gain_db for p in got]))
        return promoted, outer

    def _own_mw(self, serving: NDArray[np.int64], is_outer: NDArray[np.bool_],
                signal: NDArray[np.float64], links: list[TieredLinks],
                out_bins: NDArray[np.int64] | None) -> NDArray[np.float64]:
        """The server's own term of the interference operator per output bin: its exact
        signal, or for a server beyond its near zone the far-field value the operator holds."""
        own = signal.copy()
        far = self.cache.far
        if far is None or not is_outer.any():
            return own
        for j in np.unique(serving[is_outer]):
            pos = np.flatnonzero(is_outer & (serving == j))
            b = pos if out_bins is None else out_bins[pos]
            own[pos] = 10.0 ** (self._tx[j] / 10.0) * _far_values(far, links[j], b)
        return own

    # --- full assembly -------------------------------------------------------------------------
    def _assemble(self, rows: pd.DataFrame, links: list[TieredLinks], t0: float) -> _Assembly:
        n_bin = self.demand.grid.n_bin
        n_cell = len(rows)
        best = np.full(n_bin, -np.inf)
        near_arg = np.full(n_bin, -1, dtype=np.int64)
        kept = self._max_pass(((j, tl.bins, tl.gain_db) for j, tl in enumerate(links)),
                              best, None, arg=near_arg)
        best_near = best.copy()
        by_tile, tile_lb, pieces = self._promote(rows, best_near)
        promoted, outer = self._outer_links(rows, by_tile, pieces)
        del pieces
        kept += self._max_pass(((j, ol.bins, ol.gain_db) for j, ol in outer.items()), best,
                               None, outer=True)
        serving, rx, is_outer = self._resolve(kept, best, None)
        del kept
        carrier, carrier_fc = _carrier_groups(self.network.cells["fc_ghz"].to_numpy(float))
        arrays = self._bin_arrays(serving, rx, carrier)
        arrays["own_mw"] = self._own_mw(serving, is_outer, arrays["signal_mw"], links, None)
        t0 = self._tick("association", t0)
        blocks = self._blocks(np.arange(n_cell), links, carrier)
        op = InterferenceOperator(n_bin, self.cache.far, blocks)
        self._tick("operator", t0)
        return _Assembly(serving=serving, **arrays, best_score=best, best_near=best_near,
                         near_arg=near_arg, tile_lb=tile_lb,
                         promoted=promoted, links=list(links), outer=outer, rows=rows,
                         tx_dbm=self._tx, carrier=carrier, carrier_fc=carrier_fc, op=op,
                         grid_n_bin=n_bin)

    def _bin_arrays(self, serving: NDArray[np.int64], rx: NDArray[np.float64],
                    carrier: NDArray[np.int64]) -> dict[str, NDArray[Any]]:
        cfg = self.config
        has = serving >= 0
        srv = np.maximum(serving, 0)
        rsrp = np.where(has, rx - self._rs[srv], -np.inf)
        signal = np.where(has, 10.0 ** (rx / 10.0), 0.0)
        noise_dbm = (cfg.thermal_noise_dbm_hz + cfg.noise_figure_db
                     + 10.0 * np.log10(self._bw_hz[srv]))
        return {"rsrp_dbm": rsrp, "signal_mw": signal, "noise_mw": 10.0 ** (noise_dbm / 10.0),
                "carrier_bin": np.where(has, carrier[srv], -1)}

    def _blocks(self, cols: NDArray[np.int64], links: list[TieredLinks],
                carrier: NDArray[np.int64]) -> list[Block]:
        """Operator columns of ``cols``, one block per carrier (filled in place: the arrays
        are the largest of the twin)."""
        n_bin = self.demand.grid.n_bin
        far = self.cache.far
        n_rows = n_bin + (far.nodes.n_bin if far is not None else 0)
        blocks = []
        for f in np.unique(carrier[cols]):
            cf = cols[carrier[cols] == f]
            counts = np.array([links[j].bins.size + links[j].nodes.size for j in cf],
                              dtype=np.int64)
            indptr = np.zeros(cf.size + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
            data = np.empty(int(indptr[-1]))
            indices = np.empty(int(indptr[-1]), dtype=np.int32)
            for k, j in enumerate(cf.tolist()):
                tl = links[j]
                p_mw = 10.0 ** (self._tx[j] / 10.0)
                s0, n = int(indptr[k]), tl.bins.size
                near = data[s0:s0 + n]
                np.multiply(tl.gain_db, LN10_10, out=near)
                np.exp(near, out=near)
                if tl.far_lin is not None:
                    # Near bins: exact gain = (exact - far field) + far field via the nodes.
                    np.subtract(near, tl.far_lin, out=near)
                near *= p_mw
                indices[s0:s0 + n] = tl.bins
                if tl.nodes.size:
                    nodes = data[s0 + n:int(indptr[k + 1])]
                    np.multiply(tl.node_gain_db, LN10_10, out=nodes)
                    np.exp(nodes, out=nodes)
                    nodes *= p_mw
                    np.add(tl.nodes, n_bin, out=indices[s0 + n:int(indptr[k + 1])])
            mat = sp.csc_matrix((data, indices, indptr), shape=(n_rows, cf.size))
            blocks.append(Block(int(f), cf.astype(np.int64), np.ones(cf.size), mat))
        return blocks

    # --- what-if assembly ----------------------------------------------------------------------
    def _assemble_incremental(self, base: _Assembly, rows: pd.DataFrame,
                              links: list[TieredLinks]) -> _Assembly | None:
        """Reuse ``base`` (the parent's assembly) outside the reach of the changed cells, or
        None when a full assembly is simpler (cells removed or reordered, many changes, a new
        carrier)."""
        t0 = time.perf_counter()
        n_old, n_new = len(base.rows), len(rows)
        if n_new < n_old or n_old == 0:
            return None
        if not np.array_equal(rows["cell_id"].to_numpy()[:n_old],
                              base.rows["cell_id"].to_numpy()):
            return None
        changed = np.ones(n_new, dtype=bool)
        changed[:n_old] = False
        changed[:n_old] = _rows_differ(rows, base.rows, MODEL_COLUMNS, n_old)
        cset = np.flatnonzero(changed)
        if cset.size > max(4, INCREMENTAL_MAX_SHARE * n_new):
            return None
        carrier, carrier_fc = _carrier_groups(self.network.cells["fc_ghz"].to_numpy(float))
        if not np.array_equal(carrier_fc, base.carrier_fc):
            return None
        if cset.size == 0:
            return base
        far = self.cache.far
        n_bin = self.demand.grid.n_bin
        near_m = far.near_m if far is not None else self.config.max_link_distance_m
        reach = far.max_m if far is not None else near_m
        tx, rs, cio = self._tx, self._rs, self._cio

        def score(j: int, gain: NDArray[np.float32]) -> NDArray[np.float64]:
            return ((tx[j] + gain.astype(np.float64)) - rs[j]) + cio[j]

        loc = np.full(n_bin, -1, dtype=np.int64)
        # 1. The best near-link score: recomputed where a changed cell held it, raised by the
        #    changed cells' new near links elsewhere.
        best_near = base.best_near.copy()
        near_arg = base.near_arg.copy()
        held = np.flatnonzero(np.isin(near_arg, cset))
        if held.size:
            loc[held] = np.arange(held.size)
            b_w = np.full(held.size, -np.inf)
            a_w = np.full(held.size, -1, dtype=np.int64)
            self._max_arrays(*self._window_links(base, links, changed, held, loc), b_w, False,
                             a_w)
            best_near[held], near_arg[held] = b_w, a_w
            loc[held] = -1
        for j in cset.tolist():
            b = links[j].bins
            sc = score(j, links[j].gain_db)
            upd = sc > best_near[b]
            best_near[b[upd]] = sc[upd]
            near_arg[b[upd]] = j
        moved = np.flatnonzero(best_near != base.best_near)
        # 2. The far-field safeguard, redone in the tiles where the near best moved, where a
        #    changed cell was promoted and where it is a candidate now.
        n_tile = base.tile_lb.size
        redo = np.zeros(n_tile, dtype=bool)
        if moved.size:
            redo[self._bin_tiles(moved)] = True
        for j in cset:
            if j < n_old and j in base.promoted:
                redo[base.promoted[j]] = True
        if far is not None:
            _, ct, _ = self._candidates(rows, base.tile_lb.reshape(self._tile_shape()), None,
                                        cells=cset.tolist())
            redo[ct] = True
        tile_lb = base.tile_lb.copy()
        by_tile: dict[int, list[int]] = {}
        pieces: dict[tuple[int, int], CellLinks] = {}
        if redo.any():
            by_tile, tile_lb_redo, pieces = self._promote(
                rows, best_near, redo,
                self._cells_near(rows, self._tile_bins(np.flatnonzero(redo)), reach))
            tile_lb[redo] = tile_lb_redo[redo]
        # Only cells promoted in a redone tile (or changed) can have other outer links than in
        # the base: the others keep theirs without a pass over every promoted cell.
        tile_cells = base.tile_cells()
        affected = set(cset.tolist())
        for cs in by_tile.values():
            affected.update(cs)
        for tile in np.flatnonzero(redo).tolist():
            affected.update(tile_cells.get(tile, ()))
        for j in sorted(affected):
            tiles = base.promoted.get(j)
            if tiles is not None and not changed[j]:
                for tile in tiles[~redo[tiles]].tolist():
                    by_tile.setdefault(tile, []).append(j)
        promoted_a, outer_a = self._outer_links(rows, by_tile, pieces, base, changed)
        del pieces
        promoted = {j: t for j, t in base.promoted.items() if j not in affected}
        outer = {j: o for j, o in base.outer.items() if j not in affected}
        promoted.update(promoted_a)
        outer.update(outer_a)
        promoted = dict(sorted(promoted.items()))
        outer = dict(sorted(outer.items()))
        # 3. Bins whose server can change: the changed cells' old footprints, the bins where
        #    a changed cell now reaches the old best, and the redone tiles.
        parts = [np.flatnonzero(np.isin(base.serving, cset)), self._tile_bins(np.flatnonzero(redo))]
        for j in cset.tolist():
            for lk in (links[j], outer.get(j)):
                if lk is not None and lk.bins.size:
                    sc = score(j, lk.gain_db)
                    parts.append(lk.bins[sc >= base.best_score[lk.bins]].astype(np.int64))
        win = np.unique(np.concatenate(parts))
        new_links = list(links)
        loc[win] = np.arange(win.size)
        best_w = np.full(win.size, -np.inf)
        kept = self._max_arrays(*self._window_links(base, new_links, changed, win, loc), best_w,
                                False, None)
        if outer:
            near_win = set(self._cells_near(rows, win, reach))
            kept += self._max_pass(((j, outer[j].bins, outer[j].gain_db)
                                    for j in sorted(near_win & set(outer))), best_w, loc,
                                   outer=True)
        srv_w, rx_w, outer_w = self._resolve(kept, best_w, win)
        del kept
        serving = base.serving.copy()
        serving[win] = srv_w
        best_score = base.best_score.copy()
        best_score[win] = best_w
        arrays = {k: getattr(base, k).copy() for k in ("rsrp_dbm", "signal_mw", "noise_mw",
                                                        "carrier_bin", "own_mw")}
        upd = self._bin_arrays(srv_w, rx_w, carrier)
        upd["own_mw"] = self._own_mw(srv_w, outer_w, upd["signal_mw"], new_links, win)
        for k, v in upd.items():
            arrays[k][win] = v
        t0 = self._tick("association", t0)
        # Operator: the parent's blocks with the changed columns switched off, plus new ones.
        blocks = []
        for blk in base.op.blocks:
            gone = changed[blk.cols]
            if gone.any():
                blk = Block(blk.carrier, blk.cols, np.where(gone, 0.0, blk.mask), blk.mat)
            if blk.mask.any():
                blocks.append(blk)
        blocks += self._blocks(cset.astype(np.int64), new_links, carrier)
        if np.bincount([b.carrier for b in blocks]).max() > MAX_BLOCKS_PER_CARRIER:
            blocks = self._blocks(np.arange(n_new), new_links, carrier)
        op = InterferenceOperator(n_bin, far, blocks)
        self._tick("operator", t0)
        # The bins whose server may have changed and the changed cells, for local what-ifs
        # (twin/whatif_local.py).
        return _Assembly(serving=serving, **arrays, best_score=best_score, best_near=best_near,
                         near_arg=near_arg, tile_lb=tile_lb,
                         promoted=promoted, links=new_links, outer=outer, rows=rows,
                         tx_dbm=self._tx, carrier=carrier, carrier_fc=carrier_fc, op=op,
                         grid_n_bin=n_bin, _lazy={"window": win, "changed": cset})

    def _cells_near(self, rows: pd.DataFrame, win: NDArray[np.int64], dist_m: float
                    ) -> list[int]:
        """Cells whose mast is within ``dist_m`` of the bounding box of ``win`` (none for no
        bins: a change, such as a weak small cell, can leave every bin's server as it was)."""
        if win.size == 0:
            return []
        g = self.demand.grid
        ix, iy = win % g.nx, win // g.nx
        x0, x1 = g.x0_m + ix.min() * g.spacing_m, g.x0_m + ix.max() * g.spacing_m
        y0, y1 = g.y0_m + iy.min() * g.spacing_m, g.y0_m + iy.max() * g.spacing_m
        x = rows["x_m"].to_numpy(dtype=float)
        y = rows["y_m"].to_numpy(dtype=float)
        dx = np.maximum(np.maximum(x0 - x, x - x1), 0.0)
        dy = np.maximum(np.maximum(y0 - y, y - y1), 0.0)
        return np.flatnonzero(np.hypot(dx, dy) <= dist_m + g.spacing_m).tolist()

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
        st = self._state(hour, np.asarray(offered, dtype=float), rho, converged, residual,
                         iterations)
        self._tick("results", t0)
        return st

    def _state(self, hour: int, offered: NDArray[np.float64], rho: NDArray[np.float64],
               converged: bool, residual: float, iterations: int) -> State:
        cfg = self.config
        asm = self.assembly
        cells = self.network.cells
        n_bin = self.demand.grid.n_bin
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
        peak_rate = spectral_efficiency(sinr_lin, self._layers[srv], cfg) * self._n_prb[srv] \
            * self._prb_bw_hz[srv] / 1e6  # [n_bin] Mbit/s with all PRBs
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
            "prb_used": np.minimum(rho, 1.0) * self._n_prb,
            "offered_mbps": offered_cell,
            "served_mbps": served_cell,
            "unserved_mbps": unserved_cell,
            "mean_sinr_db": mean_sinr,
            "n_bins": n_bins_cell.astype(np.int64),
            "overloaded": rho > cfg.overload_threshold,
        })
        x, y = self.demand.grid.xy()
        # The serving cell's id per bin by an Arrow take (missing where no server).
        ids = pd.array(cells["cell_id"].astype(str).to_numpy(), dtype=pd.StringDtype(na_value=np.nan))
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

    def load_operator(self, offered: NDArray[np.float64]
                      ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
        """The load-coupling map ``f``: utilisation ``[n_cell]`` -> utilisation ``[n_cell]``
        for one offered-traffic map ``[n_bin]`` (Mbit/s). ``f(rho)`` is linear in ``offered``
        for a fixed ``rho``, which calibration uses."""
        cfg = self.config
        asm = self.assembly
        n_cell = len(self.network.cells)
        offered = np.asarray(offered, dtype=float)
        if offered.shape != (self.demand.grid.n_bin,) or not np.isfinite(offered).all() \
                or (offered < 0).any():
            raise ValidationError("demand", "offered traffic must be a finite, non-negative "
                                  f"map of {self.demand.grid.n_bin} bins")
        act = np.flatnonzero((asm.serving >= 0) & (offered > 0))  # bins that load a cell
        prep = asm.prepared(act)
        srv = prep.server
        d_bps = offered[act] * 1e6
        s_act = asm.signal_mw[act]
        n_act = asm.noise_mw[act]
        layers = self._layers[srv]  # [n_act]
        prb_bw = self._prb_bw_hz[srv]  # [n_act]
        op = asm.op

        counts = self.counts

        def load(rho: NDArray[np.float64]) -> NDArray[np.float64]:
            counts["load_evaluations"] += 1
            sinr = s_act / (op.interference(np.minimum(rho, 1.0), prep) + n_act)
            se = load_spectral_efficiency(sinr, layers, cfg)
            prbs = d_bps / (se * prb_bw)
            return np.bincount(srv, weights=prbs, minlength=n_cell) / self._n_prb

        return load

    def load_jacobian(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                      ) -> NDArray[np.float64]:
        """``[n_cell, n_cell]`` Jacobian ``J[c, j] = d f_c / d rho_j`` of the load map of
        :meth:`load_operator` at ``rho`` ``[n_cell]``, analytically:

            d f_c / d rho_j = sum_{b: s(b) = c} dPRB_b/dse_b dse_b/dSINR_b dSINR_b/dI_b
                              * dI_b/dr_j * [rho_j < 1]

        with ``dI_b/dr_j`` the interference operator's entry (0 for the server itself); the
        derivative is 0 where a kink clips (``min(rho, 1)``, the MCS floor and ``se_max``,
        interference clipped at 0). Costs about one pass over the operator's non-zeros."""
        prep, w = self._jacobian_weights(offered, rho)
        jac = self.assembly.op.jacobian(w, prep, len(self.network.cells))
        jac[:, np.asarray(rho) >= 1.0] = 0.0
        return jac

    def _jacobian_weights(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                          ) -> tuple[Prepared, NDArray[np.float64]]:
        """The loaded bins and their weights ``dPRB_b/dI_b / n_prb`` (0 where a kink clips) of
        :meth:`load_jacobian`: ``J = S^T diag(w) dI/dr``."""
        cfg = self.config
        asm = self.assembly
        offered = np.asarray(offered, dtype=float)
        act = np.flatnonzero((asm.serving >= 0) & (offered > 0))
        prep = asm.prepared(act)
        srv = prep.server
        r = np.minimum(np.asarray(rho, dtype=float), 1.0)
        i_mw = asm.op.interference(r, prep)
        tot = i_mw + asm.noise_mw[act]
        sinr = asm.signal_mw[act] / tot
        layers = self._layers[srv]
        se = load_spectral_efficiency(sinr, layers, cfg)
        per_layer = cfg.alpha * np.log2(1.0 + sinr / layers)
        floor = min(cfg.alpha * np.log2(1.0 + 10.0 ** (cfg.sinr_min_db / 10.0)),
                    cfg.se_max_bps_hz)
        free = (per_layer > floor) & (per_layer < cfg.se_max_bps_hz) & (i_mw > 0.0)
        # L * d(alpha log2(1 + SINR/L))/dSINR = alpha / (ln 2 (1 + SINR/L)).
        dse = np.where(free, cfg.alpha / (np.log(2.0) * (1.0 + sinr / layers)), 0.0)
        # PRB_b = D_b / (se_b B_prb n_prb); dSINR/dI = -SINR / (I + N): both signs cancel.
        w = offered[act] * 1e6 / (self._prb_bw_hz[srv] * self._n_prb[srv]) * dse / se**2 \
            * sinr / tot
        return prep, w

    def _base_lu(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                 ) -> tuple[Any, Any] | None:
        """LU factors of ``I - J`` (:meth:`load_jacobian` at ``rho``) for ``offered``, built
        once per offered-traffic map (hour) and kept for every what-if of this twin; None if
        singular."""
        for k, (off, lu) in enumerate(self._lu):
            if off.shape == offered.shape and np.array_equal(off, offered):
                self._lu.append(self._lu.pop(k))
                return lu
        jac = self.load_jacobian(offered, rho)
        self.counts["jacobians"] += 1
        m = np.eye(jac.shape[0]) - jac
        lu: tuple[Any, Any] | None
        try:
            with np.errstate(all="ignore"):
                lu = sla.lu_factor(m, check_finite=True)
            if not np.all(np.isfinite(lu[0])) or np.min(np.abs(np.diag(lu[0]))) == 0.0:
                lu = None
        except (ValueError, np.linalg.LinAlgError):
            lu = None
        self._lu.append((offered.copy(), lu))
        del self._lu[:-JACOBIAN_CACHE]
        return lu

    def _preconditioner(self, offered: NDArray[np.float64], rho: NDArray[np.float64]
                        ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]] | None:
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

        def solve(g: NDArray[np.float64]) -> NDArray[np.float64]:
            out = g.copy()
            out[:n_old] = sla.lu_solve(lu, g[:n_old], check_finite=False)
            return out

        return solve

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
