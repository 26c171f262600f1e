"""GET /plans/{id}/report and ``celltwin plan --report``: one self-contained HTML page,
verdict first, both maps on one colour scale, work order, options, provenance."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.report import colour
from cli.main import main
from tests.api.conftest import auth

POLY = re.compile(r'<polygon points="[^"]*" fill="(#[0-9a-f]{6})"[^>]*><title>([^:]+): PRB '
                  r'utilisation ([-0-9.]+)</title>')


def _check_report(html: str, result: dict[str, Any]) -> None:
    assert html.startswith("<!DOCTYPE html>")
    # self-contained: no script, no external style sheet, image or font
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert "@media print" in html
    # the verdict comes first, before maps and tables
    head = html.index("<section class='verdict'>")
    assert head < html.index("<h2>Maps</h2>") < html.index("<h2>Work order</h2>")
    verdict = html[head:html.index("</section>", head)]
    assert ("Target met" in verdict) == bool(result["target_met"])
    assert ("Target not met" in verdict) == (not result["target_met"])
    assert ("Policy passed" in verdict) == (result["policy"]["passed"] is True)
    # two maps; every drawn cell's fill is its utilisation on the one shared scale
    assert html.count("<svg") >= 3  # before, after, legend
    before_svg, after_svg = html.split("<figure>")[1:3]
    before = {r["cell_id"]: r["prb_util"] for r in result["cells_before"]}
    after = {r["cell_id"]: r["prb_util"] for r in result["cells_after"]}
    for svg, util in ((before_svg, before), (after_svg, after)):
        polys = POLY.findall(svg)
        assert {c for _, c, _ in polys} == set(util)
        for fill, cid, _u in polys:
            assert fill == colour(util[cid])
    for a in result["actions"]:
        assert a["description"].split(" (")[0] in html
    for label in ("Peak PRB utilisation", "Jain fairness index", "Provenance",
                  "Options considered"):
        assert label in html


def test_api_report_of_a_finished_plan(client: TestClient, done_plan: dict[str, Any]):
    pid = done_plan["id"]
    r = client.get(f"/api/v1/plans/{pid}/report", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    _check_report(r.text, done_plan["result"])
    assert pid in r.text and "Not approved" in r.text
    assert client.get(f"/api/v1/plans/{pid}/report").status_code == 401
    assert client.get("/api/v1/plans/nope/report", headers=auth("viewer")).status_code == 404


def test_api_report_says_who_approved(client: TestClient, done_plan: dict[str, Any]):
    pid = done_plan["id"]
    if done_plan["result"]["policy"]["passed"] is not True:
        pytest.skip("a denied plan cannot be approved (covered by the plans tests)")
    assert client.post(f"/api/v1/plans/{pid}/approve", json={},
                       headers=auth("approver")).status_code == 201
    html = client.get(f"/api/v1/plans/{pid}/report", headers=auth("viewer")).text
    assert "Approved</span> by approver" in html


def test_cli_report_file(capsys, tmp_path: Path):
    out = tmp_path / "plan.html"
    rc = main(["plan", "--scenario", "hotspot", "--llm", "none", "--workers", "1",
               "--max-iterations", "2", "--lp-dir", str(tmp_path), "--json",
               "--report", str(out)])
    assert rc == 0
    import json

    result = json.loads(capsys.readouterr().out)
    _check_report(out.read_text(encoding="utf-8"), result)
    assert main(["plan", "--scenario", "hotspot", "--llm", "none", "--report",
                 str(tmp_path / "missing" / "x.html")]) == 2
    assert "--report" in capsys.readouterr().err
