"""The policy in force: read, replace (YAML rule files), validate."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies import PolicySet

MAX_FILES = 50
MAX_TEXT = 200_000


class PolicyUpdate(BaseModel):
    """New rule files: ``yaml`` (one file, named ``name``) or ``files`` (file name -> YAML
    text). Case files (``*_cases.yaml``) are ignored by the engine."""

    model_config = ConfigDict(extra="forbid")
    yaml: str | None = Field(None, max_length=MAX_TEXT, description="one rule file's YAML")
    name: str = Field("policy.yaml", pattern=r"^[A-Za-z0-9_.-]{1,100}\.ya?ml$")
    files: dict[str, str] | None = Field(None, max_length=MAX_FILES,
                                         description="file name -> YAML text")

    @model_validator(mode="after")
    def _one_source(self) -> PolicyUpdate:
        if (self.yaml is None) == (self.files is None):
            raise ValueError("give either 'yaml' (one rule file) or 'files' (name -> YAML), "
                             "not both or neither")
        if self.files is not None:
            if not self.files:
                raise ValueError("'files' is empty; give at least one rule file")
            for name, text in self.files.items():
                if not (name.endswith((".yaml", ".yml")) and 0 < len(name) <= 100
                        and all(c.isalnum() or c in "_.-" for c in name)):
                    raise ValueError(f"file name {name!r}: use letters, digits, '_', '.', '-' "
                                     "and end in .yaml or .yml")
                if len(text) > MAX_TEXT:
                    raise ValueError(f"file {name!r} is longer than {MAX_TEXT} characters")
        return self

    def as_files(self) -> dict[str, str]:
        return {self.name: self.yaml} if self.yaml is not None else dict(self.files or {})


class RuleSummary(BaseModel):
    id: str
    kind: str
    severity: str
    message: str
    file: str
    line: int


class PolicyPublic(BaseModel):
    version: int | None = Field(description="stored version; null = the shipped default")
    policy_hash: str
    created_by: str | None
    files: dict[str, str]
    rules: list[RuleSummary]


class PolicyIssuePublic(BaseModel):
    file: str
    line: int
    message: str


class PolicyValidation(BaseModel):
    valid: bool
    policy_hash: str | None
    rules: list[RuleSummary]
    issues: list[PolicyIssuePublic]


def rule_summaries(policy: PolicySet) -> list[RuleSummary]:
    return [RuleSummary(id=s.rule.id, kind=s.rule.kind_name, severity=s.rule.severity,
                        message=s.rule.message, file=Path(s.file).name, line=s.line)
            for s in policy.rules]
