"""The plan result as a typed document: what ``celltwin plan --json`` prints, what
``GET /plans/{id}`` returns as ``result`` (its schema in /openapi.json) and what the exports
read.

Every model keeps the keys it was given and only those (:class:`Doc`): a document read back
from storage serialises to the same JSON, keys added by later steps (an edit, approvals, the
intent of ``--ask``) are kept, and an older stored plan without a newer optional key is still
valid. Numbers that may be undefined (a percentile of no users) are ``null``, as NaN is not
JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class Doc(BaseModel):
    """A JSON object with typed known keys; unknown keys are kept as they are."""

    model_config = ConfigDict(extra="allow")

    # No return annotation: pydantic would take it for the JSON schema of the serialised model
    # (a bare object) instead of the model's fields.
    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        out = handler(self)
        for name in type(self).model_fields:
            if name not in self.model_fields_set:
                out.pop(name, None)
        return out

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (NaN as null)."""
        return self.model_dump(mode="json")


class Kpis(Doc):
    """Network KPIs of one hour (:func:`twin.kpis.compute_kpis`)."""

    peak_prb_util: float
    mean_prb_util: float
    jain_index: float | None = None
    n_overloaded: int
    coverage: float | None = None
    unserved_mbps: float | None = None
    served_mbps: float | None = None
    offered_mbps: float | None = None
    p5_user_thr_mbps: float | None = None
    busiest_cell: str | None = None
    overload_threshold: float | None = None


class CostDetail(Doc):
    capex_eur: float
    opex_eur_per_year: float
    total_eur: float


class ActionRow(Doc):
    """One action of the plan: the action's own fields (``kind`` and its parameters, as
    :mod:`actions.models` defines them per kind), its price and description."""

    kind: str
    rationale: str = ""
    targets: list[str] = []
    cost: float
    cost_detail: CostDetail | None = None
    description: str = ""
    source: str | None = None
    work_order: dict[str, Any] | None = None


class CellRow(Doc):
    cell_id: str
    prb_util: float | None
    p5_user_thr_mbps: float | None = None


class PredictedRow(Doc):
    """Per cell at the busy hour: the linear model's utilisation and the twin's."""

    cell_id: str
    prb_util: float | None
    verified_prb_util: float | None
    error: float | None


class LowerBound(Doc):
    peak_prb_util: float | None = None
    first_model: float | None = None
    method: str = ""


class CandidatesSummary(Doc):
    """The candidates the loop considered (:func:`planner.candidates.summary` and more)."""

    n: int = 0
    by_kind: dict[str, int] = {}
    focus_hot: list[str] = []
    focus_neighbours: list[str] = []
    focus_sites: list[str] = []
    denied_by_policy: list[Any] = []
    notes: list[str] = []
    generated: list[dict[str, Any]] = []


class RoundRecord(Doc):
    """One select-verify round (:mod:`planner.loop`); the keys after ``trust_radius`` are
    there when the MILP found a plan that was verified."""

    iteration: int
    n_candidates: int | None = None
    reference: list[str] = []
    what_ifs: int | None = None
    milp_status: str | None = None
    objective: float | None = None
    lp_bound: float | None = None
    lp_file: str | None = None
    cost_cap: float | None = None
    trust_radius: int | None = None
    chosen: list[str] = []
    cost: float | None = None
    predicted_peak: float | None = None
    verified_peak: float | None = None
    max_abs_error: float | None = None
    target_met: bool | None = None
    policy_passed: bool | None = None
    accepted: bool | None = None
    policy_violations: list[Any] = []
    relinearised_for: list[Any] = []
    next_trust_radius: int | None = None
    note: str | None = None


class FrontierPoint(Doc):
    """What one budget buys, verified by the twin (:mod:`planner.frontier`)."""

    budget_eur: float
    cost_eur: float
    peak_prb_util: float
    target_met: bool
    policy_passed: bool | None
    milp_status: str | None = None
    n_actions: int
    kinds: dict[str, int] = {}
    actions: list[str] = []


class GateVerdict(Doc):
    """The policy gate's verdict (:func:`planner.policy_gate.check_plan`)."""

    passed: bool | None
    violations: list[Any] = []
    warnings: list[Any] = []
    note: str | None = None
    detail: dict[str, Any] | None = None


class PlanResult(Doc):
    """A plan: the request, the before/after KPIs verified by the twin, the actions, the
    rounds that led to it, and the policy verdict (see :class:`planner.plan.Plan`)."""

    scenario: str
    target: float
    budget: float | None = None
    horizon: Literal["busy", "day"] = "busy"
    before: Kpis
    after: Kpis
    peak_before: float
    peak_after: float
    actions: list[ActionRow]
    total_cost: float
    verified: bool
    target_met: bool
    converged: bool
    iterations: int = 0
    lower_bound: LowerBound = LowerBound()
    solver: str = ""
    executor: str = ""
    max_actions: int | None = None
    lp_file: str | None = None
    what_ifs: int = 0
    candidates: CandidatesSummary = CandidatesSummary()
    message: str = ""
    cells_before: list[CellRow] = []
    cells_after: list[CellRow] = []
    predicted: list[PredictedRow] = []
    history: list[RoundRecord] = []
    dropped: list[dict[str, Any]] = []
    frontier: list[FrontierPoint] = []
    timings_s: dict[str, float] = {}
    policy: GateVerdict | None = None
    provenance: dict[str, Any] | None = None
    intent: dict[str, Any] | None = None
    edited: dict[str, Any] | None = None
    approvals: list[dict[str, Any]] | None = None
