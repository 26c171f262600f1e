"""Shared fixtures for the policy tests: the hotspot network (sites, cells and candidates
only; no twin run), the shipped policies, and a plan builder with verified-looking KPIs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from policies import PolicySet, load_policy, policy_from_texts
from policies.networks import scenario_network
from twin.network import Network

BASE_PLAN: dict[str, Any] = {
    "scenario": "hotspot",
    "budget": 200000.0,
    "before": {"peak_prb_util": 0.933, "coverage": 1.0, "p5_user_thr_mbps": 4.4},
    "after": {"peak_prb_util": 0.60, "coverage": 1.0, "p5_user_thr_mbps": 4.9},
    "cells_before": [
        {"cell_id": "S01-1", "prb_util": 0.933, "p5_user_thr_mbps": 1.9},
        {"cell_id": "S05-3", "prb_util": 0.489, "p5_user_thr_mbps": 3.6},
    ],
    "cells_after": [
        {"cell_id": "S01-1", "prb_util": 0.60, "p5_user_thr_mbps": 3.0},
        {"cell_id": "S05-3", "prb_util": 0.52, "p5_user_thr_mbps": 3.5},
    ],
}


@pytest.fixture(scope="session")
def hotspot() -> Network:
    return scenario_network("hotspot")


@pytest.fixture(scope="session")
def default_policy() -> PolicySet:
    return load_policy()


@pytest.fixture(scope="session")
def strict_policy() -> PolicySet:
    return load_policy("strict")


@pytest.fixture
def make_plan() -> Callable[..., dict[str, Any]]:
    def build(actions: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
        plan = copy.deepcopy(BASE_PLAN)
        plan["actions"] = copy.deepcopy(actions)
        plan.update(copy.deepcopy(overrides))
        return plan
    return build


def one_rule(yaml_rule: str) -> PolicySet:
    """A policy with a single rule given as the YAML of one list item (indented 2)."""
    return policy_from_texts({"rules.yaml": "rules:\n" + yaml_rule})
