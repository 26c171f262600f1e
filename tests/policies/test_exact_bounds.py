"""Parameter bounds are compared exactly (issue 11, item 6): no relative 1e-6 slack at the
limits or off the step grid, decimal steps judged as written (0.3 is on a 0.1 grid), and the
value the gate judged is the value in the plan (nothing rounded on the way)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import ParamRange, PolicySet, policy_from_texts
from twin.network import Network

Plan = Callable[..., dict[str, Any]]


def tilt(value: float) -> list[dict[str, Any]]:
    return [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": value}]


@pytest.mark.parametrize("value", [12.00001, 12.000000001, math.nextafter(12.0, 13.0),
                                   7.5000001, 7.500000000001, -0.0000001, 11.9999999])
def test_values_just_outside_or_off_grid_are_denied(default_policy: PolicySet,
                                                    hotspot: Network, make_plan: Plan,
                                                    value: float) -> None:
    plan = make_plan(tilt(value))
    before = copy.deepcopy(plan)
    v = default_policy.check_plan(plan, hotspot)
    assert not v.passed
    assert [r.rule_id for r in v.violations] == ["tilt-range"]
    assert repr(value) in v.violations[0].summary  # shown as judged, not as "12"
    assert plan == before  # the plan the caller stores is the plan that was judged


@pytest.mark.parametrize("value", [0, 0.0, 7.5, 12, 12.0, 11.5])
def test_values_on_the_grid_pass(default_policy: PolicySet, hotspot: Network,
                                 make_plan: Plan, value: float) -> None:
    assert default_policy.check_plan(make_plan(tilt(value)), hotspot).passed


def test_decimal_steps_are_judged_as_written() -> None:
    r = ParamRange(0.0, 1.0, 0.1)
    assert 0.3 / 0.1 != 3  # in floats
    assert r.contains(0.3) and r.contains(0.7) and r.contains(1.0)
    assert not r.contains(0.30000000000000004)  # 0.1 + 0.2: not what anyone wrote
    assert not r.contains(0.35)
    r = ParamRange(-6.0, 6.0, 1.0)
    assert r.contains(-6) and r.contains(6) and not r.contains(6.000001)
    assert not ParamRange(0, 12, 0.5).contains(float("nan"))


@settings(max_examples=200, deadline=None)
@given(lo=st.integers(-50, 50), n=st.integers(1, 60),
       step=st.sampled_from([0.1, 0.25, 0.5, 1.0, 2.5, 0.05, 3.0]))
def test_every_offered_grid_value_is_allowed(lo: int, n: int, step: float) -> None:
    lo_v = float(Decimal(lo) * Decimal(repr(step)))  # a minimum as a policy writes it
    r = ParamRange(lo_v, lo_v + n * step, step)
    vals = r.values()
    assert vals and all(r.contains(v) for v in vals)
    assert len(vals) in (n, n + 1)


def test_rule_message_shows_the_value_as_judged(hotspot: Network, make_plan: Plan) -> None:
    text = ("rules:\n  - id: tilt\n    kind: parameter_bounds\n    severity: deny\n"
            "    message: m\n    action_kind: set_tilt\n    parameter: elec_tilt_deg\n"
            "    min: 0\n    max: 12\n")
    p = policy_from_texts({"t.yaml": text})
    v = p.check_plan(make_plan(tilt(12.00001)), hotspot)
    assert not v.passed and "elec_tilt_deg = 12.00001 is outside [0, 12]" in \
        v.violations[0].summary


def _emf(cap: str) -> PolicySet:
    return policy_from_texts({"emf.yaml": (
        "rules:\n  - id: emf\n    kind: emf_cap\n    severity: deny\n    message: m\n"
        f"    {cap}\n")})


def power(value: float) -> list[dict[str, Any]]:
    return [{"kind": "set_power", "cell_id": "S01-1", "tx_power_dbm": value}]


def test_emf_caps_are_exact(hotspot: Network, make_plan: Plan) -> None:
    gain = float(hotspot.cells.set_index("cell_id").loc["S01-1", "antenna_gain_dbi"])
    p = _emf("max_tx_power_dbm: 46")
    assert p.check_plan(make_plan(power(46.0)), hotspot).passed
    v = p.check_plan(make_plan(power(46.0000000005)), hotspot)
    assert not v.passed and "46.0000000005 dBm" in v.violations[0].summary
    # An EIRP cap: EIRP minus gain in decimals, 62.3 - 17 = 45.3 on the dot.
    p = _emf("max_eirp_dbm: 62.3")
    assert gain == 17.0
    assert p.check_plan(make_plan(power(45.3)), hotspot).passed
    assert not p.check_plan(make_plan(power(45.3000000001)), hotspot).passed
    assert p.bounds(hotspot).max_power_dbm_by_cell["S01-1"] == 45.3
