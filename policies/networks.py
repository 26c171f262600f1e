"""The network of a built-in scenario by name, cheaply: case files and ``celltwin policy
check`` need sites, cells and candidates only, not the calibrated demand."""

from __future__ import annotations

from functools import lru_cache

from twin.network import Network
from twin.scenarios import scenario_entry


@lru_cache(maxsize=8)
def scenario_network(name: str) -> Network:
    """The network of built-in scenario ``name`` (raises UnknownIdError listing them)."""
    return scenario_entry(name).build_network()
