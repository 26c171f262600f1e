"""``calib-uma`` / ``calib-umi``: the 3GPP 19-site x 3-sector calibration layouts (TR 36.873
phase 1, 2 GHz) and the comparison of our coupling-loss and geometry CDFs with 3GPP's.

Layout and parameters (TR 36.873 V12 Table 6-1 and Table 8.2-1, phase 1; TR 38.901 7.8):

=============================  ==========================  ==========================
parameter                      calib-uma (3D-UMa)          calib-umi (3D-UMi)
=============================  ==========================  ==========================
sites x sectors                19 x 3, wrap-around         19 x 3, wrap-around
inter-site distance            500 m                       200 m
BS antenna height              25 m                        10 m
carrier, bandwidth             2 GHz, 10 MHz (50 PRB)      2 GHz, 10 MHz (50 PRB)
BS power                       46 dBm                      41 dBm
BS antenna (K = M = 1)         one element: 8 dBi, 65 deg H and V beamwidth, 30 dB floor,
                               boresights 30/150/270 deg, no tilt (see below)
UE                             omni 0 dBi, noise figure 9 dB, 80 % indoor
UE height                      outdoor 1.5 m; indoor 3 (n_fl - 1) + 1.5 m,
                               n_fl ~ U{1..N_fl}, N_fl ~ U{4..8}
min. BS-UE 2D distance         35 m                        10 m
=============================  ==========================  ==========================

Electrical tilt: Table 8.2-1's 102 deg (zenith; 12 deg down) is the tilt of the K = M = 10
panel, made by the fixed weights across its 10 vertical elements. The K = M = 1 configuration
is one element, which cannot be electrically tilted; QuaDRiGa's reproduction of these curves
(tutorials/calib_3GPP_3D_phase1.m) uses tilt 0 for it, and so do we. (12 deg applied to the
element moves the 5/50/95 % points by at most 0.45 dB; see docs/calibration-3gpp.md.)

Propagation: the twin's TR 38.901 path loss, LOS probability and shadowing
(:mod:`twin.propagation`), per UE-site link (the three sectors of a site share LOS state and
shadowing, as 38.901 7.5 step 4 says). Indoor UEs get TR 36.873 Table 7.2-1's O2I model:
``PL = PL_b(d_3D) + 20 dB + 0.5 d_in`` with ``d_in ~ U(0, 25) m`` per UE, the LOS state drawn
with the outdoor distance ``d_2D - d_in``, and 36.873 Table 7.3-6's O2I shadowing sigma of
7 dB. These calibration curves were produced with TR 36.873's 3D-UMa/3D-UMi path loss, which
differs from 38.901's: 3D-UMi NLOS (``36.7 log10 d + 22.7 + 26 log10 fc``) is about 4-5 dB
more lossy than 38.901 UMi street canyon at 100-300 m, so our UMi coupling loss is less
negative than the reference. This is the model's real difference and is reported as such.

Metrics per UE (36.873 8.2; definitions as in QuaDRiGa's calibration tutorial):

* coupling loss: the largest coupling gain ``G_ant - PL - O2I - SF`` (dB, a negative number as
  in the reference) over all 57 cells, which is also the serving cell (max RSRP: all cells of
  a scenario transmit the same power);
* geometry: serving power over the sum of the other 56 cells' power (full load) plus
  thermal noise (-174 dBm/Hz + 9 dB over 10 MHz); ``geometry_no_noise_db`` leaves the noise
  out (+0.3 dB at the 5 % point of UMa, < 0.05 dB in UMi: both layouts are interference
  limited).

Wrap-around: the 19-site cluster tiles the plane by translations of ``sqrt(19) ISD``; each UE
sees every site at its nearest copy among the cluster and its six shifted copies.

Statistics come from UEs dropped uniformly (seeded) in the 19 sites' hexagons, not from the
grid. :func:`build` gives the same network as a twin :class:`~twin.scenarios.Scenario`
(grid-based, no wrap-around, single UE height 1.5 m, no O2I, expected path loss over the LOS
state) with a uniform demand of ``DEMAND_MBPS_PER_CELL`` per cell area over the 19 hexagons,
shaped in time by the Milan mean diurnal profile, so that ``celltwin twin --scenario
calib-uma`` runs like any other scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin.antenna import gain_dbi
from twin.config import RadioConfig
from twin.demand import Demand
from twin.errors import UnknownIdError, ValidationError
from twin.grid import Grid
from twin.network import Network
from twin.propagation import los_probability, path_loss_db, shadowing_db
from twin.scenarios import REGISTRY, Scenario
from twin.scenarios.diurnal import mean_profile
from twin.scenarios.layout import hex_sites, three_sector_network_tables

N_RINGS = 2                     # 1 + 6 + 12 = 19 sites
INDOOR_FRACTION = 0.8           # TR 36.873 Table 6-1
O2I_WALL_LOSS_DB = 20.0         # TR 36.873 Table 7.2-1, PL_tw
O2I_INDOOR_DB_PER_M = 0.5       # TR 36.873 Table 7.2-1, PL_in = 0.5 d_in
MAX_INDOOR_DISTANCE_M = 25.0    # d_in ~ U(0, 25) m
O2I_SHADOWING_SIGMA_DB = 7.0    # TR 36.873 Table 7.3-6, O2I shadow fading (UMa and UMi)
MIN_FLOORS, MAX_FLOORS = 4, 8   # N_fl ~ U{4..8}, TR 36.873 Table 6-1
FLOOR_HEIGHT_M = 3.0
UE_HEIGHT_M = 1.5
DEFAULT_SEED = 36873
DEFAULT_UES_PER_CELL = 200
PERCENTILES = (5, 50, 95)
DEMAND_MBPS_PER_CELL = 6.0      # busy-hour offered traffic per cell area of the twin scenario
REFERENCE_FILE = "3gpp_calibration_percentiles_from_quadriga.csv"
REFERENCE_CONFIG = "(K=M=1 ph1 / K=1,M=2 ph2)"
#: our metric name -> (reference ``matlab_var``, reference ``metric``): TR 36.873 phase 1
REFERENCE_METRICS = {"coupling_loss_db": ("cl36873a", "coupling_loss_dB"),
                     "geometry_db": ("gf36873a", "geometry_dB")}


@dataclass(frozen=True)
class CalibSetup:
    """One calibration case of TR 36.873 Table 8.2-1 (phase 1, K = M = 1)."""

    name: str
    scenario: str             # twin.propagation scenario
    reference_scenario: str   # the reference CSV's ``scenario`` prefix
    isd_m: float
    height_m: float
    tx_power_dbm: float
    min_d2d_m: float
    grid_spacing_m: float
    elec_tilt_deg: float = 0.0
    fc_ghz: float = 2.0
    bandwidth_mhz: float = 10.0
    n_prb: int = 50


SETUPS: dict[str, CalibSetup] = {
    "calib-uma": CalibSetup("calib-uma", "uma", "3D-UMa ISD500 hBS25", 500.0, 25.0, 46.0,
                            35.0, 20.0),
    "calib-umi": CalibSetup("calib-umi", "umi", "3D-UMi ISD200 hBS10", 200.0, 10.0, 41.0,
                            10.0, 10.0),
}


def setup(name: str) -> CalibSetup:
    key = str(name).strip().lower()
    if key not in SETUPS:
        raise UnknownIdError(f"unknown calibration scenario {name!r}; use one of "
                             f"{', '.join(SETUPS)}")
    return SETUPS[key]


# --- layout and wrap-around ------------------------------------------------------------------
def build_network(name: str) -> Network:
    """The 57-cell network of a calibration case (sites ``S01``..``S19``, ``S01`` at 0, 0)."""
    s = setup(name)
    cell = {"tx_power_dbm": s.tx_power_dbm, "fc_ghz": s.fc_ghz,
            "bandwidth_mhz": s.bandwidth_mhz, "n_prb": s.n_prb, "scs_khz": 15.0,
            "mimo_layers": 1, "height_m": s.height_m, "mech_tilt_deg": 0.0,
            "elec_tilt_deg": s.elec_tilt_deg, "antenna": "macro3gpp", "antenna_gain_dbi": 8.0,
            "h_beamwidth_deg": 65.0, "v_beamwidth_deg": 65.0, "cio_db": 0.0,
            "scenario": s.scenario}
    sites, cells = three_sector_network_tables(hex_sites(N_RINGS, s.isd_m), cell)
    return Network.from_tables(sites, cells, name=s.name)


def wrap_shifts_m(isd_m: float) -> NDArray[np.float64]:
    """Translations ``[7, 2]`` (x, y in m) of the 19-site cluster: itself and its 6 neighbours.

    The hexagon of 19 sites tiles the plane by the lattice vector 3 a + 2 b (a, b: site-lattice
    vectors 60 deg apart, |a| = ISD) and its rotations by multiples of 60 deg, |shift| =
    sqrt(19) ISD. With :func:`hex_sites`' orientation a points north and b at bearing 60 deg.
    """
    a = np.array([0.0, 1.0])
    b = np.array([np.sin(np.pi / 3.0), np.cos(np.pi / 3.0)])
    base = isd_m * (3.0 * a + 2.0 * b)
    ang = np.arange(6) * np.pi / 3.0
    rot = np.stack([np.cos(ang) * base[0] - np.sin(ang) * base[1],
                    np.sin(ang) * base[0] + np.cos(ang) * base[1]], axis=1)  # [6, 2]
    return np.vstack([np.zeros((1, 2)), rot])


def wrapped_offsets_m(ue_xy_m: NDArray[np.float64], site_xy_m: NDArray[np.float64],
                      isd_m: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """East and north offsets ``[n_ue, n_site]`` from each site's nearest copy to each UE."""
    copies = site_xy_m[None, :, :] + wrap_shifts_m(isd_m)[:, None, :]  # [7, n_site, 2]
    dx = ue_xy_m[:, None, None, 0] - copies[None, :, :, 0]  # [n_ue, 7, n_site]
    dy = ue_xy_m[:, None, None, 1] - copies[None, :, :, 1]
    k = np.argmin(dx**2 + dy**2, axis=1)[:, None, :]  # [n_ue, 1, n_site]
    return (np.take_along_axis(dx, k, axis=1)[:, 0, :],
            np.take_along_axis(dy, k, axis=1)[:, 0, :])


