"""Sensitivities: how each candidate changes every cell's PRB utilisation, from twin what-ifs.

Around a reference plan ``P`` (a set of candidate indices; empty = the network as it is) the
utilisation of cell ``c`` at hour ``h`` under a selection ``x`` is approximated by

    u[h, c](x) = u_P[h, c] + sum_i d[i, h, c] * (x_i - r_i)          (r_i = 1 if i in P)

with one what-if per candidate:

* ``i`` not in ``P``:                 d_i = u(P + i)       - u(P)
* ``i`` in ``P``:                     d_i = u(P)           - u(P - i)
* ``i`` on a knob that ``j`` in ``P`` uses (the two exclude each other):
                                      d_i = u(P - j + i)   - u(P - j)

so the model is exact at ``P`` and at every plan one change away from it. Cells that exist
only under some plans (split halves, new small cells) are extra columns with utilisation 0
where they do not exist; a split's own column drops to 0 in the same way, so the MILP bounds
the load of every cell any candidate creates. This is the first-order (incremental-path)
model; :mod:`planner.loop` re-linearises around each verified plan.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from actions.pricing import PricedAction
from planner.executors import Executor
from planner.whatif import WhatIfContext, WhatIfJob, WhatIfResult


@dataclass(frozen=True)
class Linearisation:
    """The linear model of utilisation around a reference plan.

    Attributes:
        reference: indices (into the candidate list) of the reference plan ``P``.
        hours: the hours modelled (the busy hour, or 0..23).
        cell_ids: every cell of the base network and every cell a candidate creates.
        base: ``[n_hour, n_cell]`` utilisation under ``P`` (0 where a cell does not exist).
        delta: ``[n_item, n_hour, n_cell]`` the coefficients ``d`` of the module docstring.
        valid: ``[n_item]`` False where a candidate could not be applied (not selectable).
        errors: candidate index -> why it could not be applied.
        n_whatifs: what-ifs run to build this model.
        seconds: wall time of those what-ifs.
        converged: whether every what-if's load fixed point converged.
        p5_base, p5_delta: the same model for each cell's 5th-percentile user throughput
            (Mbit/s; ``[n_hour, n_cell]`` and ``[n_item, n_hour, n_cell]``; a coefficient is 0
            where the cell has no traffic at either end), with ``quality`` only.
        cov_base, cov_delta: the same for the coverage (``[n_hour]``, ``[n_item, n_hour]``).
    """

    reference: tuple[int, ...]
    hours: tuple[int, ...]
    cell_ids: tuple[str, ...]
    base: NDArray[np.float64]
    delta: NDArray[np.float64]
    valid: NDArray[np.bool_]
    errors: dict[int, str]
    n_whatifs: int
    seconds: float
    converged: bool
    p5_base: NDArray[np.float64] | None = None
    p5_delta: NDArray[np.float64] | None = None
    cov_base: NDArray[np.float64] | None = None
    cov_delta: NDArray[np.float64] | None = None

    @property
    def n_items(self) -> int:
        return int(self.delta.shape[0])

    def predict(self, chosen: Sequence[int]) -> NDArray[np.float64]:
        """Predicted utilisation ``[n_hour, n_cell]`` of the plan ``chosen``."""
        x = np.zeros(self.n_items)
        x[list(chosen)] = 1.0
        r = np.zeros(self.n_items)
        r[list(self.reference)] = 1.0
        return self.base + np.tensordot(x - r, self.delta, axes=1)

    def _step(self, chosen: Sequence[int]) -> NDArray[np.float64]:
        x = np.zeros(self.n_items)
        x[list(chosen)] = 1.0
        r = np.zeros(self.n_items)
        r[list(self.reference)] = 1.0
        return x - r

    def predict_p5(self, chosen: Sequence[int]) -> NDArray[np.float64]:
        """Predicted 5th-percentile throughput ``[n_hour, n_cell]`` (needs ``quality``)."""
        if self.p5_base is None or self.p5_delta is None:
            raise ValueError("this model was built without quality (p5, coverage)")
        return self.p5_base + np.tensordot(self._step(chosen), self.p5_delta, axes=1)

    def predict_coverage(self, chosen: Sequence[int]) -> NDArray[np.float64]:
        """Predicted coverage ``[n_hour]`` (needs ``quality``)."""
        if self.cov_base is None or self.cov_delta is None:
            raise ValueError("this model was built without quality (p5, coverage)")
        return self.cov_base + self._step(chosen) @ self.cov_delta

    def column(self, cell_id: str) -> int:
        return self.cell_ids.index(cell_id)


def _universe(base_ids: Sequence[str], results: Sequence[WhatIfResult]) -> tuple[str, ...]:
    ids = list(base_ids)
    seen = set(ids)
    for r in results:
        for c in r.cell_ids:
            if c not in seen:
                seen.add(c)
                ids.append(c)
    return tuple(ids)


def _embed(result: WhatIfResult, index: dict[str, int], n_hour: int,
           what: str = "util") -> NDArray[np.float64]:
    """``result``'s ``util`` (0 for absent cells) or ``p5`` (NaN for absent cells) on the
    model's columns ``[n_hour, n_cell]``."""
    values = result.util if what == "util" else result.p5
    out = np.full((n_hour, len(index)), 0.0 if what == "util" else np.nan)
    if result.cell_ids and values is not None:
        cols = [index[c] for c in result.cell_ids]
        out[:, cols] = values
    return out


