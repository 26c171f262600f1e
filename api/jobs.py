"""Planning jobs off the request path.

A job is one plan row. The request inserts it (``queued``) and hands its id to a
:class:`JobRunner`; a worker runs :func:`run_plan_job`, which talks to the world only through
the database, so the same function runs in a worker process (``CELLTWIN_JOB_BACKEND=process``,
the default: planning is CPU-bound Python and must not starve the request threads of the
GIL; the workers run at nice ``CELLTWIN_JOB_NICE``, default 10, so that reads stay responsive
on a busy machine) or in a thread (``thread``: tests, small deployments). With a Dask
scheduler (``CELLTWIN_DASK_SCHEDULER``, backend ``dask``) each job runs in a thread of the
server and sends its what-ifs, the heavy part, to the cluster (the planner's
``DaskExecutor``): Dask workers need the code, not the database.

* **Progress**: the worker writes ``progress`` (0..1) and ``stage`` after each planner stage,
  one short transaction each (SQLite: WAL journal and a busy timeout, see
  :mod:`api.db.session`).
* **Cancel**: ``POST /plans/{id}/cancel`` cancels a queued job at once and sets
  ``cancel_requested`` on a running one; the worker checks the flag after each stage and
  ends as ``cancelled``.
* **Never after the end**: the worker writes progress with ``UPDATE ... WHERE status =
  'running'``; a plan marked ``interrupted`` (or failed) meanwhile is left alone and the job
  stops. A worker process also ends itself within :data:`PARENT_CHECK_S` of its server's
  death (:func:`_watch_parent`), so no orphan goes on computing after a crash.
* **Row locks**: every read-check-write of a plan row (queued -> running, running -> done /
  failed / cancelled / interrupted) reads the row ``FOR UPDATE``: on PostgreSQL (read
  committed) a worker finishing a plan and a server marking it interrupted, or two servers
  starting at once, are serialised on the row instead of the last writer silently winning.
  SQLite ignores ``FOR UPDATE`` (it has one writer at a time anyway).
* **Crash recovery**: each plan records its owner (``host:pid`` of the server that queued it).
  At start-up, :func:`recover_interrupted` marks every queued/running plan of a dead owner
  ``interrupted`` (a plan of this host whose owner pid no longer runs, or is this very process,
  which has just started; a plan of another host whose last update is older than
  :data:`STALE_AFTER`): a job is never left "running" forever and never silently dropped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import time
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.audit import code_version, record
from api.db.models import LIVE_STATUSES, NetworkRow, PlanRow, utcnow
from api.db.session import get_engine, transaction
from api.network_store import NetworkCache
from api.planning import llm_provenance, run_planner, solver_summary
from api.policy_store import version_by_id
from api.progress import JobCancelled, StageTracker
from api.settings import Settings
from twin.errors import CelltwinError

log = logging.getLogger("celltwin.api.jobs")

STALE_AFTER = timedelta(hours=6)
_worker_cache = NetworkCache(networks=4, states=0)
#: Plans whose server is stopping: thread-backend jobs end as ``interrupted`` after the stage.
_interrupt: set[str] = set()


class JobInterrupted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The server is stopping."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def owner_gone(owner: str, now_updated: Any = None) -> bool:
    """Whether the server that queued a plan is gone (see the module docstring)."""
    host, _, pid_text = owner.rpartition(":")
    if not host or not pid_text.isdigit():
        return True
    if host != socket.gethostname():
        return now_updated is not None and utcnow() - now_updated > STALE_AFTER
    pid = int(pid_text)
    return pid == os.getpid() or not _pid_alive(pid)


def recover_interrupted(session: Session) -> list[str]:
    """Mark live plans whose owner is gone as ``interrupted``; returns their ids."""
    rows = session.scalars(select(PlanRow).where(PlanRow.status.in_(LIVE_STATUSES))
                           .with_for_update()).all()
    ids = []
    for row in rows:
        if not owner_gone(row.owner, row.updated_at):
            continue
        was = row.status
        row.status = "interrupted"
        row.stage = f"interrupted: the server stopped while the plan was {was}; start it again"
        row.error = "the server process ended before the plan finished"
        row.finished_at = row.updated_at = utcnow()
        record(session, "system", "plan.interrupted", network_id=row.network_id,
               plan_id=row.id, details={"previous_status": was, "owner": row.owner})
        ids.append(row.id)
    return ids


# --- the worker ----------------------------------------------------------------------------
def _set(engine: Any, plan_id: str, **values: Any) -> None:
    """Progress of a running plan: ``UPDATE ... WHERE status = 'running'``. A plan that is no
    longer running (a server marked it interrupted, or failed) is left as it is, and the job
    stops (:class:`JobInterrupted`)."""
    with transaction(engine) as s:
        done = s.execute(update(PlanRow).where(PlanRow.id == plan_id,
                                               PlanRow.status == "running")
                         .values(updated_at=utcnow(), **values))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise JobInterrupted()


def _cancel_requested(engine: Any, plan_id: str) -> bool:
    if plan_id in _interrupt:
        raise JobInterrupted()
    with transaction(engine) as s:
        row = s.execute(select(PlanRow.status, PlanRow.cancel_requested)
                        .where(PlanRow.id == plan_id)).first()
    if row is None or row.status != "running":
        raise JobInterrupted()
    return bool(row.cancel_requested)


def run_plan_job(plan_id: str, db_url: str, data_dir: str,
                 dask_address: str | None = None) -> str:
    """Run one queued plan to its end; returns the final status. Never raises: every outcome
    (done, failed with the reason, cancelled) is written to the plan row."""
    engine = get_engine(db_url)
    with transaction(engine) as s:
        row = s.get(PlanRow, plan_id, with_for_update=True)
        if row is None or row.status != "queued":
            return row.status if row is not None else "missing"
        row.status, row.stage, row.progress = "running", "loading the network", 0.02
        row.started_at = row.updated_at = utcnow()
        params = dict(row.params)
        network_id = row.network_id
    try:
        with transaction(engine) as s:
            net = s.get(NetworkRow, network_id)
            if net is None:
                raise CelltwinError(f"network {network_id} no longer exists")
            _ = net.tables_blob, net.demand_blob, net.measurements_blob  # load deferred blobs
            loaded = _worker_cache.loaded(net)
            pv = version_by_id(s, params.get("policy_version"))
        lp_dir = Path(data_dir) / "plans" / plan_id
        tracker = StageTracker(lambda stage, p: _set(engine, plan_id, stage=stage, progress=p),
                               lambda: _cancel_requested(engine, plan_id))
        tracker.note("loading: network and policy ready")
        result, proposer = run_planner(loaded, params, pv.policy, tracker, lp_dir, dask_address)
        # the API shows file names only (api/redact.py); the server's paths are logged here
        log.info("plan %s: audit LP files in %s", plan_id, lp_dir)
        verdict = result.get("policy", {}).get("passed")
        provenance = {
            "code": code_version(),
            "network": {"id": network_id, "name": loaded.scenario.name,
                        "network_hash": loaded.network_hash,
                        "demand_sha256": net.summary.get("demand_sha256")},
            "policy": {"version": pv.version, "policy_hash": pv.policy.policy_hash,
                       "files": sorted(pv.files)},
            "params": params,
            "llm": llm_provenance(result, proposer),
            "solver": solver_summary(result),
            "stages": tracker.messages,
        }
        with transaction(engine) as s:
            row = s.get(PlanRow, plan_id, with_for_update=True)
            if row is None or row.status != "running":  # interrupted meanwhile: keep that
                return row.status if row is not None else "missing"
            row.status, row.progress, row.stage = "done", 1.0, f"done: {result.get('message')}"
            row.result = result
            row.verdict_passed = None if verdict is None else bool(verdict)
            row.verdict_policy_version, row.verdict_policy_hash = pv.version, \
                pv.policy.policy_hash
            row.provenance = provenance
            row.finished_at = row.updated_at = utcnow()
            record(s, "system", "plan.done", network_id=network_id, plan_id=plan_id,
                   details={"policy_passed": verdict, "total_cost": result.get("total_cost"),
                            "peak_before": result.get("peak_before"),
                            "peak_after": result.get("peak_after")})
        return "done"
    except JobCancelled:
        _finish(engine, plan_id, network_id, "cancelled", "cancelled on request", None)
        return "cancelled"
    except JobInterrupted:
        _finish(engine, plan_id, network_id, "interrupted",
                "interrupted: the server stopped; start the plan again",
                "the server stopped before the plan finished")
        return "interrupted"
    except CelltwinError as exc:
        _finish(engine, plan_id, network_id, "failed", f"failed: {exc}"[:200], str(exc))
        return "failed"
    except Exception as exc:  # a bug: keep the service up, record the trace for the audit
        log.exception("plan %s failed", plan_id)
        msg = f"internal error: {type(exc).__name__}: {exc}"
        _finish(engine, plan_id, network_id, "failed", msg[:200],
                msg + "\n" + traceback.format_exc(limit=20))
        return "failed"


def _finish(engine: Any, plan_id: str, network_id: str, status: str, stage: str,
            error: str | None) -> None:
    with transaction(engine) as s:
        row = s.get(PlanRow, plan_id, with_for_update=True)
        if row is None or row.status != "running":
            return
        row.status, row.stage, row.error = status, stage, error
        row.finished_at = row.updated_at = utcnow()
        record(s, "system", f"plan.{status}", network_id=network_id, plan_id=plan_id,
               details={"error": error[:2000]} if error else {})


# --- the runner -----------------------------------------------------------------------------
#: How often a worker process checks that its server is still there (seconds).
PARENT_CHECK_S = 0.5


def _watch_parent(parent: int, interval_s: float) -> None:
    """End this worker process as soon as its server is gone (re-parented: getppid changes).

    Not ``prctl(PR_SET_PDEATHSIG)``: on Linux that signal follows the *thread* that started
    the process, and the pool's processes are started from a request thread, which the
    server's thread pool retires when idle: healthy workers would be killed with it."""
    while True:
        if os.getppid() != parent:
            os._exit(3)  # no clean-up: the server is gone, the next one marks the plan
        time.sleep(interval_s)


