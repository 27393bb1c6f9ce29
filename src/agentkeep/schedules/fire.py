"""What a fire does, step for step (platform.md, "What a fire does").

Every call goes through the JSON-RPC dispatch the RPC routes use (``rpc.dispatch.invoke``)
with the actor ``schedule:<id>``: the same checks, history, stream announcements and agent
forwarding as a client's ``task/create`` and turn. No transaction is open while an agent
is called. A retry after a crash finds the same task by name and, through the
``scheduled_input_delivered`` marker, does not deliver twice what was recorded as
delivered (input recorded neither way is delivered again: at least once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentkeep import errors
from agentkeep.access import Principal
from agentkeep.domain.agents import AcpType, AgentStatus
from agentkeep.domain.fires import FireStatus, TriggerType
from agentkeep.rpc import dispatch
from agentkeep.rpc.context import RpcContext, Services
from agentkeep.rpc.params import EventSendParams, MessageSendParams, TaskCreateParams
from agentkeep.schedules import model
from agentkeep.store.rows import AgentRow, FireRow, ScheduleRow

DELIVERED = "scheduled_input_delivered"
#: Metadata merges that lose a race with a concurrent PUT are tried again this often.
MERGE_TRIES = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a fire ended: ``launched`` or ``skipped`` (with the reason)."""

    status: FireStatus
    reason: str | None = None
    task_id: str | None = None


def actor(schedule_id: str) -> str:
    return f"schedule:{schedule_id}"


async def skip_reason(
    services: Services, fire: FireRow, schedule: ScheduleRow | None
) -> tuple[str | None, AgentRow | None]:
    """Why this fire must not run (step 1), and the agent when it may."""
    if schedule is None or schedule["deleted_at"] is not None:
        return "schedule_deleted", None
    if schedule["paused"] and fire["trigger_type"] != TriggerType.MANUAL:
        return "schedule_paused", None
    agent = await services.store.get_agent(schedule["agent_id"])
    if agent is None or agent["status"] == AgentStatus.DELETED:
        return "agent_deleted", None
    creator = schedule["creator_principal"] or {}
    keys = services.settings.api_key_map
    if (
        keys
        and creator.get("principal_type") == "api_key"
        and creator.get("service_account_id") not in keys.values()
    ):
        return "permission_denied", None
    return None, agent


def task_metadata(schedule: ScheduleRow, fire: FireRow) -> dict[str, Any]:
    """Built in the spec's order, later keys winning."""
    manual = fire["trigger_type"] == TriggerType.MANUAL
    return {
        "display_name": schedule["name"],
        **(schedule["task_metadata"] or {}),
        "schedule_id": schedule["id"],
        "scheduled_fire_id": fire["fire_id"],
        "trigger_type": fire["trigger_type"],
        "fire_time": model.iso_z(fire["nominal_time"], micro=manual),
    }


async def run(
    services: Services,
    fire: FireRow,
    schedule: ScheduleRow,
    agent: AgentRow,
    on_task: Callable[[str], Awaitable[None]],
) -> Outcome:
    """Steps 3 to 6; ``on_task(task_id)`` records the task as soon as it exists."""
    ctx = RpcContext(
        services,
        agent,
        Principal(actor(schedule["id"])),
        request_id=f"{fire['fire_id']}#{fire['attempts']}",
    )
    name = model.task_name(schedule["id"], fire["fire_id"])
    create = TaskCreateParams(
        name=name, params=schedule["task_params"], task_metadata=task_metadata(schedule, fire)
    )
    task = await dispatch.invoke(ctx, "task/create", create)
    await on_task(task["id"])
    if (task.get("task_metadata") or {}).get(DELIVERED) is True:
        return Outcome(FireStatus.SKIPPED, "input_already_delivered", task["id"])
    given = schedule["initial_input"]
    content = {
        "type": "text",
        "author": given.get("author", "user"),
        "content": given["content"],
        "format": "plain",
        "style": "static",
    }
    turn = _context(ctx)
    if agent["acp_type"] == AcpType.SYNC:
        params: Any = MessageSendParams(task_name=name, content=content, stream=False)
        await dispatch.invoke(turn, "message/send", params)
    else:
        await dispatch.invoke(turn, "event/send", EventSendParams(task_name=name, content=content))
    await _mark_delivered(services, task["id"], ctx.principal.actor)
    return Outcome(FireStatus.LAUNCHED, None, task["id"])


def _context(ctx: RpcContext) -> RpcContext:
    """A fresh context for the next call (dispatch sets ``task`` on the one it is given)."""
    return RpcContext(ctx.services, ctx.agent, ctx.principal, ctx.request_id)


async def _mark_delivered(services: Services, task_id: str, by: str) -> None:
    """Merge the marker into the task's metadata like a metadata PUT (version + 1)."""
    for _ in range(MERGE_TRIES):
        row = await services.store.get_task(task_id)
        if row is None:
            raise errors.NotFound.by_id(task_id)
        merged = {**(row["task_metadata"] or {}), DELIVERED: True}
        try:
            await services.lifecycle.update(
                task_id,
                task_metadata=merged,
                merge_params=None,
                expected_version=row["version"],
                actor=by,
            )
            return
        except errors.PreconditionFailed:
            continue  # a concurrent PUT won: merge into what it wrote
    raise errors.BadRequest(f"Task {task_id} changed {MERGE_TRIES} times while marking it")
