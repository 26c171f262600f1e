"""Radio maps (best server, RSRP, SINR, demand) of a network's state, and of a plan's
after-state, as images with their bounds and scale (:mod:`api.raster`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from actions.apply import apply_actions
from api import crud
from api.deps import CacheDep, SessionDep, ViewerDep
from api.errors import ApiError
from api.planning import parse_edited
from api.raster import RasterLayer, raster
from api.schemas.common import ERRORS, NOT_FOUND
from planner.generated_sites import network_for_result

router = APIRouter(tags=["state"], responses={**ERRORS, **NOT_FOUND})

LayerQuery = Annotated[RasterLayer, Query(description="best_server, rsrp (dBm), sinr (dB) or "
                                          "demand (Mbit/s/km^2)")]
HourQuery = Annotated[int | None, Query(ge=0, le=23, description="hour 0..23 (default: the "
                                                                   "busy hour)")]


@router.get("/networks/{network_id}/raster")
def get_raster(network_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
               layer: LayerQuery = "sinr", hour: HourQuery = None) -> dict[str, Any]:
    """One radio layer of the network's state at an hour: a PNG (one pixel per grid bin,
    base64) with its bounds, unit and colour scale."""
    row = crud.get_network(db, network_id)
    ln = cache.loaded(row)
    state = cache.state(row, hour)
    return raster(ln.scenario.network, state, ln.scenario.demand.grid, layer)


@router.get("/plans/{plan_id}/raster")
def get_plan_raster(plan_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
                    layer: LayerQuery = "sinr", hour: HourQuery = None) -> dict[str, Any]:
    """The same layer after the plan: its actions applied to the network, the twin run on the
    network's demand (the plan's own result, not re-optimised)."""
    plan = crud.get_plan(db, plan_id)
    if not plan.result or not plan.result.get("actions"):
        raise ApiError(409, f"plan {plan_id} has no actions yet (status {plan.status}); its "
                       "after-state exists once it is done")
    ln = cache.loaded(plan.network)
    # the stored plan's network: with the small-cell sites the planner generated, if any
    network = network_for_result(ln.scenario.network, plan.result)
    after = apply_actions(network, parse_edited(plan.result["actions"]))
    h = ln.scenario.demand.busy_hour if hour is None else int(hour)
    state = ln.twin.what_if(after).run(h)
    return raster(after, state, ln.scenario.demand.grid, layer)
