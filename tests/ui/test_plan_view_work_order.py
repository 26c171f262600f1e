"""The Plan page's tables of a plan with a work order, dropped actions and a frontier (from
the JSON of a real plan, so the keys the planner writes are the keys the page reads)."""

from __future__ import annotations

from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from tests.planner.conftest import build_case
from ui import plan_view


def test_action_table_shows_from_to_effect_and_contribution():
    case = build_case(hot_mbps=80.0)
    plan = plan_network(case.twin(), case.catalogue,
                        PlannerSettings(target=0.3, budget_eur=20_000.0, lp_dir=None,
                                        max_iterations=2), SerialExecutor())
    res = plan.to_json()
    rows = plan_view.action_rows(res)
    assert len(rows) == len(res["actions"]) > 0
    for row, a in zip(rows, res["actions"], strict=True):
        wo = a["work_order"]
        assert row["from_to"] == wo["change"] and "->" in row["from_to"]
        assert row["site"] == wo["site_id"] and row["cell"] == wo["cell_id"]
        assert row["contribution"] == wo["contribution"]["peak_delta"]
        assert row["peak_alone"].endswith(f"{wo['effect_alone']['peak_after']:.3f}")
    front = plan_view.frontier_rows(res)
    assert front and len(front) == len(res["frontier"])
    assert {r["budget_eur"] for r in front} == {f["budget_eur"] for f in res["frontier"]}
    assert plan_view.dropped_rows(res) == [
        {"action": d["key"], "cost_eur": d["cost"], "reason": d["reason"]}
        for d in res["dropped"]]


def test_old_results_without_work_orders_still_render():
    res = {"actions": [{"kind": "set_tilt", "cell_id": "A-1", "elec_tilt_deg": 8.0,
                        "targets": ["A-1"], "cost": 100.0, "description": "set tilt"}]}
    (row,) = plan_view.action_rows(res)
    assert row["from_to"] == "-" and row["peak_alone"] == "-" and row["contribution"] is None
    assert plan_view.frontier_rows(res) == [] and plan_view.dropped_rows(res) == []
