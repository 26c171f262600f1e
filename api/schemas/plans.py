"""Plans: the request that starts a planning job, its public view, verify and approve."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.db.models import ApprovalRow, PlanRow, utcnow
from api.progress import eta_s
from api.redact import without_paths

if TYPE_CHECKING:
    from api.verdicts import Standing
from planner.intent.model import PlanningIntent
from planner.plan import DEFAULT_BUDGET_EUR, DEFAULT_MAX_ACTIONS, DEFAULT_TARGET
from planner.result import ActionRow, CellRow, GateVerdict, Kpis, PlanResult

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
                              "locations (false with an intent: add_small_cell is forbidden)")
    intent: PlanningIntent | None = Field(None, description=(
        "a planning intent (the `intent` of POST /networks/{id}/intents): planned in full as "
        "`celltwin plan --intent` does (target, budget, most actions, hours or window, area, "
        "allowed and forbidden kinds, protected cells and sites); target, budget_eur, "
        "max_actions and horizon then come from it (given as well, they must agree)"))
    intent_document: dict[str, Any] | None = Field(None, description=(
        "instead of `intent`: its TS 28.312-style document (the `document` of POST "
        "/networks/{id}/intents)"))


class ApprovalPublic(BaseModel):
    approver: str
    role: str
    approved_at: datetime
    comment: str
    policy_version: int | None = Field(description="the policy version in force when it was "
                                       "given (null: the shipped default)")
    policy_hash: str
    stale: bool = Field(description="given under another policy than the one in force: it "
                        "no longer counts, the plan needs approving again")

    @classmethod
    def of(cls, a: ApprovalRow, current_hash: str) -> ApprovalPublic:
        return cls(approver=a.approver, role=a.role, approved_at=a.approved_at,
                   comment=a.comment, policy_version=a.policy_version,
                   policy_hash=a.policy_hash, stale=a.policy_hash != current_hash)


class PolicyCurrent(BaseModel):
    """The plan under the policy in force (api/verdicts.py)."""

    version: int | None = Field(description="the policy in force (null: the shipped default)")
    policy_hash: str
    stale: bool = Field(description="the stored verdict (policy_passed) was made under another "
                        "policy; passed is the policy in force re-evaluated on the result")
    passed: bool | None = Field(description="the verdict of the policy in force, counting only "
                                "approvals given under it")
    violations: list[str] | None = Field(description="its failed deny rules, approval rules "
                                         "included (null in lists when the stored verdict is "
                                         "current)")
    status: Literal["approved", "draft", "denied"] | None = Field(
        description="approved; draft: not approved yet (only approval rules may fail); "
        "denied: another deny rule fails (null in lists when the stored verdict fails)")


class PlanPublic(BaseModel):
    id: str
    network_id: str
    status: PlanStatus
    progress: float = Field(description="0..1")
    stage: str
    eta_s: float | None = Field(None, description="while running: estimated seconds left "
                                "(the pace so far; null before the first linearisation)")
    params: dict[str, Any]
    error: str | None
    cancel_requested: bool
    revision: int = Field(description="counts the changes of the plan's content (saved edits, "
                          "approvals); an approval may name the revision it reviewed")
    policy_passed: bool | None = Field(description="the stored verdict of the policy gate on "
                                       "the result, made under policy_version")
    policy_version: int | None = Field(description="the policy version the stored verdict was "
                                       "made under (null: the shipped default)")
    policy_hash: str = Field(description="that policy's hash")
    policy_passed_current: bool | None = Field(description="the verdict of the policy in force "
                                               "(= policy_current.passed)")
    policy_current: PolicyCurrent | None = Field(description="the plan under the policy in "
                                                 "force; null until the plan is done")
    approved: bool = Field(description="approved under the policy in force, and its verdict "
                           "passes")
    approvals: list[ApprovalPublic]
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    result: PlanResult | None = Field(
        None, description="when done: the JSON of `celltwin plan --json`")

    @classmethod
    def of(cls, row: PlanRow, st: Standing, with_result: bool = True) -> PlanPublic:
        approvals = [ApprovalPublic.of(a, st.policy_hash) for a in row.approvals]
        current = None if row.status != "done" else PolicyCurrent(
            version=st.version, policy_hash=st.policy_hash, stale=st.stale, passed=st.passed,
            violations=st.violations, status=st.status)
        return cls(id=row.id, network_id=row.network_id, status=row.status,  # type: ignore[arg-type]
                   progress=row.progress, stage=row.stage,
                   eta_s=None if row.status != "running" else eta_s(
                       row.progress, row.started_at, row.updated_at, utcnow(),
                       int(row.params.get("max_iterations", 5))),
                   params=without_paths(dict(row.params)),
                   error=row.error, cancel_requested=row.cancel_requested,
                   revision=row.revision,
                   policy_passed=row.verdict_passed,
                   policy_version=row.verdict_policy_version,
                   policy_hash=row.verdict_policy_hash, policy_passed_current=st.passed,
                   policy_current=current, approved=st.approved,
                   approvals=approvals, created_at=row.created_at, created_by=row.created_by,
                   started_at=row.started_at, finished_at=row.finished_at,
                   result=PlanResult.model_validate(without_paths(row.result))
                   if with_result and row.result is not None else None)


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
    before: Kpis
    after: Kpis
    actions: list[ActionRow]
    cells_after: list[CellRow]
    policy: GateVerdict
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
    revision: int
    policy: dict[str, Any]


class PlanAudit(BaseModel):
    """Everything recorded about a plan: provenance, approvals and the audit events."""

    plan_id: str
    provenance: dict[str, Any]
    approvals: list[ApprovalPublic]
    events: list[dict[str, Any]]
