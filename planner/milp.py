"""The selection MILP (PuLP; CBC by default, HiGHS selectable).

Reads as a table of contents (:func:`build_model`):

    x_i in {0, 1}                           add_selection_variables  (one per candidate)
    sum_{i on knob k} x_i <= 1              add_knob_exclusivity
    sum_i cost_i x_i <= budget              add_budget_constraint
    sum_i x_i <= max_actions                add_action_count_constraints
    t >= u[h, c](x)  for every hour, cell   add_peak_constraints (u from planner.sensitivity)
    t >= aim                                (the peak below the target is worth nothing)
    policy rows  sum a_i x_i <= b           add_policy_constraints
    no-good cuts on verified plans          add_no_good_cuts
    sum |x_i - r_i| <= radius               add_trust_region (r: the reference plan)
    u[h, c](x) <= before + dmax + slack     add_harm_constraints (soft; policy's limit)
    p5[h, c](x) >= (1 - f) p5_before - slack add_p5_harm_constraints (soft; policy's limit)
    cov[h](x) >= floor[h] - slack           add_coverage_constraints (soft; policy's floor)
    n m = sum_c u_c, dev_c >= |u_c - m|     add_balance_terms (MAD = mean dev_c)
    min t + w_cost cost/budget + w_bal MAD  add_objective
        + penalty * sum slack
    x0: a plan meeting every hard row       greedy_plan (HardRows: the rows no slack relaxes)
    solver start, and result without one    add_warm_start; solver_status time_limit_greedy
    time limit grown with the model         scaled_time_limit (CBC stopped: hard_deadline_s)

``p5`` (each cell's 5th-percentile user throughput) and ``cov`` (the share of traffic above
the SINR floor) are linear models of the same form as ``u`` (:mod:`planner.sensitivity`,
``quality``); the rows carry the policy's ``neighbour_harm`` and ``min_coverage`` rules into
the selection, so that the gate after verification rarely has to deny what the model chose.
``MAD`` is the mean absolute deviation of the busy-hour utilisation of the existing cells
that some candidate changes from their mean (a linear measure of balance: it falls as Jain's index rises). The model is
written to an ``.lp`` file for audit, with a JSON file naming each variable's action.
The lower bound reported beside a plan is the LP relaxation of the pure min-max model
(``aim = 0``, no cost or balance terms, no cuts): no selection within budget and policy can
reach a lower peak *in this linear model*.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pulp
from numpy.typing import NDArray

from actions.pricing import PricedAction
from planner.sensitivity import Linearisation
from policies.linear import LinearConstraint
from twin.errors import ValidationError

SOLVERS = ("cbc", "highs")
#: Coefficients below this (utilisation fraction) are noise of the load fixed point.
COEF_TOL = 1e-4


@dataclass(frozen=True)
class QualityLimits:
    """The policy's throughput and coverage limits on the model's columns.

    Attributes:
        p5_before: ``[n_hour, n_cell]`` each cell's 5th-percentile throughput before the plan
            (NaN: no limit, e.g. a new cell; split halves carry their sector's value).
        max_p5_drop_fraction: the largest allowed fall, as a fraction of ``p5_before``.
        coverage_floor: ``[n_hour]`` the lowest allowed coverage (None: no coverage rows).
    """

    p5_before: NDArray[np.float64] | None = None
    max_p5_drop_fraction: float | None = None
    coverage_floor: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class MilpSettings:
    """Budget, limits and objective weights of one solve.

    The solver's time limit grows with the model (:func:`scaled_time_limit`):
    ``min(max_time_limit_s, time_limit_s + time_limit_per_binary_s * selectable binaries)``,
    so 30 s for a hand-made model, 100 s for Munich's 7,012 candidates, never over 120 s;
    ``time_limit_per_binary_s = 0`` keeps ``time_limit_s`` as it is."""

    budget_eur: float
    max_actions: int | None = None
    aim: float = 0.0
    cost_weight: float = 0.01
    balance_weight: float = 0.01
    solver: Literal["cbc", "highs"] = "cbc"
    time_limit_s: float = 30.0
    time_limit_per_binary_s: float = 0.01
    max_time_limit_s: float = 120.0
    max_util_increase: float | None = None
    harm_penalty: float = 10.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.budget_eur) or self.budget_eur < 0:
            raise ValidationError("plan", f"the budget must be a non-negative amount, got "
                                  f"{self.budget_eur:g}")
        if self.max_actions is not None and self.max_actions < 0:
            raise ValidationError("plan", f"max_actions must be >= 0, got {self.max_actions}")
        if min(self.time_limit_s, self.time_limit_per_binary_s, self.max_time_limit_s) < 0:
            raise ValidationError("plan", "time limits must be >= 0")
        if self.solver not in SOLVERS:
            raise ValidationError("plan", f"unknown solver {self.solver!r}; use one of "
                                  f"{', '.join(SOLVERS)}")


@dataclass(frozen=True)
class MilpResult:
    """Outcome of one solve.

    Attributes:
        status: ``optimal``, ``feasible`` (time limit, incumbent kept), ``infeasible`` or
            ``not solved``.
        chosen: indices of the selected candidates.
        objective: the objective value (None without a solution).
        predicted: ``[n_hour, n_cell]`` utilisation the linear model predicts for ``chosen``.
        predicted_peak: its maximum over the modelled hours and cells.
        lp_bound: LP relaxation of the pure min-max model (see the module docstring).
        lp_file: path of the written model, if any.
        n_variables, n_constraints: size of the model.
        seconds: wall time (build + solve, both problems).
        solver_status: what the solver itself said: ``optimal``, ``feasible``, ``infeasible``,
            ``not solved``, ``killed at the time limit`` (:func:`hard_deadline_s`), or
            ``time_limit_greedy`` (no solution within the limit: ``chosen``
            is the greedy plan, and ``status`` is ``feasible``).
        time_limit_s: the limit the solver ran under (:func:`scaled_time_limit`).
        greedy: the greedy plan given as a warm start (None: none satisfied the hard rows).
        build_seconds: wall time of building the selection model.
    """

    status: str
    chosen: tuple[int, ...]
    objective: float | None
    predicted: NDArray[np.float64]
    predicted_peak: float
    lp_bound: float | None
    lp_file: str | None
    n_variables: int
    n_constraints: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    solver_status: str = ""
    time_limit_s: float | None = None
    greedy: tuple[int, ...] | None = None
    build_seconds: float = 0.0


# --- model building blocks -----------------------------------------------------------------
def _name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def _variable(prob: pulp.LpProblem, name: str, low: float | None = None,
              up: float | None = None, cat: str = pulp.LpContinuous) -> pulp.LpVariable:
    """A variable attached to ``prob`` (PuLP >= 3.3), or a free one on older PuLP."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=low, upBound=up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def add_selection_variables(prob: pulp.LpProblem, items: Sequence[PricedAction],
                            valid: NDArray[np.bool_], relax: bool = False
                            ) -> list[pulp.LpVariable]:
    """One variable per candidate; candidates that could not be applied are fixed to 0."""
    cat = pulp.LpContinuous if relax else pulp.LpBinary
    return [_variable(prob, f"x_{i:04d}", 0.0, 1.0 if valid[i] else 0.0, cat)
            for i in range(len(items))]


