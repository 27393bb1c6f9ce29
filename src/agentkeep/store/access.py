"""Which tasks an agent key reaches: its linked tasks and the ones it created over RPC.

A security filter: every task-scoped read or write by an agent-key caller goes through
``task_reachable`` or filters its list with ``reachable_task_ids``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select

from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import task_agents, tasks


def reachable_task_ids(agent_id: str) -> Any:
    """A subquery of the task ids ``agent_id`` may reach, for ``IN`` filters."""
    linked = select(task_agents.c.task_id).where(task_agents.c.agent_id == agent_id)
    created = select(tasks.c.id).where(tasks.c.creator_agent_id == agent_id)
    return linked.union(created)


class AccessMixin(SqlBase):
    async def task_reachable(self, task_id: str, agent_id: str | None) -> bool:
        """Whether the task exists (any status) and, for ``agent_id``, is that agent's.

        One query either way: the caller's existence check and its access check are the
        same round trip.
        """
        where: list[Any] = [tasks.c.id == task_id]
        if agent_id is not None:
            linked = exists().where(
                task_agents.c.task_id == tasks.c.id, task_agents.c.agent_id == agent_id
            )
            where.append(or_(tasks.c.creator_agent_id == agent_id, linked))
        async with self.read() as conn:
            r = await conn.execute(select(tasks.c.id).where(*where))
            return r.first() is not None
