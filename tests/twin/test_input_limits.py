"""Bounded reading of user files (issue 11, items 1 and 5): deeply nested JSON is an input
error (never a RecursionError or a traceback), Parquet and CSV tables over the row and
decompressed-size limits are refused before they are read in full."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli.main import main
from twin import input_limits
from twin.errors import InputFileError, InputTooLargeError
from twin.importers import load_network, network_to_dict, read_table_file, read_tables
from twin.input_limits import MAX_JSON_DEPTH, MAX_TABLE_ROWS, nesting_depth, parse_json
from twin.measurements import read_measurements
from twin.scenarios.hotspot import build_network as hotspot_network

REPO = Path(__file__).resolve().parents[2]
DEEP = "[" * 1000 + "]" * 1000


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- JSON nesting --------------------------------------------------------------------------------
def test_nesting_depth_counts_levels_iteratively():
    assert nesting_depth(1) == 0 and nesting_depth([]) == 1
    assert nesting_depth({"sites": [{"x": 1}], "cells": []}) == 3
    deep: list = []
    for _ in range(50_000):  # far past the recursion limit
        deep = [deep]
    assert nesting_depth(deep) == 50_001


@pytest.mark.parametrize("text", [DEEP, '{"sites": ' + "[" * 40 + "]" * 40 + ', "cells": []}',
                                  "[" * 100_000])
def test_deep_json_is_an_input_error_naming_the_limit(text):
    with pytest.raises(InputFileError) as e:
        parse_json(text, "network file 'x.json'")
    msg = str(e.value)
    assert "x.json" in msg
    assert "levels deep" in msg or "not valid JSON" in msg


def test_json_depth_limit_is_the_documented_one():
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert nesting_depth(parse_json(ok, "doc")) == MAX_JSON_DEPTH
    with pytest.raises(InputFileError, match=f"more than {MAX_JSON_DEPTH} levels"):
        parse_json("[" + ok + "]", "doc")


def test_overlong_integer_literal_is_an_input_error():
    # Python refuses int() of more than 4300 digits with a ValueError that is no JSONDecodeError.
    with pytest.raises(InputFileError, match="not valid JSON"):
        parse_json('{"sites": [{"x_m": ' + "9" * 5000 + "}]}", "doc")


def test_deep_network_document_is_refused_by_the_importer(tmp_path):
    p = _write(tmp_path, "deep.json", DEEP)
    with pytest.raises(InputFileError, match="levels deep"):
        read_tables(p)
    with pytest.raises(InputFileError, match="levels deep"):
        load_network(p)


def test_nested_value_in_a_row_is_refused(tmp_path):
    doc = network_to_dict(hotspot_network())
    doc["cells"][3]["tx_power_dbm"] = [[[46.0]]]
    with pytest.raises(InputFileError, match=r"'cells' row 3, column 'tx_power_dbm'.*list"):
        read_tables(_write(tmp_path, "net.json", json.dumps(doc)))


@pytest.mark.parametrize("argv", [["import", "{file}", "--out", "{out}"],
                                  ["twin", "--network", "{file}"],
                                  ["policy", "check", "{file}"]])
def test_cli_on_deep_json_exits_2_with_one_line(tmp_path, capsys, argv):
    p = _write(tmp_path, "deep.json", DEEP)
    args = [a.format(file=p, out=tmp_path / "out.json") for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("celltwin: error:") and "levels deep" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "out.json").exists()


def test_celltwin_process_on_deep_json_prints_no_traceback(tmp_path):
    p = _write(tmp_path, "deep.json", DEEP)
    r = subprocess.run([sys.executable, "-c", "import sys; from cli.main import main; "
                        "sys.exit(main(sys.argv[1:]))", "import", str(p), "--out",
                        str(tmp_path / "o.json")], capture_output=True, text=True, cwd=REPO,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "levels deep" in r.stderr


# --- table sizes ---------------------------------------------------------------------------------
def _bomb(path: Path, n_rows: int) -> Path:
    """A counter file of ``n_rows`` identical rows: a few KB on disk (dictionary + RLE)."""
    table = pa.table({
        "cell_id": pa.array(["S01-1"] * n_rows).dictionary_encode(),
        "hour": pa.array([16] * n_rows, type=pa.int8()),
        "RRU.PrbTotDl": pa.array([50.0] * n_rows),
    })
    pq.write_table(table, path, compression="zstd")
    return path


def test_parquet_row_bomb_is_refused_from_its_footer(tmp_path):
    p = _bomb(tmp_path / "m.parquet", MAX_TABLE_ROWS + 1)
    assert p.stat().st_size < 200_000
    t0 = time.perf_counter()
    with pytest.raises(InputTooLargeError, match="MAX_TABLE_ROWS") as e:
        read_measurements(p)
    assert time.perf_counter() - t0 < 3.0  # the footer only, not 2 M rows
    assert f"{MAX_TABLE_ROWS:,} rows" in str(e.value)
    with pytest.raises(InputTooLargeError, match="MAX_TABLE_ROWS"):
        read_table_file(p, "cells")


def test_parquet_decompressed_size_limit(tmp_path, monkeypatch):
    p = tmp_path / "cells.parquet"
    pq.write_table(pa.table({"cell_id": [f"C{i:06d}" for i in range(50_000)]}), p)
    monkeypatch.setattr(input_limits, "MAX_PARQUET_BYTES", 100_000)
    with pytest.raises(InputTooLargeError, match="MAX_PARQUET_BYTES"):
        read_table_file(p, "cells")


def test_parquet_nested_column_is_refused(tmp_path):
    p = tmp_path / "m.parquet"
    pq.write_table(pa.table({"cell_id": ["S01-1"], "hour": [16],
                             "RRU.PrbTotDl": pa.array([[1.0, 2.0]])}), p)
    with pytest.raises(InputFileError, match=r"nested .*\['RRU.PrbTotDl'\]"):
        read_measurements(p)


def test_csv_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(input_limits, "MAX_TABLE_ROWS", 10)
    body = "cell_id,hour,RRU.PrbTotDl\n" + "S01-1,16,50\n" * 11
    with pytest.raises(InputTooLargeError, match="more than 10 rows"):
        read_measurements(_write(tmp_path, "m.csv", body))
    with pytest.raises(InputTooLargeError, match="more than 10 rows"):
        read_table_file(_write(tmp_path, "c.csv", body), "cells")
    assert len(read_measurements(_write(tmp_path, "ok.csv", body.rsplit("S01", 1)[0]))) == 1


def test_distinct_odd_timestamps_are_bounded():
    import pandas as pd

    from twin.errors import ValidationError
    from twin.measurements import MAX_ODD_TIMESTAMPS, validate_measurements

    n = MAX_ODD_TIMESTAMPS + 1  # day/month/year with seconds: all distinct, none ISO 8601
    ts = [f"{1 + i % 28:02d}/03/2026 {i % 24:02d}:{i // 24 % 60:02d}:{i // 1440 % 60:02d}"
          for i in range(n)]
    df = pd.DataFrame({"cell_id": "A", "timestamp": ts, "RRU.PrbTotDl": 50.0})
    t0 = time.perf_counter()
    with pytest.raises(ValidationError, match="MAX_ODD_TIMESTAMPS") as e:
        validate_measurements(df)
    assert time.perf_counter() - t0 < 3.0 and e.value.column == "timestamp"
    # Repeated odd timestamps (every cell at the same periods) are parsed once each.
    df = pd.DataFrame({"cell_id": [f"C{i % 500}" for i in range(n)], "RRU.PrbTotDl": 50.0,
                       "timestamp": [f"0{1 + i // 500 % 9}/03/2026 {i // 500 % 24:02d}:15"
                                     for i in range(n)]})
    assert set(validate_measurements(df)["hour"]) <= set(range(24))


def test_network_size_is_bounded(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from twin.importers import read_opencellid, write_tables
    from twin.input_limits import MAX_NETWORK_CELLS

    # An OpenCelliD list of MAX_NETWORK_CELLS + 1 LTE cells in one region (1 MB of CSV).
    n = MAX_NETWORK_CELLS + 1
    rng = np.random.default_rng(0)
    pd.DataFrame({"lon": 11.5 + rng.uniform(-0.3, 0.3, n), "lat": 48.1 + rng.uniform(-0.2, 0.2, n),
                  "cell": 26_000_000 + np.arange(n)}).to_csv(tmp_path / "o.csv", index=False)
    t0 = time.perf_counter()
    with pytest.raises(InputTooLargeError, match="MAX_NETWORK_CELLS"):
        read_opencellid(tmp_path / "o.csv")
    assert time.perf_counter() - t0 < 5.0  # refused before clustering and the twin
    # Project tables, as JSON and as CSV (limit lowered: the check, not the size, is tested).
    net = hotspot_network()
    monkeypatch.setattr(input_limits, "MAX_NETWORK_CELLS", len(net.cells) - 1)
    write_tables(net, tmp_path / "n.json")
    write_tables(net, tmp_path / "s.csv", tmp_path / "c.csv")
    for args in ((tmp_path / "n.json",), (tmp_path / "s.csv", tmp_path / "c.csv")):
        with pytest.raises(InputTooLargeError, match=f"{len(net.cells)} cells"):
            read_tables(*args)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_column_count_is_bounded(tmp_path, kind):
    from twin.input_limits import MAX_TABLE_COLUMNS

    cols = {f"c{i}": [1] for i in range(MAX_TABLE_COLUMNS + 1)}
    p = tmp_path / f"wide.{kind}"
    if kind == "csv":
        p.write_text(",".join(cols) + "\n" + ",".join("1" for _ in cols) + "\n")
    else:
        pq.write_table(pa.table(cols), p)
    for read in (lambda: read_measurements(p), lambda: read_table_file(p, "cells")):
        with pytest.raises(InputTooLargeError, match="MAX_TABLE_COLUMNS"):
            read()
