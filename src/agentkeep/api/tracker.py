"""Agent task trackers: get, list, and PUT that moves the event cursor forward only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from agentkeep import errors
from agentkeep.api import paging, responses
from agentkeep.api.deps import StoreDep, TaskAccess, TaskAccessDep
from agentkeep.domain import models
from agentkeep.store import SqlStore
from agentkeep.store.trackers import TRACKER_ORDER_FIELDS, TrackerQuery

router = APIRouter(tags=["tracker"])


class TrackerUpdate(BaseModel):
    last_processed_event_id: str | None = None
    status: str | None = None
    status_reason: str | None = None


async def _visible_tracker(store: SqlStore, access: TaskAccess, tracker_id: str) -> dict[str, Any]:
    row = await store.get_tracker(tracker_id)
    if row is None or not await access.allows(row["task_id"]):
        raise errors.NotFound.by_id(tracker_id)
    return row


@router.get("/tracker/{tracker_id}")
async def get_tracker(tracker_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    return responses.json(models.tracker_wire(await _visible_tracker(store, access, tracker_id)))


@router.get("/tracker")
async def list_trackers(
    store: StoreDep,
    access: TaskAccessDep,
    agent_id: str | None = None,
    task_id: str | None = None,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
    page_number: paging.PageNumber = 1,
    order_by: str | None = None,
    order_direction: str = "desc",
) -> Response:
    if task_id is not None:
        await access.require(task_id)
    rows = await store.list_trackers(
        TrackerQuery(
            task_id=task_id,
            agent_id=agent_id,
            visible_to=access.agent_id,
            limit=paging.limit_or_default(limit),
            page_number=page_number,
            order_by=paging.order_field(order_by, TRACKER_ORDER_FIELDS, "created_at", "trackers"),
            descending=paging.descending(order_direction),
        )
    )
    return responses.json([models.tracker_wire(r) for r in rows])


@router.put("/tracker/{tracker_id}")
async def update_tracker(
    tracker_id: str, body: TrackerUpdate, store: StoreDep, access: TaskAccessDep
) -> Response:
    await _visible_tracker(store, access, tracker_id)
    # [fix] Only the fields the body names change: Agentex nulled an omitted status. A
    # null cursor means "leave it" (a cursor never moves back to nothing).
    row = await store.update_tracker(tracker_id, body.model_dump(exclude_unset=True))
    if row is None:
        raise errors.NotFound.by_id(tracker_id)
    return responses.json(models.tracker_wire(row))