def _p5_step(after: NDArray[np.float64], before: NDArray[np.float64]) -> NDArray[np.float64]:
    d = after - before
    return np.where(np.isfinite(d), d, 0.0)


def _coverage(result: WhatIfResult, n_hour: int) -> NDArray[np.float64]:
    return np.ones(n_hour) if result.coverage is None else np.asarray(result.coverage, float)


def linearise(context: WhatIfContext, items: Sequence[PricedAction], hours: Sequence[int],
              executor: Executor, reference: Sequence[int] = (),
              reference_result: WhatIfResult | None = None,
              quality: bool = False) -> Linearisation:
    """Build the linear model around ``reference`` with what-ifs on ``executor``.

    Args:
        context: the base network, demand and model (what every what-if starts from).
        items: the candidates, indexed as in the MILP.
        hours: hours to model (the busy hour, or all 24).
        reference: indices of the reference plan (must be free of knob conflicts).
        reference_result: the twin's utilisation under ``reference`` if already known
            (e.g. from verification); otherwise it is computed first.
        quality: also model the per-cell 5th-percentile throughput and the coverage
            (``reference_result`` must then carry them).
    """
    t0 = time.perf_counter()
    hours = tuple(int(h) for h in hours)
    ref = tuple(sorted(set(int(i) for i in reference)))
    ref_set = set(ref)
    knob_owner = {items[i].knob: i for i in ref}
    n_whatifs = 0
    acts = [c.action for c in items]

    def job(idx: Sequence[int], warm: WhatIfResult | None) -> WhatIfJob:
        if warm is None or not warm.cell_ids:
            return WhatIfJob(tuple(acts[i] for i in sorted(idx)), hours, quality=quality)
        return WhatIfJob(tuple(acts[i] for i in sorted(idx)), hours, warm.cell_ids, warm.util,
                         quality=quality, local=context.local)

    if reference_result is not None and quality and reference_result.p5 is None:
        reference_result = None  # it lacks the quality numbers: run it again
    if reference_result is None:
        reference_result = executor.map(context, [job(ref, None)])[0]
        n_whatifs += 1
    if reference_result.error:
        raise ValueError(f"the reference plan cannot be applied: {reference_result.error}")
    # Pass 1: removals of each reference item (also the bases of conflicting candidates).
    removal = {i: job([k for k in ref if k != i], reference_result) for i in ref}
    # Pass 2: additions and swaps.
    plans: dict[int, WhatIfJob] = {}
    for i, c in enumerate(items):
        if i in ref_set:
            continue
        owner = knob_owner.get(c.knob)
        base_plan = [k for k in ref if k != owner]
        plans[i] = job([*base_plan, i], reference_result)
    order = list(removal) + list(plans)
    results = executor.map(context, [removal[i] for i in removal] + [plans[i] for i in plans])
    n_whatifs += len(results)
    by_job = dict(zip(order[: len(removal)], results[: len(removal)], strict=True))
    added = dict(zip(order[len(removal):], results[len(removal):], strict=True))

    ids = _universe(context.network.cell_ids, [reference_result, *results])
    index = {c: k for k, c in enumerate(ids)}
    n_hour = len(hours)
    u_ref = _embed(reference_result, index, n_hour)
    delta = np.zeros((len(items), n_hour, len(ids)))
    p5_ref = _embed(reference_result, index, n_hour, "p5") if quality else None
    p5_delta = np.zeros_like(delta) if quality else None
    cov_ref = _coverage(reference_result, n_hour)
    cov_delta = np.zeros((len(items), n_hour)) if quality else None
    valid = np.ones(len(items), dtype=bool)
    errors: dict[int, str] = {}
    converged = reference_result.converged
    for i in range(len(items)):
        if i in ref_set:
            r = by_job[i]
            if r.error:  # cannot happen for a consistent plan; keep the item fixed
                errors[i] = r.error
                continue
            delta[i] = u_ref - _embed(r, index, n_hour)
            if p5_delta is not None and p5_ref is not None and cov_delta is not None:
                p5_delta[i] = _p5_step(p5_ref, _embed(r, index, n_hour, "p5"))
                cov_delta[i] = cov_ref - _coverage(r, n_hour)
        else:
            r = added[i]
            if r.error:
                valid[i] = False
                errors[i] = r.error
                continue
            owner = knob_owner.get(items[i].knob)
            start = u_ref if owner is None else _embed(by_job[owner], index, n_hour)
            delta[i] = _embed(r, index, n_hour) - start
            if p5_delta is not None and p5_ref is not None and cov_delta is not None:
                p5_start = p5_ref if owner is None else _embed(by_job[owner], index, n_hour,
                                                               "p5")
                p5_delta[i] = _p5_step(_embed(r, index, n_hour, "p5"), p5_start)
                cov_start = cov_ref if owner is None else _coverage(by_job[owner], n_hour)
                cov_delta[i] = _coverage(r, n_hour) - cov_start
        converged &= r.converged
    return Linearisation(ref, hours, ids, u_ref, delta, valid, errors, n_whatifs,
                         time.perf_counter() - t0, bool(converged), p5_ref, p5_delta,
                         cov_ref if quality else None, cov_delta)