def _init_worker(nice: int, parent: int | None = None,
                 interval_s: float = PARENT_CHECK_S) -> None:
    """A planning worker process yields the CPU to the request handlers: reads stay fast
    while jobs run (jobs take longer only when the machine is saturated); and it dies with
    its server (:func:`_watch_parent`), so no orphan plans on after a crash."""
    if nice > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(nice)
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent, interval_s), daemon=True,
                         name="celltwin-parent-watch").start()


class JobRunner:
    """Submits plan ids to the configured backend; one per server process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db_url = settings.db_url
        self._lock = threading.Lock()
        self._pool: Executor | None = None
        self._futures: dict[str, Any] = {}

    @property
    def backend(self) -> str:
        return self.settings.job_backend

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                n = self.settings.workers
                if self.backend in ("thread", "dask"):
                    self._pool = ThreadPoolExecutor(n, thread_name_prefix="celltwin-plan")
                else:
                    # spawn: a fork of a threaded server process can inherit held locks
                    self._pool = ProcessPoolExecutor(
                        n, mp_context=multiprocessing.get_context("spawn"),
                        initializer=_init_worker,
                        initargs=(self.settings.job_nice, os.getpid()))
            return self._pool

    def submit(self, plan_id: str) -> None:
        args = (plan_id, self.db_url, str(self.settings.data_dir.resolve()),
                self.settings.dask_scheduler)
        try:
            fut = self._executor().submit(run_plan_job, *args)
        except (BrokenProcessPool, RuntimeError):
            with self._lock:
                self._pool = None  # a worker died: start a fresh pool
            fut = self._executor().submit(run_plan_job, *args)
        self._futures[plan_id] = fut
        fut.add_done_callback(lambda f, pid=plan_id: self._done(pid, f))

    def _done(self, plan_id: str, fut: Future[str] | Any) -> None:
        self._futures.pop(plan_id, None)
        if fut.cancelled():  # dropped at shutdown: recovery marks it interrupted
            return
        try:
            exc = fut.exception()
        except Exception as e:  # cancelled future or lost Dask worker
            exc = e
        if exc is None:
            return
        # The worker itself died (killed, out of memory): the plan must not stay "running".
        if isinstance(exc, BrokenProcessPool):
            with self._lock:
                self._pool = None
        msg = f"the planning worker died: {type(exc).__name__}: {exc}"
        try:
            engine = get_engine(self.db_url)
            with transaction(engine) as s:
                row = s.get(PlanRow, plan_id, with_for_update=True)
                if row is not None and row.status in LIVE_STATUSES:
                    row.status, row.stage, row.error = "failed", msg[:200], msg
                    row.finished_at = row.updated_at = utcnow()
                    record(s, "system", "plan.failed", network_id=row.network_id,
                           plan_id=plan_id, details={"error": msg})
        except Exception:
            log.exception("could not record the failure of plan %s", plan_id)

    def active(self) -> int:
        return len(self._futures)

    def shutdown(self) -> list[str]:
        """Stop: queued jobs are dropped, running ones stopped; every live plan this process
        owns is marked ``interrupted`` now (not only at the next start). Returns their ids."""
        _interrupt.update(list(self._futures))
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            procs = list(getattr(pool, "_processes", {}).values())  # process backend only
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
        ids: list[str] = []
        try:
            with transaction(get_engine(self.db_url)) as s:
                rows = s.scalars(select(PlanRow).where(PlanRow.status.in_(LIVE_STATUSES),
                                                       PlanRow.owner == owner_id())
                                 .with_for_update()).all()
                for row in rows:
                    was = row.status
                    row.status = "interrupted"
                    row.stage = (f"interrupted: the server stopped while the plan was {was}; "
                                 "start it again")
                    row.error = "the server stopped before the plan finished"
                    row.finished_at = row.updated_at = utcnow()
                    record(s, "system", "plan.interrupted", network_id=row.network_id,
                           plan_id=row.id, details={"previous_status": was})
                    ids.append(row.id)
        except Exception:
            log.exception("could not mark the running plans interrupted")
        return ids
