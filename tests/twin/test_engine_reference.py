"""The optimised engine against a slow, obvious reference of the same model.

The reference builds dense ``[n_bin, n_cell]`` arrays with a Python loop over cells, using
only the public physics functions (TR 38.901 path loss and antenna pattern), and does the rest
the plain way: association by argmax of RSRP + CIO (exact ties to the sector whose boresight
is closest to the bin's bearing, then the lowest index), co-channel interference summed over
cells, truncated Shannon with the layer power split, and plain fixed-point iteration.

The model it re-derives (docs/model.md, "Far-field interference"): exact gains within
``near_link_distance_m`` of a mast; beyond it, for interference only, the bilinear
interpolation (linear power) of the cell's exact gains at the four lattice nodes around the bin
(node ``(bx, by)`` on bin ``(bx k, by k)``, ``k = round(far_field_block_m / spacing)``, nodes
beyond ``max_link_distance_m`` count as 0). Servers are chosen from exact gains of every cell
within ``max_link_distance_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from twin.antenna import gain_dbi
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.fixedpoint import anderson_iteration, plain_iteration
from twin.grid import Grid
from twin.invariants import check_state
from twin.network import Network
from twin.propagation import expected_path_loss_db, path_loss_db
from twin.scenarios.layout import LTE_BAND3_MACRO, hex_sites, three_sector_network_tables

MACRO = LTE_BAND3_MACRO
SMALL = {"cell_id": "SC1", "site_id": "SC", "azimuth_deg": 0.0, "mech_tilt_deg": 0.0,
         "elec_tilt_deg": 0.0, "tx_power_dbm": 30.0, "fc_ghz": 1.8, "bandwidth_mhz": 20.0,
         "n_prb": 100, "scs_khz": 15.0, "mimo_layers": 2, "height_m": 8.0, "antenna": "omni",
         "antenna_gain_dbi": 5.0, "h_beamwidth_deg": 65.0, "v_beamwidth_deg": 10.0,
         "cio_db": 4.0, "scenario": "umi"}
#: A tight far field in a small grid: exact within 500 m, lattice of 3 bins (60 m), links to
#: 1.5 km; the grid reaches 1.1 km beyond the outer masts, so many bins are near no mast.
TIGHT = RadioConfig(near_link_distance_m=500.0, far_field_block_m=60.0,
                    max_link_distance_m=1500.0)


def network() -> Network:
    """7 three-sector macro sites (ISD 400 m) and an omni small cell with a 4 dB CIO."""
    sites, cells = three_sector_network_tables(hex_sites(1, 400.0), MACRO)
    sites = pd.concat([sites, pd.DataFrame({"site_id": ["SC"], "x_m": [131.3],
                                             "y_m": [87.9]})], ignore_index=True)
    cells = pd.concat([cells, pd.DataFrame([SMALL])], ignore_index=True)
    return Network.from_tables(sites, cells, name="ref7+1")


def grid() -> Grid:
    # 70 x 70 bins of 40 m (4900 bins, 2.8 km square), off-centre so that no bin centre sits
    # on a mast.
    return Grid(x0_m=-1391.0, y0_m=-1377.0, spacing_m=40.0, nx=70, ny=70)


def demand(g: Grid) -> Demand:
    rng = np.random.default_rng(5)
    spatial = rng.gamma(2.0, 0.05, g.n_bin) * (rng.random(g.n_bin) > 0.05)
    return Demand.from_profile(g, spatial, np.ones(24))


# --- the reference -------------------------------------------------------------------------
@dataclass
class Ref:
    serving: np.ndarray   # [n_bin]
    rsrp: np.ndarray      # [n_bin]
    signal: np.ndarray    # [n_bin] mW
    noise: np.ndarray     # [n_bin] mW
    model: np.ndarray     # [n_bin, n_cell] co-channel interference power at rho = 1 (mW)
    margin: float         # smallest non-tie gap between best and second-best score (dB)

    def load(self, rho, offered, rows, cfg):
        n_cell = len(rows)
        has = self.serving >= 0
        srv = np.maximum(self.serving, 0)
        interf = self.model @ np.minimum(rho, 1.0)
        sinr = np.where(has, self.signal / (interf + self.noise), 0.0)
        layers = rows["mimo_layers"].to_numpy(float)[srv]
        floor = min(cfg.alpha * math.log2(1 + 10 ** (cfg.sinr_min_db / 10)), cfg.se_max_bps_hz)
        se = layers * np.maximum(np.minimum(cfg.alpha * np.log2(1 + sinr / layers),
                                            cfg.se_max_bps_hz), floor)
        prb_bw = 12.0 * rows["scs_khz"].to_numpy(float)[srv] * 1e3
        new = np.zeros(n_cell)
        for b in np.flatnonzero(has & (offered > 0)):
            new[srv[b]] += offered[b] * 1e6 / (se[b] * prb_bw[b])
        return new / rows["n_prb"].to_numpy(float), sinr

    def solve(self, offered, rows, cfg):
        rho = np.zeros(len(rows))
        for _ in range(5000):
            new, _ = self.load(rho, offered, rows, cfg)
            done = np.max(np.abs(new - rho)) < 1e-13
            rho = new
            if done:
                break
        _, sinr = self.load(rho, offered, rows, cfg)
        return rho, sinr


def gains_db(points_x, points_y, cell, cfg) -> np.ndarray:
    """Exact coupling gain (dB, stored as float32 like the engine) of one cell to points."""
    dx, dy = points_x - cell["x_m"], points_y - cell["y_m"]
    d2d = np.hypot(dx, dy)
    h = float(cell["height_m"])
    scen, fc = str(cell["scenario"]), float(cell["fc_ghz"])
    if cfg.los_model == "expected":
        pl = expected_path_loss_db(scen, d2d, h, cfg.ue_height_m, fc)
    else:
        pl = path_loss_db(scen, d2d, h, cfg.ue_height_m, fc, cfg.los_model == "los")
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    zenith = 90.0 + np.degrees(np.arctan2(h - cfg.ue_height_m, np.maximum(d2d, 1.0)))
    g = gain_dbi(str(cell["antenna"]), bearing, zenith, float(cell["azimuth_deg"]),
                 float(cell["mech_tilt_deg"]), float(cell["elec_tilt_deg"]),
                 float(cell["antenna_gain_dbi"]), float(cell["h_beamwidth_deg"]),
                 float(cell["v_beamwidth_deg"]))
    return (g - pl).astype(np.float32).astype(np.float64)


def reference(net: Network, g: Grid, cfg: RadioConfig) -> Ref:
    rows = net.cells_with_sites()
    n_cell, n_bin = len(rows), g.n_bin
    xs, ys = g.xy()
    k = round(cfg.far_field_block_m / g.spacing_m) if cfg.far_field_block_m > 0 else 0
    near_m = min(cfg.near_link_distance_m, cfg.max_link_distance_m)
    far_on = k >= 2 and near_m + 2 * k * g.spacing_m <= cfg.max_link_distance_m
    ix, iy = np.arange(n_bin) % g.nx, np.arange(n_bin) // g.nx
    exact = np.full((n_bin, n_cell), -np.inf)  # received power, dBm
    model = np.zeros((n_bin, n_cell))          # interference model at rho = 1, mW
    for c in range(n_cell):  # the obvious loop over cells
        cell = rows.iloc[c]
        d2 = (xs - cell["x_m"]) ** 2 + (ys - cell["y_m"]) ** 2
        reach = d2 <= cfg.max_link_distance_m**2
        rx = float(cell["tx_power_dbm"]) + gains_db(xs, ys, cell, cfg)
        exact[reach, c] = rx[reach]
        model[reach, c] = 10.0 ** (rx[reach] / 10.0)
        if far_on:
            # Node gains on the lattice, then bilinear interpolation per bin beyond near_m.
            nbx, nby = (g.nx - 1) // k + 2, (g.ny - 1) // k + 2
            nxs = g.x0_m + np.tile(np.arange(nbx), nby) * k * g.spacing_m
            nys = g.y0_m + np.repeat(np.arange(nby), nbx) * k * g.spacing_m
            nd2 = (nxs - cell["x_m"]) ** 2 + (nys - cell["y_m"]) ** 2
            node_mw = np.where(nd2 <= cfg.max_link_distance_m**2,
                               10.0 ** ((float(cell["tx_power_dbm"])
                                         + gains_db(nxs, nys, cell, cfg)) / 10.0), 0.0)
            fb = np.flatnonzero(d2 > near_m**2)  # beyond the near zone: interpolated
            fx, fy = (ix[fb] % k) / k, (iy[fb] % k) / k
            n00 = (iy[fb] // k) * nbx + ix[fb] // k
            model[fb, c] = ((1 - fx) * (1 - fy) * node_mw[n00] + fx * (1 - fy) * node_mw[n00 + 1]
                            + (1 - fx) * fy * node_mw[n00 + nbx]
                            + fx * fy * node_mw[n00 + nbx + 1])
    n_prb = rows["n_prb"].to_numpy(float)
    score = exact - 10.0 * np.log10(12.0 * n_prb)[None, :] + rows["cio_db"].to_numpy(float)
    best = score.max(axis=1)
    serving = np.where(np.isfinite(best), np.argmax(score, axis=1), -1)
    az = rows["azimuth_deg"].to_numpy(float)
    omni = (rows["antenna"] == "omni").to_numpy()
    n_best = np.sum(score == best[:, None], axis=1)
    for b in np.flatnonzero(np.isfinite(best) & (n_best > 1)):
        off = []
        tied = np.flatnonzero(score[b] == best[b])
        for c in tied:
            bearing = math.degrees(math.atan2(xs[b] - rows["x_m"].iloc[c],
                                              ys[b] - rows["y_m"].iloc[c]))
            off.append(0.0 if omni[c] else abs((bearing - az[c] + 180.0) % 360.0 - 180.0))
        serving[b] = tied[int(np.argmin(off))]  # argmin: the lowest index among equals
    second = np.where(score < best[:, None], score, -np.inf).max(axis=1)
    both = np.isfinite(best) & np.isfinite(second)
    margin = float(np.min(best[both] - second[both]))
    has = serving >= 0
    srv = np.maximum(serving, 0)
    rx_srv = np.where(has, exact[np.arange(n_bin), srv], -np.inf)
    fc = rows["fc_ghz"].to_numpy(float)
    co = np.isclose(fc[None, :], fc[srv][:, None])
    co[np.arange(n_bin), srv] = False  # the server does not interfere with itself
    model = np.where(co & has[:, None], model, 0.0)
    bw = rows["bandwidth_mhz"].to_numpy(float)[srv] * 1e6
    noise = 10.0 ** ((cfg.thermal_noise_dbm_hz + cfg.noise_figure_db + 10 * np.log10(bw)) / 10)
    return Ref(serving, np.where(has, rx_srv - 10 * np.log10(12 * n_prb[srv]), -np.inf),
               np.where(has, 10.0 ** (rx_srv / 10.0), 0.0), noise, model, margin)


# --- the comparisons ---------------------------------------------------------------------
def assert_matches(tw: Twin, ref: Ref, offered: np.ndarray, cfg: RadioConfig) -> None:
    rows = tw.network.cells_with_sites()
    assert ref.margin > 1e-4, "the layout has a near-tie; move the small cell"
    asm = tw.assembly
    np.testing.assert_array_equal(asm.serving, ref.serving)
    np.testing.assert_allclose(asm.rsrp_dbm, ref.rsrp, atol=1e-9)
    np.testing.assert_allclose(asm.signal_mw, ref.signal, rtol=1e-12)
    # The load map itself, at some utilisation (tight: same model, different arithmetic).
    rho = np.linspace(0.1, 1.3, len(rows))
    f_ref, _ = ref.load(rho, offered, rows, cfg)
    np.testing.assert_allclose(tw.load_operator(offered)(rho), f_ref, rtol=1e-9)
    # The fixed point and the per-bin SINR at it.
    st = tw.solve(offered, 0)
    check_state(st, tw)
    assert st.converged
    rho_ref, sinr_ref = ref.solve(offered, rows, cfg)
    np.testing.assert_allclose(st.prb_util, rho_ref, atol=3e-6)
    has = ref.serving >= 0
    np.testing.assert_allclose(st.res_bin["sinr_db"].to_numpy()[has],
                               10 * np.log10(sinr_ref[has]), atol=1e-4)
    assert np.all(np.isneginf(st.res_bin["sinr_db"].to_numpy()[~has]))


@pytest.fixture(scope="module")
def case():
    net, g = network(), grid()
    return net, g, demand(g)


def test_reference_setup_has_teeth(case):
    net, g, _dem = case
    rows = net.cells_with_sites()
    ref = reference(net, g, TIGHT)
    srv = ref.serving
    # Every cell serves bins, some bins have exact ties under a mast, some bins are farther
    # than the near distance from every mast (their server needs the exact outer links),
    # and the far field carries a noticeable share of the interference.
    assert set(srv[srv >= 0].tolist()) == set(range(len(rows)))
    xs, ys = g.xy()
    d_min = np.min(np.hypot(xs[:, None] - rows["x_m"].to_numpy()[None, :],
                            ys[:, None] - rows["y_m"].to_numpy()[None, :]), axis=1)
    assert np.sum(d_min > TIGHT.near_link_distance_m) > 100
    exact_only = reference(net, g, RadioConfig(near_link_distance_m=500.0, far_field_block_m=0.0,
                                               max_link_distance_m=1500.0))
    far_share = np.abs(ref.model - exact_only.model).sum() / exact_only.model.sum()
    assert far_share > 1e-4


@pytest.mark.parametrize("cfg", [TIGHT, RadioConfig(),
                                 RadioConfig(far_field_block_m=0.0, max_link_distance_m=1500.0)],
                         ids=["tight-far-field", "default", "all-exact"])
def test_engine_matches_reference(case, cfg):
    net, g, dem = case
    tw = Twin(net, dem, cfg)
    assert (tw.cache.far is None) == (cfg.far_field_block_m == 0.0)
    assert_matches(tw, reference(net, g, cfg), dem.at(0), cfg)


def test_tie_rule_under_the_mast(case):
    net, g, dem = case
    tw = Twin(net, dem, TIGHT)
    ref = reference(net, g, TIGHT)
    rows = net.cells_with_sites()
    # Bins next to the central mast see all three sectors at the 30 dB floor.
    xs, ys = g.xy()
    close = np.flatnonzero(np.hypot(xs, ys) < 45.0)
    assert close.size >= 2
    for b in close:
        assert rows["site_id"].iloc[ref.serving[b]] == "S01"
    np.testing.assert_array_equal(tw.assembly.serving[close], ref.serving[close])


def test_far_field_is_close_to_all_exact(case):
    # The approximation's price with the default parameters (here an 80 m lattice beyond
    # 1 km): the same servers; utilisation within 1e-4 for the cells inside the layout, and
    # within 1 % for the outward-facing sectors, which serve (overloaded) the bins up to
    # 1.1 km beyond the layout, where every interferer is in the far field.
    net, _g, dem = case
    far = Twin(net, dem).run(0)
    exact = Twin(net, dem, RadioConfig(far_field_block_m=0.0)).run(0)
    np.testing.assert_array_equal(far.serving, exact.serving)
    centre = net.cells["site_id"].isin(["S01", "SC"]).to_numpy()
    np.testing.assert_allclose(far.prb_util[centre], exact.prb_util[centre], rtol=0, atol=1e-4)
    np.testing.assert_allclose(far.prb_util, exact.prb_util, rtol=1e-2)
    assert not np.array_equal(far.prb_util, exact.prb_util)  # it is an approximation


@pytest.mark.parametrize("change", ["tilt", "power+cio", "add-cell"])
def test_what_if_equals_full_run_of_changed_network(case, change):
    net, g, dem = case
    base = Twin(net, dem, TIGHT)
    st0 = base.run(0)
    check_state(st0, base)
    if change == "tilt":
        net2 = net.with_cell_changes("S02-1", {"elec_tilt_deg": 10.0})
    elif change == "power+cio":
        net2 = net.with_cell_changes("S05-2", {"tx_power_dbm": 40.0, "cio_db": 3.0})
    else:
        sites = pd.DataFrame({"site_id": ["SC2"], "x_m": [-251.0], "y_m": [-143.0]})
        cells = pd.DataFrame([{**SMALL, "cell_id": "SC2", "site_id": "SC2", "cio_db": 8.0,
                               "tx_power_dbm": 37.0}])
        net2 = net.with_added(sites=sites, cells=cells)
    n_before = base.cache.computed
    wi = base.what_if(net2)
    st = wi.run(0, warm_start=np.r_[st0.prb_util, np.zeros(len(net2.cells) - len(net.cells))])
    check_state(st, wi)
    assert st.converged
    # The what-if recomputed at most the changed cell's links and reused the rest.
    assert base.cache.computed - n_before <= 1
    assert wi.timings["links"] < 1.0
    fresh = Twin(net2, dem, TIGHT)
    st_full = fresh.run(0)
    np.testing.assert_array_equal(st.serving, st_full.serving)
    np.testing.assert_allclose(st.res_bin["rsrp_dbm"], st_full.res_bin["rsrp_dbm"], atol=1e-12)
    np.testing.assert_allclose(st.prb_util, st_full.prb_util, atol=5e-6)
    # ... and both match the reference of the changed network.
    ref = reference(net2, g, TIGHT)
    np.testing.assert_array_equal(st.serving, ref.serving)
    rho_ref, _ = ref.solve(dem.at(0), net2.cells_with_sites(), TIGHT)
    np.testing.assert_allclose(st.prb_util, rho_ref, atol=5e-6)
    assert np.max(np.abs(st_full.prb_util[:len(net.cells)] - st0.prb_util)) > 1e-3


def test_fixed_point_solvers_agree_and_report_non_convergence():
    # A monotone contraction with a known fixed point (I - A)^-1 b: both solvers reach it and
    # stop on the same rule; too few evaluations is reported, not hidden.
    rng = np.random.default_rng(3)
    a = rng.random((30, 30))
    a *= 0.8 / np.abs(np.linalg.eigvals(a)).max()
    b = rng.random(30)
    exact = np.linalg.solve(np.eye(30) - a, b)

    def load(x):
        return a @ x + b

    plain = plain_iteration(load, np.zeros(30), 1e-10, 5000)
    anderson = anderson_iteration(load, exact * 0.9, 1e-10, 5000)
    for rho, converged, residual, _its in (plain, anderson):
        assert converged and residual < 1e-10
        np.testing.assert_allclose(rho, exact, rtol=1e-8)
    assert anderson[3] < plain[3] / 3  # the warm, accelerated solve needs far fewer steps
    rho, converged, residual, its = anderson_iteration(load, np.zeros(30), 1e-10, 3)
    assert not converged and its == 3 and residual > 1e-10
