"""Baselines for the planner: greedy, random feasible, and exhaustive search on a small instance.

All of them choose among the same priced candidates as the MILP and are judged the same way:
the twin's verified peak of the whole plan, its cost, the wall time and the number of twin
what-ifs they needed.

* :func:`greedy`: add the single candidate that gives the lowest verified peak (ties: the
  cheaper) until the target is met, nothing affordable improves the peak, or the budget or
  action limit is spent. One what-if per remaining candidate per step.
* :func:`random_feasible`: draw random plans that respect budget, action limit and knob
  exclusivity; keep the best verified one.
* :func:`exhaustive_linear`: on the ``k`` candidates with the largest single effect,
  enumerate every feasible subset under the linear model and compare with the MILP on the
  same instance (the MILP must reach the optimum of its model).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actions.pricing import PricedAction
from planner.executors import Executor
from planner.milp import COEF_TOL, MilpSettings, balance_cells, solve_selection
from planner.sensitivity import Linearisation
from planner.whatif import WhatIfContext, WhatIfJob, WhatIfResult


@dataclass
class BaselineResult:
    """A baseline's plan and what it cost to find.

    Attributes:
        name: the method.
        chosen: indices of the chosen candidates.
        peak: the twin's verified peak utilisation of the whole plan.
        cost_eur: the plan's cost.
        seconds: wall time.
        what_ifs: twin runs used (each a what-if of a whole plan).
        details: method-specific numbers.
    """

    name: str
    chosen: tuple[int, ...]
    peak: float
    cost_eur: float
    seconds: float
    what_ifs: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self, items: Sequence[PricedAction] | None = None) -> dict[str, Any]:
        out = {"name": self.name, "peak_prb_util": self.peak, "cost_eur": self.cost_eur,
               "seconds": self.seconds, "what_ifs": self.what_ifs, "n_actions": len(self.chosen),
               **self.details}
        if items is not None:
            out["actions"] = [items[i].key for i in self.chosen]
        return out


def _peak(r: WhatIfResult) -> float:
    return float(np.max(r.util)) if r.util.size and not r.error else float("inf")


def _compatible(items: Sequence[PricedAction], plan: Sequence[int], i: int) -> bool:
    used = {items[k].knob for k in plan}
    return i not in plan and items[i].knob not in used


def greedy(context: WhatIfContext, items: Sequence[PricedAction], hours: Sequence[int],
           executor: Executor, budget_eur: float, target: float,
           max_actions: int | None = None, min_gain: float = 1e-3) -> BaselineResult:
    """Best single action at a time (see the module docstring)."""
    t0 = time.perf_counter()
    hours = tuple(hours)
    plan: list[int] = []
    spent = 0.0
    base = executor.map(context, [WhatIfJob((), hours)])[0]
    n = 1
    peak = _peak(base)
    ref = base
    while peak > target and (max_actions is None or len(plan) < max_actions):
        options = [i for i in range(len(items)) if _compatible(items, plan, i)
                   and spent + items[i].cost.total_eur <= budget_eur]
        if not options:
            break
        jobs = [WhatIfJob(tuple(items[k].action for k in [*plan, i]), hours, ref.cell_ids,
                          ref.util) for i in options]
        results = executor.map(context, jobs)
        n += len(jobs)
        scores = [(_peak(r), items[i].cost.total_eur, i, r)
                  for i, r in zip(options, results, strict=True)]
        best = min(scores, key=lambda s: (s[0], s[1]))
        if best[0] > peak - min_gain:
            break
        peak, ref = best[0], best[3]
        plan.append(best[2])
        spent += items[best[2]].cost.total_eur
    return BaselineResult("greedy", tuple(plan), peak, spent, time.perf_counter() - t0, n,
                          {"steps": len(plan)})


def random_plan(items: Sequence[PricedAction], rng: np.random.Generator, budget_eur: float,
                max_actions: int | None) -> tuple[int, ...]:
    """A random plan respecting budget, action limit and knob exclusivity: candidates in
    random order, each taken with probability 1/2 while it fits."""
    plan: list[int] = []
    spent = 0.0
    for i in rng.permutation(len(items)):
        if max_actions is not None and len(plan) >= max_actions:
            break
        c = items[int(i)]
        if rng.random() < 0.5 and _compatible(items, plan, int(i)) \
                and spent + c.cost.total_eur <= budget_eur:
            plan.append(int(i))
            spent += c.cost.total_eur
    return tuple(sorted(plan))


def random_feasible(context: WhatIfContext, items: Sequence[PricedAction], hours: Sequence[int],
                    executor: Executor, budget_eur: float, target: float, n_plans: int,
                    max_actions: int | None = None, seed: int = 0) -> BaselineResult:
    """The best of ``n_plans`` random feasible plans, by the planner's ranking (meets the
    target at the lowest cost, else the lowest peak)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    plans = [random_plan(items, rng, budget_eur, max_actions) for _ in range(n_plans)]
    results = executor.map(context, [WhatIfJob(tuple(items[i].action for i in p), tuple(hours))
                                     for p in plans])
    scored = []
    for p, r in zip(plans, results, strict=True):
        cost = float(sum(items[i].cost.total_eur for i in p))
        pk = _peak(r)
        scored.append(((0.0, cost, pk) if pk <= target else (1.0, pk, cost), p, pk, cost))
    _, plan, pk, cost = min(scored, key=lambda s: s[0])
    n_met = sum(1 for s in scored if s[0][0] == 0.0)
    return BaselineResult("random feasible", plan, pk, cost, time.perf_counter() - t0,
                          len(plans), {"n_plans": n_plans, "n_meeting_target": n_met})


