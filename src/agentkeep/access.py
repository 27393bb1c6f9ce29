"""Who is calling (``Principal``) and which tasks they reach (``TaskAccess``).

Shared by the REST routes and the JSON-RPC methods, so an agent key meets the same rule
on every path: the security issue this closes was JSON-RPC ignoring it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkeep import errors
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``agent`` is set for callers that present an agent key.

    ``scoped`` marks an agent key used without an API key while API keys are configured:
    such a caller reaches only its own tasks, on REST and JSON-RPC alike.
    """

    credential: str
    agent: AgentRow | None = None
    scoped: bool = False
    #: ``internal`` (the registration key or an internal agent API key) or ``external``.
    key_type: str | None = None

    @property
    def actor(self) -> str:
        """How the history names this caller."""
        return self.credential.split("#", 1)[0]

    @property
    def confined_to(self) -> str | None:
        """The agent id this caller is confined to, or None for unrestricted callers."""
        return self.agent["id"] if self.scoped and self.agent is not None else None


ANONYMOUS = Principal("anonymous")


@dataclass(frozen=True, slots=True)
class TaskAccess:
    """The one gate for task-scoped routes and JSON-RPC methods.

    An agent key (with API keys configured) reaches only the tasks linked to its agent and
    the tasks it created over RPC. Any other task answers exactly like a task that does not
    exist (404 ``Item with id '<id>' does not exist.``), never 403: a 403 would confirm to
    a foreign agent that the id or name is real.
    """

    store: SqlStore
    principal: Principal

    @property
    def agent_id(self) -> str | None:
        return self.principal.confined_to

    async def allows(self, task_id: str | None) -> bool:
        """Whether a row tied to ``task_id`` is visible (rows tied to no task are)."""
        if task_id is None or self.agent_id is None:
            return True
        return await self.store.task_reachable(task_id, self.agent_id)

    async def require(self, task_id: str) -> None:
        """Refuse a task this caller may not reach; no query for unrestricted callers."""
        if not await self.allows(task_id):
            raise errors.NotFound.by_id(task_id)

    async def require_name(self, name: str) -> None:
        if self.agent_id is None:
            return
        row = await self.store.get_task_by_name(name)
        if row is None or not await self.store.task_reachable(row["id"], self.agent_id):
            raise errors.NotFound.by_name(name)

    async def child_of(self, task_id: str) -> None:
        """A child resource's task: it must exist (deleted is fine) and be reachable."""
        if not await self.store.task_reachable(task_id, self.agent_id):
            raise errors.NotFound.by_id(task_id)
