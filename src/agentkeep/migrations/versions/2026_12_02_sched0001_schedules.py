"""schedules: agent_run_schedules, schedule_skips, schedule_fires

Revision ID: sched0001
Revises: sec1
Create Date: 2026-12-02 04:25:51.296941
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from agentkeep.store.tables import UTCDateTime

revision = "sched0001"
down_revision = "rel_0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_run_schedules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cron_expression", sa.String(length=255), nullable=True),
        sa.Column("interval_seconds", sa.BigInteger(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=True),
        sa.Column("end_at", UTCDateTime(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("state_note", sa.Text(), nullable=True),
        sa.Column(
            "task_params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "task_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "initial_input",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "creator_principal",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("next_fire_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("num_actions_taken", sa.Integer(), nullable=False),
        sa.Column("last_action_time", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_run_schedules_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_run_schedules")),
    )
    with op.batch_alter_table("agent_run_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_run_schedules_agent_created", ["agent_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_agent_run_schedules_next_fire_at", ["next_fire_at"], unique=False)
        batch_op.create_index(
            "uq_agent_run_schedules_live_name",
            ["agent_id", "name"],
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "schedule_fires",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("schedule_id", sa.String(length=64), nullable=False),
        sa.Column("fire_id", sa.String(length=255), nullable=False),
        sa.Column("trigger_type", sa.String(length=16), nullable=False),
        sa.Column("nominal_time", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('failed', 'launched', 'pending', 'running', 'skipped')",
            name=op.f("ck_schedule_fires_status"),
        ),
        sa.CheckConstraint(
            "trigger_type IN ('manual', 'scheduled')", name=op.f("ck_schedule_fires_trigger_type")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["agent_run_schedules.id"],
            name=op.f("fk_schedule_fires_schedule_id_agent_run_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_fires")),
        sa.UniqueConstraint("schedule_id", "nominal_time", name="uq_schedule_fires_nominal"),
    )
    with op.batch_alter_table("schedule_fires", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedule_fires_schedule_created", ["schedule_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_schedule_fires_status", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "schedule_skips",
        sa.Column("schedule_id", sa.String(length=64), nullable=False),
        sa.Column("skipped_time", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["agent_run_schedules.id"],
            name=op.f("fk_schedule_skips_schedule_id_agent_run_schedules"),
        ),
        sa.PrimaryKeyConstraint("schedule_id", "skipped_time", name=op.f("pk_schedule_skips")),
    )


def downgrade() -> None:
    op.drop_table("schedule_skips")
    with op.batch_alter_table("schedule_fires", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_fires_status")
        batch_op.drop_index("ix_schedule_fires_schedule_created")

    op.drop_table("schedule_fires")
    with op.batch_alter_table("agent_run_schedules", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_agent_run_schedules_live_name",
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_agent_run_schedules_next_fire_at")
        batch_op.drop_index("ix_agent_run_schedules_agent_created")

    op.drop_table("agent_run_schedules")
