"""celltwin's digital twin: network tables, TR 38.901 physics, load-coupled PRB utilisation."""

from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin, run
from twin.errors import CelltwinError, UnknownIdError, ValidationError
from twin.grid import Grid
from twin.network import Network
from twin.state import State

__all__ = [
    "CelltwinError", "Demand", "Grid", "Network", "RadioConfig", "State", "Twin",
    "UnknownIdError", "ValidationError", "run",
]
