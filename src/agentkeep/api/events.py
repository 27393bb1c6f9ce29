"""Events: get one, list a (task, agent) inbox after a cursor in ``sequence_id`` order.

Events are written by ``event/send`` (JSON-RPC); this module only reads them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from agentkeep import errors
from agentkeep.api import responses, wire
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.domain import models
from agentkeep.domain.paging import MAX_LIMIT

router = APIRouter(tags=["events"])


@router.get("/events/{event_id}", response_model=wire.Event)
async def get_event(event_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    row = await store.get_event(event_id)
    if row is None or not await access.allows(row["task_id"]):
        raise errors.NotFound.by_id(event_id)
    return responses.json(models.event_wire(row))


@router.get("/events", response_model=list[wire.Event])
async def list_events(
    task_id: str,
    agent_id: str,
    store: StoreDep,
    access: TaskAccessDep,
    last_processed_event_id: str | None = None,
    # Without a limit every matching event is returned (agents read their whole inbox).
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
) -> Response:
    await access.child_of(task_id)
    rows = await store.list_events(
        task_id, agent_id, after_event_id=last_processed_event_id, limit=limit
    )
    return responses.json([models.event_wire(r) for r in rows])
