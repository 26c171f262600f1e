"""Engine invariants and behaviour, and a slow, obvious reference of SINR and load.

Every run is checked with :func:`twin.invariants.check_state`. The physics of the link gains
(path loss, antenna) is tested in test_propagation / test_antenna; here the reference reuses
those public functions per link and re-derives everything the engine assembles: association
(max RSRP + CIO), co-channel interference, noise, truncated Shannon with the layer power split
(TR 36.942 A.2) and the load-coupling fixed point (Siomina & Yuan 2012), with plain Python
loops over bins and cells.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from twin.antenna import gain_dbi
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.grid import Grid
from twin.invariants import check_state
from twin.network import Network
from twin.propagation import los_probability, path_loss_db

from .conftest import SmallCase


def run_checked(tw: Twin, hour: int | None = None):
    st = tw.run(hour)
    check_state(st, tw)
    return st


def cell_row(st, cell_id: str) -> pd.Series:
    return st.res_cell.set_index("cell_id").loc[cell_id]


# --- association and conservation ---------------------------------------------------------
def test_one_server_per_bin_and_traffic_conserved(hex7: SmallCase):
    tw = hex7.twin()
    st = run_checked(tw)
    assert st.converged
    srv = np.asarray(st.serving)
    assert srv.shape == (hex7.demand.grid.n_bin,)
    assert np.all(srv >= 0)  # every bin of this grid is within reach of some cell
    assert st.res_bin["serving_cell"].notna().all()
    # Each bin counted once: the footprints partition the grid.
    assert int(st.res_cell["n_bins"].sum()) == hex7.demand.grid.n_bin
    offered = hex7.demand.at(st.hour)
    assert st.res_cell["offered_mbps"].sum() == pytest.approx(offered.sum(), rel=1e-12)
    assert st.kpis["served_mbps"] + st.kpis["unserved_mbps"] == pytest.approx(offered.sum())
    # The serving cell is the one with the best RSRP + CIO (all CIO 0 here): no other cell
    # gives a bin more power per resource element.
    asm = tw.assembly
    rsrp = asm.rx_dbm - 10.0 * np.log10(12.0 * 100.0)
    best = np.full(hex7.demand.grid.n_bin, -np.inf)
    np.maximum.at(best, asm.link_bin, rsrp)
    np.testing.assert_allclose(st.res_bin["rsrp_dbm"].to_numpy(), best, atol=1e-9)


def test_check_state_catches_a_broken_state(hex7: SmallCase):
    # The checker must be able to fail: tamper with a result and expect an InvariantError.
    tw = hex7.twin()
    st = tw.run()
    rc = st.res_cell.copy()
    rc.loc[0, "served_mbps"] += 1.0
    broken = type(st)(**{**st.__dict__, "res_cell": rc})
    with pytest.raises(AssertionError, match="offered"):
        check_state(broken, tw)


# --- monotone responses to configuration ---------------------------------------------------
def test_more_electrical_downtilt_shrinks_footprint(hex7: SmallCase):
    # From 8 deg on the main lobe (10 deg vertical beamwidth) points inside the 267 m cell
    # radius; below that, less tilt loses the area under the mast to the co-sited sectors
    # (a real effect, which is why the sweep starts at 8 deg).
    base = hex7.twin()
    sizes = []
    for tilt in (8.0, 11.0, 14.0, 17.0):
        net = hex7.network.with_cell_changes("S01-1", {"elec_tilt_deg": tilt})
        tw = base.what_if(net)
        st = run_checked(tw)
        sizes.append(int(cell_row(st, "S01-1")["n_bins"]))
    assert np.all(np.diff(sizes) < 0), sizes
    assert sizes[0] >= 1.5 * sizes[-1]


def test_positive_cio_enlarges_footprint(hex7: SmallCase):
    base = hex7.twin()
    sizes, loads = [], []
    for cio in (0.0, 2.0, 4.0, 6.0):
        tw = base.what_if(hex7.network.with_cell_changes("S05-1", {"cio_db": cio}))
        st = run_checked(tw)
        sizes.append(int(cell_row(st, "S05-1")["n_bins"]))
        loads.append(float(cell_row(st, "S05-1")["offered_mbps"]))
    assert np.all(np.diff(sizes) > 0), sizes
    assert np.all(np.diff(loads) > 0), loads
    # CIO changes association only, not link gains: nothing new was computed.
    assert base.cache.computed == len(hex7.network.cells)


def test_more_neighbour_load_lowers_sinr(hex7: SmallCase):
    tw = hex7.twin()
    st = run_checked(tw)
    target, offered = "S01-1", hex7.demand.at(st.hour)
    ids = hex7.network.cell_ids
    i_t = ids.index(target)
    srv = np.asarray(st.serving)
    # A bin of the target cell and its strongest co-channel interferer.
    in_t = np.flatnonzero(srv == i_t)
    b = int(in_t[len(in_t) // 2])
    row = tw.assembly.interf.getrow(b).toarray().ravel()
    j = int(np.argmax(row))
    assert j != i_t and row[j] > 0
    more = offered.copy()
    more[srv == j] *= 1.6  # only the interferer's own footprint gets busier
    assert np.all(more[srv == i_t] == offered[srv == i_t])
    st2 = tw.solve(more, st.hour)
    check_state(st2, tw)
    assert st2.prb_util[j] > st.prb_util[j] + 0.02
    assert st2.res_bin["sinr_db"].iloc[b] < st.res_bin["sinr_db"].iloc[b] - 0.05
    # ... so the target cell needs more PRBs for the same traffic.
    assert st2.prb_util[i_t] > st.prb_util[i_t]
    assert cell_row(st2, target)["offered_mbps"] == cell_row(st, target)["offered_mbps"]


# --- overload and the solver's report ----------------------------------------------------
def test_overload_is_reported_as_unserved_never_clipped(hex7: SmallCase):
    demand = Demand(hex7.demand.grid, hex7.demand.mbps * 3.0)
    tw = hex7.twin(demand=demand)
    st = run_checked(tw)
    rc = st.res_cell
    over = rc[rc["prb_util"] > 1.0]
    assert len(over) >= 2
    assert st.kpis["peak_prb_util"] > 1.2  # not clipped to 1
    np.testing.assert_allclose(over["served_mbps"], over["offered_mbps"] / over["prb_util"])
    assert np.all(over["unserved_mbps"] > 0)
    np.testing.assert_allclose(over["prb_used"], 100.0)
    under = rc[rc["prb_util"] <= 1.0]
    np.testing.assert_array_equal(under["unserved_mbps"], 0.0)
    assert st.kpis["unserved_mbps"] == pytest.approx(float(over["unserved_mbps"].sum()))
    assert st.kpis["n_overloaded"] >= len(over)


def test_non_convergence_is_reported(hex7: SmallCase):
    cfg = RadioConfig(max_iterations=1)
    tw = Twin(hex7.network, hex7.demand, cfg)
    st = run_checked(tw)
    assert st.converged is False
    assert st.kpis["converged"] is False
    assert st.iterations == 1
    assert st.residual > cfg.tolerance
    # The same twin with enough iterations converges, below tolerance.
    st_ok = run_checked(hex7.twin())
    assert st_ok.converged and st_ok.residual < hex7.config.tolerance


def test_converged_rho_is_a_fixed_point(hex7: SmallCase):
    tw = hex7.twin()
    st = run_checked(tw)
    rho = np.asarray(st.prb_util)
    f = tw.load_operator(hex7.demand.at(st.hour))
    np.testing.assert_allclose(f(rho), rho, rtol=0, atol=2 * hex7.config.tolerance)
    # ... and not a fixed point of a different demand: the check can fail.
    g = tw.load_operator(hex7.demand.at(st.hour) * 1.1)
    assert np.max(np.abs(g(rho) - rho)) > 100 * hex7.config.tolerance
    # A warm start converges to the same point.
    st_w = tw.run(st.hour, warm_start=rho * 0.5)
    np.testing.assert_allclose(st_w.prb_util, rho, atol=1e-5)


# --- what-if and immutability ------------------------------------------------------------
def test_what_if_equals_a_full_run_and_computes_one_cell(hex7: SmallCase):
    base = hex7.twin()
    run_checked(base)
    n_cell = len(hex7.network.cells)
    assert base.cache.computed == n_cell
    changed = hex7.network.with_cell_changes("S02-2", {"elec_tilt_deg": 9.0, "tx_power_dbm": 43.0})
    wi = base.what_if(changed)
    st = run_checked(wi)
    assert base.cache.computed == n_cell + 1  # only the re-tilted cell
    fresh_twin = Twin(changed, hex7.demand, hex7.config)
    fresh = run_checked(fresh_twin)
    assert fresh_twin.cache.computed == n_cell
    pd.testing.assert_frame_equal(st.res_cell, fresh.res_cell, rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(st.res_bin, fresh.res_bin, rtol=1e-12, atol=1e-12)
    # The change did something.
    before = run_checked(base)
    assert not np.allclose(before.prb_util, st.prb_util)
    # A power-only change reuses every cached gain.
    wi2 = base.what_if(hex7.network.with_cell_changes("S03-1", {"tx_power_dbm": 40.0}))
    run_checked(wi2)
    assert base.cache.computed == n_cell + 1


def test_what_if_adding_a_cell_that_serves_no_bin_equals_a_full_run(hex7: SmallCase):
    # A weak omni cell 30 m from a macro mast wins no bin: the what-if's window of bins whose
    # server can change is empty (it crashed on an empty bounding box before).
    base = hex7.twin()
    before = run_checked(base)
    mast = hex7.network.sites.iloc[0]
    site = mast.to_frame().T.assign(site_id="W01", x_m=mast["x_m"] + 30.0)
    site = site.astype(hex7.network.sites.dtypes.to_dict())
    site[["lat_deg", "lon_deg"]] = np.nan  # placed by x/y only, as a candidate site is
    row = hex7.network.cells.iloc[0].to_dict() | {
        "cell_id": "W01-1", "site_id": "W01", "antenna": "omni", "antenna_gain_dbi": 0.0,
        "h_beamwidth_deg": 360.0, "v_beamwidth_deg": 65.0, "elec_tilt_deg": 0.0,
        "height_m": 6.0, "tx_power_dbm": 0.0, "scenario": "umi"}
    changed = hex7.network.with_added(site, pd.DataFrame([row]))
    st = run_checked(base.what_if(changed))
    assert (st.res_bin["serving_cell"] != "W01-1").all()
    fresh = run_checked(Twin(changed, hex7.demand, hex7.config))
    pd.testing.assert_frame_equal(st.res_cell, fresh.res_cell, rtol=1e-9, atol=1e-9)
    pd.testing.assert_frame_equal(st.res_bin, fresh.res_bin, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(st.prb_util[:-1], before.prb_util, atol=1e-5)


def test_what_if_of_a_twin_not_yet_run_shares_its_cache(hex7: SmallCase):
    # An empty cache must be shared too (it is falsy: len 0).
    base = hex7.twin()
    wi = base.what_if(hex7.network.with_cell_changes("S01-1", {"cio_db": 2.0}))
    assert wi.cache is base.cache
    run_checked(wi)
    run_checked(base)
    assert base.cache.computed == len(hex7.network.cells)


def test_run_never_mutates_its_inputs(hex7: SmallCase):
    net = hex7.network
    sites0, cells0, cand0 = net.sites.copy(deep=True), net.cells.copy(deep=True), \
        net.candidates.copy(deep=True)
    mbps0 = np.array(hex7.demand.mbps, copy=True)
    tw = hex7.twin()
    st = run_checked(tw)
    tw.run(3)
    tw.solve(hex7.demand.at(5) * 2.0, 5)
    tw.what_if(net.with_cell_changes("S01-1", {"cio_db": 3.0})).run()
    pd.testing.assert_frame_equal(net.sites, sites0)
    pd.testing.assert_frame_equal(net.cells, cells0)
    pd.testing.assert_frame_equal(net.candidates, cand0)
    np.testing.assert_array_equal(hex7.demand.mbps, mbps0)
    # The State's arrays are read-only, so a caller cannot corrupt a cached result either.
    with pytest.raises(ValueError):
        st.prb_util[0] = 5.0
    with pytest.raises(ValueError):
        st.serving[0] = 0


def test_shadowing_is_reproducible_and_shared_by_a_site(hex7: SmallCase):
    def run_with(seed):
        tw = Twin(hex7.network, hex7.demand, RadioConfig(shadowing_seed=seed))
        return tw, run_checked(tw)

    tw_a, a = run_with(3)
    _, b = run_with(3)
    _, c = run_with(4)
    _, none = run_with(None)
    pd.testing.assert_frame_equal(a.res_cell, b.res_cell)
    assert not np.allclose(a.prb_util, c.prb_util)
    assert not np.allclose(a.prb_util, none.prb_util)
    # Sectors of one site see the same shadowing field (one draw per site): the difference of
    # their gains to any bin is the antenna difference alone, as without shadowing.
    tw_0 = Twin(hex7.network, hex7.demand, hex7.config)
    rows = hex7.network.cells_with_sites()
    g_sh = {k: tw_a.cache.get(rows.iloc[k]) for k in (0, 1, 3)}
    g_0 = {k: tw_0.cache.get(rows.iloc[k]) for k in (0, 1, 3)}
    np.testing.assert_array_equal(g_sh[0].bins, g_sh[1].bins)
    np.testing.assert_allclose(g_sh[0].gain_db - g_sh[1].gain_db,
                               g_0[0].gain_db - g_0[1].gain_db, atol=1e-3)
    # ... while another site's field is a different draw.
    common = np.intersect1d(g_sh[0].bins, g_sh[3].bins)
    d_sh = (g_sh[0].gain_db[np.searchsorted(g_sh[0].bins, common)]
            - g_sh[3].gain_db[np.searchsorted(g_sh[3].bins, common)])
    d_0 = (g_0[0].gain_db[np.searchsorted(g_0[0].bins, common)]
           - g_0[3].gain_db[np.searchsorted(g_0[3].bins, common)])
    assert np.std(d_sh - d_0) > 3.0  # ~ sqrt(2) x 6 dB (UMa NLOS sigma)


# --- a slow, obvious reference ---------------------------------------------------------------
UE_H = 1.5


def tiny_network() -> Network:
    """5 cells: a 3-sector macro site, one more sector on another carrier at the same mast,
    and an omni small cell (NR 30 kHz, 4 layers, CIO 3 dB) on the macro carrier."""
    sites = pd.DataFrame({"site_id": ["A", "B"], "x_m": [13.2, 331.7], "y_m": [19.6, 151.9]})
    macro = {"tx_power_dbm": 46.0, "fc_ghz": 1.8, "bandwidth_mhz": 20.0, "n_prb": 100,
             "height_m": 25.0, "elec_tilt_deg": 6.0, "antenna_gain_dbi": 17.0,
             "v_beamwidth_deg": 30.0, "scenario": "uma", "mimo_layers": 2}
    cells = pd.DataFrame([
        {"cell_id": "A1", "site_id": "A", "azimuth_deg": 30.0, **macro},
        {"cell_id": "A2", "site_id": "A", "azimuth_deg": 150.0, **macro, "mech_tilt_deg": 3.0},
        {"cell_id": "A3", "site_id": "A", "azimuth_deg": 270.0, **macro},
        {"cell_id": "A1L26", "site_id": "A", "azimuth_deg": 40.0, **macro, "fc_ghz": 2.6,
         "bandwidth_mhz": 10.0, "n_prb": 50, "tx_power_dbm": 43.0, "v_beamwidth_deg": 65.0,
         "antenna_gain_dbi": 15.0},
        {"cell_id": "B1", "site_id": "B", "antenna": "omni", "tx_power_dbm": 30.0,
         "fc_ghz": 1.8, "bandwidth_mhz": 20.0, "n_prb": 51, "scs_khz": 30.0, "mimo_layers": 4,
         "height_m": 8.0, "antenna_gain_dbi": 5.0, "scenario": "umi", "cio_db": 3.0},
    ])
    return Network.from_tables(sites, cells, name="tiny")


def reference_state(net: Network, grid: Grid, offered_mbps: np.ndarray, cfg: RadioConfig):
    """Serving cell, RSRP, SINR (dB) and PRB utilisation with Python loops (slow, obvious)."""
    rows = net.cells_with_sites()
    n_cell = len(rows)
    xs, ys = grid.xy()
    n_bin = grid.n_bin
    rx_dbm = np.zeros((n_bin, n_cell))
    for b in range(n_bin):
        for c in range(n_cell):
            cell = rows.iloc[c]
            dx, dy = xs[b] - cell["x_m"], ys[b] - cell["y_m"]
            d2d = math.hypot(dx, dy)
            h_bs = float(cell["height_m"])
            scen, fc = str(cell["scenario"]), float(cell["fc_ghz"])
            p = float(los_probability(scen, d2d, UE_H))
            pl_l = float(path_loss_db(scen, d2d, h_bs, UE_H, fc, True))
            pl_n = float(path_loss_db(scen, d2d, h_bs, UE_H, fc, False))
            pl = -10.0 * math.log10(p * 10 ** (-pl_l / 10) + (1 - p) * 10 ** (-pl_n / 10))
            bearing = math.degrees(math.atan2(dx, dy)) % 360.0
            zenith = 90.0 + math.degrees(math.atan2(h_bs - UE_H, max(d2d, 1.0)))
            g = float(gain_dbi(str(cell["antenna"]), bearing, zenith, float(cell["azimuth_deg"]),
                               float(cell["mech_tilt_deg"]), float(cell["elec_tilt_deg"]),
                               float(cell["antenna_gain_dbi"]), float(cell["h_beamwidth_deg"]),
                               float(cell["v_beamwidth_deg"])))
            rx_dbm[b, c] = float(cell["tx_power_dbm"]) + g - pl
    n_prb = rows["n_prb"].to_numpy(float)
    prb_bw = 12.0 * rows["scs_khz"].to_numpy(float) * 1e3
    layers = rows["mimo_layers"].to_numpy(float)
    fcs = rows["fc_ghz"].to_numpy(float)
    srv = np.zeros(n_bin, dtype=int)
    rsrp = np.zeros(n_bin)
    noise = np.zeros(n_bin)
    margin = np.inf
    for b in range(n_bin):
        scores = [rx_dbm[b, c] - 10 * math.log10(12 * n_prb[c]) + rows["cio_db"].iloc[c]
                  for c in range(n_cell)]
        order = sorted(range(n_cell), key=lambda c, s=scores: -s[c])
        srv[b] = order[0]
        margin = min(margin, scores[order[0]] - scores[order[1]])
        rsrp[b] = rx_dbm[b, srv[b]] - 10 * math.log10(12 * n_prb[srv[b]])
        bw_hz = rows["bandwidth_mhz"].iloc[srv[b]] * 1e6
        noise[b] = 10 ** ((cfg.thermal_noise_dbm_hz + cfg.noise_figure_db
                           + 10 * math.log10(bw_hz)) / 10)
    assert margin > 1e-3, "reference layout has a tie; move a site"

    def sinr_at(b: int, rho: np.ndarray) -> float:
        s = srv[b]
        interf = sum(min(rho[j], 1.0) * 10 ** (rx_dbm[b, j] / 10) for j in range(n_cell)
                     if j != s and fcs[j] == fcs[s])
        return 10 ** (rx_dbm[b, s] / 10) / (interf + noise[b])

    floor = min(cfg.alpha * math.log2(1 + 10 ** (cfg.sinr_min_db / 10)), cfg.se_max_bps_hz)
    rho = np.zeros(n_cell)
    for _ in range(2000):
        new = np.zeros(n_cell)
        for b in range(n_bin):
            if offered_mbps[b] <= 0:
                continue
            s = srv[b]
            per_layer = sinr_at(b, rho) / layers[s]  # layers share the power
            se = layers[s] * max(min(cfg.alpha * math.log2(1 + per_layer), cfg.se_max_bps_hz),
                                 floor)
            new[s] += offered_mbps[b] * 1e6 / (se * prb_bw[s]) / n_prb[s]
        done = np.max(np.abs(new - rho)) < 1e-12
        rho = new
        if done:
            break
    sinr_db = np.array([10 * math.log10(sinr_at(b, rho)) for b in range(n_bin)])
    return srv, rsrp, sinr_db, rho


def test_engine_matches_slow_reference():
    net = tiny_network()
    grid = Grid(x0_m=-301.3, y0_m=-257.9, spacing_m=37.0, nx=20, ny=15)  # 300 bins
    rng = np.random.default_rng(11)
    spatial = rng.gamma(2.0, 0.25, grid.n_bin) * (rng.random(grid.n_bin) > 0.1)
    demand = Demand.from_profile(grid, spatial, np.ones(24))
    cfg = RadioConfig()
    tw = Twin(net, demand, cfg)
    st = run_checked(tw, 0)
    assert st.converged
    srv, rsrp, sinr_db, rho = reference_state(net, grid, demand.at(0), cfg)
    # Every cell serves something and the loads couple noticeably (the test has teeth).
    assert len(set(srv.tolist())) == len(net.cells)
    assert 0.2 < rho.max() < 1.0
    np.testing.assert_array_equal(np.asarray(st.serving), srv)
    # Link gains are stored as float32 (~1e-5 dB), hence the tolerances.
    np.testing.assert_allclose(st.res_bin["rsrp_dbm"], rsrp, atol=1e-3)
    np.testing.assert_allclose(st.res_bin["sinr_db"], sinr_db, atol=1e-3)
    np.testing.assert_allclose(st.prb_util, rho, rtol=1e-4, atol=1e-6)
    # Cross-carrier cells do not interfere: the 2.6 GHz sector sees only noise.
    l26 = net.cell_ids.index("A1L26")
    snr_only = st.res_bin["sinr_db"].to_numpy()[srv == l26]
    assert snr_only.size > 0 and snr_only.min() > 15.0


def test_deepcopy_of_network_is_equal_after_runs(hex7: SmallCase):
    # A Network is a frozen dataclass of DataFrames: a deep copy taken before running must
    # still compare equal afterwards (guards against in-place edits of cached views).
    before = copy.deepcopy(hex7.network)
    run_checked(hex7.twin())
    pd.testing.assert_frame_equal(before.cells, hex7.network.cells)
    pd.testing.assert_frame_equal(before.sites, hex7.network.sites)
