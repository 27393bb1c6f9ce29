"""Schedule fires: the scheduler's claims, leases and outcomes, all by compare-and-set.

Any number of processes run the same statements at once. Three guards keep a nominal time
to one fire: ``FOR UPDATE SKIP LOCKED`` (Postgres; SQLite's single writer serialises the
claim instead) so peers pass over a row being claimed, the ``version`` compare-and-set so
a claim that read an old row loses, and the unique ``(schedule_id, nominal_time)`` row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select

from agentkeep.domain import models
from agentkeep.domain.fires import OPEN, FireStatus, TriggerType
from agentkeep.store.rows import FireRow, ScheduleRow, row_as
from agentkeep.store.schedule_tables import agent_run_schedules as schedules
from agentkeep.store.schedule_tables import schedule_fires as fires
from agentkeep.store.schedule_tables import schedule_skips
from agentkeep.store.sql import SqlBase


@dataclass(frozen=True, slots=True)
class Claim:
    """The scheduler's decision for one due schedule row."""

    nominal_time: datetime
    next_fire_at: datetime | None
    fire_id: str
    status: FireStatus  # pending, or skipped with a reason
    reason: str | None = None


Decide = Callable[[ScheduleRow, list[datetime], bool], Claim]


def _due(now: datetime) -> Any:
    return and_(
        schedules.c.deleted_at.is_(None),
        schedules.c.paused.is_(False),
        schedules.c.next_fire_at <= now,
    )


class FiresMixin(SqlBase):
    async def due_schedule_ids(self, now: datetime, limit: int = 20) -> list[str]:
        stmt = (
            select(schedules.c.id)
            .where(_due(now))
            .order_by(schedules.c.next_fire_at, schedules.c.id)
            .limit(limit)
        )
        async with self.read() as conn:
            return [i for (i,) in await conn.execute(stmt)]

    async def earliest_fire_at(self) -> datetime | None:
        """When the next schedule is due (the loop sleeps until then at most)."""
        stmt = select(schedules.c.next_fire_at).where(
            schedules.c.deleted_at.is_(None),
            schedules.c.paused.is_(False),
            schedules.c.next_fire_at.is_not(None),
        )
        stmt = stmt.order_by(schedules.c.next_fire_at).limit(1)
        async with self.read() as conn:
            value = (await conn.execute(stmt)).scalar_one_or_none()
        return models.as_utc(value) if value is not None else None

    async def claim_schedule(
        self, schedule_id: str, now: datetime, decide: Decide
    ) -> FireRow | None:
        """One short transaction: advance the row and record its fire; None if a peer did."""
        async with self.write() as conn:
            r = (
                await conn.execute(
                    select(schedules)
                    .where(schedules.c.id == schedule_id, _due(now))
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if r is None:
                return None
            row = row_as(ScheduleRow, r)
            skips = [
                models.as_utc(t)
                for (t,) in await conn.execute(
                    select(schedule_skips.c.skipped_time).where(
                        schedule_skips.c.schedule_id == schedule_id
                    )
                )
            ]
            overlap = (
                await conn.execute(
                    select(
                        exists().where(
                            fires.c.schedule_id == schedule_id,
                            fires.c.trigger_type == TriggerType.SCHEDULED,
                            fires.c.status.in_(sorted(OPEN)),
                        )
                    )
                )
            ).scalar_one()
            claim = decide(row, skips, bool(overlap))
            values: dict[str, Any] = {
                "next_fire_at": claim.next_fire_at,
                "version": row["version"] + 1,
            }
            if claim.status == FireStatus.PENDING:
                values["num_actions_taken"] = row["num_actions_taken"] + 1
                values["last_action_time"] = claim.nominal_time
            advanced = await conn.execute(
                schedules.update()
                .where(schedules.c.id == schedule_id, schedules.c.version == row["version"])
                .values(values)
                .returning(schedules.c.id)
            )
            if advanced.first() is None:
                return None
            return await self._insert_fire(
                conn, schedule_id, claim.fire_id, TriggerType.SCHEDULED, claim, now
            )

    async def _insert_fire(
        self, conn: Any, schedule_id: str, fire_id: str, trigger: str, claim: Claim, now: datetime
    ) -> FireRow | None:
        done = claim.status != FireStatus.PENDING
        r = await conn.execute(
            self.insert(fires)
            .values(
                id=models.new_id(),
                schedule_id=schedule_id,
                fire_id=fire_id,
                trigger_type=trigger,
                nominal_time=claim.nominal_time,
                status=claim.status,
                reason=claim.reason,
                attempts=0,
                created_at=now,
                finished_at=now if done else None,
            )
            .on_conflict_do_nothing(index_elements=["schedule_id", "nominal_time"])
            .returning(fires)
        )
        got = r.first()
        return row_as(FireRow, got) if got else None

    async def insert_manual_fire(
        self, schedule_id: str, fire_id: str, trigger_time: datetime
    ) -> FireRow | None:
        claim = Claim(trigger_time, None, fire_id, FireStatus.PENDING)
        async with self.write() as conn:
            return await self._insert_fire(
                conn, schedule_id, fire_id, TriggerType.MANUAL, claim, trigger_time
            )

    async def runnable_fire_ids(self, now: datetime, limit: int = 20) -> list[str]:
        """Pending fires whose backoff is over, and running ones whose runner's lease ran out."""
        stmt = (
            select(fires.c.id)
            .where(_runnable(now))
            .order_by(fires.c.created_at, fires.c.id)
            .limit(limit)
        )
        async with self.read() as conn:
            return [i for (i,) in await conn.execute(stmt)]

    async def start_fire(
        self, fire_pk: str, now: datetime, lease_until: datetime
    ) -> FireRow | None:
        """``pending → running`` (or take over an expired lease); None if a peer has it."""
        async with self.write() as conn:
            r = await conn.execute(
                fires.update()
                .where(fires.c.id == fire_pk, _runnable(now))
                .values(
                    status=FireStatus.RUNNING,
                    attempts=fires.c.attempts + 1,
                    lease_until=lease_until,
                    # The first attempt's start stays: lag and duration are measured from it.
                    started_at=func.coalesce(
                        fires.c.started_at, literal(now, fires.c.started_at.type)
                    ),
                )
                .returning(fires)
            )
            got = r.first()
            return row_as(FireRow, got) if got else None

    async def update_running_fire(
        self, fire_pk: str, attempts: int, values: dict[str, Any]
    ) -> bool:
        """Write to a fire this runner still owns (same attempt, still running)."""
        async with self.write() as conn:
            r = await conn.execute(
                fires.update()
                .where(
                    fires.c.id == fire_pk,
                    fires.c.status == FireStatus.RUNNING,
                    fires.c.attempts == attempts,
                )
                .values(values)
                .returning(fires.c.id)
            )
            return r.first() is not None

    async def list_fires(self, schedule_id: str, limit: int, offset: int) -> list[FireRow]:
        stmt = (
            select(fires)
            .where(fires.c.schedule_id == schedule_id)
            .order_by(fires.c.created_at.desc(), fires.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self.read() as conn:
            return [row_as(FireRow, r) for r in await conn.execute(stmt)]

    async def get_fire(self, fire_pk: str) -> FireRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(fires).where(fires.c.id == fire_pk))).first()
        return row_as(FireRow, r) if r else None


def _runnable(now: datetime) -> Any:
    return or_(
        and_(
            fires.c.status == FireStatus.PENDING,
            or_(fires.c.next_attempt_at.is_(None), fires.c.next_attempt_at <= now),
        ),
        and_(fires.c.status == FireStatus.RUNNING, fires.c.lease_until < now),
    )
