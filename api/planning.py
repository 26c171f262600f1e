"""The API's side of the planner: request parameters -> :func:`planner.loop.plan_network`,
progress and stage from the planner's stage messages, cancellation between stages, and
verification of an edited action list.

Progress and cancellation use the planner's ``log`` hook, which the loop calls once after each
stage (base state, candidates, sensitivities, each select-verify round, each
re-linearisation): the hook updates the job's progress and raises :class:`JobCancelled` when a
cancel was requested, which unwinds the planner (its executor is closed in its ``finally``).
A stage in progress is not interrupted.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api.llm_models import EMBEDDED, resolve_offered
from api.network_store import LoadedNetwork
from api.settings import Settings
from planner.actions import _Action, action_to_json, describe, parse_actions, price
from planner.candidates import GeneratorOptions
from planner.costs import CostCatalogue, load_costs
from planner.executors import make_executor
from planner.generated_sites import network_for_result, twin_for_result
from planner.intent.mapping import (
    IntentPlanInputs,
    MappedOptions,
    plan_inputs,
    policy_for,
)
from planner.intent.model import PlanningIntent
from planner.intent.ts28312 import intent_from_document
from planner.loop import PlannerSettings, plan_network, report_hour
from planner.plan import clean
from planner.policy_gate import check_plan
from planner.verify import cell_rows, verify
from policies.plan import ROW_EXTRAS
from twin.errors import ModelError, ValidationError

#: Progress (0..1) at the start of the planner and when its last round is done.
P_START, P_END = 0.05, 0.97


class JobCancelled(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised from the progress hook when a cancel was requested."""


class StageTracker:
    """Turns the planner's stage messages into (stage, progress) and checks for cancel.

    Work is dominated by linearisations (one what-if per candidate): the first one and one
    after each round but the last, ``max_iterations`` in all. Progress counts them.
    """

    def __init__(self, max_iterations: int, report: Callable[[str, float], None],
                 cancelled: Callable[[], bool]) -> None:
        self.rounds = max(1, int(max_iterations))
        self.report = report
        self.cancelled = cancelled
        self.progress = P_START
        self.messages: list[str] = []

    def _at(self, done_linearisations: float) -> float:
        return 0.12 + (P_END - 0.12) * min(1.0, done_linearisations / self.rounds)

    def __call__(self, message: str) -> None:
        self.messages.append(message)
        head = message.split(":", 1)[0].strip()
        p = self.progress
        if head == "base":
            p = 0.08
        elif head == "candidates":
            p = 0.12
        elif head == "sensitivities":
            p = self._at(1)
        elif head.startswith("round"):
            try:
                k = int(head.split()[1])
            except (IndexError, ValueError):
                k = 1
            p = self._at(k + 0.1)
        elif head.startswith("re-linearised"):
            k = sum(1 for m in self.messages if m.startswith("re-linearised"))
            p = self._at(k + 1)
        self.progress = max(self.progress, min(p, P_END))
        self.report(message[:200], self.progress)
        if self.cancelled():
            raise JobCancelled()


def planner_settings(params: dict[str, Any], lp_dir: Path | None) -> PlannerSettings:
    gen = GeneratorOptions(max_neighbours=int(params.get("max_neighbours", 6)))
    if not params.get("small_cells", True):
        gen = GeneratorOptions(max_neighbours=gen.max_neighbours, small_cell_power_dbm=())
    return PlannerSettings(
        target=float(params["target"]), budget_eur=float(params["budget_eur"]),
        max_actions=int(params["max_actions"]), horizon=params.get("horizon", "busy"),
        solver=params.get("solver", "cbc"), max_iterations=int(params["max_iterations"]),
        lp_dir=str(lp_dir) if lp_dir is not None else None, generator=gen)


#: request keys an intent carries itself (PlanCreate name -> how the intent's options say it)
INTENT_KEYS = ("target", "budget_eur", "max_actions", "horizon")


