"""Plans: the request that starts a planning job, its public view, verify and approve."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.db.models import ApprovalRow, PlanRow
from api.redact import without_paths
from planner.plan import DEFAULT_BUDGET_EUR, DEFAULT_MAX_ACTIONS, DEFAULT_TARGET

PlanStatus = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]


class PlanCreate(BaseModel):
    """What to plan for (the options of ``celltwin plan``)."""

    model_config = ConfigDict(extra="forbid")
    target: float = Field(DEFAULT_TARGET, gt=0, le=10,
                          description="peak PRB utilisation to reach (fraction)")
    budget_eur: float = Field(DEFAULT_BUDGET_EUR, ge=0, le=1e9,
                              description="budget in the cost catalogue's currency")
    max_actions: int = Field(DEFAULT_MAX_ACTIONS, ge=0, le=50)
    max_iterations: int = Field(5, ge=1, le=10, description="select-verify rounds at most")
    horizon: Literal["busy", "day"] = "busy"
    solver: Literal["cbc", "highs"] = "cbc"
    proposer: Literal["systematic", "llm"] = Field(
        "systematic", description="systematic candidate generator only, or the LLM "
        "proposer on top of it")
    llm_model: str | None = Field(None, max_length=500, description="with proposer 'llm': "
                                  "'embedded' (default) or the id of another model GET /models "
                                  "lists")
    max_neighbours: int = Field(6, ge=0, le=30, description="neighbour cells of the hot "
                                "cells the generator also changes (0: hot cells only)")
    small_cells: bool = Field(True, description="propose new small cells at candidate "
                              "locations")


class ApprovalPublic(BaseModel):
    approver: str
    role: str
    approved_at: datetime
    comment: str
    policy_hash: str

    @classmethod
    def of(cls, a: ApprovalRow) -> ApprovalPublic:
        return cls(approver=a.approver, role=a.role, approved_at=a.approved_at,
                   comment=a.comment, policy_hash=a.policy_hash)


class PlanPublic(BaseModel):
    id: str
    network_id: str
    status: PlanStatus
    progress: float = Field(description="0..1")
    stage: str
    params: dict[str, Any]
    error: str | None
    cancel_requested: bool
    revision: int = Field(description="counts the changes of the plan's content (saved edits, "
                          "approvals); an approval may name the revision it reviewed")
    policy_passed: bool | None = Field(description="the policy gate's verdict on the result")
    approved: bool = Field(description="approved and the verdict passes")
    approvals: list[ApprovalPublic]
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = Field(
        None, description="when done: the JSON of `celltwin plan --json`")

    @classmethod
    def of(cls, row: PlanRow, with_result: bool = True) -> PlanPublic:
        approvals = [ApprovalPublic.of(a) for a in row.approvals]
        return cls(id=row.id, network_id=row.network_id, status=row.status,  # type: ignore[arg-type]
                   progress=row.progress, stage=row.stage,
                   params=without_paths(dict(row.params)),
                   error=row.error, cancel_requested=row.cancel_requested,
                   revision=row.revision,
                   policy_passed=row.verdict_passed,
                   approved=bool(approvals) and row.verdict_passed is True,
                   approvals=approvals, created_at=row.created_at, created_by=row.created_by,
                   started_at=row.started_at, finished_at=row.finished_at,
                   result=without_paths(row.result) if with_result else None)


class PlansPublic(BaseModel):
    items: list[PlanPublic]
    count: int


class PlanCreated(BaseModel):
    id: str
    status: PlanStatus
    url: str


class VerifyRequest(BaseModel):
    """An edited action list (rows as in the plan's ``actions``; ``cost``, ``targets``,
    ``description`` are ignored and re-priced)."""

    model_config = ConfigDict(extra="forbid")
    actions: list[dict[str, Any]] = Field(max_length=200)
    save: bool = Field(False, description="replace the plan's result by this verified edit "
                       "(not allowed once the plan is approved)")


class VerifyResult(BaseModel):
    plan_id: str
    passed: bool = Field(description="the policy gate's verdict on the edited plan")
    verified: bool = Field(description="target met and load fixed point converged")
    target: float
    target_met: bool
    converged: bool
    peak_before: float
    peak_after: float
    total_cost: float
    before: dict[str, Any]
    after: dict[str, Any]
    actions: list[dict[str, Any]]
    cells_after: list[dict[str, Any]]
    policy: dict[str, Any]
    saved: bool


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field("", max_length=2000)
    revision: int | None = Field(None, ge=0, le=2**31 - 1, description="the plan's "
                                 "`revision` the approver reviewed: 409 if it was edited since "
                                 "(omitted: the plan as it is)")


class ApproveResult(BaseModel):
    plan_id: str
    approval: ApprovalPublic
    approved: bool
    policy: dict[str, Any]


class PlanAudit(BaseModel):
    """Everything recorded about a plan: provenance, approvals and the audit events."""

    plan_id: str
    provenance: dict[str, Any]
    approvals: list[ApprovalPublic]
    events: list[dict[str, Any]]
