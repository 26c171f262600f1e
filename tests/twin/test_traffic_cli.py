"""``--traffic FILE`` on ``celltwin twin``, ``import`` and ``plan``: the map reaches the demand,
an import keeps it in the network document, bad maps exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from twin.scenarios.event import EventCase, event_case


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[EventCase, dict[str, Path]]:
    case = event_case("edge", seed=41)
    d = tmp_path_factory.mktemp("event")
    out = {"sites": d / "sites.csv", "cells": d / "cells.csv", "cands": d / "cands.csv",
           "meas": d / "counters.csv", "traffic": d / "crowd.csv"}
    case.network.sites.drop(columns=["x_m", "y_m"]).to_csv(out["sites"], index=False)
    case.network.cells.to_csv(out["cells"], index=False)
    case.network.candidates.to_csv(out["cands"], index=False)
    case.counters.to_csv(out["meas"], index=False)
    case.samples.to_csv(out["traffic"], index=False)
    return case, out


def _twin_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["twin", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_twin_import_and_document_keep_the_map(files: tuple[EventCase, dict[str, Path]],
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    case, f = files
    base = ["--network", str(f["sites"]), "--cells", str(f["cells"]), "--measurements",
            str(f["meas"])]
    plain = _twin_json(capsys, *base)
    mapped = _twin_json(capsys, *base, "--traffic", str(f["traffic"]))
    assert "traffic" not in plain
    share = {r["cell_id"]: r["map_share"] for r in mapped["traffic"]["map_share_by_cell"]}
    assert share[case.crowd_cell] > 0.5
    # counters match either way
    assert mapped["calibration"]["max_abs_error"] < 0.01
    # import --traffic keeps the map in the document; twin --network uses it without the flag
    doc = tmp_path / "net.json"
    assert main(["import", str(f["sites"]), "--cells", str(f["cells"]), "--candidates",
                 str(f["cands"]), "--traffic", str(f["traffic"]), "--out", str(doc)]) == 0
    assert "traffic map crowd.csv" in capsys.readouterr().out
    stored = json.loads(doc.read_text())
    assert stored["traffic"]["n_points"] == len(case.samples)
    assert stored["origin"]["lat_deg"] == pytest.approx(case.network.origin.lat_deg, abs=1e-9)
    again = _twin_json(capsys, "--network", str(doc), "--measurements", str(f["meas"]))
    share2 = {r["cell_id"]: r["map_share"] for r in again["traffic"]["map_share_by_cell"]}
    assert share2[case.crowd_cell] == pytest.approx(share[case.crowd_cell], abs=0.05)


def test_bad_maps_exit_2_with_one_line(files: tuple[EventCase, dict[str, Path]],
                                       tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, f = files
    bad = tmp_path / "bad.csv"
    bad.write_text("lat_deg,lon_deg,weight\n50.94,6.95,nan\n")
    for argv, msg in (
            (["twin", "--network", str(f["sites"]), "--cells", str(f["cells"]), "--traffic",
              str(bad)], "column 'weight': 'nan' is not a number"),
            (["twin", "--scenario", "hotspot", "--traffic", str(f["traffic"])],
             "no geographic origin"),
            (["import", str(f["sites"]), "--cells", str(f["cells"]), "--traffic",
              str(tmp_path / "none.csv"), "--out", str(tmp_path / "n.json")], "not found"),
            (["plan", "--scenario", "hotspot", "--llm", "none", "--traffic", str(bad)],
             "is not a number")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and msg in err[0], err
    assert not (tmp_path / "n.json").exists()
