"""The schema, portable between SQLite and PostgreSQL.

JSON columns are JSONB on Postgres and JSON text on SQLite; statuses are plain strings
guarded by a CHECK built from ``domain.status`` (no native enum: adding a status must not
need ``ALTER TYPE``). Constraints are named because Alembic rewrites SQLite tables in batch
mode and needs the names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from agentkeep.domain import status
from agentkeep.domain.agents import AcpType, AgentStatus

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite has no timezone type and returns naive values; attaching UTC on the way out keeps
    the wire format identical on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


JSONType = JSON().with_variant(JSONB(), "postgresql")
#: A 64-bit sequence that is also SQLite's rowid (only INTEGER PRIMARY KEY autoincrements).
Serial = BigInteger().with_variant(Integer(), "sqlite")
Id = String(64)


def _status_check(column: str, values: frozenset[str] | set[str], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in sorted(values))
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    ]


AGENT_STATUSES = {str(s) for s in AgentStatus}
ACP_TYPES = {str(t) for t in AcpType}

agents = Table(
    "agents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),
    Column("acp_type", String(16), nullable=False),
    Column("acp_url", Text),
    Column("registration_metadata", JSONType),
    Column("registered_at", UTCDateTime()),
    Column("agent_input_type", String(16)),
    *_timestamps(),
    # The promoted deployment agents are dialed at (platform.md, Deployments). No foreign
    # key: deployments reference agents, and a cycle would complicate every batch migration.
    Column("production_deployment_id", Id),
    _status_check("status", AGENT_STATUSES, "status"),
    _status_check("acp_type", ACP_TYPES, "acp_type"),
)

agent_keys = Table(
    "agent_keys",
    metadata,
    Column("agent_id", Id, ForeignKey("agents.id"), primary_key=True),
    # Never the key itself (see ``agentkeep.keys``): its SHA-256, which authentication looks
    # up, and the nonce the key is derived from when the server forwards to the agent.
    Column("key_hash", String(64), nullable=False, unique=True),
    # NULL for a key hashed by the migration from a clear-text column: it still
    # authenticates the agent, and its next registration replaces it with a derived key.
    Column("nonce", String(32)),
    Column("created_at", UTCDateTime(), nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(255), unique=True),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),
    # Who made the last status change: only a FAILED set by ``system:acp`` may resume.
    Column("status_actor", String(255)),
    # The status before the last change. SET expressions see the old row, so one
    # ``UPDATE … SET prev_status = status … RETURNING`` tells the history row where the
    # task came from without a read before the write.
    Column("prev_status", String(32)),
    Column("params", JSONType),
    Column("task_metadata", JSONType),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("deadline_at", UTCDateTime()),
    # The agent whose key created this task over RPC: that key may reach it over REST.
    Column("creator_agent_id", Id),
    # Set by a retention clean (content deleted), cleared by rehydrate.
    Column("cleaned_at", UTCDateTime()),
    *_timestamps(),
    _status_check("status", {s.value for s in status.TaskStatus}, "status"),
    Index("ix_tasks_updated_at", "updated_at", "created_at"),
    # The sweeper's query: only live tasks with a deadline are indexed on Postgres.
    Index(
        "ix_tasks_deadline_live",
        "deadline_at",
        postgresql_where=text("deadline_at IS NOT NULL"),
    ),
)

task_agents = Table(
    "task_agents",
    metadata,
    Column("task_id", Id, ForeignKey("tasks.id"), primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id"), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_task_agents_agent_id", "agent_id"),
)

trackers = Table(
    "trackers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("status", String(64)),
    Column("status_reason", Text),
    Column("last_processed_event_id", Id),
    *_timestamps(),
    UniqueConstraint("agent_id", "task_id", name="uq_trackers_agent_task"),
    Index("ix_trackers_task_id", "task_id"),
)

task_history = Table(
    "task_history",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("from_status", String(32)),
    Column("to_status", String(32), nullable=False),
    Column("reason", Text),
    Column("actor", String(255), nullable=False),
    Column("request_id", String(255)),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_task_history_task_id", "task_id", "seq"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # sha256 of (credential, method, path, key): the key is only unique within that scope.
    Column("scope_hash", String(64), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer),
    Column("body", Text),
    # A token of the request holding an in-flight claim: its answer commits only while the
    # claim is still its own (a retry may take over a claim whose lease ran out).
    Column("owner", String(32)),
    *_timestamps(),
    _status_check("state", {"in_flight", "done"}, "state"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("task_id", Id, nullable=False),
    Column("version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    # Set when a publish was attempted but its outcome is unknown (timeout, lost reply):
    # the relay checks the stream's tail before publishing such a row again.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("content", JSONType, nullable=False),
    Column("streaming_status", String(16)),
    *_timestamps(),
    Index("ix_messages_task_created", "task_id", "created_at", "id"),
)

states = Table(
    "states",
    metadata,
    Column("id", Id, primary_key=True),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("state", JSONType, nullable=False),
    *_timestamps(),
    UniqueConstraint("task_id", "agent_id", name="uq_states_task_agent"),
)

events = Table(
    "events",
    metadata,
    # The global, strictly increasing order agents read events in.
    Column("sequence_id", Serial, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("content", JSONType),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_events_task_agent_seq", "task_id", "agent_id", "sequence_id"),
)

spans = Table(
    "spans",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("trace_id", String(255), nullable=False),
    Column("task_id", Id),
    Column("parent_id", String(255)),
    Column("name", Text, nullable=False),
    Column("start_time", UTCDateTime()),
    Column("end_time", UTCDateTime()),
    Column("input", JSONType),
    Column("output", JSONType),
    Column("data", JSONType),
    # The agent whose key created the span: a span tied to no task is that agent's alone.
    Column("creator_agent_id", Id),
    Index("ix_spans_trace_id", "trace_id"),
    Index("ix_spans_task_id", "task_id"),
)

# ------------------------------------------------------------------ LangGraph checkpoints
# The storage behind agentex-sdk's HTTP checkpointer. "Latest" is the greatest
# checkpoint id, so ids must compare bytewise: SQLite's default BINARY collation does,
# Postgres needs COLLATE "C" (its default collation follows the locale).
CheckpointId = Text().with_variant(Text(collation="C"), "postgresql")
Bytes = LargeBinary()

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True),
    Column("checkpoint_id", CheckpointId, primary_key=True),
    Column("parent_checkpoint_id", CheckpointId),
    Column("checkpoint", JSONType, nullable=False),
    Column("metadata", JSONType, nullable=False),
)

checkpoint_blobs = Table(
    "checkpoint_blobs",
    metadata,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("version", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("blob", Bytes),
)

checkpoint_writes = Table(
    "checkpoint_writes",
    metadata,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True),
    Column("checkpoint_id", CheckpointId, primary_key=True),
    Column("task_id", Text, primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("channel", Text, nullable=False),
    Column("type", Text),
    Column("blob", Bytes, nullable=False),
    Column("task_path", Text, nullable=False, server_default=""),
)

# ------------------------------------------------------------------ periodic system jobs
# One row per job (the retention sweep): processes claim a run by compare-and-set on
# ``version``, so each run happens once however many processes are up.
system_jobs = Table(
    "system_jobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_run_at", UTCDateTime()),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("last_run_at", UTCDateTime()),
    Column("last_result", JSONType),
)
