"""Plans on generated event networks with a traffic map (held-out style: layouts, crowd
positions and seeds nobody tuned to). With the map the twin knows where the crowd stands;
the question is then what the twin's own verification says is the better plan.

* A crowd on a sector's boresight in the middle of its cell (200 m from the mast, half the
  inter-site distance, nearer its own mast than any other): no tilt moves it out of the
  sector, and the sector cannot carry it; a small cell at the crowd, on the same carrier,
  relieves it: the best plan of tilts and small cells must beat the best tilt-only plan.
* A crowd at the cell edge: a tilt (or a CIO offset) moves it to the neighbour; the planner
  must reach the target without spending on a small cell.

(A crowd 80 m in front of a 25 m mast is a third kind, measured, not asserted here: 16 deg
below the horizon it sits in the panel's lower side lobe, and a downtilt that brings the main
lobe onto it raises its SINR by ~12 dB, which the twin rewards; a co-channel lamp-post cell at
up to 37 dBm there is drowned by the macro. See docs/planner.md.)
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from actions.costs import load_costs
from planner.candidates import GeneratorOptions
from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from twin.engine import Twin
from twin.prior import scenario_from_network
from twin.scenarios.event import EventCase, event_case
from twin.traffic_map import TrafficMap, read_traffic

pytestmark = pytest.mark.slow

#: evaluation seeds of these tests (training data must use other seeds; see docs/llm.md)
SEEDS = (101, 102, 103)
TILT_ONLY = GeneratorOptions(
    hot_tilt_steps_deg=(-4.0, -2.0, 2.0, 4.0, 6.0, 8.0), hot_cio_steps_db=(),
    hot_power_steps_db=(), hot_mimo_layers=(), neighbour_tilt_steps_deg=(-4.0, -2.0, 2.0, 4.0),
    neighbour_cio_steps_db=(), neighbour_mimo_layers=(), azimuth_steps_deg=(), split=False,
    small_cell_power_dbm=())
TILT_AND_SMALL_CELLS = replace(TILT_ONLY, small_cell_power_dbm=(30.0, 37.0))


def _twin(case: EventCase, tmap: TrafficMap | None) -> Twin:
    sc = scenario_from_network(case.network, case.measurements, traffic=tmap)
    return sc.twin()


def _map(case: EventCase, tmp_path) -> TrafficMap:
    p = tmp_path / "crowd.csv"
    case.samples.to_csv(p, index=False)
    from twin.prior import default_grid

    return read_traffic(p, default_grid(case.network), case.network.origin)


def _plan(twin: Twin, target: float, generator: GeneratorOptions | None = None):
    s = PlannerSettings(target=target, budget_eur=100_000.0, max_iterations=3, lp_dir=None)
    if generator is not None:
        s = replace(s, generator=generator)
    return plan_network(twin, load_costs(), s, SerialExecutor(), scenario="event")


@pytest.mark.parametrize("seed", SEEDS)
def test_mid_cell_crowd_a_small_cell_beats_every_tilt(seed: int, tmp_path) -> None:
    case = event_case("boresight", seed=seed, distance_m=200.0)
    twin = _twin(case, _map(case, tmp_path))
    # the map put the crowd where it stands: the busiest cell is the crowd's
    assert twin.run().kpis["busiest_cell"] == case.crowd_cell
    tilt = _plan(twin, 0.5, TILT_ONLY).to_json()
    with_sc = _plan(twin, 0.5, TILT_AND_SMALL_CELLS).to_json()
    assert {a["kind"] for a in tilt["actions"]} <= {"set_tilt"}
    assert "add_small_cell" in {a["kind"] for a in with_sc["actions"]}, with_sc["actions"]
    # the twin's own verification: the plan with a small cell at the crowd is better than
    # the best tilt-only plan
    assert with_sc["after"]["peak_prb_util"] < tilt["after"]["peak_prb_util"] - 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_cell_edge_crowd_is_moved_without_a_new_site(seed: int, tmp_path) -> None:
    case = event_case("edge", seed=seed)
    twin = _twin(case, _map(case, tmp_path))
    plan = _plan(twin, 0.7).to_json()
    assert plan["after"]["peak_prb_util"] <= 0.72
    assert "add_small_cell" not in {a["kind"] for a in plan["actions"]}
