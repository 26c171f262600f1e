"""Networks: create from a scenario, upload tables (+ measurements), list, get, delete; bad
uploads answer 4xx with what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.network_store import network_hash
from tests.api.conftest import auth, csv_bytes, make_settings, parquet_bytes, small_tables
from twin.importers import network_to_dict
from twin.network import Network
from twin.scenarios import load_scenario


def upload(client: TestClient, files: dict[str, tuple[str, bytes]],
           data: dict[str, str] | None = None) -> tuple[int, dict]:
    r = client.post("/api/v1/networks/import", files=files, data=data or {},
                    headers=auth("planner"))
    return r.status_code, r.json()


def tables_files(sites: pd.DataFrame, cells: pd.DataFrame) -> dict[str, tuple[str, bytes]]:
    return {"network": ("sites.csv", csv_bytes(sites)), "cells": ("cells.csv", csv_bytes(cells))}


def test_create_from_scenario_records_the_network_hash(client: TestClient) -> None:
    r = client.post("/api/v1/networks", json={"scenario": "hotspot", "name": "study A"},
                    headers=auth("planner"))
    assert r.status_code == 201, r.text
    body = r.json()
    sc = load_scenario("hotspot")
    assert body["name"] == "study A" and body["source"] == "scenario"
    assert body["n_cells"] == len(sc.network.cells) == 57
    assert body["n_candidates"] == len(sc.network.candidates)
    assert body["network_hash"] == network_hash(sc.network)
    assert body["created_by"] == "planner"
    assert body["summary"]["busy_hour"] == sc.demand.busy_hour
    got = client.get(f"/api/v1/networks/{body['id']}", headers=auth("viewer")).json()
    assert got == body


def test_unknown_scenario_is_422_naming_the_choices(client: TestClient) -> None:
    r = client.post("/api/v1/networks", json={"scenario": "atlantis"}, headers=auth("planner"))
    assert r.status_code == 422
    assert "atlantis" in r.json()["detail"] and "hotspot" in r.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"scenario": ""}, {"scenario": "hotspot", "x": 1},
                                  {"scenario": 5}])
def test_bad_create_body_is_422(client: TestClient, body: dict) -> None:
    r = client.post("/api/v1/networks", json=body, headers=auth("planner"))
    assert r.status_code == 422
    assert r.json()["detail"].startswith("invalid request")


def test_list_get_delete(client: TestClient) -> None:
    ids = [client.post("/api/v1/networks", json={"scenario": "hotspot"},
                       headers=auth("planner")).json()["id"] for _ in range(2)]
    listed = client.get("/api/v1/networks?limit=500", headers=auth("viewer")).json()
    assert set(ids) <= {n["id"] for n in listed["items"]}
    assert listed["count"] >= 2
    r = client.delete(f"/api/v1/networks/{ids[0]}", headers=auth("planner"))
    assert r.status_code == 204
    assert client.get(f"/api/v1/networks/{ids[0]}", headers=auth("viewer")).status_code == 404
    assert client.delete(f"/api/v1/networks/{ids[0]}", headers=auth("planner")).status_code \
        == 404
    after = client.get("/api/v1/networks?limit=500", headers=auth("viewer")).json()
    assert ids[0] not in {n["id"] for n in after["items"]}
    assert after["count"] == listed["count"] - 1


def test_unknown_network_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/networks/nope", headers=auth("viewer"))
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_upload_csv_tables(client: TestClient) -> None:
    sites, cells = small_tables()
    status, body = upload(client, tables_files(sites, cells), {"name": "seven sites"})
    assert status == 201, body
    assert body["source"] == "upload" and body["n_sites"] == 7 and body["n_cells"] == 21
    assert body["name"] == "seven sites"
    assert any("default prior" in n for n in body["notes"])
    assert body["network_hash"] == network_hash(Network.from_tables(sites, cells,
                                                                    name="seven sites"))
    state = client.get(f"/api/v1/networks/{body['id']}/state", headers=auth("viewer"))
    assert state.status_code == 200 and state.json()["n_cells"] == 21


def test_upload_parquet_and_json_give_the_same_tables(client: TestClient) -> None:
    sites, cells = small_tables()
    s1, b1 = upload(client, {"network": ("s.parquet", parquet_bytes(sites)),
                             "cells": ("c.parquet", parquet_bytes(cells))}, {"name": "n"})
    doc = network_to_dict(Network.from_tables(sites, cells, name="n"))
    s2, b2 = upload(client, {"network": ("net.json", json.dumps(doc).encode())})
    assert s1 == s2 == 201, (b1, b2)
    assert b1["network_hash"] == b2["network_hash"]


def test_upload_with_measurements_calibrates(client: TestClient) -> None:
    sites, cells = small_tables()
    rng = np.random.default_rng(3)
    util = {c: rng.uniform(0.1, 0.6) for c in cells["cell_id"]}
    m = pd.DataFrame([{"cell_id": c, "hour": h, "RRU.PrbUsedDl": 100 * u * (0.5 + h / 46),
                       "RRU.PrbAvailDl": 100} for c, u in util.items() for h in (10, 20)])
    status, body = upload(client, {**tables_files(sites, cells),
                                   "measurements": ("counters.csv", csv_bytes(m))})
    assert status == 201, body
    cal = body["summary"]["calibration"]
    assert cal["n_rows"] == len(m) and cal["max_abs_error"] < 0.01
    state = client.get(f"/api/v1/networks/{body['id']}/state?hour=20",
                       headers=auth("viewer")).json()
    got = {c["cell_id"]: c["prb_util"] for c in state["cells"]}
    for c, u in util.items():
        assert got[c] == pytest.approx(u * (0.5 + 20 / 46), abs=0.01)


def _bad_nan() -> bytes:
    _, cells = small_tables()
    cells.loc[3, "tx_power_dbm"] = np.nan
    return csv_bytes(cells)


def _bad_column() -> bytes:
    _, cells = small_tables()
    return csv_bytes(cells.assign(colour="red"))


@pytest.mark.parametrize(("files", "needles"), [
    # row 3 of the table is line 5 of the file a spreadsheet shows (header = line 1), in the
    # file the user sent
    ({"cells": ("my cells.csv", _bad_nan())},
     ["line 5 of 'my cells.csv' (form field 'cells')", "tx_power_dbm", "(nan)"]),
    ({"cells": ("cells.csv", _bad_column())}, ["unknown column", "colour"]),
    ({"cells": ("cells.csv", b'cell_id,site_id\n"S01-1,S01\n')}, ["cells.csv", "CSV"]),
    ({"cells": ("cells.csv", b"")}, ["empty"]),
    ({"cells": ("cells.parquet", b"PAR1 not really parquet")}, ["cells.parquet", "Parquet"]),
    ({"network": ("net.json", b"{not json"), "cells": None}, ["net.json", "not valid JSON"]),
    ({"network": ("net.json", b"[]"), "cells": None}, ["JSON object"]),
    ({"network": ("net.json", b'{"sites": []}'), "cells": None}, ["cells"]),
    ({"cells": None}, ["'cells' table too"]),
    ({"measurements": ("m.csv", b"cell_id,hour,RRU.PrbUsedDl,RRU.PrbAvailDl\nS01-1,25,1,100\n")},
     ["hour", "23"]),
])
def test_bad_uploads_are_422_with_what_to_fix(client: TestClient, files: dict,
                                              needles: list[str]) -> None:
    sites, cells = small_tables()
    all_files = {**tables_files(sites, cells), **files}
    all_files = {k: v for k, v in all_files.items() if v is not None}
    status, body = upload(client, all_files)
    assert status == 422, body
    for n in needles:
        assert n in body["detail"], (n, body["detail"])
    assert "/tmp/" not in body["detail"]  # no server paths in user messages


def test_bad_form_fields_are_422(client: TestClient) -> None:
    sites, cells = small_tables()
    status, body = upload(client, tables_files(sites, cells), {"format": "excel"})
    assert status == 422 and "format" in body["detail"]
    status, body = upload(client, tables_files(sites, cells), {"mbps_per_cell": "-3"})
    assert status == 422 and "mbps_per_cell" in body["detail"]
    r = client.post("/api/v1/networks/import", headers=auth("planner"))
    assert r.status_code == 422 and "network" in r.json()["detail"]


def test_oversized_upload_is_413(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, max_upload_mb=0.01))
    sites, cells = small_tables()
    big = csv_bytes(pd.concat([cells] * 40, ignore_index=True))
    assert len(big) > 0.01 * 1024 * 1024
    with TestClient(app) as c:
        r = c.post("/api/v1/networks/import", headers=auth("planner"),
                   files={"network": ("sites.csv", csv_bytes(sites)),
                          "cells": ("cells.csv", big)})
        assert r.status_code == 413
        assert "CELLTWIN_MAX_UPLOAD_MB" in r.json()["detail"]
        # a streamed body without Content-Length is counted as it arrives
        r = c.post("/api/v1/policies/validate", headers={**auth("planner"),
                                                          "Content-Type": "application/json"},
                   content=iter([b'{"yaml": "', b"x" * 20000, b'"}']))
        assert r.status_code == 413
        assert c.get("/api/v1/health").status_code == 200


# --- bounded input (issue 11, items 1 and 5) ---------------------------------------------------
def test_deeply_nested_json_network_is_422(client: TestClient) -> None:
    status, body = upload(client, {"network": ("net.json", b"[" * 1000 + b"]" * 1000)})
    assert status == 422, body
    assert "levels deep" in body["detail"] and "MAX_JSON_DEPTH" in body["detail"]
    assert body["error"] == "InputFileError"
    assert client.get("/api/v1/health").status_code == 200


def test_parquet_row_bomb_is_413_naming_the_limit(client: TestClient) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from twin.input_limits import MAX_TABLE_ROWS

    n = MAX_TABLE_ROWS + 1
    buf = io.BytesIO()
    pq.write_table(pa.table({"cell_id": pa.array(["S01-1"] * n).dictionary_encode(),
                             "hour": pa.array([16] * n, type=pa.int8()),
                             "RRU.PrbTotDl": pa.array([50.0] * n)}), buf, compression="zstd")
    assert buf.tell() < 200_000
    sites, cells = small_tables()
    status, body = upload(client, {**tables_files(sites, cells),
                                   "measurements": ("m.parquet", buf.getvalue())})
    assert status == 413, body
    assert "MAX_TABLE_ROWS" in body["detail"] and f"{MAX_TABLE_ROWS:,}" in body["detail"]
    assert "'m.parquet' (form field 'measurements')" in body["detail"]


# --- refuse what cannot be meant, warn what is merged (issue 11, item 10) ----------------------
OCID = ("lon,lat,mcc,net,range,cell\n11.5000,48.1000,262,1,800,26226000\n"
        "11.5030,48.1010,262,1,800,26226001\n11.5010,48.1030,262,1,800,26226002\n")


def test_merged_duplicates_are_a_visible_warning(client: TestClient) -> None:
    text = OCID + "11.5004,48.1002,262,1,900,26226000\n11.5,48.1,262,1,500,407\n"
    status, body = upload(client, {"network": ("cells.csv", text.encode())})
    assert status == 201, body
    imp = body["summary"]["import"]
    assert imp["merged_duplicates"] == 1 and imp["skipped"]  # the counters stay
    assert imp["warnings"] == body["warnings"]
    assert [w.split(":")[0] for w in body["warnings"]] == [
        "skipped 1 of 5 rows", "merged 1 duplicate rows (same MCC, MNC and cell id) into 1 "
        "cells at their mean position; the most scattered was cell 26226000 (2 rows 37 m apart, "
        "file line 2 and file line 5)"]
    got = client.get(f"/api/v1/networks/{body['id']}", headers=auth("viewer")).json()
    assert got["warnings"] == body["warnings"]


@pytest.mark.parametrize(("text", "needles"), [
    (OCID.replace(",800,26226001", ",-800,26226001"), ["column 'range'", "below the minimum 0",
                                                        "file line 3"]),
    (OCID + "151.2,-33.9,262,1,900,26226001\n", ["26226001", "km apart"]),
    (OCID + "151.2,-33.9,262,1,900,26226003\n", ["km from the median position"]),
])
def test_bad_opencellid_files_with_lte_ids_reach_their_checks(client: TestClient, text: str,
                                                              needles: list[str]) -> None:
    status, body = upload(client, {"network": ("cells.csv", text.encode())})
    assert status == 422, body
    assert "LTE" not in body["detail"]  # not refused as "no LTE cell" before the check
    for n in needles:
        assert n in body["detail"], (n, body["detail"])


def test_json_version_99_is_422(client: TestClient) -> None:
    sites, cells = small_tables()
    doc = {**network_to_dict(Network.from_tables(sites, cells)), "version": 99}
    status, body = upload(client, {"network": ("net.json", json.dumps(doc).encode())})
    assert status == 422 and "document version 99 is not supported" in body["detail"]


def test_measurements_of_another_network_are_422(client: TestClient) -> None:
    sites, cells = small_tables()
    m = pd.DataFrame({"cell_id": ["X-1", "X-2"], "hour": 16, "RRU.PrbUsedDl": 40.0,
                      "RRU.PrbAvailDl": 100.0})
    status, body = upload(client, {**tables_files(sites, cells),
                                   "measurements": ("m.csv", csv_bytes(m))})
    assert status == 422, body
    assert "none of the 2 measured cell ids is a cell of the network" in body["detail"]


def test_unmatched_measured_cells_are_warnings(client: TestClient) -> None:
    sites, cells = small_tables()
    m = pd.DataFrame({"cell_id": [*cells["cell_id"], "GHOST-7"], "hour": 16,
                      "RRU.PrbUsedDl": 30.0, "RRU.PrbAvailDl": 100.0})
    status, body = upload(client, {**tables_files(sites, cells),
                                   "measurements": ("m.csv", csv_bytes(m))})
    assert status == 201, body
    assert body["warnings"] == ["measurements of cell GHOST-7 (1 hour(s)) not used: cell id "
                                "not in the network"]
    assert body["summary"]["calibration"]["warnings"] == body["warnings"]


def test_network_over_the_cell_limit_is_413(client: TestClient) -> None:
    from twin.input_limits import MAX_NETWORK_CELLS

    n = MAX_NETWORK_CELLS + 1
    rng = np.random.default_rng(0)
    text = pd.DataFrame({"lon": 11.5 + rng.uniform(-0.3, 0.3, n),
                         "lat": 48.1 + rng.uniform(-0.2, 0.2, n),
                         "cell": 26_000_000 + np.arange(n)}).to_csv(index=False)
    status, body = upload(client, {"network": ("big.csv", text.encode())})
    assert status == 413, body
    assert "MAX_NETWORK_CELLS" in body["detail"] and f"{n:,} cells" in body["detail"]


def test_an_upload_with_several_problems_lists_them_all(client: TestClient) -> None:
    sites, cells = small_tables()
    cells.loc[2, "azimuth_deg"] = 400.0
    cells.loc[4, "height_m"] = -3.0
    status, body = upload(client, {**tables_files(sites, cells),
                                   "cells": ("cells (v2).csv", csv_bytes(cells))})
    assert status == 422, body
    assert body["problems"] == [
        f"cells, line 4 of 'cells (v2).csv' (form field 'cells') (cell_id={cells.loc[2, 'cell_id']!r}), "
        "column 'azimuth_deg': 400 is out of range (must be below 360)",
        f"cells, line 6 of 'cells (v2).csv' (form field 'cells') (cell_id={cells.loc[4, 'cell_id']!r}), "
        "column 'height_m': -3 is below the minimum 1"]
