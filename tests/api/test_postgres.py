"""The REST API on a real PostgreSQL server (psycopg 3): the alembic migrations build the ORM
schema, a network (scenario and upload), a planning job, a verified edit and two approvals are
stored and read back, and a restarted app on the same database still has the networks, the
plan and its audit trail, and plans again in a worker process.

The server is started for the session from the Debian ``postgresql`` binaries
(``/usr/lib/postgresql/*/bin``; ``make test`` installs them with apt when missing and it runs as
root, like the chromium of the UI tests: the Makefile's system-deps). It runs as the
``postgres`` system user when the tests run as root (PostgreSQL refuses root), in a temporary
directory, on a free loopback port, fsync off.
Without the binaries the test fails under ``CI=true`` and skips (saying how to install them)
elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from api.db.migrate import alembic_config, upgrade
from api.db.models import Base
from api.db.session import dispose_engine, make_engine
from api.main import create_app
from api.settings import Settings, normalise_database_url
from tests.api.conftest import QUICK_PLAN, auth, csv_bytes, make_settings, small_tables, wait_plan
from tests.api.races import check_races, finished_plan, live_server, slow_edits
from tests.ports import free_port

psycopg = pytest.importorskip("psycopg", reason="psycopg[binary] is a dependency: make install")

PG_USER = "celltwin"
PG_DB = "celltwin"
START_TIMEOUT_S = 60


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _find_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries, or those on PATH."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                    else 0, reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(pg_ctl).resolve().parent
    return None


def _unavailable(message: str) -> None:
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def ensure_postgres() -> Path:
    """The folder of ``initdb``/``pg_ctl`` (``make test`` installs Debian's ``postgresql``: the
    Makefile's system-deps)."""
    found = _find_bin_dir()
    if found is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) are missing: run `make "
                     "system-deps` as root (or apt-get install postgresql)")
    assert found is not None
    return found


