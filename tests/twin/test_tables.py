"""Bad network tables: every error is a ValidationError naming the table, the row and the
column, and nothing is half-loaded or changed in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.errors import UnknownIdError, ValidationError
from twin.network import Network
from twin.schema import validate
from twin.tables import CANDIDATES, CELLS, SITES

from .conftest import hex7_tables


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    sites, cells = hex7_tables()
    return sites, cells


def expect_error(sites: pd.DataFrame, cells: pd.DataFrame, table: str, column: str | None,
                 row_id: str | None, *words: str) -> ValidationError:
    s0, c0 = sites.copy(deep=True), cells.copy(deep=True)
    with pytest.raises(ValidationError) as e:
        Network.from_tables(sites, cells)
    err = e.value
    msg = str(err)
    assert err.table == table and msg.startswith(table), msg
    if column is not None:
        assert err.column == column and f"column '{column}'" in msg, msg
    if row_id is not None:
        assert row_id in msg, msg
    for w in words:
        assert w in msg, msg
    # The inputs are untouched by a failed load.
    pd.testing.assert_frame_equal(sites, s0)
    pd.testing.assert_frame_equal(cells, c0)
    return err


def test_good_tables_load_with_defaults():
    sites, cells = tables()
    net = Network.from_tables(sites, cells.drop(columns=["cio_db", "scenario"]))
    assert len(net.cells) == 21 and len(net.sites) == 7
    assert (net.cells["cio_db"] == 0.0).all() and (net.cells["scenario"] == "uma").all()
    assert net.cells["n_prb"].dtype == np.int64
    assert net.sites["estimated"].dtype == bool


@pytest.mark.parametrize(("column", "value", "words"), [
    ("tx_power_dbm", "forty-six", ("expected a number", "forty-six")),
    ("n_prb", 99.5, ("whole number",)),
    ("n_prb", "100 PRB", ("expected a number",)),
    ("tx_power_dbm", np.nan, ("missing or non-finite",)),
    ("height_m", np.inf, ("non-finite",)),
    ("tx_power_dbm", 75.0, ("out of range", "60")),
    ("tx_power_dbm", -3.0, ("below the minimum",)),
    ("azimuth_deg", 360.0, ("out of range", "below 360")),
    ("azimuth_deg", -10.0, ("below the minimum",)),
    ("mech_tilt_deg", 45.0, ("out of range",)),
    ("elec_tilt_deg", -15.0, ("below the minimum",)),
    ("fc_ghz", 0.1, ("below the minimum",)),
    ("mimo_layers", 16, ("out of range",)),
    ("scs_khz", 45.0, ("not one of",)),
    ("antenna", "yagi", ("not one of", "macro3gpp")),
    ("scenario", "indoor", ("not one of",)),
])
def test_bad_cell_value_names_table_row_and_column(column, value, words):
    sites, cells = tables()
    cells[column] = cells[column].astype(object)
    cells.loc[4, column] = value
    expect_error(sites, cells, "cells", column, "cell_id='S02-2'", *words)


@pytest.mark.parametrize(("column", "value", "words"), [
    ("x_m", 2.5e6, ("out of range",)),
    ("y_m", -3e6, ("below the minimum",)),
    ("x_m", "east", ("expected a number",)),
    ("y_m", np.nan, ("missing or non-finite",)),
    ("lat_deg", 95.0, ("out of range",)),
    ("lon_deg", -200.0, ("below the minimum",)),
    ("estimated", "maybe", ("true/false",)),
])
def test_bad_site_value_names_table_row_and_column(column, value, words):
    sites, cells = tables()
    if column not in sites:
        sites[column] = 0.0 if column != "estimated" else False
    sites[column] = sites[column].astype(object)
    sites.loc[2, column] = value
    expect_error(sites, cells, "sites", column, "site_id='S03'", *words)


def test_unknown_column():
    sites, cells = tables()
    err = expect_error(sites, cells.assign(tilt=4.0), "cells", None, None, "unknown column",
                       "'tilt'", "elec_tilt_deg")
    assert err.column is None
    expect_error(sites.assign(altitude_m=10.0), cells, "sites", None, None, "altitude_m")


def test_missing_required_column():
    sites, cells = tables()
    expect_error(sites, cells.drop(columns=["tx_power_dbm"]), "cells", None, None,
                 "missing required", "tx_power_dbm")
    expect_error(sites.drop(columns=["x_m"]), cells, "sites", None, None, "x_m")


def test_duplicate_ids():
    sites, cells = tables()
    cells.loc[5, "cell_id"] = "S01-1"
    expect_error(sites, cells, "cells", "cell_id", "row 5", "duplicate", "'S01-1'")
    sites, cells = tables()
    sites.loc[6, "site_id"] = "S02"
    expect_error(sites, cells, "sites", "site_id", "row 6", "duplicate", "'S02'")


def test_dangling_site_id():
    sites, cells = tables()
    cells.loc[7, "site_id"] = "S42"
    expect_error(sites, cells, "cells", "site_id", "cell_id='S03-2'", "'S42'", "sites.site_id")


@pytest.mark.parametrize("empty", ["", "   ", np.nan, None])
def test_empty_ids(empty):
    sites, cells = tables()
    cells["cell_id"] = cells["cell_id"].astype(object)
    cells.loc[3, "cell_id"] = empty
    expect_error(sites, cells, "cells", "cell_id", "row 3")
    sites, cells = tables()
    sites["site_id"] = sites["site_id"].astype(object)
    sites.loc[1, "site_id"] = empty
    expect_error(sites, cells, "sites", "site_id", "row 1")


@pytest.mark.parametrize(("n_prb", "scs", "bw", "ok"), [
    (100, 15.0, 20.0, True),     # LTE 20 MHz
    (106, 15.0, 20.0, True),     # NR 20 MHz, 15 kHz
    (273, 30.0, 100.0, True),    # NR 100 MHz, 30 kHz
    (200, 15.0, 20.0, False),    # 36 MHz of PRBs in a 20 MHz channel
    (100, 30.0, 20.0, False),    # right count for 15 kHz, wrong SCS
    (52, 15.0, 5.0, False),      # 10 MHz count on a 5 MHz channel
])
def test_n_prb_must_fit_the_bandwidth(n_prb, scs, bw, ok):
    sites, cells = tables()
    cells.loc[9, ["n_prb", "scs_khz", "bandwidth_mhz"]] = [n_prb, scs, bw]
    if ok:
        net = Network.from_tables(sites, cells)
        assert int(net.cells.loc[9, "n_prb"]) == n_prb
    else:
        expect_error(sites, cells, "cells", "n_prb", "cell_id='S04-1'", "bandwidth_mhz")


def test_not_a_table():
    sites, _ = tables()
    with pytest.raises(ValidationError, match="expected a table"):
        Network.from_tables(sites, [{"cell_id": "x"}])  # type: ignore[arg-type]


def test_no_cells():
    sites, cells = tables()
    with pytest.raises(ValidationError, match="no cells"):
        Network.from_tables(sites, cells.iloc[0:0])


def test_schema_validate_directly():
    sites, cells = tables()
    v = validate(sites, SITES)
    assert list(v.columns) == SITES.names
    with pytest.raises(ValidationError, match="does not exist"):
        validate(cells, CELLS, parents={"sites": v.iloc[:3]})
    cand = pd.DataFrame({"candidate_id": ["C1", "C2"], "x_m": [0.0, 10.0], "y_m": [0.0, "n/a"]})
    with pytest.raises(ValidationError) as e:
        validate(cand, CANDIDATES)
    assert e.value.table == "candidates" and e.value.column == "y_m"
    assert "candidate_id='C2'" in str(e.value)


@pytest.mark.parametrize(("changes", "column", "words"), [
    ({"tx_power_dbm": 500.0}, "tx_power_dbm", ("out of range",)),
    ({"tx_power_dbm": "high"}, "tx_power_dbm", ("expected a number",)),
    ({"elec_tilt_deg": np.nan}, "elec_tilt_deg", ("needs a value",)),
    ({"mimo_layers": 2.5}, "mimo_layers", ("whole number",)),
    ({"antenna": 7}, "antenna", ("not one of",)),
    ({"site_id": "NOWHERE"}, "site_id", ("does not exist",)),
    ({"n_prb": 200}, "n_prb", ("bandwidth_mhz",)),
    ({"azimuth_deg": 30.0, "cio_db": 99.0}, "cio_db", ("out of range",)),
])
def test_failing_change_leaves_network_unchanged(changes, column, words):
    sites, cells = tables()
    net = Network.from_tables(sites, cells)
    cells0, sites0 = net.cells.copy(deep=True), net.sites.copy(deep=True)
    with pytest.raises(ValidationError) as e:
        net.with_cell_changes("S01-2", changes)
    assert e.value.table == "cells" and e.value.column == column
    assert "S01-2" in str(e.value)
    for w in words:
        assert w in str(e.value)
    pd.testing.assert_frame_equal(net.cells, cells0)
    pd.testing.assert_frame_equal(net.sites, sites0)
    # A valid change still works afterwards and only touches its cell.
    ok = net.with_cell_changes("S01-2", {"tx_power_dbm": 43.0})
    assert float(ok.cells.loc[1, "tx_power_dbm"]) == 43.0
    assert ok.cells["tx_power_dbm"].dtype == np.float64
    pd.testing.assert_frame_equal(ok.cells.drop(index=1), cells0.drop(index=1))


def test_change_of_unknown_cell_or_column():
    sites, cells = tables()
    net = Network.from_tables(sites, cells)
    with pytest.raises(UnknownIdError, match="S09-1"):
        net.with_cell_changes("S09-1", {"tx_power_dbm": 40.0})
    with pytest.raises(ValidationError, match="cannot change"):
        net.with_cell_changes("S01-1", {"cell_id": "X"})
    with pytest.raises(ValidationError, match="cannot change"):
        net.with_cell_changes("S01-1", {"power": 40.0})
