"""Periodic system jobs (the retention sweep): each due run is claimed by exactly one
process, by compare-and-set on the job row's ``version``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from agentkeep.domain import status
from agentkeep.store.rows import RetentionCandidate
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import agents, system_jobs, task_agents, tasks


class SystemJobsMixin(SqlBase):
    async def claim_system_job(self, name: str, now: datetime, next_run: datetime) -> bool:
        """Whether this caller owns the run due at ``now``; the row then waits for
        ``next_run``. A job seen for the first time is scheduled, not run."""
        async with self.write() as conn:
            await conn.execute(
                self.insert(system_jobs)
                .values(name=name, next_run_at=next_run, version=0)
                .on_conflict_do_nothing()
            )
            row = (await conn.execute(select(system_jobs).where(system_jobs.c.name == name))).one()
            if row.next_run_at is None or row.next_run_at > now:
                return False
            # Another process that read the same version loses here: one run per due time.
            won = await conn.execute(
                system_jobs.update()
                .where(system_jobs.c.name == name, system_jobs.c.version == row.version)
                .values(next_run_at=next_run, version=row.version + 1, last_run_at=now)
                .returning(system_jobs.c.name)
            )
            return won.first() is not None

    async def record_system_job(self, name: str, result: dict[str, Any]) -> None:
        async with self.write() as conn:
            await conn.execute(
                system_jobs.update().where(system_jobs.c.name == name).values(last_result=result)
            )

    async def retention_candidates(
        self, agent_names: Sequence[str], idle_before: datetime, stale_before: datetime | None
    ) -> list[RetentionCandidate]:
        """Uncleaned tasks linked to exactly one agent, that agent named, idle long enough
        (RUNNING ones only when stale); the clean itself checks again."""
        one_agent = (
            select(task_agents.c.task_id)
            .group_by(task_agents.c.task_id)
            .having(func.count() == 1)
            .scalar_subquery()
        )
        named = (
            select(task_agents.c.task_id)
            .join(agents, agents.c.id == task_agents.c.agent_id)
            .where(agents.c.name.in_(list(agent_names)))
            .scalar_subquery()
        )
        live = tasks.c.status.not_in(list(status.NON_TERMINAL))
        stale: Any = tasks.c.status == status.TaskStatus.RUNNING
        if stale_before is None:
            eligible = live & (tasks.c.updated_at < idle_before)
        else:
            eligible = (live & (tasks.c.updated_at < idle_before)) | (
                stale & (tasks.c.updated_at < stale_before)
            )
        stmt = (
            select(tasks.c.id, tasks.c.status)
            .where(
                tasks.c.cleaned_at.is_(None),
                tasks.c.id.in_(one_agent),
                tasks.c.id.in_(named),
                eligible,
            )
            .order_by(tasks.c.updated_at, tasks.c.id)
        )
        async with self.read() as conn:
            return [RetentionCandidate(id=r.id, status=r.status) for r in await conn.execute(stmt)]


def days_before(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
