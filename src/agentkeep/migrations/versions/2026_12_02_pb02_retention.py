"""Task retention: tasks.cleaned_at and system_jobs (the retention sweep's clock)

Revision ID: pb02_retention
Revises: pb01_checkpoints
Create Date: 2026-12-02 04:41:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from agentkeep.store.tables import UTCDateTime

revision = "pb02_retention"
down_revision = "pb01_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: a plain ADD COLUMN on both databases, no table rewrite.
    op.add_column("tasks", sa.Column("cleaned_at", UTCDateTime(), nullable=True))
    op.create_table(
        "system_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column(
            "last_result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_system_jobs")),
    )


def downgrade() -> None:
    op.drop_table("system_jobs")
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.drop_column("cleaned_at")
