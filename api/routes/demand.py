"""``GET /networks/{id}/demand``: offered traffic at an hour for the UI's heatmap, with the
study area and (Milan) the Milano GRID squares: map context the product owns."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import crud
from api.demand_map import demand_map
from api.deps import CacheDep, SessionDep, ViewerDep
from api.schemas.common import ERRORS, NOT_FOUND

router = APIRouter(prefix="/networks", tags=["state"], responses={**ERRORS, **NOT_FOUND})


@router.get("/{network_id}/demand")
def get_demand(network_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
               hour: Annotated[int | None, Query(ge=0, le=23, description="hour 0..23 "
                                                 "(default: the busy hour)")] = None
               ) -> dict[str, Any]:
    """Offered Mbit/s in blocks of grid bins (WGS84 positions), the study area polygon and
    map context; traffic is conserved (``total_mbps`` is the grid's total)."""
    row = crud.get_network(db, network_id)
    sc = cache.loaded(row).scenario
    h = sc.demand.busy_hour if hour is None else int(hour)
    return demand_map(sc.network, sc.demand, h, row.scenario)
