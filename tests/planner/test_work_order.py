"""Work orders (from -> to, effect alone, contribution), pruning of idle actions, and the
frontier of a plan that misses its target; all checked against direct twin runs."""

from __future__ import annotations

import pytest

from actions.apply import apply_actions
from actions.models import AddSmallCell, SetCio, SetTilt, SplitSector, UpgradeMimo
from actions.pricing import PricedAction
from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from planner.plan import Plan
from planner.verify import verify
from planner.work_order import from_to, prune
from policies import load_policy
from twin.engine import Twin

from .conftest import PlanCase, build_case

#: Keys of the plan JSON before work orders and frontiers were added (all must stay).
OLD_KEYS = {"scenario", "target", "budget", "horizon", "before", "after", "peak_before",
            "peak_after", "actions", "total_cost", "verified", "target_met", "converged",
            "iterations", "lower_bound", "solver", "executor", "max_actions", "lp_file",
            "what_ifs", "candidates", "message", "cells_before", "cells_after", "predicted",
            "history", "timings_s", "policy"}


def _plan(case: PlanCase, **kw) -> Plan:
    policy = kw.pop("policy", None)
    return plan_network(case.twin(), case.catalogue, PlannerSettings(lp_dir=None, **kw),
                        SerialExecutor(), policy=policy, scenario="plan7")


def _peak(case: PlanCase, actions) -> float:
    net = apply_actions(case.network, list(actions))
    return float(Twin(net, case.demand, case.config).run().kpis["peak_prb_util"])


def test_from_to_reads_the_network_before_the_plan(case: PlanCase):
    net = case.network.with_cell_changes("S01-1", {"elec_tilt_deg": 3.5, "mimo_layers": 4})
    t = from_to(SetTilt(cell_id="S01-1", elec_tilt_deg=10.0), net)
    assert (t["site_id"], t["cell_id"], t["parameter"], t["from"], t["to"]) == \
        ("S01", "S01-1", "elec_tilt_deg", 3.5, 10.0)
    assert "3.5" in t["text"] and "10" in t["text"] and t["change"] == "elec_tilt_deg 3.5 -> 10"
    m = from_to(UpgradeMimo(cell_id="S01-1", mimo_layers=8), net)
    assert (m["from"], m["to"]) == (4, 8)
    s = from_to(SplitSector(cell_id="S02-3"), net)
    assert (s["from"], s["to"], s["site_id"]) == (1, 2, "S02") and "S02-3a" in s["change"]
    c = from_to(AddSmallCell(candidate_id="K1", tx_power_dbm=37.0, cio_db=3.0), net)
    assert c["from"] is None and c["to"] == {"tx_power_dbm": 37.0, "cio_db": 3.0}
    assert (c["site_id"], c["cell_id"], c["generated"]) == ("SC-K1", "SC-K1-1", False)


def test_every_action_row_carries_a_verified_work_order(case: PlanCase):
    plan = _plan(case, policy=load_policy(None))
    j = plan.to_json()
    assert set(j) >= OLD_KEYS and {"dropped", "frontier"} <= set(j)
    assert j["actions"], "the small case needs actions"
    actions = [c.action for c in plan.actions]
    peak_plan = _peak(case, actions)
    cells = case.network.cells.set_index("cell_id")
    for i, row in enumerate(j["actions"]):
        wo = row["work_order"]
        assert wo["cost"] == row["cost"] > 0 or row["kind"] == "set_cio"
        if row["kind"] in ("set_tilt", "set_power", "set_cio", "set_azimuth", "upgrade_mimo"):
            assert wo["from"] == pytest.approx(float(cells.loc[row["cell_id"], wo["parameter"]]))
            assert wo["to"] == pytest.approx(float(row[wo["parameter"]]))
            assert wo["site_id"] == cells.loc[row["cell_id"], "site_id"]
        # effect alone: the twin with only this action
        assert wo["effect_alone"]["peak_after"] == pytest.approx(
            _peak(case, [actions[i]]), abs=1e-4)
        # contribution: the plan's peak without this action minus with it
        rest = actions[:i] + actions[i + 1:]
        assert wo["contribution"]["peak_without"] == pytest.approx(_peak(case, rest), abs=1e-4)
        assert wo["contribution"]["peak_with"] == pytest.approx(peak_plan, abs=1e-4)
        assert wo["contribution"]["peak_delta"] == pytest.approx(
            wo["contribution"]["peak_without"] - wo["contribution"]["peak_with"])
        assert row["description"] == wo["text"]


