"""Association: the server of each bin is the argmax of RSRP + CIO over exact link gains.

The passes raise a running maximum ``best`` (RSRP + CIO per output bin) with each cell's
links and keep the links for :func:`resolve`, which picks the server among the links that
reach the maximum. Every score is computed in one operation order, ``RSRP = (tx + g) - rs``,
``score = RSRP + CIO``, so that a full assembly and a what-if's window agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.cell_arrays import CellArrays
from twin.grid import Grid
from twin.links import TieredLinks

#: A cell's links as a pass reads them: (cell, grid bins, gain dB).
LinkEntry = tuple[int, NDArray[Any], NDArray[np.float32]]


@dataclass(frozen=True)
class Kept:
    """One cell's links during association (positions in the output, score, gain)."""

    cell: int | NDArray[np.int64]  # one cell, or one per link (max_pass_window)
    bins: NDArray[np.int64]
    score: NDArray[np.float64]
    gain: NDArray[np.float32]
    outer: bool


def max_pass(cells: CellArrays, entries: Iterable[LinkEntry], best: NDArray[np.float64],
             loc: NDArray[np.int64] | None, outer: bool = False,
             arg: NDArray[np.int64] | None = None) -> list[Kept]:
    """Raise ``best`` (RSRP + CIO, per output bin) with each cell's links (and ``arg``, the
    first cell reaching it, if given); returns the links kept for :func:`resolve`.

    ``loc`` maps grid bins to output positions (-1 = not wanted); None = identity.
    """
    if loc is not None:
        return max_pass_window(cells, entries, best, loc, outer, arg)
    kept = []
    tx, rs, cio = cells.tx_dbm, cells.rs_db, cells.cio_db
    for j, b, g in entries:
        # Same operation order as RSRP = (tx + g) - rs, score = RSRP + CIO everywhere.
        sc = ((tx[j] + g.astype(np.float64)) - rs[j]) + cio[j]
        upd = sc > best[b]
        best[b[upd]] = sc[upd]
        if arg is not None:
            arg[b[upd]] = j
        kept.append(Kept(j, b, sc, g, outer))
    return kept


def max_pass_window(cells: CellArrays, entries: Iterable[LinkEntry], best: NDArray[np.float64],
                    loc: NDArray[np.int64], outer: bool, arg: NDArray[np.int64] | None
                    ) -> list[Kept]:
    """:func:`max_pass` over a window of bins, all cells at once (a what-if's window is
    reached by hundreds of cells in a dense city: a pass per cell cost more than the rest
    of the what-if). Same scores, same maxima, same first cell reaching each."""
    parts = list(entries)
    if not parts:
        return []
    sizes = np.array([p[1].size for p in parts], dtype=np.int64)
    cell = np.repeat(np.array([p[0] for p in parts], dtype=np.int64), sizes)
    lb = loc[np.concatenate([p[1] for p in parts])]
    m = lb >= 0
    if not m.any():
        return []
    return max_arrays(cells, cell[m], lb[m], np.concatenate([p[2] for p in parts])[m],
                      best, outer, arg)


def max_arrays(cells: CellArrays, c: NDArray[np.int64], b: NDArray[np.int64],
               g: NDArray[np.float32], best: NDArray[np.float64], outer: bool,
               arg: NDArray[np.int64] | None) -> list[Kept]:
    """The window pass over links given as arrays (cell, output position, gain): raise
    ``best``, set ``arg`` to the lowest cell reaching a raised maximum (the cell the
    sequential pass, in ascending cell order, keeps)."""
    if b.size == 0:
        return []
    c = c.astype(np.int64, copy=False)
    # Same operation order as RSRP = (tx + g) - rs, score = RSRP + CIO everywhere.
    sc = ((cells.tx_dbm[c] + g.astype(np.float64)) - cells.rs_db[c]) + cells.cio_db[c]
    old = best.copy()
    np.maximum.at(best, b, sc)
    if arg is not None:
        hit = np.flatnonzero((sc == best[b]) & (best[b] > old[b]))
        hit = hit[np.lexsort((c[hit], b[hit]))]
        first = np.ones(hit.size, dtype=bool)
        first[1:] = b[hit][1:] != b[hit][:-1]
        arg[b[hit[first]]] = c[hit[first]]
    return [Kept(c, b, sc, g, outer)]


def window_links(link_index: tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]],
                 links: list[TieredLinks], changed: NDArray[np.bool_], bins: NDArray[np.int64],
                 loc: NDArray[np.int64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """(cell, output position, gain) of every exact near link to ``bins`` (``loc`` maps
    them to positions): the base's links of unchanged cells from its bin index
    (:meth:`twin.assembly.Assembly.link_index`), and the changed cells' links as they are
    now."""
    indptr, cell, gain = link_index
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


def resolve(cells: CellArrays, kept: list[Kept], best: NDArray[np.float64],
            out_bins: NDArray[np.int64] | None, grid: Grid, rows: pd.DataFrame
            ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]]:
    """Server, its received power (dBm) and whether it is an outer (beyond the near zone)
    link, per output bin (``out_bins``: their grid bins, None = every bin), from the kept
    links that reach ``best``; ``rows`` are the cells (``Network.cells_with_sites()``).

    Exact ties of RSRP + CIO happen where the 3GPP pattern is at its 30 dB floor for
    several sectors of one site (under the mast). Such bins go to the sector whose
    boresight is closest to the bin's bearing (then to the lowest cell index) instead of
    to the lowest cell index.
    """
    n_out = best.size
    tx = cells.tx_dbm
    qb, qc, qr, qo = [], [], [], []
    for k in kept:
        eq = k.score == best[k.bins]
        if eq.any():
            n = int(eq.sum())
            qb.append(k.bins[eq])
            if np.ndim(k.cell):  # a window pass: one cell per link
                ce = np.asarray(k.cell)[eq]
                qc.append(ce)
                qr.append(tx[ce] + k.gain[eq].astype(np.float64))
            else:
                qc.append(np.full(n, k.cell, dtype=np.int64))
                qr.append(tx[k.cell] + k.gain[eq].astype(np.float64))
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
        x, y = rows["x_m"].to_numpy(dtype=float), rows["y_m"].to_numpy(dtype=float)
        az = rows["azimuth_deg"].to_numpy(dtype=float)
        omni = (rows["antenna"] == "omni").to_numpy()
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
