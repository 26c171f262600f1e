"""``approval``: plans of some sort need sign-off recorded in the plan's ``approvals`` list
(``{by, role, at}``): ``trigger`` ``new_site`` (any new small cell), ``any_change`` (any
action), or ``cost_above`` (total cost above ``min_cost_eur``). At least ``min_approvers``
distinct people, with one of ``roles`` when roles are listed, must have approved."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from policies.plan import PlanContext
from policies.results import Outcome
from policies.rules.base import RuleBase


class ApprovalRule(RuleBase):
    kind: Literal["approval"] = "approval"
    trigger: Literal["new_site", "any_change", "cost_above"]
    min_cost_eur: float | None = Field(None, ge=0)
    roles: tuple[str, ...] | None = Field(None, min_length=1)
    min_approvers: int = Field(1, ge=1, le=10)

    @model_validator(mode="after")
    def _cost(self) -> ApprovalRule:
        if (self.trigger == "cost_above") != (self.min_cost_eur is not None):
            raise ValueError("min_cost_eur goes with trigger: cost_above, and only with it")
        return self

    def triggered(self, ctx: PlanContext) -> str | None:
        if self.trigger == "new_site":
            n = sum(1 for _, a in ctx.actions if a.new_site)
            return f"{n} new site(s)" if n else None
        if self.trigger == "any_change":
            return f"{len(ctx.actions)} change(s)" if ctx.actions else None
        cap = float(self.min_cost_eur or 0.0)
        return (f"total EUR {ctx.total_cost_eur:,.0f} > EUR {cap:,.0f}"
                if ctx.total_cost_eur > cap else None)

    def evaluate(self, ctx: PlanContext) -> Outcome:
        why = self.triggered(ctx)
        if why is None:
            return Outcome(True, "no approval needed", {"required": False})
        people = sorted({str(a.get("by")).strip() for a in ctx.approvals
                         if str(a.get("by") or "").strip()
                         and (self.roles is None or a.get("role") in self.roles)})
        need = self.min_approvers
        who = f" with role {' or '.join(self.roles)}" if self.roles else ""
        detail = {"required": True, "reason": why, "approved_by": people,
                  "min_approvers": need, "roles": list(self.roles or [])}
        if len(people) >= need:
            return Outcome(True, f"{why}: approved by {', '.join(people)}", detail)
        return Outcome(False, f"{why}: needs {need} approver(s){who}, has {len(people)}",
                       detail)