def add_knob_exclusivity(prob: pulp.LpProblem, x: Sequence[pulp.LpVariable],
                         items: Sequence[PricedAction]) -> int:
    """At most one option per knob (one tilt per cell, one small cell per location...)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(items):
        groups.setdefault(c.knob, []).append(i)
    n = 0
    for (target, knob), idx in groups.items():
        if len(idx) > 1:
            prob += pulp.lpSum(x[i] for i in idx) <= 1, _name(f"knob_{target}_{knob}")
            n += 1
    return n


def add_budget_constraint(prob: pulp.LpProblem, x: Sequence[pulp.LpVariable],
                          items: Sequence[PricedAction], budget_eur: float
                          ) -> pulp.LpAffineExpression:
    cost = pulp.lpSum(float(c.cost.total_eur) * x[i] for i, c in enumerate(items))
    prob += cost <= float(budget_eur), "budget"
    return cost


def add_action_count_constraints(prob: pulp.LpProblem, x: Sequence[pulp.LpVariable],
                                 max_actions: int | None) -> None:
    if max_actions is not None:
        prob += pulp.lpSum(x) <= int(max_actions), "max_actions"


def highest_utilisation(lin: Linearisation) -> NDArray[np.float64]:
    """``[n_hour, n_cell]`` the highest utilisation any selection gives in the model (each
    valid candidate's rise taken, each reference item's fall undone); rows that cannot pass
    a limit are not written. Sums over row subsets, not masked copies of the whole
    ``[n_item, n_hour, n_cell]`` array (seconds on 7,000 x 1,500)."""
    in_ref = np.zeros(lin.n_items, dtype=bool)
    in_ref[list(lin.reference)] = True
    add, undo = lin.valid & ~in_ref, lin.valid & in_ref
    up = np.zeros_like(lin.base)
    if add.any():
        up += np.clip(lin.delta[add], 0.0, None).sum(axis=0)
    if undo.any():
        up += np.clip(-lin.delta[undo], 0.0, None).sum(axis=0)
    return lin.base + up


def peak_rows(lin: Linearisation, floor: float) -> list[tuple[int, int]]:
    """(hour, cell) pairs whose utilisation can exceed ``floor`` under some selection."""
    ub = highest_utilisation(lin)
    return [(int(h), int(c)) for h, c in zip(*np.nonzero(ub > floor + 1e-9), strict=True)]


def utilisation_expression(lin: Linearisation, x: Sequence[pulp.LpVariable], h: int,
                           c: int) -> pulp.LpAffineExpression:
    """``u[h, c](x)`` of :mod:`planner.sensitivity` as an affine expression."""
    col = lin.delta[:, h, c]
    nz = np.flatnonzero((np.abs(col) >= COEF_TOL) & lin.valid)
    const = float(lin.base[h, c]) - float(sum(col[i] for i in lin.reference
                                              if abs(col[i]) >= COEF_TOL and lin.valid[i]))
    return pulp.LpAffineExpression([(x[i], float(col[i])) for i in nz], constant=const)


def add_peak_constraints(prob: pulp.LpProblem, lin: Linearisation,
                         x: Sequence[pulp.LpVariable], floor: float) -> pulp.LpVariable:
    """``t`` above every modelled cell's utilisation at every modelled hour, and ``floor``."""
    t = _variable(prob, "peak_util", float(floor))
    for h, c in peak_rows(lin, floor):
        prob += t >= utilisation_expression(lin, x, h, c), \
            _name(f"peak_h{lin.hours[h]:02d}_{lin.cell_ids[c]}")
    return t


