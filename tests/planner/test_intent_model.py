"""The planning intent: validation, the network check, the mapping onto planning options and
the TS 28.312-style document round trip."""

from __future__ import annotations

import pytest

from actions.models import ACTION_KINDS
from planner.intent.mapping import map_intent, policy_for, settings_for
from planner.intent.model import Area, Hours, PlanningIntent
from planner.intent.named_networks import named_network
from planner.intent.network_check import check_intent, require_valid
from planner.intent.ts28312 import intent_document, intent_from_document
from policies import load_policy
from twin.errors import ValidationError


@pytest.fixture(scope="module")
def net():
    return named_network("hotspot")


def test_defaults_are_marked_default_and_kinds_checked() -> None:
    i = PlanningIntent()
    assert set(i.source.values()) == {"default"}
    assert i.effective_kinds() == list(ACTION_KINDS)
    with pytest.raises(ValueError, match="unknown action kind"):
        PlanningIntent(forbidden_kinds=["build_a_tower"])
    with pytest.raises(ValueError, match="empty"):
        Hours(kind="window", start_hour=22, end_hour=18)
    with pytest.raises(ValueError, match="needs cell_ids"):
        Area(kind="cells")


def test_unknown_ids_are_reported_not_guessed(net) -> None:
    i = PlanningIntent(protected_cells=["S01-1", "S99-1"], protected_sites=["S77"],
                       area=Area(kind="around_cell", center_cell_id="X1-1"))
    texts = sorted(u.text for u in check_intent(i, net))
    assert texts == ["S77", "S99-1", "X1-1"]
    with pytest.raises(ValidationError, match="S99-1"):
        require_valid(i, net)


def test_mapping_protects_sites_restricts_kinds_and_hours(net) -> None:
    i = PlanningIntent(target=0.6, budget_eur=40_000, forbidden_kinds=["add_small_cell"],
                       protected_sites=["S05"], max_actions=3,
                       hours=Hours(kind="window", start_hour=18, end_hour=22, day="sunday"),
                       area=Area(kind="around_cell", center_cell_id="S01-1", radius_m=600))
    m = map_intent(i, net)
    assert m.protected_cells == ("S05-1", "S05-2", "S05-3")
    assert "add_small_cell" not in m.allowed_kinds and len(m.allowed_kinds) == 6
    assert m.hours == (18, 19, 20, 21) and m.horizon == "day"
    assert m.scope_cells is not None and "S01-1" in m.scope_cells
    assert len(m.scope_cells) < len(net.cells)
    s = settings_for(m)
    assert (s.target, s.budget_eur, s.max_actions, s.hours) == (0.6, 40_000, 3, (18, 19, 20, 21))
    pol = policy_for(m, load_policy(None))
    b = pol.bounds(net)
    assert "add_small_cell" not in b.allowed_kinds
    assert not b.allows("set_tilt", "S05-1")
    far = next(c for c in net.cells["cell_id"] if c not in m.scope_cells)
    assert not b.allows("set_cio", far) and b.allows("set_cio", "S01-1")
    # the operator's own rules are still there
    assert set(load_policy(None).rule_ids) < set(pol.rule_ids)


def test_ts28312_document_round_trip(net) -> None:
    i = PlanningIntent(target=0.7, budget_eur=12_500, forbidden_kinds=["split_sector"],
                       protected_cells=["S02-1"], text="x",
                       hours=Hours(kind="window", start_hour=18, end_hour=22, day="sunday"),
                       area=Area(kind="polygon", polygon=[(0, 0), (500, 0), (500, 500)]),
                       source={"target": "sentence", "hours": "sentence"})
    doc = intent_document(i, net.name)
    exp = doc["intent"]["intentExpectations"][0]
    assert exp["expectationTargets"][0] == {"targetName": "peakPrbUtilisation",
                                            "targetCondition": "IS_LESS_THAN",
                                            "targetValueRange": 0.7}
    assert intent_from_document(doc) == i
    with pytest.raises(ValidationError, match="intentExpectations"):
        intent_from_document({"intent": {}})


def test_planner_settings_hours_override_the_horizon() -> None:
    from planner.loop import PlannerSettings, _hours
    from twin.scenarios import load_scenario

    twin = load_scenario("hotspot").twin()
    assert _hours(twin, "day", (21, 18, 19)) == (18, 19, 21)
    assert _hours(twin, "busy") == (twin.demand.busy_hour,)
    with pytest.raises(ValidationError, match="hours"):
        PlannerSettings(hours=(18, 25))
    with pytest.raises(ValidationError, match="hours"):
        PlannerSettings(hours=())
