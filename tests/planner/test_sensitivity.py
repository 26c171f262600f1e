"""Sensitivities equal direct what-ifs; the model around a plan is exact one change away."""

from __future__ import annotations

import numpy as np
import pytest

from actions.apply import apply_actions
from actions.models import AddSmallCell, SetCio, SetTilt, SplitSector, UpgradeMimo
from planner.candidates import price_all
from planner.executors import SerialExecutor
from planner.sensitivity import linearise
from planner.whatif import WhatIfContext
from twin.engine import Twin

from .conftest import PlanCase

TOL = 1e-4  # the load fixed point stops at max |delta rho| < 1e-6


def _items(case: PlanCase, tw: Twin):
    acts = [SetTilt(cell_id="S01-1", elec_tilt_deg=8.0),      # 0
            SetTilt(cell_id="S01-1", elec_tilt_deg=10.0),     # 1 same knob as 0
            SetCio(cell_id="S05-3", cio_db=3.0),              # 2
            SplitSector(cell_id="S01-1"),                     # 3 removes S01-1, adds a/b
            AddSmallCell(candidate_id="K1", tx_power_dbm=30.0, cio_db=3.0),  # 4 new cell
            UpgradeMimo(cell_id="S06-2", mimo_layers=4)]      # 5
    return price_all(acts, tw, case.catalogue)


def _direct(case: PlanCase, actions, hour: int) -> dict[str, float]:
    """A fresh twin of the changed network, cold start: the reference."""
    net = apply_actions(case.network, list(actions))
    return Twin(net, case.demand, case.config).run(hour).util_by_cell()


def test_deltas_equal_direct_what_ifs(case: PlanCase):
    tw = case.twin()
    items = _items(case, tw)
    busy = case.demand.busy_hour
    lin = linearise(WhatIfContext.of(tw), items, (busy,), SerialExecutor())
    assert lin.n_whatifs == len(items) + 1 and lin.converged and lin.valid.all()
    base = tw.run(busy).util_by_cell()
    for c, cid in enumerate(lin.cell_ids):
        assert lin.base[0, c] == pytest.approx(base.get(cid, 0.0), abs=TOL)
    assert {"S01-1a", "S01-1b", "SC-K1-1"} <= set(lin.cell_ids)
    for i, item in enumerate(items):
        direct = _direct(case, [item.action], busy)
        for c, cid in enumerate(lin.cell_ids):
            want = direct.get(cid, 0.0) - base.get(cid, 0.0)
            assert lin.delta[i, 0, c] == pytest.approx(want, abs=TOL), (item.key, cid)
    split = lin.delta[3, 0]
    assert split[lin.column("S01-1")] == pytest.approx(-base["S01-1"], abs=TOL)
    assert split[lin.column("S01-1a")] > 0.05 and split[lin.column("S01-1b")] > 0.05


def test_model_is_exact_one_change_from_the_reference(case: PlanCase):
    tw = case.twin()
    items = _items(case, tw)
    hours = (4, case.demand.busy_hour)
    ref = (0, 2, 3)  # tilt S01-1 to 8, CIO S05-3, split S01-1
    lin = linearise(WhatIfContext.of(tw), items, hours, SerialExecutor(), ref)
    plans = [ref, (2, 3), (0, 2, 3, 4), (0, 2, 3, 5), (1, 2, 3), (0, 2)]
    for plan in plans:  # P, P - i, P + j, swap on the knob of 0, removal of the split
        pred = lin.predict(plan)
        for k, h in enumerate(hours):
            direct = _direct(case, [items[i].action for i in plan], h)
            for c, cid in enumerate(lin.cell_ids):
                assert pred[k, c] == pytest.approx(direct.get(cid, 0.0), abs=TOL), (plan, h, cid)


def test_two_changes_away_the_model_is_only_approximate(case: PlanCase):
    """Non-linearity exists: the sum of two single effects misses their joint effect (which
    is why the loop verifies and re-linearises)."""
    tw = case.twin()
    items = _items(case, tw)
    busy = case.demand.busy_hour
    lin = linearise(WhatIfContext.of(tw), items, (busy,), SerialExecutor())
    pred = lin.predict((3, 4))
    direct = _direct(case, [items[3].action, items[4].action], busy)
    err = max(abs(pred[0, c] - direct.get(cid, 0.0)) for c, cid in enumerate(lin.cell_ids))
    assert err > 1e-3


def test_a_candidate_that_cannot_apply_is_marked_not_valid(case: PlanCase):
    tw = case.twin()
    items = price_all([SetCio(cell_id="S01-1", cio_db=-3.0),
                       UpgradeMimo(cell_id="S01-1", mimo_layers=4)], tw, case.catalogue)
    # A candidate whose target does not exist (e.g. from a stale proposal) is not
    # selectable; the others are unaffected.
    bad = price_all([SetCio(cell_id="S01-2", cio_db=3.0)], tw, case.catalogue)
    object.__setattr__(bad[0], "action", SetCio(cell_id="nope", cio_db=3.0))
    lin = linearise(WhatIfContext.of(tw), items + bad, (case.demand.busy_hour,),
                    SerialExecutor())
    assert lin.valid.tolist() == [True, True, False]
    assert "nope" in lin.errors[2]
    assert np.all(lin.delta[2] == 0.0)
