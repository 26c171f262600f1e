"""``budget``: money a plan may spend, in total, per site, or within the plan's own budget.

The amount charged per action is the cost catalogue's ``capex + opex * horizon`` (the gate
re-prices every action, see :mod:`policies.plan`). Linear: ``sum_i cost_i x_i <= max_eur``
over all items (``total``) or over the items of each site (``per_site``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from actions.pricing import PricedAction
from policies.linear import LinearConstraint
from policies.plan import PlanContext
from policies.results import Outcome
from policies.rules.base import RuleBase
from twin.network import Network


class BudgetRule(RuleBase):
    """Spending cap. ``scope``: ``total`` (the plan), ``per_site`` (each site, a new small
    cell being its own site ``SC-<candidate>``), or ``plan`` (the ``budget`` the plan was
    requested with; no ``max_eur``)."""

    kind: Literal["budget"] = "budget"
    scope: Literal["total", "per_site", "plan"] = "total"
    max_eur: float | None = Field(None, ge=0, description="cap in EUR (total, per_site)")

    linear_kind = True

    @model_validator(mode="after")
    def _cap_given(self) -> BudgetRule:
        if self.scope == "plan" and self.max_eur is not None:
            raise ValueError("scope 'plan' checks the plan's own budget; remove max_eur")
        if self.scope != "plan" and self.max_eur is None:
            raise ValueError(f"scope {self.scope!r} needs max_eur (EUR)")
        return self

    def linear(self, items: Sequence[PricedAction], network: Network) -> list[LinearConstraint]:
        if self.max_eur is None or not items:
            return []
        if self.scope == "total":
            return [self.constraint({i: it.cost_eur for i, it in enumerate(items)},
                                    self.max_eur)]
        groups: dict[str, dict[int, float]] = defaultdict(dict)
        for i, it in enumerate(items):
            groups[it.site_id(network)][i] = it.cost_eur
        return [self.constraint(c, self.max_eur) for _, c in sorted(groups.items())]

    def evaluate(self, ctx: PlanContext) -> Outcome:
        total = ctx.total_cost_eur
        if self.scope == "plan":
            if ctx.plan_budget_eur is None:
                return Outcome(True, "the plan states no budget",
                               {"total_eur": total, "budget_eur": None})
            ok = total <= ctx.plan_budget_eur + 0.5
            return Outcome(ok, f"total EUR {total:,.0f} {'within' if ok else 'above'} the "
                           f"plan's budget EUR {ctx.plan_budget_eur:,.0f}",
                           {"total_eur": total, "budget_eur": ctx.plan_budget_eur})
        cap = float(self.max_eur or 0.0)
        if self.scope == "total":
            ok = total <= cap + 0.5
            return Outcome(ok, f"total EUR {total:,.0f} {'within' if ok else 'above'} cap "
                           f"EUR {cap:,.0f}", {"total_eur": total, "max_eur": cap})
        per_site: dict[str, float] = defaultdict(float)
        for it in ctx.items:
            per_site[it.site_id(ctx.network)] += it.cost_eur
        over = {s: v for s, v in sorted(per_site.items()) if v > cap + 0.5}
        top = max(per_site.items(), key=lambda kv: kv[1], default=("-", 0.0))
        if over:
            return Outcome(False, "; ".join(f"site {s} EUR {v:,.0f} > EUR {cap:,.0f}"
                                            for s, v in over.items()),
                           {"per_site_eur": dict(per_site), "over": over, "max_eur": cap})
        return Outcome(True, f"highest per site EUR {top[1]:,.0f} ({top[0]}) within EUR "
                       f"{cap:,.0f}", {"per_site_eur": dict(per_site), "max_eur": cap})
