"""``task/create``: get-or-create by name for every agent type, forwarded to async agents."""

from __future__ import annotations

from typing import Any

from agentkeep import errors
from agentkeep.acp import wire
from agentkeep.domain import agents, models, status
from agentkeep.domain.status import TaskStatus
from agentkeep.rpc.context import RpcContext, name_taken
from agentkeep.rpc.params import TaskCreateParams
from agentkeep.store.rows import TaskRow
from agentkeep.store.tasks import Change

CREATED_REASON = "Task created, forwarding to ACP server"
FORWARDED_REASON = "Task forwarded to ACP server"


async def task_create(ctx: RpcContext, p: TaskCreateParams) -> dict[str, Any]:
    row = await get_or_create_task(ctx, p)
    if ctx.agent["acp_type"] in agents.ASYNC_ACP_TYPES:
        # The task, its link and tracker are committed: the agent may read them back.
        row = await forward_task_create(ctx, row)
    return models.task_wire(row)


async def get_or_create_task(ctx: RpcContext, p: TaskCreateParams) -> TaskRow:
    """Create the task, or find it by name, refresh its params and resume it."""
    creator = ctx.principal.agent["id"] if ctx.principal.agent else None
    row, created = await ctx.store.create_task(
        agent_id=ctx.agent["id"],
        name=p.name,
        params=p.params,
        task_metadata=p.task_metadata,
        deadline_at=ctx.lifecycle.deadline_for(p.timeout_seconds),
        change=Change(ctx.actor, ctx.request_id, CREATED_REASON),
        creator_agent_id=creator,
    )
    if created:
        return row
    # Dispatch checked the name before the call; a foreign task may have taken it since.
    if not await ctx.reachable(row):
        raise name_taken(row["name"])
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
            actor=ctx.actor,
        )
    if row["status"] == TaskStatus.INTERRUPTED:
        change = Change(ctx.actor, ctx.request_id, status.RESUMED_REASON)
        row = await ctx.lifecycle.resume(row["id"], change, agent_failure=False) or row
    return row


async def forward_task_create(ctx: RpcContext, row: TaskRow) -> TaskRow:
    """Forward ``task/create``; failure fails the task, success heals an agent failure."""
    try:
        await ctx.call_agent("task/create", wire.task_create(ctx.agent, row), row["id"])
    except errors.UpstreamError as exc:
        await ctx.lifecycle.fail_from_agent(row["id"], exc.message, ctx.request_id)
        raise
    if row["status"] == TaskStatus.FAILED and row.get("status_actor") == status.AGENT_ERROR_ACTOR:
        # Compare-and-set guarded by the failure's actor: a task someone else failed, or
        # one that finished meanwhile, stays as it is.
        change = Change(ctx.actor, ctx.request_id, FORWARDED_REASON)
        resumed = await ctx.lifecycle.resume(row["id"], change, agent_failure=True)
        if resumed is not None:
            return resumed
    # The agent may have changed the task while handling the call: answer with what is now.
    return await ctx.store.get_task(row["id"]) or row
