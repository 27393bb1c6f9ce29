"""Agent state, one per (task, agent): create (first write wins), list, get, put, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from agentkeep import errors
from agentkeep.access import TaskAccess
from agentkeep.api import responses, wire
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.api.paging import PageDep
from agentkeep.domain import models
from agentkeep.domain.limits import CheckedBody
from agentkeep.domain.paging import Page
from agentkeep.store import SqlStore
from agentkeep.store.rows import StateRow
from agentkeep.store.states import STATE_ORDER_FIELDS, StateQuery

router = APIRouter(tags=["states"])


class StateCreate(CheckedBody):
    task_id: str
    agent_id: str
    state: dict[str, Any]


class StateUpdate(CheckedBody):
    # agentex-sdk also sends task_id and agent_id here; a state never moves, so they are
    # ignored like any unknown field.
    state: dict[str, Any]


async def _visible_state(store: SqlStore, access: TaskAccess, state_id: str) -> StateRow:
    row = await store.get_state(state_id)
    if row is None or not await access.allows(row["task_id"]):
        raise errors.NotFound.by_id(state_id)
    return row


@router.post("/states", response_model=wire.State)
async def create_state(body: StateCreate, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.child_of(body.task_id)
    if await store.get_agent(body.agent_id) is None:
        raise errors.NotFound.by_id(body.agent_id)
    # [fix] A repeated POST returns the pair's existing state unchanged with 200: SDK
    # agents call this from on_task_create, which may run more than once.
    row, _created = await store.create_state(body.task_id, body.agent_id, body.state)
    return responses.json(models.state_wire(row))


@router.get("/states", response_model=list[wire.State])
async def list_states(
    store: StoreDep,
    access: TaskAccessDep,
    page: Annotated[Page, PageDep("states", STATE_ORDER_FIELDS, direction="asc")],
    task_id: str | None = None,
    agent_id: str | None = None,
) -> Response:
    if task_id is not None:
        await access.require(task_id)
    rows = await store.list_states(
        StateQuery(
            task_id=task_id,
            agent_id=agent_id,
            visible_to=access.agent_id,
        ),
        page,
    )
    return responses.json([models.state_wire(r) for r in rows])


@router.get("/states/{state_id}", response_model=wire.State)
async def get_state(state_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    return responses.json(models.state_wire(await _visible_state(store, access, state_id)))


@router.put("/states/{state_id}", response_model=wire.State)
async def update_state(
    state_id: str, body: StateUpdate, store: StoreDep, access: TaskAccessDep
) -> Response:
    await _visible_state(store, access, state_id)
    row = await store.update_state(state_id, body.state)
    if row is None:
        raise errors.NotFound.by_id(state_id)
    return responses.json(models.state_wire(row))


@router.delete("/states/{state_id}", response_model=wire.State)
async def delete_state(state_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    await _visible_state(store, access, state_id)
    row = await store.delete_state(state_id)
    if row is None:
        raise errors.NotFound.by_id(state_id)
    return responses.json(models.state_wire(row))
