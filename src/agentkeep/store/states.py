"""Agent state: one JSON document per (task, agent), first write wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from agentkeep.domain import models
from agentkeep.domain.paging import Page
from agentkeep.store.access import reachable_task_ids
from agentkeep.store.rows import StateRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import states

STATE_ORDER_FIELDS = frozenset({"created_at", "updated_at", "id"})


@dataclass(frozen=True, slots=True)
class StateQuery:
    task_id: str | None = None
    agent_id: str | None = None
    #: Only states of tasks this agent may reach (agent-key callers); None: no restriction.
    visible_to: str | None = None


class StatesMixin(SqlBase):
    async def create_state(
        self, task_id: str, agent_id: str, state: dict[str, Any]
    ) -> tuple[StateRow, bool]:
        """Insert the pair's state, or return the one already there (``created`` False).

        ``ON CONFLICT DO NOTHING`` on the (task, agent) key: concurrent first writes
        converge on one row and never raise (SDK agents call this from ``on_task_create``).
        """
        now = models.utcnow()
        values = {
            "id": models.new_id(),
            "task_id": task_id,
            "agent_id": agent_id,
            "state": state,
            "created_at": now,
            "updated_at": now,
        }
        async with self.write() as conn:
            inserted = (
                await conn.execute(
                    self.insert(states).values(values).on_conflict_do_nothing().returning(states)
                )
            ).first()
            if inserted is not None:
                return row_as(StateRow, inserted), True
            existing = await conn.execute(
                select(states).where(states.c.task_id == task_id, states.c.agent_id == agent_id)
            )
            return row_as(StateRow, existing.one()), False

    async def get_state(self, state_id: str) -> StateRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(states).where(states.c.id == state_id))).first()
        return row_as(StateRow, r) if r else None

    async def list_states(self, q: StateQuery, page: Page) -> list[StateRow]:
        stmt = select(states)
        if q.task_id is not None:
            stmt = stmt.where(states.c.task_id == q.task_id)
        if q.agent_id is not None:
            stmt = stmt.where(states.c.agent_id == q.agent_id)
        if q.visible_to is not None:
            stmt = stmt.where(states.c.task_id.in_(reachable_task_ids(q.visible_to)))
        col = states.c[page.order_by or "created_at"]
        stmt = stmt.order_by(col.desc() if page.descending else col.asc(), states.c.id)
        stmt = stmt.limit(page.limit).offset(page.offset)
        async with self.read() as conn:
            return [row_as(StateRow, r) for r in await conn.execute(stmt)]

    async def update_state(self, state_id: str, state: dict[str, Any]) -> StateRow | None:
        stmt = (
            states.update()
            .where(states.c.id == state_id)
            .values(state=state, updated_at=models.utcnow())
            .returning(states)
        )
        async with self.write() as conn:
            r = (await conn.execute(stmt)).first()
        return row_as(StateRow, r) if r else None

    async def delete_state(self, state_id: str) -> StateRow | None:
        """Delete and return the state as it was; None when unknown."""
        async with self.write() as conn:
            r = (
                await conn.execute(states.delete().where(states.c.id == state_id).returning(states))
            ).first()
        return row_as(StateRow, r) if r else None
