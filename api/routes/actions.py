"""``GET /actions``: the action vocabulary a plan is made of (kinds, their parameters and
bounds), from the same pydantic models that validate plans, for clients that edit plans."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actions.models import ACTION_TYPES
from api.deps import ViewerDep
from api.schemas.common import ERRORS

router = APIRouter(tags=["plans"], responses=ERRORS)


@router.get("/actions")
def list_actions(_user: ViewerDep) -> dict[str, Any]:
    """Every action kind with the JSON schema of its parameters (ids, bounds, defaults)."""
    kinds = []
    for kind, model in ACTION_TYPES.items():
        schema = model.model_json_schema()
        params = {k: v for k, v in schema.get("properties", {}).items()
                  if k not in ("kind", "rationale")}
        kinds.append({"kind": kind, "description": (model.__doc__ or "").strip().split("\n")[0],
                      "parameters": params, "required": [r for r in schema.get("required", [])
                                                         if r != "kind"]})
    return {"kinds": kinds}
