"""What the turn and control methods share: task references, turn guards, forwarding.

Forwarding happens outside any store transaction by construction: the store's ``write()``
blocks are closed before ``forward`` is awaited, because agents call back into the server
(messages, states, tracker) before they answer, and would deadlock on a held lock.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from pydantic import BaseModel, model_validator

from agentkeep import errors
from agentkeep.acp import wire
from agentkeep.acp.client import AgentClient, forwarded_headers
from agentkeep.api.rpc import RpcContext
from agentkeep.domain import status
from agentkeep.domain.status import TaskStatus
from agentkeep.store.tasks import Change

ASYNC_TYPES = {"async", "agentic"}
RESUMED_REASON = "Task resumed on next turn"


class TaskRef(BaseModel):
    """``task_id`` xor ``task_name``; both is invalid params (HTTP 422)."""

    task_id: str | None = None
    task_name: str | None = None

    @model_validator(mode="after")
    def _not_both(self) -> TaskRef:
        if self.task_id is not None and self.task_name is not None:
            raise ValueError("Give task_id or task_name, not both.")
        return self


class RequiredTaskRef(TaskRef):
    """``task_id`` xor ``task_name``, one of them required."""

    @model_validator(mode="after")
    def _one(self) -> RequiredTaskRef:
        if self.task_id is None and self.task_name is None:
            raise ValueError("Give task_id or task_name.")
        return self


async def find_task(ctx: RpcContext, ref: TaskRef) -> dict[str, Any]:
    """The referenced task, DELETED included (callers refuse it in their own words)."""
    if ref.task_id is not None:
        row = await ctx.store.get_task(ref.task_id)
        if row is None:
            raise errors.NotFound.by_id(ref.task_id)
        return row
    assert ref.task_name is not None
    row = await ctx.store.get_task_by_name(ref.task_name)
    if row is None:
        raise errors.NotFound.by_name(ref.task_name)
    return row


def refuse_closed(row: dict[str, Any]) -> None:
    """[fix] Agentex accepted turns in any status; finished tasks take no more."""
    if row["status"] in status.CLOSED_TO_TURNS:
        raise errors.BadRequest(f"Task {row['id']} is {row['status']} and cannot accept new turns.")


async def resume_for_turn(
    ctx: RpcContext, row: dict[str, Any], *, agent_failure: bool
) -> dict[str, Any]:
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
    change = Change(ctx.principal.actor, ctx.request_id, RESUMED_REASON)
    resumed = await ctx.lifecycle.resume(row["id"], change, agent_failure=agent_failure)
    if resumed is not None:
        return resumed
    current = await ctx.store.get_task(row["id"])
    assert current is not None
    refuse_closed(current)
    return current


def agent_client(ctx: RpcContext) -> AgentClient:
    client: AgentClient = ctx.request.app.state.agent_client
    return client


async def forward(ctx: RpcContext, method: str, params: dict[str, Any], task_id: str) -> Any:
    """Call the context's agent once and return its result."""
    return await agent_client(ctx).call(
        await wire.target(ctx.store, ctx.agent),
        method,
        params,
        task_id=task_id,
        forwarded=forwarded_headers(ctx.request.headers),
        request_id=ctx.request_id,
    )


async def open_stream(
    ctx: RpcContext, method: str, params: dict[str, Any], task_id: str
) -> AsyncGenerator[Any, None]:
    """Start a streaming call to the context's agent; iterate it for each line's result."""
    return agent_client(ctx).stream(
        await wire.target(ctx.store, ctx.agent),
        method,
        params,
        task_id=task_id,
        forwarded=forwarded_headers(ctx.request.headers),
        request_id=ctx.request_id,
    )
