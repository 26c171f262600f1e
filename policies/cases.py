"""Case files: plans that must pass and plans that must be denied, beside each rule file
(``budget.yaml`` -> ``budget_cases.yaml``), run like ``conftest verify`` by
``celltwin policy test``.

Format::

    network: hotspot            # built-in scenario whose network the plans refer to
    base_plan:                  # shared plan fields (KPIs, budget, ...); optional
      budget: 200000
      before: {peak_prb_util: 0.93, coverage: 1.0, ...}
      after: {...}
    cases:
      - name: one tilt change within budget
        expect: pass            # pass | deny
        warned_by: [rule-id]    # optional: these warn rules must fail
        plan:                   # merged over base_plan (top-level keys replace)
          actions: [{kind: set_tilt, cell_id: S01-1, elec_tilt_deg: 8}]
      - name: a sixth small cell
        expect: deny
        denied_by: [max-new-sites]   # required for deny: these deny rules must fail
        plan: {...}

Each case is checked against the whole policy of its folder (so a passing case must pass
every rule, not only its file's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.engine import (
    CASES_SUFFIX,
    COSTS_CONSISTENT,
    PLAN_VALID,
    PolicySet,
    check_total_size,
    load_policy,
    resolve_policy_path,
    rule_files,
)
from policies.errors import PolicyError, PolicyIssue
from policies.networks import scenario_network
from policies.schema import pydantic_issues
from policies.yaml_lines import line_of, load_yaml
from twin.errors import CelltwinError

#: Cases per case file, cases per ``policy test`` run, actions per case plan: each case runs
#: the whole gate (about 0.4 ms on hotspot), and ``POST /policies/test`` is open to viewers.
MAX_CASES = 500
MAX_CASES_TOTAL = 2000
MAX_CASE_ACTIONS = 200


def _few_actions(plan: dict[str, Any]) -> dict[str, Any]:
    actions = plan.get("actions")
    if isinstance(actions, list) and len(actions) > MAX_CASE_ACTIONS:
        raise ValueError(f"the plan has {len(actions)} actions, more than {MAX_CASE_ACTIONS} "
                         "(limit MAX_CASE_ACTIONS)")
    return plan


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    expect: Literal["pass", "deny"]
    denied_by: list[str] = Field(default_factory=list)
    warned_by: list[str] = Field(default_factory=list)
    plan: dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        _few_actions(self.plan)
        if self.expect == "deny" and not self.denied_by:
            raise ValueError("a deny case must name the rule(s) that deny it in denied_by")
        if self.expect == "pass" and self.denied_by:
            raise ValueError("a pass case cannot list denied_by")
        return self


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: str = Field(min_length=1)
    description: str = ""
    base_plan: dict[str, Any] = Field(default_factory=dict)
    cases: list[Case] = Field(min_length=1, max_length=MAX_CASES)

    @model_validator(mode="after")
    def _bounded(self) -> CaseFile:
        _few_actions(self.base_plan)
        return self


@dataclass(frozen=True)
class CaseResult:
    file: str
    line: int
    name: str
    expect: str
    ok: bool
    detail: str
    denied_by: tuple[str, ...] = ()


@dataclass
class CaseReport:
    """Outcome of the case files of one policy folder."""

    policy: str
    results: list[CaseResult] = field(default_factory=list)
    untested_deny_rules: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and bool(self.results)

    @property
    def n_failed(self) -> int:
        return sum(not r.ok for r in self.results)


def parse_case_file(text: str, file: str) -> tuple[CaseFile, list[int]]:
    """Validate a case file; returns it and the line of each case."""
    data, node = load_yaml(text, file)
    if not isinstance(data, dict):
        raise PolicyError(PolicyIssue(file, 1, "a case file is a mapping with 'network' and "
                                      "'cases'"))
    try:
        cf = CaseFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise PolicyError(pydantic_issues(exc, data, node, file, CaseFile)) from None
    return cf, [line_of(node, ("cases", i)) for i in range(len(cf.cases))]


def run_case_file(policy: PolicySet, path: Path) -> list[CaseResult]:
    """Run one case file against ``policy``; raises PolicyError for a malformed file or a
    case naming an unknown rule."""
    file = str(path)
    cf, lines = parse_case_file(path.read_text(encoding="utf-8"), file)
    known = {*policy.rule_ids, PLAN_VALID, COSTS_CONSISTENT}
    issues = [PolicyIssue(file, lines[i], f"case {c.name!r} names unknown rule {rid!r}")
              for i, c in enumerate(cf.cases) for rid in (*c.denied_by, *c.warned_by)
              if rid not in known]
    if issues:
        raise PolicyError(issues)
    try:
        network = scenario_network(cf.network)
    except CelltwinError as exc:
        raise PolicyError(PolicyIssue(file, 1, str(exc))) from exc
    out = []
    for c, line in zip(cf.cases, lines, strict=True):
        verdict = policy.check_plan({**cf.base_plan, **c.plan}, network)
        denied = {r.rule_id for r in verdict.violations}
        warned = {r.rule_id for r in verdict.warnings}
        problems = []
        if c.expect == "pass" and not verdict.passed:
            problems.append("expected pass, denied by " + ", ".join(
                f"{r.rule_id} ({r.summary})" for r in verdict.violations))
        if c.expect == "deny" and verdict.passed:
            problems.append("expected deny, but the plan passed")
        missing = [r for r in c.denied_by if r not in denied]
        if c.expect == "deny" and not verdict.passed and missing:
            problems.append(f"expected denial by {missing}, denied by {sorted(denied)}")
        missing_w = [r for r in c.warned_by if r not in warned]
        if missing_w:
            problems.append(f"expected warnings from {missing_w}, got {sorted(warned)}")
        detail = "; ".join(problems) if problems else (
            "denied by " + ", ".join(sorted(denied)) if denied else
            "passed" + (f" (warnings: {', '.join(sorted(warned))})" if warned else ""))
        out.append(CaseResult(path.name, line, c.name, c.expect, not problems, detail,
                              tuple(c.denied_by)))
    return out


def case_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{CASES_SUFFIX}"))


def run_policy_cases(path: str | Path | None = None) -> CaseReport:
    """Load the policy in ``path`` (a folder) and run every case file in it. A case file must
    sit beside its rule file (``x_cases.yaml`` next to ``x.yaml``)."""
    folder = resolve_policy_path(path)
    if not folder.is_dir():
        raise PolicyError(PolicyIssue(str(folder), 0, "policy test needs a policy folder"))
    policy = load_policy(folder)
    report = CaseReport(policy=str(folder))
    files = case_files(folder)
    if not files:
        raise PolicyError(PolicyIssue(str(folder), 0, "no case files (*_cases.yaml) here; "
                                      "write one beside each rule file"))
    rule_names = {p.name for p in rule_files(folder)}
    issues = [PolicyIssue(str(f), 0, f"no rule file {f.name.removesuffix(CASES_SUFFIX)}.yaml "
                          f"beside this case file") for f in files
              if f.name.removesuffix(CASES_SUFFIX) + ".yaml" not in rule_names]
    if issues:
        raise PolicyError(issues)
    check_total_size([f.read_text(encoding="utf-8") for f in files], str(folder),
                     "case files")
    denied_somewhere: set[str] = set()
    for f in files:
        results = run_case_file(policy, f)
        report.results += results
        if len(report.results) > MAX_CASES_TOTAL:
            raise PolicyError(PolicyIssue(str(f), 0, f"more than {MAX_CASES_TOTAL} cases in "
                                          "the case files together (limit MAX_CASES_TOTAL)"))
        for r in results:
            denied_somewhere |= set(r.denied_by)
    report.untested_deny_rules = [s.rule.id for s in policy.rules
                                  if s.rule.severity == "deny"
                                  and s.rule.id not in denied_somewhere]
    return report


def policy_folders(path: str | Path | None) -> list[Path]:
    """Folders ``policy test`` runs: None -> the shipped default and strict policies; a folder
    with rule files -> itself; else its sub-folders that hold rule files."""
    if path is None:
        return [resolve_policy_path("default"), resolve_policy_path("strict")]
    p = resolve_policy_path(path)
    if p.is_dir() and not rule_files(p):
        subs = [q for q in sorted(p.iterdir()) if q.is_dir() and rule_files(q)]
        if subs:
            return subs
    return [p]
