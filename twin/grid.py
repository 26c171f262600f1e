"""The study area: a regular metric grid of square bins (the unit of demand and results)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from twin.errors import ValidationError


@dataclass(frozen=True)
class Grid:
    """``nx`` x ``ny`` square bins of ``spacing_m``; bin ``k`` sits at column ``k % nx``, row
    ``k // nx``; ``x0_m``/``y0_m`` is the centre of bin 0 (south-west corner)."""

    x0_m: float
    y0_m: float
    spacing_m: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if not (np.isfinite(self.x0_m) and np.isfinite(self.y0_m)):
            raise ValidationError("grid", "origin must be finite")
        if not (self.spacing_m > 0 and np.isfinite(self.spacing_m)):
            raise ValidationError("grid", f"spacing_m must be > 0, got {self.spacing_m}")
        if self.nx < 1 or self.ny < 1:
            raise ValidationError("grid", f"nx and ny must be >= 1, got {self.nx} x {self.ny}")

    @classmethod
    def covering(cls, x_min: float, y_min: float, x_max: float, y_max: float,
                 spacing_m: float) -> Grid:
        """The smallest grid of ``spacing_m`` bins covering the rectangle."""
        nx = max(1, int(np.ceil((x_max - x_min) / spacing_m)))
        ny = max(1, int(np.ceil((y_max - y_min) / spacing_m)))
        return cls(x_min + spacing_m / 2, y_min + spacing_m / 2, spacing_m, nx, ny)

    @property
    def n_bin(self) -> int:
        return self.nx * self.ny

    @property
    def bin_area_km2(self) -> float:
        return (self.spacing_m / 1000.0) ** 2

    def xy(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Bin centres, each ``[n_bin]``."""
        ix = np.arange(self.nx, dtype=float)
        iy = np.arange(self.ny, dtype=float)
        x = np.tile(self.x0_m + ix * self.spacing_m, self.ny)
        y = np.repeat(self.y0_m + iy * self.spacing_m, self.nx)
        return x, y

    def window(self, x_m: float, y_m: float, radius_m: float) -> NDArray[np.int64]:
        """Ids of the bins whose centre lies within ``radius_m`` of a point."""
        ix0 = max(0, int(np.floor((x_m - radius_m - self.x0_m) / self.spacing_m)))
        ix1 = min(self.nx - 1, int(np.ceil((x_m + radius_m - self.x0_m) / self.spacing_m)))
        iy0 = max(0, int(np.floor((y_m - radius_m - self.y0_m) / self.spacing_m)))
        iy1 = min(self.ny - 1, int(np.ceil((y_m + radius_m - self.y0_m) / self.spacing_m)))
        if ix1 < ix0 or iy1 < iy0:
            return np.empty(0, dtype=np.int64)
        ix = np.arange(ix0, ix1 + 1)
        iy = np.arange(iy0, iy1 + 1)
        dx = self.x0_m + ix * self.spacing_m - x_m  # [nwx]
        dy = self.y0_m + iy * self.spacing_m - y_m  # [nwy]
        inside = dy[:, None] ** 2 + dx[None, :] ** 2 <= radius_m**2  # [nwy, nwx]
        ids = iy[:, None] * self.nx + ix[None, :]
        return ids[inside].astype(np.int64)

    def bin_of(self, x_m: float, y_m: float) -> int:
        """Id of the bin containing a point; raises if the point is outside the grid."""
        ix = int(np.floor((x_m - self.x0_m) / self.spacing_m + 0.5))
        iy = int(np.floor((y_m - self.y0_m) / self.spacing_m + 0.5))
        if not (0 <= ix < self.nx and 0 <= iy < self.ny):
            raise ValidationError("grid", f"point ({x_m:.0f}, {y_m:.0f}) m is outside the study area")
        return iy * self.nx + ix
