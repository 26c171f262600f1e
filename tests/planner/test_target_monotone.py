"""Property (issue 14): whenever the planner finds a plan the policy passes at target t, it
returns a passing plan at every looser target t' > t too. Before the harm, coverage and
load rules went into the MILP, a looser target let the optimiser stop at a cheaper plan that
moved congestion onto a neighbour, and the gate denied it (the event-day case).

The networks are generated: the 7-site layout of conftest with a crowd at a random place
near the edge between S01-1, S05-3 and S06-2 on a random background load (neighbours at
about half load, as on an event day); hypothesis is derandomised and runs few examples."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from policies import load_policy
from twin.demand import Demand

from .conftest import PlanCase, build_case


def event_case(hot_mbps: float, background_mbps_km2: float, dx: float, dy: float) -> PlanCase:
    c = build_case(hot_mbps=hot_mbps, background_mbps_km2=background_mbps_km2)
    grid = c.demand.grid
    x, y = grid.xy()
    cx, cy = 150.0 + dx, 110.0 + dy
    shape = np.exp(-0.5 * ((x - cx) ** 2 + (y - cy) ** 2) / 60.0**2)
    spatial = background_mbps_km2 * grid.bin_area_km2 + hot_mbps * shape / shape.sum()
    hourly = 0.4 + 0.6 * np.sin(np.linspace(0.0, np.pi, 24))
    return PlanCase(c.network, Demand.from_profile(grid, spatial, hourly), c.config,
                    c.catalogue)


_VERDICTS: dict[tuple[float, ...], bool | None] = {}


def verdict(hot: float, background: float, dx: float, dy: float, target: float
            ) -> bool | None:
    """The policy verdict of the plan at ``target`` (memoised: examples share networks)."""
    key = (hot, background, dx, dy, round(target, 9))
    if key not in _VERDICTS:
        _VERDICTS[key] = passed(event_case(hot, background, dx, dy), target)
    return _VERDICTS[key]


def passed(case: PlanCase, target: float) -> bool | None:
    plan = plan_network(case.twin(), case.catalogue,
                        PlannerSettings(target=target, lp_dir=None, budget_eur=60_000.0,
                                        max_iterations=3), SerialExecutor(),
                        policy=load_policy(None))
    return plan.policy.get("passed")


@settings(max_examples=1, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
# Found by exploring this family with the planner before the rules went into the MILP:
# 0.6 passed (peak 0.564), 0.7 was denied for neighbour harm (0.73), 0.8 for max load (1.07).
@example(hot=60.0, background=110.0, dx=0.0, dy=0.0, strict=0.6, gap=0.1)
@example(hot=60.0, background=110.0, dx=0.0, dy=0.0, strict=0.6, gap=0.2)
@given(hot=st.floats(50.0, 70.0), background=st.floats(95.0, 115.0),
       dx=st.floats(-30.0, 30.0), dy=st.floats(-30.0, 30.0),
       strict=st.sampled_from([0.6, 0.65]), gap=st.sampled_from([0.1, 0.2]))
def test_a_looser_target_never_gives_a_denied_plan_where_a_stricter_one_passed(
        hot: float, background: float, dx: float, dy: float, strict: float, gap: float):
    if verdict(hot, background, dx, dy, strict) is not True:
        return  # the stricter request found no passing plan: nothing to compare with
    assert verdict(hot, background, dx, dy, strict + gap) is True


def test_a_denied_last_round_falls_back_to_a_passing_plan():
    """At target 0.5 with 3 rounds every round of this event-day case was denied (the first
    two steps of up to 10 changes were far off the model, the third broke max load and
    neighbour harm) and the plan came back denied, while 5 rounds found a passing plan
    (round 4, re-linearised around round 3). The loop now re-linearises around a denied last
    round when nothing passed yet, and the budget frontier selects on that model within the
    learned trust region."""
    assert verdict(60.0, 110.0, 0.0, 0.0, 0.5) is True
