"""``milan``: central Milan (about 2 km around the Duomo) from real, public data.

**Network** (OpenCelliD, CC BY-SA 4.0; ``twin/data/milan/milan_opencellid_lte_window.csv``,
the rows of the Milan re-tabulation inside the 25 x 25 Milano GRID squares around the Duomo).
The file mixes operators and has no MNC. The eNB ids fall into four disjoint families (about
21 000-30 000, 60 000-160 000, 300 000-510 000, > 1 000 000) with distinct local-cell-id
schemes, i.e. one family per operator. We model **one operator: the 21 000-29 999 family**,
the largest (about 550 cells of 210 eNBs within 2 km of the Duomo). Its local cell ids read
``10 x layer + sector`` (1-3, 11-13, 31-33, 51-53): in the data, fixes of the same sector
digit on different layers lie a median 250 m apart, of different sector digits 720 m, so the
digit is the sector and the tens are carrier layers. We **collapse the layers**: one modelled
cell per (eNB, sector), on one 20 MHz LTE band-3 carrier (1.8 GHz, 100 PRBs, 46 dBm, 2 layers,
25 m, 6 deg electrical tilt, TR 38.901 UMa; :data:`twin.importers.DEFAULT_CELL`), placed at the
mean of its layers' fixes. The operator's other carriers are not modelled, so the twin's
capacity is that of one carrier: the demand scale below is set relative to it. Sites and
azimuths are **estimated** by :func:`twin.importers.estimated_network` (eNB clusters, link
radius 1500 m, centroid; sectors spread evenly, oriented towards their fixes); sites whose
estimated position is within :data:`SITE_RADIUS_M` of the Duomo square's centre are kept.
Cell fixes date from 2015-2020 and the traffic from 2013: the scenario is a realistic
"Milan-like" study, not a reconstruction of the 2013 network.

**Demand** (Telecom Italia Big Data Challenge, ODbL 1.0). Per Milano GRID square (235 m) and
hour, an activity ``A_s(h)`` in the data's arbitrary units:

* the measured squares inside the area (5060 Duomo, 4456 Navigli, 4259 Bocconi): their real
  hourly means of the 10-minute "internet" activity of 2013-11-01 (a public holiday), via
  :mod:`twin.scenarios.diurnal`;
* every other square: ``k * rho_s * p(h) / mean(p)``, where ``rho_s`` is the number of
  OpenCelliD LTE cells of all operators in the square, smoothed with a Gaussian of one square
  (operators build where traffic is), ``p`` the Milan mean diurnal shape, and ``k`` the least
  squares fit of the measured squares' daily mean activity on ``rho`` (through the origin).

``A_s(h)`` becomes Mbit/s with :data:`MBPS_PER_ACTIVITY_UNIT` = 0.03, a modelling choice (the
data's units are arbitrary): about 2.5 Gbit/s offered at the busy hour (16:00) over the
13 km^2, i.e. ~190 Mbit/s/km^2 on one carrier. With it, the busiest cells (large footprints
at the edge of the Parco Sempione) are congested (peak PRB utilisation ~1.4, two cells above
0.8), the cells serving the Duomo square are ~0.4-0.6 loaded, and the median cell ~0.15. The
network is interference-coupled: 13 % more traffic puts 25 cells above 0.8 and 20 % more 48,
so the scale sits just below the knee on purpose. Each square's traffic is spread evenly over its area;
a local 40 m
:class:`twin.grid.Grid` maps every bin to the square whose centre is nearest. Beyond
:data:`TAPER_START_M` (1.8 km, inside the outermost sites) the demand fades (Gaussian, 150 m):
that traffic belongs to the unmodelled cells outside the area.

Regenerate the packaged data with ``python -m twin.scenarios.milan --write-data SRC_DIR``
(``SRC_DIR`` holding ``milan_grid_cells.csv`` and ``milan_opencellid_lte_cells.csv``).
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from twin.config import RadioConfig
from twin.demand import Demand
from twin.geo import Origin
from twin.grid import Grid
from twin.importers import ENB_LINK_RADIUS_M, estimated_network, opencellid_note, opencellid_rows
from twin.network import Network
from twin.scenarios import REGISTRY, Scenario
from twin.scenarios.diurnal import DUOMO_SQUARE, hourly_activity, mean_profile
from twin.traffic_map import ALL_HOURS, TrafficArea, TrafficMap, blend

GRID_FILE = "milan_grid_window.csv"
CELLS_FILE = "milan_opencellid_lte_window.csv"
WINDOW_HALF_SQUARES = 12          # shipped data: squares within +-12 rows/cols of the Duomo
SITE_RADIUS_M = 2000.0
MARGIN_M = 400.0
SPACING_M = 40.0
TAPER_START_M = 1800.0            # demand fades beyond this radius (Gaussian, TAPER_WIDTH_M)
TAPER_WIDTH_M = 150.0
OPERATOR_ENB_RANGE = (21_000, 30_000)  # [low, high) eNB ids of the modelled operator
DENSITY_SIGMA_SQUARES = 1.0
DENSITY_FLOOR_FRACTION = 0.05
MBPS_PER_ACTIVITY_UNIT = 0.03     # Mbit/s per activity unit of a square (see module docstring)
MAX_LINK_DISTANCE_M = 1500.0      # ISD ~250 m: cells beyond 1.5 km are far below the noise
#: Measured squares inside the area (the others of the six lie 6-13 km away).
MEASURED_IN_AREA = (5060, 4456, 4259)


def data_dir() -> Path:
    """The packaged Milan data (inside the ``twin`` package; never /work/shared)."""
    with resources.as_file(resources.files("twin") / "data" / "milan") as p:
        return Path(p)


@lru_cache(maxsize=1)
def grid_squares() -> pd.DataFrame:
    """The shipped Milano GRID squares with local ``x_m``, ``y_m`` (Duomo centre = origin) and
    ``area_km2``."""
    sq = pd.read_csv(data_dir() / GRID_FILE)
    org = origin()
    sq["x_m"], sq["y_m"] = org.to_local(sq["lat_center"], sq["lon_center"])
    w_m, _ = org.to_local(sq["lat_center"], sq["lon_max"])
    e_m, _ = org.to_local(sq["lat_center"], sq["lon_min"])
    _, n_m = org.to_local(sq["lat_max"], sq["lon_center"])
    _, s_m = org.to_local(sq["lat_min"], sq["lon_center"])
    sq["area_km2"] = (w_m - e_m) * (n_m - s_m) / 1e6
    return sq


def origin() -> Origin:
    """The local frame's origin: the centre of the Duomo square (5060), from the grid file."""
    sq = pd.read_csv(data_dir() / GRID_FILE, usecols=["cellId", "lon_center", "lat_center"])
    duomo = sq[sq["cellId"] == DUOMO_SQUARE].iloc[0]
    return Origin(float(duomo["lat_center"]), float(duomo["lon_center"]))


