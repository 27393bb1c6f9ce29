"""Agent task trackers: get, list, and PUT that moves the event cursor forward only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import Field

from agentkeep import errors
from agentkeep.access import TaskAccess
from agentkeep.api import responses, wire
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.api.paging import PageDep
from agentkeep.domain import models
from agentkeep.domain.limits import CheckedBody, Reason
from agentkeep.domain.paging import Page
from agentkeep.store import SqlStore
from agentkeep.store.rows import TrackerRow
from agentkeep.store.trackers import TRACKER_ORDER_FIELDS, TrackerQuery

router = APIRouter(tags=["tracker"])


class TrackerUpdate(CheckedBody):
    last_processed_event_id: str | None = None
    status: str | None = Field(None, max_length=64)
    status_reason: Reason | None = None


async def _visible_tracker(store: SqlStore, access: TaskAccess, tracker_id: str) -> TrackerRow:
    row = await store.get_tracker(tracker_id)
    if row is None or not await access.allows(row["task_id"]):
        raise errors.NotFound.by_id(tracker_id)
    return row


@router.get("/tracker/{tracker_id}", response_model=wire.Tracker)
async def get_tracker(tracker_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    return responses.json(models.tracker_wire(await _visible_tracker(store, access, tracker_id)))


@router.get("/tracker", response_model=list[wire.Tracker])
async def list_trackers(
    store: StoreDep,
    access: TaskAccessDep,
    page: Annotated[Page, PageDep("trackers", TRACKER_ORDER_FIELDS)],
    agent_id: str | None = None,
    task_id: str | None = None,
) -> Response:
    if task_id is not None:
        await access.require(task_id)
    rows = await store.list_trackers(
        TrackerQuery(
            task_id=task_id,
            agent_id=agent_id,
            visible_to=access.agent_id,
        ),
        page,
    )
    return responses.json([models.tracker_wire(r) for r in rows])


@router.put("/tracker/{tracker_id}", response_model=wire.Tracker)
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
