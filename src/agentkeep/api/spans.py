"""Spans (the UI's traces panel): create with a client-supplied id, patch, get, list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from agentkeep import errors
from agentkeep.access import TaskAccess
from agentkeep.api import responses, wire
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.api.paging import PageDep
from agentkeep.domain import models
from agentkeep.domain.limits import CheckedBody, Name, UtcDatetime
from agentkeep.domain.paging import Page
from agentkeep.store import SqlStore
from agentkeep.store.rows import SpanRow
from agentkeep.store.spans import SPAN_ORDER_FIELDS, SpanQuery

router = APIRouter(tags=["spans"])

#: ``input``, ``output`` and ``data``: an object, a list of objects, or null.
SpanPayload = dict[str, Any] | list[dict[str, Any]] | None
#: Columns a PATCH may not set to null (the client's Span model requires them).
REQUIRED = ("name", "trace_id", "start_time")


class SpanCreate(CheckedBody):
    id: str | None = Field(None, min_length=1, max_length=255)
    trace_id: str = Field(min_length=1, max_length=255)
    name: Name
    start_time: UtcDatetime
    end_time: UtcDatetime | None = None
    task_id: str | None = None
    parent_id: str | None = Field(None, max_length=255)
    input: SpanPayload = None
    output: SpanPayload = None
    data: SpanPayload = None


class SpanPatch(CheckedBody):
    trace_id: str | None = Field(None, min_length=1, max_length=255)
    name: Name | None = None
    start_time: UtcDatetime | None = None
    end_time: UtcDatetime | None = None
    task_id: str | None = None
    parent_id: str | None = Field(None, max_length=255)
    input: SpanPayload = None
    output: SpanPayload = None
    data: SpanPayload = None


async def _visible_span(store: SqlStore, access: TaskAccess, span_id: str) -> SpanRow:
    """A span the caller may see: through its task, or, tied to no task, as its creator.

    A foreign span answers like a missing one, as foreign tasks do.
    """
    row = await store.get_span(span_id)
    if row is None:
        raise errors.NotFound.by_id(span_id)
    if row["task_id"] is None:
        visible = access.agent_id is None or row["creator_agent_id"] == access.agent_id
    else:
        visible = await access.allows(row["task_id"])
    if not visible:
        raise errors.NotFound.by_id(span_id)
    return row


@router.post("/spans", response_model=wire.Span)
async def create_span(body: SpanCreate, store: StoreDep, access: TaskAccessDep) -> Response:
    if body.task_id is not None:
        await access.require(body.task_id)
    # A duplicate id is 400 "Item already exists…" (the store translates the violation).
    agent = access.principal.agent
    creator = agent["id"] if agent is not None else None
    row = await store.create_span(body.model_dump(), creator_agent_id=creator)
    return responses.json(models.span_wire(row))


@router.patch("/spans/{span_id}", response_model=wire.Span)
async def update_span(
    span_id: str, body: SpanPatch, store: StoreDep, access: TaskAccessDep
) -> Response:
    changes = body.model_dump(exclude_unset=True)
    nulled = [k for k in REQUIRED if k in changes and changes[k] is None]
    if nulled:
        raise errors.BadRequest(f"{', '.join(nulled)} cannot be null.")
    await _visible_span(store, access, span_id)
    if changes.get("task_id") is not None:
        await access.require(changes["task_id"])
    row = await store.update_span(span_id, changes)
    if row is None:
        raise errors.NotFound.by_id(span_id)
    return responses.json(models.span_wire(row))


@router.get("/spans/{span_id}", response_model=wire.Span)
async def get_span(span_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    return responses.json(models.span_wire(await _visible_span(store, access, span_id)))


@router.get("/spans", response_model=list[wire.Span])
async def list_spans(
    store: StoreDep,
    access: TaskAccessDep,
    page: Annotated[Page, PageDep("spans", SPAN_ORDER_FIELDS, direction="asc")],
    trace_id: str | None = None,
    task_id: str | None = None,
) -> Response:
    if task_id is not None:
        await access.require(task_id)
    rows = await store.list_spans(
        SpanQuery(
            trace_id=trace_id,
            task_id=task_id,
            visible_to=access.agent_id,
        ),
        page,
    )
    return responses.json([models.span_wire(r) for r in rows])
