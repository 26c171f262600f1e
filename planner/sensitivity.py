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

from planner.candidates import Candidate
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


def _embed(result: WhatIfResult, index: dict[str, int], n_hour: int) -> NDArray[np.float64]:
    out = np.zeros((n_hour, len(index)))  # [n_hour, n_cell]
    if result.cell_ids:
        cols = [index[c] for c in result.cell_ids]
        out[:, cols] = result.util
    return out


def linearise(context: WhatIfContext, items: Sequence[Candidate], hours: Sequence[int],
              executor: Executor, reference: Sequence[int] = (),
              reference_result: WhatIfResult | None = None) -> Linearisation:
    """Build the linear model around ``reference`` with what-ifs on ``executor``.

    Args:
        context: the base network, demand and model (what every what-if starts from).
        items: the candidates, indexed as in the MILP.
        hours: hours to model (the busy hour, or all 24).
        reference: indices of the reference plan (must be free of knob conflicts).
        reference_result: the twin's utilisation under ``reference`` if already known
            (e.g. from verification); otherwise it is computed first.
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
            return WhatIfJob(tuple(acts[i] for i in sorted(idx)), hours)
        return WhatIfJob(tuple(acts[i] for i in sorted(idx)), hours, warm.cell_ids, warm.util,
                         local=context.local)

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
        else:
            r = added[i]
            if r.error:
                valid[i] = False
                errors[i] = r.error
                continue
            owner = knob_owner.get(items[i].knob)
            start = u_ref if owner is None else _embed(by_job[owner], index, n_hour)
            delta[i] = _embed(r, index, n_hour) - start
        converged &= r.converged
    return Linearisation(ref, hours, ids, u_ref, delta, valid, errors, n_whatifs,
                         time.perf_counter() - t0, bool(converged))
