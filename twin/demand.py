"""Offered downlink traffic per grid bin and hour (Mbit/s)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from twin.errors import ValidationError
from twin.grid import Grid

HOURS = 24


@dataclass(frozen=True)
class Demand:
    """``mbps[h, b]``: mean offered DL traffic in bin ``b`` during hour ``h`` (``[24, n_bin]``)."""

    grid: Grid
    mbps: NDArray[np.float64]

    def __post_init__(self) -> None:
        m = np.asarray(self.mbps, dtype=float)
        if m.ndim != 2 or m.shape != (HOURS, self.grid.n_bin):
            raise ValidationError("demand", f"expected shape ({HOURS}, {self.grid.n_bin}) "
                                  f"[hour, bin], got {m.shape}")
        if not np.isfinite(m).all():
            h, b = np.argwhere(~np.isfinite(m))[0]
            raise ValidationError("demand", "non-finite traffic value", f"hour {h}, bin {b}")
        if (m < 0).any():
            h, b = np.argwhere(m < 0)[0]
            raise ValidationError("demand", f"negative traffic {m[h, b]:g} Mbit/s",
                                  f"hour {h}, bin {b}")
        m.setflags(write=False)
        object.__setattr__(self, "mbps", m)

    @classmethod
    def from_profile(cls, grid: Grid, spatial_mbps: NDArray[np.float64],
                     hourly_factor: NDArray[np.float64]) -> Demand:
        """Demand = busy-hour map ``[n_bin]`` x hourly factor ``[24]`` (factor 1 = busy hour)."""
        spatial = np.asarray(spatial_mbps, dtype=float)
        factor = np.asarray(hourly_factor, dtype=float)
        if factor.shape != (HOURS,):
            raise ValidationError("demand", f"hourly factor must have 24 values, got {factor.shape}")
        return cls(grid, factor[:, None] * spatial[None, :])

    def at(self, hour: int) -> NDArray[np.float64]:
        """The map of one hour, ``[n_bin]``."""
        check_hour(hour)
        return self.mbps[hour]

    @property
    def busy_hour(self) -> int:
        """Hour with the largest total offered traffic."""
        return int(np.argmax(self.mbps.sum(axis=1)))

    def total_mbps(self) -> NDArray[np.float64]:
        """Total offered traffic per hour, ``[24]``."""
        return self.mbps.sum(axis=1)

    def scaled(self, factor_per_bin: NDArray[np.float64]) -> Demand:
        """The same demand with every hour multiplied per bin by ``factor_per_bin`` ``[n_bin]``."""
        return Demand(self.grid, self.mbps * np.asarray(factor_per_bin, dtype=float)[None, :])


def check_hour(hour: int) -> int:
    if isinstance(hour, bool) or not isinstance(hour, (int, np.integer)) or not 0 <= hour < HOURS:
        raise ValidationError("hour", f"hour must be an integer 0..23, got {hour!r}")
    return int(hour)
