"""Generated event networks: what a planner brings that nobody here built.

A macro layout (a square grid of 3-sector sites, or a jittered irregular one), placed at a real
WGS84 origin (the sites table carries lat/lon), a crowd somewhere in it, TS 28.552 counters from
a ground truth the model never sees, geolocated traffic samples of the crowd (as MDT or an event
polygon would give them) and small-cell candidate locations nearby. Used by tests and benchmarks
to check that the product finds the crowd and plans for it on layouts, crowd positions and seeds
it was not tuned to. Every case is deterministic in its seed.

Crowd kinds (``crowd``):

* ``"boresight"``: 80 m in front of a central mast on the boresight of its first sector: a
  macro tilt cannot move it; a small cell on the forecourt can;
* ``"edge"``: at the edge between two sites' sectors: a tilt or a CIO offset can move it;
* ``"two"``: two hotspots in different sites' footprints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.demand import Demand
from twin.engine import Twin
from twin.geo import Origin
from twin.grid import Grid
from twin.measurements import validate_measurements
from twin.network import Network
from twin.prior import default_grid
from twin.scenarios.counters import synthetic_counters
from twin.scenarios.diurnal import hourly_profile, mean_profile
from twin.scenarios.layout import LTE_BAND3_MACRO, three_sector_network_tables

CrowdKind = Literal["boresight", "edge", "two"]
Layout = Literal["grid", "irregular"]

MACRO = LTE_BAND3_MACRO
ORIGIN = Origin(50.9413, 6.9583)  # Cologne cathedral square
BACKGROUND_MBPS_KM2 = 150.0
CROWD_SIGMA_M = 25.0
CROWD_SAMPLES = 600
BORESIGHT_DISTANCE_M = 80.0
NOISE_SIGMA = 0.005


@dataclass(frozen=True)
class EventCase:
    """A generated case.

    Attributes:
        network: sites (with lat/lon), cells and candidate small-cell sites near the crowd(s).
        truth: the ground-truth demand ``[24, n_bin]`` (for checks only; the product sees the
            counters and the samples).
        counters: per-cell, per-hour counters as a file holds them (TS 28.552 names).
        measurements: ``counters`` validated (:func:`twin.measurements.validate_measurements`).
        samples: crowd samples ``lat_deg``, ``lon_deg``, ``weight``.
        crowd_xy_m: crowd centres ``[n_crowd, 2]`` in the local frame.
        crowd_cell: the cell whose sector faces the (first) crowd (``peak`` in the truth).
        busy_peak: busiest cell's busy-hour utilisation in the truth.
    """

    network: Network
    truth: Demand
    counters: pd.DataFrame
    measurements: pd.DataFrame
    samples: pd.DataFrame
    crowd_xy_m: NDArray[np.float64]
    crowd_cell: str
    busy_peak: float


def layout(n_side: int, isd_m: float, kind: Layout, rng: np.random.Generator
           ) -> NDArray[np.float64]:
    """Site positions ``[n_site, 2]``: an ``n_side`` x ``n_side`` square grid centred on 0,
    jittered by up to 30 % of ``isd_m`` for ``"irregular"``."""
    c = (np.arange(n_side) - (n_side - 1) / 2.0) * isd_m
    xy = np.array([(x, y) for y in c for x in c], dtype=float)
    if kind == "irregular":
        xy += rng.uniform(-0.3, 0.3, xy.shape) * isd_m
    return xy


def _crowd_centres(net: Network, kind: CrowdKind, isd_m: float, distance_m: float,
                   rng: np.random.Generator
                   ) -> tuple[NDArray[np.float64], str]:
    cells = net.cells_with_sites()
    r = np.hypot(cells["x_m"], cells["y_m"]).to_numpy()
    # a central site's sector, picked by the seed among the cells nearest the centre
    near = np.argsort(r, kind="stable")[:6]
    if kind == "boresight":
        # only sectors whose boresight point stays in their own cell: nearer to their mast
        # than to any other (a boresight that points at a neighbouring mast would put the
        # "crowd in front of this mast" under the neighbour's)
        sites_xy = net.sites[["x_m", "y_m"]].to_numpy(float)
        own = []
        for j in near:
            c = cells.iloc[j]
            a = np.radians(float(c["azimuth_deg"]))
            pt = np.array([float(c["x_m"]), float(c["y_m"])]) + distance_m * np.array(
                [np.sin(a), np.cos(a)])
            d = np.hypot(*(sites_xy - pt).T)
            if np.sort(d)[1] > 1.2 * distance_m:
                own.append(j)
        near = np.array(own or near)
    i = int(rng.choice(near))
    cell = cells.iloc[i]
    az = np.radians(float(cell["azimuth_deg"]))
    bearing = np.array([np.sin(az), np.cos(az)])
    site = np.array([float(cell["x_m"]), float(cell["y_m"])])
    if kind == "boresight":
        return (site + distance_m * bearing)[None, :], str(cell["cell_id"])
    edge = site + 0.5 * isd_m * bearing + rng.uniform(-0.05, 0.05, 2) * isd_m
    if kind == "edge":
        return edge[None, :], str(cell["cell_id"])
    other = cells.iloc[int(rng.choice([j for j in near if j != i]))]
    az2 = np.radians(float(other["azimuth_deg"]))
    second = np.array([float(other["x_m"]), float(other["y_m"])]) + 0.3 * isd_m * np.array(
        [np.sin(az2), np.cos(az2)])
    return np.vstack([site + 0.3 * isd_m * bearing, second]), str(cell["cell_id"])


def _taper(grid: Grid, xy: NDArray[np.float64], isd_m: float) -> NDArray[np.float64]:
    """1 over the layout and half an ISD around it, fading out beyond: the outer sectors face
    the (unmodelled) neighbouring network, whose traffic is not theirs to carry."""
    x, y = grid.xy()
    dx = np.maximum(np.maximum(xy[:, 0].min() - x, x - xy[:, 0].max()), 0.0)
    dy = np.maximum(np.maximum(xy[:, 1].min() - y, y - xy[:, 1].max()), 0.0)
    d = np.maximum(np.hypot(dx, dy) - 0.5 * isd_m, 0.0)
    return np.exp(-0.5 * (d / 150.0) ** 2)


def _gauss(grid: Grid, centre: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    x, y = grid.xy()
    g = np.exp(-0.5 * ((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / sigma**2)
    return g / g.sum()


def event_case(crowd: CrowdKind = "boresight", seed: int = 0, n_side: int = 4,
               distance_m: float = BORESIGHT_DISTANCE_M,
               isd_m: float = 400.0, layout_kind: Layout = "grid", peak: float = 0.95,
               n_candidates: int = 4, mimo_layers: int | None = None) -> EventCase:
    """Build a case (see module). The crowd's traffic is chosen by bisection so that the
    crowd cell's busy-hour utilisation in the truth is ``peak``. ``mimo_layers``: the macros'
    MIMO layers (None: those of :data:`MACRO`, 2; 4 is common in city networks)."""
    rng = np.random.default_rng(seed)
    xy = layout(n_side, isd_m, layout_kind, rng)
    macro = MACRO if mimo_layers is None else {**MACRO, "mimo_layers": int(mimo_layers)}
    sites, cells = three_sector_network_tables(xy, macro)
    lat, lon = ORIGIN.to_wgs84(sites["x_m"], sites["y_m"])
    sites = sites.assign(lat_deg=lat, lon_deg=lon)
    rot = float(rng.choice([0.0, 15.0, 30.0]))  # sector orientation differs by seed
    cells = cells.assign(azimuth_deg=(cells["azimuth_deg"] + rot) % 360.0)
    base = Network.from_tables(sites, cells, origin=ORIGIN, name=f"event-{crowd}-{seed}")
    centres, crowd_cell = _crowd_centres(base, crowd, isd_m, distance_m, rng)
    cand = []
    for k in range(n_candidates):
        c = centres[k % len(centres)]
        off = rng.uniform(-40.0, 40.0, 2) if k >= len(centres) else rng.uniform(-10.0, 10.0, 2)
        cand.append({"candidate_id": f"E{k + 1:02d}", "x_m": c[0] + off[0],
                     "y_m": c[1] + off[1], "height_m": 6.0, "name": "forecourt lamp post"})
    cand_df = pd.DataFrame(cand, columns=["candidate_id", "x_m", "y_m", "height_m", "name"])
    clat, clon = ORIGIN.to_wgs84(cand_df["x_m"].to_numpy(float), cand_df["y_m"].to_numpy(float))
    cand_df = cand_df.assign(lat_deg=np.asarray(clat, float), lon_deg=np.asarray(clon, float))
    net = Network.from_tables(sites, cells, cand_df, origin=ORIGIN, name=base.name)
    grid = default_grid(net)
    background = BACKGROUND_MBPS_KM2 * grid.bin_area_km2 * _taper(grid, xy, isd_m)
    shape = sum(_gauss(grid, c, CROWD_SIGMA_M) for c in centres) / len(centres)

    def truth_of(crowd_mbps: float) -> Demand:
        return Demand(grid, mean_profile()[:, None] * background[None, :]
                      + hourly_profile()[:, None] * crowd_mbps * shape[None, :])

    i_crowd = net.cell_index(crowd_cell)
    lo, hi = 0.0, 400.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        busy = float(Twin(net, truth_of(mid)).run().res_cell["prb_util"].iloc[i_crowd])
        lo, hi = (mid, hi) if busy < peak else (lo, mid)
    truth = truth_of(0.5 * (lo + hi))
    tw = Twin(net, truth)
    noise = np.random.default_rng(seed + 1)
    counters = synthetic_counters(tw, int(MACRO["n_prb"]), NOISE_SIGMA, noise)
    meas = validate_measurements(counters)
    pts = np.vstack([c + noise.normal(0.0, CROWD_SIGMA_M, (CROWD_SAMPLES // len(centres), 2))
                     for c in centres])
    slat, slon = ORIGIN.to_wgs84(pts[:, 0], pts[:, 1])
    samples = pd.DataFrame({"lat_deg": slat, "lon_deg": slon, "weight": 1.0})
    return EventCase(net, truth, counters, meas, samples, centres, crowd_cell,
                     float(tw.run().kpis["peak_prb_util"]))
