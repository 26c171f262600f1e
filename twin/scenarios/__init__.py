"""Built-in scenarios, each one call (or one command) away.

A scenario module exposes ``build() -> Scenario`` (and ``build_network() -> Network`` for the
sites and cells alone). The registry maps names to :class:`ScenarioEntry` values whose builders
import their module when called, so that importing this package stays cheap and each scenario
lives in its own file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import UnknownIdError
from twin.network import Network


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


def _hotspot() -> Scenario:
    from twin.scenarios import hotspot

    return hotspot.build()


def _hotspot_network() -> Network:
    from twin.scenarios import hotspot

    return hotspot.build_network()


def _calib(name: str) -> Scenario:
    from twin.scenarios import calib3gpp

    return calib3gpp.build(name)


def _calib_network(name: str) -> Network:
    from twin.scenarios import calib3gpp

    return calib3gpp.build_network(name)


def _milan() -> Scenario:
    from twin.scenarios import milan

    return milan.build()


def _milan_network() -> Network:
    from twin.scenarios import milan

    return milan.build_network()


@dataclass(frozen=True)
class ScenarioEntry:
    """One built-in scenario: its one-line description and its builders.

    ``build_network`` returns the sites and cells alone (policy case files and ``policy check``
    need no calibrated demand); it is much cheaper than ``build`` where the scenario fits
    counters.
    """

    description: str
    build: Callable[[], Scenario]
    build_network: Callable[[], Network]


REGISTRY: dict[str, ScenarioEntry] = {
    "hotspot": ScenarioEntry(
        "dense-urban 19-site macro layout with a persistent traffic hotspot (the reference study)",
        _hotspot, _hotspot_network),
    "calib-uma": ScenarioEntry(
        "3GPP TR 36.873 phase-1 calibration layout, 3D-UMa: 19 sites x 3 sectors, ISD 500 m, "
        "2 GHz, 46 dBm, uniform demand",
        lambda: _calib("calib-uma"), lambda: _calib_network("calib-uma")),
    "calib-umi": ScenarioEntry(
        "3GPP TR 36.873 phase-1 calibration layout, 3D-UMi: 19 sites x 3 sectors, ISD 200 m, "
        "2 GHz, 41 dBm, uniform demand",
        lambda: _calib("calib-umi"), lambda: _calib_network("calib-umi")),
    "milan": ScenarioEntry(
        "central Milan, 2 km around the Duomo: estimated sites, real traffic",
        _milan, _milan_network),
}


def scenario_entry(name: str) -> ScenarioEntry:
    """The registry entry of ``name`` (case and spaces ignored); UnknownIdError lists them."""
    key = str(name).strip().lower()
    if key not in REGISTRY:
        raise UnknownIdError(f"unknown scenario {name!r}; available: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def available() -> list[str]:
    return list(REGISTRY)


@lru_cache(maxsize=8)
def load_scenario(name: str) -> Scenario:
    """Build (once per process) and return a built-in scenario by name."""
    return scenario_entry(name).build()
