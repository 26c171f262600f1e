"""A twin's association and interference operator, and how a full one is built.

:func:`assemble` chooses every bin's server (twin/association.py) from the exact near links,
promotes the cells that could win bins beyond their near zone (twin/far_field.py), and builds
the operator's blocks (twin/operators.py). A what-if's assembly reuses its parent's
(twin/whatif_assembly.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from twin.association import max_pass, resolve
from twin.cell_arrays import CellArrays
from twin.config import RadioConfig
from twin.far_field import FarFieldSafeguard
from twin.grid import Grid
from twin.interference import InterferenceOperator, Prepared
from twin.links import CellLinks, LinkCache, TieredLinks, db_to_lin
from twin.operators import bin_arrays, carrier_groups, operator_blocks, own_mw

#: ``tick(stage, t0)`` adds the seconds since ``t0`` to the twin's timings of ``stage`` and
#: returns the time now.
Tick = Callable[[str, float], float]


@dataclass(eq=False)
class Assembly:
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
    # A what-if's incremental assembly (twin/whatif_assembly.py): the bins whose server may
    # have changed and the changed cells, read by local what-ifs (twin/whatif_local.py).
    window: NDArray[np.int64] | None = None
    changed: NDArray[np.int64] | None = None
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
                fb = far.cell_bins(tl)
                fb = np.setdiff1d(fb, b, assume_unique=True)
                fv = p_mw * far.cell_gain_lin(tl, fb)
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


def _cat(parts: list[NDArray[Any]], dtype: Any) -> NDArray[Any]:
    return np.concatenate(parts) if parts else np.empty(0, dtype)


@dataclass(frozen=True, eq=False)
class AssemblyInputs:
    """What a twin's assembly is built from: its cells (``rows`` of
    ``Network.cells_with_sites()``, their arrays, link records ``recs`` and tiered links,
    the carrier ``fc_ghz`` of each) on ``grid``."""

    grid: Grid
    config: RadioConfig
    cache: LinkCache
    arrays: CellArrays
    rows: pd.DataFrame
    recs: list[dict[str, Any]]
    links: list[TieredLinks]
    fc_ghz: NDArray[np.float64]
    tick: Tick

    def safeguard(self) -> FarFieldSafeguard:
        return FarFieldSafeguard(self.grid, self.config, self.cache, self.arrays, self.recs)


def assemble(inp: AssemblyInputs, t0: float) -> Assembly:
    """The full assembly of ``inp`` (``t0``: when the association's timing starts)."""
    n_bin = inp.grid.n_bin
    n_cell = len(inp.rows)
    cells, links, rows = inp.arrays, inp.links, inp.rows
    far = inp.cache.far
    best = np.full(n_bin, -np.inf)
    near_arg = np.full(n_bin, -1, dtype=np.int64)
    kept = max_pass(cells, ((j, tl.bins, tl.gain_db) for j, tl in enumerate(links)), best, None,
                    arg=near_arg)
    best_near = best.copy()
    ff = inp.safeguard()
    by_tile, tile_lb, pieces = ff.promote(rows, best_near)
    promoted, outer = ff.outer_links(by_tile, pieces)
    del pieces
    kept += max_pass(cells, ((j, ol.bins, ol.gain_db) for j, ol in outer.items()), best, None,
                     outer=True)
    serving, rx, is_outer = resolve(cells, kept, best, None, inp.grid, rows)
    del kept
    carrier, carrier_fc = carrier_groups(inp.fc_ghz)
    arrays = bin_arrays(cells, inp.config, serving, rx, carrier)
    arrays["own_mw"] = own_mw(cells, far, serving, is_outer, arrays["signal_mw"], links, None)
    t0 = inp.tick("association", t0)
    blocks = operator_blocks(cells, n_bin, far, np.arange(n_cell), links, carrier)
    op = InterferenceOperator(n_bin, far, blocks)
    inp.tick("operator", t0)
    return Assembly(serving=serving, **arrays, best_score=best, best_near=best_near,
                    near_arg=near_arg, tile_lb=tile_lb,
                    promoted=promoted, links=list(links), outer=outer, rows=rows,
                    tx_dbm=cells.tx_dbm, carrier=carrier, carrier_fc=carrier_fc, op=op,
                    grid_n_bin=n_bin)
