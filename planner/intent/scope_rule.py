"""``intent_scope``: a request-scoped deny rule that keeps a plan inside the intent's area."""

from __future__ import annotations

from typing import Literal

from actions.models import CELL_KINDS, ActionBase
from policies.action_bounds import BoundsBuilder
from policies.rules.base import RuleBase
from twin.network import Network


class IntentScopeRule(RuleBase):
    """Only ``cell_ids`` may change and only ``candidate_ids`` may get a small cell."""

    kind: Literal["intent_scope"] = "intent_scope"
    cell_ids: tuple[str, ...] = ()
    candidate_ids: tuple[str, ...] = ()

    per_action = True

    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        keep = set(self.cell_ids)
        for cell in network.cells["cell_id"].astype(str):
            if cell not in keep:
                for kind in CELL_KINDS:
                    bounds.deny_target(kind, cell)
        cands = set(self.candidate_ids)
        for cand in network.candidates["candidate_id"].astype(str):
            if cand not in cands:
                bounds.deny_target("add_small_cell", cand)
                bounds.forbidden_candidates.add(cand)

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        cell = action.target_cell()
        if cell is not None:
            return [] if cell in self.cell_ids else [f"cell {cell} is outside the request's area"]
        cand = action.target_id()
        return [] if cand in self.candidate_ids else [
            f"candidate {cand} is outside the request's area"]
