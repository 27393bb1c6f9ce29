"""What the server answers, declared for the OpenAPI document (``/openapi.json``).

Routes build their bodies themselves (``responses.json``), so these models are never used
to serialize: they describe the bytes the routes already send, for clients, generated SDKs
and the schema fuzz test. ``ERRORS`` is attached to every router in ``create_app``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from starlette.responses import StreamingResponse

from agentkeep import sse


class ErrorEnvelope(BaseModel):
    """Every error: Agentex's envelope. ``data`` carries details (the current task, the
    validation errors)."""

    message: str
    code: int
    data: Any = None


#: The envelope's JSON schema, written inline: a ``model`` entry would cost every route a
#: pydantic adapter per status, built on the first request of each router (FastAPI builds
#: routes lazily), which made first calls slow enough to trip agents' timeouts.
ENVELOPE_SCHEMA = ErrorEnvelope.model_json_schema()
_ENVELOPE_CONTENT = {"application/json": {"schema": ENVELOPE_SCHEMA}}

#: The statuses any route may answer with the envelope.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": _ENVELOPE_CONTENT}
    for status, description in (
        (400, "Bad request, or a refused transition (data.task: the current task)"),
        (401, "Missing or unknown credentials"),
        (403, "Forbidden"),
        (404, "Not found"),
        (412, "If-Match does not match the task's version (data.task: the current task)"),
        (413, "Request body over AGENTKEEP_MAX_BODY_BYTES"),
        (422, "A field of the request is invalid (data.errors: each problem)"),
    )
}


class EventStream(StreamingResponse):
    """Documents a ``text/event-stream`` answer (the routes build their own responses)."""

    media_type = sse.MEDIA_TYPE


#: The stream routes: a late connect to a finished task with nothing to replay is 204.
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Server-sent events: data frames and :ping comments"},
    204: {"description": "The task is finished and nothing is left to replay"},
}


class Agent(BaseModel):
    id: str
    name: str
    description: str
    status: str
    status_reason: str | None
    acp_type: str
    created_at: datetime
    updated_at: datetime
    registration_metadata: dict[str, Any] | None
    registered_at: datetime | None
    agent_input_type: str | None


class Task(BaseModel):
    id: str
    name: str | None
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    params: dict[str, Any] | None = None
    task_metadata: dict[str, Any] | None
    version: int
    deadline_at: datetime | None
    cleaned_at: datetime | None
    agents: list[Agent] | None = None


class RegisteredAgent(Agent):
    agent_api_key: str | None


class Deleted(BaseModel):
    id: str
    message: str


class HistoryEntry(BaseModel):
    seq: int
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    request_id: str | None
    created_at: datetime


class Message(BaseModel):
    id: str
    task_id: str
    content: dict[str, Any]
    streaming_status: str | None
    created_at: datetime
    updated_at: datetime


class MessagePage(BaseModel):
    data: list[Message]
    next_cursor: str | None
    has_more: bool


class State(BaseModel):
    id: str
    task_id: str
    agent_id: str
    state: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Event(BaseModel):
    id: str
    sequence_id: int
    task_id: str
    agent_id: str
    content: Any
    created_at: datetime


class Tracker(BaseModel):
    id: str
    agent_id: str
    task_id: str
    status: str | None
    status_reason: str | None
    last_processed_event_id: str | None
    created_at: datetime
    updated_at: datetime


class Span(BaseModel):
    id: str
    trace_id: str
    task_id: str | None
    parent_id: str | None
    name: str
    start_time: datetime | None
    end_time: datetime | None
    input: Any
    output: Any
    data: Any


class Published(BaseModel):
    task_id: str
    ids: list[str]


class Health(BaseModel):
    status: str
    checks: dict[str, str] | None = None


class RpcError(BaseModel):
    code: int
    message: str
    data: Any = None


class RpcResponse(BaseModel):
    """JSON-RPC 2.0: ``result`` or ``error``, the other null."""

    jsonrpc: str
    id: int | str | None
    result: Any = None
    error: RpcError | None = None


RPC_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"model": RpcResponse, "description": "A JSON-RPC response"},
}
