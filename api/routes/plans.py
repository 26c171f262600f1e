"""Plans: start a planning job, follow it, cancel it, verify an edit, approve, audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api import crud
from api.audit import record
from api.db.models import LIVE_STATUSES, PLAN_STATUSES, ApprovalRow, AuditRow, PlanRow, utcnow
from api.deps import (
    ApproverDep,
    CacheDep,
    JobsDep,
    PlannerDep,
    PolicyDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
)
from api.errors import ApiError, conflict
from api.jobs import owner_id
from api.planning import blocking_violations, check_llm_model, gate, plan_intent, verify_edit
from api.redact import without_paths
from api.schemas.common import CONFLICT, ERRORS, NOT_FOUND
from api.schemas.plans import (
    ApprovalPublic,
    ApproveRequest,
    ApproveResult,
    PlanAudit,
    PlanCreate,
    PlanCreated,
    PlanPublic,
    PlansPublic,
    VerifyRequest,
    VerifyResult,
)
from api.verdicts import approval_docs, in_force, standing

router = APIRouter(tags=["plans"], responses=ERRORS)


@router.post("/networks/{network_id}/plans", status_code=202, response_model=PlanCreated,
             responses={**NOT_FOUND, 503: {"description": "the job backend is unavailable"}})
def create_plan(network_id: str, body: PlanCreate, user: PlannerDep, db: SessionDep,
                jobs: JobsDep, policy: PolicyDep, settings: SettingsDep,
                cache: CacheDep) -> JSONResponse:
    """Queue a planning job; poll ``GET /plans/{id}`` for progress and the result. With an
    ``intent`` (or ``intent_document``) it is checked on the network first (422, nothing
    queued, when it names what the network lacks) and planned in full."""
    net = crud.get_network(db, network_id)
    params: dict[str, Any] = body.model_dump(mode="json")
    pv = policy.current(db)
    if body.intent is not None or body.intent_document is not None:
        plan_intent(params, body.model_fields_set, cache.loaded(net).scenario.network,
                    pv.policy)
    else:
        params.pop("intent", None)
        params.pop("intent_document", None)
    check_llm_model(params, settings)
    params["policy_version"] = pv.version
    params["policy_hash"] = pv.policy.policy_hash
    row = PlanRow(network_id=net.id, status="queued", progress=0.0, stage="queued",
                  params=params, owner=owner_id(), created_by=user.name)
    db.add(row)
    db.flush()
    record(db, user, "plan.create", network_id=net.id, plan_id=row.id, details=params)
    db.commit()
    try:
        jobs.submit(row.id)
    except Exception as exc:
        row.status, row.stage = "failed", "failed: the job backend is unavailable"
        row.error = f"cannot start the job: {type(exc).__name__}: {exc}"
        row.finished_at = utcnow()
        db.commit()
        raise ApiError(503, f"the planning backend ({jobs.backend}) is unavailable: {exc}; "
                       "check CELLTWIN_JOB_BACKEND / CELLTWIN_DASK_SCHEDULER") from exc
    url = f"/api/v1/plans/{row.id}"
    return JSONResponse(PlanCreated(id=row.id, status="queued", url=url).model_dump(),
                        status_code=202, headers={"Location": url})


@router.get("/plans", response_model=PlansPublic)
def list_plans(_user: ViewerDep, db: SessionDep, cache: CacheDep, policy: PolicyDep,
               network_id: Annotated[str | None, Query(max_length=64)] = None,
               status: Annotated[str | None, Query(pattern="^(" + "|".join(PLAN_STATUSES)
                                                   + ")$")] = None,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> PlansPublic:
    """Plans, newest first (without their results; get one plan for its result)."""
    rows, total = crud.list_plans(db, offset, limit, network_id, status)
    pv = policy.current(db)
    return PlansPublic(items=[PlanPublic.of(r, standing(r, pv, cache, detail=False),
                                            with_result=False) for r in rows], count=total)


@router.get("/plans/{plan_id}", response_model=PlanPublic, responses=NOT_FOUND)
def get_plan(plan_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
             policy: PolicyDep) -> PlanPublic:
    """Status, progress (0..1), stage and, when done, the result, the stored verdict and the
    verdict of the policy in force (``policy_current``)."""
    row = crud.get_plan(db, plan_id)
    return PlanPublic.of(row, standing(row, policy.current(db), cache))


@router.post("/plans/{plan_id}/cancel", response_model=PlanPublic,
             responses={**NOT_FOUND, **CONFLICT,
                        202: {"model": PlanPublic, "description": "cancel requested; the job "
                              "stops after its current stage"}})
def cancel_plan(plan_id: str, user: PlannerDep, db: SessionDep, response: Response,
                cache: CacheDep, policy: PolicyDep) -> PlanPublic:
    row = crud.get_plan(db, plan_id)
    if row.status not in LIVE_STATUSES:
        raise conflict(f"the plan is {row.status}; only queued or running plans can be "
                       "cancelled")
    if row.status == "queued":
        row.status, row.stage = "cancelled", "cancelled before it started"
        row.finished_at = row.updated_at = utcnow()
    else:
        row.cancel_requested = True
        row.updated_at = utcnow()
        response.status_code = 202
    record(db, user, "plan.cancel", network_id=row.network_id, plan_id=row.id,
           details={"status": row.status})
    db.commit()
    return PlanPublic.of(row, standing(row, policy.current(db), cache))


@router.post("/plans/{plan_id}/verify", response_model=VerifyResult,
             responses={**NOT_FOUND, **CONFLICT})
def verify_plan(plan_id: str, body: VerifyRequest, user: PlannerDep, db: SessionDep,
                cache: CacheDep, policy: PolicyDep) -> VerifyResult:
    """Run the twin with an edited action list and gate it with the policy in force. Saving
    is refused (409) once the plan is approved, also when an approval lands while the twin
    runs."""
    row = crud.get_plan(db, plan_id)
    seen = row.revision
    if body.save and row.status != "done":
        raise conflict(f"the plan is {row.status}; only a finished plan can be replaced by "
                       "an edit")
    if body.save and row.approvals:
        raise conflict("the plan is approved; an approved plan cannot be edited, start a new "
                       "plan instead")
    original = row.result or {"scenario": row.network.name, "target": row.params["target"],
                              "budget": row.params["budget_eur"],
                              "horizon": row.params.get("horizon", "busy")}
    loaded = cache.loaded(row.network)
    pv = policy.current(db)
    edited = verify_edit(loaded, original, body.actions, pv.policy)
    passed = edited["policy"].get("passed") is not False
    if body.save:
        edited["edited"] = {"by": user.name, "at": utcnow().isoformat(),
                            "previous_actions": (row.result or {}).get("actions", [])}
        crud.bump_revision(db, row, seen, result=edited,
                           verdict_passed=edited["policy"].get("passed"),
                           verdict_policy_version=pv.version,
                           verdict_policy_hash=pv.policy.policy_hash)
    record(db, user, "plan.edit" if body.save else "plan.verify", network_id=row.network_id,
           plan_id=row.id, details={"actions": edited["actions"], "passed": passed,
                                    "peak_after": edited["peak_after"],
                                    "policy_hash": pv.policy.policy_hash,
                                    "violations": [v.get("id") for v in
                                                   edited["policy"].get("violations", [])]})
    db.commit()
    return VerifyResult(plan_id=row.id, passed=passed, verified=bool(edited["verified"]),
                        target=float(edited["target"]), target_met=bool(edited["target_met"]),
                        converged=bool(edited["converged"]),
                        peak_before=float(edited["peak_before"]),
                        peak_after=float(edited["peak_after"]),
                        total_cost=float(edited["total_cost"]), before=edited["before"],
                        after=edited["after"], actions=edited["actions"],
                        cells_after=edited["cells_after"],
                        policy=without_paths(edited["policy"]),
                        saved=body.save)


@router.post("/plans/{plan_id}/approve", status_code=201, response_model=ApproveResult,
             responses={**NOT_FOUND, **CONFLICT})
def approve_plan(plan_id: str, body: ApproveRequest, user: ApproverDep, db: SessionDep,
                 cache: CacheDep, policy: PolicyDep) -> ApproveResult:
    """Record an approval. Refused (409) unless the plan is done and the policy in force
    passes it (approval rules aside: an approval is what satisfies them)."""
    row = crud.get_plan(db, plan_id)
    seen = row.revision
    if row.status != "done" or row.result is None:
        raise conflict(f"the plan is {row.status}; only a finished plan can be approved")
    if body.revision is not None and body.revision != seen:
        raise conflict(f"the plan is at revision {seen}, you reviewed revision "
                       f"{body.revision}: it was edited since; reload it and review it again")
    pv = policy.current(db)
    valid = [a for a in row.approvals if in_force(a, pv)]  # approvals under older policies
    if any(a.approver == user.name for a in valid):        # no longer count
        raise conflict(f"{user.name} has already approved this plan")
    now = utcnow()
    approvals = [*approval_docs(valid),
                 {"by": user.name, "role": user.role.name, "at": now.isoformat()}]
    verdict = gate(cache.loaded(row.network), row.result, pv.policy, approvals)
    blocking = blocking_violations(verdict)
    if blocking:
        raise ApiError(409, "the policy gate denies this plan: " + "; ".join(
            f"{r.get('id')}: {r.get('summary')}" for r in blocking) + ". Edit the plan "
            "(POST /plans/{id}/verify with save=true) or re-plan.",
            violations=blocking)
    passed = bool(verdict.get("passed"))
    revision = crud.bump_revision(db, row, seen, result={**row.result, "policy": verdict,
                                                         "approvals": approvals},
                                  verdict_passed=passed, verdict_policy_version=pv.version,
                                  verdict_policy_hash=pv.policy.policy_hash)
    approval = ApprovalRow(plan_id=row.id, approver=user.name, role=user.role.name,
                           approved_at=now, comment=body.comment,
                           policy_hash=pv.policy.policy_hash, policy_version=pv.version)
    db.add(approval)
    record(db, user, "plan.approve", network_id=row.network_id, plan_id=row.id,
           details={"comment": body.comment, "policy_version": pv.version,
                    "policy_hash": pv.policy.policy_hash, "policy_passed": passed})
    db.commit()
    return ApproveResult(plan_id=row.id,
                         approval=ApprovalPublic.of(approval, approval.policy_hash),
                         approved=passed, revision=revision, policy=without_paths(verdict))


@router.get("/plans/{plan_id}/audit", response_model=PlanAudit, responses=NOT_FOUND)
def plan_audit(plan_id: str, _user: ViewerDep, db: SessionDep, policy: PolicyDep
               ) -> PlanAudit:
    """Provenance (code version, hashes, model, prompts, solver summary), approvals and every
    recorded event of the plan."""
    row = crud.get_plan(db, plan_id)
    current_hash = policy.current(db).policy.policy_hash
    events = db.query(AuditRow).filter(AuditRow.plan_id == plan_id).order_by(AuditRow.id).all()
    return PlanAudit(plan_id=row.id, provenance=without_paths(dict(row.provenance or {})),
                     approvals=[ApprovalPublic.of(a, current_hash) for a in row.approvals],
                     events=[{"id": e.id, "at": e.at.isoformat(), "actor": e.actor,
                              "role": e.role, "action": e.action,
                              "details": without_paths(e.details)}
                             for e in events])
