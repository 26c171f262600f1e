"""``protected_cells``: cells (listed, or all cells of listed sites) that no action may touch:
shared masts, change freezes, cells under another team's trial. Ids not in the network are
ignored (a policy may list cells of several networks)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from actions.models import CELL_KINDS, ActionBase
from policies.action_bounds import BoundsBuilder
from policies.rules.base import RuleBase
from twin.network import Network


class ProtectedCellsRule(RuleBase):
    kind: Literal["protected_cells"] = "protected_cells"
    cell_ids: tuple[str, ...] = ()
    site_ids: tuple[str, ...] = ()

    per_action = True

    @model_validator(mode="after")
    def _something(self) -> ProtectedCellsRule:
        if not self.cell_ids and not self.site_ids:
            raise ValueError("list cell_ids, site_ids or both")
        return self

    def protected(self, network: Network) -> set[str]:
        c = network.cells
        mask = c["cell_id"].isin(self.cell_ids) | c["site_id"].isin(self.site_ids)
        return set(c.loc[mask, "cell_id"].astype(str))

    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        cells = self.protected(network)
        bounds.protected_cells |= cells
        for kind in CELL_KINDS:
            for cell in cells:
                bounds.deny_target(kind, cell)

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        cell = action.target_cell()
        if cell is None or cell not in self.protected(network):
            return []
        return [f"cell {cell} is protected"]
