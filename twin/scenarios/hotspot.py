"""``hotspot``: the reference study's situation, calibrated to its own measurements.

A dense-urban macro layout: 19 three-sector sites (57 cells) on a hexagonal grid with 400 m
inter-site distance, 25 m masts, LTE band 3 (1.8 GHz, 20 MHz, 100 PRBs, 46 dBm, 2 layers,
17 dBi panels with 10 deg vertical beamwidth and 6 deg electrical downtilt), TR 38.901 UMa.
A persistent hotspot (a square with shops and a station: Gaussian, sigma 50 m) lies
150 m north-east of the centre site, inside sector S01-1, whose busy-hour PRB utilisation is
0.93. Ten candidate small-cell locations (lamp posts and rooftops) are listed, six of them
around the hotspot.

Measurements: ``twin/data/hotspot/measurements.csv`` holds per-cell, per-hour counters
(TS 28.552 names). They are synthetic and documented as such: produced by
:func:`write_measurements` from a ground-truth demand (a smooth random background at about
200 Mbit/s/km^2 at the busy hour, the hotspot, the Milan mean diurnal shape for the
background and the Milan Duomo shape for the hotspot) run through this twin, with Gaussian
counter noise (sigma 0.5 % utilisation). The scenario's demand is the prior (a uniform
background plus the hotspot from its traffic map, flat in time) fitted to those counters
by :func:`twin.calibration.calibrate_demand`: the model never sees the ground truth.
The hotspot's location and shape reach the prior the way a user's would: as a traffic-sample
file (``twin/data/hotspot/traffic_samples.csv``, :func:`traffic_samples`, 2000 samples of the
hotspot's shape with their Mbit/s) read by :func:`twin.traffic_map.read_traffic`.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

from twin.calibration import calibrate_demand
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.grid import Grid
from twin.measurements import (
    validate_measurements,
)
from twin.network import Network
from twin.scenarios import REGISTRY, Scenario
from twin.scenarios.counters import synthetic_counters
from twin.scenarios.diurnal import hourly_profile, mean_profile
from twin.scenarios.layout import LTE_BAND3_MACRO, hex_sites, three_sector_network_tables
from twin.traffic_map import blend, read_traffic

ISD_M = 400.0
SPACING_M = 20.0
MARGIN_M = 300.0
TAPER_RADIUS_M = 700.0
TAPER_WIDTH_M = 150.0
HOTSPOT_XY_M = (75.0, 130.0)
HOTSPOT_SIGMA_M = 50.0
BACKGROUND_MBPS_KM2 = 200.0
TARGET_PEAK = 0.93
NOISE_SIGMA = 0.005
FIELD_SIGMA = 0.15 # log-std of the background's smooth spatial variation
SEED = 20261125
TRAFFIC_FILE = "traffic_samples.csv"
TRAFFIC_SAMPLES = 2000
HOTSPOT_PRIOR_FACTOR = 4.0  # the map's hotspot peaks at 4x the background density

MACRO = LTE_BAND3_MACRO

CANDIDATES = [  # id, x_m, y_m, height_m, name
    ("C01", 75.0, 130.0, 6.0, "hotspot square, lamp post (centre)"),
    ("C02", 10.0, 180.0, 6.0, "hotspot square, lamp post (north-west)"),
    ("C03", 150.0, 90.0, 6.0, "hotspot square, lamp post (south-east)"),
    ("C04", 120.0, 200.0, 8.0, "station entrance, canopy"),
    ("C05", 30.0, 70.0, 6.0, "shopping street, lamp post"),
    ("C06", 190.0, 170.0, 10.0, "office rooftop east of the square"),
    ("C07", -300.0, 250.0, 8.0, "residential rooftop"),
    ("C08", 420.0, -200.0, 8.0, "school street (check zoning)"),
    ("C09", -250.0, -330.0, 6.0, "park edge, lamp post"),
    ("C10", 600.0, 300.0, 8.0, "car park"),
]


def build_network() -> Network:
    sites, cells = three_sector_network_tables(hex_sites(2, ISD_M), MACRO)
    cand = pd.DataFrame(CANDIDATES, columns=["candidate_id", "x_m", "y_m", "height_m", "name"])
    return Network.from_tables(sites, cells, cand, name="hotspot")


def build_grid(network: Network) -> Grid:
    s = network.sites
    return Grid.covering(s["x_m"].min() - MARGIN_M, s["y_m"].min() - MARGIN_M,
                         s["x_m"].max() + MARGIN_M, s["y_m"].max() + MARGIN_M, SPACING_M)


def hotspot_shape(grid: Grid) -> NDArray[np.float64]:
    """The hotspot's spatial shape ``[n_bin]``, peak 1."""
    x, y = grid.xy()
    r2 = (x - HOTSPOT_XY_M[0]) ** 2 + (y - HOTSPOT_XY_M[1]) ** 2
    return np.exp(-0.5 * r2 / HOTSPOT_SIGMA_M**2)


def study_area_taper(grid: Grid) -> NDArray[np.float64]:
    """1 inside the second ring, fading out beyond it: the outer sectors face the (unmodelled)
    neighbouring network, so their traffic beyond the layout is not theirs to carry."""
    x, y = grid.xy()
    r = np.hypot(x, y)
    return np.exp(-0.5 * (np.maximum(r - TAPER_RADIUS_M, 0.0) / TAPER_WIDTH_M) ** 2)


