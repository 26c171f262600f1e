"""The planner's side of the policy engine (:mod:`policies`).

Three touch points, each a call of :class:`policies.PolicySet`:

* candidates: an action with a ``deny`` violation (``PolicySet.action_violations``) is not
  proposed to the optimiser;
* the MILP: ``PolicySet.linear_constraints(items, network)`` rows go in as they are, and the
  deny verification rules the MILP models linearly give it their limits
  (:func:`harm_limit`, :func:`p5_drop_limit`, :func:`coverage_floor`, :func:`load_cap`);
* the final plan: ``PolicySet.check_plan(plan_json, network, costs)``; the gate has the last
  word.

Planning without a policy (``policy`` None) is allowed; the plan then says so
(:data:`NO_POLICY`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from actions.costs import CostCatalogue
from actions.pricing import PricedAction
from policies import LinearConstraint, PolicySet
from policies.rules import RuleBase
from policies.rules.verification import MaxLoadRule, MinCoverageRule, NeighbourHarmRule
from twin.network import Network

#: The gate's JSON when no policy was given (the key and wording plans have always carried).
NO_POLICY: dict[str, Any] = {"passed": None, "violations": [], "warnings": [],
                             "note": "no policy engine"}

R = TypeVar("R", bound=RuleBase)


def filter_candidates(policy: PolicySet | None, items: Sequence[PricedAction], network: Network
                      ) -> tuple[list[PricedAction], list[dict[str, Any]]]:
    """Candidates the policy allows, and a record of those it denies."""
    if policy is None:
        return list(items), []
    kept, dropped = [], []
    for c in items:
        deny = [v for v in policy.action_violations(c.action, network) if v.severity == "deny"]
        if deny:
            dropped.append({"candidate": c.key, "violations": [v.to_json() for v in deny]})
        else:
            kept.append(c)
    return kept, dropped


def linear_constraints(policy: PolicySet | None, items: Sequence[PricedAction],
                       network: Network) -> list[LinearConstraint]:
    """The policy's rows on selecting ``items`` (none without a policy or items)."""
    if policy is None or not items:
        return []
    return policy.linear_constraints(items, network)


def check_plan(policy: PolicySet | None, plan_json: dict[str, Any], network: Network,
               costs: CostCatalogue | None = None) -> dict[str, Any]:
    """The gate's verdict on a finished plan as a JSON object (``costs``: the catalogue the
    plan was priced with; None: the shipped one)."""
    if policy is None:
        return dict(NO_POLICY)
    verdict = policy.check_plan(plan_json, network, costs=costs)
    return {"passed": bool(verdict.passed),
            "violations": [v.to_json() for v in verdict.violations],
            "warnings": [v.to_json() for v in verdict.warnings],
            "detail": verdict.to_json()}


def _deny_rules(policy: PolicySet | None, network: Network, rule_type: type[R]) -> list[R]:
    """The policy's deny rules of ``rule_type`` that apply to ``network``."""
    if policy is None:
        return []
    return [s.rule for s in policy.rules if isinstance(s.rule, rule_type)
            and s.rule.severity == "deny" and s.rule.applies_to(network)]


def _smallest(values: Sequence[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return min(vals) if vals else None


def harm_limit(policy: PolicySet | None, network: Network) -> float | None:
    """The smallest ``max_util_increase`` of the policy's deny ``neighbour_harm`` rules that
    apply to ``network`` (None if none): linear in the planner's model, so the MILP can
    honour it instead of only the gate checking it afterwards."""
    return _smallest([r.max_util_increase
                      for r in _deny_rules(policy, network, NeighbourHarmRule)])


def p5_drop_limit(policy: PolicySet | None, network: Network) -> float | None:
    """The smallest ``max_p5_drop_fraction`` of the deny ``neighbour_harm`` rules (None:
    none), for the MILP's throughput rows."""
    return _smallest([r.max_p5_drop_fraction
                      for r in _deny_rules(policy, network, NeighbourHarmRule)])


def coverage_floor(policy: PolicySet | None, network: Network, before: float) -> float | None:
    """The lowest coverage the deny ``min_coverage`` rules allow after a plan, given the
    coverage ``before`` (the larger of ``min_coverage`` and ``before - max_drop``), or None."""
    floors = []
    for r in _deny_rules(policy, network, MinCoverageRule):
        if r.min_coverage is not None:
            floors.append(float(r.min_coverage))
        if r.max_drop is not None:
            floors.append(before - float(r.max_drop))
    return max(floors) if floors else None


def load_cap(policy: PolicySet | None, network: Network) -> float | None:
    """The smallest ``max_prb_util`` of the deny ``max_load`` rules (None: none): a plan
    above it is denied whatever the user's target, so the MILP aims below it too."""
    return _smallest([r.max_prb_util for r in _deny_rules(policy, network, MaxLoadRule)])


#: Policy rule kinds the MILP carries as rows (a verified plan that breaks one triggers a
#: re-linearisation around it).
LINEARISED_KINDS: tuple[str, ...] = tuple(
    t.model_fields["kind"].default for t in (NeighbourHarmRule, MinCoverageRule, MaxLoadRule))


def linearised_breaks(verdict: dict[str, Any]) -> list[str]:
    """Ids of the violated rules of a gate verdict whose kind the MILP models."""
    return sorted({str(v.get("id")) for v in verdict.get("violations", []) or []
                   if isinstance(v, dict) and v.get("kind") in LINEARISED_KINDS})
