"""Types shared with the optimiser: a priced candidate action and a linear constraint on the
selection variables ``x_i`` in {0, 1} (one per candidate, ``i`` = index in the item list)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from policies.kinds import action_site_id
from twin.network import Network


@dataclass(frozen=True)
class PricedAction:
    """A candidate action with the amount it charges to the budget (EUR) and the site it
    spends it on: the target cell's site, or ``SC-<candidate>`` for a new small cell."""

    action: Any
    cost_eur: float
    site_id: str

    @classmethod
    def of(cls, action: Any, network: Network, cost_eur: float) -> PricedAction:
        return cls(action, float(cost_eur), action_site_id(action, network))


@dataclass(frozen=True)
class LinearConstraint:
    """``sum_i coeffs[i] * x_i  <sense>  rhs`` from one deny rule."""

    rule_id: str
    message: str
    coeffs: dict[int, float] = field(default_factory=dict)
    sense: Literal["<="] = "<="
    rhs: float = 0.0

    def lhs(self, selected: set[int] | list[int] | tuple[int, ...]) -> float:
        """Left-hand side for a selection (the chosen item indices)."""
        return float(sum(self.coeffs.get(i, 0.0) for i in set(selected)))

    def satisfied(self, selected: set[int] | list[int] | tuple[int, ...],
                  tol: float = 1e-6) -> bool:
        return self.lhs(selected) <= self.rhs + tol * max(1.0, abs(self.rhs))