def in_site_hexagon(dx_m: NDArray[np.float64], dy_m: NDArray[np.float64], isd_m: float
                    ) -> NDArray[np.bool_]:
    """Whether offsets from a site lie in its hexagon (its Voronoi cell: within ISD/2 of the
    site along each of the directions to its six neighbours, bearings 0, 60 ... 300 deg)."""
    out = np.ones(np.shape(dx_m), dtype=bool)
    for brg in np.radians([0.0, 60.0, 120.0]):
        out &= np.abs(dx_m * np.sin(brg) + dy_m * np.cos(brg)) <= isd_m / 2.0
    return out


# --- UE drop ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class UeDrop:
    """Randomly dropped UEs, each array ``[n_ue]``."""

    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    h_ut_m: NDArray[np.float64]
    indoor: NDArray[np.bool_]
    d_in_m: NDArray[np.float64]  # 0 for outdoor UEs


def drop_ues(network: Network, s: CalibSetup, ues_per_cell: int, rng: np.random.Generator
             ) -> UeDrop:
    """Drop ``3 * ues_per_cell`` UEs uniformly in every site's hexagon, at least
    ``min_d2d_m`` from the site (TR 36.873 Table 6-1 heights and indoor share)."""
    if not isinstance(ues_per_cell, (int, np.integer)) or not 1 <= ues_per_cell <= 10_000:
        raise ValidationError("calibration", f"ues_per_cell must be an integer in 1..10000, "
                              f"got {ues_per_cell!r}")
    site_xy = network.sites[["x_m", "y_m"]].to_numpy(dtype=float)
    per_site = 3 * int(ues_per_cell)
    r_max = s.isd_m / np.sqrt(3.0)  # hexagon circumradius
    chunks: list[NDArray[np.float64]] = []
    need = per_site * len(site_xy)
    # Rejection sampling in the hexagon's bounding square, all sites at once (offsets are the
    # same for every site); accept rate ~ 0.65.
    got = 0
    while got < need:
        u = rng.uniform(-r_max, r_max, size=(2 * need, 2))
        ok = in_site_hexagon(u[:, 0], u[:, 1], s.isd_m) & (np.hypot(u[:, 0], u[:, 1])
                                                          >= s.min_d2d_m)
        chunks.append(u[ok])
        got += int(ok.sum())
    off = np.concatenate(chunks)[:need]  # [n_ue, 2]
    xy = np.repeat(site_xy, per_site, axis=0) + off
    n = len(xy)
    indoor = rng.random(n) < INDOOR_FRACTION
    n_floors = rng.integers(MIN_FLOORS, MAX_FLOORS + 1, size=n)
    floor = np.floor(rng.random(n) * n_floors).astype(int) + 1  # U{1..N_fl}
    h_ut = np.where(indoor, FLOOR_HEIGHT_M * (floor - 1) + UE_HEIGHT_M, UE_HEIGHT_M)
    d_in = np.where(indoor, rng.uniform(0.0, MAX_INDOOR_DISTANCE_M, size=n), 0.0)
    return UeDrop(xy[:, 0], xy[:, 1], h_ut, indoor, d_in)


