"""Events: the async-agent inbox, in one global ``sequence_id`` order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from agentkeep.domain import models
from agentkeep.store.rows import EventRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import events


class EventsMixin(SqlBase):
    async def create_event(
        self, task_id: str, agent_id: str, content: dict[str, Any] | None
    ) -> EventRow:
        """Insert an event; the database assigns the global ``sequence_id``."""
        values = {
            "id": models.new_id(),
            "task_id": task_id,
            "agent_id": agent_id,
            "content": content,
            "created_at": models.utcnow(),
        }
        async with self.write() as conn:
            r = await conn.execute(events.insert().values(values).returning(events))
            return row_as(EventRow, r.one())

    async def get_event(self, event_id: str) -> EventRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(events).where(events.c.id == event_id))).first()
        return row_as(EventRow, r) if r else None

    async def list_events(
        self,
        task_id: str,
        agent_id: str,
        *,
        after_event_id: str | None = None,
        limit: int | None = None,
    ) -> list[EventRow]:
        """The pair's events in ``sequence_id`` order after a cursor; no limit means all.

        An unknown cursor id filters nothing, as in Agentex: an agent whose cursor points
        nowhere re-reads its inbox rather than silently skipping it.
        """
        stmt = select(events).where(events.c.task_id == task_id, events.c.agent_id == agent_id)
        if after_event_id is not None:
            cursor = (
                select(events.c.sequence_id).where(events.c.id == after_event_id).scalar_subquery()
            )
            stmt = stmt.where(events.c.sequence_id > func.coalesce(cursor, 0))
        stmt = stmt.order_by(events.c.sequence_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self.read() as conn:
            return [row_as(EventRow, r) for r in await conn.execute(stmt)]
