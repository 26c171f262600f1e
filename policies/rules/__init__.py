"""Rule kinds, one module per concern. Each kind is a pydantic model (``extra="forbid"``) with
the numbers it constrains and the checks it runs; :data:`RULE_TYPES` maps ``kind`` to model."""

from __future__ import annotations

from policies.rules.approval import ApprovalRule
from policies.rules.base import RuleBase
from policies.rules.bounds import AllowedActionsRule, ParameterBoundsRule
from policies.rules.budget import BudgetRule
from policies.rules.counts import MaxActionsRule
from policies.rules.emf import EmfCapRule
from policies.rules.protected import ProtectedCellsRule
from policies.rules.verification import MaxLoadRule, MinCoverageRule, NeighbourHarmRule
from policies.rules.zones import ForbiddenZoneRule

RULE_MODELS: tuple[type[RuleBase], ...] = (
    BudgetRule, MaxActionsRule, AllowedActionsRule, ParameterBoundsRule, ForbiddenZoneRule,
    EmfCapRule, ProtectedCellsRule, MaxLoadRule, MinCoverageRule, NeighbourHarmRule,
    ApprovalRule,
)
RULE_TYPES: dict[str, type[RuleBase]] = {
    m.model_fields["kind"].default: m for m in RULE_MODELS}

__all__ = ["RULE_MODELS", "RULE_TYPES", "RuleBase"]