def balance_cells(lin: Linearisation, n_base_cells: int) -> list[int]:
    """Columns of the base cells that some valid candidate changes at the first hour."""
    n = min(n_base_cells, len(lin.cell_ids))
    d = np.abs(lin.delta[lin.valid][:, 0, :n])
    return [int(c) for c in np.flatnonzero((d >= COEF_TOL).any(axis=0))]


def add_balance_terms(prob: pulp.LpProblem, lin: Linearisation, x: Sequence[pulp.LpVariable],
                      n_base_cells: int) -> pulp.LpAffineExpression:
    """Mean absolute deviation of the utilisation at the first modelled hour over the base
    cells some candidate changes (the cells that can share the load; the others would only
    add constants and model size).

    The mean is a variable ``m`` fixed by one row (``n m = sum_c u_c``): written out in every
    deviation row it would make each of them dense (every candidate that changes any cell),
    cells x candidates terms in all, which is what took minutes on 7,000 x 1,500."""
    cells = balance_cells(lin, n_base_cells)
    util = {c: utilisation_expression(lin, x, 0, c) for c in cells}
    n = max(1, len(util))
    mean = _variable(prob, "mean_util")
    total = pulp.LpAffineExpression()
    for u in util.values():
        total.addInPlace(u)
    prob += total - n * mean == 0, "mean_util_def"
    devs = []
    for c, u in util.items():
        dv = _variable(prob, _name(f"dev_{lin.cell_ids[c]}"), 0.0)
        prob += dv >= u - mean, _name(f"dev_hi_{lin.cell_ids[c]}")
        prob += dv >= mean - u, _name(f"dev_lo_{lin.cell_ids[c]}")
        devs.append(dv)
    return pulp.lpSum(devs) * (1.0 / n)


def add_policy_constraints(prob: pulp.LpProblem, x: Sequence[pulp.LpVariable],
                           constraints: Sequence[LinearConstraint]) -> int:
    """The policy engine's linear rows, as they are."""
    for k, lc in enumerate(constraints):
        expr = pulp.lpSum(float(a) * x[int(i)] for i, a in lc.coeffs.items())
        sense = lc.sense
        name = _name(f"policy_{k:03d}_{lc.rule_id}")
        if sense == "<=":
            prob += expr <= float(lc.rhs), name
        elif sense == ">=":
            prob += expr >= float(lc.rhs), name
        elif sense == "==":
            prob += expr == float(lc.rhs), name
        else:
            raise ValidationError("policy", f"rule {lc.rule_id!r} has sense {sense!r}; "
                                  "use <=, >= or ==")
    return len(constraints)


def add_no_good_cuts(prob: pulp.LpProblem, x: Sequence[pulp.LpVariable],
                     plans: Sequence[Sequence[int]]) -> None:
    """Exclude plans already verified (each must differ in at least one selection)."""
    for k, plan in enumerate(plans):
        s = set(plan)
        prob += (pulp.lpSum(1 - x[i] for i in s)
                 + pulp.lpSum(x[i] for i in range(len(x)) if i not in s)) >= 1, f"nogood_{k:02d}"


