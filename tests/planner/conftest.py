"""A small planning case: 7 three-sector sites on a coarse grid with a traffic hotspot inside
sector S01-1 and four candidate small-cell locations (three near the hotspot, one far away).

One twin run takes a few milliseconds, so tests can afford exhaustive checks against
direct what-ifs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from actions.costs import CostCatalogue, load_costs
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.grid import Grid
from twin.network import Network
from twin.scenarios.layout import LTE_BAND3_MACRO, hex_sites, three_sector_network_tables

MACRO = LTE_BAND3_MACRO
HOTSPOT_XY_M = (90.0, 140.0)  # inside sector S01-1 (boresight 30 deg)
CANDIDATES = [("K1", 90.0, 140.0, 6.0), ("K2", 40.0, 90.0, 6.0), ("K3", 150.0, 110.0, 6.0),
              ("K4", -380.0, -300.0, 6.0)]


@dataclass(frozen=True)
class PlanCase:
    network: Network
    demand: Demand
    config: RadioConfig
    catalogue: CostCatalogue

    def twin(self) -> Twin:
        return Twin(self.network, self.demand, self.config)


def build_case(hot_mbps: float = 45.0, background_mbps_km2: float = 80.0) -> PlanCase:
    sites, cells = three_sector_network_tables(hex_sites(1, 400.0), MACRO)
    cand = pd.DataFrame(CANDIDATES, columns=["candidate_id", "x_m", "y_m", "height_m"])
    net = Network.from_tables(sites, cells, cand, name="plan7")
    grid = Grid.covering(-640.0, -640.0, 640.0, 640.0, 40.0)
    x, y = grid.xy()
    shape = np.exp(-0.5 * ((x - HOTSPOT_XY_M[0]) ** 2 + (y - HOTSPOT_XY_M[1]) ** 2) / 60.0**2)
    spatial = background_mbps_km2 * grid.bin_area_km2 + hot_mbps * shape / shape.sum()
    hourly = 0.4 + 0.6 * np.sin(np.linspace(0.0, np.pi, 24))
    return PlanCase(net, Demand.from_profile(grid, spatial, hourly), RadioConfig(), load_costs())


@pytest.fixture(scope="session")
def case() -> PlanCase:
    return build_case()
