"""Built-in scenarios, each one call (or one command) away.

A scenario module exposes ``build() -> Scenario``. The registry maps names to modules so that
importing this package stays cheap and each scenario lives in its own file; an entry
``"module:function"`` names another builder in the module (one module, several scenarios).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import UnknownIdError
from twin.network import Network

#: name -> (module under twin.scenarios, one-line description)
REGISTRY: dict[str, tuple[str, str]] = {
    "hotspot": ("hotspot", "dense-urban 19-site macro layout with a persistent traffic hotspot "
                "(the reference study)"),
    "calib-uma": ("calib3gpp:build_uma", "3GPP TR 36.873 phase-1 calibration layout, 3D-UMa: "
                  "19 sites x 3 sectors, ISD 500 m, 2 GHz, 46 dBm, uniform demand"),
    "calib-umi": ("calib3gpp:build_umi", "3GPP TR 36.873 phase-1 calibration layout, 3D-UMi: "
                  "19 sites x 3 sectors, ISD 200 m, 2 GHz, 41 dBm, uniform demand"),
    "milan": ("milan", "central Milan, 2 km around the Duomo: estimated sites, real traffic"),
}


@dataclass(frozen=True)
class Scenario:
    """A network with its demand and model parameters, ready to run.

    ``measurements`` and ``calibration`` are set when the demand was fitted to counters;
    ``traffic`` (a :class:`twin.traffic_map.TrafficMap`) and ``traffic_report`` (per cell:
    ``cell_id``, ``map_share``, the busy-hour share of its traffic that the map placed) when a
    traffic map shaped the demand.
    """

    name: str
    description: str
    network: Network
    demand: Demand
    config: RadioConfig = field(default_factory=RadioConfig)
    measurements: pd.DataFrame | None = None
    calibration: Any = None
    notes: tuple[str, ...] = ()
    traffic: Any = None
    traffic_report: pd.DataFrame | None = None

    def twin(self) -> Twin:
        return Twin(self.network, self.demand, self.config)


def available() -> list[str]:
    return list(REGISTRY)


@lru_cache(maxsize=8)
def load_scenario(name: str) -> Scenario:
    """Build (once per process) and return a built-in scenario by name."""
    key = str(name).strip().lower()
    if key not in REGISTRY:
        raise UnknownIdError(f"unknown scenario {name!r}; available: {', '.join(REGISTRY)}")
    module_name, _, func = REGISTRY[key][0].partition(":")
    module = importlib.import_module(f"twin.scenarios.{module_name}")
    return getattr(module, func or "build")()
