"""A what-if's assembly: its parent's, redone only where the changed cells reach.

For a change of a few cells (cells appended, none removed or reordered, no new carrier),
:func:`assemble_incremental` re-associates only the bins whose server the changed cells can
change (their old footprints, the bins where they now reach the old best server, and the
far-field tiles redone), switches the changed cells' columns of the parent's operator off
and adds their new ones (twin/interference.py) instead of rebuilding it; past
:data:`MAX_BLOCKS_PER_CARRIER` blocks per carrier it rebuilds the operator.
:func:`links_from` and :func:`rows_like` reuse the parent's link gains and cell rows the same
way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.assembly import Assembly, AssemblyInputs
from twin.association import max_arrays, max_pass, resolve, window_links
from twin.far_field import bin_tiles, tile_bins, tile_shape
from twin.grid import Grid
from twin.interference import Block, InterferenceOperator
from twin.links import LINK_COLUMNS, CellLinks, LinkCache, TieredLinks, link_records
from twin.network import Network
from twin.operators import bin_arrays, carrier_groups, operator_blocks, own_mw

#: Cell columns whose change makes a cell "changed" for a what-if.
MODEL_COLUMNS = (*LINK_COLUMNS, "tx_power_dbm", "cio_db", "n_prb", "scs_khz", "bandwidth_mhz",
                 "mimo_layers")
#: A what-if that changes more cells than this share rebuilds the twin instead.
INCREMENTAL_MAX_SHARE = 0.1
#: Operator blocks (the parent's plus what-if deltas) before a rebuild.
MAX_BLOCKS_PER_CARRIER = 6


def rows_differ(rows: pd.DataFrame, prev: pd.DataFrame, columns: Iterable[str], n: int
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


def rows_like(network: Network, parent: Network, base: Assembly) -> pd.DataFrame | None:
    """``network.cells_with_sites()`` of a what-if that changes cells on the sites of
    ``parent`` (whose assembly is ``base``) only, from the parent's rows (the join costs more
    than the rest of a small what-if); None for other changes."""
    cells, prev = network.cells, base.rows
    n = cells.shape[1]
    if (len(cells) != len(prev) or list(prev.columns[:n]) != list(cells.columns)
            or not isinstance(cells.index, pd.RangeIndex)
            or not isinstance(prev.index, pd.RangeIndex)
            or not np.array_equal(cells["site_id"].to_numpy(), prev["site_id"].to_numpy())):
        return None
    sites, old = network.sites, parent.sites
    if sites is not old and not sites.equals(old):
        return None
    return pd.concat([cells, prev[list(prev.columns[n:])]], axis=1)


def links_from(parent_recs: list[dict[str, Any]], base: Assembly, rows: pd.DataFrame,
               cache: LinkCache) -> tuple[list[dict[str, Any]], list[TieredLinks]] | None:
    """The link records and gains of ``rows`` from the parent's (its link records and
    assembly) for every cell whose link columns did not change (cells appended only), so
    that a what-if's cost does not grow with the cells it leaves alone; None when the cells
    do not extend the parent's."""
    if not parent_recs:
        return None
    n_old, n_new = len(base.rows), len(rows)
    if n_new < n_old or len(parent_recs) != n_old or not np.array_equal(
            rows["cell_id"].to_numpy()[:n_old], base.rows["cell_id"].to_numpy()):
        return None
    diff = np.ones(n_new, dtype=bool)
    diff[:n_old] = False
    diff[:n_old] = rows_differ(rows, base.rows, LINK_COLUMNS, n_old)
    redo = np.flatnonzero(diff)
    recs = list(parent_recs) + [{}] * (n_new - n_old)
    links = list(base.links) + [None] * (n_new - n_old)
    new_recs = link_records(rows.iloc[redo])
    for i, rec, tl in zip(redo.tolist(), new_recs, cache.tiered(new_recs), strict=True):
        recs[i] = rec
        links[i] = tl
    return recs, links  # type: ignore[return-value]


