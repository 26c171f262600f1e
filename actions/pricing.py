"""The price of an action from the cost catalogue, and an action with its price."""

from __future__ import annotations

from dataclasses import dataclass

from actions.costs import Cost, CostCatalogue
from actions.models import ActionBase, UpgradeMimo
from twin.network import Network


def price(action: ActionBase, network: Network, catalogue: CostCatalogue) -> Cost:
    """Cost of one action on ``network`` from the catalogue."""
    kind = action.kind
    variant = None
    if isinstance(action, UpgradeMimo):
        now = int(network.cells.loc[network.cell_index(action.cell_id), "mimo_layers"])
        variant = f"{now}->{action.mimo_layers}"
    item = catalogue.item(kind, variant)
    total = item.capex_eur + item.opex_eur_per_year * catalogue.horizon_years
    return Cost(item.capex_eur, item.opex_eur_per_year, total)


@dataclass(frozen=True)
class PricedAction:
    """An action with its price: one item the optimiser may select (``x_i`` in {0, 1}) and
    the policy engine's linear rules count.

    Attributes:
        action: the typed action (its ``rationale`` says why it was proposed).
        cost: its price; ``cost.total_eur`` is the amount charged to the budget.
        source: who proposed it (``systematic``, ``llm``, ``user``; ``plan`` for the actions
            of a plan read by the gate).
    """

    action: ActionBase
    cost: Cost
    source: str = "systematic"

    @classmethod
    def of(cls, action: ActionBase, network: Network, catalogue: CostCatalogue,
           source: str = "systematic") -> PricedAction:
        """``action`` priced from ``catalogue`` on ``network``."""
        return cls(action, price(action, network, catalogue), source)

    @property
    def cost_eur(self) -> float:
        """The amount charged to the budget (EUR)."""
        return float(self.cost.total_eur)

    @property
    def kind(self) -> str:
        return str(self.action.kind)

    @property
    def knob(self) -> tuple[str, str]:
        return self.action.knob()

    @property
    def key(self) -> str:
        """Identity of the change (kind, target, parameters), without the rationale."""
        d = self.action.model_dump(exclude={"rationale"})
        return d["kind"] + ":" + ",".join(f"{k}={d[k]}" for k in sorted(d) if k != "kind")

    def site_id(self, network: Network) -> str:
        """The site the action spends its cost on (:meth:`ActionBase.site_id`)."""
        return self.action.site_id(network)
