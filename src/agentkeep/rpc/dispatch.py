"""The method table and the one dispatch every JSON-RPC call goes through.

Dispatch checks, in this order and for every method alike: the agent can take the call
(not deleted, the method fits its ACP type, it has an ACP URL), then the task the call
names exists and the caller may reach it (the REST rule, ``TaskAccess``). Methods start
after both checks, with the task on ``ctx.task``: no method can forget the reach check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentkeep import errors
from agentkeep.domain import live
from agentkeep.domain.agents import ASYNC_ACP_TYPES, AcpType
from agentkeep.rpc import control, tasks, turns
from agentkeep.rpc.context import RpcContext, name_taken
from agentkeep.rpc.params import (
    EventSendParams,
    MessageSendParams,
    Reference,
    RequiredTaskRef,
    RpcParams,
    TaskCreateParams,
)
from agentkeep.store.rows import AgentRow, TaskRow

Handler = Callable[[RpcContext, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Method:
    params: type[RpcParams]
    acp_types: frozenset[AcpType]
    handler: Handler


_EVERY_TYPE = frozenset(AcpType)

METHODS: dict[str, Method] = {
    "task/create": Method(TaskCreateParams, _EVERY_TYPE, tasks.task_create),
    "message/send": Method(MessageSendParams, frozenset({AcpType.SYNC}), turns.message_send),
    "event/send": Method(EventSendParams, ASYNC_ACP_TYPES, turns.event_send),
    "task/cancel": Method(RequiredTaskRef, ASYNC_ACP_TYPES, control.task_cancel),
    "task/interrupt": Method(RequiredTaskRef, _EVERY_TYPE, control.task_interrupt),
}


async def invoke(ctx: RpcContext, name: str, params: RpcParams) -> Any:
    """Run method ``name`` with validated ``params``; failures raise ``AgentkeepError``.

    The answer is the method's result, or ``envelope.Streamed`` for a streamed turn.
    """
    spec = METHODS[name]
    _check_agent(ctx.agent, name, spec, ctx.acp_url)
    ctx.task = await _reach(ctx, params.reference())
    return await spec.handler(ctx, params)


def _check_agent(agent: AgentRow, name: str, spec: Method, acp_url: str | None) -> None:
    live.agent(agent, agent["id"])
    if agent["acp_type"] not in spec.acp_types:
        raise errors.BadRequest(f"Unsupported method: {name} for ACP type: {agent['acp_type']}")
    if not (acp_url or agent["acp_url"]):
        raise errors.BadRequest(f"Agent {agent['id']} does not have an ACP URL configured")


async def _reach(ctx: RpcContext, ref: Reference) -> TaskRow | None:
    """The existing task ``ref`` names, if the caller may reach it; None when none is named
    or a name to be created is free.

    A task the caller may not reach answers exactly like a missing one (existence never
    leaks), except for a name to be created: that name cannot be created, and the task
    holding it must not be touched, so the call is refused as taken.
    """
    if ref.task_id is not None:
        row = await ctx.store.get_task(ref.task_id)
        missing = live.missing(ref.task_id)
    elif ref.task_name is not None:
        row = await ctx.store.get_task_by_name(ref.task_name)
        if row is None and ref.creates:
            return None
        missing = live.missing(ref.task_name, by_name=True)
    else:
        return None
    if row is None:
        raise missing
    if not await ctx.reachable(row):
        raise name_taken(row["name"]) if ref.creates and ref.task_id is None else missing
    return row
