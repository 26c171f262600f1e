"""An edited plan a hair over a policy bound is denied through the API, and the plan stored
holds the value the gate judged (issue 11, item 6: tilt 12.00001 passed against a maximum
of 12 and 7.5000001 passed a 0.5 degree grid, and the raw value was stored)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth


@pytest.mark.parametrize("value", [12.00001, 7.5000001])
def test_saved_edit_just_off_the_bounds_is_denied_and_stored_as_judged(
        client: TestClient, done_plan: dict[str, Any], value: float) -> None:
    pid = done_plan["id"]
    edit = [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": value}]
    r = client.post(f"/api/v1/plans/{pid}/verify", json={"actions": edit, "save": True},
                    headers=auth("planner"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["saved"] is True and body["passed"] is False
    assert "tilt-range" in [v["id"] for v in body["policy"]["violations"]]
    got = client.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()
    assert got["policy_passed"] is False
    assert [a["elec_tilt_deg"] for a in got["result"]["actions"]] == [value]
    r = client.post(f"/api/v1/plans/{pid}/approve", json={}, headers=auth("approver"))
    assert r.status_code == 409 and "tilt-range" in r.json()["detail"]
