"""The policy in force: get (viewer), replace (admin), validate without replacing (planner)."""

from __future__ import annotations

from fastapi import APIRouter

from api.audit import record
from api.deps import AdminDep, PlannerDep, PolicyDep, SessionDep, ViewerDep
from api.schemas.common import ERRORS
from api.schemas.policies import (
    PolicyIssuePublic,
    PolicyPublic,
    PolicyUpdate,
    PolicyValidation,
    rule_summaries,
)
from policies import PolicyError

router = APIRouter(prefix="/policies", tags=["policies"], responses=ERRORS)


@router.get("", response_model=PolicyPublic)
def get_policy(_user: ViewerDep, db: SessionDep, policy: PolicyDep) -> PolicyPublic:
    pv = policy.current(db)
    return PolicyPublic(version=pv.version, policy_hash=pv.policy.policy_hash,
                        created_by=pv.created_by, files=pv.files,
                        rules=rule_summaries(pv.policy))


@router.put("", response_model=PolicyPublic)
def replace_policy(body: PolicyUpdate, user: AdminDep, db: SessionDep,
                   policy: PolicyDep) -> PolicyPublic:
    """Replace the policy in force (422 with every problem, file and line, if it does not
    load; the old policy stays). Plans started afterwards use the new one."""
    old = policy.current(db)
    pv = policy.replace(db, body.as_files(), user.name)
    record(db, user, "policy.replace", details={"version": pv.version,
                                                "policy_hash": pv.policy.policy_hash,
                                                "previous_hash": old.policy.policy_hash,
                                                "files": sorted(pv.files)})
    db.commit()
    return PolicyPublic(version=pv.version, policy_hash=pv.policy.policy_hash,
                        created_by=pv.created_by, files=pv.files,
                        rules=rule_summaries(pv.policy))


@router.post("/validate", response_model=PolicyValidation)
def validate_policy(body: PolicyUpdate, _user: PlannerDep, policy: PolicyDep
                    ) -> PolicyValidation:
    """Check rule files without replacing anything: ``valid`` and every issue."""
    try:
        p = policy.validate(body.as_files())
    except PolicyError as exc:
        return PolicyValidation(valid=False, policy_hash=None, rules=[], issues=[
            PolicyIssuePublic(file=i.file, line=i.line, message=i.message)
            for i in exc.issues])
    return PolicyValidation(valid=True, policy_hash=p.policy_hash, rules=rule_summaries(p),
                            issues=[])
