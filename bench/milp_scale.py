"""The selection MILP at the size of a large import (issue 15), on a synthetic linear model.

Munich has 7,012 candidates over 1,511 cells; this builds a :class:`Linearisation` of that
shape (one busy hour, every cell overloaded between 0.5 and 4, each candidate changing
``--per-item`` random cells, one of them by -0.05 to -0.5) and reports the seconds of
building the model, of the greedy plan, and of the solve, with the solver's status.

    python bench/milp_scale.py --items 7012 --cells 1511 --per-item 50 --time-limit 5
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from actions.costs import Cost
from actions.models import SetTilt
from actions.pricing import PricedAction
from planner.milp import HardRows, MilpSettings, build_model, greedy_plan, solve_selection
from planner.sensitivity import Linearisation


def synthetic(n_items: int, n_cells: int, per_item: int, seed: int = 0
              ) -> tuple[Linearisation, list[PricedAction]]:
    """A random model of the shape above (four tilt values per cell share one knob)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 4.0, size=(1, n_cells))
    delta = np.zeros((n_items, 1, n_cells))
    for i in range(n_items):
        cells = rng.choice(n_cells, per_item, replace=False)
        delta[i, 0, cells] = rng.normal(0.0, 0.05, per_item)
        delta[i, 0, cells[0]] = -rng.uniform(0.05, 0.5)
    items = [PricedAction(SetTilt(cell_id=f"c{(i // 4) % n_cells}", elec_tilt_deg=float(i % 4)),
                          Cost(float(rng.uniform(100, 30000)), 0.0, 0.0))
             for i in range(n_items)]
    ids = tuple(f"c{c}" for c in range(n_cells))
    lin = Linearisation((), (0,), ids, base, delta, np.ones(n_items, dtype=bool), {}, 0, 0.0,
                        True)
    return lin, items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=7012)
    ap.add_argument("--cells", type=int, default=1511)
    ap.add_argument("--per-item", type=int, default=50)
    ap.add_argument("--time-limit", type=float, default=5.0,
                    help="time_limit_s, not grown with the model (time_limit_per_binary_s 0)")
    ap.add_argument("--solver", default="cbc", choices=("cbc", "highs"))
    a = ap.parse_args()
    lin, items = synthetic(a.items, a.cells, a.per_item)
    s = MilpSettings(budget_eur=100000.0, aim=0.45, max_util_increase=0.1,
                     time_limit_s=a.time_limit, time_limit_per_binary_s=0.0, solver=a.solver)
    before = lin.base.copy()
    t0 = time.perf_counter()
    build_model(lin, items, s, n_base_cells=a.cells, before=before)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    greedy = greedy_plan(lin, items, s, HardRows(items, lin.valid, s), before)
    greedy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = solve_selection(lin, items, s, n_base_cells=a.cells, before=before, with_bound=False)
    print(json.dumps({
        "items": a.items, "cells": a.cells, "per_item": a.per_item, "build_s": build_s,
        "greedy_s": greedy_s, "greedy_actions": None if greedy is None else len(greedy),
        "solve_s": time.perf_counter() - t0, "status": res.status,
        "solver_status": res.solver_status, "time_limit_s": res.time_limit_s,
        "chosen": len(res.chosen), "predicted_peak": res.predicted_peak,
        "peak_before": float(lin.base.max()), "load_avg": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
