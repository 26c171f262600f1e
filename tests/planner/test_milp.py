"""The selection MILP against exhaustive search on small hand-made and random instances."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from actions.costs import Cost
from actions.models import SetCio, SetTilt, SplitSector, UpgradeMimo
from actions.pricing import PricedAction
from planner.milp import MilpSettings, solve_selection
from planner.sensitivity import Linearisation
from policies import LinearConstraint
from twin.errors import ValidationError


def _cand(action, eur: float) -> PricedAction:
    return PricedAction(action, Cost(eur, 0.0, eur))


def _lin(base: np.ndarray, delta: np.ndarray, ids: tuple[str, ...]) -> Linearisation:
    n = delta.shape[0]
    return Linearisation((), tuple(range(base.shape[0])), ids, base, delta,
                         np.ones(n, dtype=bool), {}, 0, 0.0, True)


def objective(lin: Linearisation, items, plan, s: MilpSettings, n_base: int) -> float:
    """The MILP's objective written out directly (the reference for exhaustive search)."""
    u = lin.predict(plan)
    peak = max(float(u.max()), s.aim)
    cost = sum(items[i].cost.total_eur for i in plan)
    # Balance over the base cells some candidate changes (all of them in these instances).
    changed = np.flatnonzero((np.abs(lin.delta[:, 0, :n_base]) >= 1e-4).any(axis=0))
    b = u[0, changed]
    mad = float(np.mean(np.abs(b - b.mean())))
    return peak + s.cost_weight * cost / s.budget_eur + s.balance_weight * mad


def feasible(items, plan, s: MilpSettings, rows=()) -> bool:
    knobs = [items[i].knob for i in plan]
    if len(knobs) != len(set(knobs)):
        return False
    if sum(items[i].cost.total_eur for i in plan) > s.budget_eur + 1e-9:
        return False
    if s.max_actions is not None and len(plan) > s.max_actions:
        return False
    return all(sum(r.coeffs.get(i, 0.0) for i in plan) <= r.rhs + 1e-9 for r in rows)


def exhaustive(lin, items, s, n_base, rows=()):
    best, arg = np.inf, None
    for k in range(len(items) + 1):
        for plan in itertools.combinations(range(len(items)), k):
            if feasible(items, plan, s, rows):
                v = objective(lin, items, plan, s, n_base)
                if v < best - 1e-12:
                    best, arg = v, plan
    return best, arg


def hand_instance():
    """Cell A is hot (0.9); B and C take its load. Options: split A (expensive, big), a tilt
    of A (two values, one knob), CIO on A (free, moves load to B), MIMO on B."""
    ids = ("A", "B", "C")
    items = [_cand(SplitSector(cell_id="A"), 33000.0),                 # 0
             _cand(SetTilt(cell_id="A", elec_tilt_deg=8.0), 100.0),    # 1
             _cand(SetTilt(cell_id="A", elec_tilt_deg=10.0), 100.0),   # 2 (same knob as 1)
             _cand(SetCio(cell_id="A", cio_db=-3.0), 0.0),             # 3
             _cand(UpgradeMimo(cell_id="B", mimo_layers=4), 7200.0)]   # 4
    base = np.array([[0.9, 0.4, 0.3]])
    delta = np.array([[[-0.45, 0.00, 0.00]],
                      [[-0.15, 0.05, 0.08]],
                      [[-0.25, 0.10, 0.12]],
                      [[-0.20, 0.18, 0.00]],
                      [[0.00, -0.15, 0.00]]])
    return _lin(base, delta, ids), items