def add_harm_constraints(prob: pulp.LpProblem, lin: Linearisation,
                         x: Sequence[pulp.LpVariable], before: NDArray[np.float64],
                         max_increase: float | None, penalty: float
                         ) -> pulp.LpAffineExpression | None:
    """No cell's utilisation may rise by more than ``max_increase`` over ``before``
    (``[n_hour, n_cell]`` on the model's columns, NaN for cells that did not exist), as
    soft rows: a slack per row, priced at ``penalty`` per unit in the objective, so that
    a model that cannot honour them still gives the least harmful plan."""
    if max_increase is None:
        return None
    ub = highest_utilisation(lin)
    cap = before + max_increase
    slacks = []
    for h, c in zip(*np.nonzero(np.isfinite(cap) & (ub > cap + 1e-9)), strict=True):
        sl = _variable(prob, _name(f"harm_slack_h{lin.hours[h]:02d}_{lin.cell_ids[c]}"), 0.0)
        prob += utilisation_expression(lin, x, int(h), int(c)) <= float(cap[h, c]) + sl, \
            _name(f"harm_h{lin.hours[h]:02d}_{lin.cell_ids[c]}")
        slacks.append(sl)
    return pulp.lpSum(slacks) * penalty if slacks else None


def _worst_low(lin: Linearisation, delta: NDArray[np.float64], base: NDArray[np.float64]
               ) -> NDArray[np.float64]:
    """The lowest value any selection can give a linear quantity (``delta`` ``[n_item, ...]``):
    rows that cannot be broken are not written."""
    d = np.where(lin.valid.reshape((-1,) + (1,) * (delta.ndim - 1)), delta, 0.0)
    in_ref = np.zeros(lin.n_items, dtype=bool)
    in_ref[list(lin.reference)] = True
    in_ref = in_ref.reshape((-1,) + (1,) * (delta.ndim - 1))
    return base + np.where(in_ref, np.minimum(-d, 0.0), np.minimum(d, 0.0)).sum(axis=0)


def _linear(lin: Linearisation, x: Sequence[pulp.LpVariable], col: NDArray[np.float64],
            base: float, tol: float) -> pulp.LpAffineExpression:
    """``base + sum_i col_i (x_i - r_i)`` with coefficients below ``tol`` left out."""
    nz = np.flatnonzero((np.abs(col) >= tol) & lin.valid)
    const = base - float(sum(col[i] for i in lin.reference
                             if abs(col[i]) >= tol and lin.valid[i]))
    return pulp.LpAffineExpression([(x[i], float(col[i])) for i in nz], constant=const)


def add_p5_harm_constraints(prob: pulp.LpProblem, lin: Linearisation,
                            x: Sequence[pulp.LpVariable], p5_before: NDArray[np.float64],
                            max_drop_fraction: float | None, penalty: float
                            ) -> pulp.LpAffineExpression | None:
    """No cell's 5th-percentile throughput may fall below ``(1 - max_drop_fraction)`` of its
    value before. Written relative to that value (a slack of 0.1 is 10 % of the cell's p5)
    so that one penalty fits cells of any throughput; soft like the utilisation rows."""
    if max_drop_fraction is None or lin.p5_base is None or lin.p5_delta is None:
        return None
    floor = p5_before * (1.0 - max_drop_fraction)
    low = _worst_low(lin, lin.p5_delta, np.nan_to_num(lin.p5_base, nan=np.inf))
    slacks = []
    rows = np.isfinite(floor) & (p5_before > 0) & np.isfinite(lin.p5_base) & (low < floor - 1e-9)
    for h, c in zip(*np.nonzero(rows), strict=True):
        scale = 1.0 / float(p5_before[h, c])
        expr = _linear(lin, x, lin.p5_delta[:, h, c] * scale, float(lin.p5_base[h, c]) * scale,
                       COEF_TOL)
        sl = _variable(prob, _name(f"p5_slack_h{lin.hours[h]:02d}_{lin.cell_ids[c]}"), 0.0)
        prob += expr + sl >= 1.0 - max_drop_fraction, \
            _name(f"p5_h{lin.hours[h]:02d}_{lin.cell_ids[c]}")
        slacks.append(sl)
    return pulp.lpSum(slacks) * penalty if slacks else None


def add_coverage_constraints(prob: pulp.LpProblem, lin: Linearisation,
                             x: Sequence[pulp.LpVariable], floor: NDArray[np.float64] | None,
                             penalty: float) -> pulp.LpAffineExpression | None:
    """Coverage at every modelled hour at least ``floor[h]`` (soft)."""
    if floor is None or lin.cov_base is None or lin.cov_delta is None:
        return None
    low = _worst_low(lin, lin.cov_delta, lin.cov_base)
    slacks = []
    for h in np.flatnonzero(low < np.asarray(floor) - 1e-9):
        expr = _linear(lin, x, lin.cov_delta[:, h], float(lin.cov_base[h]), COEF_TOL / 10)
        sl = _variable(prob, f"coverage_slack_h{lin.hours[h]:02d}", 0.0)
        prob += expr + sl >= float(floor[h]), f"coverage_h{lin.hours[h]:02d}"
        slacks.append(sl)
    return pulp.lpSum(slacks) * penalty if slacks else None


