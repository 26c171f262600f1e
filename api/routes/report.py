"""``GET /plans/{id}/report``: the plan as one self-contained, printable HTML page for a
manager (verdict first, maps, KPIs, work order, options considered, provenance; see
:mod:`api.report`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api import crud
from api.deps import CacheDep, SessionDep, ViewerDep
from api.errors import conflict
from api.report import report_html
from api.schemas.common import CONFLICT, ERRORS, NOT_FOUND

router = APIRouter(tags=["exports"], responses={**ERRORS, **NOT_FOUND, **CONFLICT})


@router.get("/plans/{plan_id}/report", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}},
                             "description": "the plan report (self-contained HTML)"}})
def plan_report(plan_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep
                ) -> HTMLResponse:
    """The report of a finished plan: target met or not, policy verdict and approvals first;
    before/after maps on one colour scale, KPI table, work order, options considered and why
    not chosen, provenance. Print it from the browser for a PDF."""
    row = crud.get_plan(db, plan_id)
    if row.status != "done" or row.result is None:
        raise conflict(f"the plan is {row.status}; only a finished plan has a report")
    result = dict(row.result)
    result["approvals"] = [{"by": a.approver, "role": a.role,
                            "at": a.approved_at.isoformat(timespec="seconds")}
                           for a in row.approvals]
    params = row.params or {}
    provenance = {"plan id": row.id, "network": f"{row.network.name} ({row.network_id})",
                  "created by": row.created_by,
                  "created at": row.created_at.isoformat(timespec="seconds"),
                  "policy version": params.get("policy_version"),
                  "policy hash": params.get("policy_hash")}
    code = (row.provenance or {}).get("code_version")
    if code:
        provenance["code version"] = code
    network = cache.loaded(row.network).scenario.network
    html = report_html(network, result, provenance=provenance)
    return HTMLResponse(html, headers={
        "Content-Disposition": f'inline; filename="plan-{plan_id}-report.html"'})
