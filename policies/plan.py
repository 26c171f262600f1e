"""Read a plan (the JSON of ``celltwin plan --json``) for the gate, trusting as little of it as
possible: actions are re-validated against the action models (:mod:`actions.models`), targets
are looked up in the network, and each action's cost is re-priced from the cost catalogue.

A plan may have been edited by hand (through the API or in a file), so a stated cost is never
taken below the catalogue price: the gate charges ``max(stated, catalogue)`` per action. A plan
priced with a dearer catalogue keeps its own numbers; one edited to look cheaper does not.
KPIs (``before``/``after``, ``cells_before``/``cells_after``) cannot be recomputed without
running the twin; verification rules read them as given and fail when they are missing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import pydantic

from actions.apply import check_targets
from actions.costs import Cost, CostCatalogue, load_costs
from actions.models import ActionBase, action_adapter
from actions.pricing import PricedAction, price
from twin.errors import CelltwinError
from twin.network import Network

#: Keys of a plan's action row that are not action parameters.
ROW_EXTRAS = ("cost", "cost_detail", "targets", "description", "predicted", "source",
              "work_order")


@dataclass(frozen=True)
class PlanContext:
    """A plan as the rules see it.

    Attributes:
        plan: the raw JSON object.
        network: the network the plan applies to (before the plan).
        actions: (index in ``plan["actions"]``, validated action) for each usable action.
        items: the same actions priced (aligned with ``actions``) at the amount the gate
            charges (``cost.total_eur``).
        problems: what makes the plan invalid (unparsable action, unknown id, two actions on
            one knob); any problem denies the plan.
        cost_notes: stated costs that differ from the catalogue.
        total_cost_eur: the sum the gate charges.
        plan_budget_eur: the budget the plan was asked for, if stated.
    """

    plan: dict[str, Any]
    network: Network
    actions: list[tuple[int, ActionBase]] = field(default_factory=list)
    items: list[PricedAction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cost_notes: list[str] = field(default_factory=list)
    total_cost_eur: float = 0.0
    plan_budget_eur: float | None = None

    def kpis(self, key: str) -> dict[str, Any] | None:
        v = self.plan.get(key)
        return v if isinstance(v, dict) else None

    def cells(self, key: str) -> list[dict[str, Any]] | None:
        v = self.plan.get(key)
        if not isinstance(v, list):
            return None
        return [r for r in v if isinstance(r, dict) and isinstance(r.get("cell_id"), str)]

    @property
    def approvals(self) -> list[dict[str, Any]]:
        v = self.plan.get("approvals")
        return [a for a in v if isinstance(a, dict)] if isinstance(v, list) else []


def number(v: Any) -> float | None:
    """A finite float, or None (JSON null, NaN, a string)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def read_plan(plan: Any, network: Network, costs: CostCatalogue | None = None
              ) -> PlanContext:
    """Validate, look up and price a plan's actions (``costs``: the catalogue to price with;
    None: the shipped default)."""
    if not isinstance(plan, dict):
        return PlanContext(plan={}, network=network,
                           problems=["the plan is not a JSON object"])
    catalogue = costs if costs is not None else _default_costs()
    rows = plan.get("actions")
    problems: list[str] = []
    if not isinstance(rows, list):
        problems.append("the plan has no 'actions' list")
        rows = []
    actions: list[tuple[int, ActionBase]] = []
    items: list[PricedAction] = []
    notes: list[str] = []
    knobs: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"action {i} is not an object")
            continue
        params = {k: v for k, v in row.items() if k not in ROW_EXTRAS}
        try:
            action = action_adapter.validate_python(params)
        except pydantic.ValidationError as exc:  # say which action and why
            problems.append(f"action {i} ({row.get('kind', '?')}) is not valid: "
                            f"{_first_error(exc)}")
            continue
        try:
            check_targets(network, [action])
        except CelltwinError as exc:
            problems.append(f"action {i}: {exc}")
            continue
        knob = action.knob()
        if knob in knobs:
            problems.append(f"actions {knobs[knob]} and {i} both change {knob[1]} of "
                            f"{knob[0]!r}; keep one")
            continue
        knobs[knob] = i
        stated = number(row.get("cost"))
        try:
            listed_cost: Cost | None = price(action, network, catalogue)
        except CelltwinError as exc:
            listed_cost = None
            if stated is None:
                problems.append(f"action {i}: cannot be priced ({exc}) and states no cost")
                continue
        listed = None if listed_cost is None else float(listed_cost.total_eur)
        charged = max(x for x in (stated, listed) if x is not None)
        if stated is not None and listed is not None and abs(stated - listed) > 0.5:
            notes.append(f"action {i} ({action.kind} {knob[0]}) states EUR {stated:,.0f}, "
                         f"the catalogue says EUR {listed:,.0f}; charged EUR {charged:,.0f}")
        actions.append((i, action))
        cost = (Cost.stated(charged) if listed_cost is None
                else replace(listed_cost, total_eur=charged))
        items.append(PricedAction(action, cost, "plan"))
    total = float(sum(it.cost_eur for it in items))
    stated_total = number(plan.get("total_cost"))
    if stated_total is not None and abs(stated_total - total) > 0.5:
        notes.append(f"the plan states a total of EUR {stated_total:,.0f}; its actions cost "
                     f"EUR {total:,.0f}")
    return PlanContext(plan=plan, network=network, actions=actions, items=items,
                       problems=problems, cost_notes=notes, total_cost_eur=total,
                       plan_budget_eur=number(plan.get("budget")))


@functools.cache
def _default_costs() -> CostCatalogue:
    return load_costs(None)


def _first_error(exc: pydantic.ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(p) for p in e.get("loc", ()))
    return f"{where}: {e.get('msg', '')}" if where else str(e.get("msg", ""))
