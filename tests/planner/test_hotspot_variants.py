"""Generated hotspot variants: calibrated like hotspot, hotspot elsewhere, candidates moved."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import ValidationError
from twin.invariants import check_state
from twin.scenarios.hotspot import CANDIDATES, HOTSPOT_XY_M
from twin.scenarios.hotspot_variants import build_variant, hotspot_position


def test_variant_is_calibrated_and_overloaded_where_its_hotspot_is():
    sc = build_variant(1)
    tw = sc.twin()
    st = tw.run()
    check_state(st, tw)
    # Calibrated to counters generated with the busiest cell at 0.93 (counter noise 0.005).
    assert st.kpis["peak_prb_util"] == pytest.approx(0.93, abs=0.03)
    assert sc.calibration.max_abs_error < 0.01
    # The busiest cell serves the hotspot's centre; C01 stands on it.
    x, y = hotspot_position(1)
    grid = sc.demand.grid
    b = grid.bin_of(x, y)
    assert st.res_bin["serving_cell"].iloc[b] == st.kpis["busiest_cell"]
    c01 = sc.network.candidates.set_index("candidate_id").loc["C01"]
    assert (c01["x_m"], c01["y_m"]) == pytest.approx((x, y))
    far = sc.network.candidates.set_index("candidate_id").loc["C10"]
    assert (far["x_m"], far["y_m"]) == (CANDIDATES[9][1], CANDIDATES[9][2])


def test_variants_differ_and_are_reproducible():
    pos = [hotspot_position(s) for s in (1, 2, 3)]
    assert len({(round(x), round(y)) for x, y in pos}) == 3
    assert all(np.hypot(x - HOTSPOT_XY_M[0], y - HOTSPOT_XY_M[1]) > 1.0 for x, y in pos)
    assert hotspot_position(2) == hotspot_position(2)
    with pytest.raises(ValidationError):
        build_variant(-1)
