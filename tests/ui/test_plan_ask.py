"""The Plan page's "Ask in plain words" box fills the form from the API's parsed intent and
shows what it could not match; nothing runs until "Run plan"."""

from __future__ import annotations

from typing import Any

from tests.ui.test_pages_apptest import button, open_page  # noqa: F401  (fixture)
from ui.client import ApiClient


def test_request_fills_the_form_and_reports_unmatched(open_page: Any,  # noqa: F811
                                                      api: ApiClient,
                                                      hotspot: dict[str, Any]) -> None:
    n_plans = len(api.plans(hotspot["id"]))
    at = open_page("plan", network_id=hotspot["id"])
    at.text_area(key="plan_ask_text").input(
        "entlaste Zelle S01-1 den ganzen Tag, unter 40.000 €, höchstens 3 Änderungen, keine "
        "Kleinzellen, Auslastung 60 %")
    button(at, "Fill the form").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="plan_target").value == 0.6
    assert at.number_input(key="plan_budget").value == 40_000
    assert at.number_input(key="plan_max_actions").value == 3
    assert at.selectbox(key="plan_horizon").value == "day"
    assert at.checkbox(key="plan_small_cells").value is False
    assert len(api.plans(hotspot["id"])) == n_plans  # nothing ran

    at.text_area(key="plan_ask_text").input("relieve cell S99-1")
    button(at, "Fill the form").click().run()
    assert any("S99-1" in w.value for w in at.warning)
    assert at.number_input(key="plan_budget").value == 40_000  # unchanged


def test_run_plan_sends_the_intent_with_the_form_values() -> None:
    from api.schemas.plans import PlanCreate
    from planner.intent.baseline import parse_baseline
    from planner.intent.named_networks import named_network
    from ui.views.plan import intent_request

    it = parse_baseline("relieve cell S01-1 between 18 and 22, don't touch site S02, no "
                        "splits, 40k", named_network("hotspot")).to_json()
    form = {"target": 0.6, "budget_eur": 40_000.0, "max_actions": 10, "horizon": "day",
            "small_cells": True, "max_iterations": 5}
    body = intent_request(it, form)
    PlanCreate.model_validate(body)  # what the API accepts
    assert set(body) == {"intent", "small_cells", "max_iterations"}
    sent = body["intent"]
    assert sent["target"] == 0.6 and sent["source"]["target"] == "sentence"  # the form's
    assert sent["source"]["budget_eur"] == "sentence" and sent["budget_eur"] == 40_000
    assert sent["hours"]["kind"] == "window" and sent["protected_sites"] == ["S02"]
    assert sent["forbidden_kinds"] == ["split_sector"]
    busy = intent_request(it, {**form, "horizon": "busy"})["intent"]["hours"]
    assert busy == {"kind": "busy_hour", "start_hour": None, "end_hour": None, "day": None}
