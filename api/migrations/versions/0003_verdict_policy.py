"""the policy version of every verdict and approval

``plans.verdict_policy_version`` / ``verdict_policy_hash``: the policy the stored verdict
(``verdict_passed``, ``result.policy``) was made under; ``approvals.policy_version``: the
policy an approval was given under. Existing rows are filled from what they recorded: the
verdict's hash in the result (else the hash the plan was started with), and the newest stored
policy version with that hash (none: the shipped default).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _verdict_hash(result: Any, params: Any) -> str:
    policy = (result or {}).get("policy") if isinstance(result, dict) else None
    detail = (policy or {}).get("detail") if isinstance(policy, dict) else None
    h = (detail or {}).get("policy_hash") if isinstance(detail, dict) else None
    if not h and isinstance(params, dict):
        h = params.get("policy_hash")
    return str(h or "")


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("verdict_policy_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("verdict_policy_hash", sa.String(64), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("policy_version", sa.Integer, nullable=True))

    conn = op.get_bind()
    versions = sa.table("policy_versions", sa.column("id", sa.Integer),
                        sa.column("policy_hash", sa.String))
    by_hash: dict[str, int] = {}
    for vid, h in conn.execute(sa.select(versions.c.id, versions.c.policy_hash)
                               .order_by(versions.c.id)):
        by_hash[h] = vid  # the newest version with that content
    plans = sa.table("plans", sa.column("id", sa.String), sa.column("result", sa.JSON),
                     sa.column("params", sa.JSON),
                     sa.column("verdict_policy_version", sa.Integer),
                     sa.column("verdict_policy_hash", sa.String))
    for pid, result, params in conn.execute(sa.select(plans.c.id, plans.c.result,
                                                      plans.c.params)):
        h = _verdict_hash(result, params)
        conn.execute(plans.update().where(plans.c.id == pid).values(
            verdict_policy_hash=h, verdict_policy_version=by_hash.get(h)))
    approvals = sa.table("approvals", sa.column("id", sa.Integer),
                         sa.column("policy_hash", sa.String),
                         sa.column("policy_version", sa.Integer))
    for h, vid in by_hash.items():
        conn.execute(approvals.update().where(approvals.c.policy_hash == h)
                     .values(policy_version=vid))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("policy_version")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("verdict_policy_hash")
        batch.drop_column("verdict_policy_version")