# --- link budget -----------------------------------------------------------------------------
def coupling_gain_db(network: Network, s: CalibSetup, ues: UeDrop, rng: np.random.Generator
                     ) -> NDArray[np.float64]:
    """Coupling gain ``G_ant - PL - O2I - SF`` (dB) from every cell to every UE,
    ``[n_ue, n_cell]``, with wrap-around (each site at its nearest copy)."""
    sites = network.sites
    site_xy = sites[["x_m", "y_m"]].to_numpy(dtype=float)
    ue_xy = np.stack([ues.x_m, ues.y_m], axis=1)
    dx, dy = wrapped_offsets_m(ue_xy, site_xy, s.isd_m)  # [n_ue, n_site]
    d2d = np.hypot(dx, dy)
    h_ut = ues.h_ut_m[:, None]  # [n_ue, 1]
    indoor = ues.indoor[:, None]
    d_in = ues.d_in_m[:, None]
    d_out = np.maximum(d2d - d_in, 0.0)
    # One LOS state and one shadowing value per UE-site link, shared by the site's sectors.
    p_los = los_probability(s.scenario, d_out, h_ut)  # [n_ue, n_site]
    los = rng.random(d2d.shape) < p_los
    pl = path_loss_db(s.scenario, d2d, s.height_m, h_ut, s.fc_ghz, los)
    sf_out = shadowing_db(s.scenario, los, rng)
    sf_in = O2I_SHADOWING_SIGMA_DB * rng.standard_normal(d2d.shape)
    o2i = O2I_WALL_LOSS_DB + O2I_INDOOR_DB_PER_M * d_in
    loss = pl + np.where(indoor, o2i + sf_in, sf_out)  # [n_ue, n_site]
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    zenith = 90.0 + np.degrees(np.arctan2(s.height_m - h_ut, np.maximum(d2d, 1.0)))
    cells = network.cells
    site_index = {sid: i for i, sid in enumerate(sites["site_id"])}
    site_of_cell = cells["site_id"].map(site_index).to_numpy(dtype=int)  # [n_cell]
    out = np.empty((len(ue_xy), len(cells)))
    for c, row in enumerate(cells.itertuples(index=False)):  # 57 cells, vectorised over UEs
        j = site_of_cell[c]
        g = gain_dbi(str(row.antenna), bearing[:, j], zenith[:, j], float(row.azimuth_deg),
                     float(row.mech_tilt_deg), float(row.elec_tilt_deg),
                     float(row.antenna_gain_dbi), float(row.h_beamwidth_deg),
                     float(row.v_beamwidth_deg))
        out[:, c] = g - loss[:, j]
    return out


