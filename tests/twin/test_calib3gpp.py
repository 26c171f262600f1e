"""The 3GPP calibration scenarios (TR 36.873 phase 1, K = M = 1): layout, wrap-around, link
budget, and our coupling-loss / geometry percentiles against the 3GPP reference.

Tolerances on ``ours - reference`` at the 5/50/95 % points (default drop: 200 UEs per cell,
11,400 UEs; seeds 0..29 stay inside them, so they are not tuned to one seed):

* calib-uma: 1.5 dB for coupling loss and for geometry. Over 30 seeds the largest differences
  were 1.3 dB (coupling loss, 5 %) and 0.7 dB (geometry); TR 38.901's UMa path loss is close to
  TR 36.873's 3D-UMa model at 2 GHz, so the layout, antenna, drop, O2I and wrap-around are
  what is tested here.
* calib-umi: 4.5 dB for coupling loss and 3.5 dB for geometry (seen: up to 3.8 dB at the 5 %
  coupling loss and 2.8 dB at the 95 % geometry). The reference was made with TR 36.873's
  3D-UMi path loss, whose NLOS formula (36.7 log10 d + 22.7 + 26 log10 fc) is 4-5 dB more
  lossy than TR 38.901 UMi street canyon at 100-300 m, and whose LOS formula is ~3 dB less
  lossy near the mast. :func:`test_umi_gap_is_the_path_loss_model` shows it: with 36.873's
  3D-UMi formula (transcribed here, SF sigma 3/4 dB) the same code is within 2 dB (seen: at
  most 1.5 dB over 15 seeds, ours still ~1 dB less lossy at the median).
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from cli.main import main
from twin.errors import UnknownIdError, ValidationError
from twin.invariants import check_state
from twin.scenarios import calib3gpp, load_scenario

C_M_PER_S = 299_792_458.0
TOL_DB = {("calib-uma", "coupling_loss_db"): 1.5, ("calib-uma", "geometry_db"): 1.5,
          ("calib-umi", "coupling_loss_db"): 4.5, ("calib-umi", "geometry_db"): 3.5}
ISD = {"calib-uma": 500.0, "calib-umi": 200.0}


def _lattice_vectors(isd_m: float) -> tuple[np.ndarray, np.ndarray]:
    # Site lattice of the layout: neighbours at bearings 0 and 60 deg (x east, y north).
    return (isd_m * np.array([0.0, 1.0]),
            isd_m * np.array([np.sin(np.radians(60.0)), np.cos(np.radians(60.0))]))


@pytest.mark.parametrize("name", ["calib-uma", "calib-umi"])
def test_layout_has_57_cells_on_a_hex_grid_with_the_isd(name):
    s = calib3gpp.setup(name)
    net = calib3gpp.build_network(name)
    assert len(net.sites) == 19 and len(net.cells) == 57
    xy = net.sites[["x_m", "y_m"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert np.allclose(d.min(axis=1), ISD[name])
    assert np.isclose(np.hypot(*xy[0]), 0.0)
    assert sorted(set(net.cells["azimuth_deg"])) == [30.0, 150.0, 270.0]
    c = net.cells
    assert (c["height_m"] == s.height_m).all() and (c["fc_ghz"] == 2.0).all()
    assert (c["tx_power_dbm"] == (46.0 if name == "calib-uma" else 41.0)).all()
    assert (c["antenna_gain_dbi"] == 8.0).all() and (c["v_beamwidth_deg"] == 65.0).all()
    assert (c["bandwidth_mhz"] == 10.0).all() and (c["n_prb"] == 50).all()


def test_wrap_shifts_tile_the_plane():
    isd = 200.0
    net = calib3gpp.build_network("calib-umi")
    sites = net.sites[["x_m", "y_m"]].to_numpy()
    shifts = calib3gpp.wrap_shifts_m(isd)
    assert shifts.shape == (7, 2)
    assert np.allclose(np.hypot(*shifts[1:].T), np.sqrt(19.0) * isd)
    pts = (sites[None, :, :] + shifts[:, None, :]).reshape(-1, 2)  # 133 site copies
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > isd - 1e-6  # no two copies overlap
    a, b = _lattice_vectors(isd)
    i, j = np.meshgrid(np.arange(-6, 7), np.arange(-6, 7))
    lattice = i.ravel()[:, None] * a + j.ravel()[:, None] * b
    near = lattice[np.hypot(*lattice.T) <= 3.0 * isd + 1e-6]  # 37 points
    gap = np.hypot(*(near[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert len(near) == 37 and gap.max() < 1e-6  # the copies fill the lattice around


@pytest.mark.parametrize("name", ["calib-uma", "calib-umi"])
def test_with_wrap_around_every_site_sees_the_others_like_the_centre_site(name):
    # On the 19-site torus every site has 6 neighbours at ISD, 6 at sqrt(3) ISD, 6 at 2 ISD.
    isd = ISD[name]
    xy = calib3gpp.build_network(name).sites[["x_m", "y_m"]].to_numpy()
    dx, dy = calib3gpp.wrapped_offsets_m(xy, xy, isd)  # [19, 19]
    d = np.sort(np.hypot(dx, dy), axis=1) / isd
    expected = np.array([0.0] + [1.0] * 6 + [np.sqrt(3.0)] * 6 + [2.0] * 6)
    assert np.allclose(d, expected[None, :])


def test_ue_at_the_edge_sees_the_nearest_copy():
    isd = 500.0
    xy = calib3gpp.build_network("calib-uma").sites[["x_m", "y_m"]].to_numpy()
    east = int(np.argmax(xy[:, 0]))
    west = int(np.argmin(xy[:, 0]))
    ue = xy[east] + np.array([[200.0, 0.0]])  # beyond the easternmost site
    dx, dy = calib3gpp.wrapped_offsets_m(ue, xy, isd)
    direct = np.hypot(*(ue[0] - xy[west]))
    wrapped = np.hypot(dx[0, west], dy[0, west])
    assert direct > 3.5 * isd and wrapped < 1.0 * isd  # the west site wraps to the east
    # The nearest of all translations of the site by the super-lattice (3a+2b, rotations).
    a, b = _lattice_vectors(isd)
    base = 3.0 * a + 2.0 * b
    cands = [xy[west]] + [xy[west] + np.array([
        np.cos(t) * base[0] - np.sin(t) * base[1], np.sin(t) * base[0] + np.cos(t) * base[1]])
        for t in np.radians(np.arange(0, 360, 60))]
    assert np.isclose(wrapped, min(np.hypot(*(ue[0] - c)) for c in cands))
    assert np.all(np.hypot(dx, dy) <= np.sqrt(19.0 / 3.0) * isd + 1e-6)


@pytest.mark.parametrize("name", ["calib-uma", "calib-umi"])
def test_ue_drop_follows_36873_table_6_1(name):
    s = calib3gpp.setup(name)
    net = calib3gpp.build_network(name)
    ues = calib3gpp.drop_ues(net, s, 200, np.random.default_rng(1))
    n = len(ues.x_m)
    assert n == 57 * 200
    xy = net.sites[["x_m", "y_m"]].to_numpy()
    dx, dy = calib3gpp.wrapped_offsets_m(np.stack([ues.x_m, ues.y_m], 1), xy, s.isd_m)
    d = np.hypot(dx, dy)
    assert d.min() >= s.min_d2d_m
    assert np.bincount(d.argmin(axis=1), minlength=19).tolist() == [600] * 19
    assert abs(ues.indoor.mean() - 0.8) < 0.02
    assert np.all(ues.h_ut_m[~ues.indoor] == 1.5) and np.all(ues.d_in_m[~ues.indoor] == 0.0)
    floors = (ues.h_ut_m[ues.indoor] - 1.5) / 3.0 + 1.0
    assert set(np.unique(floors)) == set(range(1, 9))
    p_ground = np.mean([1.0 / k for k in range(4, 9)])  # P(n_fl = 1), N_fl ~ U{4..8}
    assert abs(np.mean(floors == 1) - p_ground) < 0.02
    assert ues.d_in_m[ues.indoor].max() <= 25.0


def test_link_budget_of_a_near_umi_ue_outdoor_and_indoor():
    # 4000 copies of one UE 15 m from S01 on the boresight of S01-1 (LOS for sure: d_out
    # <= 18 m): the mean coupling gain is G - PL_LOS (- O2I) and its spread the SF sigma.
    s = calib3gpp.setup("calib-umi")
    net = calib3gpp.build_network("calib-umi")
    n = 4000
    brg = np.radians(30.0)
    x = np.full(n, 15.0 * np.sin(brg))
    y = np.full(n, 15.0 * np.cos(brg))
    indoor = np.arange(n) % 2 == 1
    ues = calib3gpp.UeDrop(x, y, np.full(n, 1.5), indoor, np.where(indoor, 5.0, 0.0))
    cg = calib3gpp.coupling_gain_db(net, s, ues, np.random.default_rng(3))[:, 0]  # S01-1
    d3d = np.hypot(15.0, 10.0 - 1.5)
    pl_los = 32.4 + 21.0 * np.log10(d3d) + 20.0 * np.log10(2.0)  # 38.901 UMi-SC LOS, d < d_BP
    theta_down = np.degrees(np.arctan2(8.5, 15.0))
    gain = 8.0 - 12.0 * (theta_down / 65.0) ** 2
    out, ind = cg[~indoor], cg[indoor]
    assert abs(out.mean() - (gain - pl_los)) < 0.35 and abs(out.std() - 4.0) < 0.3
    assert abs(ind.mean() - (gain - pl_los - 20.0 - 2.5)) < 0.6 and abs(ind.std() - 7.0) < 0.5


def test_reference_is_read_from_the_package_copy():
    path = resources.files("twin") / "data" / "reference" / calib3gpp.REFERENCE_FILE
    assert path.is_file()
    cl = calib3gpp.reference_percentiles("calib-uma", "coupling_loss_db")
    gf = calib3gpp.reference_percentiles("calib-umi", "geometry_db")
    assert list(cl.index) == list(range(0, 101, 5))
    assert cl.loc[50] == -112.3 and cl.loc[5] == -132.1 and gf.loc[95] == 23.4
    with pytest.raises(ValidationError):
        calib3gpp.reference_percentiles("calib-uma", "sinr_db")
    with pytest.raises(UnknownIdError):
        calib3gpp.setup("calib-rma")


@pytest.mark.parametrize("name", ["calib-uma", "calib-umi"])
def test_percentiles_match_the_3gpp_reference_within_tolerance(name):
    m = calib3gpp.ue_metrics(name)
    assert m["serving_cell"].nunique() == 57
    cg = m["coupling_loss_db"].to_numpy()
    assert np.all(cg < 0)
    assert np.all(m["geometry_db"] <= m["geometry_no_noise_db"] + 1e-12)
    table = calib3gpp.compare_with_reference(name, metrics=m)
    assert list(table.columns) == ["metric", "percentile", "ours", "reference", "difference"]
    assert len(table) == 6 and set(table["percentile"]) == {5, 50, 95}
    assert np.allclose(table["difference"], table["ours"] - table["reference"])
    for row in table.itertuples():
        assert abs(row.difference) <= TOL_DB[(name, row.metric)], row


def test_umi_gap_is_the_path_loss_model(monkeypatch):
    """With TR 36.873 Table 7.2-1's 3D-UMi path loss and Table 7.3-6's SF sigmas (3 dB LOS,
    4 dB NLOS) in place of 38.901's, our UMi statistics fall within 2 dB of the reference
    (with 38.901's they are up to 3.8 dB off): the gap is the path-loss model, not the layout,
    antenna, drop or O2I."""

    def pl_36873_umi(scenario, d2d, h_bs, h_ut, fc, los):
        d2d, h_ut, los = np.broadcast_arrays(np.maximum(np.asarray(d2d, float), 10.0),
                                             np.asarray(h_ut, float), np.asarray(los, bool))
        d3d = np.hypot(d2d, h_bs - h_ut)
        d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / C_M_PER_S
        pl_los = np.where(d2d <= d_bp, 22.0 * np.log10(d3d) + 28.0 + 20.0 * np.log10(fc),
                          40.0 * np.log10(d3d) + 28.0 + 20.0 * np.log10(fc)
                          - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
        pl_nlos = 36.7 * np.log10(d3d) + 22.7 + 26.0 * np.log10(fc) - 0.3 * (h_ut - 1.5)
        return np.where(los, pl_los, np.maximum(pl_los, pl_nlos))

    def sf_36873_umi(scenario, los, rng):
        los = np.asarray(los, bool)
        return rng.standard_normal(los.shape) * np.where(los, 3.0, 4.0)

    monkeypatch.setattr(calib3gpp, "path_loss_db", pl_36873_umi)
    monkeypatch.setattr(calib3gpp, "shadowing_db", sf_36873_umi)
    table = calib3gpp.compare_with_reference("calib-umi")
    assert table["difference"].abs().max() <= 2.0, table


def test_cli_calibrate_json_parses(capsys):
    assert main(["calibrate-3gpp", "--json", "--seed", "5", "--ues-per-cell", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 5 and out["ues_per_cell"] == 50
    assert [r["scenario"] for r in out["results"]] == ["calib-uma", "calib-umi"]
    for res in out["results"]:
        assert res["n_ue"] == 57 * 50 and len(res["rows"]) == 6
        assert {r["metric"] for r in res["rows"]} == {"coupling_loss_db", "geometry_db"}
    assert main(["calibrate-3gpp", "--scenario", "calib-umi"]) == 0
    text = capsys.readouterr().out
    assert "calib-umi" in text and "calib-uma (" not in text and "coupling_loss_db" in text
    assert main(["calibrate-3gpp", "--ues-per-cell", "0"]) == 2
    assert "ues_per_cell" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["calib-uma", "calib-umi"])
def test_twin_runs_on_the_calibration_scenario(name, capsys):
    assert main(["twin", "--scenario", name, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == name and out["n_cells"] == 57 and out["converged"]
    sc = load_scenario(name)
    tw = sc.twin()
    st = tw.run()
    check_state(st, tw)
    # Uniform demand: every cell carries traffic and loads stay moderate and balanced.
    assert (st.res_cell["offered_mbps"] > 0).all()
    assert 0.1 < st.kpis["mean_prb_util"] < st.kpis["peak_prb_util"] < 0.8
    assert st.kpis["jain_index"] > 0.9