def background_prior(grid: Grid) -> Demand:
    """The prior without the traffic map: a uniform background over the study area, flat in
    time (levels come from calibration)."""
    spatial = BACKGROUND_MBPS_KM2 * grid.bin_area_km2 * study_area_taper(grid)
    return Demand.from_profile(grid, spatial, np.ones(24))


def traffic_samples(n: int = TRAFFIC_SAMPLES) -> pd.DataFrame:
    """The hotspot as a planner's traffic map gives it: ``n`` samples (local ``x_m``/``y_m``)
    drawn from the hotspot's shape, each carrying an equal share of its prior traffic
    (``HOTSPOT_PRIOR_FACTOR`` x the background density over the hotspot's Gaussian area),
    deterministic in :data:`SEED`."""
    rng = np.random.default_rng(SEED + 2)
    xy = rng.normal(0.0, HOTSPOT_SIGMA_M, (n, 2)) + np.asarray(HOTSPOT_XY_M)
    total = (HOTSPOT_PRIOR_FACTOR * BACKGROUND_MBPS_KM2 * 2.0 * np.pi * HOTSPOT_SIGMA_M**2
             / 1e6)
    return pd.DataFrame({"x_m": np.round(xy[:, 0], 2), "y_m": np.round(xy[:, 1], 2),
                         "mbps": round(total / n, 8)})


def traffic_path() -> Path:
    with resources.as_file(resources.files("twin") / "data" / "hotspot" /
                           TRAFFIC_FILE) as p:
        return Path(p)


def prior_demand(grid: Grid) -> Demand:
    """What a planner knows before the counters: the background prior with the hotspot
    from the shipped traffic-sample file (:func:`twin.traffic_map.read_traffic`, the path a
    user's map takes), flat in time."""
    tmap = read_traffic(traffic_path(), grid, None)
    return blend(background_prior(grid), tmap).demand


def ground_truth_demand(grid: Grid, hotspot_mbps: float) -> Demand:
    """The synthetic truth behind the shipped counters (see module docstring)."""
    rng = np.random.default_rng(SEED)
    field = gaussian_filter(rng.standard_normal((grid.ny, grid.nx)), sigma=150.0 / SPACING_M)
    field = np.exp(FIELD_SIGMA * field.ravel() / field.std())
    background = (BACKGROUND_MBPS_KM2 * grid.bin_area_km2 * field / field.mean()
                  * study_area_taper(grid))
    shape = hotspot_shape(grid)
    hot = hotspot_mbps * shape / shape.sum()
    mbps = (mean_profile()[:, None] * background[None, :]
            + hourly_profile()[:, None] * hot[None, :])
    return Demand(grid, mbps)


def write_measurements(path: Path) -> pd.DataFrame:
    """Regenerate the shipped counters (deterministic). The hotspot's traffic is chosen by
    bisection so that the busiest cell's noiseless busy-hour utilisation is TARGET_PEAK."""
    net = build_network()
    grid = build_grid(net)
    lo, hi = 0.0, 400.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        truth = ground_truth_demand(grid, mid)
        peak = Twin(net, truth).run().kpis["peak_prb_util"]
        lo, hi = (mid, hi) if peak < TARGET_PEAK else (lo, mid)
    truth = ground_truth_demand(grid, 0.5 * (lo + hi))
    df = synthetic_counters(Twin(net, truth), int(MACRO["n_prb"]), NOISE_SIGMA,
                            np.random.default_rng(SEED + 1), throughput_and_volume=True)
    df.to_csv(path, index=False)
    return df


def measurements_path() -> Path:
    with resources.as_file(resources.files("twin") / "data" / "hotspot" / "measurements.csv") as p:
        return Path(p)


def build() -> Scenario:
    net = build_network()
    grid = build_grid(net)
    meas = validate_measurements(pd.read_csv(measurements_path()))
    # Fit on utilisation only (the volume counters are kept for checks).
    meas_u = meas.assign(volume_mbit=np.nan)
    config = RadioConfig()
    cal = calibrate_demand(net, prior_demand(grid), meas_u, config)
    return Scenario(
        name="hotspot", description=REGISTRY["hotspot"].description, network=net, demand=cal.demand,
        config=config, measurements=meas, calibration=cal,
        notes=("demand calibrated to the scenario's synthetic per-cell counters "
               f"(MAPE {cal.mape:.1%}, max error {cal.max_abs_error:.3f})",))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="regenerate the hotspot scenario's data files")
    ap.add_argument("--write-measurements", type=Path, default=None)
    ap.add_argument("--write-traffic", type=Path, default=None)
    a = ap.parse_args()
    if a.write_measurements is not None:
        out = write_measurements(a.write_measurements)
        print(f"wrote {len(out)} rows to {a.write_measurements}")
    if a.write_traffic is not None:
        traffic_samples().to_csv(a.write_traffic, index=False)
        print(f"wrote {TRAFFIC_SAMPLES} traffic samples to {a.write_traffic}")
