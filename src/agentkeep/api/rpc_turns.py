"""Turns: ``message/send`` (sync agents, streamed and folded) and ``event/send`` (async).

Order inside a turn: find or create the task and refuse finished ones; resume it; store
what the user sent; only then call the agent, with no transaction open (the agent may call
back into the server while we wait); fold and relay what it answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
import orjson
from fastapi.responses import StreamingResponse

from agentkeep import errors
from agentkeep.acp import wire
from agentkeep.api.rpc import RpcContext, method, rpc_error, rpc_result
from agentkeep.api.rpc_common import (
    ASYNC_TYPES,
    RequiredTaskRef,
    TaskRef,
    find_task,
    forward,
    open_stream,
    refuse_closed,
    resume_for_turn,
)
from agentkeep.api.rpc_relay import TurnRelay, publish
from agentkeep.api.rpc_tasks import get_or_create_task
from agentkeep.api.schemas import TaskCreateParams
from agentkeep.domain import content as message_content
from agentkeep.domain import models
from agentkeep.domain.status import TaskStatus

log = logging.getLogger(__name__)


class MessageSendParams(TaskRef):
    content: message_content.TaskMessageContent
    stream: bool = False
    task_params: dict[str, Any] | None = None


class EventSendParams(RequiredTaskRef):
    content: message_content.TaskMessageContent | None = None


@method("message/send", MessageSendParams, {"sync"})
async def message_send(ctx: RpcContext, p: MessageSendParams) -> Any:
    task = await _turn_task(ctx, p)
    content = message_content.dump(p.content)
    user = await ctx.store.create_message(task["id"], content, "DONE")
    await publish(_bus(ctx), task["id"], _full(user))
    relay = TurnRelay(ctx.store, _bus(ctx), task["id"])
    params = wire.message_send(ctx.agent, task, content)
    if p.stream:
        lines = _ndjson(ctx, task["id"], params, relay)
        return StreamingResponse(lines, media_type="application/x-ndjson")
    try:
        async with contextlib.aclosing(_turn(ctx, task["id"], params, relay)) as updates:
            async for _ in updates:
                pass
    except errors.UpstreamError as exc:
        await ctx.lifecycle.fail_from_agent(task["id"], exc.message, ctx.request_id)
        raise
    return relay.result()


async def _turn_task(ctx: RpcContext, p: MessageSendParams) -> dict[str, Any]:
    """Get-or-create (by name, or a new unnamed task), refuse finished, resume."""
    if p.task_id is None:
        # ``task_params`` apply to a new task only; unlike task/create, a turn on an
        # existing task must not overwrite its params. (A concurrent creation of the same
        # name can at worst write the same params twice.)
        exists = p.task_name is not None and await ctx.store.get_task_by_name(p.task_name)
        create = TaskCreateParams(name=p.task_name, params=None if exists else p.task_params)
        # get_or_create_task refuses a deleted task's name and resumes INTERRUPTED.
        row = await get_or_create_task(ctx, create)
    else:
        row = await find_task(ctx, p)
        refuse_closed(row)
        await ctx.store.link_task_agent(row["id"], ctx.agent["id"])
    refuse_closed(row)
    return await resume_for_turn(ctx, row, agent_failure=True)


async def _turn(
    ctx: RpcContext, task_id: str, params: dict[str, Any], relay: TurnRelay
) -> AsyncGenerator[dict[str, Any], None]:
    """The agent's updates, folded; open messages are finished however the turn ends."""
    stream = await open_stream(ctx, "message/send", params, task_id)
    try:
        async for result in stream:
            for update in await relay.apply(result):
                yield update
        for update in await relay.finish():
            yield update
    finally:
        # Shielded: when the client disconnects the scope is cancelled, and the messages
        # must still be written as finished, not left IN_PROGRESS forever.
        with anyio.CancelScope(shield=True):
            await stream.aclose()
            await relay.finish()


async def _ndjson(
    ctx: RpcContext, task_id: str, params: dict[str, Any], relay: TurnRelay
) -> AsyncIterator[bytes]:
    """One JSON-RPC response per line; an agent failure is the last line."""
    try:
        async with contextlib.aclosing(_turn(ctx, task_id, params, relay)) as updates:
            async for update in updates:
                yield _line(rpc_result(ctx.rpc_id, update))
    except errors.UpstreamError as exc:
        with anyio.CancelScope(shield=True):
            await ctx.lifecycle.fail_from_agent(task_id, exc.message, ctx.request_id)
        yield _line(rpc_error(ctx.rpc_id, exc.message))
    except errors.AgentkeepError as exc:
        yield _line(rpc_error(ctx.rpc_id, exc.message))
    except Exception:
        # The response has started: the only way left to report is an error line.
        log.exception("message/send stream failed for task %s", task_id)
        yield _line(rpc_error(ctx.rpc_id, "Internal server error"))


def _line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _full(message: dict[str, Any]) -> dict[str, Any]:
    wired = models.message_wire(message)
    return {
        "type": "full",
        "index": None,
        "content": wired["content"],
        "parent_task_message": wired,
    }


def _bus(ctx: RpcContext) -> Any:
    return getattr(ctx.request.app.state, "bus", None)


@method("event/send", EventSendParams, ASYNC_TYPES)
async def event_send(ctx: RpcContext, p: EventSendParams) -> dict[str, Any]:
    task = await find_task(ctx, p)
    refuse_closed(task)
    await ctx.store.link_task_agent(task["id"], ctx.agent["id"])
    if task["status"] == TaskStatus.INTERRUPTED:
        # [fix] Agentex documents the resume but did not do it.
        task = await resume_for_turn(ctx, task, agent_failure=False)
    content = None if p.content is None else message_content.dump(p.content)
    event = models.event_wire(await ctx.store.create_event(task["id"], ctx.agent["id"], content))
    # A failed forward keeps the event: it is in the agent's inbox for its next read.
    await forward(ctx, "event/send", wire.event_send(ctx.agent, task, event), task["id"])
    return event
