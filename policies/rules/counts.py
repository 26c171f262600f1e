"""``max_actions``: how many actions a plan may hold, in all or of some kinds, per plan or
per site. Linear: ``sum_{i in kinds} x_i <= max_count`` (per site: one constraint per site)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from actions.models import ACTION_KINDS
from actions.pricing import PricedAction
from policies.linear import LinearConstraint
from policies.plan import PlanContext
from policies.results import Outcome
from policies.rules.base import RuleBase
from twin.network import Network


class MaxActionsRule(RuleBase):
    """At most ``max_count`` actions (of ``action_kinds`` if given), per plan or per site."""

    kind: Literal["max_actions"] = "max_actions"
    max_count: int = Field(ge=0)
    action_kinds: tuple[str, ...] | None = Field(None, min_length=1)
    per: Literal["plan", "site"] = "plan"

    linear_kind = True

    @field_validator("action_kinds")
    @classmethod
    def _known_kinds(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _check_kinds(v)

    def counts(self, kind: str) -> bool:
        return self.action_kinds is None or kind in self.action_kinds

    def _what(self) -> str:
        return "actions" if self.action_kinds is None else "/".join(self.action_kinds)

    def linear(self, items: Sequence[PricedAction], network: Network) -> list[LinearConstraint]:
        groups: dict[str, dict[int, float]] = defaultdict(dict)
        for i, it in enumerate(items):
            if self.counts(it.kind):
                groups[it.site_id(network) if self.per == "site" else ""][i] = 1.0
        return [self.constraint(c, self.max_count) for _, c in sorted(groups.items())]

    def evaluate(self, ctx: PlanContext) -> Outcome:
        groups: dict[str, int] = defaultdict(int)
        for it in ctx.items:
            if self.counts(it.kind):
                groups[it.site_id(ctx.network) if self.per == "site" else "plan"] += 1
        over = {g: n for g, n in sorted(groups.items()) if n > self.max_count}
        most = max(groups.values(), default=0)
        where = "per site" if self.per == "site" else "in the plan"
        if over:
            return Outcome(False, "; ".join(f"{n} {self._what()} {'at ' + g if g != 'plan' else 'in the plan'}"
                                            f" > {self.max_count}" for g, n in over.items()),
                           {"counts": dict(groups), "max_count": self.max_count})
        return Outcome(True, f"{most} {self._what()} {where} (at most {self.max_count})",
                       {"counts": dict(groups), "max_count": self.max_count})


def _check_kinds(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if v is None:
        return v
    bad = [k for k in v if k not in ACTION_KINDS]
    if bad:
        raise ValueError(f"unknown action kind(s) {bad}; use {list(ACTION_KINDS)}")
    return v
