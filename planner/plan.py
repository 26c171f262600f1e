"""The result of planning (:class:`Plan`) and its JSON (``celltwin plan --json``, typed by
:class:`planner.result.PlanResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actions.pricing import PricedAction
from actions.rows import action_to_json, describe
from planner.result import PlanResult
from twin.state import State, json_value

#: Budget used when none is given (EUR, charged as capex + opex x horizon_years of the cost
#: catalogue): enough for two small cells and a sector split at the default prices.
DEFAULT_BUDGET_EUR = 100_000.0
DEFAULT_TARGET = 0.5
DEFAULT_MAX_ACTIONS = 10


def clean(v: Any) -> Any:
    """Plain JSON: numpy unwrapped, NaN/inf as None, recursively."""
    if isinstance(v, dict):
        return {str(k): clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return [clean(x) for x in v.tolist()]
    return json_value(v)


@dataclass
class Plan:
    """A verified plan.

    Attributes:
        scenario: scenario (or network) name.
        target: the peak utilisation asked for.
        budget_eur: the budget (cost catalogue units).
        horizon: ``busy`` (the busy hour) or ``day`` (all 24 hours).
        solver: MILP solver used.
        actions: the chosen candidates.
        before, after: busy-hour States of the network without and with the plan (``after``
            is a run of the full twin with all actions at once).
        verified: the twin confirms the plan meets the target (peak of a full run of all
            actions at once over the modelled hours <= target, load fixed point converged)
            and the policy gate does not deny it.
        target_met: the twin's part of ``verified`` alone.
        iterations: select-verify rounds used.
        history: one record per round (see :mod:`planner.loop`).
        lower_bound: bound on the achievable peak (see :mod:`planner.milp`).
        predicted: per cell: predicted and verified utilisation at the busy hour.
        policy: the policy gate's verdict.
        timings_s: wall time per stage.
        provenance: who proposed what (model, prompts, raw output, accepted/rejected items)
            when an LLM took part; empty otherwise.
        work_order: per action (aligned with ``actions``): site, cell, from -> to, effect
            alone and contribution in the plan (:mod:`planner.work_order`).
        dropped: actions the optimiser chose that the verified result did not need, why.
        frontier: when the target is missed or the plan denied: a few budgets, each with
            the verified peak and verdict of what it buys (:mod:`planner.frontier`).
    """

    scenario: str
    target: float
    budget_eur: float
    horizon: str
    solver: str
    actions: list[PricedAction]
    before: State
    after: State
    verified: bool
    target_met: bool
    converged: bool
    iterations: int
    history: list[dict[str, Any]]
    lower_bound: dict[str, Any]
    predicted: list[dict[str, Any]]
    cells_before: list[dict[str, Any]]
    cells_after: list[dict[str, Any]]
    peak_before: float
    peak_after: float
    policy: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    lp_file: str | None = None
    what_ifs: int = 0
    candidates: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    executor: str = ""
    max_actions: int | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    work_order: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    frontier: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_cost(self) -> float:
        return float(sum(c.cost.total_eur for c in self.actions))

    def action_rows(self) -> list[dict[str, Any]]:
        """One row per action; with a work order (:mod:`planner.work_order`) the row's
        ``work_order`` holds site, cell, from -> to, effect alone and contribution, and the
        description names the value before."""
        rows = []
        for i, c in enumerate(self.actions):
            row = action_to_json(c.action, c.cost)
            row["description"] = describe(c.action)
            row["source"] = c.source
            if i < len(self.work_order):
                wo = self.work_order[i]
                row["work_order"] = wo
                row["description"] = wo["text"]
            rows.append(row)
        return rows

    def result(self, include_policy: bool = True) -> PlanResult:
        """The typed plan document (:class:`planner.result.PlanResult`); without the policy
        verdict when ``include_policy`` is False (what the gate itself reads)."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "target": self.target,
            "budget": self.budget_eur,
            "horizon": self.horizon,
            "before": self.before.to_json(include_cells=False)["kpis"],
            "after": self.after.to_json(include_cells=False)["kpis"],
            "peak_before": self.peak_before,
            "peak_after": self.peak_after,
            "actions": self.action_rows(),
            "total_cost": self.total_cost,
            "verified": self.verified,
            "target_met": self.target_met,
            "converged": self.converged,
            "iterations": self.iterations,
            "lower_bound": self.lower_bound,
            "solver": self.solver,
            "executor": self.executor,
            "max_actions": self.max_actions,
            "lp_file": self.lp_file,
            "what_ifs": self.what_ifs,
            "candidates": self.candidates,
            "message": self.message,
            "cells_before": self.cells_before,
            "cells_after": self.cells_after,
            "predicted": self.predicted,
            "history": self.history,
            "dropped": self.dropped,
            "frontier": self.frontier,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
        }
        if include_policy:
            out["policy"] = self.policy
        if self.provenance:
            out["provenance"] = self.provenance
        return PlanResult.model_validate(clean(out))

    def to_json(self, include_policy: bool = True) -> dict[str, Any]:
        """The JSON of ``celltwin plan --json`` (:meth:`result` as plain JSON)."""
        return self.result(include_policy).to_json()
