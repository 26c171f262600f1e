"""Synthetic layouts: hexagonal macro grids of 3-sector sites."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: The macro cell of the reference study and the generated networks: LTE band 3 (1.8 GHz,
#: 20 MHz, 100 PRBs per TS 36.101 Table 5.6-1), 46 dBm, 2 layers, 25 m, 17 dBi panel with a
#: 10 deg vertical beamwidth and 6 deg electrical tilt, TR 38.901 UMa.
LTE_BAND3_MACRO: dict[str, Any] = {
    "tx_power_dbm": 46.0, "fc_ghz": 1.8, "bandwidth_mhz": 20.0, "n_prb": 100, "scs_khz": 15.0,
    "mimo_layers": 2, "height_m": 25.0, "mech_tilt_deg": 0.0, "elec_tilt_deg": 6.0,
    "antenna": "macro3gpp", "antenna_gain_dbi": 17.0, "h_beamwidth_deg": 65.0,
    "v_beamwidth_deg": 10.0, "cio_db": 0.0, "scenario": "uma",
}

#: Boresights of a 3-sector site as in the 3GPP layouts (TR 36.814 / 38.901 7.8).
SECTOR_AZIMUTHS_DEG = (30.0, 150.0, 270.0)


def hex_sites(n_rings: int, isd_m: float) -> NDArray[np.float64]:
    """Site positions ``[n_site, 2]`` of a hexagonal grid: 1 centre site and ``n_rings`` rings
    (1, 7, 19, 37 ... sites), inter-site distance ``isd_m``, axial coordinates."""
    pts = []
    for q in range(-n_rings, n_rings + 1):
        for r in range(max(-n_rings, -q - n_rings), min(n_rings, -q + n_rings) + 1):
            # Neighbours at bearings 0, 60, ... 300 deg, so that the 3GPP boresights
            # (30, 150, 270) point between two neighbouring sites.
            x = isd_m * (np.sqrt(3.0) / 2.0) * r
            y = isd_m * (q + r / 2.0)
            pts.append((x, y))
    pts.sort(key=lambda p: (round(np.hypot(*p), 3), np.arctan2(p[1], p[0])))
    return np.array(pts, dtype=float)


def three_sector_network_tables(positions: NDArray[np.float64], cell_defaults: Mapping[str, Any],
                                site_prefix: str = "S") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites and cells tables for 3-sector sites at ``positions`` ``[n_site, 2]``.

    Site ids are ``S01``, ``S02``... and cell ids ``S01-1``..``S01-3`` (sector 1 at 30 deg).
    ``cell_defaults`` gives every other cell column (power, carrier, height, tilt...).
    """
    width = max(2, len(str(len(positions))))
    site_ids = [f"{site_prefix}{i + 1:0{width}d}" for i in range(len(positions))]
    sites = pd.DataFrame({"site_id": site_ids, "x_m": positions[:, 0], "y_m": positions[:, 1]})
    rows = []
    for sid in site_ids:
        for k, az in enumerate(SECTOR_AZIMUTHS_DEG, start=1):
            rows.append({"cell_id": f"{sid}-{k}", "site_id": sid, "azimuth_deg": az,
                         **cell_defaults})
    return sites, pd.DataFrame(rows)
