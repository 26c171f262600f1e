"""The CSV export carries each action's work order (site, cell, from -> to, effect alone,
contribution) from a real plan's JSON."""

from __future__ import annotations

import csv
import io

import pytest

from api.exports import plan_csv
from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from tests.planner.conftest import build_case


def test_csv_rows_carry_from_to_and_effects():
    case = build_case()
    plan = plan_network(case.twin(), case.catalogue, PlannerSettings(lp_dir=None),
                        SerialExecutor())
    res = plan.to_json()
    rows = list(csv.DictReader(io.StringIO(plan_csv("p1", plan.result()))))
    assert len(rows) == len(res["actions"]) > 0
    for row, a in zip(rows, res["actions"], strict=True):
        wo = a["work_order"]
        assert row["site_id"] == wo["site_id"] and row["cell_id"] == wo["cell_id"]
        assert row["parameter"] == wo["parameter"]
        if wo["parameter"] not in ("small_cell", "sectors"):
            assert float(row["from_value"]) == pytest.approx(wo["from"])
            assert float(row["to_value"]) == pytest.approx(wo["to"])
        assert float(row["peak_alone"]) == pytest.approx(wo["effect_alone"]["peak_after"])
        assert float(row["contribution"]) == pytest.approx(wo["contribution"]["peak_delta"])
