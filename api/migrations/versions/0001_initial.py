"""initial schema: networks, plans, approvals, audit records, policy versions

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=True),
        sa.Column("network_hash", sa.String(64), nullable=False),
        sa.Column("n_sites", sa.Integer, nullable=False),
        sa.Column("n_cells", sa.Integer, nullable=False),
        sa.Column("n_candidates", sa.Integer, nullable=False),
        sa.Column("notes", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(100), nullable=False),
        _ts("deleted_at", nullable=True),
        sa.Column("tables_blob", sa.LargeBinary, nullable=True),
        sa.Column("measurements_blob", sa.LargeBinary, nullable=True),
        sa.Column("demand_blob", sa.LargeBinary, nullable=True),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("network_id", sa.String(32), sa.ForeignKey("networks.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("stage", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("verdict_passed", sa.Boolean, nullable=True),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(100), nullable=False),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        _ts("updated_at"),
    )
    op.create_index("ix_plans_network_id", "plans", ["network_id"])
    op.create_index("ix_plans_status", "plans", ["status"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(32), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("approver", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _ts("approved_at"),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_approvals_plan_id", "approvals", ["plan_id"])
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _ts("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("network_id", sa.String(32), nullable=True),
        sa.Column("plan_id", sa.String(32), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_records_at", "audit_records", ["at"])
    op.create_index("ix_audit_records_network_id", "audit_records", ["network_id"])
    op.create_index("ix_audit_records_plan_id", "audit_records", ["plan_id"])
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _ts("created_at"),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for name in ("policy_versions", "audit_records", "approvals", "plans", "networks"):
        op.drop_table(name)
