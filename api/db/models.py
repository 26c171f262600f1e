"""ORM models (SQLAlchemy 2): networks, plans, approvals, audit records, policy versions.

The schema is created and upgraded by the alembic migrations in ``api/migrations`` (never by
``create_all``); a test checks that the two agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

#: Plan statuses; ``queued`` and ``running`` are live, the others final.
PLAN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
LIVE_STATUSES = ("queued", "running")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class NetworkRow(Base):
    """A network the API can run: a built-in scenario, or an uploaded cell table.

    Uploaded networks keep their tables (the JSON document of
    :func:`twin.importers.network_to_dict`, gzip), validated measurements (Parquet) and the
    demand the twin runs (npz) as blobs, so a restart (or another server on the same database)
    rebuilds exactly the same twin. ``deleted_at`` hides a network from the API while its plans
    and audit records stay readable.
    """

    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # scenario | upload
    scenario: Mapped[str | None] = mapped_column(String(64), nullable=True)
    network_hash: Mapped[str] = mapped_column(String(64))
    n_sites: Mapped[int] = mapped_column(Integer)
    n_cells: Mapped[int] = mapped_column(Integer)
    n_candidates: Mapped[int] = mapped_column(Integer)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tables_blob: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    measurements_blob: Mapped[bytes | None] = deferred(mapped_column(LargeBinary,
                                                                     nullable=True))
    demand_blob: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))

    plans: Mapped[list[PlanRow]] = relationship(back_populates="network")


class PlanRow(Base):
    """A planning job and, when done, its result (the JSON of ``celltwin plan --json``).

    ``owner`` is ``host:pid`` of the server that queued it: at start-up a live plan whose
    owner process is gone is marked ``interrupted``.

    ``revision`` counts the changes of a finished plan's content (a saved edit, an approval).
    Both write with ``UPDATE ... WHERE revision = <the one they read>`` (:func:`api.crud.
    bump_revision`), so an edit and an approval that overlap cannot both go through: the
    second finds the revision changed and is refused (409).
    """

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON, nullable=True))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The policy ``verdict_passed`` (and ``result.policy``) was decided under: its stored
    #: version (None: the shipped default) and hash. The API compares it with the policy in
    #: force and re-evaluates a verdict made under another one (:mod:`api.verdicts`).
    verdict_policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict_policy_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    provenance: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, default=dict,
                                                                     nullable=False))
    owner: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    network: Mapped[NetworkRow] = relationship(back_populates="plans")
    approvals: Mapped[list[ApprovalRow]] = relationship(back_populates="plan",
                                                        order_by="ApprovalRow.id")


class ApprovalRow(Base):
    """Who approved a plan, when, and under which policy (version and hash): an approval
    counts only while that policy is in force."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    approver: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")
    policy_hash: Mapped[str] = mapped_column(String(64), default="")
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    plan: Mapped[PlanRow] = relationship(back_populates="approvals")


class AuditRow(Base):
    """One recorded event: who did what to which network/plan, with details (JSON)."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    network_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PolicyVersionRow(Base):
    """A version of the active policy: its rule files (name -> YAML text) and hash. The
    newest row is the active policy; none means the shipped default."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    policy_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, str]] = mapped_column(JSON)
