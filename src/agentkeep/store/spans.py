"""Spans: trace records with client-supplied ids (the UI's traces panel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select

from agentkeep.domain import models
from agentkeep.domain.paging import Page
from agentkeep.store.access import reachable_task_ids
from agentkeep.store.rows import SpanRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import spans

SPAN_ORDER_FIELDS = frozenset({"start_time", "end_time", "name", "id"})
#: The writable fields: every wire field but the id, which is fixed at creation.
SPAN_FIELDS = frozenset(models.SPAN_FIELDS) - {"id"}


@dataclass(frozen=True, slots=True)
class SpanQuery:
    trace_id: str | None = None
    task_id: str | None = None
    #: Agent-key callers see spans of their tasks and the task-less spans they created.
    visible_to: str | None = None


class SpansMixin(SqlBase):
    async def create_span(
        self, values: Mapping[str, Any], *, creator_agent_id: str | None = None
    ) -> SpanRow:
        """Insert a span; an id already taken raises ``ItemAlreadyExists`` (400)."""
        row = {k: values.get(k) for k in SPAN_FIELDS}
        row["id"] = values.get("id") or models.new_id()
        row["creator_agent_id"] = creator_agent_id
        async with self.write() as conn:
            r = await conn.execute(spans.insert().values(row).returning(spans))
            return row_as(SpanRow, r.one())

    async def update_span(self, span_id: str, changes: Mapping[str, Any]) -> SpanRow | None:
        values = {k: v for k, v in changes.items() if k in SPAN_FIELDS}
        if not values:
            return await self.get_span(span_id)
        async with self.write() as conn:
            r = (
                await conn.execute(
                    spans.update().where(spans.c.id == span_id).values(values).returning(spans)
                )
            ).first()
        return row_as(SpanRow, r) if r else None

    async def get_span(self, span_id: str) -> SpanRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(spans).where(spans.c.id == span_id))).first()
        return row_as(SpanRow, r) if r else None

    async def list_spans(self, q: SpanQuery, page: Page) -> list[SpanRow]:
        stmt = select(spans)
        if q.trace_id is not None:
            stmt = stmt.where(spans.c.trace_id == q.trace_id)
        if q.task_id is not None:
            stmt = stmt.where(spans.c.task_id == q.task_id)
        if q.visible_to is not None:
            reachable = spans.c.task_id.in_(reachable_task_ids(q.visible_to))
            own_free = and_(spans.c.task_id.is_(None), spans.c.creator_agent_id == q.visible_to)
            stmt = stmt.where(or_(own_free, reachable))
        col = spans.c[page.order_by or "start_time"]
        stmt = stmt.order_by(col.desc() if page.descending else col.asc(), spans.c.id)
        stmt = stmt.limit(page.limit).offset(page.offset)
        async with self.read() as conn:
            return [row_as(SpanRow, r) for r in await conn.execute(stmt)]