def ue_metrics(name: str, seed: int = DEFAULT_SEED, ues_per_cell: int = DEFAULT_UES_PER_CELL,
               network: Network | None = None, config: RadioConfig | None = None
               ) -> pd.DataFrame:
    """Per-UE calibration metrics of a case: one row per dropped UE with ``x_m``, ``y_m``,
    ``h_ut_m``, ``indoor``, ``serving_cell``, ``coupling_loss_db``, ``geometry_db`` and
    ``geometry_no_noise_db`` (see the module docstring for the definitions).

    ``network`` defaults to :func:`build_network` (pass a changed copy to study e.g. tilt);
    ``config`` supplies the thermal noise density and the UE noise figure.
    """
    s = setup(name)
    net = network if network is not None else build_network(name)
    cfg = config or RadioConfig()
    rng = np.random.default_rng(seed)
    ues = drop_ues(net, s, ues_per_cell, rng)
    cg = coupling_gain_db(net, s, ues, rng)  # [n_ue, n_cell]
    tx = net.cells["tx_power_dbm"].to_numpy(dtype=float)
    rx_mw = 10.0 ** ((cg + tx[None, :]) / 10.0)  # [n_ue, n_cell]
    srv = np.argmax(cg + tx[None, :], axis=1)  # max RSRP (equal PRBs per cell)
    rows = np.arange(len(srv))
    signal = rx_mw[rows, srv]
    interf = rx_mw.sum(axis=1) - signal
    bw_hz = net.cells["bandwidth_mhz"].to_numpy(dtype=float)[srv] * 1e6
    noise_mw = 10.0 ** ((cfg.thermal_noise_dbm_hz + cfg.noise_figure_db
                         + 10.0 * np.log10(bw_hz)) / 10.0)
    return pd.DataFrame({
        "x_m": ues.x_m, "y_m": ues.y_m, "h_ut_m": ues.h_ut_m, "indoor": ues.indoor,
        "serving_cell": net.cells["cell_id"].to_numpy()[srv],
        "coupling_loss_db": cg[rows, srv],
        "geometry_db": 10.0 * np.log10(signal / (interf + noise_mw)),
        "geometry_no_noise_db": 10.0 * np.log10(signal / interf),
    })


