"""Turns: ``message/send`` (sync agents, streamed and folded) and ``event/send`` (async).

Order inside a turn: find or create the task and refuse finished ones; resume it; store
what the user sent; only then call the agent, with no transaction open (the agent may call
back into the server while we wait); fold and record what it answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio

from agentkeep import errors
from agentkeep.acp import wire
from agentkeep.acp.recorder import TurnRecorder
from agentkeep.bus import announce
from agentkeep.domain import content as message_content
from agentkeep.domain import models, status
from agentkeep.domain.status import TaskStatus
from agentkeep.rpc import envelope
from agentkeep.rpc.context import RpcContext
from agentkeep.rpc.params import EventSendParams, MessageSendParams, TaskCreateParams
from agentkeep.rpc.tasks import get_or_create_task
from agentkeep.store.rows import TaskRow
from agentkeep.store.tasks import Change

log = logging.getLogger(__name__)


def refuse_closed(row: TaskRow) -> None:
    """[fix] Agentex accepted turns in any status; finished tasks take no more."""
    if row["status"] in status.CLOSED_TO_TURNS:
        raise errors.BadRequest(f"Task {row['id']} is {row['status']} and cannot accept new turns.")
    if row.get("cleaned_at") is not None:
        # [fix] Retention removed the content: new turns would mix with a later restore.
        raise errors.BadRequest(f"Task {row['id']} has been cleaned; rehydrate it first.")


async def resume_for_turn(ctx: RpcContext, row: TaskRow, *, agent_failure: bool) -> TaskRow:
    """INTERRUPTED (and with ``agent_failure`` a FAILED by an agent error) → RUNNING.

    A compare-and-set: when someone else moved the task meanwhile, the refreshed row says
    what it is now and the turn is judged on that.
    """
    resumable = row["status"] == TaskStatus.INTERRUPTED or (
        agent_failure
        and row["status"] == TaskStatus.FAILED
        and row.get("status_actor") == status.AGENT_ERROR_ACTOR
    )
    if not resumable:
        return row
    change = Change(ctx.actor, ctx.request_id, status.RESUMED_REASON)
    resumed = await ctx.lifecycle.resume(row["id"], change, agent_failure=agent_failure)
    if resumed is not None:
        return resumed
    current = await ctx.store.get_task(row["id"])
    assert current is not None
    refuse_closed(current)
    return current


async def message_send(ctx: RpcContext, p: MessageSendParams) -> Any:
    task = await _turn_task(ctx, p)
    content = message_content.dump(p.content)
    user = await ctx.store.create_message(task["id"], content, message_content.DONE)
    await announce.publish_quietly(ctx.bus, task["id"], announce.message_update("full", user))
    recorder = TurnRecorder(ctx.store, ctx.bus, task["id"])
    params = wire.message_send(ctx.agent, task, content)
    if p.stream:
        return envelope.Streamed(_ndjson(ctx, task["id"], params, recorder))
    try:
        async with contextlib.aclosing(_turn(ctx, task["id"], params, recorder)) as updates:
            async for _ in updates:
                pass
    except errors.UpstreamError as exc:
        await ctx.lifecycle.fail_from_agent(task["id"], exc.message, ctx.request_id)
        raise
    return recorder.result()


async def _turn_task(ctx: RpcContext, p: MessageSendParams) -> TaskRow:
    """Get-or-create (by name, or a new unnamed task), refuse finished, resume."""
    if ctx.task is None:
        # ``task_params`` apply to a new task only; unlike task/create, a turn on an
        # existing task must not overwrite its params. (A concurrent creation of the same
        # name can at worst write the same params twice.)
        create = TaskCreateParams(name=p.task_name, params=p.task_params)
        # get_or_create_task refuses a deleted task's name and resumes INTERRUPTED.
        row = await get_or_create_task(ctx, create)
    elif p.task_id is None:
        # Named and existing: the same path, without params.
        row = await get_or_create_task(ctx, TaskCreateParams(name=p.task_name))
    else:
        row = ctx.task
        refuse_closed(row)
        await ctx.store.link_task_agent(row["id"], ctx.agent["id"])
    refuse_closed(row)
    return await resume_for_turn(ctx, row, agent_failure=True)


async def _turn(
    ctx: RpcContext, task_id: str, params: dict[str, Any], recorder: TurnRecorder
) -> AsyncGenerator[dict[str, Any], None]:
    """The agent's updates, folded; open messages are finished however the turn ends."""
    stream = await ctx.stream_agent("message/send", params, task_id)
    try:
        async for result in stream:
            for update in await recorder.apply(result):
                yield update
        for update in await recorder.finish():
            yield update
    finally:
        # Shielded: when the client disconnects the scope is cancelled, and the messages
        # must still be written as finished, not left IN_PROGRESS forever.
        with anyio.CancelScope(shield=True):
            await stream.aclose()
            await recorder.finish()


async def _ndjson(
    ctx: RpcContext, task_id: str, params: dict[str, Any], recorder: TurnRecorder
) -> AsyncIterator[bytes]:
    """One JSON-RPC response per line; an agent failure is the last line."""
    try:
        async with contextlib.aclosing(_turn(ctx, task_id, params, recorder)) as updates:
            async for update in updates:
                yield envelope.line(envelope.result(ctx.rpc_id, update))
    except errors.UpstreamError as exc:
        with anyio.CancelScope(shield=True):
            await ctx.lifecycle.fail_from_agent(task_id, exc.message, ctx.request_id)
        yield envelope.line(envelope.error(ctx.rpc_id, exc.message))
    except errors.AgentkeepError as exc:
        yield envelope.line(envelope.error(ctx.rpc_id, exc.message))
    except Exception:
        # The response has started: the only way left to report is an error line.
        log.exception("message/send stream failed for task %s", task_id)
        yield envelope.line(envelope.error(ctx.rpc_id, "Internal server error"))


async def event_send(ctx: RpcContext, p: EventSendParams) -> dict[str, Any]:
    task = ctx.named_task()
    refuse_closed(task)
    await ctx.store.link_task_agent(task["id"], ctx.agent["id"])
    if task["status"] == TaskStatus.INTERRUPTED:
        # [fix] Agentex documents the resume but did not do it.
        task = await resume_for_turn(ctx, task, agent_failure=False)
    content = None if p.content is None else message_content.dump(p.content)
    event = models.event_wire(await ctx.store.create_event(task["id"], ctx.agent["id"], content))
    # A failed forward keeps the event: it is in the agent's inbox for its next read.
    await ctx.call_agent("event/send", wire.event_send(ctx.agent, task, event), task["id"])
    return event
