"""Networks: create from a scenario or an upload, list, get, delete."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from api import crud
from api.audit import record
from api.deps import CacheDep, PlannerDep, SessionDep, ViewerDep
from api.errors import ApiError, conflict
from api.network_store import import_network
from api.schemas.common import CONFLICT, ERRORS, NOT_FOUND
from api.schemas.networks import NetworkCreate, NetworkPublic, NetworksPublic
from api.uploads import save_upload, upload_message
from twin.errors import CelltwinError, InputTooLargeError
from twin.scenarios import load_scenario

router = APIRouter(prefix="/networks", tags=["networks"], responses=ERRORS)


@router.post("", status_code=201, response_model=NetworkPublic)
def create_network(body: NetworkCreate, user: PlannerDep, db: SessionDep) -> NetworkPublic:
    """A network from a built-in scenario."""
    sc = load_scenario(body.scenario)
    row = crud.add_network(db, sc, user, "scenario", body.name or sc.name, scenario=sc.name)
    record(db, user, "network.create", network_id=row.id,
           details={"scenario": sc.name, "network_hash": row.network_hash})
    db.commit()
    return NetworkPublic.of(row)


@router.post("/import", status_code=201, response_model=NetworkPublic,
             responses={413: {"description": "upload larger than CELLTWIN_MAX_UPLOAD_MB, or a "
                                   "table over MAX_TABLE_ROWS rows or MAX_PARQUET_BYTES "
                                   "uncompressed (twin.input_limits)"}})
def upload_network(
    user: PlannerDep,
    db: SessionDep,
    network: Annotated[UploadFile, File(description=(
        "the network: a JSON network document (sites, cells, candidates), a sites table "
        "(CSV/Parquet, with `cells`), or an OpenCelliD cell list (CSV/Parquet)"))],
    cells: Annotated[UploadFile | None, File(description="cells table (CSV/Parquet) when "
                                              "`network` is a sites table")] = None,
    candidates: Annotated[UploadFile | None, File(description="candidate small-cell "
                                                   "locations (CSV/Parquet)")] = None,
    measurements: Annotated[UploadFile | None, File(description=(
        "per-cell counters (TS 28.552 names, CSV/Parquet): the demand is calibrated to "
        "them"))] = None,
    traffic: Annotated[UploadFile | None, File(description=(
        "geolocated traffic map: samples (CSV/Parquet: lat_deg, lon_deg or x_m, y_m; weight, "
        "hour, mbps) or a GeoJSON FeatureCollection of points and polygons; it decides where "
        "the traffic is, the measurements how much"))] = None,
    name: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    fmt: Annotated[Literal["auto", "tables", "opencellid"],
                   Form(alias="format")] = "auto",
    prior: Annotated[Literal["cell-density", "uniform"], Form()] = "cell-density",
    mbps_per_cell: Annotated[float | None, Form(ge=0, le=10_000,
                                                description="busy-hour demand per cell "
                                                "(Mbit/s) of the prior")] = None,
) -> NetworkPublic:
    """A network from uploaded tables, with an optional calibration to measured counters."""
    label = (Path(network.filename or "").stem or "uploaded network")[:200]
    with tempfile.TemporaryDirectory(prefix="celltwin-upload-") as tmp:
        d = Path(tmp)
        uploads = {"network": network, "cells": cells, "candidates": candidates,
                   "measurements": measurements, "traffic": traffic}
        paths = {k: save_upload(u, d, k) if u is not None else None
                 for k, u in uploads.items()}
        try:
            up = import_network(paths["network"], paths["cells"],  # type: ignore[arg-type]
                                paths["candidates"], paths["measurements"], fmt, name, prior,
                                mbps_per_cell, default_name=label,
                                traffic_path=paths["traffic"],
                                traffic_name=(traffic.filename or None) if traffic else None)
        except CelltwinError as exc:
            # Content over a documented limit (rows, decompressed size) is "too large".
            status = 413 if isinstance(exc, InputTooLargeError) else 422
            problems = [upload_message(t, paths, uploads)
                        for t in getattr(exc, "problems", [])]
            raise ApiError(status, upload_message(str(exc), paths, uploads),
                           error=type(exc).__name__,
                           **({"problems": problems} if problems else {})) from exc
    extra = {"import": up.import_summary}
    row = crud.add_network(db, up.scenario, user, "upload", up.scenario.network.name,
                           extra_summary=extra)
    record(db, user, "network.import", network_id=row.id,
           details={"network_hash": row.network_hash, "import": up.import_summary,
                    "calibration": up.calibration})
    db.commit()
    return NetworkPublic.of(row)


@router.get("", response_model=NetworksPublic)
def list_networks(_user: ViewerDep, db: SessionDep,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> NetworksPublic:
    rows, total = crud.list_networks(db, offset, limit)
    return NetworksPublic(items=[NetworkPublic.of(r) for r in rows], count=total)


@router.get("/{network_id}", response_model=NetworkPublic, responses=NOT_FOUND)
def get_network(network_id: str, _user: ViewerDep, db: SessionDep) -> NetworkPublic:
    return NetworkPublic.of(crud.get_network(db, network_id))


@router.delete("/{network_id}", status_code=204, responses={**NOT_FOUND, **CONFLICT})
def delete_network(network_id: str, user: PlannerDep, db: SessionDep,
                   cache: CacheDep) -> Response:
    """Hide a network; its plans and audit records stay readable."""
    row = crud.get_network(db, network_id)
    if crud.live_plans(db, network_id):
        raise conflict("the network has queued or running plans; cancel them first "
                       "(POST /api/v1/plans/{id}/cancel)")
    crud.soft_delete(row)
    record(db, user, "network.delete", network_id=row.id)
    db.commit()
    cache.forget(network_id)
    return Response(status_code=204)
