"""The greedy incumbent of the selection MILP, its warm start and fallback, the scaled time
limit, and the model's size (issue 15: a plan on large networks)."""

from __future__ import annotations

import itertools
import subprocess
import time

import numpy as np
import pytest

from actions.costs import Cost
from actions.models import SetCio, SetTilt
from actions.pricing import PricedAction
from planner.milp import (
    HardRows,
    MilpSettings,
    _hard_deadline,
    build_model,
    greedy_plan,
    hard_deadline_s,
    scaled_time_limit,
    solve_selection,
)
from planner.sensitivity import Linearisation
from policies import LinearConstraint
from tests.planner.test_milp import objective


def _instance(seed: int, n_item: int, n_hour: int, n_cell: int, per_item: int | None = None,
              reference: tuple[int, ...] = ()):
    """Random candidates: several share a knob (one cell, one kind); costs from free to 30k."""
    rng = np.random.default_rng(seed)
    ids = tuple(f"C{c}" for c in range(n_cell))
    kinds = [lambda c, v: SetTilt(cell_id=c, elec_tilt_deg=v),
             lambda c, v: SetCio(cell_id=c, cio_db=v)]
    items = [PricedAction(kinds[i % 2](ids[rng.integers(n_cell)], float(i % 12)),
                          Cost(eur, 0.0, eur))
             for i, eur in enumerate(rng.choice([0.0, 100.0, 5000.0, 30000.0], n_item))]
    base = rng.uniform(0.2, 0.95, size=(n_hour, n_cell))
    delta = rng.normal(0.0, 0.12, size=(n_item, n_hour, n_cell))
    if per_item is not None:  # sparse columns, as on a large network
        keep = np.zeros((n_item, n_cell), dtype=bool)
        for i in range(n_item):
            keep[i, rng.choice(n_cell, per_item, replace=False)] = True
        delta = np.where(keep[:, None, :], delta, 0.0)
    lin = Linearisation(reference, tuple(range(n_hour)), ids, base, delta,
                        np.ones(n_item, dtype=bool), {}, 0, 0.0, True)
    return lin, items


def _obviously_feasible(items, plan, s: MilpSettings, rows=(), cuts=(), reference=(),
                        radius=None) -> bool:
    """Every hard row of the model, written out one by one."""
    plan = list(plan)
    if len(set(plan)) != len(plan):
        return False
    for a in range(len(plan)):
        for b in range(a + 1, len(plan)):
            if items[plan[a]].knob == items[plan[b]].knob:
                return False
    total = 0.0
    for i in plan:
        total += items[i].cost.total_eur
    if total > s.budget_eur + 1e-6:
        return False
    if s.max_actions is not None and len(plan) > s.max_actions:
        return False
    for r in rows:
        lhs = 0.0
        for i in plan:
            lhs += r.coeffs.get(i, 0.0)
        if (r.sense == "<=" and lhs > r.rhs + 1e-9) or (r.sense == ">=" and lhs < r.rhs - 1e-9):
            return False
        if r.sense == "==" and abs(lhs - r.rhs) > 1e-9:
            return False
    for cut in cuts:
        if sorted(cut) == sorted(plan):
            return False
    if radius is not None:
        changes = sum(1 for i in plan if i not in reference)
        changes += sum(1 for i in reference if i not in plan)
        if changes > radius:
            return False
    return True


def _rows(items):
    return [LinearConstraint("no-two-expensive", "at most one 30k item",
                             {i: 1.0 for i, c in enumerate(items) if c.cost.total_eur > 20000},
                             "<=", 1.0),
            LinearConstraint("at-least-one-cio", "one CIO change at least",
                             {i: 1.0 for i in range(1, len(items), 2)}, ">=", 1.0)]


