"""deployments, deployment history, agents.production_deployment_id

Revision ID: pa01_deployments
Revises: 0001
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from agentkeep.store.tables import UTCDateTime

revision = "pa01_deployments"
down_revision = "pb02_retention"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("docker_image", sa.Text(), nullable=False),
        sa.Column("registration_metadata", JSON, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acp_url", sa.Text(), nullable=True),
        sa.Column("is_production", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sgp_deploy_id", sa.Text(), nullable=True),
        sa.Column("helm_release_name", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("promoted_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('Failed', 'Pending', 'Ready')", name=op.f("ck_deployments_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_deployments_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deployments_agent_created", ["agent_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_deployments_one_production",
            ["agent_id"],
            unique=True,
            postgresql_where=sa.text("is_production"),
            sqlite_where=sa.text("is_production"),
        )
    op.create_table(
        "deployment_history",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("author_email", sa.Text(), nullable=False),
        sa.Column("branch_name", sa.Text(), nullable=False),
        sa.Column("build_timestamp", UTCDateTime(), nullable=False),
        sa.Column("deployment_timestamp", UTCDateTime(), nullable=False),
        sa.Column("commit_hash", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_deployment_history_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_history")),
    )
    with op.batch_alter_table("deployment_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deployment_history_agent_ts", ["agent_id", "deployment_timestamp"], unique=False
        )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("production_deployment_id", sa.String(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("production_deployment_id")
    op.drop_table("deployment_history")
    op.drop_table("deployments")
