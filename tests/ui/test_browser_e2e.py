"""End to end in headless Debian chromium: a user opens the app, runs a plan on ``hotspot`` on
the Plan page, and the Compare page's after-map reports a lower peak than the before-map, with
the numbers the API holds. Screenshots of every page land in docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.ui.walkthrough import PAGES
from ui.client import ApiClient


def test_a_plan_run_in_the_browser_lowers_the_peak_on_the_after_map(
        walkthrough: Any, api: ApiClient, hotspot: dict[str, Any]) -> None:
    w = walkthrough
    assert w.peak_before is not None and w.peak_after is not None, w.plan_text[:2000]
    before = api.state(hotspot["id"])["kpis"]["peak_prb_util"]
    assert w.peak_before == pytest.approx(before, abs=5e-4)  # the page shows the API's number
    assert w.peak_after < w.peak_before - 0.1

    # the plan the browser started is the newest on hotspot; the page shows its verified peak
    newest = api.plans(hotspot["id"])[0]
    job = api.plan(newest["id"])
    assert job["status"] == "done" and job["created_by"] == "admin"
    assert w.peak_after == pytest.approx(job["result"]["peak_after"], abs=5e-4)
    assert "Proposed actions" in w.plan_text and "Rejected proposals" in w.plan_text

    # both maps of the Compare page drew their wedges (57 cells at least), as did the others
    assert len(w.layers["compare"]) >= 2 and min(w.layers["compare"]) >= 57
    assert w.layers["network"] and w.layers["network"][0] >= 57
    assert w.layers["plan"] and w.layers["plan"][0] >= 57
    # the verdict comes first on the Plan page, in words
    assert re.search(r"Target (NOT )?met", w.plan_text.split("Proposed actions")[0]), \
        w.plan_text[:3000]
    # a radio layer is an inline image drawn in the map (the offline test checks that the
    # walk asked nothing of another host)
    assert w.radio_images >= 1
    # the what-if editor's verify shows the edit's verdict under the plan's
    assert w.whatif_verdicts >= 2
    # the user moved the hour; switching network in the sidebar resets it to the new
    # network's busy hour
    umi = next(n for n in api.networks() if n["name"] == "umi for the browser")
    busy_umi = api.state(umi["id"])["hour"]
    assert w.hour_moved is not None and w.hour_moved != busy_umi
    assert w.hour_after_switch == busy_umi
    # a denied plan opened by a deep link as the first visit: verdict first, the rule named
    head = w.denied_text.split("Peak PRB utilisation")[0]
    assert "DENIED by the policy in force" in head and "tilt" in head.lower(), head[:1500]
    for page in (*PAGES, "network-sinr", "plan-denied"):
        shot = w.screenshots[page]
        assert shot.is_file() and shot.stat().st_size > 20_000, shot
