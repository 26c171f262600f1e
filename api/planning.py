"""The API's side of the planner: request parameters -> :func:`planner.loop.plan_network`,
progress and stage from the planner's typed progress events, cancellation between stages, and
verification of an edited action list.

Progress and cancellation use the planner's ``progress`` callback, which the loop calls once
after each stage (:mod:`planner.progress`: base state, candidates, sensitivities, each
select-verify round, each re-linearisation, ...): the tracker maps the event's fraction of the
work onto the job's progress and raises :class:`JobCancelled` when a cancel was requested,
which unwinds the planner (its executor is closed in its ``finally``). A stage in progress is
not interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actions.costs import CostCatalogue, load_costs
from actions.models import ActionBase, parse_actions
from api.llm_models import EMBEDDED, resolve_offered
from api.network_store import LoadedNetwork
from api.progress import StageTracker
from api.settings import Settings
from planner.candidates import GeneratorOptions
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
from planner.llm.closed_loop import llm_proposer
from planner.loop import PlannerSettings, plan_network, verify_actions
from planner.plan import DEFAULT_BUDGET_EUR, DEFAULT_TARGET, clean
from planner.policy_gate import check_plan
from planner.result import PlanResult
from policies import PolicySet
from policies.plan import ROW_EXTRAS
from twin.errors import ValidationError


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


def make_proposer(params: dict[str, Any], policy: PolicySet | None = None) -> Any:
    """The LLM proposer hook of ``celltwin plan --llm`` (the same construction,
    :func:`planner.llm.closed_loop.llm_proposer`), or None for the systematic generator
    alone."""
    if params.get("proposer", "systematic") != "llm":
        return None
    spec = params.get("llm_model_path") or params.get("llm_model") or "embedded"
    return llm_proposer(str(spec), load_costs(None), policy)


def run_planner(loaded: LoadedNetwork, params: dict[str, Any], policy: PolicySet | None,
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
                            proposer, scenario=loaded.scenario.name, progress=tracker)
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
def parse_edited(rows: Sequence[dict[str, Any]]) -> list[ActionBase]:
    """Actions from plan rows (extras such as ``cost`` are dropped; raises
    pydantic.ValidationError naming the bad field)."""
    return parse_actions([{k: v for k, v in r.items() if k not in ROW_EXTRAS}
                          for r in rows])


#: What an edit changes in a plan: the twin's results, the actions, the verdict and the words
#: (the rest of the plan, e.g. its rounds and candidates, stays the record of the search).
EDITED_KEYS = ("before", "after", "peak_before", "peak_after", "actions", "total_cost",
               "target_met", "converged", "verified", "cells_before", "cells_after",
               "message", "policy")
#: What no longer holds for an edited plan: the model's prediction and bound, its LP file.
STALE_KEYS = ("predicted", "lp_file", "lower_bound")


def verify_edit(loaded: LoadedNetwork, original: dict[str, Any], rows: Sequence[dict[str, Any]],
                policy: PolicySet | None, catalogue: CostCatalogue | None = None,
                approvals: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Apply an edited action list to the network, run the twin for the plan's hours and
    gate it (:func:`planner.loop.verify_actions`). Returns the edited plan JSON (same fields
    as ``celltwin plan --json``, :class:`planner.result.PlanResult`)."""
    actions = parse_edited(rows)
    twin = twin_for_result(loaded.twin, original)  # + the plan's generated locations
    budget = original.get("budget")
    horizon = original.get("horizon", "busy")
    # An intent's window (18-22) is the plan's hours; the edit is verified over the same ones.
    window = ((original.get("intent") or {}).get("planning_options") or {}).get("hours")
    settings = PlannerSettings(
        target=float(original.get("target", DEFAULT_TARGET)),
        budget_eur=float(budget) if budget is not None else DEFAULT_BUDGET_EUR,
        horizon=horizon, max_actions=None,
        hours=tuple(int(h) for h in window) if window and horizon != "busy" else None)
    edited = verify_actions(twin, catalogue or load_costs(None), settings, actions,
                            intent_policy(original, policy), str(original.get("scenario") or ""),
                            approvals).to_json()
    plan = {k: v for k, v in original.items() if k not in STALE_KEYS}
    plan.update({k: edited[k] for k in EDITED_KEYS})
    plan["budget"] = budget
    if approvals is not None:
        plan["approvals"] = approvals
    return PlanResult.model_validate(plan).to_json()


def gate(loaded: LoadedNetwork, plan: dict[str, Any], policy: PolicySet | None,
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
