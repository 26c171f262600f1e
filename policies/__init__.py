"""Policy-as-code guardrails: YAML rules that narrow the LLM grammar (:meth:`PolicySet.bounds`),
constrain the optimiser (:meth:`PolicySet.linear_constraints`) and gate every plan
(:meth:`PolicySet.check_plan`). See docs/policies.md for the rule kinds and file format."""

from __future__ import annotations

from policies.action_bounds import ActionBounds, ParamRange
from policies.engine import PolicySet, Verdict, load_policy, policy_from_texts
from policies.errors import PolicyError, PolicyIssue
from policies.linear import LinearConstraint
from policies.results import RuleResult, Violation
from policies.store import PolicyStore

__all__ = [
    "ActionBounds", "LinearConstraint", "ParamRange", "PolicyError", "PolicyIssue",
    "PolicySet", "PolicyStore", "RuleResult", "Verdict", "Violation",
    "load_policy", "policy_from_texts",
]
