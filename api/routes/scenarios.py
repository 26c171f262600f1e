"""``GET /scenarios``: the built-in scenarios a network can be created from."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ViewerDep
from api.schemas.common import ERRORS, ScenarioPublic, ScenariosPublic
from twin.scenarios import REGISTRY

router = APIRouter(tags=["scenarios"], responses=ERRORS)


@router.get("/scenarios", response_model=ScenariosPublic)
def list_scenarios(_user: ViewerDep) -> ScenariosPublic:
    items = [ScenarioPublic(name=n, description=e.description) for n, e in REGISTRY.items()]
    return ScenariosPublic(items=items, count=len(items))