def add_trust_region(prob: pulp.LpProblem, x: Sequence[pulp.LpVariable],
                     reference: Sequence[int], radius: int | None) -> None:
    """At most ``radius`` changes from the reference plan (selections added or dropped):
    the linear model is exact one change away and degrades with every further change."""
    if radius is None:
        return
    ref = set(reference)
    prob += (pulp.lpSum(x[i] for i in range(len(x)) if i not in ref)
             + pulp.lpSum(1 - x[i] for i in ref)) <= int(radius), "trust_region"


def add_objective(prob: pulp.LpProblem, t: pulp.LpVariable, cost: pulp.LpAffineExpression,
                  balance: pulp.LpAffineExpression | None, settings: MilpSettings,
                  harm: pulp.LpAffineExpression | None = None) -> None:
    scale = settings.budget_eur if settings.budget_eur > 0 else 1.0
    obj = t + (settings.cost_weight / scale) * cost
    if balance is not None:
        obj = obj + settings.balance_weight * balance
    if harm is not None:
        obj = obj + harm
    prob.setObjective(obj)


# --- the greedy incumbent ------------------------------------------------------------------
def scaled_time_limit(settings: MilpSettings, n_binaries: int) -> float:
    """The solver's time limit for a model with ``n_binaries`` selectable candidates (see
    :class:`MilpSettings`); the cap never cuts below ``time_limit_s`` itself."""
    grown = settings.time_limit_s + settings.time_limit_per_binary_s * max(0, n_binaries)
    return float(min(max(settings.max_time_limit_s, settings.time_limit_s), grown))


@dataclass(frozen=True)
class HardRows:
    """The constraints of :func:`build_model` that no slack relaxes, on plain index sets:
    knob exclusivity, budget, action limit, policy rows, no-good cuts and the trust region.
    (Peak, balance, harm, throughput and coverage rows hold for any ``x`` once their
    auxiliary variables take their least values.)"""

    items: Sequence[PricedAction]
    valid: NDArray[np.bool_]
    settings: MilpSettings
    policy: Sequence[LinearConstraint] = ()
    cuts: Sequence[Sequence[int]] = ()
    reference: Sequence[int] = ()
    trust_radius: int | None = None

    def violations(self, plan: Sequence[int], tol: float = 1e-7) -> list[str]:
        """Which hard rows ``plan`` breaks (empty: it is a feasible point of the model)."""
        chosen = set(int(i) for i in plan)
        out = []
        if any(not self.valid[i] for i in chosen):
            out.append("invalid candidate")
        knobs = [self.items[i].knob for i in chosen]
        if len(knobs) != len(set(knobs)):
            out.append("knob exclusivity")
        cost = sum(float(self.items[i].cost.total_eur) for i in chosen)
        if cost > self.settings.budget_eur * (1 + tol) + tol:
            out.append("budget")
        if self.settings.max_actions is not None and len(chosen) > self.settings.max_actions:
            out.append("max_actions")
        out += [f"policy {lc.rule_id}" for lc in self.policy if not lc.satisfied(chosen, tol)]
        out += [f"nogood {k}" for k, cut in enumerate(self.cuts) if set(cut) == chosen]
        if self.trust_radius is not None and \
                len(chosen ^ set(self.reference)) > self.trust_radius:
            out.append("trust_region")
        return out


def _masked_delta(lin: Linearisation, tol: float = COEF_TOL) -> NDArray[np.float64]:
    """``[n_item, n_hour * n_cell]`` the coefficients the model's utilisation rows keep."""
    d = lin.delta.reshape(lin.n_items, lin.base.size)
    keep = (np.abs(d) >= tol) & lin.valid[:, None]
    return np.where(keep, d, 0.0)


