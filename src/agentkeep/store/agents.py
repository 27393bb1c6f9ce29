"""Agents and their keys. Registration is an upsert that converges under concurrency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.domain.agents import AgentStatus
from agentkeep.domain.paging import Page
from agentkeep.store import fastread, registrations
from agentkeep.store.agent_keys import AgentKeysMixin
from agentkeep.store.registrations import RegistrationsMixin
from agentkeep.store.rows import AgentRow, row_as
from agentkeep.store.tables import agents, task_agents

REGISTERED_REASON = "Agent registered successfully."
BUILD_REASON = "Agent build registered; not yet deployed."
DELETED_REASON = "Agent deleted successfully"
AGENT_ORDER_FIELDS = frozenset(
    {"created_at", "updated_at", "name", "status", "registered_at", "id"}
)


@dataclass(frozen=True, slots=True)
class AgentQuery:
    #: Only agents linked to this task.
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    name: str
    description: str
    acp_url: str
    acp_type: str
    agent_id: str | None = None
    registration_metadata: dict[str, Any] | None = None
    agent_input_type: str | None = None


class AgentsMixin(AgentKeysMixin, RegistrationsMixin):
    async def register_agent(self, reg: Registration) -> tuple[AgentRow, str]:
        """Upsert by id (404 if unknown) or by name; return the agent and its one key."""
        now = models.utcnow()
        deployment_id = registrations.deployment_id_of(reg.registration_metadata)
        created = False
        async with self.write() as conn:
            if reg.agent_id is not None:
                current = await self._locked(conn, agents.c.id == reg.agent_id)
                if current is None:
                    raise errors.NotFound.by_id(reg.agent_id)
            else:
                # Concurrent first registrations of one name: exactly one INSERT wins, the
                # others fall through to the update path on the winner's row.
                inserted = await conn.execute(
                    self.insert(agents)
                    .values(
                        id=models.new_id(),
                        name=reg.name,
                        description=reg.description,
                        status=AgentStatus.READY.value,
                        status_reason=REGISTERED_REASON,
                        acp_type=reg.acp_type,
                        acp_url=reg.acp_url,
                        registration_metadata=reg.registration_metadata,
                        registered_at=now,
                        agent_input_type=reg.agent_input_type,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing()
                    .returning(agents.c.id)
                )
                created = inserted.first() is not None
                current = await self._locked(conn, agents.c.name == reg.name)
                assert current is not None
            if deployment_id is not None:
                # A deployment's process: recorded on the deployment, the agent row untouched.
                row = current
                await self.record_registered_deployment(
                    conn,
                    row["id"],
                    deployment_id,
                    acp_url=reg.acp_url,
                    metadata=reg.registration_metadata,
                    now=now,
                )
            else:
                row = await self._apply_registration(conn, current, reg, now)
                await self.after_agent_registration(conn, current, row, created=created)
            key = await self.ensure_key(conn, row["id"], now)
        return row, key

    async def _locked(self, conn: AsyncConnection, where: Any) -> AgentRow | None:
        r = (await conn.execute(select(agents).where(where).with_for_update())).first()
        return row_as(AgentRow, r) if r else None

    async def _apply_registration(
        self, conn: AsyncConnection, current: AgentRow, reg: Registration, now: Any
    ) -> AgentRow:
        merged = {**(current["registration_metadata"] or {}), **(reg.registration_metadata or {})}
        values: dict[str, Any] = {
            "name": reg.name,
            "description": reg.description,
            "acp_url": reg.acp_url,
            "acp_type": reg.acp_type,
            "status": AgentStatus.READY.value,
            "status_reason": REGISTERED_REASON,
            "registration_metadata": merged or current["registration_metadata"],
            # A registration without a deployment id takes production back from any
            # promoted deployment (platform.md, Deployments).
            "production_deployment_id": None,
        }
        if reg.agent_input_type is not None:
            values["agent_input_type"] = reg.agent_input_type
        stored: Mapping[str, Any] = current
        changed = {k: v for k, v in values.items() if stored[k] != v}
        if not changed:
            return current
        changed.update(registered_at=now, updated_at=now)
        r = await conn.execute(
            agents.update().where(agents.c.id == current["id"]).values(changed).returning(agents)
        )
        return row_as(AgentRow, r.one())

    async def register_build(
        self,
        *,
        name: str,
        description: str,
        registration_metadata: dict[str, Any] | None,
        agent_input_type: str | None,
    ) -> AgentRow:
        now = models.utcnow()
        async with self.write() as conn:
            await conn.execute(
                self.insert(agents)
                .values(
                    id=models.new_id(),
                    name=name,
                    description=description,
                    status=AgentStatus.BUILD_ONLY.value,
                    status_reason=BUILD_REASON,
                    acp_type="async",
                    acp_url=None,
                    registration_metadata=registration_metadata,
                    registered_at=now,
                    agent_input_type=agent_input_type,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            )
            r = await conn.execute(select(agents).where(agents.c.name == name))
            return row_as(AgentRow, r.one())

    async def get_agent(self, agent_id: str) -> AgentRow | None:
        return await self._one_agent(fastread.AGENT_BY_ID, agents.c.id, agent_id)

    async def get_agent_by_name(self, name: str) -> AgentRow | None:
        return await self._one_agent(fastread.AGENT_BY_NAME, agents.c.name, name)

    async def _one_agent(self, fast_sql: str, column: Any, value: str) -> AgentRow | None:
        if self.fast_reader is not None:
            return await self.fast_reader.one(AgentRow, fast_sql, value)
        stmt = self.statement(
            ("agent_by", column.name),
            lambda: select(agents).where(column == bindparam("value", type_=String)),
        )
        return await self.lookup(AgentRow, stmt, {"value": value})

    async def list_agents(self, q: AgentQuery, page: Page) -> list[AgentRow]:
        stmt = select(agents).where(agents.c.status != AgentStatus.DELETED.value)
        if q.task_id is not None:
            stmt = stmt.where(
                agents.c.id.in_(
                    select(task_agents.c.agent_id).where(task_agents.c.task_id == q.task_id)
                )
            )
        col = agents.c[page.order_by or "created_at"]
        stmt = stmt.order_by(col.desc() if page.descending else col.asc(), agents.c.id)
        stmt = stmt.limit(page.limit).offset(page.offset)
        async with self.read() as conn:
            return [row_as(AgentRow, r) for r in await conn.execute(stmt)]

    async def delete_agent(self, agent_id: str) -> bool:
        """Soft delete; False when the agent is unknown or already deleted."""
        async with self.write() as conn:
            r = await conn.execute(
                agents.update()
                .where(agents.c.id == agent_id, agents.c.status != AgentStatus.DELETED.value)
                .values(
                    status=AgentStatus.DELETED.value,
                    status_reason=DELETED_REASON,
                    updated_at=models.utcnow(),
                )
                .returning(agents.c.id)
            )
            if r.first() is None:
                return False
            # In the same transaction: the key fails from the moment the delete commits.
            await self.drop_keys(conn, agent_id)
            return True