# --- reference and comparison ----------------------------------------------------------------
@lru_cache(maxsize=1)
def reference_table() -> pd.DataFrame:
    """The shipped copy of the 3GPP calibration percentiles (see twin/data/NOTICE.md)."""
    path = resources.files("twin") / "data" / "reference" / REFERENCE_FILE
    with resources.as_file(path) as p:
        return pd.read_csv(p)


def reference_percentiles(name: str, metric: str) -> pd.Series:
    """Reference values of one metric (``coupling_loss_db`` or ``geometry_db``) by percentile
    (0, 5, ... 100) for TR 36.873 phase 1, K = M = 1, of the case ``name``."""
    s = setup(name)
    if metric not in REFERENCE_METRICS:
        raise ValidationError("calibration", f"unknown metric {metric!r}; use one of "
                              f"{list(REFERENCE_METRICS)}")
    var, ref_metric = REFERENCE_METRICS[metric]
    ref = reference_table()
    sel = ref[(ref["matlab_var"] == var) & (ref["metric"] == ref_metric)
              & (ref["scenario"] == f"{s.reference_scenario} {REFERENCE_CONFIG}")]
    if sel.empty:
        raise ValidationError("calibration", f"no reference rows for {name} {metric} in "
                              f"{REFERENCE_FILE}")
    return sel.set_index("percentile")["value"].astype(float).sort_index()


