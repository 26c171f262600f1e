"""The typed error of a policy that cannot be loaded: every problem names its file and line."""

from __future__ import annotations

from dataclasses import dataclass

from twin.errors import InputFileError


@dataclass(frozen=True)
class PolicyIssue:
    """One problem in one file: ``file`` as given (a path or an upload name), 1-based ``line``
    (0 when the problem is not tied to a line, e.g. an empty directory)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else \
            f"{self.file}: {self.message}"


class PolicyError(InputFileError):
    """A policy (rule files or case files) is malformed; ``issues`` lists every problem.

    Raised before anything is replaced: a store that fails to load a new policy keeps the old one.
    """

    def __init__(self, issues: list[PolicyIssue] | PolicyIssue) -> None:
        self.issues = [issues] if isinstance(issues, PolicyIssue) else list(issues)
        lines = "; ".join(str(i) for i in self.issues)
        super().__init__(f"invalid policy: {lines}")

    @property
    def first(self) -> PolicyIssue:
        return self.issues[0]
