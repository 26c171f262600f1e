"""Import of cell lists: OpenCelliD (Munich export, Milan re-tabulation) into estimated sites,
the project's tables (JSON, CSV, Parquet round trips), malformed inputs, the default demand
prior, and the ``celltwin import`` / ``celltwin twin --network`` commands."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import main
from twin.errors import InputFileError, ValidationError
from twin.geo import Origin
from twin.importers import (
    PLACEHOLDER_MIN_ENBS,
    ImportResult,
    cluster_sites,
    estimated_network,
    load_network,
    read_opencellid,
    read_tables,
    spread_azimuths,
    write_tables,
)
from twin.invariants import check_state
from twin.network import Network
from twin.prior import DEFAULT_MBPS_PER_CELL, default_demand, default_grid, scenario_from_network
from twin.scenarios.hotspot import build_network as hotspot_network

MUNICH = Path(__file__).parent / "data" / "opencellid_munich_262-01.csv"
MILAN_WINDOW = (Path(__file__).resolve().parents[2] / "twin" / "data" / "milan"
                / "milan_opencellid_lte_window.csv")


@lru_cache(maxsize=1)
def munich() -> ImportResult:
    return read_opencellid(MUNICH)


def munich_expected() -> pd.DataFrame:
    """The LTE cells the import should keep, computed independently with pandas."""
    raw = pd.read_csv(MUNICH)
    lte = raw[(raw["cell"] > 65535) & (raw["cell"] < 2**28)].copy()
    lte["enb"] = lte["cell"] // 256
    n_enb_at_point = lte.groupby(["lon", "lat"])["enb"].transform("nunique")
    return lte[n_enb_at_point < PLACEHOLDER_MIN_ENBS]


# --- OpenCelliD --------------------------------------------------------------------------------
def test_munich_import_counts_and_clustering():
    res = munich()
    kept = munich_expected()
    net = res.network
    raw = pd.read_csv(MUNICH)
    assert res.n_rows == len(raw) == 2231
    assert len(net.cells) == kept["cell"].nunique()
    assert res.merged_duplicates == len(kept) - kept["cell"].nunique()
    assert sum(res.skipped.values()) + len(kept) == len(raw)
    assert res.skipped["not LTE (GSM/UMTS cell id <= 65535)"] == int((raw["cell"] <= 65535).sum())
    assert set(net.cells["cell_id"]) == {str(c) for c in kept["cell"].unique()}
    # Clustering: fewer sites than cells, never fewer than distinct eNBs, one eNB per site.
    n_enb = kept["enb"].nunique()
    assert n_enb <= len(net.sites) < len(net.cells)
    enb_of_cell = net.cells["cell_id"].astype(np.int64) // 256
    assert (enb_of_cell.groupby(net.cells["site_id"]).nunique() == 1).all()


def test_munich_sites_are_estimated_and_inside_the_data():
    net = munich().network
    kept = munich_expected()
    assert net.sites["estimated"].all()
    assert any("ESTIMATED" in n and "azimuth" in n for n in net.notes)
    assert net.sites["lat_deg"].between(kept["lat"].min(), kept["lat"].max()).all()
    assert net.sites["lon_deg"].between(kept["lon"].min(), kept["lon"].max()).all()
    # Local frame: origin at the centroid of the imported cells, positions consistent with it.
    assert net.origin is not None
    assert abs(net.origin.lat_deg - kept.groupby("cell")["lat"].mean().mean()) < 1e-9
    x, y = net.origin.to_local(net.sites["lat_deg"], net.sites["lon_deg"])
    assert np.allclose(x, net.sites["x_m"], atol=0.2) and np.allclose(y, net.sites["y_m"],
                                                                       atol=0.2)
    az = net.cells["azimuth_deg"].to_numpy()
    assert ((az >= 0) & (az < 360)).all()
    assert (net.cells["n_prb"] == 100).all() and (net.cells["bandwidth_mhz"] == 20.0).all()


def test_azimuths_point_the_sectors_at_their_fixes():
    # One site with fixes 300 m out at bearings 10, 130, 250 deg; one with two fixes; one alone.
    b = np.radians([10.0, 130.0, 250.0, 80.0, 260.0, 0.0])
    r = np.array([300.0, 300.0, 300.0, 200.0, 200.0, 0.0])
    cx = np.array([0.0, 0.0, 0.0, 2000.0, 2000.0, -3000.0])
    x, y = cx + r * np.sin(b), r * np.cos(b)
    site = np.array([0, 0, 0, 1, 1, 2])
    sx = np.bincount(site, weights=x) / np.bincount(site)
    sy = np.bincount(site, weights=y) / np.bincount(site)
    az = spread_azimuths(x, y, site, sx, sy)
    assert np.allclose(az[:3], [10.0, 130.0, 250.0], atol=0.1)
    assert np.allclose(az[3:5], [80.0, 260.0], atol=0.1)
    assert az[5] == 0.0
    # With slots (sector 1/2/3 -> 0/120/240), the lone cell takes the typical rotation.
    slot = np.array([0.0, 120.0, 240.0, 0.0, 180.0, 120.0])
    az_s = spread_azimuths(x, y, site, sx, sy, slot)
    assert np.allclose(az_s[:3], [10.0, 130.0, 250.0], atol=0.1)
    assert abs(az_s[5] - (120.0 + 45.0)) < 1.0  # circular mean of rotations 10 and 80


def test_clustering_links_only_cells_of_one_enb_within_the_radius():
    x = np.array([0.0, 1400.0, 2800.0, 6000.0, 50.0])
    y = np.zeros(5)
    group = np.array(["A", "A", "A", "A", "B"])
    label = cluster_sites(x, y, group, 1500.0)
    assert label[0] == label[1] == label[2]  # chained 1400 m links
    assert len({label[0], label[3], label[4]}) == 3  # far cell alone; B never joins A
    net = estimated_network(pd.DataFrame({"cell_id": list("abcde"), "group": group,
                                          "x_m": x, "y_m": y}), Origin(45.0, 9.0), 1500.0)
    assert sorted(net.sites["site_id"]) == ["A-1", "A-2", "B"]
    assert np.isclose(net.sites.set_index("site_id").loc["A-1", "x_m"], 1400.0)


def test_milan_layout_with_radio_column_is_read(tmp_path):
    rows = pd.read_csv(MILAN_WINDOW, nrows=40)
    rows.loc[0, "radio"] = "GSM"
    path = tmp_path / "milan.csv"
    rows.to_csv(path, index=False)
    res = read_opencellid(path)
    assert res.skipped == {"not LTE (radio column)": 1}
    assert set(res.network.cells["cell_id"]) == {str(c) for c in rows["cell_eci"].iloc[1:]}
    assert res.network.sites["estimated"].all()
    enb = res.network.cells["cell_id"].astype(np.int64) // 256
    assert len(res.network.sites) >= enb.nunique()


# --- malformed OpenCelliD files -----------------------------------------------------------------
def _write(tmp_path: Path, text: str, name: str = "cells.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD_ROWS = ("lon,lat,mcc,net,cell\n11.50,48.10,262,1,26226000\n11.51,48.11,262,1,26226001\n"
             "11.52,48.12,262,1,26226002\n")


def test_good_rows_import(tmp_path):
    res = read_opencellid(_write(tmp_path, GOOD_ROWS))
    assert len(res.network.cells) == 3 and len(res.network.sites) == 1


def test_wrong_columns_are_named(tmp_path):
    p = _write(tmp_path, "x,y,cell\n11.5,48.1,26226000\n")
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['lon', 'lat'\]") as e:
        read_opencellid(p)
    assert e.value.table == "opencellid"


def test_nan_lon_names_row_and_line(tmp_path):
    p = _write(tmp_path, GOOD_ROWS.replace("11.51,", ",", 1))
    with pytest.raises(ValidationError, match="missing or non-finite") as e:
        read_opencellid(p)
    assert e.value.column == "lon"
    assert "1 (file line 3)" in str(e.value.row)


def test_text_in_numeric_column(tmp_path):
    p = _write(tmp_path, GOOD_ROWS.replace("48.12", "north", 1))
    with pytest.raises(ValidationError, match="expected a number, got 'north'") as e:
        read_opencellid(p)
    assert e.value.column == "lat" and "file line 4" in str(e.value.row)


def test_out_of_range_and_far_away_rows(tmp_path):
    with pytest.raises(ValidationError, match="at most 90") as e:
        read_opencellid(_write(tmp_path, GOOD_ROWS.replace("48.11", "98.11", 1)))
    assert e.value.column == "lat"
    with pytest.raises(ValidationError, match="km from the median position") as e:
        read_opencellid(_write(tmp_path, GOOD_ROWS + "0.0,0.0,262,1,26226003\n", "far.csv"))
    assert "file line 5" in str(e.value.row)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(InputFileError, match="is empty"):
        read_opencellid(_write(tmp_path, ""))
    with pytest.raises(ValidationError, match="no cell rows"):
        read_opencellid(_write(tmp_path, "lon,lat,cell\n", "header.csv"))
    with pytest.raises(InputFileError, match="not found"):
        read_opencellid(tmp_path / "missing.csv")


def test_no_lte_rows_is_an_error(tmp_path):
    with pytest.raises(ValidationError, match="none of the 1 rows is an LTE cell"):
        read_opencellid(_write(tmp_path, "lon,lat,cell\n11.5,48.1,407\n"))


# --- the project's tables -----------------------------------------------------------------------
def _assert_same(a: Network, b: Network) -> None:
    for t in ("sites", "cells", "candidates"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), check_dtype=True)


def test_json_round_trip_keeps_tables_origin_and_notes(tmp_path):
    net = munich().network
    path = tmp_path / "net.json"
    write_tables(net, path)
    back = read_tables(path)
    _assert_same(net, back)
    assert back.origin == net.origin and back.notes == net.notes and back.name == net.name


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_table_files_round_trip(tmp_path, ext):
    base = hotspot_network()
    # Text ids that a naive reader would turn into numbers or NaN.
    sites = base.sites.assign(site_id=["007", "NA", *base.sites["site_id"][2:]])
    mapping = dict(zip(base.sites["site_id"], sites["site_id"], strict=True))
    cells = base.cells.assign(site_id=base.cells["site_id"].map(mapping))
    cells.loc[0, "cell_id"] = "0001"
    net = Network.from_tables(sites.assign(estimated=[True] + [False] * (len(sites) - 1)),
                              cells, base.candidates, name="t")
    paths = [tmp_path / f"{t}.{ext}" for t in ("sites", "cells", "candidates")]
    assert write_tables(net, *paths) == paths
    back = read_tables(*paths)
    _assert_same(net, back)
    assert back.cells.loc[0, "cell_id"] == "0001" and back.sites.loc[1, "site_id"] == "NA"
    assert back.notes == ("1 of 19 site positions are marked estimated",)


def test_table_errors_name_table_row_and_column(tmp_path):
    net = hotspot_network()
    write_tables(net, tmp_path / "s.csv", tmp_path / "c.csv")
    cells = pd.read_csv(tmp_path / "c.csv", dtype=str)
    cells.loc[4, "tx_power_dbm"] = "loud"
    cells.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValidationError, match="expected a number") as e:
        read_tables(tmp_path / "s.csv", tmp_path / "bad.csv")
    assert (e.value.table, e.value.column) == ("cells", "tx_power_dbm")
    assert "S02-2" in str(e.value.row)
    cells = pd.read_csv(tmp_path / "c.csv", dtype=str).rename(columns={"azimuth_deg": "azimuth"})
    cells.to_csv(tmp_path / "renamed.csv", index=False)
    with pytest.raises(ValidationError, match=r"unknown column\(s\) \['azimuth'\]"):
        read_tables(tmp_path / "s.csv", tmp_path / "renamed.csv")
    cells = pd.read_csv(tmp_path / "c.csv", dtype=str)
    cells.loc[0, "site_id"] = "S99"
    cells.to_csv(tmp_path / "orphan.csv", index=False)
    with pytest.raises(ValidationError, match=r"'S99' does not exist in sites\.site_id"):
        read_tables(tmp_path / "s.csv", tmp_path / "orphan.csv")
    with pytest.raises(InputFileError, match="give the 'cells' table too"):
        read_tables(tmp_path / "s.csv")


def test_malformed_json_documents(tmp_path):
    with pytest.raises(InputFileError, match="not valid JSON"):
        read_tables(_write(tmp_path, "{\"sites\": [", "a.json"))
    with pytest.raises(InputFileError, match="missing 'cells'"):
        read_tables(_write(tmp_path, json.dumps({"sites": []}), "b.json"))
    doc = {"sites": [{"site_id": "A", "x_m": 0, "y_m": "far"}], "cells": []}
    with pytest.raises(ValidationError, match="expected a number") as e:
        read_tables(_write(tmp_path, json.dumps(doc), "c.json"))
    assert (e.value.table, e.value.column) == ("sites", "y_m")


def test_format_sniffing(tmp_path):
    assert load_network(MUNICH).link_radius_m is not None  # OpenCelliD columns
    write_tables(hotspot_network(), tmp_path / "s.csv", tmp_path / "c.csv")
    res = load_network(tmp_path / "s.csv", cells_path=tmp_path / "c.csv")
    assert len(res.network.cells) == 57 and res.link_radius_m is None
    with pytest.raises(InputFileError, match="cannot tell the format"):
        load_network(_write(tmp_path, "a,b\n1,2\n", "odd.csv"))


# --- default demand prior -----------------------------------------------------------------------
def test_default_prior_level_and_shape():
    net = hotspot_network()
    grid = default_grid(net)
    d = default_demand(net, grid)
    assert grid.n_bin <= 40_000 and grid.spacing_m >= 50.0
    assert d.busy_hour == 16  # the Milan mean diurnal shape peaks at 16:00
    assert np.isclose(d.total_mbps()[16], DEFAULT_MBPS_PER_CELL * len(net.cells))
    x, y = grid.xy()
    centre = d.mbps[16][np.hypot(x, y) < 200].mean()
    corner = d.mbps[16][np.hypot(x, y) > 1100].mean()
    assert centre > 3 * corner > 0  # follows the cells, with a floor
    u = default_demand(net, grid, "uniform", mbps_per_km2=100.0)
    assert np.allclose(u.mbps[16], 100.0 * grid.bin_area_km2)
    with pytest.raises(ValidationError):
        default_demand(net, grid, mbps_per_cell=-1.0)


def test_imported_network_runs_with_invariants():
    net = munich().network
    centre = net.sites[np.hypot(net.sites["x_m"], net.sites["y_m"]) < 1500]["site_id"]
    small = Network.from_tables(net.sites[net.sites["site_id"].isin(centre)],
                                net.cells[net.cells["site_id"].isin(centre)],
                                origin=net.origin, notes=net.notes)
    sc = scenario_from_network(small)
    tw = sc.twin()
    st = tw.run()
    check_state(st, tw)
    assert st.converged
    assert np.isclose(st.kpis["offered_mbps"], DEFAULT_MBPS_PER_CELL * len(small.cells))
    assert any("default prior" in n for n in sc.notes)


# --- CLI --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def munich_centre_csv(tmp_path_factory) -> Path:
    """Munich rows within ~1.5 km of the city centre (Marienplatz): a fast CLI case."""
    raw = pd.read_csv(MUNICH)
    near = (raw["lon"] - 11.5755).abs() < 0.02
    near &= (raw["lat"] - 48.1374).abs() < 0.013
    path = tmp_path_factory.mktemp("cli") / "munich_centre.csv"
    raw[near].to_csv(path, index=False)
    return path


def test_cli_import_then_twin_network(tmp_path, capsys, munich_centre_csv):
    out = tmp_path / "net.json"
    assert main(["import", str(munich_centre_csv), "--format", "opencellid",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert f"{len(doc['sites'])} sites, {len(doc['cells'])} cells" in text
    assert "estimated site positions: yes" in text and "skipped" in text
    assert len(doc["sites"]) < len(doc["cells"])
    assert main(["twin", "--network", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n_cells"] == len(doc["cells"]) and res["converged"] is True
    assert any("ESTIMATED" in n for n in res["notes"])
    # The OpenCelliD file runs directly too, with the same cells.
    assert main(["twin", "--network", str(munich_centre_csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_cells"] == len(doc["cells"])


def test_cli_twin_network_with_measurements(tmp_path, capsys, munich_centre_csv):
    out = tmp_path / "net.json"
    main(["import", str(munich_centre_csv), "--out", str(out)])
    capsys.readouterr()
    cells = [c["cell_id"] for c in json.loads(out.read_text())["cells"]][:12]
    rows = [{"cell_id": c, "hour": 16, "RRU.PrbUsedDl": 30.0 + 3 * i, "RRU.PrbAvailDl": 100.0}
            for i, c in enumerate(cells)]
    rows.append({"cell_id": "no-such-cell", "hour": 16, "RRU.PrbUsedDl": 50.0,
                 "RRU.PrbAvailDl": 100.0})
    meas = tmp_path / "meas.csv"
    pd.DataFrame(rows).to_csv(meas, index=False)
    assert main(["twin", "--network", str(out), "--measurements", str(meas), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    cal = res["calibration"]
    assert cal["n_rows"] == 13 and cal["mape"] < 0.02
    assert {"cell_id": "no-such-cell", "hours": [16],
            "reason": "cell id not in the network"} in cal["unmatched"]
    util = {c["cell_id"]: c["prb_util"] for c in res["cells"]}
    served = [r for r in rows[:-1] if r["cell_id"] not in
              {u["cell_id"] for u in cal["unmatched"]}]
    assert served and all(abs(util[r["cell_id"]] - r["RRU.PrbUsedDl"] / 100) < 0.01
                          for r in served)
    assert main(["twin", "--network", str(out), "--measurements", str(meas)]) == 0
    text = capsys.readouterr().out
    assert "MAPE" in text and "unmatched no-such-cell (hour 16): cell id not in the network" in text


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["import", str(_write(tmp_path, "")), "--format", "opencellid",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "celltwin: error:" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()  # nothing half-written
    assert main(["twin", "--network", str(MUNICH), "--scenario", "hotspot"]) == 2
    assert "not both" in capsys.readouterr().err


def test_semicolon_csv_with_decimal_commas_and_every_problem_at_once(tmp_path) -> None:
    """The German/Italian Excel default (';' and decimal commas) reads as it is; a table with
    several problems names them all, at the file lines a spreadsheet shows."""
    from twin.importers import read_tables

    (tmp_path / "sites.csv").write_text("site_id;x_m;y_m\nA;0;0\nB;400,5;0\n")
    (tmp_path / "cells.csv").write_text(
        "cell_id;site_id;azimuth_deg;tx_power_dbm;fc_ghz;bandwidth_mhz;n_prb;height_m\n"
        "A-1;A;0;46;1,8;20;100;25\nB-1;B;120;46;1,8;20;100;25,5\n")
    net = read_tables(tmp_path / "sites.csv", tmp_path / "cells.csv")
    assert net.sites["x_m"].tolist() == [0.0, 400.5]
    assert net.cells["fc_ghz"].tolist() == [1.8, 1.8] and net.cells["height_m"].iloc[1] == 25.5
    (tmp_path / "bad.csv").write_text(
        "cell_id,site_id,azimuth_deg,tx_power_dbm,fc_ghz,bandwidth_mhz,n_prb,height_m\n"
        "A-1,A,0,46,1.8,20,100,25\nA-2,A,400,46,1.8,20,100,25\nB-1,B,120,99,1.8,20,100,x\n")
    (tmp_path / "s2.csv").write_text("site_id,x_m,y_m\nA,0,0\nB,400,0\n")
    with pytest.raises(ValidationError) as e:
        read_tables(tmp_path / "s2.csv", tmp_path / "bad.csv")
    msg = str(e.value)
    assert msg.startswith("cells, line 3 of 'bad.csv' (cell_id='A-2'), column 'azimuth_deg'")
    assert len(e.value.problems) == 3
    assert "line 4 of 'bad.csv' (cell_id='B-1'), column 'tx_power_dbm'" in msg
    assert "line 4 of 'bad.csv' (cell_id='B-1'), column 'height_m'" in msg