@pytest.mark.parametrize("seed", range(8))
def test_greedy_plan_meets_every_hard_row_and_the_milp_is_no_worse(seed):
    lin, items = _instance(seed, 9, 2, 4)
    rows = _rows(items)
    s = MilpSettings(budget_eur=40000.0, max_actions=3, aim=0.3 * (seed % 4) / 3,
                     cost_weight=0.02, balance_weight=0.05)
    cuts = [(1,), (1, 3)]
    hard = HardRows(items, lin.valid, s, rows, cuts)
    greedy = greedy_plan(lin, items, s, hard)
    best = min(objective(lin, items, plan, s, 4)
               for k in range(len(items) + 1) for plan in itertools.combinations(range(9), k)
               if _obviously_feasible(items, plan, s, rows, cuts))
    assert greedy is not None
    assert _obviously_feasible(items, greedy, s, rows, cuts)
    assert hard.violations(greedy) == []
    res = solve_selection(lin, items, s, rows, cuts, n_base_cells=4)
    assert res.status == "optimal" and res.solver_status == "optimal"
    assert res.greedy == greedy
    assert _obviously_feasible(items, res.chosen, s, rows, cuts)
    assert objective(lin, items, res.chosen, s, 4) <= objective(lin, items, greedy, s, 4) + 1e-7
    assert objective(lin, items, res.chosen, s, 4) == pytest.approx(best, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_greedy_respects_the_trust_region_around_a_reference(seed):
    lin, items = _instance(seed, 10, 1, 4, reference=())
    s = MilpSettings(budget_eur=1e5, max_actions=4, aim=0.0, balance_weight=0.0)
    first = solve_selection(lin, items, s, n_base_cells=4).chosen
    lin2, _ = _instance(seed, 10, 1, 4, reference=tuple(first))
    hard = HardRows(items, lin2.valid, s, (), [first], first, 1)
    plan = greedy_plan(lin2, items, s, hard)
    assert plan is not None  # one change away from a non-empty reference always exists
    assert _obviously_feasible(items, plan, s, cuts=[first], reference=first, radius=1)


def test_greedy_is_none_when_no_plan_meets_the_hard_rows():
    lin, items = _instance(0, 6, 1, 3)
    rows = [LinearConstraint("impossible", "two of one item", {0: 1.0}, ">=", 2.0)]
    s = MilpSettings(budget_eur=1e5)
    assert greedy_plan(lin, items, s, HardRows(items, lin.valid, s, rows)) is None
    res = solve_selection(lin, items, s, rows)
    assert res.status == "infeasible" and res.chosen == ()


def test_a_solver_out_of_time_still_returns_a_feasible_plan():
    """HiGHS (no warm start through PuLP) with a limit far too short for 1,200 candidates
    finds nothing: the result is the greedy plan, said so; CBC starts from it."""
    lin, items = _instance(3, 1200, 1, 150, per_item=12)
    rows = _rows(items)
    base = dict(budget_eur=60000.0, max_actions=8, aim=0.3, max_util_increase=0.1,
                time_limit_s=0.01, time_limit_per_binary_s=0.0)
    for solver in ("highs", "cbc"):
        s = MilpSettings(**base, solver=solver)  # type: ignore[arg-type]
        res = solve_selection(lin, items, s, rows, n_base_cells=150, before=lin.base.copy(),
                              with_bound=False)
        assert res.status == "feasible" or res.status == "optimal"
        assert res.greedy is not None and len(res.chosen) > 0
        assert _obviously_feasible(items, res.chosen, s, rows)
        assert res.time_limit_s == pytest.approx(0.01)
        if res.solver_status == "time_limit_greedy":
            assert res.chosen == res.greedy and res.objective is None
        assert lin.predict(res.chosen).max() < lin.base.max()  # the plan does something
    # HiGHS has no incumbent in 10 ms on this model (measured: it stops in presolve).
    highs = solve_selection(lin, items, MilpSettings(**base, solver="highs"), rows,
                            n_base_cells=150, before=lin.base.copy(), with_bound=False)
    assert highs.solver_status == "time_limit_greedy"


def test_time_limit_grows_with_the_model_and_is_capped():
    s = MilpSettings(budget_eur=1.0)
    assert scaled_time_limit(s, 0) == pytest.approx(30.0)
    assert scaled_time_limit(s, 7012) == pytest.approx(30.0 + 70.12)
    assert scaled_time_limit(s, 10**6) == pytest.approx(120.0)
    fixed = MilpSettings(budget_eur=1.0, time_limit_s=5.0, time_limit_per_binary_s=0.0)
    assert scaled_time_limit(fixed, 7012) == pytest.approx(5.0)
    long = MilpSettings(budget_eur=1.0, time_limit_s=600.0)
    assert scaled_time_limit(long, 7012) == pytest.approx(600.0)  # the cap never cuts it
    lin, items = _instance(0, 9, 1, 4)
    res = solve_selection(lin, items, s, n_base_cells=4)
    assert res.time_limit_s == pytest.approx(30.09)


def test_balance_rows_stay_sparse_on_a_large_model():
    """The mean of the balance term is one variable: each deviation row holds only the
    candidates that change its cell (before: every candidate, minutes on Munich)."""
    lin, items = _instance(1, 2000, 1, 400, per_item=5)
    s = MilpSettings(budget_eur=1e5, max_actions=5, aim=0.3)
    prob, _ = build_model(lin, items, s, n_base_cells=400)
    dev = [c for c in prob.constraints() if c.name.startswith("dev_hi_")]
    assert len(dev) == 400
    nnz = np.count_nonzero(np.abs(lin.delta[:, 0, :]) >= 1e-4, axis=0)
    assert max(len(c) for c in dev) <= int(nnz.max()) + 2  # its cell's columns, dev, mean


def test_a_solver_past_its_hard_deadline_is_stopped():
    """The watchdog kills the named child process this process started, and only that."""
    assert hard_deadline_s(5.0) == pytest.approx(15.0)
    assert hard_deadline_s(100.0) == pytest.approx(150.0)
    t0 = time.perf_counter()
    with _hard_deadline(0.5, "sleep") as killed:
        proc = subprocess.Popen(["sleep", "30"])
        rc = proc.wait()
    assert killed == [proc.pid] and rc == -9
    assert time.perf_counter() - t0 < 20.0
    with _hard_deadline(5.0, "sleep") as killed:
        quick = subprocess.Popen(["sleep", "0.1"])
        assert quick.wait() == 0
    assert killed == []