def _cands(case: PlanCase, actions) -> list[PricedAction]:
    return [PricedAction.of(a, case.network, case.catalogue) for a in actions]


def test_prune_drops_an_action_that_does_nothing_and_keeps_the_rest(case: PlanCase):
    tw = case.twin()
    hours = (case.demand.busy_hour,)
    useful = [SetTilt(cell_id="S01-1", elec_tilt_deg=10.0),
              UpgradeMimo(cell_id="S01-1", mimo_layers=4)]
    idle = SetTilt(cell_id="S04-2", elec_tilt_deg=7.0)  # far from the hotspot
    chosen = _cands(case, [useful[0], idle, useful[1]])

    def run(acts):
        return verify(tw, list(acts), hours)

    ver = run([c.action for c in chosen])
    keep, ver2, _passed, dropped, runs = prune(chosen, ver, None, 0.5, run, lambda c, v: None)
    assert [chosen[k].action for k in keep] == useful
    assert len(dropped) == 1 and dropped[0]["key"] == chosen[1].key
    assert "no verified effect" in dropped[0]["reason"] and dropped[0]["cost"] == 100.0
    assert ver2.peak <= ver.peak + 0.005 and runs == 3
    # a verdict that would change forbids the drop even when the peak does not move
    keep3, *_ = prune(chosen, ver, True, 0.5, run,
                      lambda c, v: len(c) == 3)  # the policy passes only the full plan
    assert keep3 == [0, 1, 2]


def test_missed_target_says_so_and_gives_a_verified_frontier():
    case = build_case(hot_mbps=80.0)
    plan = _plan(case, target=0.3, budget_eur=20_000.0, policy=load_policy(None))
    j = plan.to_json()
    assert j["target_met"] is False and set(j) >= OLD_KEYS
    f = j["frontier"]
    assert 4 <= len(f) <= 6
    assert [p["budget_eur"] for p in f] == sorted(p["budget_eur"] for p in f)
    assert any(p["budget_eur"] > j["budget"] for p in f)
    by_key = {c.key: c.action for c in plan.actions}
    for p in f:
        assert p["cost_eur"] <= p["budget_eur"] + 1e-6
        assert set(p) >= {"budget_eur", "cost_eur", "peak_prb_util", "policy_passed", "kinds"}
        assert sum(p["kinds"].values()) == p["n_actions"] == len(p["actions"])
    # each point is verified: re-run the twin on the cheapest point's actions
    first = f[0]
    acts = [by_key[k] for k in first["actions"] if k in by_key]
    if len(acts) == len(first["actions"]):
        assert first["peak_prb_util"] == pytest.approx(_peak(case, acts), abs=1e-4)
    # more money never shows a worse plan of the same policy class
    passing = [p["peak_prb_util"] for p in f if p["policy_passed"]]
    assert passing == sorted(passing, reverse=True)


def test_met_target_has_no_frontier(case: PlanCase):
    j = _plan(case).to_json()
    assert j["target_met"] is True and j["frontier"] == []


def test_cli_text_says_target_not_met_first(capsys, tmp_path):
    from cli.main import main

    rc = main(["plan", "--scenario", "hotspot", "--llm", "none", "--target", "0.33",
               "--budget", "300", "--max-iterations", "2", "--workers", "1",
               "--lp-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.splitlines()[0].startswith("TARGET NOT MET")
    assert "what other budgets buy" in out
    assert "(now " in out  # the work order names the value before


def test_zero_cost_actions_are_still_checked():
    # SetCio is free; a free idle action is still dropped (it is change risk)
    case = build_case()
    tw = case.twin()
    hours = (case.demand.busy_hour,)
    chosen = _cands(case, [SetTilt(cell_id="S01-1", elec_tilt_deg=10.0),
                           SetCio(cell_id="S04-3", cio_db=1.0)])

    def run(acts):
        return verify(tw, list(acts), hours)

    ver = run([c.action for c in chosen])
    keep, _, _, dropped, _ = prune(chosen, ver, None, 0.5, run, lambda c, v: None)
    assert keep == [0] and dropped[0]["kind"] == "set_cio"