def top_items(lin: Linearisation, k: int) -> list[int]:
    """The ``k`` valid candidates whose own what-if lowers the modelled peak most."""
    peak0 = float(lin.base.max())
    gains = [(peak0 - float((lin.base + lin.delta[i]).max()), i)
             for i in range(lin.n_items) if lin.valid[i]]
    return [i for _, i in sorted(gains, key=lambda g: (-g[0], g[1]))[:k]]


def sub_linearisation(lin: Linearisation, idx: Sequence[int]) -> Linearisation:
    """The model restricted to candidates ``idx`` (reference must be empty)."""
    if lin.reference:
        raise ValueError("sub-instances are taken around the unchanged network")
    idx = list(idx)
    return Linearisation((), lin.hours, lin.cell_ids, lin.base, lin.delta[idx], lin.valid[idx],
                         {}, 0, 0.0, lin.converged)


def model_objective(lin: Linearisation, items: Sequence[PricedAction], plan: Sequence[int],
                    s: MilpSettings, n_base: int) -> float:
    """The MILP's objective of ``plan`` evaluated directly (see :mod:`planner.milp`)."""
    u = lin.predict(plan)
    b = u[0, balance_cells(lin, n_base)]
    cost = sum(items[i].cost.total_eur for i in plan)
    scale = s.budget_eur if s.budget_eur > 0 else 1.0
    return (max(float(u.max()), s.aim) + s.cost_weight * cost / scale
            + (s.balance_weight * float(np.mean(np.abs(b - b.mean()))) if b.size else 0.0))


def exhaustive_linear(lin: Linearisation, items: Sequence[PricedAction], settings: MilpSettings,
                      n_base: int, k: int = 12) -> dict[str, Any]:
    """Exhaustive search vs the MILP on the ``k`` strongest candidates (linear model)."""
    idx = top_items(lin, k)
    sub = sub_linearisation(lin, idx)
    sub_items = [items[i] for i in idx]
    t0 = time.perf_counter()
    best, arg, n_feasible = np.inf, (), 0
    for r in range(len(idx) + 1):
        if settings.max_actions is not None and r > settings.max_actions:
            break
        for plan in itertools.combinations(range(len(idx)), r):
            knobs = [sub_items[i].knob for i in plan]
            if len(set(knobs)) != len(knobs):
                continue
            if sum(sub_items[i].cost.total_eur for i in plan) > settings.budget_eur:
                continue
            n_feasible += 1
            v = model_objective(sub, sub_items, plan, settings, n_base)
            if v < best - 1e-12:
                best, arg = v, plan
    t_exh = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = solve_selection(sub, sub_items, settings, n_base_cells=n_base, with_bound=False)
    t_milp = time.perf_counter() - t0
    # The MILP drops coefficients below planner.milp.COEF_TOL (fixed-point noise), so its
    # plan is judged by the exact objective and may differ from the optimum by that much.
    milp_exact = model_objective(sub, sub_items, res.chosen, settings, n_base)
    return {"k": len(idx), "subsets_feasible": n_feasible, "exhaustive_objective": best,
            "milp_objective": milp_exact, "milp_solver_objective": res.objective,
            "milp_status": res.status,
            "same_objective": res.status == "optimal" and milp_exact <= best + COEF_TOL,
            "exhaustive_plan": [sub_items[i].key for i in arg],
            "milp_plan": [sub_items[i].key for i in res.chosen],
            "exhaustive_seconds": t_exh, "milp_seconds": t_milp,
            "exhaustive_chosen": [idx[i] for i in arg]}
