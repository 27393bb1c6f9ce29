"""Agent task trackers: an agent's processing status and event cursor on one task.

Rows are created with each task↔agent link (``TasksMixin._link``); this module reads them
and moves the cursor, forward only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.domain.paging import Page
from agentkeep.store.access import reachable_task_ids
from agentkeep.store.rows import TrackerRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import events, trackers

TRACKER_ORDER_FIELDS = frozenset({"created_at", "updated_at", "id"})
TRACKER_FIELDS = frozenset({"status", "status_reason", "last_processed_event_id"})


@dataclass(frozen=True, slots=True)
class TrackerQuery:
    task_id: str | None = None
    agent_id: str | None = None
    #: Only trackers of tasks this agent may reach (agent-key callers); None: no restriction.
    visible_to: str | None = None


class TrackersMixin(SqlBase):
    async def get_tracker(self, tracker_id: str) -> TrackerRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(trackers).where(trackers.c.id == tracker_id))).first()
        return row_as(TrackerRow, r) if r else None

    async def list_trackers(self, q: TrackerQuery, page: Page) -> list[TrackerRow]:
        stmt = select(trackers)
        if q.task_id is not None:
            stmt = stmt.where(trackers.c.task_id == q.task_id)
        if q.agent_id is not None:
            stmt = stmt.where(trackers.c.agent_id == q.agent_id)
        if q.visible_to is not None:
            stmt = stmt.where(trackers.c.task_id.in_(reachable_task_ids(q.visible_to)))
        col = trackers.c[page.order_by or "created_at"]
        stmt = stmt.order_by(col.desc() if page.descending else col.asc(), trackers.c.id)
        stmt = stmt.limit(page.limit).offset(page.offset)
        async with self.read() as conn:
            return [row_as(TrackerRow, r) for r in await conn.execute(stmt)]

    async def update_tracker(
        self, tracker_id: str, changes: Mapping[str, Any]
    ) -> TrackerRow | None:
        """Apply the given fields (others stay as they are); None when the tracker is unknown.

        The row is locked (``FOR UPDATE``; SQLite's IMMEDIATE transaction already excludes
        other writers) so two agents committing cursors at once cannot interleave the
        "not backwards" check with the write. Errors use Agentex's words.
        """
        values = {k: v for k, v in changes.items() if k in TRACKER_FIELDS}
        async with self.write() as conn:
            current = (
                await conn.execute(
                    select(trackers).where(trackers.c.id == tracker_id).with_for_update()
                )
            ).first()
            if current is None:
                return None
            new_event = values.get("last_processed_event_id")
            if new_event is None:
                values.pop("last_processed_event_id", None)
            else:
                await self._check_cursor(conn, current.last_processed_event_id, new_event)
            values["updated_at"] = models.utcnow()
            r = await conn.execute(
                trackers.update()
                .where(trackers.c.id == tracker_id)
                .values(values)
                .returning(trackers)
            )
            return row_as(TrackerRow, r.one())

    @staticmethod
    async def _check_cursor(conn: AsyncConnection, current_id: str | None, new_id: str) -> None:
        ids = {new_id} | ({current_id} if current_id else set())
        r = await conn.execute(
            select(events.c.id, events.c.sequence_id).where(events.c.id.in_(list(ids)))
        )
        seq = {row.id: row.sequence_id for row in r}
        if new_id not in seq:
            raise errors.BadRequest(f"Event with ID {new_id} not found")
        current_seq = seq.get(current_id) if current_id else None
        if current_seq is not None and seq[new_id] < current_seq:
            raise errors.BadRequest(
                f"Cannot move cursor backwards: new sequence ID {seq[new_id]} "
                f"< current sequence ID {current_seq}"
            )
