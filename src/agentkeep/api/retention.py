"""Task retention: ``/tasks/{id}/export`` (GET inline, POST to an ``upload_url``),
``/tasks/{id}/clean`` and ``/tasks/{id}/rehydrate``.

The routes accept any task that exists, DELETED included (retention covers deleted
content); an agent key reaches only its own tasks. Every refusal changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

import orjson
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, ValidationError

from agentkeep import errors
from agentkeep.api import platform_wire as pw
from agentkeep.api import responses
from agentkeep.api.deps import SettingsDep, StoreDep, TaskAccessDep
from agentkeep.domain import content, models
from agentkeep.domain.content import StreamingStatus, TaskMessageContent
from agentkeep.domain.limits import CheckedBody
from agentkeep.retention import urls
from agentkeep.settings import Settings
from agentkeep.store.rows import MessageRow, StateRow

router = APIRouter(tags=["task-retention"])


class UploadBody(CheckedBody):
    upload_url: str


class CleanBody(CheckedBody):
    force: bool = False
    idle_days: int = Field(7, ge=1)


class SnapshotMessage(BaseModel):
    id: str | None = None
    task_id: str
    content: TaskMessageContent
    streaming_status: StreamingStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SnapshotState(BaseModel):
    id: str | None = None
    task_id: str
    agent_id: str
    state: dict[str, Any]
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Snapshot(CheckedBody):
    """What export answers and rehydrate takes (Agentex's TaskSnapshotEntity)."""

    task_id: str
    messages: list[SnapshotMessage] = Field(default_factory=list)
    task_states: list[SnapshotState] = Field(default_factory=list)


class RehydrateBody(Snapshot):
    snapshot_url: str | None = None


@router.get("/tasks/{task_id}/export", response_model=pw.TaskSnapshot)
async def export_task(task_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.child_of(task_id)
    return responses.json(await store.task_snapshot(task_id))


@router.post("/tasks/{task_id}/export", response_model=pw.ExportUpload)
async def export_to_url(
    task_id: str, body: UploadBody, store: StoreDep, access: TaskAccessDep, settings: SettingsDep
) -> Response:
    await access.child_of(task_id)
    target = await urls.check(body.upload_url, allow_private=settings.retention_allow_private_urls)
    snapshot = await store.task_snapshot(task_id)
    # The same bytes GET /export answers.
    data = orjson.dumps(snapshot)
    if not await urls.upload(target, data):
        raise errors.UpstreamError(f"Failed to upload snapshot for task {task_id}")
    return responses.json(
        {
            "task_id": task_id,
            "upload_url": body.upload_url,
            "uploaded_bytes": len(data),
            "messages_count": len(snapshot["messages"]),
            "task_states_count": len(snapshot["task_states"]),
        }
    )


@router.post("/tasks/{task_id}/clean", response_model=pw.CleanResult)
async def clean_task(
    task_id: str, store: StoreDep, access: TaskAccessDep, body: CleanBody | None = None
) -> Response:
    await access.child_of(task_id)
    body = body or CleanBody()
    return responses.json(
        await store.clean_task(task_id, force=body.force, idle_days=body.idle_days)
    )


@router.post("/tasks/{task_id}/rehydrate", status_code=204)
async def rehydrate_task(
    task_id: str,
    body: RehydrateBody,
    store: StoreDep,
    access: TaskAccessDep,
    settings: SettingsDep,
) -> Response:
    await access.child_of(task_id)
    snapshot = await _source(task_id, body, settings)
    _check_ids(task_id, snapshot)
    now = models.utcnow()
    msgs = [_message_row(m, now) for m in snapshot.messages]
    sts = [_state_row(s, now) for s in snapshot.task_states]
    await store.rehydrate_task(task_id, msgs, sts)
    return Response(status_code=204)


async def _source(task_id: str, body: RehydrateBody, settings: Settings) -> Snapshot:
    """Exactly one source: the inline lists, or a snapshot downloaded from ``snapshot_url``."""
    inline = bool(body.messages or body.task_states)
    if inline and body.snapshot_url is not None:
        raise errors.Unprocessable(
            "Provide inline content (messages/task_states) OR snapshot_url, not both."
        )
    if body.snapshot_url is None:
        if not inline:
            raise errors.Unprocessable(
                "Provide exactly one of: inline content (messages/task_states) or snapshot_url."
            )
        return body
    target = await urls.check(
        body.snapshot_url, allow_private=settings.retention_allow_private_urls
    )
    try:
        data = await urls.download(target, limit=settings.max_body_bytes)
    except urls.TooLarge:
        raise _invalid(f"larger than {settings.max_body_bytes} bytes") from None
    if data is None:
        raise errors.UpstreamError(f"Failed to download snapshot from URL for task {task_id}")
    try:
        return Snapshot.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise _invalid(f"{where}: {first['msg']}") from None


def _invalid(detail: str) -> errors.BadRequest:
    return errors.BadRequest(f"Downloaded snapshot is not a valid TaskSnapshotEntity: {detail}")


def _check_ids(task_id: str, snapshot: Snapshot) -> None:
    if snapshot.task_id != task_id:
        raise errors.BadRequest(
            f"Snapshot task_id ({snapshot.task_id}) does not match path task_id ({task_id})"
        )
    refs = [("message", i, m.task_id) for i, m in enumerate(snapshot.messages)]
    refs += [("task_states", i, s.task_id) for i, s in enumerate(snapshot.task_states)]
    for kind, i, item_task in refs:
        if item_task != task_id:
            raise errors.BadRequest(
                f"Snapshot {kind}[{i}] task_id ({item_task}) does not match path "
                f"task_id ({task_id})"
            )


class _Times(TypedDict):
    created_at: datetime
    updated_at: datetime


def _times(created: datetime | None, updated: datetime | None, now: datetime) -> _Times:
    created_at = models.as_utc(created) if created is not None else now
    return {
        "created_at": created_at,
        "updated_at": models.as_utc(updated) if updated is not None else created_at,
    }


def _message_row(m: SnapshotMessage, now: datetime) -> MessageRow:
    return {
        "id": m.id or models.new_id(),
        "task_id": m.task_id,
        # Stored as REST stores content (validated, defaults filled), so an exported
        # message comes back byte for byte.
        "content": content.dump(m.content),
        "streaming_status": m.streaming_status,
        **_times(m.created_at, m.updated_at, now),
    }


def _state_row(s: SnapshotState, now: datetime) -> StateRow:
    return {
        "id": s.id or models.new_id(),
        "task_id": s.task_id,
        "agent_id": s.agent_id,
        "state": s.state,
        **_times(s.created_at, s.updated_at, now),
    }
