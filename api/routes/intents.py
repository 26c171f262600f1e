"""``POST /networks/{id}/intents``: a request in plain words -> a checked planning intent.

Nothing runs: the answer is the parsed intent (each field with its source, sentence or
default), what could not be matched, the planning options it maps to on this network, its TS
28.312-style document, and ``plan_request``, the body of ``POST /networks/{id}/plans`` that
carries what a plan request can hold today (target, budget, max actions, horizon).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api import crud
from api.deps import CacheDep, PlannerDep, PolicyDep, SessionDep, SettingsDep
from api.schemas.common import ERRORS, NOT_FOUND
from planner.intent.mapping import map_intent
from planner.intent.model import PlanningIntent
from planner.intent.network_check import check_intent
from planner.intent.text_guard import MAX_REQUEST_CHARS
from planner.intent.ts28312 import intent_document

router = APIRouter(prefix="/networks", tags=["intents"], responses={**ERRORS, **NOT_FOUND})


class IntentRequest(BaseModel):
    """A planner's request in English, Italian or German."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4 * MAX_REQUEST_CHARS, description=(
        f"the request; at most {MAX_REQUEST_CHARS} characters are read"))
    parser: Literal["baseline", "llm"] = Field(
        "baseline", description="baseline: regex/keyword; llm: the local model under a grammar "
        "of the network's ids, merged with the baseline (see docs/intents.md)")
    llm_model: str | None = Field(None, max_length=500, description="with parser 'llm': "
                                  "'embedded' (default) or an id GET /models lists")
    adapter: Literal["none", "shipped"] = Field(
        "none", description="with parser 'llm' and the embedded model: none (zero-shot, "
        "default) or the shipped LoRA adapter of the intent parser (measured not to help: "
        "docs/intents.md)")


class IntentAnswer(BaseModel):
    intent: dict[str, Any]
    unmatched: list[dict[str, Any]]
    ready: bool = Field(description="true when every item matched: the intent can be planned")
    planning_options: dict[str, Any] | None
    plan_request: dict[str, Any] | None
    document: dict[str, Any]


@router.post("/{network_id}/intents", response_model=IntentAnswer)
def parse_intent(network_id: str, body: IntentRequest, _user: PlannerDep, db: SessionDep,
                 cache: CacheDep, policy: PolicyDep, settings: SettingsDep) -> IntentAnswer:
    """Parse a request into a planning intent on this network; runs nothing."""
    row = crud.get_network(db, network_id)
    network = cache.loaded(row).scenario.network
    if body.parser == "llm":
        from api.llm_models import resolve_offered
        from planner.intent.llm_parser import LLMIntentParser

        spec = resolve_offered(body.llm_model, settings.model_dir, settings.default_model)
        intent = LLMIntentParser(spec, adapter=body.adapter).parse(
            body.text, network, PlanningIntent(), policy.current(db).policy).intent
    else:
        from planner.intent.baseline import parse_baseline

        intent = parse_baseline(body.text, network)
    unmatched = [u.model_dump() for u in (*intent.unmatched, *check_intent(intent, network))]
    ready = not unmatched and bool(intent.effective_kinds())
    mapped = map_intent(intent, network, check=False) if ready else None
    plan_request = None if mapped is None else {
        "target": mapped.target, "budget_eur": mapped.budget_eur,
        "max_actions": mapped.max_actions, "horizon": mapped.horizon,
        "small_cells": "add_small_cell" in mapped.allowed_kinds}
    return IntentAnswer(intent=intent.to_json(), unmatched=unmatched, ready=ready,
                        planning_options=None if mapped is None else mapped.to_json(),
                        plan_request=plan_request,
                        document=intent_document(intent, network.name))
