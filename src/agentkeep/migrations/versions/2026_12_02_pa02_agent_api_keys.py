"""agent API keys (internal, external, github, slack)

Revision ID: pa02_agent_api_keys
Revises: pa01_deployments
Create Date: 2026-12-02 04:31:00

Registration keys stay in ``agent_keys`` (another change hashes them and rotates them);
authentication accepts either a registration key or an internal/external key from here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agentkeep.store.tables import UTCDateTime

revision = "pa02_agent_api_keys"
down_revision = "pa01_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("api_key_type", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "api_key_type IN ('external', 'github', 'internal', 'slack')",
            name=op.f("ck_agent_api_keys_api_key_type"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_api_keys_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_api_keys")),
        sa.UniqueConstraint(
            "agent_id", "name", "api_key_type", name="uq_agent_api_keys_agent_name_type"
        ),
        sa.UniqueConstraint("key_hash", name=op.f("uq_agent_api_keys_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("agent_api_keys")
