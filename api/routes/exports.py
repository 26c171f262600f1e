"""``GET /plans/{id}/export?format=geojson|csv|a1``.

Every export says where the plan stands under the policy in force (api/verdicts.py):
``status`` (``approved``, ``draft``: not approved yet, ``denied``: a deny rule of the policy in
force fails), ``approved``, the policy version and hash, the verdict, the plan's revision: in
the document (GeoJSON ``properties``, A1 ``x_celltwin``, CSV columns) and in ``X-Celltwin-*``
headers; a file name of a plan that is not approved ends in ``-draft`` or ``-denied``. An A1
document, the one meant to be applied to a network, is refused (409) unless the plan is
approved.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api import crud
from api.deps import CacheDep, PolicyDep, SessionDep, ViewerDep
from api.errors import conflict
from api.exports import plan_a1, plan_csv, plan_geojson
from api.schemas.common import CONFLICT, ERRORS, NOT_FOUND
from api.verdicts import standing
from planner.generated_sites import network_for_result
from planner.result import PlanResult

router = APIRouter(tags=["exports"], responses={**ERRORS, **NOT_FOUND, **CONFLICT})


@router.get("/plans/{plan_id}/export",
            responses={200: {"content": {"application/geo+json": {}, "text/csv": {},
                                         "application/json": {}},
                             "description": "the plan in the requested format, marked with "
                             "its status under the policy in force"}})
def export_plan(plan_id: str, _user: ViewerDep, db: SessionDep, cache: CacheDep,
                policy: PolicyDep,
                fmt: Annotated[Literal["geojson", "csv", "a1"],
                               Query(alias="format")] = "geojson") -> Response:
    """geojson: new small cells and changed cells for maps; csv: one row per action; a1: an
    O-RAN A1 traffic-steering policy for the load-balancing actions (see api/exports.py), for
    approved plans only (409 otherwise)."""
    row = crud.get_plan(db, plan_id)
    if row.status != "done" or row.result is None:
        raise conflict(f"the plan is {row.status}; only a finished plan can be exported")
    st = standing(row, policy.current(db), cache)
    mark: dict[str, Any] = {"status": st.status, "approved": st.approved,
                            "policy_version": st.version, "policy_hash": st.policy_hash,
                            "policy_passed": st.passed, "revision": row.revision}
    headers = {"X-Celltwin-Plan-Status": str(st.status), "X-Celltwin-Approved":
               str(st.approved).lower(), "X-Celltwin-Policy-Version":
               "default" if st.version is None else str(st.version),
               "X-Celltwin-Policy-Hash": st.policy_hash}
    name = f"plan-{plan_id}" + ("" if st.approved else f"-{st.status}")
    if fmt == "a1" and not st.approved:
        why = ("a deny rule of the policy in force fails: " + ", ".join(st.violations or [])
               if st.status == "denied" else "it has no approval under the policy in force")
        raise conflict(f"the plan is not approved ({why}; policy version "
                       f"{headers['X-Celltwin-Policy-Version']}): an A1 policy is exported "
                       "only for an approved plan. Approve it (POST /plans/{id}/approve) or "
                       "export geojson or csv, which are marked as drafts")
    result = PlanResult.model_validate(row.result)
    network = network_for_result(cache.loaded(row.network).scenario.network, row.result)
    if fmt == "csv":
        return Response(plan_csv(plan_id, result, mark, network), media_type="text/csv",
                        headers={**headers,
                                 "Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "a1":
        approvers = [{"by": a.approver, "role": a.role, "at": a.approved_at.isoformat()}
                     for a in row.approvals if a.policy_hash == st.policy_hash]
        return JSONResponse(plan_a1(network, plan_id, result,
                                    mark={**mark, "approvals": approvers}), headers=headers)
    return JSONResponse(plan_geojson(network, plan_id, result, mark),
                        media_type="application/geo+json", headers=headers)
