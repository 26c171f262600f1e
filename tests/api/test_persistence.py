"""Persistence across restarts of a real server (uvicorn in a subprocess, SQLite file, the
default process-pool job backend): networks, plans and audit records survive; a plan that was
running when the server died is ``interrupted``, never left running; the migrations build
exactly the ORM schema."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from api.db.migrate import upgrade
from api.db.models import Base, PlanRow
from api.db.session import make_engine, transaction
from api.jobs import recover_interrupted
from tests.api.conftest import QUICK_PLAN, TOKENS, token_env
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
H = {"Authorization": f"Bearer {TOKENS['admin']}"}
SLOW_PLAN = {"max_actions": 6, "max_iterations": 5, "max_neighbours": 6, "small_cells": True}


@contextmanager
def server(data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``celltwin serve`` on a free loopback port; its own process group, so that a kill
    takes its planning workers with it (as a crash of the service would)."""
    port = free_port()
    env = {**os.environ, "CELLTWIN_TOKENS": token_env(), "CELLTWIN_WORKERS": "1",
           "CELLTWIN_JOB_BACKEND": "process", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port),
                             "--data-dir", str(data_dir), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"server exited with {proc.returncode}: {out}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > 60:
                raise AssertionError("server did not start within 60 s")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def wait_status(url: str, plan_id: str, statuses: tuple[str, ...], timeout_s: float = 90
                ) -> dict[str, Any]:
    t0 = time.monotonic()
    while True:
        body = httpx.get(f"{url}/plans/{plan_id}", headers=H, timeout=10).json()
        if body["status"] in statuses:
            return body  # type: ignore[no-any-return]
        assert time.monotonic() - t0 < timeout_s, body
        time.sleep(0.2)


