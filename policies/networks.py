"""The network of a built-in scenario by name, cheaply: case files and ``celltwin policy
check`` need sites, cells and candidates only, not the calibrated demand, so a scenario
module's ``build_network`` is used when it has one."""

from __future__ import annotations

import importlib
import inspect
from functools import lru_cache

from twin.errors import UnknownIdError
from twin.network import Network
from twin.scenarios import REGISTRY, load_scenario


@lru_cache(maxsize=8)
def scenario_network(name: str) -> Network:
    """The network of built-in scenario ``name`` (raises UnknownIdError listing them)."""
    key = str(name).strip().lower()
    if key not in REGISTRY:
        raise UnknownIdError(f"unknown scenario {name!r}; available: {', '.join(REGISTRY)}")
    module = importlib.import_module(f"twin.scenarios.{REGISTRY[key][0].partition(':')[0]}")
    build = getattr(module, "build_network", None)
    if build is None:
        return load_scenario(key).network
    return build(key) if inspect.signature(build).parameters else build()