def greedy_plan(lin: Linearisation, items: Sequence[PricedAction], settings: MilpSettings,
                rows: HardRows, before: NDArray[np.float64] | None = None,
                max_steps: int = 64) -> tuple[int, ...] | None:
    """A plan that satisfies every hard row of the model, chosen greedily on the model itself.

    From the reference plan and from the empty plan it makes, one at a time, the move (add a
    candidate, or drop an item of the starting plan) with the largest fall of
    ``max(aim, peak u) + cost term + harm penalty`` per euro (a floor of 1 % of the budget
    per move, so that free actions do not divide by zero) that keeps the knob, budget,
    action-limit, trust-region and ``<=`` policy rows from getting worse, and stops when no
    move lowers that score (while no feasible plan is met, it takes the best move anyway). Returns the best feasible plan met on
    either path (lowest score), or None if none was (e.g. ``>=`` policy rows that the
    additions never meet). The balance term is left out of the score: it is small by design
    and costs a pass over the balance cells per candidate."""
    d = _masked_delta(lin)
    r = np.zeros(lin.n_items)
    r[list(lin.reference)] = 1.0
    base = lin.base.reshape(-1) - r @ d
    cost = np.array([float(c.cost.total_eur) for c in items])
    scale = settings.budget_eur if settings.budget_eur > 0 else 1.0
    floor_eur = max(0.01 * settings.budget_eur, 1.0)
    cap = None
    if before is not None and settings.max_util_increase is not None:
        cap = (np.asarray(before, dtype=float) + settings.max_util_increase).reshape(-1)
        cap = np.where(np.isfinite(cap), cap, np.inf)
    knob_of = [c.knob for c in items]
    le_rows = [lc for lc in rows.policy if lc.sense in ("<=", "==")]
    a_le = np.zeros((len(le_rows), lin.n_items))
    for k, lc in enumerate(le_rows):
        for i, a in lc.coeffs.items():
            a_le[k, int(i)] = float(a)
    b_le = np.array([float(lc.rhs) for lc in le_rows])
    ref = set(lin.reference)

    def score(u: NDArray[np.float64], eur: NDArray[np.float64] | float) -> NDArray[np.float64]:
        val = np.maximum(u.max(axis=-1), settings.aim) + settings.cost_weight * eur / scale
        if cap is not None:
            val = val + settings.harm_penalty * np.maximum(u - cap, 0.0).sum(axis=-1)
        return np.asarray(val)

    def allowed(plan: set[int], eur: float, sign: float, idx: NDArray[np.int64]
                ) -> NDArray[np.bool_]:
        """Which of the moves ``idx`` (added if ``sign`` is 1, dropped if -1) keep the
        budget, action-limit, ``<=`` policy and trust-region rows from getting worse."""
        ok = np.ones(len(idx), dtype=bool)
        if sign > 0:
            used = {knob_of[i] for i in plan}
            ok &= np.array([knob_of[i] not in used for i in idx], dtype=bool)
            ok &= eur + cost[idx] <= settings.budget_eur * (1 + 1e-9) + 1e-9
            if settings.max_actions is not None and len(plan) >= settings.max_actions:
                ok[:] = False
        if len(le_rows):
            lhs = a_le[:, sorted(plan)].sum(axis=1) if plan else np.zeros(len(le_rows))
            new = lhs[:, None] + sign * a_le[:, idx]
            ok &= ((new <= b_le[:, None] + 1e-9) | (new <= lhs[:, None])).all(axis=0)
        if rows.trust_radius is not None:
            in_ref = np.array([i in ref for i in idx], dtype=bool)
            undo = in_ref if sign > 0 else ~in_ref  # the move takes back a change
            ok &= len(plan ^ ref) + np.where(undo, -1, 1) <= rows.trust_radius
        return ok

    def walk(start: set[int]) -> tuple[float, tuple[int, ...]] | None:
        """Adds any candidate once, drops any item of ``start`` once (so it ends)."""
        plan, fixed = set(start), set()
        u = base + d[sorted(plan)].sum(axis=0) if plan else base.copy()
        eur = float(cost[sorted(plan)].sum()) if plan else 0.0
        best: tuple[float, tuple[int, ...]] | None = None
        for _ in range(max_steps + 1):
            here = float(score(u, eur))
            feasible = not rows.violations(sorted(plan))
            if feasible and (best is None or here < best[0]):
                best = (here, tuple(sorted(plan)))
            free = lin.valid.copy()
            free[list(plan | fixed)] = False
            adds = np.flatnonzero(free)
            drops = np.array(sorted((plan & start) - fixed), dtype=np.int64)
            adds = adds[allowed(plan, eur, 1.0, adds)]
            drops = drops[allowed(plan, eur, -1.0, drops)] if len(drops) else drops
            moves = np.concatenate([adds, drops])
            if len(moves) == 0:
                break
            sign = np.concatenate([np.ones(len(adds)), -np.ones(len(drops))])
            gains = np.empty(len(moves))
            for lo in range(0, len(moves), 512):  # bounded memory on 7,000 x 1,500 models
                part, sg = moves[lo:lo + 512], sign[lo:lo + 512]
                gains[lo:lo + 512] = here - score(u[None, :] + sg[:, None] * d[part],
                                                  eur + sg * cost[part])
            per_eur = np.where(sign > 0, np.maximum(cost[moves], floor_eur), floor_eur)
            k = int(np.argmax(gains / per_eur))
            if gains[k] <= 1e-12 and (best is not None or feasible):
                break
            i, sg = int(moves[k]), float(sign[k])
            if sg > 0:
                plan.add(i)
            else:
                plan.discard(i)
            fixed.add(i)
            u = u + sg * d[i]
            eur += sg * float(cost[i])
        return best

    found = [w for w in (walk(ref), walk(set()) if ref else None) if w is not None]
    return min(found)[1] if found else None


