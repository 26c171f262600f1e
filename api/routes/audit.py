"""``GET /audit``: the audit trail (every create, plan outcome, edit, approval, policy change),
newest first, filterable by network, plan and action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from api.db.models import AuditRow
from api.deps import SessionDep, ViewerDep
from api.redact import without_paths
from api.schemas.common import ERRORS, AuditPublic, AuditsPublic

router = APIRouter(tags=["audit"], responses=ERRORS)


@router.get("/audit", response_model=AuditsPublic)
def list_audit(_user: ViewerDep, db: SessionDep,
               network_id: Annotated[str | None, Query(max_length=64)] = None,
               plan_id: Annotated[str | None, Query(max_length=64)] = None,
               action: Annotated[str | None, Query(max_length=64,
                                                   description="e.g. plan.approve")] = None,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditsPublic:
    conds = []
    if network_id is not None:
        conds.append(AuditRow.network_id == network_id)
    if plan_id is not None:
        conds.append(AuditRow.plan_id == plan_id)
    if action is not None:
        conds.append(AuditRow.action == action)
    total = db.scalar(select(func.count()).select_from(AuditRow).where(*conds)) or 0
    rows = db.scalars(select(AuditRow).where(*conds).order_by(AuditRow.id.desc())
                      .offset(offset).limit(limit)).all()
    return AuditsPublic(items=[AuditPublic(id=r.id, at=r.at.isoformat(), actor=r.actor,
                                           role=r.role, action=r.action,
                                           network_id=r.network_id, plan_id=r.plan_id,
                                           details=without_paths(r.details)) for r in rows],
                        count=int(total))
