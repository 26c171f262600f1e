"""The policy engine: one rule set, three uses.

- :meth:`PolicySet.bounds` -> :class:`~policies.action_bounds.ActionBounds`, which narrow the
  LLM grammar and the systematic candidate generator;
- :meth:`PolicySet.linear_constraints` -> the MILP's linear constraints (budget, counts, and
  every per-action deny rule as ``x_i <= 0`` on the candidates it forbids);
- :meth:`PolicySet.check_plan` -> :class:`Verdict`, the final gate on a verified plan,
  whatever produced it (LLM, optimiser or a person editing the plan).

Only deny rules narrow bounds and become constraints; warn rules are reported by the gate.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from actions.costs import CostCatalogue
from actions.models import ACTION_KINDS, ActionBase
from actions.pricing import PricedAction
from policies.action_bounds import ActionBounds, BoundsBuilder
from policies.errors import PolicyError, PolicyIssue
from policies.linear import LinearConstraint
from policies.plan import read_plan
from policies.results import RuleResult, Violation
from policies.rules import RuleBase
from policies.rules.bounds import ParameterBoundsRule
from policies.rules.verification import MaxLoadRule, MinCoverageRule
from policies.schema import SourcedRule, parse_rule_file
from twin.errors import CelltwinError
from twin.network import Network

SHIPPED = ("default", "strict")
CASES_SUFFIX = "_cases.yaml"
PLAN_VALID = "builtin.plan-valid"
COSTS_CONSISTENT = "builtin.costs-consistent"


@dataclass(frozen=True)
class Verdict:
    """The gate's answer on one plan.

    Attributes:
        passed: no deny rule failed (built-in plan validity included).
        violations: failed deny rules.
        warnings: failed warn rules.
        results: every rule's result, in policy order, built-in checks first.
        policy_hash: sha256 of the rule files (audit).
        policy_source: where the policy came from.
    """

    passed: bool
    violations: list[RuleResult]
    warnings: list[RuleResult]
    results: list[RuleResult]
    policy_hash: str
    policy_source: str = ""
    total_cost_eur: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "policy_hash": self.policy_hash,
                "policy_source": self.policy_source, "total_cost_eur": self.total_cost_eur,
                "violations": [r.rule_id for r in self.violations],
                "warnings": [r.rule_id for r in self.warnings],
                "results": [r.to_json() for r in self.results]}


@dataclass(frozen=True, eq=False)
class PolicySet:
    """A validated set of rules from one or more rule files (compared and hashed by
    identity; ``policy_hash`` identifies the content)."""

    rules: tuple[SourcedRule, ...]
    policy_hash: str
    source: str = ""
    files: tuple[str, ...] = field(default_factory=tuple)

    # --- lookups ---------------------------------------------------------------------------
    def rule(self, rule_id: str) -> RuleBase:
        for s in self.rules:
            if s.rule.id == rule_id:
                return s.rule
        raise KeyError(rule_id)

    @property
    def rule_ids(self) -> list[str]:
        return [s.rule.id for s in self.rules]

    def _active(self, network: Network, deny_only: bool = False) -> list[RuleBase]:
        return [s.rule for s in self.rules if s.rule.applies_to(network)
                and (not deny_only or s.rule.severity == "deny")]

    def limits(self, network: Network | None = None) -> dict[str, float]:
        """Targets the verification rules set (deny rules), for an optimiser that wants to
        aim at them: ``max_prb_util`` (lowest cap), ``min_coverage`` (highest floor)."""
        out: dict[str, float] = {}
        for s in self.rules:
            r = s.rule
            if r.severity != "deny" or (network is not None and not r.applies_to(network)):
                continue
            if isinstance(r, MaxLoadRule):
                out["max_prb_util"] = min(out.get("max_prb_util", 1.0), r.max_prb_util)
            if isinstance(r, MinCoverageRule) and r.min_coverage is not None:
                out["min_coverage"] = max(out.get("min_coverage", 0.0), r.min_coverage)
        return out

    # --- the three uses --------------------------------------------------------------------
    def bounds(self, network: Network) -> ActionBounds:
        """What the deny rules allow on ``network``: kinds, parameter ranges, protected
        cells, forbidden candidates, EMF power caps."""
        b = BoundsBuilder(allowed_kinds=set(ACTION_KINDS))
        for r in self._active(network, deny_only=True):
            r.narrow(b, network)
        return b.freeze()

    def action_violations(self, action: ActionBase, network: Network) -> list[Violation]:
        """Per-action rules (bounds, allowed kinds, zones, EMF, protected cells) broken by
        one action, deny and warn alike (see ``Violation.severity``)."""
        out = []
        for r in self._active(network):
            if r.per_action:
                out += [Violation(r.id, r.severity, r.message, p)
                        for p in r.action_problems(action, network)]
        return out

    def linear_constraints(self, items: Sequence[PricedAction], network: Network
                           ) -> list[LinearConstraint]:
        """Constraints ``sum_i coeffs[i] x_i <= rhs`` on selecting ``items`` (x_i binary):
        budget and count rules, plus ``x_i <= 0`` for each item a per-action deny rule
        forbids. Warn rules give none."""
        out: list[LinearConstraint] = []
        for r in self._active(network, deny_only=True):
            if r.linear_kind:
                out += r.linear(items, network)
            if r.per_action:
                for i, it in enumerate(items):
                    problems = r.action_problems(it.action, network)
                    if problems:
                        out.append(LinearConstraint(r.id, f"{r.message} ({problems[0]})",
                                                    {i: 1.0}, "<=", 0.0))
        return out

    def check_plan(self, plan: Mapping[str, Any], network: Network,
                   costs: CostCatalogue | None = None) -> Verdict:
        """The final gate: every rule's verdict on a plan (``celltwin plan --json``).

        Costs are re-priced from ``costs`` (None: the shipped catalogue) and never taken
        below it; actions are re-validated; an invalid plan is denied by the built-in rule
        ``builtin.plan-valid``.
        """
        ctx = read_plan(dict(plan) if isinstance(plan, Mapping) else plan, network, costs)
        results = [
            RuleResult(PLAN_VALID, "builtin", "deny", not ctx.problems,
                       "The plan must be well formed: valid actions on existing cells and "
                       "candidates, at most one action per knob.",
                       "; ".join(ctx.problems) or f"{len(ctx.actions)} valid action(s)",
                       {"problems": ctx.problems}),
            RuleResult(COSTS_CONSISTENT, "builtin", "warn", not ctx.cost_notes,
                       "Stated costs should match the cost catalogue; the gate charges the "
                       "higher of the two.",
                       "; ".join(ctx.cost_notes) or
                       f"costs match the catalogue (total EUR {ctx.total_cost_eur:,.0f})",
                       {"notes": ctx.cost_notes, "total_eur": ctx.total_cost_eur}),
        ]
        for s in self.rules:
            r = s.rule
            name = Path(s.file).name
            if not r.applies_to(network):
                results.append(RuleResult(r.id, r.kind_name, r.severity, True, r.message,
                                          f"not applicable to network {network.name!r}",
                                          {"applicable": False}, name))
                continue
            try:
                o = r.evaluate(ctx)
                passed, summary, details = o.passed, o.summary, o.details
            except (CelltwinError, KeyError, ValueError, TypeError) as exc:
                # A rule that cannot be evaluated fails (a deny rule then denies the plan).
                passed, summary, details = False, f"could not be checked: {exc}", {}
            results.append(RuleResult(r.id, r.kind_name, r.severity, passed, r.message,
                                      summary, details, name))
        violations = [r for r in results if not r.passed and r.severity == "deny"]
        warnings = [r for r in results if not r.passed and r.severity == "warn"]
        return Verdict(not violations, violations, warnings, results, self.policy_hash,
                       self.source, ctx.total_cost_eur)


# --- loading -----------------------------------------------------------------------------
def shipped_dir(name: str = "default") -> Path:
    """Folder of a shipped policy (``default`` or ``strict``)."""
    with resources.as_file(resources.files("policies") / name) as p:
        return Path(p)


def resolve_policy_path(path: str | Path | None) -> Path:
    """None -> the shipped default; ``"default"``/``"strict"`` that name no existing path ->
    the shipped policy of that name; anything else as a path."""
    if path is None:
        return shipped_dir("default")
    p = Path(path)
    if not p.exists() and str(path) in SHIPPED:
        return shipped_dir(str(path))
    return p


def rule_files(path: Path) -> list[Path]:
    """The rule files of a policy folder (``*.yaml``/``*.yml``, not ``*_cases.yaml``)."""
    files = sorted(q for q in path.iterdir() if q.is_file() and q.suffix in (".yaml", ".yml")
                   and not q.name.endswith(CASES_SUFFIX))
    return files


def load_policy(path: str | Path | None = None) -> PolicySet:
    """Load a policy: a folder of rule files, one rule file, or None for the shipped default
    (``"strict"`` names the shipped strict example). Raises :class:`PolicyError` naming
    file and line for every problem; nothing is half-loaded."""
    p = resolve_policy_path(path)
    if p.is_dir():
        files = rule_files(p)
        if not files:
            raise PolicyError(PolicyIssue(str(p), 0, "no rule files (*.yaml other than "
                                          "*_cases.yaml) in this folder"))
    elif p.is_file():
        if p.name.endswith(CASES_SUFFIX):
            raise PolicyError(PolicyIssue(str(p), 0, "this is a case file; pass the rule file "
                                          "or the folder"))
        files = [p]
    else:
        raise PolicyError(PolicyIssue(str(p), 0, "no such policy file or folder"))
    texts = {}
    for f in files:
        try:
            texts[str(f)] = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(PolicyIssue(str(f), 0, f"cannot read: {exc}")) from exc
    return policy_from_texts(texts, source=str(p))


#: Characters of all rule files of a policy together, and of all its case files together
#: (the shipped default has 46 000 with its cases; parsing costs about 5 us a character).
MAX_POLICY_CHARS = 1_000_000


def check_total_size(texts: Sequence[str], where: str, what: str) -> None:
    total = sum(len(t) for t in texts)
    if total > MAX_POLICY_CHARS:
        raise PolicyError(PolicyIssue(where, 0, f"the {what} have {total:,} characters "
                                      f"together, more than {MAX_POLICY_CHARS:,} (limit "
                                      "MAX_POLICY_CHARS)"))


def policy_from_texts(texts: Mapping[str, str], source: str = "") -> PolicySet:
    """Build a policy from ``{file name: YAML text}`` (case files are skipped); validates all
    files and reports every problem at once."""
    issues: list[PolicyIssue] = []
    rules: list[SourcedRule] = []
    names = sorted(n for n in texts if not n.endswith(CASES_SUFFIX))
    if not names:
        raise PolicyError(PolicyIssue(source or "<policy>", 0, "no rule files given"))
    check_total_size([texts[n] for n in names], source or "<policy>", "rule files")
    for name in names:
        try:
            rules += parse_rule_file(texts[name], name)
        except PolicyError as exc:
            issues += exc.issues
    issues += _cross_file_issues(rules)
    if issues:
        raise PolicyError(issues)
    h = hashlib.sha256()
    for name in names:
        h.update(Path(name).name.encode() + b"\0" + texts[name].encode() + b"\0")
    return PolicySet(tuple(rules), h.hexdigest(), source,
                     tuple(Path(n).name for n in names))


def _cross_file_issues(rules: list[SourcedRule]) -> list[PolicyIssue]:
    """Duplicate ids; deny parameter bounds that leave no value or disagree on the step."""
    issues: list[PolicyIssue] = []
    seen: dict[str, SourcedRule] = {}
    for s in rules:
        first = seen.get(s.rule.id)
        if first is not None:
            issues.append(PolicyIssue(s.file, s.line, f"rule id {s.rule.id!r} is already used "
                                      f"at {first.file}:{first.line}; ids must be unique"))
        else:
            seen[s.rule.id] = s
    groups: dict[tuple[str, str], list[SourcedRule]] = defaultdict(list)
    for s in rules:
        r = s.rule
        if isinstance(r, ParameterBoundsRule) and r.severity == "deny":
            groups[(r.action_kind, r.parameter)].append(s)
    for (kind, param), group in groups.items():
        if len(group) < 2 or group[0].rule.networks is not None:
            continue
        rng = group[0].rule.range  # type: ignore[attr-defined]
        for s in group[1:]:
            if s.rule.networks is not None:
                continue
            other = s.rule.range  # type: ignore[attr-defined]
            if rng.step is not None and other.step is not None and (
                    abs(rng.step - other.step) > 1e-9 or abs(rng.min_value - other.min_value)
                    > 1e-9):
                issues.append(PolicyIssue(s.file, s.line, f"rule {s.rule.id!r} sets another "
                                          f"step grid for {kind}.{param} than "
                                          f"{group[0].rule.id!r}; keep one step"))
            rng = rng.intersect(other)
            if rng.empty:
                issues.append(PolicyIssue(s.file, s.line, f"rule {s.rule.id!r} leaves no "
                                          f"allowed value of {kind}.{param} together with the "
                                          f"rules before it"))
                break
    return issues
