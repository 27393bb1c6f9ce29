"""The rows the store returns, as ``TypedDict``s: one home for what each table holds.

Keys are the table's columns (``tables``, ``schedule_tables``, ``platform_tables``); value
types are what the store hands back after its own conversions: timestamps timezone-aware
(``UTCDateTime``, and ``fastread`` on Postgres), JSON columns decoded, booleans as ``bool``.
Statuses are the plain strings the database returns, which compare equal to the
``StrEnum`` members of ``domain``. At runtime a row is a plain ``dict``: these types exist
so that mypy catches a misspelt or missing key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NotRequired, TypedDict, TypeVar, cast

#: A JSON object column (request bodies are validated as objects before they are stored).
JsonObject = dict[str, Any]
#: A span's ``input``, ``output`` and ``data``: an object, a list of objects, or null.
SpanPayload = JsonObject | list[JsonObject] | None

R = TypeVar("R", bound=Mapping[str, Any])


def row_as(kind: type[R], r: Any) -> R:
    """A result row as a plain dict, typed as the row ``kind`` its statement selects."""
    return cast(R, dict(r._mapping))


class AgentRow(TypedDict):
    id: str
    name: str
    description: str
    status: str
    status_reason: str | None
    acp_type: str
    acp_url: str | None
    registration_metadata: JsonObject | None
    registered_at: datetime | None
    agent_input_type: str | None
    created_at: datetime
    updated_at: datetime
    production_deployment_id: str | None


class TaskAgentRow(AgentRow):
    """An agent joined through ``task_agents``: the agent's columns and the task it serves."""

    task_id: str


class AgentKeyRow(TypedDict):
    """What ``agent_keys`` holds to check and re-derive a key (never the key itself)."""

    key_hash: str
    nonce: str | None


class TaskRow(TypedDict):
    id: str
    name: str | None
    status: str
    status_reason: str | None
    status_actor: str | None
    prev_status: str | None
    params: JsonObject | None
    task_metadata: JsonObject | None
    version: int
    deadline_at: datetime | None
    creator_agent_id: str | None
    cleaned_at: datetime | None
    created_at: datetime
    updated_at: datetime
    #: Not a column: the outbox row a change wrote with it (transitions and updates report
    #: it for the relay's fast path; other reads never carry it).
    outbox_id: NotRequired[int]


class HistoryRow(TypedDict):
    seq: int
    task_id: str
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    request_id: str | None
    created_at: datetime


class TrackerRow(TypedDict):
    id: str
    agent_id: str
    task_id: str
    status: str | None
    status_reason: str | None
    last_processed_event_id: str | None
    created_at: datetime
    updated_at: datetime


class IdempotencyRow(TypedDict):
    scope_hash: str
    request_hash: str
    state: str
    status_code: int | None
    body: str | None
    owner: str | None
    created_at: datetime
    updated_at: datetime


class OutboxRow(TypedDict):
    id: int
    task_id: str
    version: int
    #: The ``task_updated`` event JSON once claimed (the stored task row before).
    payload: str
    attempts: int
    created_at: datetime


class MessageRow(TypedDict):
    id: str
    task_id: str
    content: JsonObject
    streaming_status: str | None
    created_at: datetime
    updated_at: datetime


class StateRow(TypedDict):
    id: str
    task_id: str
    agent_id: str
    state: JsonObject
    created_at: datetime
    updated_at: datetime


class EventRow(TypedDict):
    sequence_id: int
    id: str
    task_id: str
    agent_id: str
    content: JsonObject | None
    created_at: datetime


class SpanRow(TypedDict):
    id: str
    trace_id: str
    task_id: str | None
    parent_id: str | None
    name: str
    start_time: datetime | None
    end_time: datetime | None
    input: SpanPayload
    output: SpanPayload
    data: SpanPayload
    creator_agent_id: str | None


class CheckpointRow(TypedDict):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint: JsonObject
    metadata: JsonObject


class CheckpointBlobRow(TypedDict):
    thread_id: str
    checkpoint_ns: str
    channel: str
    version: str
    type: str
    blob: bytes | None


class CheckpointWriteRow(TypedDict):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    idx: int
    channel: str
    type: str | None
    blob: bytes
    task_path: str


class CheckpointTupleRow(CheckpointRow):
    """A checkpoint with the blobs its ``channel_versions`` name and its pending writes."""

    blobs: list[CheckpointBlobRow]
    pending_writes: list[CheckpointWriteRow]


class ScheduleRow(TypedDict):
    id: str
    agent_id: str
    name: str
    description: str | None
    cron_expression: str | None
    interval_seconds: int | None
    timezone: str
    start_at: datetime | None
    end_at: datetime | None
    paused: bool
    state_note: str | None
    task_params: JsonObject | None
    task_metadata: JsonObject | None
    initial_input: JsonObject
    creator_principal: JsonObject
    next_fire_at: datetime | None
    version: int
    num_actions_taken: int
    last_action_time: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class FireRow(TypedDict):
    id: str
    schedule_id: str
    fire_id: str
    trigger_type: str
    nominal_time: datetime
    status: str
    reason: str | None
    task_id: str | None
    attempts: int
    lease_until: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class DeploymentRow(TypedDict):
    id: str
    agent_id: str
    docker_image: str
    registration_metadata: JsonObject | None
    status: str
    acp_url: str | None
    is_production: bool
    sgp_deploy_id: str | None
    helm_release_name: str | None
    created_at: datetime
    updated_at: datetime
    promoted_at: datetime | None
    expires_at: datetime | None


class DeploymentHistoryRow(TypedDict):
    id: str
    agent_id: str
    author_name: str
    author_email: str
    branch_name: str
    build_timestamp: datetime
    deployment_timestamp: datetime
    commit_hash: str


class AgentApiKeyRow(TypedDict):
    """The public columns of ``agent_api_keys``: never ``key_hash`` nor ``secret``."""

    id: str
    agent_id: str
    name: str
    api_key_type: str
    created_at: datetime


class RetentionCandidate(TypedDict):
    """A task the retention sweep may clean (``SystemJobsMixin.retention_candidates``)."""

    id: str
    status: str


class CleanResult(TypedDict):
    """What a retention clean removed (``POST /tasks/{id}/clean``)."""

    task_id: str
    cleaned_at: datetime
    messages_deleted: int
    task_states_deleted: int
    events_deleted: int
    checkpoints_deleted: int


class TaskSnapshot(TypedDict):
    """A task's content as exported: messages and states in their wire shape."""

    task_id: str
    messages: list[dict[str, Any]]
    task_states: list[dict[str, Any]]
