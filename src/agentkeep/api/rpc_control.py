"""Control: ``task/cancel``, ``task/interrupt``, and forwarding ``task/create`` to async agents.

``task/cancel`` keeps Agentex's order: forward first, exactly once, then compare-and-set.
A failed forward changes nothing (the agent may still be working); a task that moved on
while we asked is returned as it is.
"""

from __future__ import annotations

from typing import Any

from agentkeep import errors
from agentkeep.acp import notify, wire
from agentkeep.api.rpc import RpcContext, method
from agentkeep.api.rpc_common import ASYNC_TYPES, RequiredTaskRef, find_task, forward
from agentkeep.domain import models, status
from agentkeep.domain.status import TaskStatus
from agentkeep.store.tasks import Change

CANCELED_REASON = "Task canceled by user"
FORWARDED_REASON = "Task forwarded to ACP server"


async def forward_task_create(ctx: RpcContext, row: dict[str, Any]) -> dict[str, Any]:
    """Forward ``task/create``; failure fails the task, success heals an agent failure."""
    try:
        await forward(ctx, "task/create", wire.task_create(ctx.agent, row), row["id"])
    except errors.UpstreamError as exc:
        await ctx.lifecycle.fail_from_agent(row["id"], exc.message, ctx.request_id)
        raise
    if row["status"] == TaskStatus.FAILED and row.get("status_actor") == status.AGENT_ERROR_ACTOR:
        # Compare-and-set guarded by the failure's actor: a task someone else failed, or
        # one that finished meanwhile, stays as it is.
        change = Change(ctx.principal.actor, ctx.request_id, FORWARDED_REASON)
        resumed = await ctx.lifecycle.resume(row["id"], change, agent_failure=True)
        if resumed is not None:
            return resumed
    # The agent may have changed the task while handling the call: answer with what is now.
    return await ctx.store.get_task(row["id"]) or row


def _live(row: dict[str, Any]) -> dict[str, Any]:
    if row["status"] == TaskStatus.DELETED:
        raise errors.TaskNotFound(f"Task {row['id']} not found")
    return row


@method("task/cancel", RequiredTaskRef, ASYNC_TYPES)
async def task_cancel(ctx: RpcContext, p: RequiredTaskRef) -> dict[str, Any]:
    row = _live(await find_task(ctx, p))
    if status.is_terminal(row["status"]):
        return models.task_wire(row)  # nothing left to stop; asking the agent is pointless
    await forward(ctx, "task/cancel", wire.task_only(ctx.agent, row), row["id"])
    change = Change(ctx.principal.actor, ctx.request_id, CANCELED_REASON)
    try:
        # The agent has been told already: the after-commit hook must not tell it again.
        with notify.already_forwarded():
            row = await ctx.lifecycle.transition(row["id"], TaskStatus.CANCELED, change)
    except errors.InvalidTransition as exc:
        # Moved on while the agent was being asked (the agent itself may have finished it).
        return dict(exc.data["task"]) if exc.data else models.task_wire(row)
    return models.task_wire(row)


@method("task/interrupt", RequiredTaskRef, {"sync", *ASYNC_TYPES})
async def task_interrupt(ctx: RpcContext, p: RequiredTaskRef) -> dict[str, Any]:
    """Forward only: the agent calls ``POST /tasks/{id}/interrupt`` once it has stopped."""
    row = _live(await find_task(ctx, p))
    await forward(ctx, "task/interrupt", wire.task_only(ctx.agent, row), row["id"])
    return models.task_wire(await ctx.store.get_task(row["id"]) or row)
