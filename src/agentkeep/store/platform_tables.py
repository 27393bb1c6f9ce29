"""Tables of the platform routes: deployments, deployment history, agent API keys.

Declared on ``tables.metadata`` like every other table, so migrations and the
``upgrade head == models`` test see them; ``store/__init__`` imports this module through the
mixins that use it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from agentkeep.store.tables import Id, JSONType, UTCDateTime, _status_check, metadata

DEPLOYMENT_STATUSES = {"Pending", "Ready", "Failed"}
KEY_TYPES = {"internal", "external", "github", "slack"}
#: Key types that authenticate a caller: their values are only ever compared, so only a
#: SHA-256 hash is kept.
CREDENTIAL_TYPES = frozenset({"internal", "external"})

deployments = Table(
    "deployments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("docker_image", Text, nullable=False),
    Column("registration_metadata", JSONType),
    Column("status", String(16), nullable=False),
    Column("acp_url", Text),
    Column("is_production", Boolean, nullable=False, server_default=text("false")),
    Column("sgp_deploy_id", Text),
    Column("helm_release_name", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("promoted_at", UTCDateTime()),
    # Set by DELETE: the row stays for history and ``GET /{id}``, never listed again.
    Column("expires_at", UTCDateTime()),
    _status_check("status", DEPLOYMENT_STATUSES, "status"),
    Index("ix_deployments_agent_created", "agent_id", "created_at"),
    # The final guarantee behind promote's lock: never two production rows for one agent,
    # whatever path writes them.
    Index(
        "uq_deployments_one_production",
        "agent_id",
        unique=True,
        postgresql_where=text("is_production"),
        sqlite_where=text("is_production"),
    ),
)

deployment_history = Table(
    "deployment_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("author_name", Text, nullable=False),
    Column("author_email", Text, nullable=False),
    Column("branch_name", Text, nullable=False),
    Column("build_timestamp", UTCDateTime(), nullable=False),
    Column("deployment_timestamp", UTCDateTime(), nullable=False),
    Column("commit_hash", Text, nullable=False),
    Index("ix_deployment_history_agent_ts", "agent_id", "deployment_timestamp"),
)

agent_api_keys = Table(
    "agent_api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("api_key_type", String(16), nullable=False),
    # internal/external: SHA-256 of the value. A caller's key is found by its hash, and the
    # value itself is never needed again.
    Column("key_hash", String(64), unique=True),
    # github/slack: the HMAC secret itself. Checking a signature means computing
    # HMAC(secret, body) on every delivery, so the secret must be readable by the server:
    # a hash would make every signature uncheckable. These keys never authenticate a caller.
    Column("secret", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    _status_check("api_key_type", KEY_TYPES, "api_key_type"),
    UniqueConstraint("agent_id", "name", "api_key_type", name="uq_agent_api_keys_agent_name_type"),
)
