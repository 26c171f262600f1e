"""The plan result model (planner/result.py): a real plan's JSON goes through it unchanged,
keys it does not know are kept, none is invented, and what it declares is what a plan has."""

from __future__ import annotations

import json
import math
from typing import Any

import pydantic
import pytest

from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from planner.result import PlanResult
from policies import load_policy

from .conftest import PlanCase

#: Keys a plan gets from later steps, not from the planner.
LATER = {"provenance", "intent", "edited", "approvals"}


@pytest.fixture(scope="module")
def plan_json(case: PlanCase) -> dict[str, Any]:
    plan = plan_network(case.twin(), case.catalogue, PlannerSettings(lp_dir=None),
                        SerialExecutor(), policy=load_policy(None), scenario="plan7")
    return plan.to_json()


def test_a_plan_has_exactly_the_declared_keys(plan_json: dict[str, Any]) -> None:
    assert set(plan_json) == set(PlanResult.model_fields) - LATER
    res = PlanResult.model_validate(plan_json)
    assert not res.model_extra  # nothing the model does not declare
    json.dumps(plan_json, allow_nan=False)  # plain JSON


def test_the_json_goes_through_the_model_unchanged(plan_json: dict[str, Any]) -> None:
    doc = {**plan_json, "approvals": [{"by": "a", "role": "approver"}],
           "x_future": {"kept": True}}
    assert PlanResult.model_validate(doc).to_json() == doc


def test_an_older_plan_without_optional_keys_stays_as_it_was(plan_json: dict[str, Any]
                                                             ) -> None:
    old = {k: v for k, v in plan_json.items()
           if k not in ("frontier", "dropped", "history", "timings_s", "policy")}
    assert PlanResult.model_validate(old).to_json() == old  # no key invented


def test_undefined_numbers_are_null_and_wrong_types_fail(plan_json: dict[str, Any]) -> None:
    doc = json.loads(json.dumps(plan_json))
    doc["after"]["p5_user_thr_mbps"] = math.nan
    assert PlanResult.model_validate(doc).to_json()["after"]["p5_user_thr_mbps"] is None
    for key, bad in (("actions", None), ("peak_after", "high"), ("target_met", "maybe")):
        with pytest.raises(pydantic.ValidationError):
            PlanResult.model_validate({**plan_json, key: bad})
    with pytest.raises(pydantic.ValidationError):
        PlanResult.model_validate({k: v for k, v in plan_json.items() if k != "before"})
