"""A cost/peak frontier for a plan that misses its target (or that the policy denies): what a
few budgets would buy, each selection chosen by the MILP on the best plan's linear model (the
last one when later rounds added candidates) and then **verified** by the full twin and gated by the policy.

Budgets (:func:`frontier_budgets`): multiples of the requested budget (``FRONTIER_FACTORS``;
of the cheapest paid candidate when the budget is 0). The frontier reuses the candidates the
loop modelled: candidates dearer than the requested budget were never given what-ifs, so a
larger budget buys more of the modelled options, not options nobody has evaluated. Each point
is the best *verified* plan within its budget (:func:`points`); a verified plan within the
requested budget that beats the loop's becomes the plan (:mod:`planner.loop`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actions.pricing import PricedAction
from planner.verify import Verification

#: Budget multiples of the frontier (the requested budget is the 1.0 point).
FRONTIER_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)

Select = Callable[[float], tuple[str, tuple[int, ...]]]
Run = Callable[[Sequence[PricedAction]], tuple[Verification, bool | None]]


@dataclass(frozen=True)
class Verified:
    """A selection the twin verified: candidate indices, verification, policy verdict."""

    chosen: tuple[int, ...]
    verification: Verification
    policy_passed: bool | None
    cost_eur: float


def frontier_budgets(budget_eur: float, items: Sequence[PricedAction]) -> list[float]:
    """4-6 distinct budgets around ``budget_eur`` (see the module docstring)."""
    unit = budget_eur
    if unit <= 0:
        unit = min((c.cost.total_eur for c in items if c.cost.total_eur > 0), default=0.0)
    if unit <= 0:
        return [0.0]
    return sorted({round(unit * f, 2) for f in FRONTIER_FACTORS})


def kinds_of(chosen: Sequence[PricedAction]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in chosen:
        out[c.kind] = out.get(c.kind, 0) + 1
    return out


def _key(v: Verified, target: float) -> tuple[float, float, float]:
    """Best first: policy passed, then target met (cheapest), else lowest peak."""
    met = v.verification.peak <= target and v.verification.converged
    cls = (0.0 if v.policy_passed is not False else 2.0) + (0.0 if met else 1.0)
    return (cls, v.cost_eur, v.verification.peak) if met else \
        (cls, v.verification.peak, v.cost_eur)


def explore(budgets: Sequence[float], items: Sequence[PricedAction], select: Select, run: Run,
            pool: Sequence[Verified] = ()) -> tuple[dict[tuple[int, ...], Verified],
                                                  dict[float, str]]:
    """The MILP's selection for each budget, verified, added to ``pool`` (the loop's
    verified rounds). Returns every verified plan by selection, and the MILP status per
    budget.

    Args:
        select: budget -> (MILP status, chosen candidate indices).
        run: candidates -> (their verification, the policy verdict).
    """
    known: dict[tuple[int, ...], Verified] = {v.chosen: v for v in pool}
    status: dict[float, str] = {}
    for b in budgets:
        st, chosen = select(float(b))
        status[float(b)] = st
        if chosen not in known:  # two budgets often buy the same plan: verify it once
            picked = [items[i] for i in chosen]
            ver, passed = run(picked)
            known[chosen] = Verified(chosen, ver, passed,
                                     float(sum(c.cost.total_eur for c in picked)))
    return known, status


def best_within(known: dict[tuple[int, ...], Verified] | Sequence[Verified], budget: float,
                target: float) -> Verified | None:
    """The best verified plan costing at most ``budget`` (policy passed before denied, then
    target met at the lowest cost, else the lowest peak)."""
    vals = list(known.values()) if isinstance(known, dict) else list(known)
    fits = [v for v in vals if v.cost_eur <= budget + 1e-6]
    return min(fits, key=lambda v: _key(v, target)) if fits else None


def points(budgets: Sequence[float], items: Sequence[PricedAction],
           known: dict[tuple[int, ...], Verified], status: dict[float, str], target: float
           ) -> list[dict[str, Any]]:
    """One point per budget: the best verified plan within it. Taking the best of every
    verified plan makes the frontier monotone: more money never shows a worse plan."""
    out: list[dict[str, Any]] = []
    for b in budgets:
        v = best_within(known, b, target)
        if v is None:
            continue
        picked = [items[i] for i in v.chosen]
        out.append({
            "budget_eur": float(b), "cost_eur": v.cost_eur,
            "peak_prb_util": float(v.verification.peak),
            "target_met": bool(v.verification.peak <= target and v.verification.converged),
            "policy_passed": v.policy_passed, "milp_status": status.get(float(b)),
            "n_actions": len(picked), "kinds": kinds_of(picked),
            "actions": [c.key for c in picked]})
    return out


def is_better(a: Verified, b: Verified, target: float) -> bool:
    return _key(a, target) < _key(b, target)
