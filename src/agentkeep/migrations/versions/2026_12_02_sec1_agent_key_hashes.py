"""agent keys stored as hashes; spans remember the agent that created them

Revision ID: sec1
Revises: 0001
Create Date: 2026-12-02 04:40:00

Existing clear-text keys are replaced by their SHA-256 with no nonce: they keep
authenticating their agents, and each agent's next registration swaps its key for a
derived one (the server cannot forward a key it no longer holds, so agents are restarted
once after this upgrade; see the README).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "sec1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("nonce", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    keys = sa.table(
        "agent_keys",
        sa.column("agent_id", sa.String),
        sa.column("api_key", sa.String),
        sa.column("key_hash", sa.String),
    )
    for agent_id, api_key in conn.execute(sa.select(keys.c.agent_id, keys.c.api_key)).all():
        conn.execute(
            keys.update()
            .where(keys.c.agent_id == agent_id)
            .values(key_hash=hashlib.sha256(api_key.encode()).hexdigest())
        )
    with op.batch_alter_table("agent_keys", schema=None) as batch_op:
        batch_op.alter_column("key_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint(op.f("uq_agent_keys_api_key"), type_="unique")
        batch_op.drop_column("api_key")
        batch_op.create_unique_constraint(op.f("uq_agent_keys_key_hash"), ["key_hash"])
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("creator_agent_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Hashes cannot be turned back into keys: the keys go, and each agent's next
    # registration mints a new one.
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.drop_column("creator_agent_id")
    op.execute("DELETE FROM agent_keys")
    with op.batch_alter_table("agent_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_agent_keys_key_hash"), type_="unique")
        batch_op.drop_column("nonce")
        batch_op.drop_column("key_hash")
        batch_op.add_column(sa.Column("api_key", sa.String(length=64), nullable=False))
        batch_op.create_unique_constraint(op.f("uq_agent_keys_api_key"), ["api_key"])