@pytest.mark.slow
def test_restart_keeps_everything_and_interrupts_running_plans(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with server(data) as (url, proc):
        r = httpx.post(f"{url}/networks", json={"scenario": "hotspot"}, headers=H, timeout=60)
        assert r.status_code == 201, (r.status_code, r.text)
        net = r.json()
        plan_id = httpx.post(f"{url}/networks/{net['id']}/plans", json=SLOW_PLAN, headers=H,
                             timeout=10).json()["id"]
        running = wait_status(url, plan_id, ("running",))
        assert running["status"] == "running"
        os.killpg(proc.pid, signal.SIGKILL)  # a crash: no shutdown hook runs
        proc.wait(10)
    assert (data / "celltwin.db").is_file()
    with server(data) as (url, _proc):
        got = httpx.get(f"{url}/networks/{net['id']}", headers=H, timeout=10).json()
        assert got["network_hash"] == net["network_hash"] and got["name"] == "hotspot"
        plan = httpx.get(f"{url}/plans/{plan_id}", headers=H, timeout=10).json()
        assert plan["status"] == "interrupted", plan
        assert plan["stage"].startswith("interrupted") and plan["finished_at"]
        audit = httpx.get(f"{url}/plans/{plan_id}/audit", headers=H, timeout=10).json()
        assert [e["action"] for e in audit["events"]] == ["plan.create", "plan.interrupted"]
        assert httpx.get(f"{url}/audit?action=network.create", headers=H,
                         timeout=10).json()["count"] == 1
        # the restarted server plans again (a fresh worker process)
        pid2 = httpx.post(f"{url}/networks/{net['id']}/plans", json=QUICK_PLAN, headers=H,
                          timeout=10).json()["id"]
        done = wait_status(url, pid2, ("done", "failed"))
        assert done["status"] == "done", done
        # a graceful stop (SIGTERM) marks its running plans interrupted at once
        pid3 = httpx.post(f"{url}/networks/{net['id']}/plans", json=SLOW_PLAN, headers=H,
                          timeout=10).json()["id"]
        wait_status(url, pid3, ("running",))
        _proc.send_signal(signal.SIGTERM)
        _proc.wait(30)
    engine = make_engine(f"sqlite:///{data / 'celltwin.db'}")
    with engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM plans WHERE id = ?",
                                      (pid3,)).scalar()
        assert status == "interrupted"
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_migrations_build_the_orm_schema(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert set(inspect(engine).get_table_names()) >= {
        "networks", "plans", "approvals", "audit_records", "policy_versions", "alembic_version"}
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_migration_0003_fills_in_the_policy_of_old_verdicts(tmp_path: Path) -> None:
    """Rows from before 0003 get the policy their verdict and approvals name: the verdict's
    hash (else the hash the plan was started with) and the newest version with that hash."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    values = {"t": "2026-12-01 10:00:00", "params": json.dumps({"policy_hash": "h0"}),
              "params2": json.dumps({"policy_hash": "h2"}),
              "result": json.dumps({"policy": {"passed": True,
                                               "detail": {"policy_hash": "h1"}}})}
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO networks VALUES ('n', 'n', 'scenario', 'hotspot', 'x', 1, 1, 0, '[]', "
            "'{}', :t, 't', NULL, NULL, NULL, NULL)",
            "INSERT INTO policy_versions (id, created_at, created_by, policy_hash, files) "
            "VALUES (1, :t, 'a', 'h1', '{}'), (2, :t, 'a', 'h2', '{}'), (3, :t, 'a', 'h1', '{}')",
            "INSERT INTO plans (id, network_id, status, progress, stage, params, result, "
            "cancel_requested, verdict_passed, provenance, owner, created_at, created_by, "
            "updated_at, revision) VALUES ('p1', 'n', 'done', 1, 'done', :params, :result, 0, "
            "1, '{}', '', :t, 't', :t, 2), ('p2', 'n', 'failed', 1, 'failed', :params2, NULL, "
            "0, NULL, '{}', '', :t, 't', :t, 0)",
            "INSERT INTO approvals (plan_id, approver, role, approved_at, comment, policy_hash) "
            "VALUES ('p1', 'a', 'approver', :t, '', 'h1'), ('p1', 'b', 'admin', :t, '', 'h9')",
        ):
            conn.execute(text(sql), values)
    upgrade(engine)
    with engine.connect() as conn:
        plans = conn.exec_driver_sql("SELECT id, verdict_policy_version, verdict_policy_hash "
                                     "FROM plans ORDER BY id").fetchall()
        assert [tuple(r) for r in plans] == [("p1", 3, "h1"), ("p2", 2, "h2")]
        approvals = conn.exec_driver_sql("SELECT approver, policy_version FROM approvals "
                                         "ORDER BY id").fetchall()
        assert [tuple(r) for r in approvals] == [("a", 3), ("b", None)]
    engine.dispose()


def _children(pid: int) -> list[int]:
    """Pids of the live processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_die_with_a_killed_server_and_leave_an_interrupted_plan_alone(
        tmp_path: Path) -> None:
    """SIGKILL the server alone (not its process group) while a plan runs in a worker: the
    worker ends within a second or two, and once the plan is marked interrupted (what the
    next server does at start-up) nothing writes its stage any more."""
    data = tmp_path / "data"
    with server(data) as (url, proc):
        try:
            r = httpx.post(f"{url}/networks", json={"scenario": "hotspot"}, headers=H,
                           timeout=60)
            plan_id = httpx.post(f"{url}/networks/{r.json()['id']}/plans", json=SLOW_PLAN,
                                 headers=H, timeout=10).json()["id"]
            wait_status(url, plan_id, ("running",))
            workers = [p for p in _children(proc.pid)
                       if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            assert workers, "no worker process found"
            proc.kill()  # the server process only: its workers are orphaned
            proc.wait(10)
            engine = make_engine(f"sqlite:///{data / 'celltwin.db'}")
            with transaction(engine) as s:
                assert recover_interrupted(s) == [plan_id]
            t0 = time.monotonic()
            while any(_alive(p) for p in workers) and time.monotonic() - t0 < 10:
                time.sleep(0.1)
            left = [p for p in workers if _alive(p)]
            assert not left, f"workers {left} outlived their server"
            with transaction(engine) as s:
                marked = s.get(PlanRow, plan_id)
                seen = (marked.status, marked.stage, marked.progress, marked.updated_at)
            time.sleep(1.5)
            with transaction(engine) as s:
                row = s.get(PlanRow, plan_id)
                assert (row.status, row.stage, row.progress, row.updated_at) == seen
                assert row.status == "interrupted"
            engine.dispose()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
