"""Link gains between cells and grid bins: antenna gain minus path loss (minus shadowing).

A cell's gains depend only on its geometry (position, height, pattern, tilt, azimuth,
frequency, scenario), not on power, CIO, bandwidth or layers; they are cached by that
geometry, so a what-if that changes one cell recomputes one cell.

The engine keeps two tiers per cell (see docs/model.md, "Far-field interference"):

* **exact links** to every bin within ``near_link_distance_m`` of the site;
* a **far field**: exact gains at the nodes of a coarse lattice (every ``k``-th bin in x and
  y, ``k ~ far_field_block_m / spacing``) within ``max_link_distance_m``. Beyond
  ``near_link_distance_m`` a cell's gain to a bin, used for interference only, is the bilinear
  interpolation (in linear power) of the gains at the four nodes around the bin; a node beyond
  ``max_link_distance_m`` counts as 0, so the 3 km cut-off fades out over one block.

The server of every bin is still chosen from exact gains: twin/far_field.py gives
exact links beyond ``near_link_distance_m`` for any cell that could win a bin there (rare:
only where bins are far from every site). With shadowing, or a lattice pitch under 2 bins,
every link within ``max_link_distance_m`` is exact (the far field is off).

Sectors of one mast (same position, height, carrier and scenario) share distance, path loss
(TR 38.901, twin/propagation.py) and angles, which are computed once per mast.
"""

from __future__ import annotations

import zlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.antenna import local_angles_deg, sector_gain_dbi
from twin.config import RadioConfig
from twin.grid import Grid
from twin.propagation import SHADOWING_SIGMA_DB, model_path_loss_db
from twin.tables import GEOMETRY_COLUMNS

#: Cell columns (of ``Network.cells_with_sites()``) the link gains read.
LINK_COLUMNS = ("x_m", "y_m", "site_id", "azimuth_deg", "mech_tilt_deg", "elec_tilt_deg",
                "fc_ghz", "height_m", "antenna", "antenna_gain_dbi", "h_beamwidth_deg",
                "v_beamwidth_deg", "scenario")


@dataclass(frozen=True)
class CellLinks:
    """The bins a cell reaches and the coupling gain to each (dB, excluding transmit power)."""

    bins: NDArray[np.int64]       # [n_link]
    gain_db: NDArray[np.float32]  # [n_link]


@dataclass(frozen=True)
class TieredLinks:
    """What the engine keeps of one cell: exact near links and the far-field lattice gains.

    Attributes:
        bins: ``[n_near]`` bins within ``near_link_distance_m`` (raster order).
        gain_db: ``[n_near]`` exact coupling gain to those bins (dB).
        far_lin: ``[n_near]`` the far-field interpolation at those bins (linear gain), which
            the engine subtracts so that near bins get the exact gain; None without a far field.
        nodes: ``[n_node]`` lattice nodes within ``max_link_distance_m`` (empty without far field).
        node_gain_db: ``[n_node]`` exact coupling gain at those nodes (dB).
    """

    bins: NDArray[np.int32]
    gain_db: NDArray[np.float32]
    far_lin: NDArray[np.float64] | None
    nodes: NDArray[np.int32]
    node_gain_db: NDArray[np.float32]


