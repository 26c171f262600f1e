"""What cannot be meant is refused, what is merged or skipped is said (issue 11, item 10),
with files whose ids are LTE ECIs, so that each check is reached (the hostile run's bad
files used GSM-sized ids and were refused as "not LTE" before any of these checks ran)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import main
from twin.calibration import calibrate_demand
from twin.demand import Demand
from twin.errors import InputFileError, ValidationError
from twin.importers import network_to_dict, read_opencellid, read_tables, write_tables
from twin.measurements import PRB_AVAIL, PRB_USED, validate_measurements
from twin.prior import scenario_from_network

from .conftest import SmallCase

HEADER = "lon,lat,mcc,net,range,cell\n"
# Three LTE cells of one eNB (ECI 26226000..2 = eNB 102445), a few hundred metres apart.
LTE_ROWS = ("11.5000,48.1000,262,1,800,26226000\n11.5030,48.1010,262,1,800,26226001\n"
            "11.5010,48.1030,262,1,800,26226002\n")


def _write(tmp_path: Path, body: str, name: str = "cells.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def test_the_lte_rows_are_reached_and_import(tmp_path):
    res = read_opencellid(_write(tmp_path, LTE_ROWS))
    assert len(res.network.cells) == 3 and res.skipped == {} and res.warnings == ()
    assert res.summary()["warnings"] == []


# --- the three bad files, with LTE ids ------------------------------------------------------------
def test_duplicate_ids_are_merged_with_a_visible_warning(tmp_path):
    res = read_opencellid(_write(tmp_path, LTE_ROWS + "11.5004,48.1002,262,1,900,26226000\n"))
    assert res.merged_duplicates == 1 and len(res.network.cells) == 3
    (w,) = res.warnings
    assert w.startswith("merged 1 duplicate rows (same MCC, MNC and cell id) into 1 cells")
    assert "cell 26226000" in w and "file line 2 and file line 5" in w
    assert res.summary()["warnings"] == [w]
    assert res.summary()["merged_duplicates"] == 1  # the counter stays beside the words


def test_duplicate_ids_world_apart_are_refused(tmp_path):
    p = _write(tmp_path, LTE_ROWS + "151.2000,-33.9000,262,1,900,26226001\n")
    with pytest.raises(ValidationError, match=r"cell id 26226001 appears at positions "
                       r"[\d,]+ km apart \(file line 3 and file line 5\)") as e:
        read_opencellid(p)
    assert e.value.column == "cell"


def test_negative_range_is_refused_naming_row_and_line(tmp_path):
    p = _write(tmp_path, LTE_ROWS.replace(",800,26226001", ",-800,26226001"))
    with pytest.raises(ValidationError, match="-800 is below the minimum 0") as e:
        read_opencellid(p)
    assert e.value.column == "range" and "file line 3" in str(e.value.row)
    # Blank = not given, as in exports without an estimate.
    assert len(read_opencellid(_write(tmp_path, LTE_ROWS.replace(",800,", ",,"), "b.csv"))
               .network.cells) == 3


def test_milan_layout_range_m_is_checked_too(tmp_path):
    p = tmp_path / "milan.csv"
    p.write_text("cell_eci,radio,range_m,lon,lat\n26226000,LTE,-1,11.5,48.1\n"
                 "26226001,LTE,500,11.503,48.101\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="below the minimum 0") as e:
        read_opencellid(p)
    assert e.value.column == "range"


def test_world_apart_cells_are_refused(tmp_path):
    p = _write(tmp_path, LTE_ROWS + "151.2000,-33.9000,262,1,900,26226003\n")
    with pytest.raises(ValidationError, match="km from the median position") as e:
        read_opencellid(p)
    assert "file line 5" in str(e.value.row)


def test_skipped_rows_are_a_warning(tmp_path):
    res = read_opencellid(_write(tmp_path, LTE_ROWS + "11.5,48.1,262,1,500,407\n"))
    assert res.warnings == ("skipped 1 of 4 rows: not LTE (GSM/UMTS cell id <= 65535)",)


def test_cli_import_prints_the_warnings(tmp_path, capsys):
    p = _write(tmp_path, LTE_ROWS + "11.5004,48.1002,262,1,900,26226000\n")
    assert main(["import", str(p), "--out", str(tmp_path / "n.json")]) == 0
    assert "warning: merged 1 duplicate rows" in capsys.readouterr().out
    assert main(["import", str(p), "--out", str(tmp_path / "n.json"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["merged_duplicates"] == 1 and s["warnings"][0].startswith("merged 1")


# --- JSON documents ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "needle"), [
    ("version", 99, "document version 99 is not supported"),
    ("version", "1", 'document version "1" is not supported'),
    ("version", True, "document version true is not supported"),
    ("format", "geojson", "'format' is \"geojson\""),
])
def test_json_document_of_another_version_or_format_is_refused(tmp_path, hex7: SmallCase,
                                                               key, value, needle):
    doc = network_to_dict(hex7.network)
    doc[key] = value
    p = tmp_path / "net.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputFileError, match=needle):
        read_tables(p)


def test_json_document_without_version_or_format_still_reads(tmp_path, hex7: SmallCase):
    write_tables(hex7.network, tmp_path / "a.json")
    assert len(read_tables(tmp_path / "a.json").cells) == len(hex7.network.cells)
    doc = network_to_dict(hex7.network)
    del doc["version"], doc["format"]
    (tmp_path / "b.json").write_text(json.dumps(doc), encoding="utf-8")
    assert len(read_tables(tmp_path / "b.json").cells) == len(hex7.network.cells)


# --- measurements --------------------------------------------------------------------------------
def _prior(case: SmallCase) -> Demand:
    grid = case.demand.grid
    return Demand.from_profile(grid, np.full(grid.n_bin, 0.1), np.ones(24))


def _counters(cells: list[str], used: float = 40.0) -> pd.DataFrame:
    return validate_measurements(pd.DataFrame(
        {"cell_id": cells, "hour": 11, PRB_USED: used, PRB_AVAIL: 100.0}))


def test_measurements_matching_no_cell_are_refused(hex7: SmallCase):
    meas = _counters([f"OTHER-{i}" for i in range(5)])
    with pytest.raises(ValidationError, match=r"none of the 5 measured cell ids is a cell of "
                       r"the network \(measured e.g. 'OTHER-0', 'OTHER-1', 'OTHER-2', \.\.\.; "
                       r"the network has e.g. 'S01-1'") as e:
        calibrate_demand(hex7.network, _prior(hex7), meas)
    assert (e.value.table, e.value.column) == ("measurements", "cell_id")
    with pytest.raises(ValidationError, match="none of the 5 measured cell ids"):
        scenario_from_network(hex7.network, meas)


def test_measurements_that_fit_nothing_are_refused(hex7: SmallCase):
    meas = _counters(list(hex7.network.cell_ids[:3]), used=100.0)  # all saturated
    with pytest.raises(ValidationError, match=r"none of the 3 measured \(cell, hour\) rows could "
                       r"be fitted: saturated"):
        calibrate_demand(hex7.network, _prior(hex7), meas)


def test_partly_unmatched_measurements_are_warnings(hex7: SmallCase):
    ids = list(hex7.network.cell_ids)
    res = calibrate_demand(hex7.network, _prior(hex7), _counters([*ids, "GHOST-7"], 30.0))
    assert res.warnings == ["measurements of cell GHOST-7 (1 hour(s)) not used: cell id not in "
                            "the network"]
    assert res.summary()["warnings"] == res.warnings
    assert res.summary()["n_matched"] == len(ids)


def test_cli_twin_with_measurements_of_another_network_exits_2(tmp_path, capsys,
                                                               hex7: SmallCase):
    write_tables(hex7.network, tmp_path / "net.json")
    pd.DataFrame({"cell_id": ["X-1", "X-2"], "hour": 11, PRB_USED: 40.0, PRB_AVAIL: 100.0}
                 ).to_csv(tmp_path / "m.csv", index=False)
    assert main(["twin", "--network", str(tmp_path / "net.json"), "--measurements",
                 str(tmp_path / "m.csv")]) == 2
    err = capsys.readouterr().err
    assert "none of the 2 measured cell ids is a cell of the network" in err
