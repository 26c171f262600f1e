"""``POST /policies/test``: run policy case files (plans that must pass, plans that must be
denied) against rule files, the policy in force by default; the edited files of the UI's
Policies page can be tested before they replace anything."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PolicyDep, SessionDep, ViewerDep
from api.errors import ApiError
from api.schemas.common import ERRORS
from api.schemas.policies import MAX_FILES, MAX_TEXT
from policies.cases import case_files, run_policy_cases
from policies.engine import CASES_SUFFIX, shipped_dir
from policies.errors import PolicyError, PolicyIssue

router = APIRouter(prefix="/policies", tags=["policies"], responses=ERRORS)


class PolicyTestRequest(BaseModel):
    """Rule files and case files (``*_cases.yaml``), file name -> YAML; omitted: the policy in
    force. Rule files without a case file get the shipped default's case file of that name."""

    model_config = ConfigDict(extra="forbid")
    files: dict[str, str] | None = Field(None, max_length=MAX_FILES)


def shipped_cases() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in case_files(shipped_dir("default"))}


def with_cases(files: dict[str, str]) -> dict[str, str]:
    """The files plus the shipped case file of every rule file that has none."""
    out = dict(files)
    shipped = shipped_cases()
    for name in files:
        if name.endswith(CASES_SUFFIX):
            continue
        case = name.rsplit(".", 1)[0] + CASES_SUFFIX
        if case not in out and case in shipped:
            out[case] = shipped[case]
    return out


@router.post("/test")
def test_policy(body: PolicyTestRequest, _user: ViewerDep, db: SessionDep,
                policy: PolicyDep) -> dict[str, Any]:
    """Every case's outcome (``ok``, ``detail``), the deny rules no case exercises, and the
    case files used. A malformed rule or case file is a 422 with file and line."""
    files = dict(body.files) if body.files else dict(policy.current(db).files)
    for name, text in files.items():
        if not (name.endswith((".yaml", ".yml")) and 0 < len(name) <= 100
                and all(c.isalnum() or c in "_.-" for c in name)) or len(text) > MAX_TEXT:
            raise ApiError(422, f"file name {name!r}: use letters, digits, '_', '.', '-', end "
                           f"in .yaml, at most {MAX_TEXT} characters")
    files = with_cases(files)
    with tempfile.TemporaryDirectory(prefix="celltwin-policy-test-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
        try:
            report = run_policy_cases(d)
        except PolicyError as exc:  # name the files as the client sent them, not the temp dir
            raise PolicyError([PolicyIssue(Path(i.file).name, i.line, i.message.replace(
                str(d) + "/", "")) for i in exc.issues]) from None
    return {"ok": report.ok, "n_cases": len(report.results), "n_failed": report.n_failed,
            "results": [{"file": r.file, "line": r.line, "name": r.name, "expect": r.expect,
                         "ok": r.ok, "detail": r.detail} for r in report.results],
            "untested_deny_rules": report.untested_deny_rules,
            "case_files": sorted(n for n in files if n.endswith(CASES_SUFFIX))}