def add_warm_start(x: Sequence[pulp.LpVariable], plan: Sequence[int] | None) -> bool:
    """Give the solver ``plan`` as its first incumbent (CBC reads it with ``warmStart``)."""
    if plan is None:
        return False
    chosen = set(plan)
    for i, v in enumerate(x):
        v.setInitialValue(1.0 if i in chosen else 0.0)
    return True


# --- building and solving ------------------------------------------------------------------
def build_model(lin: Linearisation, items: Sequence[PricedAction], settings: MilpSettings,
                policy_constraints: Sequence[LinearConstraint] = (),
                cuts: Sequence[Sequence[int]] = (),
                n_base_cells: int | None = None, relax: bool = False,
                name: str = "celltwin_plan", trust_radius: int | None = None,
                before: NDArray[np.float64] | None = None,
                quality: QualityLimits | None = None
                ) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The selection model (``relax``: continuous x, pure min-max, for the lower bound)."""
    if len(items) != lin.n_items:
        raise ValueError(f"{len(items)} candidates but the model has {lin.n_items}")
    prob = pulp.LpProblem(_name(name), pulp.LpMinimize)
    x = add_selection_variables(prob, items, lin.valid, relax)
    add_knob_exclusivity(prob, x, items)
    cost = add_budget_constraint(prob, x, items, settings.budget_eur)
    add_action_count_constraints(prob, x, settings.max_actions)
    t = add_peak_constraints(prob, lin, x, 0.0 if relax else settings.aim)
    add_policy_constraints(prob, x, policy_constraints)
    if relax:
        prob.setObjective(t + 0.0 * cost)
        return prob, x
    add_no_good_cuts(prob, x, cuts)
    add_trust_region(prob, x, lin.reference, trust_radius)
    balance = None
    if settings.balance_weight > 0:
        balance = add_balance_terms(prob, lin, x,
                                    len(lin.cell_ids) if n_base_cells is None else n_base_cells)
    penalties = []
    if before is not None:
        penalties.append(add_harm_constraints(prob, lin, x, before,
                                              settings.max_util_increase,
                                              settings.harm_penalty))
    if quality is not None and quality.p5_before is not None:
        penalties.append(add_p5_harm_constraints(prob, lin, x, quality.p5_before,
                                                 quality.max_p5_drop_fraction,
                                                 settings.harm_penalty))
    if quality is not None:
        penalties.append(add_coverage_constraints(prob, lin, x, quality.coverage_floor,
                                                  settings.harm_penalty))
    terms = [p for p in penalties if p is not None]
    add_objective(prob, t, cost, balance, settings, pulp.lpSum(terms) if terms else None)
    return prob, x


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """HiGHS prints its banner on the process's stdout (file descriptor 1) even with output
    off; send it to stderr so that stdout stays one JSON object for ``--json``."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _children_named(name: str) -> list[int]:
    """Process ids of this process's children whose program is ``name`` (Linux ``/proc``;
    empty elsewhere)."""
    out = []
    for tasks in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for pid in tasks.read_text().split():
                with contextlib.suppress(OSError):
                    if Path(f"/proc/{pid}/exe").resolve().name == name:
                        out.append(int(pid))
    return out


@contextlib.contextmanager
def _hard_deadline(seconds: float, program: str) -> Iterator[list[int]]:
    """Kill the solver process ``program`` that this process started if it is still running
    ``seconds`` from now: CBC checks its own ``-sec`` limit only between phases and was seen
    to run 7 minutes past a 5 s limit in the root LP of a 7,000 x 1,500 model. Yields the
    list of killed process ids (empty: the solver ended on its own)."""
    killed: list[int] = []
    done = threading.Event()

    def watch() -> None:
        if not done.wait(seconds):
            for pid in _children_named(program):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    try:
        yield killed
    finally:
        done.set()
        th.join()


def hard_deadline_s(time_limit_s: float) -> float:
    """When a solver that overruns its own limit is stopped: the limit plus half, 10 s at
    least (reading the model and writing the solution are not in the solver's count)."""
    return time_limit_s + max(10.0, 0.5 * time_limit_s)


