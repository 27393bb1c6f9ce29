"""Task reads, metadata updates, soft delete and history (by id and by name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Response

from agentkeep import errors
from agentkeep.api import responses, wire
from agentkeep.api.deps import (
    IfMatchDep,
    LifecycleDep,
    LiveTaskDep,
    PrincipalDep,
    RequestIdDep,
    StoreDep,
    TaskAccessDep,
    TaskRefDep,
)
from agentkeep.api.idempotency import IdempotencyDep
from agentkeep.api.paging import PageDep
from agentkeep.api.schemas import TaskUpdate
from agentkeep.domain import models
from agentkeep.domain.paging import Page
from agentkeep.domain.status import TaskStatus
from agentkeep.store import SqlStore, jsonmatch
from agentkeep.store.rows import TaskRow
from agentkeep.store.tasks import TASK_ORDER_FIELDS, Change, TaskQuery

router = APIRouter(tags=["tasks"])

Relationships = Annotated[list[Literal["agents"]], Query()]


async def _task_response(store: SqlStore, row: TaskRow, relationships: Sequence[str]) -> Response:
    body = models.task_wire(row)
    if "agents" in relationships:
        linked = await store.agents_of_tasks([row["id"]])
        body["agents"] = [models.agent_wire(a) for a in linked[row["id"]]]
    return responses.json(body, headers={"ETag": models.etag(row["version"])})


def _metadata_filter(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = jsonmatch.load_filter(raw, "task_metadata")
    if not isinstance(value, dict) or not value:
        raise errors.BadRequest("task_metadata must be a non-empty JSON object.")
    return value


@router.get("/tasks", response_model=list[wire.Task])
async def list_tasks(
    store: StoreDep,
    access: TaskAccessDep,
    page: Annotated[Page, PageDep("tasks", TASK_ORDER_FIELDS)],
    relationships: Relationships = [],  # noqa: B006  (FastAPI copies defaults)
    agent_id: str | None = None,
    agent_name: str | None = None,
    status: TaskStatus | None = None,
    task_metadata: str | None = None,
) -> Response:
    if status is TaskStatus.DELETED:
        raise errors.BadRequest(
            "Cannot filter by DELETED status; deleted tasks are not returned by list_tasks."
        )
    query = TaskQuery(
        agent_id=agent_id,
        agent_name=agent_name,
        status=status,
        metadata=_metadata_filter(task_metadata),
        visible_to=access.agent_id,
    )
    rows = await store.list_tasks(query, page)
    items = [models.task_summary(r) for r in rows]
    if "agents" in relationships:
        linked = await store.agents_of_tasks([r["id"] for r in rows])
        for item in items:
            item["agents"] = [models.agent_wire(a) for a in linked[item["id"]]]
    return responses.json(items)


# Each route below serves both paths; name routes are registered first (the inner
# decorator), so ``/tasks/name/{name}`` wins over ``/tasks/{task_id}/…``.
@router.get("/tasks/{task_id}", response_model=wire.Task)
@router.get("/tasks/name/{name}", response_model=wire.Task, name="get_task_by_name")
async def get_task(
    task: LiveTaskDep,
    store: StoreDep,
    relationships: Relationships = [],  # noqa: B006
) -> Response:
    return await _task_response(store, task, relationships)


@router.put("/tasks/{task_id}", response_model=wire.Task)
@router.put("/tasks/name/{name}", response_model=wire.Task, name="update_task_by_name")
async def update_task(
    body: TaskUpdate,
    lifecycle: LifecycleDep,
    principal: PrincipalDep,
    expected: IfMatchDep,
    task: TaskRefDep,
    idempotent: IdempotencyDep,
) -> Response:
    async def handler() -> Response:
        row = await lifecycle.update(
            task.id,
            task_metadata=body.task_metadata,
            merge_params=body.merge_params,
            expected_version=expected,
            actor=principal.actor,
        )
        return responses.task(row)

    if body.task_metadata is None and body.merge_params is None:
        return responses.task(await lifecycle.current(task.id, expected_version=expected))
    return await idempotent(handler)


@router.delete("/tasks/{task_id}", response_model=wire.Deleted)
@router.delete("/tasks/name/{name}", response_model=wire.Deleted, name="delete_task_by_name")
async def delete_task(
    lifecycle: LifecycleDep, principal: PrincipalDep, rid: RequestIdDep, task: TaskRefDep
) -> Response:
    await lifecycle.delete(task.id, Change(principal.actor, rid, "Task deleted successfully"))
    named = f"'{task.name}'" if task.name is not None else task.id
    return responses.json({"id": task.id, "message": f"Task {named} deleted successfully"})


@router.get("/tasks/{task_id}/history", response_model=list[wire.HistoryEntry])
async def task_history(task_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.require(task_id)
    if await store.get_task(task_id) is None:
        raise errors.NotFound.by_id(task_id)
    rows = await store.task_history(task_id)
    fields: Final = (
        "seq",
        "from_status",
        "to_status",
        "reason",
        "actor",
        "request_id",
        "created_at",
    )
    return responses.json([{k: r[k] for k in fields} for r in rows])
