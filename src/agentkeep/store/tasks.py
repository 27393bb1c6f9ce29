"""Task reads: by id, by name, lists with filters, history, overdue tasks.

Writes live in ``store.changes``; ``Change`` is re-exported here for the routes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import String, and_, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from agentkeep.domain import status
from agentkeep.domain.paging import Page
from agentkeep.store import fastread, jsonmatch
from agentkeep.store.access import reachable_task_ids
from agentkeep.store.changes import Change
from agentkeep.store.rows import HistoryRow, TaskAgentRow, TaskRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import agents, task_agents, task_history, tasks

__all__ = ["TASK_ORDER_FIELDS", "Change", "TaskQuery", "TasksMixin"]

TASK_ORDER_FIELDS = frozenset({"created_at", "updated_at", "name", "status", "id"})


@dataclass(frozen=True, slots=True)
class TaskQuery:
    agent_id: str | None = None
    agent_name: str | None = None
    status: str | None = None
    metadata: dict[str, Any] | None = None
    #: Only tasks this agent may reach (agent-key callers); None: no restriction.
    visible_to: str | None = None


class TasksMixin(SqlBase):
    async def get_task(self, task_id: str) -> TaskRow | None:
        return await self._task_where("id", task_id)

    async def get_task_by_name(self, name: str) -> TaskRow | None:
        return await self._task_where("name", name)

    async def _task_where(self, column: str, value: str) -> TaskRow | None:
        if self.fast_reader is not None:
            sql = fastread.TASK_BY_ID if column == "id" else fastread.TASK_BY_NAME
            return await self.fast_reader.one(TaskRow, sql, value)
        # A cached statement spares building it on every request.
        stmt = self.statement(
            ("task_by", column),
            lambda: select(tasks).where(tasks.c[column] == bindparam("value", type_=String)),
        )
        return await self.lookup(TaskRow, stmt, {"value": value})

    async def agents_of_tasks(self, task_ids: Collection[str]) -> dict[str, list[TaskAgentRow]]:
        out: dict[str, list[TaskAgentRow]] = {t: [] for t in task_ids}
        if not task_ids:
            return out
        stmt = (
            select(task_agents.c.task_id, agents)
            .join(agents, agents.c.id == task_agents.c.agent_id)
            .where(task_agents.c.task_id.in_(list(task_ids)))
            .order_by(task_agents.c.created_at, agents.c.id)
        )
        async with self.read() as conn:
            for r in await conn.execute(stmt):
                out[r.task_id].append(row_as(TaskAgentRow, r))
        return out

    async def list_tasks(self, q: TaskQuery, page: Page) -> list[TaskRow]:
        stmt = select(tasks).where(tasks.c.status != status.TaskStatus.DELETED)
        if q.agent_id is not None:
            stmt = stmt.where(
                tasks.c.id.in_(
                    select(task_agents.c.task_id).where(task_agents.c.agent_id == q.agent_id)
                )
            )
        if q.agent_name is not None:
            stmt = stmt.where(
                tasks.c.id.in_(
                    select(task_agents.c.task_id)
                    .join(agents, agents.c.id == task_agents.c.agent_id)
                    .where(agents.c.name == q.agent_name)
                )
            )
        if q.status is not None:
            stmt = stmt.where(tasks.c.status == q.status)
        if q.metadata is not None:
            stmt = stmt.where(self._contains(q.metadata))
        if q.visible_to is not None:
            stmt = stmt.where(tasks.c.id.in_(reachable_task_ids(q.visible_to)))
        stmt = stmt.order_by(*self._task_order(page)).limit(page.limit).offset(page.offset)
        async with self.read() as conn:
            return [row_as(TaskRow, r) for r in await conn.execute(stmt)]

    def _contains(self, flt: dict[str, Any]) -> Any:
        if self.dialect == "postgresql":
            return tasks.c.task_metadata.op("@>")(literal(flt, JSONB))
        fn = getattr(func, jsonmatch.SQLITE_FUNCTION)
        exact = fn(tasks.c.task_metadata, orjson.dumps(flt).decode()) == 1
        return and_(*jsonmatch.sqlite_narrowing(tasks.c.task_metadata, flt), exact)

    @staticmethod
    def _task_order(page: Page) -> list[Any]:
        def direction(col: Any) -> Any:
            return col.desc() if page.descending else col.asc()

        if page.order_by is None:
            return [tasks.c.updated_at.desc(), tasks.c.created_at.desc(), tasks.c.id]
        return [direction(tasks.c[page.order_by]), direction(tasks.c.id)]

    async def task_history(self, task_id: str) -> list[HistoryRow]:
        stmt = (
            select(task_history)
            .where(task_history.c.task_id == task_id)
            .order_by(task_history.c.seq)
        )
        async with self.read() as conn:
            return [row_as(HistoryRow, r) for r in await conn.execute(stmt)]

    async def overdue_task_ids(self, now: datetime, limit: int = 100) -> list[str]:
        stmt = (
            select(tasks.c.id)
            .where(
                tasks.c.deadline_at.is_not(None),
                tasks.c.deadline_at <= now,
                tasks.c.status.in_(list(status.NON_TERMINAL)),
            )
            .order_by(tasks.c.deadline_at)
            .limit(limit)
        )
        async with self.read() as conn:
            return [r.id for r in await conn.execute(stmt)]
