"""A linear constraint on the selection variables ``x_i`` in {0, 1} (one per priced
candidate, ``i`` = its index in the item list): what the policy engine's aggregate and
per-action deny rules give the optimiser (:meth:`policies.engine.PolicySet.linear_constraints`),
and what the planner's MILP reads (``planner.milp.add_policy_constraints``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Sense = Literal["<=", ">=", "=="]


@dataclass(frozen=True)
class LinearConstraint:
    """``sum_i coeffs[i] * x_i  <sense>  rhs`` from one rule (``rule_id``; ``message`` says
    why, for a planner)."""

    rule_id: str
    message: str
    coeffs: dict[int, float] = field(default_factory=dict)
    sense: Sense = "<="
    rhs: float = 0.0

    def lhs(self, selected: set[int] | list[int] | tuple[int, ...]) -> float:
        """Left-hand side for a selection (the chosen item indices)."""
        return float(sum(self.coeffs.get(i, 0.0) for i in set(selected)))

    def satisfied(self, selected: set[int] | list[int] | tuple[int, ...],
                  tol: float = 1e-6) -> bool:
        """Whether the selection meets the constraint (``tol`` relative to ``rhs``)."""
        lhs, slack = self.lhs(selected), tol * max(1.0, abs(self.rhs))
        if self.sense == "<=":
            return lhs <= self.rhs + slack
        if self.sense == ">=":
            return lhs >= self.rhs - slack
        return abs(lhs - self.rhs) <= slack
