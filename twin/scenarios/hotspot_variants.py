"""Generated variants of ``hotspot`` (for benchmarks): other hotspot positions and other random
background fields, built and calibrated exactly as the reference scenario.

``build_variant(seed)`` keeps the 19-site layout, the carrier and the model of
:mod:`twin.scenarios.hotspot`, and draws from ``seed``:

* the hotspot's position: in a random sector of one of the 7 inner sites, 110-200 m out along
  the boresight (+-15 deg), so that one sector carries it as S01-1 does in the reference;
* the smooth background field (same statistics, another seed);
* the six near-hotspot candidate locations, at the reference's offsets from the hotspot (the
  four far ones stay where they are).

The synthetic per-cell counters are produced in memory as
:func:`twin.scenarios.hotspot.write_measurements` does (hotspot traffic bisected so that the
busiest cell's noiseless busy-hour utilisation is 0.93, Gaussian counter noise), and the
scenario's demand is the prior fitted to them by :func:`twin.calibration.calibrate_demand`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

from twin.calibration import calibrate_demand
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import ValidationError
from twin.grid import Grid
from twin.measurements import PRB_AVAIL, PRB_USED, validate_measurements
from twin.network import Network
from twin.scenarios import Scenario
from twin.scenarios.diurnal import hourly_profile, mean_profile
from twin.scenarios.hotspot import (
    BACKGROUND_MBPS_KM2,
    CANDIDATES,
    FIELD_SIGMA,
    HOTSPOT_SIGMA_M,
    HOTSPOT_XY_M,
    ISD_M,
    MACRO,
    NOISE_SIGMA,
    SEED,
    SPACING_M,
    TARGET_PEAK,
    build_grid,
    study_area_taper,
)
from twin.scenarios.layout import SECTOR_AZIMUTHS_DEG, hex_sites, three_sector_network_tables

BISECTION_STEPS = 24
N_NEAR_CANDIDATES = 6


def hotspot_position(seed: int) -> tuple[float, float]:
    """Where variant ``seed`` puts its hotspot (metres, local frame)."""
    rng = np.random.default_rng([SEED, int(seed)])
    sites = hex_sites(2, ISD_M)[:7]
    site = sites[int(rng.integers(len(sites)))]
    az = SECTOR_AZIMUTHS_DEG[int(rng.integers(3))] + float(rng.uniform(-15.0, 15.0))
    dist = float(rng.uniform(110.0, 200.0))
    rad = np.radians(az)
    return float(site[0] + dist * np.sin(rad)), float(site[1] + dist * np.cos(rad))


def variant_network(seed: int) -> Network:
    """The reference layout with the near-hotspot candidates moved with the hotspot."""
    x, y = hotspot_position(seed)
    dx, dy = x - HOTSPOT_XY_M[0], y - HOTSPOT_XY_M[1]
    rows = []
    for k, (cid, cx, cy, h, name) in enumerate(CANDIDATES):
        if k < N_NEAR_CANDIDATES:
            cx, cy = cx + dx, cy + dy
        rows.append((cid, cx, cy, h, name))
    sites, cells = three_sector_network_tables(hex_sites(2, ISD_M), MACRO)
    cand = pd.DataFrame(rows, columns=["candidate_id", "x_m", "y_m", "height_m", "name"])
    return Network.from_tables(sites, cells, cand, name=f"hotspot-v{seed}")


def _shape(grid: Grid, xy: tuple[float, float]) -> NDArray[np.float64]:
    x, y = grid.xy()
    return np.exp(-0.5 * ((x - xy[0]) ** 2 + (y - xy[1]) ** 2) / HOTSPOT_SIGMA_M**2)


def _truth(grid: Grid, xy: tuple[float, float], seed: int, hotspot_mbps: float) -> Demand:
    rng = np.random.default_rng([SEED, int(seed), 1])
    field = gaussian_filter(rng.standard_normal((grid.ny, grid.nx)), sigma=150.0 / SPACING_M)
    field = np.exp(FIELD_SIGMA * field.ravel() / field.std())
    background = (BACKGROUND_MBPS_KM2 * grid.bin_area_km2 * field / field.mean()
                  * study_area_taper(grid))
    shape = _shape(grid, xy)
    hot = hotspot_mbps * shape / shape.sum()
    return Demand(grid, mean_profile()[:, None] * background[None, :]
                  + hourly_profile()[:, None] * hot[None, :])


def synthetic_measurements(net: Network, grid: Grid, xy: tuple[float, float], seed: int
                           ) -> pd.DataFrame:
    """Per-cell, per-hour PRB counters of the variant's ground truth (with counter noise)."""
    lo, hi = 0.0, 400.0
    cache = Twin(net, _truth(grid, xy, seed, 0.0)).cache  # link gains shared by all runs
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        st = Twin(net, _truth(grid, xy, seed, mid), cache=cache).run()
        lo, hi = (mid, hi) if st.kpis["peak_prb_util"] < TARGET_PEAK else (lo, mid)
    tw = Twin(net, _truth(grid, xy, seed, 0.5 * (lo + hi)), cache=cache)
    rng = np.random.default_rng([SEED, int(seed), 2])
    n_prb = float(MACRO["n_prb"])
    frames = []
    for h in range(24):
        util = np.asarray(tw.run(h).prb_util)
        noisy = np.clip(util + rng.normal(0.0, NOISE_SIGMA, util.size), 0.001, 0.99)
        frames.append(pd.DataFrame({"cell_id": net.cell_ids, "hour": h,
                                    PRB_USED: np.round(noisy * n_prb, 3), PRB_AVAIL: n_prb}))
    return pd.concat(frames, ignore_index=True)


@lru_cache(maxsize=8)
def build_variant(seed: int) -> Scenario:
    """Variant ``seed`` (any non-negative integer), calibrated to its own counters."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError("scenario", f"variant seed must be a non-negative integer, got "
                              f"{seed!r}")
    net = variant_network(int(seed))
    grid = build_grid(net)
    xy = hotspot_position(int(seed))
    meas = validate_measurements(synthetic_measurements(net, grid, xy, int(seed)))
    prior = Demand.from_profile(grid, BACKGROUND_MBPS_KM2 * grid.bin_area_km2 * (
        study_area_taper(grid) + 4.0 * _shape(grid, xy)), np.ones(24))
    config = RadioConfig()
    cal = calibrate_demand(net, prior, meas, config)
    return Scenario(
        name=f"hotspot-v{seed}",
        description=f"hotspot variant {seed}: hotspot at ({xy[0]:.0f}, {xy[1]:.0f}) m, "
        "other background field; calibrated like hotspot",
        network=net, demand=cal.demand, config=config, measurements=meas, calibration=cal,
        notes=(f"generated variant of hotspot (seed {seed}); demand calibrated to synthetic "
               f"counters (MAPE {cal.mape:.1%}, max error {cal.max_abs_error:.3f})",))
