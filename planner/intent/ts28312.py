"""A planning intent as a TS 28.312-style intent document (JSON), and back.

3GPP TS 28.312 (intent driven management) models an intent as a list of
``intentExpectations``, each with an ``expectationObject`` (what it is about, narrowed by
``objectContexts``), ``expectationTargets`` (``targetName``, ``targetCondition``,
``targetValueRange``) and ``expectationContexts``; ``intentContexts`` apply to the whole
intent. The document written here uses those names for one RAN capacity expectation:

- object: the network (``RAN_SubNetwork``) narrowed by the area (cells, sites, around a cell
  within a radius, or a polygon);
- target: ``peakPrbUtilisation IS_LESS_THAN target`` (PRB utilisation as a fraction);
- expectation context: the hours (busy hour, a window, all day; the day of the week as said);
- intent contexts: the budget, the action kinds allowed and forbidden, the protected cells
  and sites, the most actions.

The attribute names under the contexts are this project's (TS 28.312 leaves them to the
expectation's model); ``x_celltwin`` keeps what the standard has no place for (per field,
whether it came from the sentence or is the default, and what was not matched), so that
:func:`intent_from_document` gives back the same intent. This is not an A1 policy: the A1
export (``api/exports.py``) states a verified plan's steering goals, this states the request.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pydantic

from planner.intent.model import Area, Hours, PlanningIntent
from twin.errors import ValidationError

DOC_VERSION = "celltwin-intent/1"


def _ctx(attr: str, cond: str, value: Any) -> dict[str, Any]:
    return {"contextAttribute": attr, "contextCondition": cond, "contextValueRange": value}


def intent_document(intent: PlanningIntent, network_name: str) -> dict[str, Any]:
    """The TS 28.312-style document of ``intent`` on ``network_name``."""
    d = intent.to_json()
    digest = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
    a, h = intent.area, intent.hours
    obj_ctx: list[dict[str, Any]] = []
    if a.kind == "cells":
        obj_ctx.append(_ctx("cellId", "IS_ALL_OF", list(a.cell_ids)))
    elif a.kind == "sites":
        obj_ctx.append(_ctx("siteId", "IS_ALL_OF", list(a.site_ids)))
    elif a.kind == "around_cell":
        obj_ctx.append(_ctx("aroundCell", "IS_WITHIN_RANGE",
                            {"cellId": a.center_cell_id, "radiusM": a.radius_m}))
    elif a.kind == "polygon":
        obj_ctx.append(_ctx("coverageAreaPolygon", "IS_WITHIN_RANGE",
                            {"frame": "local_m", "vertices": [list(p) for p in a.polygon]}))
    time_ctx: dict[str, Any] = {"kind": h.kind}
    if h.kind == "window":
        time_ctx.update(startHour=h.start_hour, endHour=h.end_hour)
    if h.day:
        time_ctx["dayOfWeek"] = h.day
    return {
        "intent": {
            "id": f"intent-{digest}",
            "userLabel": intent.text[:200],
            "intentPreemptionCapability": False,
            "intentExpectations": [{
                "expectationId": "capacity-1",
                "expectationVerb": "ENSURE",
                "expectationObject": {"objectType": "RAN_SubNetwork",
                                      "objectInstance": network_name,
                                      "objectContexts": obj_ctx},
                "expectationTargets": [{"targetName": "peakPrbUtilisation",
                                        "targetCondition": "IS_LESS_THAN",
                                        "targetValueRange": intent.target}],
                "expectationContexts": [_ctx("timeWindow", "IS_WITHIN_RANGE", time_ctx)],
            }],
            "intentContexts": [
                _ctx("budgetEur", "IS_LESS_THAN_OR_EQUAL_TO", intent.budget_eur),
                _ctx("maxActions", "IS_LESS_THAN_OR_EQUAL_TO", intent.max_actions),
                _ctx("allowedActionKinds", "IS_ALL_OF", list(intent.allowed_kinds)),
                _ctx("forbiddenActionKinds", "IS_NOT_ALL_OF", list(intent.forbidden_kinds)),
                _ctx("protectedCells", "IS_NOT_ALL_OF", list(intent.protected_cells)),
                _ctx("protectedSites", "IS_NOT_ALL_OF", list(intent.protected_sites)),
            ],
        },
        "x_celltwin": {"version": DOC_VERSION, "network": network_name,
                       "source": dict(intent.source),
                       "unmatched": [u.model_dump() for u in intent.unmatched],
                       "parser": intent.parser},
    }


def _bad(msg: str) -> ValidationError:
    return ValidationError("intent document", msg)


def intent_from_document(doc: Any) -> PlanningIntent:
    """Read a document :func:`intent_document` wrote (or one by hand in the same shape);
    raises :class:`ValidationError` naming what is missing or wrong."""
    if not isinstance(doc, dict) or not isinstance(doc.get("intent"), dict):
        raise _bad("expected a JSON object with an 'intent' object")
    it = doc["intent"]
    exps = it.get("intentExpectations")
    if not isinstance(exps, list) or len(exps) != 1 or not isinstance(exps[0], dict):
        raise _bad("expected exactly one entry in intent.intentExpectations")
    exp = exps[0]
    try:
        targets = {t["targetName"]: t for t in exp.get("expectationTargets", [])}
        ctx = {c["contextAttribute"]: c["contextValueRange"] for c in it.get("intentContexts", [])}
        obj = {c["contextAttribute"]: c["contextValueRange"]
               for c in exp.get("expectationObject", {}).get("objectContexts", [])}
        tctx = {c["contextAttribute"]: c["contextValueRange"]
                for c in exp.get("expectationContexts", [])}
    except (KeyError, TypeError, AttributeError) as exc:
        raise _bad(f"a target or context lacks a field: {exc}") from None
    ext = doc.get("x_celltwin") or {}
    data: dict[str, Any] = {"text": it.get("userLabel", ""), "parser": ext.get("parser", "")}
    if "peakPrbUtilisation" in targets:
        data["target"] = targets["peakPrbUtilisation"].get("targetValueRange")
    for attr, key in (("budgetEur", "budget_eur"), ("maxActions", "max_actions"),
                      ("allowedActionKinds", "allowed_kinds"),
                      ("forbiddenActionKinds", "forbidden_kinds"),
                      ("protectedCells", "protected_cells"), ("protectedSites", "protected_sites")):
        if attr in ctx:
            data[key] = ctx[attr]
    tw = tctx.get("timeWindow")
    try:
        if isinstance(tw, dict):
            data["hours"] = Hours(kind=tw.get("kind", "busy_hour"), start_hour=tw.get("startHour"),
                                  end_hour=tw.get("endHour"), day=tw.get("dayOfWeek"))
        if "cellId" in obj:
            data["area"] = Area(kind="cells", cell_ids=obj["cellId"])
        elif "siteId" in obj:
            data["area"] = Area(kind="sites", site_ids=obj["siteId"])
        elif "aroundCell" in obj:
            v = obj["aroundCell"]
            data["area"] = Area(kind="around_cell", center_cell_id=v.get("cellId"),
                                radius_m=v.get("radiusM"))
        elif "coverageAreaPolygon" in obj:
            data["area"] = Area(kind="polygon", polygon=obj["coverageAreaPolygon"]["vertices"])
        if "source" in ext:
            data["source"] = ext["source"]
        if "unmatched" in ext:
            data["unmatched"] = ext["unmatched"]
        return PlanningIntent.model_validate(data)
    except (pydantic.ValidationError, TypeError, AttributeError, KeyError) as exc:
        raise _bad(f"the intent is not valid: {str(exc)[:500]}") from None
