"""What the platform routes answer, declared for the OpenAPI document.

As ``wire`` for the core routes: the routes build their own bodies, so these models only
describe the bytes already sent (the ``*_wire`` functions in ``domain.models``,
``schedules.model`` and the stores). Field names and optionality mirror agentex-client's
types (``RunSchedule``, ``DeploymentRetrieveResponse``, ``CheckpointGetTupleResponse``…).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from agentkeep.api.wire import Message, State

# ------------------------------------------------------------------ schedules


class ScheduleInitialInput(BaseModel):
    type: str
    author: str
    content: str


class ScheduleCreator(BaseModel):
    """Who created the schedule: context only, never a credential."""

    principal_type: str | None
    user_id: str | None
    service_account_id: str | None
    account_id: str | None


class RunSchedule(BaseModel):
    """``schedules.model.wire``; the live fields are filled only when asked for."""

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
    task_params: dict[str, Any] | None
    task_metadata: dict[str, Any] | None
    initial_input: ScheduleInitialInput
    creator_principal: ScheduleCreator
    created_at: datetime
    updated_at: datetime
    initial_input_method: str
    state: str
    next_action_times: list[datetime]
    skipped_action_times: list[datetime]
    last_action_time: datetime | None
    num_actions_taken: int
    live_data_available: bool | None


class RunScheduleList(BaseModel):
    run_schedules: list[RunSchedule]
    total: int


class ScheduleFire(BaseModel):
    """[ext] One fire of a schedule (``schedules.FIRE_FIELDS``)."""

    id: str
    schedule_id: str
    fire_id: str
    trigger_type: str
    nominal_time: datetime
    status: str
    reason: str | None
    task_id: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# ------------------------------------------------------------------ deployments


class Deployment(BaseModel):
    id: str
    agent_id: str
    docker_image: str
    registration_metadata: dict[str, Any] | None
    status: str
    acp_url: str | None
    is_production: bool
    sgp_deploy_id: str | None
    helm_release_name: str | None
    created_at: datetime
    promoted_at: datetime | None
    expires_at: datetime | None


class DeploymentHistory(BaseModel):
    id: str
    agent_id: str
    author_name: str
    author_email: str
    branch_name: str
    build_timestamp: datetime
    deployment_timestamp: datetime
    commit_hash: str


# ------------------------------------------------------------------ agent API keys


class AgentApiKey(BaseModel):
    """Never the value: it is shown once, by the route that creates it."""

    id: str
    agent_id: str
    created_at: datetime
    name: str
    api_key_type: str


class CreatedAgentApiKey(AgentApiKey):
    api_key: str


class WebhookTrigger(BaseModel):
    key_id: str
    agent_name: str
    source: str
    name: str
    secret: str
    webhook_path: str
    webhook_url: str | None


# ------------------------------------------------------------------ checkpoints


class CheckpointBlob(BaseModel):
    channel: str
    version: str
    type: str
    blob: str | None


class CheckpointWrite(BaseModel):
    task_id: str
    idx: int
    channel: str
    type: str | None
    blob: str | None


class Checkpoint(BaseModel):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]


class CheckpointTuple(Checkpoint):
    """Blob and write bytes travel as standard base64."""

    blobs: list[CheckpointBlob]
    pending_writes: list[CheckpointWrite]


class CheckpointKey(BaseModel):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str


# ------------------------------------------------------------------ task retention


class TaskSnapshot(BaseModel):
    task_id: str
    messages: list[Message]
    task_states: list[State]


class ExportUpload(BaseModel):
    task_id: str
    upload_url: str
    uploaded_bytes: int
    messages_count: int
    task_states_count: int


class CleanResult(BaseModel):
    task_id: str
    cleaned_at: datetime
    messages_deleted: int
    task_states_deleted: int
    events_deleted: int
    checkpoints_deleted: int
