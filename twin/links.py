"""Link gains between cells and grid bins: antenna gain minus path loss (minus shadowing).

A cell's gains depend only on its geometry (position, height, pattern, tilt, azimuth,
frequency, scenario), not on power, CIO, bandwidth or layers; they are computed for the bins
within ``max_link_distance_m`` and cached by that geometry, so a what-if that changes one
cell recomputes one cell.
"""

from __future__ import annotations

import zlib
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.antenna import gain_dbi
from twin.config import RadioConfig
from twin.grid import Grid
from twin.propagation import SHADOWING_SIGMA_DB, expected_path_loss_db, path_loss_db
from twin.tables import GEOMETRY_COLUMNS


@dataclass(frozen=True)
class CellLinks:
    """The bins a cell reaches and the coupling gain to each (dB, excluding transmit power)."""

    bins: NDArray[np.int64]     # [n_link]
    gain_db: NDArray[np.float32]  # [n_link]


def geometry_key(row: pd.Series) -> tuple[Hashable, ...]:
    """What a cell's link gains depend on (with its site position)."""
    return (float(row["x_m"]), float(row["y_m"]), *(row[c] for c in GEOMETRY_COLUMNS))


def _site_shadow_field(grid: Grid, site_id: str, seed: int) -> NDArray[np.float64]:
    # One standard-normal field per site (shared by its sectors, as real shadowing is),
    # reproducible from the seed and the site id whatever order cells are computed in.
    rng = np.random.default_rng([seed, zlib.crc32(site_id.encode())])
    return rng.standard_normal(grid.n_bin)


def compute_cell_links(grid: Grid, cell: pd.Series, config: RadioConfig) -> CellLinks:
    """Link gains of one cell (a row of ``Network.cells_with_sites()``) to its nearby bins."""
    bins = grid.window(float(cell["x_m"]), float(cell["y_m"]), config.max_link_distance_m)
    dx = grid.x0_m + (bins % grid.nx) * grid.spacing_m - float(cell["x_m"])  # [n_link]
    dy = grid.y0_m + (bins // grid.nx) * grid.spacing_m - float(cell["y_m"])
    d2d = np.hypot(dx, dy)
    h_bs = float(cell["height_m"])
    h_ut = config.ue_height_m
    scenario = str(cell["scenario"])
    fc = float(cell["fc_ghz"])
    if config.los_model == "expected":
        pl = expected_path_loss_db(scenario, d2d, h_bs, h_ut, fc)
    else:
        pl = path_loss_db(scenario, d2d, h_bs, h_ut, fc, config.los_model == "los")
    if config.shadowing_seed is not None:
        sigma = SHADOWING_SIGMA_DB[scenario][0 if config.los_model == "los" else 1]
        pl = pl + sigma * _site_shadow_field(grid, str(cell["site_id"]),
                                             config.shadowing_seed)[bins]
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    zenith = 90.0 + np.degrees(np.arctan2(h_bs - h_ut, np.maximum(d2d, 1.0)))
    g = gain_dbi(str(cell["antenna"]), bearing, zenith, float(cell["azimuth_deg"]),
                 float(cell["mech_tilt_deg"]), float(cell["elec_tilt_deg"]),
                 float(cell["antenna_gain_dbi"]), float(cell["h_beamwidth_deg"]),
                 float(cell["v_beamwidth_deg"]))
    return CellLinks(bins=bins, gain_db=(g - pl).astype(np.float32))


class LinkCache:
    """Cell link gains by geometry key, shared by a twin and its what-ifs."""

    def __init__(self, grid: Grid, config: RadioConfig) -> None:
        self.grid = grid
        self.config = config
        self._store: dict[tuple[Hashable, ...], CellLinks] = {}
        self.computed = 0  # how many cells were computed (for tests and benchmarks)

    def get(self, cell: pd.Series) -> CellLinks:
        key = geometry_key(cell)
        hit = self._store.get(key)
        if hit is None:
            hit = compute_cell_links(self.grid, cell, self.config)
            self._store[key] = hit
            self.computed += 1
        return hit

    def __len__(self) -> int:
        return len(self._store)
