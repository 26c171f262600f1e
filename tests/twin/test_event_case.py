"""Options of the generated event networks that the planner bench's cases use
(bench/planner_cases.py): no candidate list, macros at 4x4 MIMO, and the claim the small-cell
case rests on (a crowd of 1.6x its sector's capacity stays above it with 8 layers)."""

from __future__ import annotations

from actions.apply import apply_actions
from actions.models import UpgradeMimo
from twin.engine import Twin
from twin.scenarios.event import event_case


def test_no_candidates_and_four_layer_macros() -> None:
    case = event_case("boresight", seed=7, n_candidates=0, mimo_layers=4)
    assert case.network.candidates.empty
    assert set(case.network.cells["mimo_layers"]) == {4}
    assert set(event_case("boresight", seed=7).network.cells["mimo_layers"]) == {2}


def test_a_crowd_of_one_and_a_half_sectors_is_not_carried_by_eight_layers() -> None:
    case = event_case("boresight", seed=1_000_002, distance_m=200.0, peak=1.6, mimo_layers=4,
                      n_candidates=0)
    tw = Twin(case.network, case.truth)
    before = tw.run().util_by_cell()[case.crowd_cell]
    assert abs(before - 1.6) < 0.01
    net = apply_actions(case.network, [UpgradeMimo(cell_id=case.crowd_cell, mimo_layers=8)])
    after = tw.what_if(net).run().util_by_cell()[case.crowd_cell]
    assert 1.1 < after < 1.4  # ~1.3x capacity at the crowd's SINR, not the 2x of the layers
