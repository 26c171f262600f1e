"""From an intent to the planner's existing options.

| intent field | planning option |
|---|---|
| target, budget_eur, max_actions | ``PlannerSettings.target`` / ``budget_eur`` / ``max_actions`` |
| hours | busy hour -> ``horizon="busy"``; all day -> ``horizon="day"``; a window ->
  ``horizon="day"`` with ``PlannerSettings.hours`` = the window's hours (min-max over them) |
| allowed_kinds - forbidden_kinds | a request-scoped ``allowed_actions`` deny rule |
| protected_cells, protected_sites | a request-scoped ``protected_cells`` deny rule: those cells'
  parameters may not change |
| area | a request-scoped ``intent_scope`` deny rule: only cells (and candidate sites) in the
  area may be changed (see :func:`planner.intent.network_check.area_cells`) |

The request-scoped rules join the operator's policy for this plan only, so they narrow the
LLM grammar, the candidate generator's survivors, the MILP and the final gate exactly as a
policy file would. :class:`MappedOptions` is what "plan equivalence" compares.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from actions.models import ACTION_KINDS
from planner.intent.model import PlanningIntent
from planner.intent.network_check import area_candidates, area_cells, require_valid
from planner.loop import PlannerSettings
from policies import PolicySet
from policies.schema import SourcedRule
from twin.network import Network

INTENT_RULE_FILE = "intent"


@dataclass(frozen=True)
class MappedOptions:
    """The planning options an intent yields on one network (ids resolved, sorted)."""

    target: float
    budget_eur: float
    max_actions: int
    horizon: Literal["busy", "day"]
    hours: tuple[int, ...] | None
    allowed_kinds: tuple[str, ...]
    protected_cells: tuple[str, ...]
    scope_cells: tuple[str, ...] | None
    scope_candidates: tuple[str, ...] | None

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


def map_intent(intent: PlanningIntent, network: Network, check: bool = True) -> MappedOptions:
    """The options of ``intent`` on ``network``; with ``check`` an unmatched item or an
    unknown id raises :class:`twin.errors.ValidationError` first."""
    if check:
        require_valid(intent, network)
    c = network.cells
    prot_sites = set(intent.protected_sites)
    protected = set(intent.protected_cells) | {
        str(i) for i, s in zip(c["cell_id"], c["site_id"], strict=True) if str(s) in prot_sites}
    h = intent.hours
    horizon: Literal["busy", "day"] = "busy" if h.kind == "busy_hour" else "day"
    cells = area_cells(intent.area, network)
    cands = area_candidates(intent.area, network)
    return MappedOptions(
        target=float(intent.target), budget_eur=float(intent.budget_eur),
        max_actions=int(intent.max_actions), horizon=horizon, hours=h.hour_list(),
        allowed_kinds=tuple(intent.effective_kinds()), protected_cells=tuple(sorted(protected)),
        scope_cells=None if cells is None else tuple(sorted(cells)),
        scope_candidates=None if cands is None else tuple(sorted(cands)))


def settings_for(m: MappedOptions, base: PlannerSettings | None = None) -> PlannerSettings:
    """``base`` (solver, iterations, folders...) with the intent's target, budget and hours."""
    return dataclasses.replace(base or PlannerSettings(), target=m.target,
                               budget_eur=m.budget_eur, max_actions=m.max_actions,
                               horizon=m.horizon, hours=m.hours)


def intent_rules(m: MappedOptions) -> list[Any]:
    """The request-scoped deny rules (policy engine rule objects) of ``m``."""
    from planner.intent.scope_rule import IntentScopeRule
    from policies.rules.bounds import AllowedActionsRule
    from policies.rules.protected import ProtectedCellsRule

    rules: list[Any] = []
    if set(m.allowed_kinds) != set(ACTION_KINDS):
        if not m.allowed_kinds:
            raise ValueError("no action kind left")
        rules.append(AllowedActionsRule(
            id="intent.allowed-kinds", severity="deny", action_kinds=m.allowed_kinds,
            message="This request allows only: " + ", ".join(m.allowed_kinds) + "."))
    if m.protected_cells:
        rules.append(ProtectedCellsRule(
            id="intent.protected", severity="deny", cell_ids=m.protected_cells,
            message="This request protects " + ", ".join(m.protected_cells[:20])
            + (" ..." if len(m.protected_cells) > 20 else "") + ": no change to them."))
    if m.scope_cells is not None:
        rules.append(IntentScopeRule(
            id="intent.area", severity="deny", cell_ids=m.scope_cells,
            candidate_ids=m.scope_candidates or (),
            message=f"This request acts only inside its area ({len(m.scope_cells)} cells, "
            f"{len(m.scope_candidates or ())} candidate sites)."))
    return rules


def policy_for(m: MappedOptions, policy: PolicySet | None) -> PolicySet | None:
    """``policy`` plus the request-scoped rules of ``m`` (a new policy set; the operator's
    rules are unchanged and still have the last word)."""
    rules = intent_rules(m)
    if not rules:
        return policy
    extra = tuple(SourcedRule(r, INTENT_RULE_FILE, i + 1) for i, r in enumerate(rules))
    base_rules = tuple(policy.rules) if policy is not None else ()
    h = hashlib.sha256(((policy.policy_hash if policy is not None else "") + json.dumps(
        m.to_json(), sort_keys=True)).encode()).hexdigest()
    source = (policy.source if policy is not None else "") or "no operator policy"
    source += " + request intent"
    files = (*(policy.files if policy is not None else ()), INTENT_RULE_FILE)
    return PolicySet(base_rules + extra, h, source, files)


@dataclass(frozen=True)
class IntentPlanInputs:
    """What the planner needs to plan an intent on one network: its resolved options and the
    policy with the request-scoped rules (``celltwin plan --ask/--intent`` and
    ``POST /networks/{id}/plans`` with an intent both plan from this)."""

    intent: PlanningIntent
    mapped: MappedOptions
    policy: Any

    def settings(self, base: PlannerSettings) -> PlannerSettings:
        """``base`` (solver, rounds, folders, generator) with the intent's target, budget,
        most actions and hours."""
        return settings_for(self.mapped, base)

    def to_json(self, network_name: str) -> dict[str, Any]:
        """The intent, its planning options and its TS 28.312-style document (the ``intent``
        key of a plan's JSON)."""
        from planner.intent.ts28312 import intent_document

        return {**self.intent.to_json(), "planning_options": self.mapped.to_json(),
                "document": intent_document(self.intent, network_name)}


def plan_inputs(intent: PlanningIntent, network: Network, policy: Any | None
                ) -> IntentPlanInputs:
    """Check ``intent`` on ``network`` (an unmatched item, an unknown id or no action kind
    left raises :class:`twin.errors.ValidationError`, nothing planned) and map it."""
    mapped = map_intent(intent, network, check=True)
    return IntentPlanInputs(intent, mapped, policy_for(mapped, policy))
