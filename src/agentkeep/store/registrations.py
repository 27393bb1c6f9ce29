"""What a registration does to deployments and deployment history (platform.md).

Called by ``register_agent`` inside its transaction, with the agent row locked: two
registrations of one agent never interleave here.

- With ``registration_metadata.deployment_id`` (agentex-sdk sends it when
  ``AGENTEX_DEPLOYMENT_ID`` is set) the registration records that deployment and leaves an
  existing agent's row alone: a preview process must not take over production traffic.
- Without it, the agent's production deployment is demoted (the caller clears
  ``production_deployment_id`` in the same update that sets ``acp_url``), and a change
  whose metadata names a new commit is written to the deployment history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.store.platform_tables import deployment_history, deployments
from agentkeep.store.rows import AgentRow
from agentkeep.store.sql import SqlBase

NOT_GIVEN = "N/A"
MAX_ID_LENGTH = 64


def deployment_id_of(metadata: dict[str, Any] | None) -> str | None:
    """The deployment a registration names, validated; None when it names none."""
    value = (metadata or {}).get("deployment_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise errors.BadRequest(
            "registration_metadata.deployment_id must be a non-empty string of at most "
            f"{MAX_ID_LENGTH} characters."
        )
    return value


def _text(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    return value if isinstance(value, str) and value else NOT_GIVEN


def _build_time(metadata: dict[str, Any], now: datetime) -> datetime:
    value = metadata.get("build_timestamp")
    if isinstance(value, str):
        try:
            return models.as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    return now


def commit_of(metadata: dict[str, Any]) -> str | None:
    """``agent_commit``, else [ext] ``commit_sha`` (all agentex-sdk 0.28.4 sends)."""
    for key in ("agent_commit", "commit_sha"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class RegistrationsMixin(SqlBase):
    async def record_registered_deployment(
        self,
        conn: AsyncConnection,
        agent_id: str,
        deployment_id: str,
        *,
        acp_url: str,
        metadata: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        """Create the deployment (Ready, not production) or give it the new ``acp_url``."""
        image = (metadata or {}).get("docker_image")
        # Concurrent first registrations of one id: one INSERT wins, the rest update it.
        await conn.execute(
            self.insert(deployments)
            .values(
                id=deployment_id,
                agent_id=agent_id,
                docker_image=image if isinstance(image, str) and image else "unknown",
                registration_metadata=metadata,
                status="Ready",
                acp_url=acp_url,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        r = await conn.execute(
            deployments.update()
            .where(deployments.c.id == deployment_id, deployments.c.agent_id == agent_id)
            .values(acp_url=acp_url, status="Ready", updated_at=now)
            .returning(deployments.c.id)
        )
        if r.first() is None:
            # [fix] Agentex re-points another agent's deployment at this process.
            raise errors.BadRequest(f"Deployment {deployment_id} belongs to another agent")

    async def after_agent_registration(
        self, conn: AsyncConnection, before: AgentRow, after: AgentRow, *, created: bool
    ) -> None:
        """Demote a production deployment the agent left; record a new commit."""
        if before.get("production_deployment_id") is not None:
            await conn.execute(
                deployments.update()
                .where(deployments.c.agent_id == after["id"], deployments.c.is_production.is_(True))
                .values(is_production=False, updated_at=after["updated_at"])
            )
        if created or after is not before:
            await self._record_history(conn, after)

    async def _record_history(self, conn: AsyncConnection, agent: AgentRow) -> None:
        metadata = agent["registration_metadata"] or {}
        commit = commit_of(metadata)
        if commit is None:
            return
        latest = await conn.execute(
            select(deployment_history.c.commit_hash)
            .where(deployment_history.c.agent_id == agent["id"])
            .order_by(
                deployment_history.c.deployment_timestamp.desc(), deployment_history.c.id.desc()
            )
            .limit(1)
        )
        if latest.scalar_one_or_none() == commit:
            return
        registered_at = agent["registered_at"] or models.utcnow()
        await conn.execute(
            deployment_history.insert().values(
                id=models.new_id(),
                agent_id=agent["id"],
                author_name=_text(metadata, "author_name"),
                author_email=_text(metadata, "author_email"),
                branch_name=_text(metadata, "branch_name"),
                build_timestamp=_build_time(metadata, registered_at),
                deployment_timestamp=registered_at,
                commit_hash=commit,
            )
        )
