"""Executors: run many what-ifs, serially, on a local process pool, or on a Dask cluster.

Every executor has ``map(context, jobs) -> results`` (results in job order) and ``close()``.
Each worker builds the twin once per context (an initializer on the process pool, a
per-process memo on Dask workers), so a job ships only its actions.

Selection (:func:`make_executor`): ``--dask ADDRESS`` or the environment variable
``CELLTWIN_DASK_ADDRESS`` gives a :class:`DaskExecutor` (``distributed.Client(address)``);
otherwise ``workers == 1`` gives a :class:`SerialExecutor` and anything else a
:class:`LocalExecutor` with one process per available core.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from planner.whatif import WhatIfContext, WhatIfJob, WhatIfResult, run_job
from twin.engine import Twin
from twin.errors import ValidationError

DASK_ENV = "CELLTWIN_DASK_ADDRESS"


class Executor(Protocol):
    """Runs what-if jobs; results come back in the order of ``jobs``."""

    name: str
    n_workers: int

    def map(self, context: WhatIfContext, jobs: Sequence[WhatIfJob]) -> list[WhatIfResult]: ...

    def close(self) -> None: ...


# --- per-process twin memo (process-pool workers, Dask workers, the serial executor) -------
_TWINS: dict[str, Twin] = {}
_TWINS_LOCK = threading.Lock()


def twin_for(context: WhatIfContext) -> Twin:
    """The twin of ``context``, built once per process."""
    with _TWINS_LOCK:
        tw = _TWINS.get(context.token)
        if tw is None:
            if len(_TWINS) >= 4:  # a long-lived worker serves few plans at a time
                _TWINS.pop(next(iter(_TWINS)))
            tw = context.twin()
            _TWINS[context.token] = tw
        return tw


def run_chunk(jobs: Sequence[WhatIfJob], context: WhatIfContext) -> list[WhatIfResult]:
    tw = twin_for(context)
    return [run_job(tw, j) for j in jobs]


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    """Runs jobs one after another in this process (tests, tiny jobs)."""

    name = "serial"
    n_workers = 1

    def map(self, context: WhatIfContext, jobs: Sequence[WhatIfJob]) -> list[WhatIfResult]:
        return run_chunk(list(jobs), context)

    def close(self) -> None:
        return None


# --- local process pool -----------------------------------------------------------------
_POOL_CONTEXT: WhatIfContext | None = None


def _init_pool_worker(context: WhatIfContext) -> None:
    global _POOL_CONTEXT
    _POOL_CONTEXT = context
    twin_for(context)


def _pool_job(job: WhatIfJob) -> WhatIfResult:
    assert _POOL_CONTEXT is not None, "worker started without a context"
    return run_job(twin_for(_POOL_CONTEXT), job)


class LocalExecutor:
    """A ``concurrent.futures.ProcessPoolExecutor`` whose workers build the twin once.

    The pool lives as long as the executor is used with one context; a new context starts a
    new pool. ``fork`` is used where available: workers inherit the base twin's link cache
    without copying it through a pipe.
    """

    name = "process-pool"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        n = available_cores() if workers is None else int(workers)
        if n < 1:
            raise ValidationError("executor", f"workers must be >= 1, got {workers}")
        self.n_workers = n
        methods = multiprocessing.get_all_start_methods()
        self.start_method = start_method or ("fork" if "fork" in methods else "spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._token: str | None = None

    def _pool_for(self, context: WhatIfContext) -> ProcessPoolExecutor:
        if self._pool is None or self._token != context.token:
            self.close()
            self._pool = ProcessPoolExecutor(
                max_workers=self.n_workers,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_pool_worker, initargs=(context,))
            self._token = context.token
        return self._pool

    def map(self, context: WhatIfContext, jobs: Sequence[WhatIfJob]) -> list[WhatIfResult]:
        jobs = list(jobs)
        if self.n_workers == 1 or len(jobs) <= 1:
            return run_chunk(jobs, context)
        pool = self._pool_for(context)
        chunk = max(1, len(jobs) // (4 * self.n_workers))
        return list(pool.map(_pool_job, jobs, chunksize=chunk))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._token = None


# --- Dask distributed -------------------------------------------------------------------
class DaskExecutor:
    """Jobs on a Dask cluster: the context is scattered to every worker once per plan.

    Args:
        address: a scheduler address (``tcp://host:8786``), or anything
            ``distributed.Client`` accepts (e.g. a ``LocalCluster``), or an existing
            ``distributed.Client``.
        timeout_s: how long to try to reach the scheduler.
    """

    name = "dask"

    def __init__(self, address: Any, timeout_s: float = 20.0) -> None:
        try:
            import distributed
        except ImportError as exc:  # pragma: no cover - dask is a declared dependency
            raise ValidationError("executor", "Dask executor needs the 'distributed' package; "
                                  "install dask[distributed]") from exc
        if isinstance(address, distributed.Client):
            self.client = address
            self._own = False
        else:
            try:
                self.client = distributed.Client(address, timeout=f"{timeout_s}s")
            except (OSError, TimeoutError) as exc:
                raise ValidationError("executor", f"cannot reach the Dask scheduler at "
                                      f"{address!r}: {exc}; check the address (or ${DASK_ENV})") from exc
            self._own = True
        self._scattered: tuple[str, Any] | None = None

    @property
    def n_workers(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def map(self, context: WhatIfContext, jobs: Sequence[WhatIfJob]) -> list[WhatIfResult]:
        jobs = list(jobs)
        if not jobs:
            return []
        if self._scattered is None or self._scattered[0] != context.token:
            fut = self.client.scatter(context, broadcast=True, hash=False)
            self._scattered = (context.token, fut)
        ctx_future = self._scattered[1]
        size = max(1, len(jobs) // (4 * self.n_workers))
        chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
        futures = self.client.map(run_chunk, chunks, context=ctx_future, pure=False)
        out: list[WhatIfResult] = []
        for part in self.client.gather(futures):
            out.extend(part)
        return out

    def close(self) -> None:
        self._scattered = None
        if self._own:
            self.client.close()


def make_executor(dask_address: str | None = None, workers: int | None = None) -> Executor:
    """The executor a user asked for (see the module docstring)."""
    address = dask_address or os.environ.get(DASK_ENV) or None
    if address:
        return DaskExecutor(address)
    if workers is not None and workers < 1:
        raise ValidationError("executor", f"the number of worker processes must be >= 1, got {workers}")
    if workers == 1:
        return SerialExecutor()
    return LocalExecutor(workers)
