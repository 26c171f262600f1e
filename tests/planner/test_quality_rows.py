"""Neighbour harm (5th-percentile throughput) and minimum coverage inside the MILP: the
per-cell p5 of a what-if, its linear model and the MILP rows (the property over targets is
in test_target_monotone.py)."""

from __future__ import annotations

import numpy as np
import pytest

from actions.costs import Cost
from actions.models import SetCio, SetTilt, SplitSector, UpgradeMimo
from actions.pricing import PricedAction
from planner.executors import SerialExecutor
from planner.milp import MilpSettings, QualityLimits, solve_selection
from planner.policy_gate import (
    coverage_floor,
    linearised_breaks,
    load_cap,
    p5_drop_limit,
)
from planner.sensitivity import Linearisation, linearise
from planner.verify import cell_rows, verify
from planner.whatif import WhatIfContext, cell_p5_mbps
from policies import load_policy

from .conftest import PlanCase


def test_vectorised_p5_matches_the_gates_numbers(case: PlanCase):
    tw = case.twin()
    for acts in ([], [SplitSector(cell_id="S01-1")], [SetCio(cell_id="S01-1", cio_db=-6.0)]):
        ver = verify(tw, acts, (case.demand.busy_hour, 3))
        for stt in ver.states:
            mine = cell_p5_mbps(stt)
            ref = [r["p5_user_thr_mbps"] for r in cell_rows(stt)]
            assert len(mine) == len(ref)
            for a, b in zip(mine, ref, strict=True):
                assert (b is None and np.isnan(a)) or a == pytest.approx(b, rel=1e-12)


def test_quality_model_is_exact_one_change_away(case: PlanCase):
    tw = case.twin()
    hours = (case.demand.busy_hour,)
    acts = [SetTilt(cell_id="S01-1", elec_tilt_deg=10.0), SetCio(cell_id="S01-1", cio_db=-6.0),
            UpgradeMimo(cell_id="S05-3", mimo_layers=4), SplitSector(cell_id="S01-1")]
    items = [PricedAction(a, Cost(0.0, 0.0, 0.0)) for a in acts]
    base = verify(tw, [], hours)
    lin = linearise(WhatIfContext.of(tw), items, hours, SerialExecutor(), (),
                    base.as_result(quality=True), quality=True)
    assert lin.p5_delta is not None and np.abs(lin.p5_delta).max() > 0.1
    for i, a in enumerate(acts):
        ver = verify(tw, [a], hours)
        got = ver.as_result(quality=True)
        p5 = lin.predict_p5([i])
        for c, cid in enumerate(got.cell_ids):
            want = got.p5[0, c]
            col = lin.column(cid)
            if np.isfinite(want) and np.isfinite(lin.p5_base[0, col]):
                assert p5[0, col] == pytest.approx(want, rel=1e-3, abs=1e-3)  # fixed-point tol.
        assert lin.predict_coverage([i])[0] == pytest.approx(got.coverage[0], abs=1e-4)
    # around a reference plan too (removal and knob swaps)
    ref = verify(tw, [acts[0]], hours)
    lin2 = linearise(WhatIfContext.of(tw), items, hours, SerialExecutor(), (0,),
                     ref.as_result(quality=True), quality=True)
    swap = verify(tw, [acts[1], acts[0]], hours).as_result(quality=True)
    p5 = lin2.predict_p5([0, 1])
    c = lin2.column("S01-2")
    assert p5[0, c] == pytest.approx(swap.p5[0, list(swap.cell_ids).index("S01-2")], rel=1e-3)


def _lin(base, delta, p5_base, p5_delta, cov_base=None, cov_delta=None) -> Linearisation:
    n = delta.shape[0]
    return Linearisation((), (0,), ("A", "B"), base, delta, np.ones(n, dtype=bool), {}, 0,
                         0.0, True, p5_base, p5_delta, cov_base, cov_delta)


def _items():
    return [PricedAction(SetCio(cell_id="A", cio_db=-6.0), Cost(0.0, 0.0, 0.0)),
            PricedAction(UpgradeMimo(cell_id="A", mimo_layers=4), Cost(7200.0, 0.0, 7200.0))]


def test_p5_rows_steer_away_from_a_throughput_harm():
    # 0: free CIO moves A's load to B and halves B's p5; 1: MIMO on A, a bit less effective
    base = np.array([[0.9, 0.3]])
    delta = np.array([[[-0.40, 0.15]], [[-0.35, 0.0]]])
    p5_base = np.array([[2.0, 8.0]])
    p5_delta = np.array([[[1.0, -4.0]], [[1.5, 0.0]]])
    lin = _lin(base, delta, p5_base, p5_delta)
    s = MilpSettings(budget_eur=1e4, max_actions=1, aim=0.0, balance_weight=0.0)
    free = solve_selection(lin, _items(), s)
    assert free.chosen == (0,)  # without the rows: the harmful, cheaper, better-peak option
    q = QualityLimits(p5_before=p5_base.copy(), max_p5_drop_fraction=0.10)
    held = solve_selection(lin, _items(), s, quality=q)
    assert held.chosen == (1,)
    # coverage rows: the CIO option drops coverage below the floor
    lin_c = _lin(base, delta, None, None, np.array([0.99]), np.array([[-0.05], [0.0]]))
    held_c = solve_selection(lin_c, _items(), s,
                             quality=QualityLimits(coverage_floor=np.array([0.97])))
    assert held_c.chosen == (1,)


def test_policy_limits_are_read_from_the_rules(case: PlanCase):
    pol = load_policy(None)
    assert p5_drop_limit(pol, case.network) == pytest.approx(0.10)
    assert load_cap(pol, case.network) == pytest.approx(0.8)
    # min_coverage 0.95 and max_drop 0.01: the larger floor wins
    assert coverage_floor(pol, case.network, 0.99) == pytest.approx(0.98)
    assert coverage_floor(pol, case.network, 0.90) == pytest.approx(0.95)
    verdict = {"violations": [{"id": "neighbour-harm", "kind": "neighbour_harm"},
                              {"id": "max-actions", "kind": "max_actions"}]}
    assert linearised_breaks(verdict) == ["neighbour-harm"]
