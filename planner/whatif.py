"""One what-if: a set of actions applied to the base network, run by the twin at some hours.

This is the unit of work the executors distribute. A job carries everything but the twin
(which every worker builds once from a :class:`WhatIfContext`); the result is the PRB
utilisation of every cell of the changed network at each hour.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pydantic
from numpy.typing import NDArray

from actions.apply import apply_actions
from actions.models import ActionBase
from actions.sites import split_cell_ids
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import CelltwinError
from twin.links import LinkCache
from twin.network import Network
from twin.state import State
from twin.whatif_local import base_linearisation, local_what_if


@dataclass(frozen=True)
class WhatIfContext:
    """What every worker needs once: the base network, the demand, the model parameters and
    (optionally) the link cache of the base twin so that workers do not recompute it.

    ``token`` identifies the context so a worker builds its twin once per context.
    """

    network: Network
    demand: Demand
    config: RadioConfig
    cache: LinkCache | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Solve what-ifs that start from the base state locally (twin/whatif_local.py: the
    #: change's neighbourhood, the rest at its base load; error <= LOCAL_ERROR_BOUND).
    local: bool = False

    @classmethod
    def of(cls, twin: Twin, local: bool = False) -> WhatIfContext:
        return cls(twin.network, twin.demand, twin.config, twin.cache, local=local)

    def twin(self) -> Twin:
        return Twin(self.network, self.demand, self.config, cache=self.cache)


@dataclass(frozen=True)
class WhatIfJob:
    """Apply ``actions`` to the base network and run hours ``hours``.

    ``warm_ids``/``warm_util`` (``[n_hours, n_warm]``) give a utilisation to start the load
    fixed point from (a nearby state, e.g. the plan the job changes); cells absent there start
    from their parent sector's value (split halves) or 0 (new small cells). ``quality`` also
    returns each cell's 5th-percentile user throughput and the coverage (for the MILP's
    neighbour-harm and coverage rows).
    """

    actions: tuple[ActionBase, ...]
    hours: tuple[int, ...]
    warm_ids: tuple[str, ...] | None = None
    warm_util: NDArray[np.float64] | None = None
    quality: bool = False
    #: Local what-if (WhatIfContext.local) where the warm start is the base state.
    local: bool = False


@dataclass(frozen=True)
class WhatIfResult:
    """Utilisation ``util`` ``[n_hours, n_cell]`` of the changed network's cells ``cell_ids``.

    ``error`` is set (and ``util`` empty) when the actions cannot be applied (e.g. two
    actions on one knob, an unknown id): such a candidate is simply not selectable.
    ``p5`` (``[n_hours, n_cell]`` 5th-percentile user throughput per cell in Mbit/s, NaN for
    a cell without traffic) and ``coverage`` (``[n_hours]``) come with a ``quality`` job.
    """

    cell_ids: tuple[str, ...]
    util: NDArray[np.float64]
    converged: bool
    seconds: float
    error: str | None = None
    p5: NDArray[np.float64] | None = None
    coverage: NDArray[np.float64] | None = None


def warm_vector(cell_ids: Sequence[str], warm_ids: Sequence[str],
                warm_row: NDArray[np.float64]) -> NDArray[np.float64]:
    """Start values ``[n_cell]`` for ``cell_ids`` from a utilisation of ``warm_ids``."""
    known = dict(zip(warm_ids, np.asarray(warm_row, dtype=float), strict=True))
    out = np.zeros(len(cell_ids))
    for i, cid in enumerate(cell_ids):
        if cid in known:
            out[i] = known[cid]
        elif cid[:-1] in known and cid in split_cell_ids(cid[:-1]):
            out[i] = known[cid[:-1]]
    return out


def run_job(twin: Twin, job: WhatIfJob) -> WhatIfResult:
    """Run one job on ``twin`` (the base twin; link gains are shared through its cache)."""
    t0 = time.perf_counter()
    try:
        net = apply_actions(twin.network, list(job.actions))
    except (CelltwinError, pydantic.ValidationError) as exc:
        return WhatIfResult((), np.zeros((len(job.hours), 0)), False,
                            time.perf_counter() - t0, str(exc).splitlines()[0])
    if job.local and not job.quality and _starts_from_base(twin, job):
        return _run_local(twin, job, net, t0)
    tw = twin.what_if(net)
    ids = tuple(net.cell_ids)
    util = np.zeros((len(job.hours), len(ids)))
    p5 = np.full((len(job.hours), len(ids)), np.nan) if job.quality else None
    cov = np.zeros(len(job.hours)) if job.quality else None
    converged = True
    for k, h in enumerate(job.hours):
        warm = None
        if job.warm_ids is not None and job.warm_util is not None:
            warm = warm_vector(ids, job.warm_ids, job.warm_util[k])
        st = tw.run(h, warm_start=warm)
        util[k] = np.asarray(st.prb_util)
        if p5 is not None and cov is not None:
            p5[k] = cell_p5_mbps(st)
            cov[k] = float(st.kpis["coverage"])
        converged &= bool(st.converged)
    return WhatIfResult(ids, util, converged, time.perf_counter() - t0, p5=p5, coverage=cov)


def cell_p5_mbps(state: State) -> NDArray[np.float64]:
    """``[n_cell]`` 5th percentile of the user throughput over each cell's bins weighted by
    offered traffic (NaN for a cell without traffic): the numbers ``verify.cell_rows`` gives
    the policy gate, computed with one sort instead of a pandas group-by."""
    n = len(state.res_cell)
    out = np.full(n, np.nan)
    serving = np.asarray(state.serving)
    thr = state.res_bin["user_thr_mbps"].to_numpy(dtype=float)
    w = state.res_bin["offered_mbps"].to_numpy(dtype=float)
    keep = (serving >= 0) & (w > 0)
    s, v, ww = serving[keep], thr[keep], w[keep]
    order = np.lexsort((v, s))  # by cell, then throughput; stable at ties like argsort
    s, v, ww = s[order], v[order], ww[order]
    bounds = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate(([0], bounds)) if s.size else np.zeros(0, dtype=int)
    ends = np.concatenate((bounds, [s.size])) if s.size else np.zeros(0, dtype=int)
    for a, b in zip(starts, ends, strict=True):  # loop over cells, not bins
        cum = np.cumsum(ww[a:b])
        idx = int(np.searchsorted(cum, 0.05 * cum[-1], side="left"))
        out[s[a]] = v[a + min(idx, b - a - 1)]
    return out


def _starts_from_base(twin: Twin, job: WhatIfJob) -> bool:
    """Whether the job's warm start is the base twin's state at each of its hours (then the
    cells a change does not reach stay at the base load, which a local what-if assumes)."""
    if job.warm_ids is None or job.warm_util is None or \
            tuple(job.warm_ids) != tuple(twin.network.cell_ids):
        return False
    for k, h in enumerate(job.hours):
        lin = base_linearisation(twin, h)
        if np.max(np.abs(job.warm_util[k] - lin.rho), initial=0.0) > twin.config.tolerance:
            return False
    return True


def _run_local(twin: Twin, job: WhatIfJob, net: Network, t0: float) -> WhatIfResult:
    ids = tuple(net.cell_ids)
    util = np.zeros((len(job.hours), len(ids)))
    converged = True
    for k, h in enumerate(job.hours):
        lw = local_what_if(twin, net, h)
        util[k] = lw.prb_util
        converged &= lw.converged
    return WhatIfResult(ids, util, converged, time.perf_counter() - t0)
