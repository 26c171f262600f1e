"""The far-field safeguard: which cells need exact links beyond their near zone.

Beyond ``near_link_distance_m`` a cell's gain is kept on the far-field lattice only
(twin/links.py), which is enough for interference but not for choosing servers. A cell that
could win a bin out there gets exact links to it: the grid is cut into tiles of
:data:`TILE_BINS` x :data:`TILE_BINS` bins; per tile, an upper bound of every cell's RSRP + CIO
(path loss at the tile's nearest point, the pattern's least attenuation over the tile) is
compared with the worst best-server score so far, and the cells whose bound reaches it are
*promoted* there (docs/model.md, "Far-field interference").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.cell_arrays import CellArrays
from twin.config import RadioConfig
from twin.grid import Grid
from twin.links import CellLinks, LinkCache
from twin.propagation import model_path_loss_db

#: Side of the tiles (bins) on which the server bound of the far-field check is kept.
TILE_BINS = 16
#: Candidates computed per round when a tile's server bound is raised (see
#: FarFieldSafeguard.promote).
PROMOTE_BATCH = 3


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


# --- tiles ---------------------------------------------------------------------------------
def tile_shape(grid: Grid) -> tuple[int, int]:
    """``(n_tile_y, n_tile_x)``: tiles of :data:`TILE_BINS` bins covering ``grid``."""
    return -(-grid.ny // TILE_BINS), -(-grid.nx // TILE_BINS)


def tile_min(grid: Grid, best_near: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[n_tile_y, n_tile_x]`` the least of ``best_near`` ``[n_bin]`` over each tile."""
    t = TILE_BINS
    ty, tx = -(-grid.ny // t), -(-grid.nx // t)
    pad = np.full((ty * t, tx * t), np.inf)
    pad[:grid.ny, :grid.nx] = best_near.reshape(grid.ny, grid.nx)
    return pad.reshape(ty, t, tx, t).min(axis=(1, 3))


def tile_bins(grid: Grid, tiles: NDArray[np.int64]) -> NDArray[np.int64]:
    """All bins of the given tiles (ids ``ty * n_tile_x + tx``), sorted."""
    t = TILE_BINS
    n_tx = -(-grid.nx // t)
    ty, tx = tiles // n_tx, tiles % n_tx
    off = np.arange(t)
    ix = tx[:, None] * t + off[None, :]  # [n_tile, t]
    iy = ty[:, None] * t + off[None, :]
    ids = iy[:, :, None] * grid.nx + ix[:, None, :]  # [n_tile, t, t]
    ok = (ix < grid.nx)[:, None, :] & (iy < grid.ny)[:, :, None]
    return np.sort(ids[ok].astype(np.int64))


def bin_tiles(grid: Grid, bins: NDArray[np.int64]) -> NDArray[np.int64]:
    """The tiles (sorted, unique) that hold ``bins``."""
    t = TILE_BINS
    n_tx = -(-grid.nx // t)
    return np.unique((bins // grid.nx) // t * n_tx + (bins % grid.nx) // t)


# --- promotion -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FarFieldSafeguard:
    """The promotion check of one twin's cells.

    ``arrays`` and ``recs`` (link records, :func:`twin.links.link_records`) are those of the
    twin's cells, in its cell order; ``cache`` computes (and keeps) the exact outer links.
    """

    grid: Grid
    config: RadioConfig
    cache: LinkCache
    arrays: CellArrays
    recs: list[dict[str, Any]]

    def candidates(self, rows: pd.DataFrame, lb: NDArray[np.float64],
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
        g = self.grid
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
        offset = (self.arrays.tx_dbm - self.arrays.rs_db + self.arrays.cio_db)[idx]
        keys = list(zip(scen.tolist(), h.tolist(), fc.tolist(), strict=True))
        key_id = {k: n for n, k in enumerate(dict.fromkeys(keys))}
        kid = np.array([key_id[k] for k in keys])
        pl_near = np.array([float(model_path_loss_db(k[0], np.array([far.near_m]), k[1],
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
                    pl[m] = model_path_loss_db(k[0], d_eff[m], k[1], cfg.ue_height_m, k[2],
                                               cfg.los_model)
            ub = offset[ci] + gain - pl + 1e-6
            hit = ub >= lbv
            out_c.append(idx[ci[hit]])
            out_t.append(tile[hit].astype(np.int64))
            out_u.append(ub[hit])
        if not out_c:
            return empty
        return (np.concatenate(out_c), np.concatenate(out_t), np.concatenate(out_u))

    def promote(self, rows: pd.DataFrame, best_near: NDArray[np.float64],
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
        lb0 = tile_min(self.grid, best_near)
        tile_lb = lb0.ravel().copy()
        by_tile: dict[int, list[int]] = {}
        pieces: dict[tuple[int, int], CellLinks] = {}
        if self.cache.far is None:
            return by_tile, tile_lb, pieces
        cand_c, cand_t, cand_u = self.candidates(rows, lb0, tile_ok, cells)
        if cand_c.size == 0:
            return by_tile, tile_lb, pieces
        order = np.lexsort((-cand_u, cand_t))  # by tile, then bound, highest first
        cand_c, cand_t, cand_u = cand_c[order], cand_t[order], cand_u[order]
        starts = np.flatnonzero(np.r_[True, cand_t[1:] != cand_t[:-1]])
        ends = np.r_[starts[1:], cand_t.size]
        tx, rs, cio = self.arrays.tx_dbm, self.arrays.rs_db, self.arrays.cio_db
        for s0, s1 in zip(starts.tolist(), ends.tolist(), strict=True):
            tile = int(cand_t[s0])
            cs, us = cand_c[s0:s1], cand_u[s0:s1]
            bins_t = tile_bins(self.grid, np.array([tile]))
            best_t = best_near[bins_t].copy()
            lb = float(best_t.min())
            done = np.zeros(cs.size, dtype=bool)
            while True:
                todo = np.flatnonzero(~done & (us >= lb))
                if todo.size == 0:
                    break
                for i in todo[:PROMOTE_BATCH].tolist():
                    j = int(cs[i])
                    piece = self.cache.outer(self.recs[j], bins_t, tile)
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

    def outer_links(self, by_tile: dict[int, list[int]],
                    pieces: dict[tuple[int, int], CellLinks],
                    base_promoted: dict[int, NDArray[np.int64]] | None = None,
                    base_outer: dict[int, CellLinks] | None = None,
                    changed: NDArray[np.bool_] | None = None
                    ) -> tuple[dict[int, NDArray[np.int64]], dict[int, CellLinks]]:
        """Promoted tiles and the exact outer links per cell, from the tiles' promotions
        (``pieces``: outer links already computed, by (cell, tile)); an unchanged cell
        promoted in the same tiles as in a base assembly (``base_promoted``, ``base_outer``)
        keeps its links."""
        tiles_of: dict[int, list[int]] = {}
        for tile, cs in by_tile.items():
            for j in cs:
                tiles_of.setdefault(j, []).append(tile)
        promoted: dict[int, NDArray[np.int64]] = {}
        outer: dict[int, CellLinks] = {}
        for j in sorted(tiles_of):
            tiles = np.sort(np.array(tiles_of[j], dtype=np.int64))
            promoted[j] = tiles
            if base_promoted is not None and base_outer is not None and changed is not None \
                    and not changed[j] and j in base_promoted \
                    and np.array_equal(base_promoted[j], tiles):
                outer[j] = base_outer[j]
                continue
            got = []
            for tile in tiles.tolist():
                p = pieces.get((j, tile))
                if p is None:
                    p = self.cache.outer(self.recs[j], tile_bins(self.grid, np.array([tile])),
                                         tile)
                got.append(p)
            outer[j] = CellLinks(bins=np.concatenate([p.bins for p in got]),
                                 gain_db=np.concatenate([p.gain_db for p in got]))
        return promoted, outer
