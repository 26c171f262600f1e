"""The per-cell numbers the engine reads, as arrays in the network's cell order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.errors import ValidationError


@dataclass(frozen=True, eq=False)
class CellArrays:
    """``[n_cell]`` arrays of a network's cells (built once per twin).

    ``rs_db`` converts received power over the channel to RSRP (per resource element):
    ``RSRP = rx - rs_db``.
    """

    n_prb: NDArray[np.float64]
    prb_bw_hz: NDArray[np.float64]
    layers: NDArray[np.float64]
    bw_hz: NDArray[np.float64]
    tx_dbm: NDArray[np.float64]
    cio_db: NDArray[np.float64]
    rs_db: NDArray[np.float64]

    @classmethod
    def from_cells(cls, cells: pd.DataFrame) -> CellArrays:
        """The arrays of ``Network.cells``; raises ValidationError when a cell's PRBs do not
        fit its bandwidth."""
        n_prb = cells["n_prb"].to_numpy(dtype=float)
        prb_bw_hz = 12.0 * cells["scs_khz"].to_numpy(dtype=float) * 1e3
        bw_hz = cells["bandwidth_mhz"].to_numpy(dtype=float) * 1e6
        if np.any(n_prb * prb_bw_hz > bw_hz * 1.0001):
            i = int(np.argmax(n_prb * prb_bw_hz > bw_hz * 1.0001))
            raise ValidationError("cells", "n_prb x 12 x scs_khz exceeds bandwidth_mhz; check the "
                                  "PRB table (TS 36.101 / 38.101)", cells["cell_id"].iloc[i],
                                  "n_prb")
        return cls(n_prb=n_prb, prb_bw_hz=prb_bw_hz,
                   layers=cells["mimo_layers"].to_numpy(dtype=float), bw_hz=bw_hz,
                   tx_dbm=cells["tx_power_dbm"].to_numpy(dtype=float),
                   cio_db=cells["cio_db"].to_numpy(dtype=float),
                   rs_db=10.0 * np.log10(12.0 * n_prb))
