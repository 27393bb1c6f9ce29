"""Deployments: records for CI/CD tools, promote, and where an agent is dialed.

agentkeep deploys nothing. A deployment becomes ``Ready`` when an agent process registers
with its id (``store.registrations``); promoting one makes its ``acp_url`` the agent's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import live, models
from agentkeep.domain.agents import AgentStatus
from agentkeep.store.platform_tables import deployment_history, deployments
from agentkeep.store.rows import AgentRow, DeploymentHistoryRow, DeploymentRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import agents

REGISTERED_REASON = "Agent registered successfully."
ORDER_FIELDS = frozenset({"created_at", "promoted_at", "status", "docker_image"})
HISTORY_ORDER_FIELDS = frozenset(
    {"deployment_timestamp", "build_timestamp", "author_name", "author_email", "branch_name"}
)


@dataclass(frozen=True, slots=True)
class DeploymentCreate:
    docker_image: str
    registration_metadata: dict[str, Any] | None = None
    sgp_deploy_id: str | None = None
    helm_release_name: str | None = None


def not_for_agent(deployment_id: str, agent_id: str) -> errors.NotFound:
    return errors.NotFound(f"Deployment {deployment_id} not found for agent {agent_id}")


class DeploymentsMixin(SqlBase):
    async def create_deployment(self, agent_id: str, body: DeploymentCreate) -> DeploymentRow:
        now = models.utcnow()
        async with self.write() as conn:
            r = await conn.execute(
                deployments.insert()
                .values(
                    id=models.new_id(),
                    agent_id=agent_id,
                    docker_image=body.docker_image,
                    registration_metadata=body.registration_metadata,
                    status="Pending",
                    sgp_deploy_id=body.sgp_deploy_id,
                    helm_release_name=body.helm_release_name,
                    created_at=now,
                    updated_at=now,
                )
                .returning(deployments)
            )
            return row_as(DeploymentRow, r.one())

    async def get_deployment(self, deployment_id: str) -> DeploymentRow | None:
        async with self.read() as conn:
            r = (
                await conn.execute(select(deployments).where(deployments.c.id == deployment_id))
            ).first()
        return row_as(DeploymentRow, r) if r else None

    async def list_deployments(
        self, agent_id: str, *, limit: int, page_number: int, order_by: str, descending: bool
    ) -> list[DeploymentRow]:
        col = deployments.c[order_by]
        stmt = (
            select(deployments)
            .where(deployments.c.agent_id == agent_id, deployments.c.expires_at.is_(None))
            .order_by(col.desc() if descending else col.asc(), deployments.c.id)
            .limit(limit)
            .offset((page_number - 1) * limit)
        )
        async with self.read() as conn:
            return [row_as(DeploymentRow, r) for r in await conn.execute(stmt)]

    async def delete_deployment(self, agent_id: str, deployment_id: str) -> DeploymentRow:
        """Mark it deleted (``expires_at``); one statement, so a racing promote cannot slip in."""
        async with self.write() as conn:
            r = await conn.execute(
                deployments.update()
                .where(
                    deployments.c.id == deployment_id,
                    deployments.c.agent_id == agent_id,
                    deployments.c.expires_at.is_(None),
                    deployments.c.is_production.is_(False),
                )
                .values(expires_at=models.utcnow(), updated_at=models.utcnow())
                .returning(deployments)
            )
            row = r.first()
            if row is not None:
                return row_as(DeploymentRow, row)
            current = await self._deployment(conn, deployment_id)
        self._check_owned(current, deployment_id, agent_id)
        assert current is not None
        raise errors.BadRequest(
            "Cannot delete the current production deployment. Promote a different deployment first."
        )

    async def promote_deployment(self, agent_id: str, deployment_id: str) -> DeploymentRow:
        """One transaction that locks the agent row first, so concurrent promotes serialise.

        Postgres: ``SELECT … FOR UPDATE`` on the agent; SQLite: the write transaction is
        ``BEGIN IMMEDIATE``, one writer at a time. The last promote to commit wins; the
        partial unique index would refuse a second production row if anything slipped.
        """
        now = models.utcnow()
        async with self.write() as conn:
            locked = await conn.execute(
                select(agents).where(agents.c.id == agent_id).with_for_update()
            )
            agent = live.agent(row_as(AgentRow, a) if (a := locked.first()) else None, agent_id)
            target = await self._deployment(conn, deployment_id)
            self._check_owned(target, deployment_id, agent_id)
            assert target is not None
            if target["status"] != "Ready":
                raise errors.BadRequest(
                    f"Cannot promote deployment with status {target['status']}. "
                    "Deployment must be in Ready status."
                )
            if target["is_production"] and agent["production_deployment_id"] == deployment_id:
                return target
            await conn.execute(
                deployments.update()
                .where(deployments.c.agent_id == agent_id, deployments.c.is_production.is_(True))
                .values(is_production=False, updated_at=now)
            )
            r = await conn.execute(
                deployments.update()
                .where(deployments.c.id == deployment_id)
                .values(is_production=True, promoted_at=now, updated_at=now)
                .returning(deployments)
            )
            promoted = row_as(DeploymentRow, r.one())
            await conn.execute(
                agents.update()
                .where(agents.c.id == agent_id)
                .values(self._promoted_agent_values(agent, promoted, now))
            )
        return promoted

    @staticmethod
    def _promoted_agent_values(
        agent: AgentRow, promoted: DeploymentRow, now: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "production_deployment_id": promoted["id"],
            "acp_url": promoted["acp_url"],
            "updated_at": now,
        }
        if agent["status"] == AgentStatus.BUILD_ONLY.value:
            # A build registered without a running process goes live with its deployment.
            values.update(
                status=AgentStatus.READY.value, status_reason=REGISTERED_REASON, registered_at=now
            )
        return values

    async def _deployment(self, conn: AsyncConnection, deployment_id: str) -> DeploymentRow | None:
        r = (
            await conn.execute(select(deployments).where(deployments.c.id == deployment_id))
        ).first()
        return row_as(DeploymentRow, r) if r else None

    @staticmethod
    def _check_owned(row: DeploymentRow | None, deployment_id: str, agent_id: str) -> None:
        """Unknown: the generic 404; another agent's or deleted: the deployment's own 404."""
        if row is None:
            raise errors.NotFound.by_id(deployment_id)
        if row["agent_id"] != agent_id or row["expires_at"] is not None:
            raise not_for_agent(deployment_id, agent_id)

    async def production_acp_url(self, deployment_id: str) -> str | None:
        """The URL of the deployment an agent's ``production_deployment_id`` names."""
        async with self.read() as conn:
            r = await conn.execute(
                select(deployments.c.acp_url).where(deployments.c.id == deployment_id)
            )
            return r.scalar_one_or_none()

    async def list_deployment_history(
        self, agent_id: str, *, limit: int, page_number: int, order_by: str, descending: bool
    ) -> list[DeploymentHistoryRow]:
        col = deployment_history.c[order_by]
        stmt = (
            select(deployment_history)
            .where(deployment_history.c.agent_id == agent_id)
            .order_by(col.desc() if descending else col.asc(), deployment_history.c.id)
            .limit(limit)
            .offset((page_number - 1) * limit)
        )
        async with self.read() as conn:
            return [row_as(DeploymentHistoryRow, r) for r in await conn.execute(stmt)]

    async def get_deployment_history(self, record_id: str) -> DeploymentHistoryRow | None:
        stmt = select(deployment_history).where(deployment_history.c.id == record_id)
        async with self.read() as conn:
            r = (await conn.execute(stmt)).first()
        return row_as(DeploymentHistoryRow, r) if r else None
