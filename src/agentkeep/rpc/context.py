"""``RpcContext``: everything a method may use, built once per call.

The route builds it from the request; an in-process caller (the scheduler) builds it
with ``RpcContext.internal``. Methods never look at the HTTP request or ``app.state``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from agentkeep import errors
from agentkeep.access import Principal, TaskAccess
from agentkeep.acp import wire
from agentkeep.acp.client import AgentClient
from agentkeep.bus.base import EventBus
from agentkeep.domain import live
from agentkeep.lifecycle import Lifecycle
from agentkeep.rpc.envelope import RpcId
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow, TaskRow


@dataclass(frozen=True, slots=True)
class Services:
    """What every call shares; built once by the app's lifespan."""

    store: SqlStore
    lifecycle: Lifecycle
    bus: EventBus
    agent_client: AgentClient
    settings: Settings


@dataclass(slots=True)
class RpcContext:
    services: Services
    #: The agent the call is addressed to (any status; dispatch refuses unusable ones).
    agent: AgentRow
    principal: Principal
    request_id: str
    rpc_id: RpcId = None
    #: The caller's headers the agent may see (``acp.client.forwarded_headers``).
    forwarded: dict[str, str] = field(default_factory=dict)
    #: The existing task the call names, set by dispatch after the reach check.
    task: TaskRow | None = None
    #: The URL of the deployment the call is addressed to (the per-deployment route);
    #: None dials where ``wire.target`` says (the production deployment, else the agent).
    acp_url: str | None = None

    @property
    def store(self) -> SqlStore:
        return self.services.store

    @property
    def lifecycle(self) -> Lifecycle:
        return self.services.lifecycle

    @property
    def bus(self) -> EventBus:
        return self.services.bus

    @property
    def actor(self) -> str:
        return self.principal.actor

    def named_task(self) -> TaskRow:
        """The task of a method whose params require one (dispatch resolved it)."""
        if self.task is None:
            raise AssertionError("dispatch resolves the task of every method that needs one")
        return self.task

    def live_task(self) -> TaskRow:
        """The named task, refused like an unknown one when it is deleted."""
        row = self.named_task()
        return live.task(row, row["id"])

    async def reachable(self, row: TaskRow) -> bool:
        """Whether the caller may act on ``row`` (the rule REST applies, ``TaskAccess``)."""
        return await TaskAccess(self.store, self.principal).allows(row["id"])

    async def call_agent(self, method: str, params: dict[str, Any], task_id: str) -> Any:
        """Call the context's agent once and return its result (no transaction is open)."""
        return await self.services.agent_client.call(
            await wire.target(self.store, self.agent, acp_url=self.acp_url),
            method,
            params,
            task_id=task_id,
            forwarded=self.forwarded,
            request_id=self.request_id,
        )

    async def stream_agent(
        self, method: str, params: dict[str, Any], task_id: str
    ) -> AsyncGenerator[Any, None]:
        """Start a streaming call to the context's agent; iterate it for each result."""
        return self.services.agent_client.stream(
            await wire.target(self.store, self.agent, acp_url=self.acp_url),
            method,
            params,
            task_id=task_id,
            forwarded=self.forwarded,
            request_id=self.request_id,
        )


def name_taken(name: str | None) -> errors.BadRequest:
    """A name another caller's task holds: creating it is impossible, touching it forbidden.

    Unlike a lookup, a create cannot pretend the name is free; the message says no more
    than that it is taken.
    """
    return errors.BadRequest(f"Task name '{name}' is already taken by a task you cannot reach.")