def test_hand_instance_optimum_known():
    lin, items = hand_instance()
    s = MilpSettings(budget_eur=10000.0, aim=0.48, cost_weight=0.01, balance_weight=0.0)
    res = solve_selection(lin, items, s, n_base_cells=3)
    # Within 10 kEUR the split is out; tilt 10 + CIO gives A 0.45, B 0.68 -> B needs MIMO:
    # A 0.45, B 0.53, C 0.42. Tilt 8 + CIO + MIMO: A 0.55. So the optimum is {2, 3, 4}.
    assert res.status == "optimal"
    assert set(res.chosen) == {2, 3, 4}
    assert res.predicted_peak == pytest.approx(0.53)
    best, arg = exhaustive(lin, items, s, 3)
    assert set(arg) == {2, 3, 4}
    assert res.objective == pytest.approx(best, abs=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_random_instances_match_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    n_item, n_hour, n_cell = 9, 2, 4
    ids = tuple(f"C{c}" for c in range(n_cell))
    kinds = [lambda c, v: SetTilt(cell_id=c, elec_tilt_deg=v),
             lambda c, v: SetCio(cell_id=c, cio_db=v)]
    items = []
    for i in range(n_item):
        cell = ids[rng.integers(n_cell)]
        act = kinds[i % 2](cell, float(i))  # several items share a knob (cell, kind)
        items.append(_cand(act, float(rng.choice([0.0, 100.0, 5000.0, 30000.0]))))
    base = rng.uniform(0.2, 0.95, size=(n_hour, n_cell))
    delta = rng.normal(0.0, 0.12, size=(n_item, n_hour, n_cell))
    lin = _lin(base, delta, ids)
    rows = [LinearConstraint("no-two-expensive", "at most one 30k item",
                             {i: 1.0 for i, c in enumerate(items) if c.cost.total_eur > 20000},
                             "<=", 1.0)]
    s = MilpSettings(budget_eur=40000.0, max_actions=3, aim=0.3 * seed / 5,
                     cost_weight=0.02, balance_weight=0.05)
    res = solve_selection(lin, items, s, rows, n_base_cells=n_cell)
    best, _ = exhaustive(lin, items, s, n_cell, rows)
    assert res.status == "optimal"
    assert feasible(items, res.chosen, s, rows)
    assert objective(lin, items, res.chosen, s, n_cell) == pytest.approx(best, abs=1e-6)
    assert res.objective == pytest.approx(best, abs=1e-6)
    # The LP relaxation bounds the best pure min-max peak of the model from below.
    pure = MilpSettings(budget_eur=40000.0, max_actions=3, aim=0.0, cost_weight=0.0,
                        balance_weight=0.0)
    best_peak, _ = exhaustive(lin, items, pure, n_cell, rows)
    assert res.lp_bound is not None and res.lp_bound <= best_peak + 1e-7


def test_limits_and_cuts_are_respected():
    lin, items = hand_instance()
    s = MilpSettings(budget_eur=100000.0, max_actions=1, aim=0.0, balance_weight=0.0)
    res = solve_selection(lin, items, s)
    assert res.chosen == (0,)  # one action: the split (A 0.45, B 0.4)
    cut = solve_selection(lin, items, s, cuts=[(0,)])
    assert cut.chosen != (0,) and len(cut.chosen) <= 1
    tight = MilpSettings(budget_eur=0.0, aim=0.0, balance_weight=0.0)
    res0 = solve_selection(lin, items, tight)
    assert all(items[i].cost.total_eur == 0.0 for i in res0.chosen)
    assert res0.chosen == (3,)  # the free CIO change still helps: A 0.7


def test_bad_budget_is_a_clear_error():
    with pytest.raises(ValidationError, match="budget"):
        MilpSettings(budget_eur=-1.0)
    with pytest.raises(ValidationError, match="solver"):
        MilpSettings(budget_eur=1.0, solver="gurobi")  # type: ignore[arg-type]


def test_infeasible_policy_rows_give_a_status_not_a_crash():
    lin, items = hand_instance()
    rows = [LinearConstraint("impossible", "needs -1 actions", {0: 1.0}, ">=", 2.0)]
    res = solve_selection(lin, items, MilpSettings(budget_eur=1e5), rows)
    assert res.status == "infeasible" and res.chosen == ()


def test_lp_file_is_written_for_audit(tmp_path: Path):
    lin, items = hand_instance()
    res = solve_selection(lin, items, MilpSettings(budget_eur=1e4, aim=0.48), lp_dir=tmp_path,
                          stem="iteration_1")
    text = Path(res.lp_file).read_text()
    assert res.lp_file == str(tmp_path / "iteration_1.lp")
    assert "budget:" in text and "x_0004" in text and "peak_util" in text
    assert "knob_A_set_tilt" in text
    legend = (tmp_path / "iteration_1.variables.json").read_text()
    assert "split_sector:cell_id=A" in legend


def test_highs_agrees_with_cbc(capfd):
    lin, items = hand_instance()
    s = dict(budget_eur=10000.0, aim=0.48, cost_weight=0.01, balance_weight=0.01)
    cbc = solve_selection(lin, items, MilpSettings(**s, solver="cbc"))
    highs = solve_selection(lin, items, MilpSettings(**s, solver="highs"))
    assert highs.status == "optimal" and set(highs.chosen) == set(cbc.chosen)
    assert highs.objective == pytest.approx(cbc.objective, abs=1e-7)
    assert "HiGHS" not in capfd.readouterr().out  # stdout stays clean for --json


def test_trust_region_limits_changes_from_the_reference():
    lin, items = hand_instance()
    s = MilpSettings(budget_eur=1e5, aim=0.0, balance_weight=0.0)
    free = solve_selection(lin, items, s)
    assert len(free.chosen) >= 2
    one = solve_selection(lin, items, s, trust_radius=1)
    assert len(one.chosen) == 1
    # The best single change under the model (exhaustive over singles).
    singles = [(max(lin.predict((i,)).max(), 0.0) + 0.01 * items[i].cost.total_eur / 1e5, i)
               for i in range(len(items))]
    assert one.chosen == (min(singles)[1],)


def test_harm_rows_keep_other_cells_within_the_increase():
    lin, items = hand_instance()
    s = MilpSettings(budget_eur=1e5, aim=0.48, balance_weight=0.0, max_util_increase=0.05)
    res = solve_selection(lin, items, s, before=lin.base.copy())
    u = lin.predict(res.chosen)
    assert np.all(u - lin.base <= 0.05 + 1e-9)
    assert res.predicted_peak <= 0.48 + 1e-9  # the split reaches the aim without harm
    # Within 10 kEUR no plan reaches the aim without harm: the rows are soft, so the model
    # still answers, with less harm than without them.
    tight = dict(budget_eur=1e4, aim=0.48, balance_weight=0.0)
    soft = solve_selection(lin, items, MilpSettings(**tight, max_util_increase=0.05),
                           before=lin.base.copy())
    loose = solve_selection(lin, items, MilpSettings(**tight))
    assert soft.status == loose.status == "optimal"
    harm_soft = float((lin.predict(soft.chosen) - lin.base).max())
    harm_loose = float((lin.predict(loose.chosen) - lin.base).max())
    assert harm_loose > 0.05 and harm_soft < harm_loose