def plan_intent(params: dict[str, Any], given: set[str], network: Any, policy: Any
                ) -> IntentPlanInputs | None:
    """The intent of a plan request (``params``: ``PlanCreate`` dumped; ``given``: the keys
    the client set), checked on ``network`` exactly as ``celltwin plan --intent`` checks it
    (:func:`planner.intent.mapping.plan_inputs`); None without one. Rewrites ``params`` so
    that the job plans it: ``intent`` is the checked intent, the keys of :data:`INTENT_KEYS`
    and ``hours`` are its options. Raises :class:`ValidationError` (422, nothing queued) for
    an intent and a document at once, a key that disagrees with the intent, or an intent the
    network cannot plan (unknown ids, unmatched items, every kind forbidden)."""
    doc = params.pop("intent_document", None)
    raw = params.get("intent")
    if raw is None and doc is None:
        params.pop("intent", None)
        return None
    if raw is not None and doc is not None:
        raise ValidationError("plan", "give either intent or intent_document, not both")
    intent = intent_from_document(doc) if doc is not None else \
        PlanningIntent.model_validate(raw)
    if not params.get("small_cells", True) and "add_small_cell" not in intent.forbidden_kinds:
        intent = PlanningIntent.model_validate({
            **intent.model_dump(), "forbidden_kinds": [*intent.forbidden_kinds,
                                                       "add_small_cell"]})
    inputs = plan_inputs(intent, network, policy)
    m = inputs.mapped
    carried = {"target": m.target, "budget_eur": m.budget_eur, "max_actions": m.max_actions,
               "horizon": m.horizon}
    clash = [f"{k} {params[k]!r} (the intent says {v!r})" for k, v in carried.items()
             if k in given and params[k] != v]
    if clash:
        raise ValidationError("plan", "the request disagrees with its intent on " +
                              "; ".join(clash) + ": set them in the intent, or leave them out")
    params.update(carried, hours=None if m.hours is None else list(m.hours),
                  intent=inputs.intent.to_json())
    return inputs


def job_intent(params: dict[str, Any], network: Any, policy: Any) -> IntentPlanInputs | None:
    """The job's side of :func:`plan_intent`: the stored intent checked and mapped again on
    the network the job loaded (the same function as the CLI)."""
    raw = params.get("intent")
    if raw is None:
        return None
    return plan_inputs(PlanningIntent.model_validate(raw), network, policy)


def intent_policy(result: dict[str, Any], policy: Any) -> Any:
    """``policy`` with the request-scoped rules of the plan's intent (its ``intent.
    planning_options``), so that an edit or an approval is gated as the plan was."""
    opts = (result.get("intent") or {}).get("planning_options")
    if not isinstance(opts, dict):
        return policy
    m = MappedOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()})
    return policy_for(m, policy)


def check_llm_model(params: dict[str, Any], settings: Settings) -> None:
    """For a plan that asks for the LLM: raise :class:`ModelError` (422) now, at the request,
    when ``llm_model`` is not a model the server offers (:mod:`api.llm_models`) or its file is
    not usable, so that a job that could only fail is never queued; otherwise record the
    file's path for the job in ``params["llm_model_path"]``. Loading is left to the job."""
    if params.get("proposer", "systematic") != "llm":
        return
    from planner.llm.model import resolve_model

    spec = resolve_offered(params.get("llm_model"), settings.model_dir, settings.default_model)
    if spec == EMBEDDED:
        resolve_model(spec)  # assembled once and its sha256 checked
    # A file was checked by the catalogue (it exists, GGUF magic); its sha256, seconds for a
    # multi-GB model, is left to the job, off the request path.
    params["llm_model_path"] = spec


def make_proposer(params: dict[str, Any], policy: Any = None) -> Any:
    """The LLM proposer hook of ``celltwin plan --llm`` (same resolution as the CLI), or None
    for the systematic generator alone."""
    if params.get("proposer", "systematic") != "llm":
        return None
    plan_cmd = importlib.import_module("api.commands.plan_cmd")
    build = getattr(plan_cmd, "_proposer", None)
    if build is None:
        raise ModelError("the LLM proposer is not available in this installation; use "
                         "proposer 'systematic'")
    spec = params.get("llm_model_path") or params.get("llm_model") or "embedded"
    return build(str(spec), load_costs(None), policy)


def run_planner(loaded: LoadedNetwork, params: dict[str, Any], policy: Any,
                tracker: StageTracker, lp_dir: Path | None,
                dask_address: str | None = None) -> tuple[dict[str, Any], Any]:
    """Run the planner in this process (what-ifs serially, or on Dask when an address is
    given). Returns (the plan JSON of ``celltwin plan --json``, the proposer or None)."""
    settings = planner_settings(params, lp_dir)
    asked = job_intent(params, loaded.scenario.network, policy)
    if asked is not None:
        settings, policy = asked.settings(settings), asked.policy
    proposer = make_proposer(params, policy)
    executor = make_executor(dask_address, None if dask_address else 1)
    try:
        plan = plan_network(loaded.twin, load_costs(None), settings, executor, policy,
                            proposer, scenario=loaded.scenario.name, log=tracker)
    finally:
        executor.close()
    result = plan.to_json()
    if asked is not None:
        result["intent"] = asked.to_json(loaded.scenario.network.name)
    return result, proposer


