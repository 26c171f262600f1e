"""Real concurrent requests for the race tests: the app on a live uvicorn server (a thread of
the test process, a free loopback port), one HTTP client per request thread, and copies of a
finished plan to race on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from api.db.models import PlanRow, new_id, utcnow
from api.db.session import transaction
from tests.api.conftest import QUICK_PLAN, auth
from tests.ports import free_port


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread (its lifespan runs); yields the API's base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-api", daemon=True)
    thread.start()
    t0 = time.monotonic()
    while not server.started:
        assert thread.is_alive() and time.monotonic() - t0 < 30, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(30)


def copy_done_plan(engine: Engine, plan_id: str) -> str:
    """A new finished plan with the result of ``plan_id`` and no approvals."""
    with transaction(engine) as s:
        src = s.get(PlanRow, plan_id)
        assert src is not None and src.status == "done"
        row = PlanRow(id=new_id(), network_id=src.network_id, status="done", progress=1.0,
                      stage=src.stage, params=dict(src.params), result=dict(src.result or {}),
                      verdict_passed=src.verdict_passed, provenance=dict(src.provenance or {}),
                      owner=src.owner, created_by=src.created_by, started_at=src.started_at,
                      finished_at=src.finished_at, updated_at=utcnow())
        s.add(row)
        return row.id


def race_edit_and_approve(url: str, plan_id: str, actions: list[dict[str, Any]],
                          approve_after_s: float) -> tuple[int, int]:
    """``POST /verify`` with ``save: true`` and, ``approve_after_s`` later, ``POST /approve``,
    each from its own thread and connection; returns their status codes."""
    out: dict[str, int] = {}
    start = threading.Barrier(2)

    def edit() -> None:
        with httpx.Client(timeout=60) as c:
            start.wait()
            out["edit"] = c.post(f"{url}/plans/{plan_id}/verify", headers=auth("planner"),
                                 json={"actions": actions, "save": True}).status_code

    def approve() -> None:
        with httpx.Client(timeout=60) as c:
            start.wait()
            time.sleep(approve_after_s)
            out["approve"] = c.post(f"{url}/plans/{plan_id}/approve", headers=auth("approver"),
                                    json={"comment": "race"}).status_code

    threads = [threading.Thread(target=edit), threading.Thread(target=approve)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out["edit"], out["approve"]


#: Breaks the default policy's tilt-range deny rule.
DENIED = {"kind": "set_tilt", "cell_id": "S02-1", "elec_tilt_deg": 20.0}


def finished_plan(url: str) -> dict[str, Any]:
    net = httpx.post(f"{url}/networks", json={"scenario": "hotspot"}, headers=auth("planner"),
                     timeout=60).json()
    pid = httpx.post(f"{url}/networks/{net['id']}/plans", json=QUICK_PLAN,
                     headers=auth("planner"), timeout=10).json()["id"]
    t0 = time.monotonic()
    while True:
        plan = httpx.get(f"{url}/plans/{pid}", headers=auth("viewer"), timeout=10).json()
        if plan["status"] not in ("queued", "running"):
            assert plan["status"] == "done", plan
            return plan  # type: ignore[no-any-return]
        assert time.monotonic() - t0 < 120, plan
        time.sleep(0.1)


def assert_exclusive(url: str, plan_id: str, original: list[dict[str, Any]],
                     edit: int, approve: int) -> str:
    """Exactly one of the two went through, and the stored plan says which; returns it."""
    plan = httpx.get(f"{url}/plans/{plan_id}", headers=auth("viewer"), timeout=10).json()
    assert {edit, approve} <= {200, 201, 409}, (edit, approve)
    assert (edit == 200) != (approve == 201), (
        f"edit {edit} and approve {approve}: approved {plan['approved']} by "
        f"{[a['approver'] for a in plan['approvals']]} on actions "
        f"{[(a['kind'], a['cell_id']) for a in plan['result']['actions']]}")
    if approve == 201:
        assert plan["approved"] is True and plan["result"]["actions"] == original
        assert "edited" not in plan["result"]
        return "approved"
    assert plan["approvals"] == [] and plan["approved"] is False
    assert plan["result"]["edited"]["by"] == "planner" and plan["policy_passed"] is False
    return "edited"


def check_races(engine: Engine, url: str, plan: dict[str, Any],
                delays_s: tuple[float, ...]) -> list[str]:
    original = plan["result"]["actions"]
    outcomes = []
    for delay in delays_s:
        pid = copy_done_plan(engine, plan["id"])
        edit, approve = race_edit_and_approve(url, pid, [*original, DENIED], delay)
        outcomes.append(assert_exclusive(url, pid, original, edit, approve))
    return outcomes


def slow_edits(monkeypatch: Any, seconds: float = 0.5) -> None:
    """Make the twin run of ``POST /verify`` take ``seconds`` longer (in this process)."""
    import api.routes.plans as routes

    real = routes.verify_edit

    def slow(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        time.sleep(seconds)
        return out

    monkeypatch.setattr(routes, "verify_edit", slow)
