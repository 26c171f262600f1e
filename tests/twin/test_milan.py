"""The ``milan`` scenario: packaged real data only, estimated sites of one operator, demand
shaped by the measured Milan traffic, and a converged, consistent busy hour."""

from __future__ import annotations

import builtins
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twin
from cli.main import main
from twin.invariants import check_state
from twin.scenarios import diurnal, load_scenario, milan
from twin.traffic_map import area_overlap

PACKAGE_DIR = Path(twin.__file__).resolve().parent


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("milan")


@pytest.fixture(scope="module")
def busy(scenario):
    tw = scenario.twin()
    return tw, tw.run()


def test_builds_from_packaged_data_only(monkeypatch):
    assert milan.data_dir().resolve().is_relative_to(PACKAGE_DIR / "data" / "milan")
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    for cached in (milan.grid_squares, milan.cell_fixes, diurnal.milan_traffic):
        cached.cache_clear()
    try:
        sc = milan.build()
    finally:
        for cached in (milan.grid_squares, milan.cell_fixes, diurnal.milan_traffic):
            cached.cache_clear()
    data = [Path(p).resolve() for p in opened if p.endswith(".csv")]
    assert {p.name for p in data} == {milan.GRID_FILE, milan.CELLS_FILE,
                                      "milan_internet_2013-11-01_6squares_10min.csv"}
    assert all(p.is_relative_to(PACKAGE_DIR) for p in data)
    assert not any("/work/shared" in p for p in opened)
    assert len(sc.network.cells) > 300
    size = sum(p.stat().st_size for p in (PACKAGE_DIR / "data" / "milan").glob("*.csv"))
    assert size < 1_000_000


def test_network_is_one_operator_of_estimated_sites(scenario):
    net = scenario.network
    enb = net.cells["cell_id"].str.extract(r"^eNB(\d+)-(\d)$")
    assert enb.notna().all().all()  # one cell per (eNB, sector digit)
    lo, hi = milan.OPERATOR_ENB_RANGE
    assert enb[0].astype(int).between(lo, hi - 1).all()
    assert len(net.sites) < len(net.cells)
    assert net.sites["estimated"].all()
    assert np.hypot(net.sites["x_m"], net.sites["y_m"]).max() <= milan.SITE_RADIUS_M
    for notes in (net.notes, scenario.notes):
        assert any("ESTIMATED" in n for n in notes)
        assert any("one operator" in n for n in notes)
    # The origin is the Duomo square's centre from the grid file.
    grid = pd.read_csv(milan.data_dir() / milan.GRID_FILE)
    duomo = grid[grid["cellId"] == 5060].iloc[0]
    assert net.origin.lat_deg == pytest.approx(duomo["lat_center"])
    # Sector directions follow the operator's local-cell-id scheme (sector 1 ~ north-east).
    cells = net.cells.assign(sector=enb[1].astype(int))
    z = np.exp(1j * np.radians(cells.loc[cells["sector"] == 1, "azimuth_deg"]))
    assert abs(np.degrees(np.angle(z.mean()))) < 60 and abs(z.mean()) > 0.5


def test_operator_sectors_collapse_carrier_layers():
    rows = milan.cell_fixes()
    lo, hi = milan.OPERATOR_ENB_RANGE
    op = rows[(rows["enb"] >= lo) & (rows["enb"] < hi)]
    sectors = op.groupby(["enb", op["lcid"] % 10]).size()
    net = milan.build_network()
    kept = {tuple(map(int, c[3:].split("-"))) for c in net.cells["cell_id"]}
    assert kept <= set(sectors.index)
    assert len(kept) == len(net.cells)  # one modelled cell per (eNB, sector)
    assert (sectors > 1).sum() > 0.2 * len(sectors)  # many sectors were heard on several layers


def test_demand_follows_the_measured_milan_traffic(scenario):
    d = scenario.demand
    grid = d.grid
    assert grid.spacing_m == milan.SPACING_M
    h = d.busy_hour
    # the squares reach the demand as a traffic map of areas: bins wholly inside the Duomo
    # square carry its density
    tmap = milan.traffic_map(grid)
    (area,) = [a for a in tmap.areas if a.label == "square 5060"]
    bins, overlap = area_overlap(area.geometry, grid)
    duomo = np.zeros(grid.n_bin, dtype=bool)
    duomo[bins[overlap > grid.spacing_m**2 * (1 - 1e-9)]] = True
    assert duomo.sum() >= 16  # a 235 m square holds 16 whole 40 m bins
    # Duomo bins follow the Duomo's own measured hourly shape (10-minute data, hourly means).
    shape = d.mbps[:, np.flatnonzero(duomo)[0]]
    assert np.allclose(shape / shape.max(), diurnal.hourly_profile(5060), rtol=1e-9)
    # Busy-hour density of the Duomo square vs the median bin, and vs the park square 5085.
    area_km2 = milan.grid_squares().set_index("cellId").loc[5060, "area_km2"]
    duomo_density = d.mbps[h, duomo].mean() / grid.bin_area_km2
    assert duomo_density > 2.5 * np.median(d.mbps[h]) / grid.bin_area_km2
    raw = pd.read_csv(milan.data_dir() / "milan_internet_2013-11-01_6squares_10min.csv")
    hours = pd.to_datetime(raw["time_interval"], unit="ms", utc=True).dt.tz_convert(
        "Europe/Rome").dt.hour
    park = raw[(raw["square_id"] == 5085) & (hours == h)]["internet_total"].mean()
    park_density = park * milan.MBPS_PER_ACTIVITY_UNIT / area_km2
    assert duomo_density > 10 * park_density
    assert duomo_density == pytest.approx(
        raw[(raw["square_id"] == 5060) & (hours == h)]["internet_total"].mean()
        * milan.MBPS_PER_ACTIVITY_UNIT / area_km2, rel=1e-9)


def test_busy_hour_converges_and_is_plausible(scenario, busy):
    tw, st = busy
    check_state(st, tw)
    assert st.converged
    assert st.hour == scenario.demand.busy_hour
    k = st.kpis
    u = st.res_cell["prb_util"].to_numpy()
    assert 0.8 < k["peak_prb_util"] < 3.0  # the busiest cells are congested...
    assert k["n_overloaded"] <= 0.05 * len(u)  # ...the network is not
    assert 0.05 < np.median(u) < 0.5
    assert k["coverage"] > 0.95
    assert k["unserved_mbps"] < 0.02 * k["offered_mbps"]


def test_duomo_cells_are_busier_than_the_median_cell(scenario, busy):
    _, st = busy
    grid = scenario.demand.grid
    squares = milan.grid_squares()["cellId"].to_numpy()[milan.bin_squares(grid)]
    served = st.res_bin[squares == 5060]
    util = st.res_cell.set_index("cell_id")["prb_util"]
    w = served.groupby("serving_cell")["offered_mbps"].sum()
    duomo_util = float(np.average(util[w.index], weights=w))
    assert duomo_util > 1.5 * float(util.median())


def test_cli_twin_milan_json(capsys):
    assert main(["twin", "--scenario", "milan", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "milan" and out["converged"] is True
    assert out["n_cells"] == len(load_scenario("milan").network.cells)
    assert any("ESTIMATED" in n for n in out["notes"])