class FarField:
    """The coarse lattice of one grid: node ``(bx, by)`` sits on bin ``(bx k, by k)``.

    ``nodes`` is the lattice as a :class:`Grid` (pitch ``k * spacing``, one node column and row
    beyond the last bin, so that every bin has four nodes around it).
    """

    def __init__(self, grid: Grid, k: int, near_m: float, max_m: float) -> None:
        self.grid = grid
        self.k = k
        self.near_m = near_m
        self.max_m = max_m
        self.nodes = Grid(grid.x0_m, grid.y0_m, grid.spacing_m * k, (grid.nx - 1) // k + 2,
                          (grid.ny - 1) // k + 2)
        self._weights: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None \
            = None

    @classmethod
    def for_grid(cls, grid: Grid, config: RadioConfig) -> FarField | None:
        """The lattice the config asks for, or None when every link is exact."""
        if config.shadowing_seed is not None or config.far_field_block_m <= 0:
            return None
        k = round(config.far_field_block_m / grid.spacing_m)
        near = min(config.near_link_distance_m, config.max_link_distance_m)
        # The four nodes around every near bin must lie within max_link_distance_m.
        if k < 2 or near + 2.0 * k * grid.spacing_m > config.max_link_distance_m:
            return None
        return cls(grid, k, near, config.max_link_distance_m)

    @cached_property
    def bin_corner(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """For every bin: the node id at its south-west corner and the fractions ``fx, fy``
        of the way to the next node (each ``[n_bin]``)."""
        g = self.grid
        ix = np.arange(g.nx)
        iy = np.arange(g.ny)
        n00 = ((iy // self.k)[:, None] * self.nodes.nx + (ix // self.k)[None, :]).ravel()
        fx = np.tile((ix % self.k) / self.k, g.ny)
        fy = np.repeat((iy % self.k) / self.k, g.nx)
        return n00.astype(np.int64), fx, fy

    def weights(self, bins: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """South-west node ``[n]`` and bilinear weights ``[4, n]`` (nodes 00, 10, 01, 11) of
        ``bins``; the last set asked for is cached (twins of one grid share this lattice)."""
        hit = self._weights
        if hit is not None and hit[0].shape == bins.shape and np.array_equal(hit[0], bins):
            return hit[1], hit[2]
        n00, fx, fy = (a[bins] for a in self.bin_corner)
        w = np.stack([(1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy])
        self._weights = (bins.copy(), n00, w)
        return n00, w

    def interpolate(self, node_values: NDArray[np.float64], bins: NDArray[np.int64] | None = None
                    ) -> NDArray[np.float64]:
        """Bilinear interpolation of ``node_values`` ``[n_node]`` at ``bins`` (all bins if None)."""
        n00, fx, fy = self.bin_corner
        if bins is not None:
            n00, fx, fy = n00[bins], fx[bins], fy[bins]
        w = self.nodes.nx
        v = node_values
        return ((1.0 - fy) * ((1.0 - fx) * v[n00] + fx * v[n00 + 1])
                + fy * ((1.0 - fx) * v[n00 + w] + fx * v[n00 + w + 1]))

    def cell_bins(self, tl: TieredLinks) -> NDArray[np.int64]:
        """The bins whose block has a corner among the cell's lattice nodes ``tl.nodes``."""
        w = self.nodes.nx
        bx, by = tl.nodes % w, tl.nodes // w
        g = self.grid
        ix0 = max(0, (int(bx.min()) - 1) * self.k)
        ix1 = min(g.nx - 1, (int(bx.max()) + 1) * self.k)
        iy0 = max(0, (int(by.min()) - 1) * self.k)
        iy1 = min(g.ny - 1, (int(by.max()) + 1) * self.k)
        ix = np.arange(ix0, ix1 + 1)
        iy = np.arange(iy0, iy1 + 1)
        return (iy[:, None] * g.nx + ix[None, :]).ravel().astype(np.int64)

    def cell_gain_lin(self, tl: TieredLinks, bins: NDArray[np.int64]) -> NDArray[np.float64]:
        """One cell's far-field gain (linear) at ``bins``: its node gains interpolated."""
        dense = np.zeros(self.nodes.n_bin)
        dense[tl.nodes] = db_to_lin(tl.node_gain_db)
        return self.interpolate(dense, bins)


LN10_10 = np.log(10.0) / 10.0


def db_to_lin(x_db: NDArray[Any]) -> NDArray[np.float64]:
    """``10 ** (x / 10)`` in float64 (as ``exp``, the one form used for every link)."""
    return np.exp(np.asarray(x_db, dtype=np.float64) * LN10_10)


def geometry_key(row: pd.Series | dict[str, Any]) -> tuple[Hashable, ...]:
    """What a cell's link gains depend on (with its site position)."""
    return (float(row["x_m"]), float(row["y_m"]), *(row[c] for c in GEOMETRY_COLUMNS))


def _antenna_gain_dbi(cell: dict[str, Any], bearing: NDArray[np.float64],
                      zenith: NDArray[np.float64]) -> NDArray[np.float64] | float:
    if cell["antenna"] == "omni":
        return float(cell["antenna_gain_dbi"])
    mech = float(cell["mech_tilt_deg"])
    if mech == 0.0:
        # Without mechanical tilt the local frame is the global one rotated by the azimuth
        # (TR 38.901 eq. 7.1-7/7.1-8 with beta = 0): theta' = theta, phi' = bearing - azimuth.
        theta = zenith
        phi = (bearing - float(cell["azimuth_deg"]) + 180.0) % 360.0 - 180.0
    else:
        theta, phi = local_angles_deg(bearing, zenith, float(cell["azimuth_deg"]), mech)
    return sector_gain_dbi(theta, phi, float(cell["elec_tilt_deg"]),
                           float(cell["antenna_gain_dbi"]), float(cell["h_beamwidth_deg"]),
                           float(cell["v_beamwidth_deg"]))


def _site_shadow_field(grid: Grid, site_id: str, seed: int) -> NDArray[np.float64]:
    # One standard-normal field per site (shared by its sectors, as real shadowing is),
    # reproducible from the seed and the site id whatever order cells are computed in.
    rng = np.random.default_rng([seed, zlib.crc32(site_id.encode())])
    return rng.standard_normal(grid.n_bin)


def _mast_gains(grid: Grid, cells: Sequence[dict[str, Any]], config: RadioConfig,
                points: Sequence[tuple[Grid, NDArray[np.int64], bool]]
                ) -> list[list[NDArray[np.float32]]]:
    """Gains (dB) of the co-located ``cells`` (one mast) to the given point sets.

    ``points`` holds ``(grid, ids, shadowed)`` per set; returns ``out[set][cell]``.
    """
    c0 = cells[0]
    x, y = float(c0["x_m"]), float(c0["y_m"])
    h_bs, h_ut = float(c0["height_m"]), config.ue_height_m
    scenario, fc = str(c0["scenario"]), float(c0["fc_ghz"])
    dxs, dys = [], []
    for g, ids, _ in points:
        dxs.append(g.x0_m + (ids % g.nx) * g.spacing_m - x)
        dys.append(g.y0_m + (ids // g.nx) * g.spacing_m - y)
    dx = np.concatenate(dxs)
    dy = np.concatenate(dys)
    d2d = np.hypot(dx, dy)
    pl = model_path_loss_db(scenario, d2d, h_bs, h_ut, fc, config.los_model)
    sizes = [ids.size for _, ids, _ in points]
    if config.shadowing_seed is not None:
        sigma = SHADOWING_SIGMA_DB[scenario][0 if config.los_model == "los" else 1]
        field = _site_shadow_field(grid, str(c0["site_id"]), config.shadowing_seed)
        start = 0
        for (_, ids, shadowed), n in zip(points, sizes, strict=True):
            if shadowed:
                pl[start:start + n] += sigma * field[ids]
            start += n
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    zenith = 90.0 + np.degrees(np.arctan2(h_bs - h_ut, np.maximum(d2d, 1.0)))
    cuts = np.cumsum(sizes)[:-1]
    out: list[list[NDArray[np.float32]]] = [[] for _ in points]
    for cell in cells:
        g = (_antenna_gain_dbi(cell, bearing, zenith) - pl).astype(np.float32)
        for k, part in enumerate(np.split(g, cuts)):
            out[k].append(part)
    return out


class _FarGeometry:
    """Where one mast's near bins sit among its lattice nodes (shared by its sectors)."""

    def __init__(self, far: FarField, bins: NDArray[np.int64], nodes: NDArray[np.int64]) -> None:
        w = far.nodes.nx
        bx, by = nodes % w, nodes // w
        bx0, by0 = int(bx.min()), int(by.min())
        self.lw = int(bx.max()) - bx0 + 2
        self.size = (int(by.max()) - by0 + 2) * self.lw
        self.node_pos = (by - by0) * self.lw + (bx - bx0)
        n00, fx, fy = far.bin_corner
        g00 = n00[bins]
        lx = g00 % w - bx0
        ly = g00 // w - by0
        lh = self.size // self.lw
        self.inside = (lx >= 0) & (ly >= 0) & (lx < self.lw - 1) & (ly < lh - 1)
        self.pos = np.clip(ly, 0, lh - 2) * self.lw + np.clip(lx, 0, self.lw - 2)
        self.fx, self.fy = fx[bins], fy[bins]

    def far_at_bins(self, node_gain_db: NDArray[np.float32]) -> NDArray[np.float64]:
        """Bilinear interpolation (linear gain) of one cell's node gains at the near bins;
        nodes the cell does not reach count as 0."""
        local = np.zeros(self.size)
        local[self.node_pos] = db_to_lin(node_gain_db)
        p, fx, fy, lw = self.pos, self.fx, self.fy, self.lw
        val = ((1.0 - fy) * ((1.0 - fx) * local[p] + fx * local[p + 1])
               + fy * ((1.0 - fx) * local[p + lw] + fx * local[p + lw + 1]))
        return np.where(self.inside, val, 0.0)


def compute_mast_links(grid: Grid, cells: Sequence[dict[str, Any]], config: RadioConfig,
                       far: FarField | None) -> list[TieredLinks]:
    """Tiered links of co-located cells (same position, height, carrier, scenario)."""
    c0 = cells[0]
    x, y = float(c0["x_m"]), float(c0["y_m"])
    near_m = far.near_m if far is not None else config.max_link_distance_m
    bins = grid.window(x, y, near_m)
    sets: list[tuple[Grid, NDArray[np.int64], bool]] = [(grid, bins, True)]
    nodes = np.empty(0, dtype=np.int64)
    if far is not None:
        nodes = far.nodes.window(x, y, far.max_m)
        sets.append((far.nodes, nodes, False))
    gains = _mast_gains(grid, cells, config, sets)
    geo = _FarGeometry(far, bins, nodes) if far is not None and nodes.size else None
    out = []
    for i in range(len(cells)):
        node_gain = gains[1][i] if far is not None else np.empty(0, dtype=np.float32)
        far_lin = None
        if far is not None:
            far_lin = geo.far_at_bins(node_gain) if geo is not None else np.zeros(bins.size)
        out.append(TieredLinks(bins.astype(np.int32), gains[0][i], far_lin,
                               nodes.astype(np.int32), node_gain))
    return out


def compute_outer_links(grid: Grid, cell: dict[str, Any], config: RadioConfig,
                        far: FarField, bins: NDArray[np.int64]) -> CellLinks:
    """Exact links of one cell to those of ``bins`` that lie beyond ``near_link_distance_m``
    and within ``max_link_distance_m`` (where the cell could serve a bin far from its mast)."""
    x, y = float(cell["x_m"]), float(cell["y_m"])
    # The same distance test as Grid.window, so that near and outer zones never overlap.
    dx = grid.x0_m + (bins % grid.nx) * grid.spacing_m - x
    dy = grid.y0_m + (bins // grid.nx) * grid.spacing_m - y
    d2 = dy**2 + dx**2
    keep = np.sort(bins[(d2 <= far.max_m**2) & (d2 > far.near_m**2)])
    gain = _mast_gains(grid, [cell], config, [(grid, keep, True)])[0][0]
    return CellLinks(bins=keep, gain_db=gain)


def compute_cell_links(grid: Grid, cell: pd.Series | dict[str, Any], config: RadioConfig
                       ) -> CellLinks:
    """Exact link gains of one cell (a row of ``Network.cells_with_sites()``) to every bin
    within ``max_link_distance_m``."""
    row = {c: cell[c] for c in LINK_COLUMNS}
    bins = grid.window(float(row["x_m"]), float(row["y_m"]), config.max_link_distance_m)
    gain = _mast_gains(grid, [row], config, [(grid, bins, True)])[0][0]
    return CellLinks(bins=bins, gain_db=gain)


def _mast_key(key: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    # Position, height, carrier and scenario: what distance, path loss and angles depend on.
    i = {c: 2 + n for n, c in enumerate(GEOMETRY_COLUMNS)}
    return (key[0], key[1], key[i["height_m"]], key[i["fc_ghz"]], key[i["scenario"]],
            key[i["site_id"]])


class LinkCache:
    """Cell link gains by geometry key, shared by a twin and its what-ifs."""

    def __init__(self, grid: Grid, config: RadioConfig) -> None:
        self.grid = grid
        self.config = config
        self.far = FarField.for_grid(grid, config)
        self._tiered: dict[tuple[Hashable, ...], TieredLinks] = {}
        self._outer: dict[tuple[Hashable, ...], CellLinks] = {}  # few: see twin/far_field.py
        self._exact: dict[tuple[Hashable, ...], CellLinks] = {}
        self.computed = 0  # cells whose tiered links were computed (for tests and benchmarks)

    def tiered(self, cells: pd.DataFrame | list[dict[str, Any]]) -> list[TieredLinks]:
        """Tiered links of every row of ``cells`` (``Network.cells_with_sites()`` rows, or
        their :func:`link_records`), computing the missing ones mast by mast."""
        records = link_records(cells) if isinstance(cells, pd.DataFrame) else cells
        keys = [geometry_key(r) for r in records]
        missing: dict[tuple[Hashable, ...], list[int]] = {}
        for i, k in enumerate(keys):
            if k not in self._tiered:
                missing.setdefault(_mast_key(k), []).append(i)
        for idx in missing.values():
            todo: dict[tuple[Hashable, ...], int] = {}
            for i in idx:
                todo.setdefault(keys[i], i)  # identical cells are computed once
            got = compute_mast_links(self.grid, [records[i] for i in todo.values()],
                                     self.config, self.far)
            for k, links in zip(todo, got, strict=True):
                self._tiered[k] = links
            self.computed += len(todo)
        return [self._tiered[k] for k in keys]

    def outer(self, cell: dict[str, Any], bins: NDArray[np.int64], tag: Hashable) -> CellLinks:
        """Exact links beyond ``near_link_distance_m`` to some of ``bins`` (far field only);
        ``tag`` names the bin set (the engine's tile id) in the cache key."""
        assert self.far is not None
        key = (*geometry_key(cell), tag)
        hit = self._outer.get(key)
        if hit is None:
            hit = compute_outer_links(self.grid, cell, self.config, self.far,
                                      np.asarray(bins, dtype=np.int64))
            self._outer[key] = hit
        return hit

    def get(self, cell: pd.Series | dict[str, Any]) -> CellLinks:
        """Exact gains of one cell to every bin within ``max_link_distance_m`` (diagnostics and
        tests; the engine itself uses :meth:`tiered`)."""
        key = geometry_key(cell)
        hit = self._exact.get(key)
        if hit is None:
            hit = compute_cell_links(self.grid, cell, self.config)
            self._exact[key] = hit
        return hit

    def __len__(self) -> int:
        return len(self._tiered)


def link_records(cells: pd.DataFrame) -> list[dict[str, Any]]:
    """The :data:`LINK_COLUMNS` of each row as a plain dict (fast to read per cell)."""
    cols = {c: cells[c].tolist() for c in LINK_COLUMNS}
    return [{c: cols[c][i] for c in LINK_COLUMNS} for i in range(len(cells))]