@lru_cache(maxsize=1)
def cell_fixes() -> pd.DataFrame:
    """The shipped OpenCelliD rows (validated by :func:`twin.importers.opencellid_rows`), LTE
    rows only, with local ``x_m``, ``y_m``, ``enb`` and ``lcid``."""
    raw = pd.read_csv(data_dir() / CELLS_FILE)
    rows = opencellid_rows(raw)
    rows = rows[rows["is_lte"]].reset_index(drop=True)
    rows["x_m"], rows["y_m"] = origin().to_local(rows["lat"], rows["lon"])
    rows["enb"] = rows["cell"] // 256
    rows["lcid"] = rows["cell"] % 256
    return rows


def build_network() -> Network:
    """The modelled operator's sectors as estimated sites (see module docstring)."""
    rows = cell_fixes()
    lo, hi = OPERATOR_ENB_RANGE
    op = rows[(rows["enb"] >= lo) & (rows["enb"] < hi)].copy()
    op["sector"] = op["lcid"] % 10
    sectors = op.groupby(["enb", "sector"], as_index=False).agg(
        x_m=("x_m", "mean"), y_m=("y_m", "mean"), n_layers=("lcid", "size"))
    d = sectors["sector"].to_numpy() - 1
    fixes = pd.DataFrame({
        "cell_id": "eNB" + sectors["enb"].astype(str) + "-" + sectors["sector"].astype(str),
        "group": "eNB" + sectors["enb"].astype(str),
        "x_m": sectors["x_m"], "y_m": sectors["y_m"],
        "slot_deg": (d % 3) * 120.0 + np.where((d // 3) % 2 == 1, 60.0, 0.0)})
    net = estimated_network(fixes, origin(), ENB_LINK_RADIUS_M, name="milan")
    keep = np.hypot(net.sites["x_m"], net.sites["y_m"]) <= SITE_RADIUS_M
    site_ids = net.sites.loc[keep, "site_id"]
    cells = net.cells[net.cells["site_id"].isin(site_ids)]
    note = (f"one operator (eNB ids {lo}-{hi - 1}, the largest family in a file without MNC); "
            "its carrier layers are collapsed into one 20 MHz LTE 1800 carrier per sector; "
            + opencellid_note(ENB_LINK_RADIUS_M))
    return Network.from_tables(net.sites[keep], cells, origin=net.origin, name="milan",
                               notes=(note,))


def square_density() -> NDArray[np.float64]:
    """Smoothed OpenCelliD LTE cells (all operators) per shipped square ``[n_square]``, in the
    order of :func:`grid_squares`."""
    sq = grid_squares()
    rows = sq["row_from_south"].to_numpy()
    cols = sq["col_from_west"].to_numpy()
    r0, c0 = rows.min(), cols.min()
    counts = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1))
    per_sq = cell_fixes()["grid_cellId"].value_counts()
    counts[rows - r0, cols - c0] = per_sq.reindex(sq["cellId"]).fillna(0.0).to_numpy()
    smooth = gaussian_filter(counts, DENSITY_SIGMA_SQUARES, mode="nearest")
    return smooth[rows - r0, cols - c0]


def square_activity() -> pd.DataFrame:
    """Activity ``[n_square, 24]`` (arbitrary Telecom Italia units) of every shipped square,
    indexed by ``cellId``: measured squares their own hourly means, the others the density
    prior (see module docstring)."""
    sq = grid_squares()
    rho = square_density()
    rho = rho + DENSITY_FLOOR_FRACTION * rho.mean()
    ids = sq["cellId"].to_numpy()
    measured = {s: hourly_activity(s) for s in MEASURED_IN_AREA}
    m_idx = np.array([int(np.flatnonzero(ids == s)[0]) for s in MEASURED_IN_AREA])
    a_mean = np.array([measured[s].mean() for s in MEASURED_IN_AREA])
    k = float(np.sum(a_mean * rho[m_idx]) / np.sum(rho[m_idx] ** 2))
    p = mean_profile()
    act = k * rho[:, None] * (p / p.mean())[None, :]  # [n_square, 24]
    for i, s in zip(m_idx, MEASURED_IN_AREA, strict=True):
        act[i] = measured[s]
    return pd.DataFrame(act, index=pd.Index(ids, name="cellId"), columns=range(24))


def build_grid() -> Grid:
    r = SITE_RADIUS_M + MARGIN_M
    return Grid.covering(-r, -r, r, r, SPACING_M)


def bin_squares(grid: Grid) -> NDArray[np.int64]:
    """Index (into :func:`grid_squares`) of the square whose centre is nearest to each bin
    ``[n_bin]``."""
    sq = grid_squares()
    x, y = grid.xy()
    _, idx = cKDTree(sq[["x_m", "y_m"]].to_numpy()).query(np.column_stack([x, y]))
    return idx.astype(np.int64)


def traffic_map(grid: Grid) -> TrafficMap:
    """The Telecom Italia squares as a traffic map: one area per square with its hourly
    offered traffic in Mbit/s (activity x :data:`MBPS_PER_ACTIVITY_UNIT`, faded beyond
    :data:`TAPER_START_M` from the Duomo at the square's centre). It is one: activity per
    ~235 m square, exactly what a planner's map of areas gives."""
    from shapely.geometry import box

    sq = grid_squares()
    org = origin()
    act = square_activity().to_numpy()  # [n_square, 24]
    x0, y0 = org.to_local(sq["lat_min"].to_numpy(), sq["lon_min"].to_numpy())
    x1, y1 = org.to_local(sq["lat_max"].to_numpy(), sq["lon_max"].to_numpy())
    r = np.hypot(sq["x_m"].to_numpy(), sq["y_m"].to_numpy())
    taper = np.exp(-0.5 * (np.maximum(r - TAPER_START_M, 0.0) / TAPER_WIDTH_M) ** 2)
    mbps = act * MBPS_PER_ACTIVITY_UNIT * taper[:, None]  # [n_square, 24]
    areas = tuple(TrafficArea(box(a, b, c, d), 0.0, ALL_HOURS, f"square {int(sid)}",
                              tuple(float(v) for v in m))
                  for a, b, c, d, sid, m in zip(x0, y0, x1, y1, sq["cellId"], mbps,
                                                strict=True))
    return TrafficMap(pd.DataFrame({"x_m": [], "y_m": [], "value": [], "hour": []}).astype(
        {"hour": np.int64}), areas, True, "Milano GRID squares (Telecom Italia)")


def build_demand(grid: Grid) -> Demand:
    """Offered traffic ``[24, n_bin]`` in Mbit/s: the squares' traffic map
    (:func:`traffic_map`) on an empty prior (the squares cover the study area; a bin outside
    every square has no modelled traffic)."""
    empty = Demand(grid, np.zeros((24, grid.n_bin)))
    return blend(empty, traffic_map(grid)).demand


def build() -> Scenario:
    net = build_network()
    grid = build_grid()
    demand = build_demand(grid)
    config = RadioConfig(max_link_distance_m=MAX_LINK_DISTANCE_M)
    notes = (
        *net.notes,
        "demand: real Telecom Italia 'internet' activity of 2013-11-01 (a public holiday) for "
        "the Duomo (5060), Navigli (4456) and Bocconi (4259) squares; other squares in "
        "proportion to OpenCelliD cell density with the Milan mean diurnal shape; scaled at "
        f"{MBPS_PER_ACTIVITY_UNIT:g} Mbit/s per activity unit (a modelling choice, not a "
        "measurement)",
        "cell positions date from 2015-2020, the traffic from 2013",
    )
    return Scenario(name="milan", description=REGISTRY["milan"].description, network=net, demand=demand,
                    config=config, notes=notes)


def write_data(src: Path, out: Path) -> tuple[int, int]:
    """Copy the rows this scenario uses from the full files in ``src`` to ``out`` (squares
    within :data:`WINDOW_HALF_SQUARES` of the Duomo, and the OpenCelliD rows inside them).
    Returns the numbers of squares and cells written."""
    grid = pd.read_csv(src / "milan_grid_cells.csv")
    duomo = grid[grid["cellId"] == DUOMO_SQUARE].iloc[0]
    near = ((grid["row_from_south"] - duomo["row_from_south"]).abs() <= WINDOW_HALF_SQUARES) & (
        (grid["col_from_west"] - duomo["col_from_west"]).abs() <= WINDOW_HALF_SQUARES)
    window = grid[near]
    cells = pd.read_csv(src / "milan_opencellid_lte_cells.csv", dtype=str, keep_default_na=False)
    cells = cells[cells["grid_cellId"].astype(int).isin(window["cellId"])]
    with open(src / "milan_grid_cells.csv", encoding="utf-8") as f:
        header = f.readline()
        keep = {str(c) for c in window["cellId"]}
        lines = [ln for ln in f if ln.split(",", 1)[0] in keep]
    out.mkdir(parents=True, exist_ok=True)
    (out / GRID_FILE).write_text(header + "".join(lines), encoding="utf-8")
    cells.to_csv(out / CELLS_FILE, index=False)
    return len(window), len(cells)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="copy the Milan scenario's data subset")
    ap.add_argument("--write-data", type=Path, required=True, help="folder with the full files")
    a = ap.parse_args()
    n_sq, n_cells = write_data(a.write_data, Path(__file__).resolve().parents[1] / "data" / "milan")
    print(f"wrote {n_sq} squares and {n_cells} OpenCelliD rows")
