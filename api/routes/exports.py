"""``GET /plans/{id}/export?format=geojson|csv|a1``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api import crud
from api.deps import CacheDep, SessionDep, ViewerDep
from api.errors import conflict
from api.exports import plan_a1, plan_csv, plan_geojson
from api.schemas.common import CONFLICT, ERRORS, NOT_FOUND
from planner.generated_sites import network_for_result

router = APIRouter(tags=["exports"], responses={**ERRORS, **NOT_FOUND, **CONFLICT})


@router.get("/plans/{plan_id}/export",
            responses={200: {"content": {"application/geo+json": {}, "text/csv": {},
                                         "application/json": {}},
                             "description": "the plan in the requested format"}})
def export_plan(plan_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
                fmt: Annotated[Literal["geojson", "csv", "a1"],
                               Query(alias="format")] = "geojson") -> Response:
    """geojson: new small cells and changed cells for maps; csv: one row per action; a1: an
    O-RAN A1 traffic-steering policy for the load-balancing actions (see api/exports.py)."""
    row = crud.get_plan(db, plan_id)
    if row.status != "done" or row.result is None:
        raise conflict(f"the plan is {row.status}; only a finished plan can be exported")
    name = f"plan-{plan_id}"
    if fmt == "csv":
        return Response(plan_csv(plan_id, row.result), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    network = network_for_result(cache.loaded(row.network).scenario.network, row.result)
    if fmt == "a1":
        return JSONResponse(plan_a1(network, plan_id, row.result))
    return JSONResponse(plan_geojson(network, plan_id, row.result),
                        media_type="application/geo+json")
