"""The planner's side of the policy engine (``policies/``), which is optional at run time.

Three touch points, all duck-typed on the engine's published interface:

* candidates: an action with a ``deny`` violation (``PolicySet.action_violations``) is not
  proposed to the optimiser;
* the MILP: ``PolicySet.linear_constraints(items, network)`` rows go in as they are;
* the final plan: ``PolicySet.check_plan(plan_json, network)`` gives ``passed``,
  ``violations`` and ``warnings``; the gate has the last word.

Without an engine the plan says so (``{"passed": None, "note": "no policy engine"}``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from planner.candidates import Candidate
from twin.errors import InputFileError
from twin.network import Network

NO_ENGINE = {"passed": None, "violations": [], "warnings": [], "note": "no policy engine"}


def engine_available() -> bool:
    try:
        mod = importlib.import_module("policies")
    except ImportError:
        return False
    return hasattr(mod, "load_policy")


def load_policy(path: str | None = None) -> Any | None:
    """The policy set at ``path`` (None: the shipped defaults), or None without an engine.

    Raises InputFileError when a path is given but no engine is installed."""
    if not engine_available():
        if path is not None:
            raise InputFileError(f"policy folder {path!r} given but the policy engine (policies/) "
                                 "is not installed")
        return None
    mod = importlib.import_module("policies")
    return mod.load_policy(path)


def _jsonable(v: Any) -> Any:
    if hasattr(v, "to_json"):
        return v.to_json()
    if hasattr(v, "model_dump"):
        return v.model_dump()
    if is_dataclass(v) and not isinstance(v, type):
        return asdict(v)
    if isinstance(v, dict | str | int | float | bool) or v is None:
        return v
    return str(v)


def _is_deny(v: Any) -> bool:
    return str(getattr(v, "severity", "deny")) == "deny"


def filter_candidates(policy: Any | None, items: Sequence[Candidate], network: Network
                      ) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Candidates the policy allows, and a record of those it denies."""
    if policy is None:
        return list(items), []
    kept, dropped = [], []
    for c in items:
        deny = [v for v in policy.action_violations(c.action, network) if _is_deny(v)]
        if deny:
            dropped.append({"candidate": c.key, "violations": [_jsonable(v) for v in deny]})
        else:
            kept.append(c)
    return kept, dropped


def policy_items(items: Sequence[Candidate], network: Network) -> list[Any]:
    """The candidates in the engine's own item type where it has one (``PricedAction``)."""
    try:
        priced = importlib.import_module("policies.linear").PricedAction
    except (ImportError, AttributeError):
        return list(items)
    return [priced.of(c.action, network, c.cost.total_eur) for c in items]


def linear_constraints(policy: Any | None, items: Sequence[Candidate], network: Network
                       ) -> list[Any]:
    if policy is None or not items:
        return []
    return list(policy.linear_constraints(policy_items(items, network), network))


def check_plan(policy: Any | None, plan_json: dict[str, Any], network: Network,
               costs: Any = None) -> dict[str, Any]:
    """The gate's verdict on a finished plan as a JSON object (``costs``: the catalogue the
    plan was priced with, for engines that re-price)."""
    if policy is None:
        return dict(NO_ENGINE)
    if costs is not None and "costs" in inspect.signature(policy.check_plan).parameters:
        verdict = policy.check_plan(plan_json, network, costs=costs)
    else:
        verdict = policy.check_plan(plan_json, network)
    out = {"passed": bool(verdict.passed),
           "violations": [_jsonable(v) for v in getattr(verdict, "violations", [])],
           "warnings": [_jsonable(v) for v in getattr(verdict, "warnings", [])]}
    if hasattr(verdict, "to_json"):
        out["detail"] = _jsonable(verdict)
    return out


def _deny_rules(policy: Any | None, network: Network, kind: str) -> list[Any]:
    """The policy's deny rules of ``kind`` that apply to ``network``."""
    if policy is None:
        return []
    out = []
    for src in getattr(policy, "rules", ()):
        r = getattr(src, "rule", src)
        if getattr(r, "kind", None) != kind or getattr(r, "severity", "") != "deny":
            continue
        applies = getattr(r, "applies_to", None)
        if callable(applies) and not applies(network):
            continue
        out.append(r)
    return out


def _smallest(rules: Sequence[Any], attr: str) -> float | None:
    vals = [float(v) for r in rules if (v := getattr(r, attr, None)) is not None]
    return min(vals) if vals else None


def harm_limit(policy: Any | None, network: Network) -> float | None:
    """The smallest ``max_util_increase`` of the policy's deny ``neighbour_harm`` rules that
    apply to ``network`` (None if none): linear in the planner's model, so the MILP can
    honour it instead of only the gate checking it afterwards."""
    return _smallest(_deny_rules(policy, network, "neighbour_harm"), "max_util_increase")


def p5_drop_limit(policy: Any | None, network: Network) -> float | None:
    """The smallest ``max_p5_drop_fraction`` of the deny ``neighbour_harm`` rules (None:
    none), for the MILP's throughput rows."""
    return _smallest(_deny_rules(policy, network, "neighbour_harm"), "max_p5_drop_fraction")


def coverage_floor(policy: Any | None, network: Network, before: float) -> float | None:
    """The lowest coverage the deny ``min_coverage`` rules allow after a plan, given the
    coverage ``before`` (the larger of ``min_coverage`` and ``before - max_drop``), or None."""
    rules = _deny_rules(policy, network, "min_coverage")
    floors = []
    for r in rules:
        if getattr(r, "min_coverage", None) is not None:
            floors.append(float(r.min_coverage))
        if getattr(r, "max_drop", None) is not None:
            floors.append(before - float(r.max_drop))
    return max(floors) if floors else None


def load_cap(policy: Any | None, network: Network) -> float | None:
    """The smallest ``max_prb_util`` of the deny ``max_load`` rules (None: none): a plan
    above it is denied whatever the user's target, so the MILP aims below it too."""
    return _smallest(_deny_rules(policy, network, "max_load"), "max_prb_util")


#: Policy rule kinds the MILP carries as rows (a verified plan that breaks one triggers a
#: re-linearisation around it).
LINEARISED_KINDS = ("neighbour_harm", "min_coverage", "max_load")


def linearised_breaks(verdict: dict[str, Any]) -> list[str]:
    """Ids of the violated rules of a gate verdict whose kind the MILP models."""
    return sorted({str(v.get("id")) for v in verdict.get("violations", []) or []
                   if isinstance(v, dict) and v.get("kind") in LINEARISED_KINDS})