def assemble_incremental(inp: AssemblyInputs, base: Assembly) -> Assembly | None:
    """The assembly of ``inp`` (a what-if's cells), reusing ``base`` (the parent's assembly)
    outside the reach of the changed cells, or None when a full assembly is simpler (cells
    removed or reordered, many changes, a new carrier)."""
    t0 = time.perf_counter()
    rows, links = inp.rows, inp.links
    n_old, n_new = len(base.rows), len(rows)
    if n_new < n_old or n_old == 0:
        return None
    if not np.array_equal(rows["cell_id"].to_numpy()[:n_old],
                          base.rows["cell_id"].to_numpy()):
        return None
    changed = np.ones(n_new, dtype=bool)
    changed[:n_old] = False
    changed[:n_old] = rows_differ(rows, base.rows, MODEL_COLUMNS, n_old)
    cset = np.flatnonzero(changed)
    if cset.size > max(4, INCREMENTAL_MAX_SHARE * n_new):
        return None
    carrier, carrier_fc = carrier_groups(inp.fc_ghz)
    if not np.array_equal(carrier_fc, base.carrier_fc):
        return None
    if cset.size == 0:
        return base
    far = inp.cache.far
    n_bin = inp.grid.n_bin
    near_m = far.near_m if far is not None else inp.config.max_link_distance_m
    reach = far.max_m if far is not None else near_m
    tx, rs, cio = inp.arrays.tx_dbm, inp.arrays.rs_db, inp.arrays.cio_db

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
        max_arrays(inp.arrays, *window_links(base.link_index(), links, changed, held, loc), b_w,
                   False, a_w)
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
        redo[bin_tiles(inp.grid, moved)] = True
    for j in cset:
        if j < n_old and j in base.promoted:
            redo[base.promoted[j]] = True
    ff = inp.safeguard()
    if far is not None:
        _, ct, _ = ff.candidates(rows, base.tile_lb.reshape(tile_shape(inp.grid)), None,
                                  cells=cset.tolist())
        redo[ct] = True
    tile_lb = base.tile_lb.copy()
    by_tile: dict[int, list[int]] = {}
    pieces: dict[tuple[int, int], CellLinks] = {}
    if redo.any():
        by_tile, tile_lb_redo, pieces = ff.promote(
            rows, best_near, redo,
            cells_near(inp.grid, rows, tile_bins(inp.grid, np.flatnonzero(redo)), reach))
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
    promoted_a, outer_a = ff.outer_links(by_tile, pieces, base.promoted, base.outer, changed)
    del pieces
    promoted = {j: t for j, t in base.promoted.items() if j not in affected}
    outer = {j: o for j, o in base.outer.items() if j not in affected}
    promoted.update(promoted_a)
    outer.update(outer_a)
    promoted = dict(sorted(promoted.items()))
    outer = dict(sorted(outer.items()))
    # 3. Bins whose server can change: the changed cells' old footprints, the bins where
    #    a changed cell now reaches the old best, and the redone tiles.
    parts = [np.flatnonzero(np.isin(base.serving, cset)),
             tile_bins(inp.grid, np.flatnonzero(redo))]
    for j in cset.tolist():
        for lk in (links[j], outer.get(j)):
            if lk is not None and lk.bins.size:
                sc = score(j, lk.gain_db)
                parts.append(lk.bins[sc >= base.best_score[lk.bins]].astype(np.int64))
    win = np.unique(np.concatenate(parts))
    new_links = list(links)
    loc[win] = np.arange(win.size)
    best_w = np.full(win.size, -np.inf)
    kept = max_arrays(inp.arrays, *window_links(base.link_index(), new_links, changed, win, loc),
                      best_w, False, None)
    if outer:
        near_win = set(cells_near(inp.grid, rows, win, reach))
        kept += max_pass(inp.arrays, ((j, outer[j].bins, outer[j].gain_db)
                                      for j in sorted(near_win & set(outer))), best_w, loc,
                         outer=True)
    srv_w, rx_w, outer_w = resolve(inp.arrays, kept, best_w, win, inp.grid, rows)
    del kept
    serving = base.serving.copy()
    serving[win] = srv_w
    best_score = base.best_score.copy()
    best_score[win] = best_w
    arrays = {k: getattr(base, k).copy() for k in ("rsrp_dbm", "signal_mw", "noise_mw",
                                                    "carrier_bin", "own_mw")}
    upd = bin_arrays(inp.arrays, inp.config, srv_w, rx_w, carrier)
    upd["own_mw"] = own_mw(inp.arrays, far, srv_w, outer_w, upd["signal_mw"], new_links,
                           win)
    for k, v in upd.items():
        arrays[k][win] = v
    t0 = inp.tick("association", t0)
    # Operator: the parent's blocks with the changed columns switched off, plus new ones.
    blocks = []
    for blk in base.op.blocks:
        gone = changed[blk.cols]
        if gone.any():
            blk = Block(blk.carrier, blk.cols, np.where(gone, 0.0, blk.mask), blk.mat)
        if blk.mask.any():
            blocks.append(blk)
    blocks += operator_blocks(inp.arrays, n_bin, far, cset.astype(np.int64), new_links,
                              carrier)
    if np.bincount([b.carrier for b in blocks]).max() > MAX_BLOCKS_PER_CARRIER:
        blocks = operator_blocks(inp.arrays, n_bin, far, np.arange(n_new), new_links,
                                 carrier)
    op = InterferenceOperator(n_bin, far, blocks)
    inp.tick("operator", t0)
    return Assembly(serving=serving, **arrays, best_score=best_score, best_near=best_near,
                    near_arg=near_arg, tile_lb=tile_lb,
                    promoted=promoted, links=new_links, outer=outer, rows=rows,
                    tx_dbm=inp.arrays.tx_dbm, carrier=carrier, carrier_fc=carrier_fc, op=op,
                    grid_n_bin=n_bin, window=win, changed=cset)


def cells_near(grid: Grid, rows: pd.DataFrame, win: NDArray[np.int64], dist_m: float
               ) -> list[int]:
    """Cells whose mast is within ``dist_m`` of the bounding box of ``win`` (none for no
    bins: a change, such as a weak small cell, can leave every bin's server as it was)."""
    if win.size == 0:
        return []
    g = grid
    ix, iy = win % g.nx, win // g.nx
    x0, x1 = g.x0_m + ix.min() * g.spacing_m, g.x0_m + ix.max() * g.spacing_m
    y0, y1 = g.y0_m + iy.min() * g.spacing_m, g.y0_m + iy.max() * g.spacing_m
    x = rows["x_m"].to_numpy(dtype=float)
    y = rows["y_m"].to_numpy(dtype=float)
    dx = np.maximum(np.maximum(x0 - x, x - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - y, y - y1), 0.0)
    return np.flatnonzero(np.hypot(dx, dy) <= dist_m + g.spacing_m).tolist()
