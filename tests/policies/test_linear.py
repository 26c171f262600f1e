"""Linear constraints for the MILP, from the same rules as the gate.

- the constraints of the shipped policy have the expected rows;
- property (random rule sets, random candidate sets): a selection satisfies every linear
  constraint exactly when the gate finds no broken deny rule (one source of truth);
- property (random rule sets): the planner's MILP (planner.milp.solve_selection) never
  returns a plan that breaks a linear rule, and the gate passes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from actions.costs import load_costs
from actions.models import AddSmallCell, SetCio, SetPower, SetTilt, SplitSector, UpgradeMimo
from actions.pricing import PricedAction, price
from actions.rows import action_to_json
from planner.milp import MilpSettings, solve_selection
from planner.sensitivity import Linearisation
from policies import PolicySet, load_policy, policy_from_texts
from policies.networks import scenario_network

NET = scenario_network("hotspot")
COSTS = load_costs(None)
SITES = NET.sites["site_id"].tolist()

POOL: list[Any] = [
    *(AddSmallCell(candidate_id=c, tx_power_dbm=p) for c in ("C01", "C03", "C06", "C07", "C08",
                                                            "C10") for p in (24.0, 36.0)),
    *(SplitSector(cell_id=c) for c in ("S01-1", "S05-3", "S06-2", "S04-1", "S10-2")),
    *(SetTilt(cell_id=c, elec_tilt_deg=t) for c in ("S01-1", "S01-2", "S04-3", "S10-1")
      for t in (3.0, 8.0, 11.5)),
    *(SetPower(cell_id=c, tx_power_dbm=p) for c in ("S01-3", "S04-2", "S05-1")
      for p in (40.0, 44.0, 46.0)),
    *(SetCio(cell_id=c, cio_db=v) for c in ("S01-1", "S05-3") for v in (-4.0, 2.0)),
    *(UpgradeMimo(cell_id=c, mimo_layers=m) for c in ("S01-1", "S06-2") for m in (4, 8)),
]


def priced(actions: list[Any]) -> list[PricedAction]:
    return [PricedAction.of(a, NET, COSTS) for a in actions]


@st.composite
def candidate_sets(draw: Any, max_size: int = 10) -> list[Any]:
    """Distinct actions with distinct knobs (as a candidate list after exclusivity)."""
    idx = draw(st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=max_size,
                        unique=True))
    out, knobs = [], set()
    for i in idx:
        if POOL[i].knob() not in knobs:
            knobs.add(POOL[i].knob())
            out.append(POOL[i])
    return out


@st.composite
def rule_sets(draw: Any) -> PolicySet:
    """A random policy of the linear and per-action kinds, each rule deny or warn."""
    sev = st.sampled_from(["deny", "deny", "warn"])
    rules: list[dict[str, Any]] = []

    def add(kind: str, **kw: Any) -> None:
        rules.append({"id": f"r{len(rules)}", "kind": kind, "severity": draw(sev),
                      "message": f"random {kind}", **kw})

    if draw(st.booleans()):
        add("budget", max_eur=draw(st.sampled_from([5000, 35000, 70000, 150000])))
    if draw(st.booleans()):
        add("budget", scope="per_site", max_eur=draw(st.sampled_from([1000, 32000, 70000])))
    if draw(st.booleans()):
        add("max_actions", max_count=draw(st.integers(0, 6)))
    if draw(st.booleans()):
        add("max_actions", max_count=draw(st.integers(0, 2)), action_kinds=draw(
            st.lists(st.sampled_from(["add_small_cell", "set_tilt", "split_sector",
                                      "set_power"]), min_size=1, max_size=2, unique=True)))
    if draw(st.booleans()):
        add("max_actions", max_count=draw(st.integers(1, 2)), per="site")
    if draw(st.booleans()):
        lo = draw(st.sampled_from([0, 2, 4]))
        add("parameter_bounds", action_kind="set_tilt", parameter="elec_tilt_deg", min=lo,
            max=draw(st.sampled_from([8, 10, 12])), step=draw(st.sampled_from([0.5, 1.0])))
    if draw(st.booleans()):
        add("parameter_bounds", action_kind="set_power", parameter="tx_power_dbm",
            min=draw(st.sampled_from([38, 41])), max=draw(st.sampled_from([44, 46])))
    if draw(st.booleans()):
        add("allowed_actions", action_kinds=draw(st.lists(st.sampled_from(
            ["add_small_cell", "split_sector", "set_tilt", "set_power", "set_cio",
             "upgrade_mimo"]), min_size=1, max_size=6, unique=True)))
    if draw(st.booleans()):
        add("protected_cells", site_ids=draw(st.lists(st.sampled_from(SITES), min_size=1,
                                                       max_size=4, unique=True)))
    if draw(st.booleans()):
        x0, y0 = draw(st.integers(-400, 500)), draw(st.integers(-400, 300))
        w = draw(st.integers(50, 400))
        add("forbidden_zone", zones={"type": "Polygon", "coordinates": [
            [[x0, y0], [x0 + w, y0], [x0 + w, y0 + w], [x0, y0 + w]]]})
    if draw(st.booleans()):
        add("emf_cap", max_eirp_dbm=draw(st.sampled_from([58, 61, 63, 64])),
            zones=draw(st.sampled_from([None, {"type": "Polygon", "coordinates": [
                [[-100, -300], [500, -300], [500, 300], [-100, 300]]]}])))
    text = yaml.safe_dump({"rules": [{k: v for k, v in r.items() if v is not None}
                                     for r in rules]}, sort_keys=False)
    return policy_from_texts({"random.yaml": text})


def gate(policy: PolicySet, actions: list[Any]) -> Any:
    rows = [action_to_json(a, price(a, NET, COSTS)) for a in actions]
    return policy.check_plan({"actions": rows}, NET, COSTS)


def test_default_policy_constraints() -> None:
    policy = load_policy()
    items = priced([AddSmallCell(candidate_id="C01"), AddSmallCell(candidate_id="C08"),
                    SetTilt(cell_id="S10-1", elec_tilt_deg=8),
                    SetTilt(cell_id="S01-1", elec_tilt_deg=13),
                    SplitSector(cell_id="S01-2"), SplitSector(cell_id="S01-3")])
    cons = policy.linear_constraints(items, NET)
    by_rule: dict[str, list[Any]] = {}
    for c in cons:
        by_rule.setdefault(c.rule_id, []).append(c)
    total = by_rule["budget-total"][0]
    assert total.rhs == 500000 and total.coeffs == {i: it.cost_eur for i, it in enumerate(items)}
    per_site = {frozenset(c.coeffs): c.rhs for c in by_rule["budget-per-site"]}
    assert per_site[frozenset({3, 4, 5})] == 100000           # S01: tilt + two splits
    assert frozenset({0}) in per_site and frozenset({1}) in per_site  # SC-C01, SC-C08
    assert by_rule["max-new-sites"][0].coeffs == {0: 1.0, 1: 1.0}
    # Per-action deny rules forbid single items.
    singles = {(c.rule_id, next(iter(c.coeffs))) for c in cons
               if c.rhs == 0 and len(c.coeffs) == 1}
    assert singles == {("zone-school-street", 1), ("protected-shared-mast", 2),
                       ("tilt-range", 3)}
    # Warn rules give no constraint; every constraint is '<='.
    warn_ids = {s.rule.id for s in policy.rules if s.rule.severity == "warn"}
    assert not warn_ids & set(by_rule)
    assert {c.sense for c in cons} == {"<="}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=rule_sets(), actions=candidate_sets(), data=st.data())
def test_constraints_and_gate_agree(policy: PolicySet, actions: list[Any],
                                    data: st.DataObject) -> None:
    items = priced(actions)
    cons = policy.linear_constraints(items, NET)
    chosen = data.draw(st.sets(st.integers(0, len(items) - 1)))
    feasible = all(c.satisfied(chosen) for c in cons)
    verdict = gate(policy, [actions[i] for i in sorted(chosen)])
    event("feasible" if feasible else "infeasible")
    assert feasible == verdict.passed, (
        [c.rule_id for c in cons if not c.satisfied(chosen)],
        [(r.rule_id, r.summary) for r in verdict.violations])


def linearisation(n_items: int, rng: np.random.Generator) -> Linearisation:
    """A made-up linear model in which every candidate lowers some cell's utilisation, so the
    optimiser wants as many as it may take."""
    n_cell = 4
    delta = -rng.uniform(0.0, 0.2, size=(n_items, 1, n_cell))
    return Linearisation(reference=(), hours=(0,), cell_ids=tuple(f"c{k}" for k in range(n_cell)),
                         base=np.full((1, n_cell), 0.9), delta=delta,
                         valid=np.ones(n_items, dtype=bool), errors={}, n_whatifs=0,
                         seconds=0.0, converged=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=rule_sets(), actions=candidate_sets(max_size=14),
       seed=st.integers(0, 2**16))
def test_milp_plan_never_breaks_a_linear_rule(policy: PolicySet, actions: list[Any],
                                              seed: int) -> None:
    items = priced(actions)
    cons = policy.linear_constraints(items, NET)
    res = solve_selection(linearisation(len(items), np.random.default_rng(seed)), items,
                          MilpSettings(budget_eur=1e9, cost_weight=0.0, balance_weight=0.0),
                          cons, with_bound=False)
    assert res.status == "optimal"
    for c in cons:
        assert c.satisfied(res.chosen), (c.rule_id, c.lhs(res.chosen), c.rhs)
    verdict = gate(policy, [actions[i] for i in res.chosen])
    assert verdict.passed, [(r.rule_id, r.summary) for r in verdict.violations]
    # Without the policy rows the optimiser would take more than the policy allows whenever
    # a constraint binds: the rows do the work (not a vacuous pass).
    if cons:
        free = solve_selection(linearisation(len(items), np.random.default_rng(seed)),
                               items, MilpSettings(budget_eur=1e9, cost_weight=0.0,
                                                        balance_weight=0.0), with_bound=False)
        assert len(free.chosen) >= len(res.chosen)
        event("policy rows bind" if len(free.chosen) > len(res.chosen) else "rows slack")
