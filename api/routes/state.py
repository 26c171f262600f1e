"""The twin's state of a network: KPIs and per-cell table (JSON), or a map (GeoJSON)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api import crud
from api.deps import CacheDep, SessionDep, ViewerDep
from api.geojson import state_geojson
from api.schemas.common import ERRORS, NOT_FOUND
from api.schemas.networks import StatePublic

router = APIRouter(prefix="/networks", tags=["state"], responses={**ERRORS, **NOT_FOUND})

HourQuery = Annotated[int | None, Query(ge=0, le=23, description="hour 0..23 (default: the "
                                                                   "busy hour)")]


@router.get("/{network_id}/state", response_model=StatePublic)
def get_state(network_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
              hour: HourQuery = None) -> Response:
    """KPIs and per-cell results (same names as ``celltwin twin --json``)."""
    row = crud.get_network(db, network_id)
    return Response(cache.state_bytes(row, hour), media_type="application/json")


@router.get("/{network_id}/state.geojson",
            responses={200: {"content": {"application/geo+json": {}},
                             "description": "GeoJSON FeatureCollection (RFC 7946)"}})
def get_state_geojson(network_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
                      hour: HourQuery = None,
                      candidates: Annotated[bool, Query(description="include candidate "
                                                        "small-cell locations")] = True
                      ) -> JSONResponse:
    """Sites (points), sector wedges with per-cell results (polygons), candidate locations."""
    row = crud.get_network(db, network_id)
    ln = cache.loaded(row)
    h = ln.scenario.demand.busy_hour if hour is None else hour
    state = cache.state_json(row, h)
    cells = pd.DataFrame(state["cells"])
    doc = state_geojson(ln.scenario.network, cells, h, candidates)
    doc["properties"]["kpis"] = state["kpis"]
    return JSONResponse(doc, media_type="application/geo+json")
