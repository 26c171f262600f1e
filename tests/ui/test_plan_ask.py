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
