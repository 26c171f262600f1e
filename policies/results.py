"""Outcomes of rules: a per-action :class:`Violation` and a per-rule :class:`RuleResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["deny", "warn"]


@dataclass(frozen=True)
class Violation:
    """One rule broken by one action (or by the plan, ``action_index`` None)."""

    rule_id: str
    severity: Severity
    message: str          # the rule's message, written for a planner
    problem: str          # what exactly is wrong, with the numbers
    action_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "message": self.message,
                "problem": self.problem, "action_index": self.action_index}


@dataclass(frozen=True)
class Outcome:
    """What a rule found on a plan: ``passed``, a one-line ``summary`` with the numbers, and
    ``details`` (JSON-ready)."""

    passed: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleResult:
    """The verdict of one rule on one plan."""

    rule_id: str
    kind: str
    severity: Severity
    passed: bool
    message: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    file: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.rule_id, "kind": self.kind, "severity": self.severity,
                "passed": self.passed, "message": self.message, "summary": self.summary,
                "details": self.details, "file": self.file}
