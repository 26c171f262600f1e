"""The policy engine restates what it needs of the planner's action models (dependencies
point planner -> policies); these tests keep the two in step."""

from __future__ import annotations

import typing

from actions.apply import apply_actions
from actions.models import ACTION_TYPES, SetTilt, SplitSector
from actions.sites import SMALL_CELL_DEFAULTS
from policies.kinds import ACTION_KINDS, ACTION_PARAMETERS, SMALL_CELL_GAIN_DBI, SPLIT_GAIN_DB
from policies.rules.bounds import ActionKind
from twin.network import Network


def test_kinds_match_the_planner() -> None:
    assert set(ACTION_KINDS) == set(ACTION_TYPES)
    assert set(typing.get_args(ActionKind)) == set(ACTION_TYPES)


def test_numeric_parameters_match_the_planner() -> None:
    for kind, model in ACTION_TYPES.items():
        numeric = {name for name, f in model.model_fields.items()
                   if name not in ("kind", "rationale", "cell_id", "candidate_id")}
        assert set(ACTION_PARAMETERS[kind]) == numeric, kind


def test_gains_match_what_apply_actions_builds(hotspot: Network) -> None:
    assert SMALL_CELL_DEFAULTS["antenna_gain_dbi"] == SMALL_CELL_GAIN_DBI
    after = apply_actions(hotspot, [SplitSector(cell_id="S01-1"), SetTilt(cell_id="S02-1",
                                                                          elec_tilt_deg=7)])
    g0 = float(hotspot.cells.set_index("cell_id").loc["S01-1", "antenna_gain_dbi"])
    g1 = float(after.cells.set_index("cell_id").loc["S01-1a", "antenna_gain_dbi"])
    assert g1 - g0 == SPLIT_GAIN_DB
