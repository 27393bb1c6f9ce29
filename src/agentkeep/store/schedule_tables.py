"""Tables of the schedules: ``agent_run_schedules``, ``schedule_skips``, ``schedule_fires``.

Declared on ``tables.metadata`` like every other table, so migrations and the
``upgrade head == models`` test see them (``store/__init__`` imports this module through
the mixins that use it).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from agentkeep.domain.fires import FireStatus, TriggerType
from agentkeep.store.tables import Id, JSONType, UTCDateTime, _status_check, _timestamps, metadata

FIRE_STATUSES = {str(s) for s in FireStatus}
TRIGGER_TYPES = {str(t) for t in TriggerType}

agent_run_schedules = Table(
    "agent_run_schedules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", Text),
    Column("cron_expression", String(255)),
    Column("interval_seconds", BigInteger),
    Column("timezone", String(64), nullable=False),
    Column("start_at", UTCDateTime()),
    Column("end_at", UTCDateTime()),
    Column("paused", Boolean, nullable=False),
    Column("state_note", Text),
    Column("task_params", JSONType),
    Column("task_metadata", JSONType),
    Column("initial_input", JSONType, nullable=False),
    Column("creator_principal", JSONType, nullable=False),
    # The scheduler's claim: null while paused or when no cadence time is left.
    Column("next_fire_at", UTCDateTime()),
    # Bumped by every write, so a claim that read an older row loses its compare-and-set.
    Column("version", Integer, nullable=False),
    Column("num_actions_taken", Integer, nullable=False),
    Column("last_action_time", UTCDateTime()),
    *_timestamps(),
    Column("deleted_at", UTCDateTime()),
    Index("ix_agent_run_schedules_agent_created", "agent_id", "created_at"),
    Index("ix_agent_run_schedules_next_fire_at", "next_fire_at"),
    # Names are unique among live schedules only: a deleted one frees its name.
    Index(
        "uq_agent_run_schedules_live_name",
        "agent_id",
        "name",
        unique=True,
        postgresql_where=text("deleted_at IS NULL"),
        sqlite_where=text("deleted_at IS NULL"),
    ),
)

schedule_skips = Table(
    "schedule_skips",
    metadata,
    Column("schedule_id", Id, ForeignKey("agent_run_schedules.id"), primary_key=True),
    Column("skipped_time", UTCDateTime(), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

schedule_fires = Table(
    "schedule_fires",
    metadata,
    Column("id", Id, primary_key=True),
    Column("schedule_id", Id, ForeignKey("agent_run_schedules.id"), nullable=False),
    Column("fire_id", String(255), nullable=False),
    Column("trigger_type", String(16), nullable=False),
    Column("nominal_time", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("task_id", Id),
    Column("attempts", Integer, nullable=False),
    # A running fire belongs to its runner until then; past it, any process may resume it.
    Column("lease_until", UTCDateTime()),
    # A failed attempt waits until then before the next one (backoff).
    Column("next_attempt_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    # The final guarantee of one fire per nominal time, whatever the claims did.
    UniqueConstraint("schedule_id", "nominal_time", name="uq_schedule_fires_nominal"),
    Index("ix_schedule_fires_schedule_created", "schedule_id", "created_at"),
    Index("ix_schedule_fires_status", "status", "next_attempt_at"),
    _status_check("status", FIRE_STATUSES, "status"),
    _status_check("trigger_type", TRIGGER_TYPES, "trigger_type"),
)
