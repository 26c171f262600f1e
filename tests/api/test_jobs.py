"""Jobs (api/jobs.py, api/planning.py): who counts as gone at start-up, stage -> progress,
cancel between stages, and the Dask backend (jobs in threads, what-ifs on a cluster)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.db.migrate import upgrade
from api.db.models import AuditRow, NetworkRow, PlanRow, utcnow
from api.db.session import make_engine, transaction
from api.jobs import (
    STALE_AFTER,
    JobInterrupted,
    _cancel_requested,
    _set,
    owner_gone,
    recover_interrupted,
)
from api.main import create_app
from api.progress import P_END, P_START, JobCancelled, StageTracker, eta_s
from api.settings import Settings
from planner.progress import LOOP_END, LOOP_START, ProgressReporter
from tests.api.conftest import QUICK_PLAN, auth, make_settings, wait_plan
from twin.errors import InputFileError

HOST = socket.gethostname()


def dead_pid() -> int:
    """A pid that no process has (the highest pids are rarely in use; checked)."""
    for pid in range(4_000_000, 3_000_000, -7919):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("no free pid found")


def test_owner_gone() -> None:
    assert owner_gone(f"{HOST}:{os.getpid()}")  # this process has just started: not the owner
    assert owner_gone(f"{HOST}:{dead_pid()}")
    assert not owner_gone(f"{HOST}:{os.getppid()}")  # alive: another server on this host
    assert owner_gone("") and owner_gone("garbage")
    fresh, stale = utcnow(), utcnow() - STALE_AFTER - timedelta(minutes=1)
    assert not owner_gone("other-host:123", fresh)
    assert owner_gone("other-host:123", stale)


def test_recover_marks_only_dead_owners(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    owners = {"dead": f"{HOST}:{dead_pid()}", "alive": f"{HOST}:{os.getppid()}",
              "done": f"{HOST}:{dead_pid()}", "queued": f"{HOST}:{dead_pid()}"}
    status = {"dead": "running", "alive": "running", "done": "done", "queued": "queued"}
    with transaction(engine) as s:
        s.add(NetworkRow(id="n1", name="n", source="scenario", scenario="hotspot",
                         network_hash="h", n_sites=1, n_cells=1, n_candidates=0, notes=[],
                         summary={}, created_by="t"))
        s.flush()
        for pid, owner in owners.items():
            s.add(PlanRow(id=pid, network_id="n1", status=status[pid], owner=owner,
                          created_by="t", params={}))
    with transaction(engine) as s:
        assert sorted(recover_interrupted(s)) == ["dead", "queued"]
    with transaction(engine) as s:
        got = {p.id: p.status for p in s.query(PlanRow)}
        assert got == {"dead": "interrupted", "alive": "running", "done": "done",
                       "queued": "interrupted"}
        events = {(a.plan_id, a.action) for a in s.query(AuditRow)}
        assert events == {("dead", "plan.interrupted"), ("queued", "plan.interrupted")}
    engine.dispose()


def test_stage_tracker_progress_and_cancel() -> None:
    reports: list[tuple[str, float]] = []
    cancel = {"now": False}
    t = StageTracker(lambda m, p: reports.append((m, p)), lambda: cancel["now"])
    t.note("loading: ready")
    r = ProgressReporter(t, 3)
    for stage, rnd in (("base", None), ("candidates", None), ("sensitivities", None),
                       ("round", 1), ("relinearised", 1), ("round", 2), ("relinearised", 2),
                       ("round", 3), ("work_order", None), ("gate", None), ("done", None)):
        r(stage, f"{stage} {rnd}", rnd)
    values = [p for _, p in reports]
    assert values == sorted(values) and values[-1] == pytest.approx(P_END)
    assert values[0] == P_START  # loading: the planner has not started
    # after the first of 3 linearisations: a third of the loop's share of the planner's work
    assert values[3] == pytest.approx(P_START + (P_END - P_START) * (
        LOOP_START + (LOOP_END - LOOP_START) / 3))
    assert [m for m, _ in reports][1] == "base None"
    cancel["now"] = True
    with pytest.raises(JobCancelled):
        r("round", "round 4", 4)


def test_eta_of_a_running_job() -> None:
    t0 = utcnow()
    half = P_START + (P_END - P_START) * 0.5
    assert eta_s(half, t0, t0 + timedelta(seconds=60), t0 + timedelta(seconds=70), 5) == \
        pytest.approx(50.0)
    assert eta_s(P_START, t0, t0 + timedelta(seconds=5), t0 + timedelta(seconds=5), 5) is None
    assert eta_s(half, None, None, t0, 1) is None


def test_dask_backend_needs_a_scheduler() -> None:
    with pytest.raises(InputFileError, match="CELLTWIN_DASK_SCHEDULER"):
        Settings.from_env({"CELLTWIN_JOB_BACKEND": "dask"})
    s = Settings.from_env({"CELLTWIN_DASK_SCHEDULER": "tcp://127.0.0.1:8786"})
    assert s.job_backend == "dask"


def test_plan_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        app = create_app(make_settings(tmp_path, job_backend="dask",
                                       dask_scheduler=cluster.scheduler_address))
        with TestClient(app) as c:
            nid = c.post("/api/v1/networks", json={"scenario": "hotspot"},
                         headers=auth("planner")).json()["id"]
            r = c.post(f"/api/v1/networks/{nid}/plans", json=QUICK_PLAN,
                       headers=auth("planner"))
            body = wait_plan(c, r.json()["id"])
            assert body["status"] == "done", body
            assert body["result"]["executor"].startswith("dask")


def test_progress_is_never_written_to_a_plan_that_is_not_running(tmp_path: Path) -> None:
    """A worker whose plan was marked interrupted (or failed) by a server writes nothing more
    and stops."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    with transaction(engine) as s:
        s.add(NetworkRow(id="n1", name="n", source="scenario", scenario="hotspot",
                         network_hash="h", n_sites=1, n_cells=1, n_candidates=0, notes=[],
                         summary={}, created_by="t"))
        s.flush()
        s.add(PlanRow(id="gone", network_id="n1", status="interrupted", owner="x",
                      stage="interrupted: the server stopped", progress=0.3, created_by="t",
                      params={}))
        s.add(PlanRow(id="live", network_id="n1", status="running", owner="x", stage="base",
                      progress=0.1, created_by="t", params={}))
    with pytest.raises(JobInterrupted):
        _set(engine, "gone", stage="round 2: 3 actions", progress=0.6)
    with pytest.raises(JobInterrupted):
        _cancel_requested(engine, "gone")
    _set(engine, "live", stage="round 1: 2 actions", progress=0.5)
    assert _cancel_requested(engine, "live") is False
    with transaction(engine) as s:
        gone, live = s.get(PlanRow, "gone"), s.get(PlanRow, "live")
        assert (gone.status, gone.stage, gone.progress) == (
            "interrupted", "interrupted: the server stopped", 0.3)
        assert (live.stage, live.progress) == ("round 1: 2 actions", 0.5)
    engine.dispose()


def test_a_worker_ends_itself_when_its_parent_is_gone() -> None:
    """The watch of a worker process: a parent pid that is not its parent any more (as after
    the server's death, when the worker is re-parented) ends the process at once."""
    code = ("import os; from api.jobs import _watch_parent; "
            f"_watch_parent({dead_pid()}, 0.01)")
    r = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True)
    assert r.returncode == 3, r.stderr[-2000:]
