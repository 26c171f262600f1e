"""The common shape of a rule: ``id``, ``kind``, ``severity`` (deny | warn), a ``message`` a
planner understands, and the hooks through which one rule set serves three consumers:

- :meth:`RuleBase.narrow` -> the bounds that narrow the LLM grammar and candidate generator;
- :meth:`RuleBase.linear` -> linear constraints of the MILP (aggregate rules: budget, counts);
- :meth:`RuleBase.action_problems` -> per-action checks (bounds, zones, EMF, protected cells),
  which the engine also turns into ``x_i <= 0`` constraints;
- :meth:`RuleBase.evaluate` -> the final gate on a verified plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from actions.models import ActionBase
from actions.pricing import PricedAction
from policies.action_bounds import BoundsBuilder
from policies.linear import LinearConstraint
from policies.plan import PlanContext
from policies.results import Outcome
from twin.network import Network

RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class RuleBase(BaseModel):
    """Fields every rule has. Subclasses add ``kind`` (a literal) and their parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID_PATTERN, max_length=80,
                    description="unique id across the policy (letters, digits, . _ -)")
    severity: Literal["deny", "warn"] = Field(
        description="deny: a plan breaking the rule is never passed; warn: reported only")
    message: str = Field(min_length=1, max_length=500,
                         description="what the rule means and what to do, for a planner")
    description: str = Field("", max_length=2000, description="documentation, not shown")
    networks: tuple[str, ...] | None = Field(
        None, description="apply only to networks with these names (None: every network)")

    #: True for rules checked action by action (and so also usable as x_i <= 0 constraints).
    per_action: ClassVar[bool] = False
    #: True for rules that yield linear constraints of the selection.
    linear_kind: ClassVar[bool] = False

    @property
    def kind_name(self) -> str:
        return str(self.kind)  # type: ignore[attr-defined]

    def applies_to(self, network: Network) -> bool:
        return self.networks is None or network.name in self.networks

    # --- hooks ------------------------------------------------------------------------------
    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        """Narrow the action bounds (deny rules only; the engine decides)."""

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        """What is wrong with one action under this rule (empty: nothing)."""
        return []

    def linear(self, items: Sequence[PricedAction], network: Network) -> list[LinearConstraint]:
        """Linear constraints on the selection of ``items`` (aggregate rules only)."""
        return []

    def evaluate(self, ctx: PlanContext) -> Outcome:
        """The gate: per-action rules check every action; others override this."""
        offenders = []
        for i, action in ctx.actions:
            for problem in self.action_problems(action, ctx.network):
                offenders.append({"action": i, "kind": action.kind, "problem": problem})
        if offenders:
            return Outcome(False, "; ".join(f"action {o['action']}: {o['problem']}"
                                            for o in offenders), {"offenders": offenders})
        return Outcome(True, f"all {len(ctx.actions)} action(s) comply")

    def constraint(self, coeffs: dict[int, float], rhs: float) -> LinearConstraint:
        return LinearConstraint(self.id, self.message, coeffs, "<=", float(rhs))
