"""The ``task/create`` JSON-RPC method: get-or-create by name, for every agent type."""

from __future__ import annotations

from typing import Any

from agentkeep import errors
from agentkeep.api.rpc import RpcContext, method
from agentkeep.api.schemas import TaskCreateParams
from agentkeep.domain import models
from agentkeep.domain.status import TaskStatus
from agentkeep.store.tasks import Change

CREATED_REASON = "Task created, forwarding to ACP server"
RESUMED_REASON = "Task resumed on next turn"


@method("task/create", TaskCreateParams, {"sync", "async", "agentic"})
async def task_create(ctx: RpcContext, p: TaskCreateParams) -> dict[str, Any]:
    row = await get_or_create_task(ctx, p)
    if ctx.agent["acp_type"] in {"async", "agentic"}:
        # Imported here: rpc_control builds on this module's get_or_create_task.
        from agentkeep.api.rpc_control import forward_task_create

        # The task, its link and tracker are committed: the agent may read them back.
        row = await forward_task_create(ctx, row)
    return models.task_wire(row)


async def get_or_create_task(ctx: RpcContext, p: TaskCreateParams) -> dict[str, Any]:
    """Create the task, or find it by name, refresh its params and resume it."""
    creator = ctx.principal.agent["id"] if ctx.principal.agent else None
    row, created = await ctx.store.create_task(
        agent_id=ctx.agent["id"],
        name=p.name,
        params=p.params,
        task_metadata=p.task_metadata,
        deadline_at=ctx.lifecycle.deadline_for(p.timeout_seconds),
        change=Change(ctx.principal.actor, ctx.request_id, CREATED_REASON),
        creator_agent_id=creator,
    )
    if created:
        return row
    if row["status"] == TaskStatus.DELETED:
        # [fix] Agentex silently returned the deleted row; resurrecting or forwarding it
        # would hand an agent work nobody can see.
        raise errors.BadRequest(f"Task name '{p.name}' belongs to deleted task {row['id']}")
    await ctx.store.link_task_agent(row["id"], ctx.agent["id"])
    if p.params is not None and p.params != row["params"]:
        row = await ctx.lifecycle.update(
            row["id"],
            task_metadata=None,
            merge_params=None,
            replace_params=p.params,
            expected_version=None,
            actor=ctx.principal.actor,
        )
    if row["status"] == TaskStatus.INTERRUPTED:
        change = Change(ctx.principal.actor, ctx.request_id, RESUMED_REASON)
        row = await ctx.lifecycle.resume(row["id"], change, agent_failure=False) or row
    return row
