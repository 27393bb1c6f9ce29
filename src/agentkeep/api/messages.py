"""Task messages: create, batch create, replace, batch replace, list, cursor list, get.

Writes publish ``start``/``full`` updates straight to the task's stream (best effort, not
through the outbox): the message itself is committed either way, and consumers treat
``full`` as an idempotent replace keyed by ``parent_task_message.id``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ValidationError

from agentkeep import errors
from agentkeep.api import paging, responses, wire
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.api.paging import PageDep
from agentkeep.domain import jsonlimits, limits, models
from agentkeep.domain.content import StreamingStatus, TaskMessageContent, dump
from agentkeep.domain.limits import CheckedBody, UtcDatetime
from agentkeep.domain.paging import Page
from agentkeep.store import jsonmatch
from agentkeep.store.messages import (
    MESSAGE_ORDER_FIELDS,
    MessageCursor,
    MessageFilter,
    MessageQuery,
)
from agentkeep.store.rows import MessageRow

log = logging.getLogger(__name__)
router = APIRouter(tags=["messages"])


class MessageCreate(CheckedBody):
    task_id: str
    content: TaskMessageContent
    streaming_status: StreamingStatus | None = None
    created_at: UtcDatetime | None = None


class MessageBatchCreate(CheckedBody):
    task_id: str
    contents: list[TaskMessageContent]
    created_at: UtcDatetime | None = None


class MessageUpdate(CheckedBody):
    task_id: str
    content: TaskMessageContent
    streaming_status: StreamingStatus | None = None


class MessageBatchUpdate(CheckedBody):
    task_id: str
    updates: dict[str, TaskMessageContent]


class _FilterEntry(BaseModel):
    content: dict[str, Any] | None = None
    streaming_status: StreamingStatus | None = None
    exclude: bool = False


async def publish(request: Request, kind: str, row: MessageRow) -> None:
    """Announce a message change on its task's stream; a bus failure never fails the write."""
    wire = models.message_wire(row)
    event = {"type": kind, "index": None, "parent_task_message": wire, "content": wire["content"]}
    try:
        await request.app.state.bus.publish(row["task_id"], event)
    except Exception:
        log.warning("could not publish %s for message %s", kind, row["id"], exc_info=True)


def _parse_filters(raw: str | None) -> list[MessageFilter]:
    """``filters``: a JSON object or list of objects; bad JSON or shapes are 400."""
    if raw is None or not raw.strip():
        return []
    value = jsonmatch.load_filter(raw, "filters")
    try:
        entries = [_FilterEntry.model_validate(v) for v in _as_list(value)]
    except (ValidationError, TypeError):
        raise errors.BadRequest(
            "filters must be a JSON object or a list of objects such as "
            '[{"content": {"type": "text", "author": "user"}, "exclude": false}].'
        ) from None
    # A null field in a filter means "any value", as the client's all-optional filter
    # models send it, so it must not be matched literally.
    return [
        MessageFilter(
            content={k: v for k, v in (e.content or {}).items() if v is not None} or None,
            streaming_status=e.streaming_status,
            exclude=e.exclude,
        )
        for e in entries
    ]


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise TypeError("filters must be an object or a list")


def _encode_cursor(row: MessageRow) -> str:
    raw = orjson.dumps({"c": row["created_at"], "i": row["id"]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> MessageCursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
        created = limits.in_utc(datetime.fromisoformat(value["c"]))
        return MessageCursor(created, jsonlimits.check_json(str(value["i"])))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, KeyError, TypeError):
        raise errors.BadRequest(
            "Invalid cursor: pass next_cursor from a previous response unchanged."
        ) from None


@router.post("/messages/batch", response_model=list[wire.Message])
async def create_messages(
    body: MessageBatchCreate, request: Request, store: StoreDep, access: TaskAccessDep
) -> Response:
    await access.child_of(body.task_id)
    contents = [dump(c) for c in body.contents]
    rows = await store.create_messages(body.task_id, contents, body.created_at)
    for row in rows:
        await publish(request, "full", row)
    return responses.json([models.message_wire(r) for r in rows])


@router.put("/messages/batch", response_model=list[wire.Message])
async def update_messages(
    body: MessageBatchUpdate, request: Request, store: StoreDep, access: TaskAccessDep
) -> Response:
    await access.child_of(body.task_id)
    updates = {mid: dump(c) for mid, c in body.updates.items()}
    rows = await store.update_messages(body.task_id, updates)
    for row in rows:
        if row["streaming_status"] != "IN_PROGRESS":
            await publish(request, "full", row)
    return responses.json([models.message_wire(r) for r in rows])


@router.post("/messages", response_model=wire.Message)
async def create_message(
    body: MessageCreate, request: Request, store: StoreDep, access: TaskAccessDep
) -> Response:
    await access.child_of(body.task_id)
    row = await store.create_message(
        body.task_id, dump(body.content), body.streaming_status, body.created_at
    )
    await publish(request, "start" if body.streaming_status == "IN_PROGRESS" else "full", row)
    return responses.json(models.message_wire(row))


@router.get("/messages/paginated", response_model=wire.MessagePage)
async def list_messages_paginated(
    task_id: str,
    store: StoreDep,
    access: TaskAccessDep,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
    direction: Literal["older", "newer"] = "older",
    filters: str | None = None,
) -> Response:
    await access.child_of(task_id)
    rows, has_more = await store.list_messages_after(
        task_id,
        cursor=_decode_cursor(cursor) if cursor else None,
        older=direction == "older",
        limit=paging.limit_or_default(limit),
        filters=_parse_filters(filters),
    )
    return responses.json(
        {
            "data": [models.message_wire(r) for r in rows],
            "next_cursor": _encode_cursor(rows[-1]) if has_more and rows else None,
            "has_more": has_more,
        }
    )


@router.get("/messages", response_model=list[wire.Message])
async def list_messages(
    task_id: Annotated[str, Query()],
    store: StoreDep,
    access: TaskAccessDep,
    page: Annotated[Page, PageDep("messages", MESSAGE_ORDER_FIELDS)],
    filters: str | None = None,
) -> Response:
    await access.child_of(task_id)
    rows = await store.list_messages(MessageQuery(task_id, _parse_filters(filters)), page)
    return responses.json([models.message_wire(r) for r in rows])


@router.get("/messages/{message_id}", response_model=wire.Message)
async def get_message(message_id: str, store: StoreDep, access: TaskAccessDep) -> Response:
    row = await store.get_message(message_id)
    if row is None or not await access.allows(row["task_id"]):
        raise errors.NotFound.by_id(message_id)
    return responses.json(models.message_wire(row))


@router.put("/messages/{message_id}", response_model=wire.Message)
async def update_message(
    message_id: str,
    body: MessageUpdate,
    request: Request,
    store: StoreDep,
    access: TaskAccessDep,
) -> Response:
    await access.child_of(body.task_id)
    row = await store.update_message(
        message_id, body.task_id, dump(body.content), body.streaming_status
    )
    if row is None:
        # [fix] A message of another task is not found in this one, never silently moved.
        raise errors.NotFound.by_id(message_id)
    if row["streaming_status"] != "IN_PROGRESS":
        await publish(request, "full", row)
    return responses.json(models.message_wire(row))
