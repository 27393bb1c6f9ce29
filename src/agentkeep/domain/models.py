"""Wire shapes: rows as the Agentex contract names them.

Rows come out of the store as mappings; these functions pick and order the fields clients
see, so internal columns (``acp_url``, ``status_actor``, ``creator_agent_id``) never leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

Row = Mapping[str, Any]

TASK_FIELDS = (
    "id",
    "name",
    "status",
    "status_reason",
    "created_at",
    "updated_at",
    "params",
    "task_metadata",
    "version",
    "deadline_at",
)
AGENT_FIELDS = (
    "id",
    "name",
    "description",
    "status",
    "status_reason",
    "acp_type",
    "created_at",
    "updated_at",
    "registration_metadata",
    "registered_at",
    "agent_input_type",
    "production_deployment_id",
)


def new_id() -> str:
    return str(uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def task_wire(row: Row) -> dict[str, Any]:
    """The Task object: Agentex's fields plus ``version`` and ``deadline_at``."""
    out = {k: row[k] for k in TASK_FIELDS}
    # Set while a retention clean has removed the task's content (platform.md).
    out["cleaned_at"] = row.get("cleaned_at")
    return out


def task_summary(row: Row) -> dict[str, Any]:
    """A list item: the Task without ``params``."""
    out = task_wire(row)
    del out["params"]
    return out


def agent_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in AGENT_FIELDS}


DEPLOYMENT_FIELDS = (
    "id",
    "agent_id",
    "docker_image",
    "registration_metadata",
    "status",
    "acp_url",
    "is_production",
    "sgp_deploy_id",
    "helm_release_name",
    "created_at",
    "promoted_at",
    "expires_at",
)
DEPLOYMENT_HISTORY_FIELDS = (
    "id",
    "agent_id",
    "author_name",
    "author_email",
    "branch_name",
    "build_timestamp",
    "deployment_timestamp",
    "commit_hash",
)
#: Never the value: it is shown once, by the route that creates it.
AGENT_API_KEY_FIELDS = ("id", "agent_id", "created_at", "name", "api_key_type")


def deployment_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in DEPLOYMENT_FIELDS}


def deployment_history_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in DEPLOYMENT_HISTORY_FIELDS}


def agent_api_key_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in AGENT_API_KEY_FIELDS}


def etag(version: int) -> str:
    return f'"{version}"'


def as_utc(value: datetime) -> datetime:
    """A client-supplied time in UTC; a time without an offset is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


MESSAGE_FIELDS = ("id", "task_id", "content", "streaming_status", "created_at", "updated_at")
STATE_FIELDS = ("id", "task_id", "agent_id", "state", "created_at", "updated_at")
EVENT_FIELDS = ("id", "sequence_id", "task_id", "agent_id", "content", "created_at")
TRACKER_FIELDS = (
    "id",
    "agent_id",
    "task_id",
    "status",
    "status_reason",
    "last_processed_event_id",
    "created_at",
    "updated_at",
)
SPAN_FIELDS = (
    "id",
    "trace_id",
    "task_id",
    "parent_id",
    "name",
    "start_time",
    "end_time",
    "input",
    "output",
    "data",
)


def message_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in MESSAGE_FIELDS}


def state_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in STATE_FIELDS}


def event_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in EVENT_FIELDS}


def tracker_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in TRACKER_FIELDS}


def span_wire(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in SPAN_FIELDS}
