"""The final gate: a plan that breaks a deny rule is never passed, whoever wrote it; edited
plans are re-validated and re-priced; the verdict carries every rule and the policy hash."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies import PolicySet
from policies.engine import rule_files, shipped_dir
from twin.network import Network

Plan = Callable[..., dict[str, Any]]

GOOD_ACTIONS = [
    {"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8.0, "cost": 100.0,
     "targets": ["S01-1"], "description": "set electrical tilt of S01-1 to 8 deg"},
    {"kind": "add_small_cell", "candidate_id": "C01", "tx_power_dbm": 30.0, "cio_db": 0.0,
     "cost": 31000.0, "targets": ["C01"], "rationale": "hotspot centre"},
]


@pytest.fixture
def good(make_plan: Plan) -> dict[str, Any]:
    return make_plan(GOOD_ACTIONS, total_cost=31100.0,
                     approvals=[{"by": "A. Rossi", "role": "radio-planning-lead",
                                 "at": "2026-11-30T10:00:00Z"}])


def test_a_good_plan_passes_with_every_rule_reported(default_policy: PolicySet,
                                                     hotspot: Network,
                                                     good: dict[str, Any]) -> None:
    v = default_policy.check_plan(good, hotspot)
    assert v.passed and not v.violations and not v.warnings
    ids = [r.rule_id for r in v.results]
    assert ids[:2] == ["builtin.plan-valid", "builtin.costs-consistent"]
    assert ids[2:] == default_policy.rule_ids
    assert v.total_cost_eur == 31100.0
    j = v.to_json()
    assert j["passed"] is True and len(j["results"]) == len(ids)
    assert all({"id", "severity", "passed", "message", "details"} <= set(r)
               for r in j["results"])


def test_policy_hash_is_the_sha256_of_the_rule_files(default_policy: PolicySet) -> None:
    h = hashlib.sha256()
    for f in rule_files(shipped_dir("default")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    assert default_policy.policy_hash == h.hexdigest()


@pytest.mark.parametrize(("edit", "rule"), [
    (lambda p: p["actions"][0].update(elec_tilt_deg=13.0), "tilt-range"),
    (lambda p: p["actions"][1].update(candidate_id="C08", targets=["C08"]), "zone-school-street"),
    (lambda p: p["actions"][0].update(cell_id="S10-2"), "protected-shared-mast"),
    (lambda p: p["actions"].append({"kind": "set_power", "cell_id": "S02-1",
                                    "tx_power_dbm": 49.0, "cost": 100.0}), "emf-max-power"),
    (lambda p: p["actions"].extend({"kind": "add_small_cell", "candidate_id": c,
                                    "tx_power_dbm": 30.0, "cost": 0.0}
                                   for c in ("C02", "C03", "C04", "C05")), "max-new-sites"),
    (lambda p: p.update(budget=31000.0), "budget-plan"),
    (lambda p: p["after"].update(peak_prb_util=0.85), "max-load-after"),
    (lambda p: p["cells_after"][1].update(prb_util=0.7), "neighbour-harm"),
    (lambda p: p["after"].update(coverage=0.9), "min-coverage"),
])
def test_edited_plans_are_caught(default_policy: PolicySet, hotspot: Network,
                                 good: dict[str, Any], edit: Callable[[dict[str, Any]], Any],
                                 rule: str) -> None:
    plan = copy.deepcopy(good)
    edit(plan)
    v = default_policy.check_plan(plan, hotspot)
    assert not v.passed
    assert rule in [r.rule_id for r in v.violations]


def test_costs_edited_down_are_charged_at_catalogue_price(default_policy: PolicySet,
                                                         hotspot: Network,
                                                         good: dict[str, Any]) -> None:
    plan = copy.deepcopy(good)
    plan["budget"] = 1000.0
    for a in plan["actions"]:
        a["cost"] = 0.0
    plan["total_cost"] = 0.0
    v = default_policy.check_plan(plan, hotspot)
    assert not v.passed and v.total_cost_eur == 31100.0
    assert [r.rule_id for r in v.violations] == ["budget-plan"]
    assert [r.rule_id for r in v.warnings] == ["builtin.costs-consistent"]


@pytest.mark.parametrize("edit", [
    lambda p: p["actions"].append({"kind": "launch_rocket", "cell_id": "S01-1"}),
    lambda p: p["actions"][0].update(elec_tilt_deg="steep"),
    lambda p: p["actions"][0].update(owner="me"),
    lambda p: p["actions"][0].update(cell_id="S99-9"),
    lambda p: p["actions"].append(dict(p["actions"][0], elec_tilt_deg=9.0)),
    lambda p: p["actions"].append({"kind": "upgrade_mimo", "cell_id": "S01-2",
                                   "mimo_layers": 2}),
    lambda p: p.update(actions="all of them"),
    lambda p: p["actions"].append(None),
])
def test_malformed_plans_are_denied(default_policy: PolicySet, hotspot: Network,
                                    good: dict[str, Any],
                                    edit: Callable[[dict[str, Any]], Any]) -> None:
    plan = copy.deepcopy(good)
    edit(plan)
    v = default_policy.check_plan(plan, hotspot)
    assert not v.passed
    assert "builtin.plan-valid" in [r.rule_id for r in v.violations]


def test_a_plan_that_is_not_an_object(default_policy: PolicySet, hotspot: Network) -> None:
    v = default_policy.check_plan([1, 2], hotspot)  # type: ignore[arg-type]
    assert not v.passed and v.violations[0].rule_id == "builtin.plan-valid"


def test_warnings_alone_do_not_deny(default_policy: PolicySet, hotspot: Network,
                                    good: dict[str, Any]) -> None:
    plan = copy.deepcopy(good)
    plan.pop("approvals")
    v = default_policy.check_plan(plan, hotspot)
    assert v.passed and [r.rule_id for r in v.warnings] == ["approval-new-site"]


def test_strict_denies_what_default_only_warns(default_policy: PolicySet,
                                              strict_policy: PolicySet, hotspot: Network,
                                              good: dict[str, Any]) -> None:
    plan = copy.deepcopy(good)
    plan.pop("approvals")
    plan["actions"][1]["tx_power_dbm"] = 27.0
    assert default_policy.check_plan(plan, hotspot).passed
    v = strict_policy.check_plan(plan, hotspot)
    assert "approval-new-site" in [r.rule_id for r in v.violations]


def test_gate_result_for_a_planner_plan_file(default_policy: PolicySet, hotspot: Network,
                                             tmp_path: Path) -> None:
    """A plan as ``celltwin plan --json`` writes it (extra keys the gate ignores)."""
    plan = {"scenario": "hotspot", "target": 0.5, "budget": 100000.0, "horizon": "busy",
            "actions": [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 7.5,
                         "rationale": "", "targets": ["S01-1"], "cost": 100.0,
                         "cost_detail": {"capex_eur": 100.0, "opex_eur_per_year": 0.0,
                                         "total_eur": 100.0},
                         "description": "set electrical tilt of S01-1 to 7.5 deg"}],
            "total_cost": 100.0, "verified": True,
            "before": {"peak_prb_util": 0.93, "coverage": 1.0},
            "after": {"peak_prb_util": 0.62, "coverage": 1.0},
            "cells_before": [{"cell_id": "S01-1", "prb_util": 0.93, "p5_user_thr_mbps": 0.9}],
            "cells_after": [{"cell_id": "S01-1", "prb_util": 0.62, "p5_user_thr_mbps": 1.4}],
            "policy": {"passed": True}}
    v = default_policy.check_plan(plan, hotspot)
    assert v.passed, [(r.rule_id, r.summary) for r in v.violations]
