"""Database reads and writes shared by the routes (the routes stay thin)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.auth import User
from api.db.models import LIVE_STATUSES, NetworkRow, PlanRow, utcnow
from api.errors import conflict, not_found
from api.network_store import (
    demand_hash,
    demand_to_blob,
    frame_to_blob,
    network_hash,
    tables_to_blob,
)
from twin.scenarios import Scenario


def get_network(db: Session, network_id: str, include_deleted: bool = False) -> NetworkRow:
    row = db.get(NetworkRow, network_id)
    if row is None or (row.deleted_at is not None and not include_deleted):
        raise not_found("network", network_id)
    return row


def list_networks(db: Session, offset: int, limit: int) -> tuple[list[NetworkRow], int]:
    live = NetworkRow.deleted_at.is_(None)
    total = db.scalar(select(func.count()).select_from(NetworkRow).where(live)) or 0
    rows = db.scalars(select(NetworkRow).where(live).order_by(NetworkRow.created_at.desc(),
                                                              NetworkRow.id)
                      .offset(offset).limit(limit)).all()
    return list(rows), int(total)


def scenario_summary(sc: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {"description": sc.description, "busy_hour": sc.demand.busy_hour,
                           "demand_sha256": demand_hash(sc.demand),
                           "n_bins": sc.demand.grid.n_bin,
                           "bin_spacing_m": sc.demand.grid.spacing_m,
                           "has_origin": sc.network.origin is not None}
    if sc.calibration is not None:
        out["calibration"] = sc.calibration.summary()
    return out


def add_network(db: Session, sc: Scenario, user: User, source: str, name: str,
                scenario: str | None = None, extra_summary: dict[str, Any] | None = None
                ) -> NetworkRow:
    """Insert a network; an upload keeps its tables, measurements and demand as blobs."""
    net = sc.network
    summary = scenario_summary(sc)
    summary.update(extra_summary or {})
    row = NetworkRow(name=name, source=source, scenario=scenario,
                     network_hash=network_hash(net), n_sites=len(net.sites),
                     n_cells=len(net.cells), n_candidates=len(net.candidates),
                     notes=list(sc.notes), summary=summary, created_by=user.name)
    if source == "upload":
        row.tables_blob = tables_to_blob(net)
        row.demand_blob = demand_to_blob(sc.demand)
        if sc.measurements is not None:
            row.measurements_blob = frame_to_blob(sc.measurements)
    db.add(row)
    db.flush()
    return row


def live_plans(db: Session, network_id: str) -> int:
    return int(db.scalar(select(func.count()).select_from(PlanRow).where(
        PlanRow.network_id == network_id, PlanRow.status.in_(LIVE_STATUSES))) or 0)


def soft_delete(row: NetworkRow) -> None:
    row.deleted_at = utcnow()


def get_plan(db: Session, plan_id: str) -> PlanRow:
    row = db.get(PlanRow, plan_id)
    if row is None:
        raise not_found("plan", plan_id)
    return row


def list_plans(db: Session, offset: int, limit: int, network_id: str | None = None,
               status: str | None = None) -> tuple[list[PlanRow], int]:
    conds = []
    if network_id is not None:
        conds.append(PlanRow.network_id == network_id)
    if status is not None:
        conds.append(PlanRow.status == status)
    total = db.scalar(select(func.count()).select_from(PlanRow).where(*conds)) or 0
    rows = db.scalars(select(PlanRow).where(*conds).order_by(PlanRow.created_at.desc(),
                                                             PlanRow.id)
                      .offset(offset).limit(limit)).all()
    return list(rows), int(total)


def bump_revision(db: Session, row: PlanRow, seen: int, **values: Any) -> int:
    """Write ``values`` to a finished plan and count a revision, if the plan is still at
    revision ``seen`` (the one the request read and checked); otherwise roll back and raise
    409. One conditional ``UPDATE``: on PostgreSQL a concurrent writer of the row waits for
    this transaction and then finds the revision changed; SQLite has one writer at a time.
    Returns the new revision."""
    done = db.execute(update(PlanRow).where(PlanRow.id == row.id, PlanRow.revision == seen,
                                            PlanRow.status == "done")
                      .values(revision=seen + 1, updated_at=utcnow(), **values))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise conflict("the plan changed while this request was checking it (another edit or "
                       "approval went through first); reload it and try again")
    return seen + 1