def compare_with_reference(name: str, seed: int = DEFAULT_SEED,
                           ues_per_cell: int = DEFAULT_UES_PER_CELL,
                           percentiles: tuple[int, ...] = PERCENTILES,
                           metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our percentiles beside TR 36.873 phase 1's (K = M = 1).

    Returns one row per (metric, percentile) with columns ``metric`` (``coupling_loss_db``,
    ``geometry_db``), ``percentile``, ``ours``, ``reference`` and ``difference`` (ours minus
    reference, dB). ``metrics`` reuses a :func:`ue_metrics` result instead of dropping UEs.
    """
    m = metrics if metrics is not None else ue_metrics(name, seed, ues_per_cell)
    rows = []
    for metric in REFERENCE_METRICS:
        ref = reference_percentiles(name, metric)
        for p in percentiles:
            if p not in ref.index:
                raise ValidationError("calibration", f"percentile {p} is not in the reference; "
                                      "use multiples of 5 in 0..100")
            ours = float(np.percentile(m[metric].to_numpy(), p))
            rows.append({"metric": metric, "percentile": int(p), "ours": ours,
                         "reference": float(ref.loc[p]),
                         "difference": ours - float(ref.loc[p])})
    return pd.DataFrame(rows, columns=["metric", "percentile", "ours", "reference",
                                       "difference"])


# --- the twin scenario -----------------------------------------------------------------------
def build_grid(network: Network, s: CalibSetup) -> Grid:
    r = s.isd_m / np.sqrt(3.0)
    xs, ys = network.sites["x_m"], network.sites["y_m"]
    return Grid.covering(xs.min() - r, ys.min() - r, xs.max() + r, ys.max() + r,
                         s.grid_spacing_m)


def cluster_mask(grid: Grid, network: Network, s: CalibSetup) -> NDArray[np.bool_]:
    """Bins ``[n_bin]`` inside one of the 19 sites' hexagons."""
    x, y = grid.xy()
    site_xy = network.sites[["x_m", "y_m"]].to_numpy(dtype=float)
    inside = np.zeros(grid.n_bin, dtype=bool)
    for sx, sy in site_xy:  # 19 sites, vectorised over bins
        inside |= in_site_hexagon(x - sx, y - sy, s.isd_m)
    return inside


def build(name: str = "calib-uma") -> Scenario:
    """The calibration layout as a grid-based twin scenario (see the module docstring)."""
    s = setup(name)
    net = build_network(name)
    grid = build_grid(net, s)
    inside = cluster_mask(grid, net, s)
    total = DEMAND_MBPS_PER_CELL * len(net.cells)
    spatial = np.where(inside, total / max(int(inside.sum()), 1), 0.0)
    demand = Demand.from_profile(grid, spatial, mean_profile())
    config = RadioConfig(ue_height_m=UE_HEIGHT_M, noise_figure_db=9.0)
    return Scenario(
        name=s.name, description=REGISTRY[s.name].description, network=net, demand=demand,
        config=config,
        notes=(f"uniform demand {DEMAND_MBPS_PER_CELL:g} Mbit/s per cell at the busy hour over "
               "the 19 hexagons (Milan mean diurnal shape); grid twin without wrap-around, "
               "O2I or UE floors: `celltwin calibrate-3gpp` gives the 3GPP statistics",))


def build_uma() -> Scenario:
    return build("calib-uma")


def build_umi() -> Scenario:
    return build("calib-umi")