def llm_provenance(result: dict[str, Any], proposer: Any) -> dict[str, Any] | None:
    """Model name/sha256, prompts and raw outputs when an LLM took part: from the plan JSON
    (``provenance``/``llm`` keys) or the proposer's own record (``provenance()``/``records``)."""
    out: dict[str, Any] = {}
    for key in ("provenance", "llm"):
        v = result.get(key)
        if isinstance(v, dict):
            out.update(v)
    if proposer is not None:
        for attr in ("provenance", "to_json"):
            fn = getattr(proposer, attr, None)
            if callable(fn):
                try:
                    v = fn()
                except Exception:  # a proposer's record is best-effort evidence
                    v = None
                if isinstance(v, dict):
                    out.update(v)
                    break
        for attr in ("records", "rounds", "history"):
            v = getattr(proposer, attr, None)
            if isinstance(v, list | tuple) and v:
                out.setdefault("rounds", [r.to_json() if hasattr(r, "to_json") else r
                                          for r in v])
    return clean(out) if out else None


def solver_summary(result: dict[str, Any]) -> dict[str, Any]:
    return clean({k: result.get(k) for k in ("solver", "executor", "iterations", "what_ifs",
                                             "lower_bound", "lp_file", "timings_s", "verified",
                                             "target_met", "converged", "message")}
                 | {"rounds": [{k: r.get(k) for k in ("iteration", "milp_status", "objective",
                                                      "lp_bound", "cost", "predicted_peak",
                                                      "verified_peak", "accepted")}
                               for r in result.get("history", []) or []]})


# --- verification of an edited plan ----------------------------------------------------------
def parse_edited(rows: Sequence[dict[str, Any]]) -> list[_Action]:
    """Actions from plan rows (extras such as ``cost`` are dropped; raises
    pydantic.ValidationError naming the bad field)."""
    return parse_actions([{k: v for k, v in r.items() if k not in ROW_EXTRAS}
                          for r in rows])


def verify_edit(loaded: LoadedNetwork, original: dict[str, Any], rows: Sequence[dict[str, Any]],
                policy: Any, catalogue: CostCatalogue | None = None,
                approvals: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Apply an edited action list to the network, run the twin for the plan's hours and
    gate it. Returns the edited plan JSON (same fields as ``celltwin plan --json``)."""
    actions = parse_edited(rows)
    cat = catalogue or load_costs(None)
    twin = twin_for_result(loaded.twin, original)  # + the plan's generated locations
    horizon = original.get("horizon", "busy")
    window = ((original.get("intent") or {}).get("planning_options") or {}).get("hours")
    hours = (twin.demand.busy_hour,) if horizon == "busy" else tuple(window or range(24))
    policy = intent_policy(original, policy)
    target = float(original.get("target", 0.5))
    base = verify(twin, [], hours)
    busy = report_hour(twin, base)
    ver = verify(twin, actions, hours)
    rows_out = []
    for a in actions:
        row = action_to_json(a, price(a, twin.network, cat))
        row["description"] = describe(a)
        rows_out.append(row)
    before, after = base.state_at(busy), ver.state_at(busy)
    met = bool(ver.peak <= target and ver.converged)
    plan = dict(original)
    plan.update({
        "before": before.to_json(include_cells=False)["kpis"],
        "after": after.to_json(include_cells=False)["kpis"],
        "peak_before": base.peak, "peak_after": ver.peak, "actions": rows_out,
        "total_cost": float(sum(r["cost"] for r in rows_out)), "target_met": met,
        "converged": ver.converged, "verified": met,
        "cells_before": cell_rows(before), "cells_after": cell_rows(after),
        "budget": original.get("budget"),
    })
    for stale in ("predicted", "lp_file", "lower_bound", "policy"):
        plan.pop(stale, None)
    if approvals is not None:
        plan["approvals"] = approvals
    plan = clean(plan)
    plan["policy"] = check_plan(policy, plan, twin.network)
    if plan["policy"].get("passed") is False:
        plan["verified"] = False
    return plan


def gate(loaded: LoadedNetwork, plan: dict[str, Any], policy: Any,
         approvals: list[dict[str, Any]]) -> dict[str, Any]:
    """The policy verdict on a stored plan with the given approvals (no twin run)."""
    doc = {k: v for k, v in plan.items() if k != "policy"}
    doc["approvals"] = approvals
    return check_plan(intent_policy(plan, policy), doc, network_for_result(loaded.twin.network, plan))


def blocking_violations(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """Failed deny rules other than approval rules (which an approval may satisfy)."""
    results = (verdict.get("detail") or {}).get("results", [])
    return [r for r in results if r.get("severity") == "deny" and not r.get("passed")
            and r.get("kind") != "approval"]


def check_max_actions(rows: Sequence[dict[str, Any]]) -> None:
    if len(rows) > 200:
        raise ValidationError("plan", "at most 200 actions per plan")
