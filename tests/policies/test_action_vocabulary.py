"""The policy engine reads the action vocabulary of ``actions/`` (kinds, parameters, the
sites actions build, the antenna gains they create) instead of a copy of its own; these
tests check that the rules judge what ``apply_actions`` really builds."""

from __future__ import annotations

import pytest

from actions.apply import apply_actions
from actions.costs import load_costs
from actions.models import (
    ACTION_KINDS,
    ACTION_PARAMETERS,
    CELL_KINDS,
    AddSmallCell,
    SetTilt,
    SplitSector,
)
from actions.pricing import PricedAction
from policies import PolicyError, PolicySet
from tests.policies.conftest import one_rule
from twin.network import Network


def cell(net: Network, cell_id: str) -> dict[str, float]:
    row = net.cells.set_index("cell_id").loc[cell_id]
    return {"power": float(row["tx_power_dbm"]), "gain": float(row["antenna_gain_dbi"])}


def eirp_cap(max_eirp_dbm: float) -> PolicySet:
    return one_rule("  - {id: r, kind: emf_cap, severity: deny, message: m, "
                    f"max_eirp_dbm: {max_eirp_dbm}}}\n")


def test_every_action_kind_and_parameter_is_known_to_the_rules() -> None:
    kinds = ", ".join(ACTION_KINDS)
    one_rule(f"  - {{id: r, kind: allowed_actions, severity: deny, message: m, "
             f"action_kinds: [{kinds}]}}\n")
    for kind, params in ACTION_PARAMETERS.items():
        for param in params:
            one_rule(f"  - {{id: r, kind: parameter_bounds, severity: deny, message: m, "
                     f"action_kind: {kind}, parameter: {param}, min: 0}}\n")
    with pytest.raises(PolicyError, match="set_tilt has no numeric parameter 'cio_db'"):
        one_rule("  - {id: r, kind: parameter_bounds, severity: deny, message: m, "
                 "action_kind: set_tilt, parameter: cio_db, min: 0}\n")
    with pytest.raises(PolicyError, match="unknown action kind"):
        one_rule("  - {id: r, kind: allowed_actions, severity: deny, message: m, "
                 "action_kinds: [add_macro_site]}\n")


def test_a_protected_cell_denies_every_kind_that_changes_a_cell(hotspot: Network) -> None:
    p = one_rule("  - {id: r, kind: protected_cells, severity: deny, message: m, "
                 "cell_ids: [S01-1]}\n")
    b = p.bounds(hotspot)
    assert set(CELL_KINDS) == set(ACTION_KINDS) - {"add_small_cell"}
    assert {k for k, targets in b.denied_targets.items() if "S01-1" in targets} == set(CELL_KINDS)


def test_the_emf_gate_judges_a_split_by_the_gain_apply_actions_gives_its_halves(
        hotspot: Network) -> None:
    before = cell(hotspot, "S01-1")
    half = cell(apply_actions(hotspot, [SplitSector(cell_id="S01-1")]), "S01-1a")
    assert half["gain"] > before["gain"]  # the split concentrates the beam
    eirp = half["power"] + half["gain"]
    split = SplitSector(cell_id="S01-1")
    assert eirp_cap(eirp).action_violations(split, hotspot) == []
    denied = eirp_cap(eirp - 0.5).action_violations(split, hotspot)
    assert [v.rule_id for v in denied] == ["r"]
    # the grammar's bounds agree with the gate: the split is denied exactly when too strong
    assert "S01-1" in eirp_cap(eirp - 0.5).bounds(hotspot).denied_targets["split_sector"]
    assert "S01-1" not in eirp_cap(eirp).bounds(hotspot).denied_targets.get("split_sector", ())


def test_the_emf_cap_of_a_small_cell_uses_the_gain_apply_actions_gives_it(
        hotspot: Network) -> None:
    add = AddSmallCell(candidate_id="C01", tx_power_dbm=30.0)
    new = cell(apply_actions(hotspot, [add]), add.new_cell_id())
    eirp = new["power"] + new["gain"]
    assert eirp_cap(eirp).action_violations(add, hotspot) == []
    assert eirp_cap(eirp - 0.5).action_violations(add, hotspot) != []
    assert eirp_cap(eirp).bounds(hotspot).max_power_dbm_by_candidate["C01"] == 30.0


def test_per_site_rules_count_a_new_small_cell_at_the_site_apply_actions_builds(
        hotspot: Network) -> None:
    add, tilt = AddSmallCell(candidate_id="C01"), SetTilt(cell_id="S01-1", elec_tilt_deg=6)
    after = apply_actions(hotspot, [add])
    built = str(after.cells.set_index("cell_id").loc[add.new_cell_id(), "site_id"])
    items = [PricedAction.of(a, hotspot, load_costs()) for a in (add, tilt)]
    assert [it.site_id(hotspot) for it in items] == [built, "S01"]
    p = one_rule("  - {id: r, kind: max_actions, severity: deny, message: m, max_count: 1, "
                 "per: site}\n")
    rows = p.linear_constraints(items, hotspot)
    assert sorted(tuple(sorted(r.coeffs)) for r in rows) == [(0,), (1,)]  # one row per site
