"""The params agents receive: full wire objects, exactly as clients read them.

``agent`` is what ``GET /agents/{id}`` returns (``"Ready"``, timestamps, metadata),
``task`` the full Task (``params``, ``task_metadata``), ``event`` the Event. agentex-sdk
agents validate these with ``agentex.protocol.acp`` models, so a missing field is a
broken agent on the other side.
"""

from __future__ import annotations

from typing import Any

from agentkeep.acp.client import AgentTarget
from agentkeep.domain import models
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow, TaskRow


async def target(store: SqlStore, agent: AgentRow, *, acp_url: str | None = None) -> AgentTarget:
    """Where to call ``agent`` and the key it checks on every call.

    The one place an agent's address is decided, for every path that dials one (RPC,
    cancel notices, forwarding): ``acp_url`` when the caller names a deployment, else the
    production deployment's URL when the agent has one, else the agent's own. The
    deployment is read on each call because a registration with its id may have moved it
    since the agent row was read.
    """
    url = acp_url
    if url is None and agent["production_deployment_id"]:
        url = await store.production_acp_url(agent["production_deployment_id"])
    # "" for an agent with no address at all (a build not yet deployed): callers refuse it.
    return AgentTarget(
        agent["name"], url or agent["acp_url"] or "", await store.agent_key(agent["id"])
    )


def task_create(agent: AgentRow, task: TaskRow) -> dict[str, Any]:
    return {
        "agent": models.agent_wire(agent),
        "task": models.task_wire(task),
        "params": task["params"],
    }


def message_send(agent: AgentRow, task: TaskRow, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": models.agent_wire(agent),
        "task": models.task_wire(task),
        "content": content,
        "stream": True,
    }


def event_send(agent: AgentRow, task: TaskRow, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": models.agent_wire(agent),
        "task": models.task_wire(task),
        "event": event,
        "request": None,
    }


def task_only(agent: AgentRow, task: TaskRow) -> dict[str, Any]:
    """``task/cancel`` and ``task/interrupt``."""
    return {"agent": models.agent_wire(agent), "task": models.task_wire(task)}
