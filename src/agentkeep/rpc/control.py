"""Control: ``task/cancel`` and ``task/interrupt``.

``task/cancel`` keeps Agentex's order: forward first, exactly once, then compare-and-set.
A failed forward changes nothing (the agent may still be working); a task that moved on
while we asked is returned as it is.
"""

from __future__ import annotations

from typing import Any

from agentkeep import errors
from agentkeep.acp import wire
from agentkeep.domain import models, status
from agentkeep.domain.status import TaskStatus
from agentkeep.rpc.context import RpcContext
from agentkeep.rpc.params import RequiredTaskRef
from agentkeep.store.tasks import Change

CANCELED_REASON = "Task canceled by user"


async def task_cancel(ctx: RpcContext, _: RequiredTaskRef) -> dict[str, Any]:
    row = ctx.live_task()
    if status.is_terminal(row["status"]):
        return models.task_wire(row)  # nothing left to stop; asking the agent is pointless
    await ctx.call_agent("task/cancel", wire.task_only(ctx.agent, row), row["id"])
    # The agent has been told already: the after-commit notifier must not tell it again.
    change = Change(ctx.actor, ctx.request_id, CANCELED_REASON, agent_told=True)
    try:
        row = await ctx.lifecycle.transition(row["id"], TaskStatus.CANCELED, change)
    except errors.InvalidTransition as exc:
        # Moved on while the agent was being asked (the agent itself may have finished it).
        return dict(exc.data["task"]) if exc.data else models.task_wire(row)
    return models.task_wire(row)


async def task_interrupt(ctx: RpcContext, _: RequiredTaskRef) -> dict[str, Any]:
    """Forward only: the agent calls ``POST /tasks/{id}/interrupt`` once it has stopped."""
    row = ctx.live_task()
    await ctx.call_agent("task/interrupt", wire.task_only(ctx.agent, row), row["id"])
    return models.task_wire(await ctx.store.get_task(row["id"]) or row)
