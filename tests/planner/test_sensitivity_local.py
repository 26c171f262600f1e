"""Sensitivities from local what-ifs (WhatIfContext(local=True)) equal those from full
what-ifs within the local what-if's tested bound; around a non-empty reference the planner
still uses full what-ifs (the local one holds cells at the base state, not the plan's)."""

from __future__ import annotations

import numpy as np

from planner.executors import SerialExecutor
from planner.sensitivity import linearise
from planner.whatif import WhatIfContext
from twin.whatif_local import LOCAL_ERROR_BOUND

from .conftest import PlanCase
from .test_sensitivity import _items


def test_local_sensitivities_are_within_the_bound(case: PlanCase):
    tw = case.twin()
    items = _items(case, tw)
    busy = case.demand.busy_hour
    full = linearise(WhatIfContext.of(tw), items, (busy,), SerialExecutor())
    local = linearise(WhatIfContext.of(tw, local=True), items, (busy,), SerialExecutor())
    assert local.cell_ids == full.cell_ids and local.valid.tolist() == full.valid.tolist()
    np.testing.assert_allclose(local.base, full.base, atol=1e-12)
    assert local.converged
    err = np.abs(local.delta - full.delta)
    assert err.max() <= LOCAL_ERROR_BOUND
    # The changes matter: the bound is small next to the effects it approximates.
    assert np.abs(full.delta).max() > 20 * LOCAL_ERROR_BOUND
    # Around a reference plan: the same what-ifs as without local (full path).
    ref = (2,)
    a = linearise(WhatIfContext.of(tw), items, (busy,), SerialExecutor(), ref)
    b = linearise(WhatIfContext.of(tw, local=True), items, (busy,), SerialExecutor(), ref)
    np.testing.assert_array_equal(a.delta, b.delta)


class _Recording(SerialExecutor):
    """The serial executor, noting which jobs ran as local what-ifs."""

    def __init__(self) -> None:
        self.local_jobs = 0
        self.jobs = 0

    def map(self, context, jobs):
        jobs = list(jobs)
        self.jobs += len(jobs)
        self.local_jobs += sum(1 for j in jobs if j.local and not j.quality)
        return super().map(context, jobs)


def test_planner_setting_runs_the_first_sensitivities_locally(case: PlanCase):
    from planner.loop import PlannerSettings, plan_network

    ex = _Recording()
    s = PlannerSettings(target=0.5, lp_dir=None, local_whatifs=True, quality_rows=False,
                        max_iterations=1)
    plan = plan_network(case.twin(), case.catalogue, s, ex)
    assert ex.local_jobs > 0 and plan.peak_after < plan.peak_before
    off = _Recording()
    plan_network(case.twin(), case.catalogue, PlannerSettings(
        target=0.5, lp_dir=None, quality_rows=False, max_iterations=1), off)
    assert off.local_jobs == 0 and off.jobs > 0
