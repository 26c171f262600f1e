"""Verification: run the full non-linear twin with all chosen actions at once and compare
its per-cell utilisation with what the linear model predicted."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from actions.apply import apply_actions
from actions.models import ActionBase
from planner.whatif import WhatIfResult, cell_p5_mbps, warm_vector
from twin.engine import Twin
from twin.kpis import weighted_percentile
from twin.network import Network
from twin.state import State


@dataclass(frozen=True)
class Verification:
    """The twin's verdict on one plan.

    Attributes:
        network: the network with the plan applied.
        states: one State per modelled hour (same order as ``hours``).
        hours: the modelled hours.
        util: ``[n_hour, n_cell]`` verified utilisation on the model's cell list (0 where a
            cell does not exist under the plan).
        peak: maximum verified utilisation over the modelled hours.
        max_abs_error: max |predicted - verified| over cells that exist under the plan.
        converged: every run's load fixed point converged.
        seconds: wall time.
    """

    network: Network
    states: tuple[State, ...]
    hours: tuple[int, ...]
    util: NDArray[np.float64]
    peak: float
    max_abs_error: float
    converged: bool
    seconds: float

    def as_result(self, quality: bool = False) -> WhatIfResult:
        """The verified utilisation in the form of a what-if result (a new reference);
        ``quality`` adds the per-cell 5th-percentile throughput and the coverage."""
        ids = tuple(self.network.cell_ids)
        util = np.stack([np.asarray(s.prb_util) for s in self.states])
        if not quality:
            return WhatIfResult(ids, util, self.converged, self.seconds)
        p5 = np.stack([cell_p5_mbps(s) for s in self.states])
        cov = np.asarray([float(s.kpis["coverage"]) for s in self.states])
        return WhatIfResult(ids, util, self.converged, self.seconds, p5=p5, coverage=cov)

    def state_at(self, hour: int) -> State:
        return self.states[self.hours.index(hour)]


def verify(twin: Twin, actions: Sequence[ActionBase], hours: Sequence[int],
           cell_ids: Sequence[str] | None = None, predicted: NDArray[np.float64] | None = None,
           warm: WhatIfResult | None = None) -> Verification:
    """Apply ``actions`` to ``twin``'s network and run the twin at ``hours``.

    Args:
        cell_ids, predicted: the linear model's cells and its prediction
            ``[n_hour, n_cell]``; without them ``max_abs_error`` is 0.
        warm: a nearby result to start the load fixed point from.
    """
    t0 = time.perf_counter()
    hours = tuple(int(h) for h in hours)
    net = apply_actions(twin.network, list(actions))
    tw = twin.what_if(net)
    states = []
    for k, h in enumerate(hours):
        w = None
        if warm is not None and warm.cell_ids:
            w = warm_vector(net.cell_ids, warm.cell_ids, warm.util[k])
        states.append(tw.run(h, warm_start=w))
    ids = list(cell_ids) if cell_ids is not None else net.cell_ids
    index = {c: i for i, c in enumerate(ids)}
    util = np.zeros((len(hours), len(ids)))
    exists = np.zeros(len(ids), dtype=bool)
    for k, st in enumerate(states):
        for c, u in zip(net.cell_ids, np.asarray(st.prb_util), strict=True):
            if c in index:
                util[k, index[c]] = u
                exists[index[c]] = True
    peak = max(float(np.max(np.asarray(s.prb_util))) for s in states)
    err = 0.0
    if predicted is not None and exists.any():
        err = float(np.max(np.abs(np.asarray(predicted)[:, exists] - util[:, exists])))
    return Verification(net, tuple(states), hours, util, peak, err,
                        all(s.converged for s in states), time.perf_counter() - t0)


def cell_rows(state: State) -> list[dict[str, Any]]:
    """Per cell: ``cell_id``, ``prb_util`` and ``p5_user_thr_mbps``, the 5th percentile of the
    user throughput over the cell's bins weighted by offered traffic (the KPI's definition in
    :mod:`twin.kpis`, restricted to one cell)."""
    rb = state.res_bin
    p5: dict[str, float] = {}
    served = rb[rb["serving_cell"].notna()]
    for cid, grp in served.groupby("serving_cell", sort=False):  # loop over cells, not bins
        p5[str(cid)] = weighted_percentile(grp["user_thr_mbps"].to_numpy(),
                                           grp["offered_mbps"].to_numpy(), 5.0)
    out = []
    for cid, u in zip(state.res_cell["cell_id"], state.res_cell["prb_util"], strict=True):
        v = p5.get(str(cid), float("nan"))
        out.append({"cell_id": str(cid), "prb_util": float(u),
                    "p5_user_thr_mbps": None if not np.isfinite(v) else float(v)})
    return out


def prediction_table(cell_ids: Sequence[str], hours: Sequence[int],
                     predicted: NDArray[np.float64], verified: NDArray[np.float64]
                     ) -> pd.DataFrame:
    """Long table (hour, cell_id, predicted, verified, error) for reports."""
    h, c = np.meshgrid(np.asarray(hours), np.arange(len(cell_ids)), indexing="ij")
    return pd.DataFrame({"hour": h.ravel(), "cell_id": np.asarray(cell_ids)[c.ravel()],
                         "predicted": predicted.ravel(), "verified": verified.ravel(),
                         "error": (predicted - verified).ravel()})
