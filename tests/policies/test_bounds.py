"""The bounds that narrow the grammar and the candidate generator say exactly what the
per-action deny rules allow: an action inside the bounds has no deny violation, and one
outside has one (property test on the shipped policies)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actions.models import (
    ACTION_PARAMETERS,
    AddSmallCell,
    SetAzimuth,
    SetCio,
    SetPower,
    SetTilt,
    SplitSector,
    UpgradeMimo,
)
from policies import ActionBounds, ParamRange, PolicySet, load_policy
from policies.networks import scenario_network

NET = scenario_network("hotspot")
CELLS = NET.cell_ids
CANDS = NET.candidates["candidate_id"].tolist()
POLICIES = {"default": load_policy("default"), "strict": load_policy("strict")}


def grid(lo: float, hi: float, step: float) -> st.SearchStrategy[float]:
    n = round((hi - lo) / step)
    return st.integers(0, n).map(lambda k: round(lo + k * step, 6))


cell = st.sampled_from(CELLS)
actions = st.one_of(
    st.builds(AddSmallCell, candidate_id=st.sampled_from(CANDS),
              tx_power_dbm=grid(15, 43, 0.5), cio_db=grid(-9, 9, 0.5)),
    st.builds(SplitSector, cell_id=cell),
    st.builds(SetTilt, cell_id=cell, elec_tilt_deg=grid(-2, 15, 0.25)),
    st.builds(SetAzimuth, cell_id=cell, azimuth_deg=grid(0, 355, 5)),
    st.builds(SetPower, cell_id=cell, tx_power_dbm=grid(25, 50, 0.5)),
    st.builds(SetCio, cell_id=cell, cio_db=grid(-9, 9, 0.5)),
    st.builds(UpgradeMimo, cell_id=cell, mimo_layers=st.sampled_from([4, 8])),
)


def within(bounds: ActionBounds, action: Any) -> bool:
    kind, target = action.kind, action.target_id()
    if not bounds.allows(kind, target):
        return False
    for param in ACTION_PARAMETERS[kind]:
        rng = (bounds.power_range(kind, target) if param == "tx_power_dbm"
               else bounds.param_range(kind, param))
        if not rng.contains(getattr(action, param)):
            return False
    return True


@pytest.mark.parametrize("name", list(POLICIES))
@settings(max_examples=150, deadline=None)
@given(action=actions)
def test_bounds_agree_with_per_action_deny_rules(name: str, action: Any) -> None:
    policy: PolicySet = POLICIES[name]
    bounds = policy.bounds(NET)
    deny = [v for v in policy.action_violations(action, NET) if v.severity == "deny"]
    assert within(bounds, action) == (not deny), (action, deny)


def test_default_bounds_on_the_hotspot() -> None:
    b = POLICIES["default"].bounds(NET)
    assert b.param_range("set_tilt", "elec_tilt_deg") == ParamRange(0, 12, 0.5)
    assert b.param_range("set_tilt", "elec_tilt_deg").values()[:3] == [0.0, 0.5, 1.0]
    assert len(b.param_range("set_cio", "cio_db").values()) == 13
    assert b.forbidden_candidates == {"C08"}
    assert b.protected_cells == {"S10-1", "S10-2", "S10-3"}
    # School zone: EIRP 63 dBm with 17 dBi panels -> 46 dBm; a split (+3 dB) is out.
    assert b.max_power_dbm_by_cell["S04-1"] == 46
    assert {"S04-1", "S04-2", "S04-3"} <= b.denied_targets["split_sector"]
    assert b.allowed_kinds == set(ACTION_PARAMETERS)
    assert b.to_json()["params"]["add_small_cell"]["tx_power_dbm"] == {
        "min": 20.0, "max": 38.0, "step": 1.0}


def test_strict_bounds_on_the_hotspot() -> None:
    b = POLICIES["strict"].bounds(NET)
    assert "set_azimuth" not in b.allowed_kinds
    assert not b.allows("set_azimuth")
    assert b.forbidden_candidates == {"C07", "C08"}
    assert b.max_power_dbm_by_cell["S04-2"] == 43          # EIRP 60 - 17 dBi
    assert b.power_range("set_power", "S04-2") == ParamRange(40, 43, 1)
    assert b.power_range("set_power", "S01-1") == ParamRange(40, 46, 1)
    assert "S07-2" in b.protected_cells and "S07-1" not in b.protected_cells
