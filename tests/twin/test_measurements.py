"""Reading and validating TS 28.552 counters (CSV and Parquet)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.errors import InputFileError, ValidationError
from twin.measurements import (
    PRB_AVAIL,
    PRB_TOT_PCT,
    PRB_USED,
    UE_THP,
    VOLUME,
    read_measurements,
    validate_measurements,
)

OUT_COLUMNS = ["cell_id", "hour", "prb_util", "volume_mbit", "ue_thp_kbps", "n_samples"]


def counters() -> pd.DataFrame:
    return pd.DataFrame({
        "cell_id": ["A-1", "A-1", "A-2", "B-1"],
        "hour": [10, 11, 10, 10],
        PRB_USED: [42.0, 80.0, 5.5, 100.0],
        PRB_AVAIL: [100.0, 100.0, 50.0, 100.0],
        UE_THP: [12000.0, 8000.0, np.nan, 300.0],
    })


def by_key(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index(["cell_id", "hour"])


def test_csv_round_trip(tmp_path):
    path = tmp_path / "pm.csv"
    counters().to_csv(path, index=False)
    m = read_measurements(path)
    assert list(m.columns) == OUT_COLUMNS
    k = by_key(m)
    assert k.loc[("A-1", 10), "prb_util"] == pytest.approx(0.42)
    assert k.loc[("A-2", 10), "prb_util"] == pytest.approx(0.11)
    assert k.loc[("B-1", 10), "prb_util"] == pytest.approx(1.0)
    assert k.loc[("A-1", 11), "ue_thp_kbps"] == 8000.0
    assert np.isnan(k.loc[("A-2", 10), "ue_thp_kbps"])
    assert k["volume_mbit"].isna().all()
    assert (k["n_samples"] == 1).all()


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_round_trip(tmp_path, suffix):
    path = tmp_path / f"pm{suffix}"
    counters().to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_measurements(path),
                                  validate_measurements(counters()))


def test_prb_tot_percent_alternative():
    raw = pd.DataFrame({"cell_id": ["A-1", "A-2"], "hour": [9, 9], PRB_TOT_PCT: [37.5, 0.0]})
    k = by_key(validate_measurements(raw))
    assert k.loc[("A-1", 9), "prb_util"] == pytest.approx(0.375)
    assert k.loc[("A-2", 9), "prb_util"] == 0.0
    with pytest.raises(ValidationError, match=PRB_TOT_PCT.replace(".", r"\.")):
        validate_measurements(raw.assign(**{PRB_TOT_PCT: [37.5, 140.0]}))


def test_used_and_available_take_precedence_over_percent():
    raw = pd.DataFrame({"cell_id": ["A-1"], "hour": [9], PRB_USED: [30.0], PRB_AVAIL: [100.0],
                        PRB_TOT_PCT: [99.0]})
    assert validate_measurements(raw)["prb_util"].iloc[0] == pytest.approx(0.30)


def test_timestamp_instead_of_hour_averages_periods(tmp_path):
    # 15-minute periods, local time with an offset: hour 14 is the wall clock, not UTC 13.
    path = tmp_path / "pm.csv"
    path.write_text(
        "cell_id,timestamp,RRU.PrbUsedDl,RRU.PrbAvailDl\n"
        "A-1,2024-03-01T14:00:00+01:00,40,100\n"
        "A-1,2024-03-01T14:15:00+01:00,50,100\n"
        "A-1,2024-03-01T14:30:00+01:00,60,100\n"
        "A-1,2024-03-01T14:45:00+01:00,70,100\n"
        "A-1,2024-03-31T15:00:00+02:00,20,100\n"   # after the DST change
        "A-2,2024-03-01 09:05:00,10,50\n"
        "A-3,01/03/2024 22:59,5,100\n")
    k = by_key(read_measurements(path))
    assert k.loc[("A-1", 14), "prb_util"] == pytest.approx(0.55)
    assert k.loc[("A-1", 14), "n_samples"] == 4
    assert k.loc[("A-1", 15), "prb_util"] == pytest.approx(0.20)
    assert k.loc[("A-2", 9), "prb_util"] == pytest.approx(0.20)
    assert k.loc[("A-3", 22), "prb_util"] == pytest.approx(0.05)
    assert "timestamp" not in k.columns


def test_timestamp_column_from_parquet_keeps_its_zone(tmp_path):
    ts = pd.to_datetime(["2024-03-01 08:10", "2024-03-01 08:40"]).tz_localize("Europe/Rome")
    raw = pd.DataFrame({"cell_id": ["A-1", "A-1"], "timestamp": ts, PRB_TOT_PCT: [10.0, 30.0]})
    path = tmp_path / "pm.parquet"
    raw.to_parquet(path, index=False)
    k = by_key(read_measurements(path))
    assert list(k.index) == [("A-1", 8)]
    assert k["prb_util"].iloc[0] == pytest.approx(0.20)


def test_unreadable_timestamp_names_row_and_column():
    raw = pd.DataFrame({"cell_id": ["A-1", "A-1"], "timestamp": ["2024-03-01 10:00", "soon"],
                        PRB_TOT_PCT: [1.0, 2.0]})
    with pytest.raises(ValidationError, match=r"measurements, row 1, column 'timestamp'"):
        validate_measurements(raw)


def test_blank_cells_mean_not_measured(tmp_path):
    path = tmp_path / "pm.csv"
    path.write_text(
        "cell_id,hour,RRU.PrbUsedDl,RRU.PrbAvailDl,RRU.PrbTotDl,DRB.PdcpSduVolumeDL\n"
        "A-1,10,40,100,,\n"
        "A-2,10,,,25,\n"
        "A-3,10,,,,7200\n")
    k = by_key(read_measurements(path))
    assert k.loc[("A-1", 10), "prb_util"] == pytest.approx(0.40)
    assert k.loc[("A-2", 10), "prb_util"] == pytest.approx(0.25)
    assert np.isnan(k.loc[("A-3", 10), "prb_util"])
    assert k.loc[("A-3", 10), "volume_mbit"] == 7200.0
    # Blank text (spaces) in a DataFrame read as strings behaves the same.
    raw = pd.DataFrame({"cell_id": ["A-1"], "hour": [3], PRB_USED: [" "], PRB_AVAIL: [""],
                        VOLUME: ["360"]})
    m = validate_measurements(raw)
    assert np.isnan(m["prb_util"].iloc[0]) and m["volume_mbit"].iloc[0] == 360.0


def test_used_above_available_is_an_error():
    raw = counters()
    raw.loc[2, PRB_USED] = 51.0  # A-2 has 50 available
    with pytest.raises(ValidationError) as e:
        validate_measurements(raw)
    msg = str(e.value)
    assert "measurements" in msg and "row 2" in msg and PRB_USED in msg and "exceeds" in msg


def test_used_without_available_is_an_error():
    raw = counters()
    raw.loc[1, PRB_AVAIL] = np.nan
    with pytest.raises(ValidationError, match="together"):
        validate_measurements(raw)


def test_row_with_neither_utilisation_nor_volume_is_an_error():
    raw = pd.DataFrame({"cell_id": ["A-1", "A-2"], "hour": [1, 1], PRB_TOT_PCT: [10.0, np.nan],
                        UE_THP: [1000.0, 2000.0]})
    with pytest.raises(ValidationError, match=r"row 1.*neither"):
        validate_measurements(raw)
    # A file without any counter column at all is refused too.
    with pytest.raises(ValidationError, match="neither"):
        validate_measurements(pd.DataFrame({"cell_id": ["A-1"], "hour": [1]}))


@pytest.mark.parametrize(("column", "value", "what"), [
    ("hour", 24, "out of range"),
    ("hour", 2.5, "whole number"),
    ("cell_id", np.nan, "expected text"),
    (PRB_USED, -1.0, "below the minimum"),
    (PRB_USED, "lots", "expected a number"),
])
def test_bad_values_name_row_and_column(column, value, what):
    raw = counters().astype({column: object})
    raw.loc[3, column] = value
    with pytest.raises(ValidationError, match=what) as e:
        validate_measurements(raw)
    assert e.value.table == "measurements" and e.value.column == column
    assert str(e.value.row).startswith("3")


def test_unknown_column_is_an_error():
    with pytest.raises(ValidationError, match="unknown column"):
        validate_measurements(counters().assign(**{"RRU.PrbUsedUl": 1.0}))


@pytest.mark.parametrize(("name", "content"), [
    ("pm.csv", b""),                                                     # empty
    ("pm.csv", b"cell_id,hour,RRU.PrbTotDl\nA-1,3,10,99,7\nA-2,3\n"),    # extra fields
    ("pm.csv", b"cell_id,hour,RRU.PrbTotDl\nA-1,3,10\nA-2,3,10,9,9,9\n"),  # ragged row
    ("pm.parquet", b"PAR1 this is not parquet"),
    ("pm.pq", counters().to_csv(index=False).encode()),                  # CSV named .pq
])
def test_malformed_file_raises_input_file_error_naming_the_path(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError) as e:
        read_measurements(path)
    assert str(path) in str(e.value)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(InputFileError, match=r"nope\.csv"):
        read_measurements(path)
