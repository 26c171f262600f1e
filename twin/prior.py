"""A default demand for a network that comes without one (e.g. an imported cell list), and the
:class:`~twin.scenarios.Scenario` that runs it, optionally calibrated to measured counters.

Study area: a grid covering the sites plus :data:`MARGIN_M`, with bins of
:data:`MIN_SPACING_M` (coarser for large networks, so that the grid has at most
:data:`MAX_BINS` bins: the twin's cost grows with bins x cells in reach).

Spatial prior (``"cell-density"``, the default): operators build cells where the traffic is,
so the offered traffic density follows the density of cells: a Gaussian kernel estimate of
the cell positions (bandwidth = the median distance from a site to its nearest neighbouring
site, the local inter-site scale, clipped to [100, 2000] m) plus a floor of 5 % of its mean
(no bin without traffic, which calibration needs). ``"uniform"`` spreads the same total evenly
over the grid. The level: at the busy hour the network offers
:data:`DEFAULT_MBPS_PER_CELL` Mbit/s per cell on average, or an explicit density in Mbit/s
per km^2. 15 Mbit/s per cell gives a plausible busy hour on the real imports (each operator on
its own carrier, twin/importers.py): median PRB utilisation 0.47 on Munich (1,511 cells, one
operator), 0.29 on Milan (9,279 cells, operators unknown, spread over 3 carriers); the load
coupling is steep (Munich: 0.18 at 10, 0.86 at 20 Mbit/s per cell) and the cell-density shape
concentrates traffic, so 15-25 % of the cells are above 0.8. Time: the Milan mean diurnal shape
(:func:`twin.scenarios.diurnal.mean_profile`, busy hour = 1).

This is a prior, not a measurement: a geolocated traffic map (:mod:`twin.traffic_map`) gives
it the spatial shape where the map has samples, and with per-cell counters (TS 28.552),
calibration (:func:`twin.calibration.calibrate_demand`) fits its levels per cell and hour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from twin.calibration import calibrate_demand, map_share_per_cell
from twin.config import RadioConfig
from twin.demand import Demand
from twin.errors import ValidationError
from twin.grid import Grid
from twin.network import Network
from twin.scenarios import Scenario
from twin.scenarios.diurnal import mean_profile
from twin.traffic_map import TrafficMap, blend, read_traffic

MARGIN_M = 500.0
MIN_SPACING_M = 50.0
MAX_BINS = 40_000
DEFAULT_MBPS_PER_CELL = 15.0
FLOOR_FRACTION = 0.05
KDE_BANDWIDTH_LIMITS_M = (100.0, 2000.0)

PriorKind = Literal["cell-density", "uniform"]


def default_grid(network: Network, margin_m: float = MARGIN_M) -> Grid:
    """Grid over the sites' bounding box plus ``margin_m``; spacing a multiple of 5 m, at least
    :data:`MIN_SPACING_M`, coarse enough for at most :data:`MAX_BINS` bins."""
    s = network.sites
    x0, x1 = float(s["x_m"].min()) - margin_m, float(s["x_m"].max()) + margin_m
    y0, y1 = float(s["y_m"].min()) - margin_m, float(s["y_m"].max()) + margin_m
    spacing = max(MIN_SPACING_M, np.sqrt((x1 - x0) * (y1 - y0) / MAX_BINS))
    spacing = float(np.ceil(spacing / 5.0) * 5.0)
    return Grid.covering(x0, y0, x1, y1, spacing)


def site_spacing_m(network: Network) -> float:
    """Median distance from a site to its nearest neighbouring site (clipped, see module)."""
    xy = network.sites[["x_m", "y_m"]].to_numpy(dtype=float)
    lo, hi = KDE_BANDWIDTH_LIMITS_M
    if len(xy) < 2:
        return hi
    d, _ = cKDTree(xy).query(xy, k=2)
    near = d[:, 1][d[:, 1] > 0]
    return float(np.clip(np.median(near), lo, hi)) if near.size else lo


def spatial_prior(network: Network, grid: Grid, kind: PriorKind = "cell-density"
                  ) -> NDArray[np.float64]:
    """Relative offered-traffic weight per bin ``[n_bin]`` (sums to 1)."""
    if kind == "uniform":
        w = np.ones(grid.n_bin)
    elif kind == "cell-density":
        pos = network.cells_with_sites()
        ix = np.clip(np.rint((pos["x_m"].to_numpy() - grid.x0_m) / grid.spacing_m), 0,
                     grid.nx - 1).astype(np.int64)
        iy = np.clip(np.rint((pos["y_m"].to_numpy() - grid.y0_m) / grid.spacing_m), 0,
                     grid.ny - 1).astype(np.int64)
        counts = np.bincount(iy * grid.nx + ix, minlength=grid.n_bin).astype(float)
        sigma_bins = site_spacing_m(network) / grid.spacing_m
        dens = gaussian_filter(counts.reshape(grid.ny, grid.nx), sigma_bins,
                               mode="constant").ravel()
        w = dens + FLOOR_FRACTION * dens.mean()
    else:
        raise ValidationError("demand", f"unknown prior {kind!r}; use 'cell-density' or "
                              "'uniform'")
    return w / w.sum()


def default_demand(network: Network, grid: Grid | None = None, kind: PriorKind = "cell-density",
                   mbps_per_cell: float = DEFAULT_MBPS_PER_CELL,
                   mbps_per_km2: float | None = None) -> Demand:
    """The default prior demand ``[24, n_bin]`` (see module docstring).

    Args:
        network: the network (sites and cells in a local metric frame).
        grid: the study area (default :func:`default_grid`).
        kind: spatial shape, ``"cell-density"`` or ``"uniform"``.
        mbps_per_cell: busy-hour total = this x number of cells (ignored if ``mbps_per_km2``).
        mbps_per_km2: busy-hour total = this x grid area.
    """
    grid = grid or default_grid(network)
    if mbps_per_km2 is not None:
        if not (np.isfinite(mbps_per_km2) and mbps_per_km2 >= 0):
            raise ValidationError("demand", f"demand density must be >= 0 Mbit/s/km^2, got "
                                  f"{mbps_per_km2}")
        total = mbps_per_km2 * grid.n_bin * grid.bin_area_km2
    else:
        if not (np.isfinite(mbps_per_cell) and mbps_per_cell >= 0):
            raise ValidationError("demand", f"traffic per cell must be >= 0 Mbit/s, got "
                                  f"{mbps_per_cell}")
        total = mbps_per_cell * len(network.cells)
    return Demand.from_profile(grid, total * spatial_prior(network, grid, kind), mean_profile())


def scenario_from_network(network: Network, measurements: pd.DataFrame | None = None,
                          kind: PriorKind = "cell-density",
                          mbps_per_cell: float = DEFAULT_MBPS_PER_CELL,
                          mbps_per_km2: float | None = None,
                          config: RadioConfig | None = None,
                          description: str = "imported network",
                          traffic: str | Path | TrafficMap | None = None) -> Scenario:
    """A runnable scenario for ``network``: the default prior demand, shaped by the
    ``traffic`` map (a file for :func:`twin.traffic_map.read_traffic`, or a read map) when
    given, calibrated to ``measurements`` (validated counters,
    :func:`twin.measurements.validate_measurements`) when given; the calibration result is in
    ``Scenario.calibration``, the map's share of each cell's traffic in ``Scenario.traffic``."""
    config = config or RadioConfig()
    prior = default_demand(network, None, kind, mbps_per_cell, mbps_per_km2)
    level = (f"{mbps_per_km2:g} Mbit/s/km^2" if mbps_per_km2 is not None
             else f"{mbps_per_cell:g} Mbit/s per cell")
    notes = list(network.notes)
    tmap: TrafficMap | None = None
    if traffic is not None:
        tmap = (traffic if isinstance(traffic, TrafficMap)
                else read_traffic(traffic, prior.grid, network.origin))
        mapped = blend(prior, tmap)
        prior = mapped.demand
        notes.append(f"demand shaped by the traffic map {tmap.source!r} ("
                     f"{tmap.n_points} point samples, {len(tmap.areas)} areas, "
                     f"{'absolute Mbit/s' if tmap.absolute else 'relative weights'})")
        notes.extend(tmap.warnings)
    if measurements is None:
        shape = "traffic map over the " if tmap is not None else ""
        notes.append(f"demand is a default prior, not measured: {shape}{kind} shape, busy-hour "
                     f"level {level}, Milan mean diurnal shape; the cell loads are a prior "
                     "until per-cell counters are given (measurements) to set the levels")
        demand = prior
        cal = None
    else:
        cal = calibrate_demand(network, prior, measurements, config)
        demand = cal.demand
        notes.append(f"demand: {kind} prior{' with the traffic map' if tmap else ''} calibrated "
                     f"to the measured counters (MAPE {cal.mape:.1%}, max error "
                     f"{cal.max_abs_error:.3f}, {len(cal.unmatched)} unmatched cell/reason "
                     "pairs)")
    report = None
    if tmap is not None:
        report = map_share_per_cell(network, mapped.map_share(), demand, config)
    return Scenario(name=network.name, description=description, network=network,
                    demand=demand, config=config, measurements=measurements,
                    calibration=cal, notes=tuple(notes), traffic=tmap, traffic_report=report)


def scenario_with_traffic(scenario: Scenario, traffic: str | Path | TrafficMap) -> Scenario:
    """``scenario`` (built-in or imported) with its demand reshaped by a traffic map and, when
    it has counters, calibrated to them again: the map moves the traffic, the counters keep
    each measured cell's level."""
    net, config = scenario.network, scenario.config
    tmap = (traffic if isinstance(traffic, TrafficMap)
            else read_traffic(traffic, scenario.demand.grid, net.origin))
    mapped = blend(scenario.demand, tmap)
    notes = [*scenario.notes, f"demand reshaped by the traffic map {tmap.source!r} ("
             f"{tmap.n_points} point samples, {len(tmap.areas)} areas)", *tmap.warnings]
    demand, cal = mapped.demand, None
    if scenario.measurements is not None:
        cal = calibrate_demand(net, demand, scenario.measurements, config)
        demand = cal.demand
        notes.append(f"recalibrated to the counters with the map (MAPE {cal.mape:.1%}, max "
                     f"error {cal.max_abs_error:.3f})")
    report = map_share_per_cell(net, mapped.map_share(), demand, config)
    return Scenario(name=scenario.name, description=scenario.description, network=net,
                    demand=demand, config=config, measurements=scenario.measurements,
                    calibration=cal if cal is not None else scenario.calibration,
                    notes=tuple(notes), traffic=tmap, traffic_report=report)