def _solve(prob: pulp.LpProblem, solver: str, time_limit_s: float, mip: bool,
           warm: bool = False) -> str:
    """Solve; ``warm``: CBC starts from the variables' initial values (PuLP's HiGHS API
    has no warm start: there the caller keeps its incumbent if the solver finds none).
    A CBC run past :func:`hard_deadline_s` is stopped: ``killed at the time limit``."""
    if solver == "highs":
        cmd: Any = pulp.HiGHS(msg=False, mip=mip, timeLimit=time_limit_s, output_flag=False)
        with _stdout_to_stderr():
            prob.solve(cmd)
    else:
        with warnings.catch_warnings():  # PuLP 3 deprecates the bundled CBC for PuLP 4
            warnings.simplefilter("ignore", DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(msg=False, mip=mip, timeLimit=time_limit_s,
                                    warmStart=warm and mip)
        with _hard_deadline(hard_deadline_s(time_limit_s), Path(cmd.path).name) as killed:
            try:
                prob.solve(cmd)
            except pulp.PulpSolverError:
                if not killed:
                    raise
        if killed:
            return "killed at the time limit"
    status = pulp.LpStatus.get(prob.status, "Undefined")
    if status == "Optimal":
        return "optimal" if prob.sol_status == pulp.LpSolutionOptimal else "feasible"
    if status == "Infeasible":
        return "infeasible"
    if prob.sol_status in (pulp.LpSolutionIntegerFeasible,):
        return "feasible"
    return "not solved"


def write_audit(prob: pulp.LpProblem, items: Sequence[PricedAction], lp_dir: Path,
                stem: str) -> str:
    lp_dir.mkdir(parents=True, exist_ok=True)
    path = lp_dir / f"{stem}.lp"
    prob.writeLP(str(path))
    legend = [{"variable": f"x_{i:04d}", "key": c.key, "cost_eur": c.cost.total_eur,
               "source": c.source} for i, c in enumerate(items)]
    (lp_dir / f"{stem}.variables.json").write_text(json.dumps(legend, indent=1))
    return str(path)


def solve_selection(lin: Linearisation, items: Sequence[PricedAction], settings: MilpSettings,
                    policy_constraints: Sequence[LinearConstraint] = (),
                    cuts: Sequence[Sequence[int]] = (),
                    lp_dir: str | Path | None = None, stem: str = "plan",
                    n_base_cells: int | None = None, with_bound: bool = True,
                    trust_radius: int | None = None,
                    before: NDArray[np.float64] | None = None,
                    quality: QualityLimits | None = None) -> MilpResult:
    """Choose candidates; see the module docstring. Never raises on an infeasible model:
    the result's ``status`` says so and ``chosen`` is empty. A greedy plan on the model
    (:func:`greedy_plan`) is the solver's warm start, and the result where the solver finds
    no solution within its limit (``solver_status`` ``time_limit_greedy``)."""
    t0 = time.perf_counter()
    prob, x = build_model(lin, items, settings, policy_constraints, cuts, n_base_cells,
                          trust_radius=trust_radius, before=before, quality=quality)
    build_s = time.perf_counter() - t0
    hard = HardRows(items, lin.valid, settings, policy_constraints, cuts, lin.reference,
                    trust_radius)
    greedy = greedy_plan(lin, items, settings, hard, before)
    warm = add_warm_start(x, greedy)
    limit = scaled_time_limit(settings, int(np.count_nonzero(lin.valid)))
    lp_file = write_audit(prob, items, Path(lp_dir), stem) if lp_dir is not None else None
    solver_status = _solve(prob, settings.solver, limit, mip=True, warm=warm)
    status = solver_status
    chosen: tuple[int, ...] = ()
    objective = None
    if status in ("optimal", "feasible"):
        chosen = tuple(i for i, v in enumerate(x) if (v.value() or 0.0) > 0.5)
        objective = float(pulp.value(prob.objective))
    elif status in ("not solved", "killed at the time limit") and greedy is not None:
        status, solver_status, chosen = "feasible", "time_limit_greedy", greedy
    elif status == "killed at the time limit":
        status = "not solved"
    predicted = lin.predict(chosen)
    bound = None
    if with_bound:
        rel, _ = build_model(lin, items, settings, policy_constraints, relax=True,
                             name="celltwin_bound")
        if _solve(rel, settings.solver, limit, mip=False) == "optimal":
            bound = float(pulp.value(rel.objective))
    return MilpResult(status, chosen, objective, predicted, float(predicted.max(initial=0.0)),
                      bound, lp_file, prob.numVariables(), prob.numConstraints(),
                      time.perf_counter() - t0, solver_status=solver_status,
                      time_limit_s=limit, greedy=greedy, build_seconds=build_s)
