"""Edit-and-save and approve are mutually exclusive (real concurrent requests on a live
server): an approval never lands on content the approver's check did not see, and an edit
never replaces the content of an approved plan. Each race runs on a fresh copy of a finished
plan; the edit breaks a deny rule (tilt-range), so content and approval must not be mixed.
The same races on PostgreSQL are in test_postgres.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from tests.api.conftest import auth, make_settings
from tests.api.races import (
    check_races,
    copy_done_plan,
    finished_plan,
    live_server,
    race_edit_and_approve,
    slow_edits,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, dict]]:
    app = create_app(make_settings(tmp_path_factory.mktemp("race-data")))
    with live_server(app) as url:
        yield url, app, finished_plan(url)


def test_approve_during_a_slow_edit_wins_and_the_edit_is_refused(
        live: tuple[str, Any, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    """The edit's twin run is made to take 0.5 s; the approval lands inside it."""
    url, app, plan = live
    slow_edits(monkeypatch, 0.5)
    outcomes = check_races(app.state.engine, url, plan, (0.15, 0.3))
    assert outcomes == ["approved", "approved"]


def test_concurrent_edit_and_approve_never_both_go_through(live: tuple[str, Any, dict]
                                                          ) -> None:
    """The reported race: approvals 0..120 ms after the edit starts (the edit's twin run
    takes about that long)."""
    url, app, plan = live
    check_races(app.state.engine, url, plan, tuple(i * 0.02 for i in range(7)))


def test_an_approval_names_the_revision_it_reviewed(live: tuple[str, Any, dict]) -> None:
    """An approver approves what they saw: a revision that is no longer the plan's is 409."""
    url, app, plan = live
    pid = copy_done_plan(app.state.engine, plan["id"])
    seen = httpx.get(f"{url}/plans/{pid}", headers=auth("viewer"), timeout=10).json()
    r = httpx.post(f"{url}/plans/{pid}/verify", headers=auth("planner"), timeout=60,
                   json={"actions": plan["result"]["actions"][:1], "save": True})
    assert r.status_code == 200 and r.json()["saved"]
    r = httpx.post(f"{url}/plans/{pid}/approve", headers=auth("approver"), timeout=60,
                   json={"revision": seen["revision"]})
    assert r.status_code == 409 and "revision" in r.json()["detail"], r.text
    now = httpx.get(f"{url}/plans/{pid}", headers=auth("viewer"), timeout=10).json()
    assert now["revision"] == seen["revision"] + 1
    r = httpx.post(f"{url}/plans/{pid}/approve", headers=auth("approver"), timeout=60,
                   json={"revision": now["revision"]})
    assert r.status_code == 201, r.text


def test_the_races_use_real_threads(tmp_path: Path) -> None:
    """The helper's two requests overlap in time on the server (not serialised by it)."""
    import threading

    from fastapi import FastAPI

    app = FastAPI()
    inside = []
    lock = threading.Lock()

    @app.post("/api/v1/plans/{pid}/{what}")
    def slow(pid: str, what: str) -> dict[str, str]:
        with lock:
            inside.append(("in", what))
        time.sleep(0.3)
        with lock:
            inside.append(("out", what))
        return {}

    with live_server(app) as url:
        race_edit_and_approve(url, "p", [], 0.05)
    assert [k for k, _ in inside] == ["in", "in", "out", "out"]