@dataclass
class PgServer:
    port: int
    root: Path

    @property
    def url(self) -> str:
        """The URL form users write; the app maps it to ``postgresql+psycopg``."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{PG_DB}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = ensure_postgres()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    # /tmp itself, not pytest's per-user tmp (mode 0700 under root: postgres cannot enter it)
    root = Path(tempfile.mkdtemp(prefix="celltwin-pg-"))
    if as_root:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root but there is no 'postgres' system user to run the "
                        "server as (the Debian postgresql package creates it)")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        runuser = shutil.which("runuser")
        assert runuser, "runuser (util-linux) is needed to start PostgreSQL as 'postgres'"
        prefix = [runuser, "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = free_port()

    def pg(*args: str, timeout: float = START_TIMEOUT_S) -> None:
        r = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout,
                           cwd=root)
        if r.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed ({r.returncode}):\n{r.stdout[-2000:]}\n"
                        f"{r.stderr[-2000:]}\n{tail}")

    pg(str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
       "--no-locale", "--no-sync")
    # loopback only, the unix socket in our folder (not /var/run/postgresql), no fsync
    opts = f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=50"
    pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w",
       "-t", str(START_TIMEOUT_S), "start")
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {PG_DB}")
        yield PgServer(port, root)
    finally:
        with contextlib.suppress(Exception):
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


# --- the tests ---------------------------------------------------------------------------
def test_database_urls_are_normalised_to_psycopg(pg_server: PgServer, tmp_path: Path) -> None:
    s = make_settings(tmp_path, database_url=pg_server.url)
    assert s.db_url.startswith("postgresql+psycopg://")
    for url in (pg_server.url, pg_server.url.replace("postgresql://", "postgres://"),
                s.db_url):
        engine = make_engine(url)
        try:
            assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
            with engine.connect() as conn:
                assert conn.execute(text("SELECT current_database()")).scalar() == PG_DB
        finally:
            engine.dispose()


def _plans_audit(c: TestClient, plan_id: str) -> list[str]:
    r = c.get(f"/api/v1/plans/{plan_id}/audit", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["events"]]


def test_api_on_postgres_survives_a_restart(pg_server: PgServer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", database_url=pg_server.url)
    url = settings.db_url
    with TestClient(create_app(settings)) as c:  # start-up runs the alembic migrations
        health = c.get("/api/v1/health").json()
        assert health["database"] == "ok", health
        r = c.post("/api/v1/networks", json={"scenario": "hotspot"}, headers=auth("planner"))
        assert r.status_code == 201, r.text
        net = r.json()
        sites, cells = small_tables()
        r = c.post("/api/v1/networks/import", headers=auth("planner"), data={"name": "small"},
                   files={"network": ("sites.csv", csv_bytes(sites)),
                          "cells": ("cells.csv", csv_bytes(cells))})
        assert r.status_code == 201, r.text
        uploaded = r.json()
        assert uploaded["n_cells"] == len(cells)
        r = c.post(f"/api/v1/networks/{net['id']}/plans", json=QUICK_PLAN,
                   headers=auth("planner"))
        assert r.status_code == 202, r.text
        plan = wait_plan(c, r.json()["id"])
        assert plan["status"] == "done", plan
        assert plan["progress"] == 1.0 and plan["result"]["actions"]
        assert plan["started_at"] <= plan["finished_at"]
        pid = plan["id"]
        # a verified edit saved into the JSON result, then two approvals
        r = c.post(f"/api/v1/plans/{pid}/verify", headers=auth("planner"),
                   json={"actions": plan["result"]["actions"], "save": True})
        assert r.status_code == 200 and r.json()["saved"] and r.json()["passed"], r.text
        approve = f"/api/v1/plans/{pid}/approve"
        r = c.post(approve, json={"comment": "on postgres"}, headers=auth("approver"))
        assert r.status_code == 201, r.text
        assert c.post(approve, json={}, headers=auth("approver")).status_code == 409
        assert c.post(approve, json={}, headers=auth("admin")).status_code == 201
        before = c.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()
        events_before = _plans_audit(c, pid)
        assert events_before[0] == "plan.create" and "plan.done" in events_before
        assert events_before.count("plan.approve") == 2
        # the state of the uploaded network is rebuilt from its blobs (bytea)
        r = c.get(f"/api/v1/networks/{uploaded['id']}/state", headers=auth("viewer"))
        assert r.status_code == 200, r.text
        state_before = r.json()["kpis"]
    dispose_engine(url)  # the restarted app opens fresh connections

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
            head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
                head
            types = {c["name"]: str(c["type"]) for c in inspect(conn).get_columns("plans")}
            assert types["created_at"] == "TIMESTAMP" and types["params"] == "JSON"
            tz = conn.execute(text("SELECT data_type FROM information_schema.columns WHERE "
                                   "table_name = 'plans' AND column_name = 'finished_at'"))
            assert tz.scalar() == "timestamp with time zone"
            blob = conn.execute(text("SELECT octet_length(tables_blob) FROM networks "
                                     "WHERE id = :i"), {"i": uploaded["id"]}).scalar()
            assert blob and blob > 100
        upgrade(engine)  # a second run is a no-op
    finally:
        engine.dispose()

    # the restarted app runs its jobs in a worker process (the default backend): the worker
    # opens its own psycopg engine from the URL
    restarted = make_settings(tmp_path / "data2", database_url=url, job_backend="process",
                              workers=1, job_nice=0)
    with TestClient(create_app(restarted)) as c:
        nets = c.get("/api/v1/networks", headers=auth("viewer")).json()
        assert {n["id"] for n in nets["items"]} == {net["id"], uploaded["id"]}
        got = c.get(f"/api/v1/networks/{net['id']}", headers=auth("viewer")).json()
        assert got == net
        after = c.get(f"/api/v1/plans/{pid}", headers=auth("viewer")).json()
        assert after == before
        assert after["status"] == "done" and after["approved"] is True
        assert [a["approver"] for a in after["approvals"]] == ["approver", "admin"]
        assert after["created_at"].endswith(("Z", "+00:00"))
        assert _plans_audit(c, pid) == events_before
        for action in ("network.create", "network.import"):
            r = c.get("/api/v1/audit", params={"action": action}, headers=auth("viewer"))
            assert r.json()["count"] == 1, (action, r.text)
        r = c.get(f"/api/v1/networks/{uploaded['id']}/state", headers=auth("viewer"))
        assert r.status_code == 200 and r.json()["kpis"] == state_before
        r = c.post(f"/api/v1/networks/{net['id']}/plans", json=QUICK_PLAN,
                   headers=auth("planner"))
        assert r.status_code == 202, r.text
        again = wait_plan(c, r.json()["id"])
        assert again["status"] == "done", again
        assert again["result"]["actions"] == plan["result"]["actions"]  # deterministic
        listed = c.get("/api/v1/plans", headers=auth("viewer")).json()
        assert {p["id"] for p in listed["items"]} == {pid, again["id"]}
    dispose_engine(url)


def test_edit_and_approve_exclude_each_other_on_postgres(pg_server: PgServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The races of test_races.py on PostgreSQL (read committed: the conditional UPDATE of the
    second writer waits for the first and then finds the revision changed)."""
    with psycopg.connect(host="127.0.0.1", port=pg_server.port, user=PG_USER,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE celltwin_races")
    url = pg_server.url.rsplit("/", 1)[0] + "/celltwin_races"
    settings = make_settings(tmp_path, database_url=url)
    app = create_app(settings)
    with live_server(app) as api:
        plan = finished_plan(api)
        engine = app.state.engine
        check_races(engine, api, plan, tuple(i * 0.02 for i in range(7)))
        slow_edits(monkeypatch, 0.5)
        assert check_races(engine, api, plan, (0.15, 0.3)) == ["approved", "approved"]
    dispose_engine(settings.db_url)


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db:5432/ct", "postgresql+psycopg://u:p@db:5432/ct"),
    ("postgresql://u@db/ct?sslmode=require", "postgresql+psycopg://u@db/ct?sslmode=require"),
    ("PostgreSQL://u@db/ct", "postgresql+psycopg://u@db/ct"),
    ("postgresql+psycopg://u@db/ct", "postgresql+psycopg://u@db/ct"),
    ("postgresql+psycopg2://u@db/ct", "postgresql+psycopg2://u@db/ct"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_url_forms(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
    assert Settings.from_env({"DATABASE_URL": given}).db_url == expected
