"""Small shared fixtures for the twin tests: a 7-site (21-cell) hex network on a coarse grid.

Everything here is small enough that one run of the twin takes a few milliseconds; tests that
change the network or the demand build their own copies through the helpers below.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.grid import Grid
from twin.network import Network
from twin.scenarios.layout import LTE_BAND3_MACRO, hex_sites, three_sector_network_tables

ISD_M = 400.0
SPACING_M = 40.0
HALF_SIDE_M = 640.0

#: LTE band 3 macro, as in the hotspot scenario (20 MHz, 100 PRBs, TS 36.101 Table 5.6-1).
MACRO = LTE_BAND3_MACRO


@dataclass(frozen=True)
class SmallCase:
    network: Network
    demand: Demand
    config: RadioConfig

    def twin(self, network: Network | None = None, demand: Demand | None = None) -> Twin:
        return Twin(network or self.network, demand or self.demand, self.config)


def hex7_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites and cells of 7 three-sector sites (S01..S07, cells S01-1..S07-3), ISD 400 m."""
    return three_sector_network_tables(hex_sites(1, ISD_M), MACRO)


def small_grid() -> Grid:
    # 32 x 32 bins of 40 m around the centre site.
    return Grid.covering(-HALF_SIDE_M, -HALF_SIDE_M, HALF_SIDE_M, HALF_SIDE_M, SPACING_M)


def smooth_demand(grid: Grid, mean_mbps_km2: float, seed: int,
                  hourly: np.ndarray | None = None) -> Demand:
    """A smooth log-normal spatial field (mean ``mean_mbps_km2``) times an hourly factor."""
    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.standard_normal((grid.ny, grid.nx)), sigma=3.0)
    field = np.exp(0.5 * field / field.std()).ravel()
    spatial = field / field.mean() * mean_mbps_km2 * grid.bin_area_km2
    factor = np.ones(24) if hourly is None else np.asarray(hourly, dtype=float)
    return Demand.from_profile(grid, spatial, factor)


@pytest.fixture(scope="session")
def hex7() -> SmallCase:
    """7 sites x 3 sectors, 1024 bins, smooth demand loading cells to roughly 0.05-0.6 at the busy hour."""
    sites, cells = hex7_tables()
    net = Network.from_tables(sites, cells, name="hex7")
    grid = small_grid()
    hourly = 0.4 + 0.6 * np.sin(np.linspace(0.0, np.pi, 24))  # busy hour 11/12
    return SmallCase(net, smooth_demand(grid, 120.0, seed=7, hourly=hourly), RadioConfig())
