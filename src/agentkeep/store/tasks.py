"""Tasks: reads, get-or-create, and every status change as one compare-and-set.

A change is ``UPDATE … WHERE id AND status IN (sources) RETURNING`` plus its history row
and its outbox row in the same transaction; there is never a read before the write.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import models, status
from agentkeep.store import jsonmatch
from agentkeep.store.access import reachable_task_ids
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import agents, task_agents, task_history, tasks, trackers

TASK_ORDER_FIELDS = frozenset({"created_at", "updated_at", "name", "status", "id"})


@dataclass(frozen=True, slots=True)
class Change:
    """Who asks for a change and why: recorded in the history row."""

    actor: str
    request_id: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class TaskQuery:
    agent_id: str | None = None
    agent_name: str | None = None
    status: str | None = None
    metadata: dict[str, Any] | None = None
    #: Only tasks this agent may reach (agent-key callers); None: no restriction.
    visible_to: str | None = None
    limit: int = 50
    page_number: int = 1
    order_by: str | None = None
    descending: bool = True


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class TasksMixin(SqlBase):
    async def get_task(self, task_id: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            r = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).first()
        return _row(r) if r else None

    async def get_task_by_name(self, name: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            r = (await conn.execute(select(tasks).where(tasks.c.name == name))).first()
        return _row(r) if r else None

    async def agents_of_tasks(self, task_ids: Collection[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {t: [] for t in task_ids}
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
                out[r.task_id].append(_row(r))
        return out

    async def list_tasks(self, q: TaskQuery) -> list[dict[str, Any]]:
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
        stmt = stmt.order_by(*self._task_order(q)).limit(q.limit)
        stmt = stmt.offset((q.page_number - 1) * q.limit)
        async with self.read() as conn:
            return [_row(r) for r in await conn.execute(stmt)]

    def _contains(self, flt: dict[str, Any]) -> Any:
        if self.dialect == "postgresql":
            return tasks.c.task_metadata.op("@>")(literal(flt, JSONB))
        fn = getattr(func, jsonmatch.SQLITE_FUNCTION)
        return fn(tasks.c.task_metadata, orjson.dumps(flt).decode()) == 1

    @staticmethod
    def _task_order(q: TaskQuery) -> list[Any]:
        def direction(col: Any) -> Any:
            return col.desc() if q.descending else col.asc()

        if q.order_by is None:
            return [tasks.c.updated_at.desc(), tasks.c.created_at.desc(), tasks.c.id]
        return [direction(tasks.c[q.order_by]), direction(tasks.c.id)]

    async def create_task(
        self,
        *,
        agent_id: str,
        name: str | None,
        params: dict[str, Any] | None,
        task_metadata: dict[str, Any] | None,
        deadline_at: datetime | None,
        change: Change,
        creator_agent_id: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Insert a RUNNING task with its agent link, tracker and first history row.

        With a name, an existing task of that name is returned instead (``created`` False):
        ``ON CONFLICT DO NOTHING`` makes concurrent creations of one name converge.
        """
        now = models.utcnow()
        task_id = models.new_id()
        values: dict[str, Any] = {
            "id": task_id,
            "name": name,
            "status": status.TaskStatus.RUNNING,
            "status_reason": change.reason,
            "status_actor": change.actor,
            "params": params,
            "task_metadata": task_metadata,
            "version": 1,
            "deadline_at": deadline_at,
            "creator_agent_id": creator_agent_id,
            "created_at": now,
            "updated_at": now,
        }
        async with self.write() as conn:
            stmt = self.insert(tasks).values(values).on_conflict_do_nothing()
            inserted = (await conn.execute(stmt.returning(tasks))).first()
            if inserted is None:
                existing = await conn.execute(select(tasks).where(tasks.c.name == name))
                return _row(existing.one()), False
            await self._link(conn, task_id, agent_id, now)
            await self._history(conn, task_id, None, status.TaskStatus.RUNNING, change, now)
            return _row(inserted), True

    async def _link(self, conn: AsyncConnection, task_id: str, agent_id: str, now: Any) -> None:
        await conn.execute(
            self.insert(task_agents)
            .values(task_id=task_id, agent_id=agent_id, created_at=now)
            .on_conflict_do_nothing()
        )
        await conn.execute(
            self.insert(trackers)
            .values(
                id=models.new_id(),
                agent_id=agent_id,
                task_id=task_id,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )

    async def link_task_agent(self, task_id: str, agent_id: str) -> None:
        async with self.write() as conn:
            await self._link(conn, task_id, agent_id, models.utcnow())

    @staticmethod
    async def _history(
        conn: AsyncConnection,
        task_id: str,
        from_status: str | None,
        to_status: str,
        change: Change,
        now: datetime,
    ) -> None:
        await conn.execute(
            task_history.insert().values(
                task_id=task_id,
                from_status=from_status,
                to_status=to_status,
                reason=change.reason,
                actor=change.actor,
                request_id=change.request_id,
                created_at=now,
            )
        )

    async def transition(
        self,
        task_id: str,
        to: str,
        change: Change,
        *,
        sources: Collection[str],
        expected_version: int | None = None,
        failed_by: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Compare-and-set ``task_id`` to ``to``; None when no row matched.

        ``failed_by`` narrows a FAILED source to failures by that actor (only agent errors
        may be resumed). History and outbox rows commit with the change or not at all.
        """
        now = models.utcnow()
        failed_status = status.TaskStatus.FAILED
        status_ok: Any = tasks.c.status.in_([s for s in sources if s != failed_status])
        if failed_status in sources:
            failed = tasks.c.status == failed_status
            if failed_by is not None:
                failed = and_(failed, tasks.c.status_actor == failed_by)
            status_ok = or_(status_ok, failed)
        stmt = (
            tasks.update()
            .where(tasks.c.id == task_id, status_ok)
            .values(
                prev_status=tasks.c.status,
                status=to,
                status_reason=change.reason,
                status_actor=change.actor,
                version=tasks.c.version + 1,
                updated_at=now,
                **(values or {}),
            )
            .returning(tasks)
        )
        if expected_version is not None:
            stmt = stmt.where(tasks.c.version == expected_version)
        async with self.write() as conn:
            r = (await conn.execute(stmt)).first()
            if r is None:
                return None
            row = _row(r)
            await self._history(conn, task_id, row["prev_status"], to, change, now)
            await self.add_outbox(conn, row)
            return row

    async def update_task(
        self,
        task_id: str,
        *,
        task_metadata: dict[str, Any] | None,
        merge_params: dict[str, Any] | None,
        expected_version: int | None,
        replace_params: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Replace metadata and shallow-merge params under a row lock; None if not live.

        A stale ``expected_version`` raises ``PreconditionFailed`` and changes nothing.

        ``FOR UPDATE`` (a no-op on SQLite, whose IMMEDIATE transaction already excludes
        other writers) makes the merge atomic against concurrent PUTs.
        """
        async with self.write() as conn:
            r = (
                await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
            ).first()
            if r is None or r.status == status.TaskStatus.DELETED:
                return None
            if expected_version is not None and r.version != expected_version:
                raise errors.PreconditionFailed(data={"task": models.task_wire(_row(r))})
            values: dict[str, Any] = {"version": r.version + 1, "updated_at": models.utcnow()}
            if task_metadata is not None:
                values["task_metadata"] = task_metadata
            if replace_params is not None:
                values["params"] = replace_params
            if merge_params is not None:
                values["params"] = {**(r.params or {}), **merge_params}
            row = _row(
                (
                    await conn.execute(
                        tasks.update().where(tasks.c.id == task_id).values(values).returning(tasks)
                    )
                ).one()
            )
            await self.add_outbox(conn, row)
            return row

    async def task_history(self, task_id: str) -> list[dict[str, Any]]:
        stmt = (
            select(task_history)
            .where(task_history.c.task_id == task_id)
            .order_by(task_history.c.seq)
        )
        async with self.read() as conn:
            return [_row(r) for r in await conn.execute(stmt)]

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

    async def add_outbox(self, conn: AsyncConnection, row: Mapping[str, Any]) -> None:
        """Write the ``task_updated`` event for ``row`` (overridden by the outbox mixin)."""
        raise NotImplementedError
