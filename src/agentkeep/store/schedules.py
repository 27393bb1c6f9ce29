"""Run schedules and their skips: definitions the routes create, change and soft-delete.

Every write locks the row, lets the caller recompute it (``next_fire_at`` included) from
what is stored *in the same transaction*, and bumps ``version``: a scheduler claim that
read the row before the write loses its compare-and-set (see ``store.fires``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.store.rows import ScheduleRow, row_as
from agentkeep.store.schedule_tables import agent_run_schedules as schedules
from agentkeep.store.schedule_tables import schedule_skips
from agentkeep.store.sql import SqlBase


@dataclass(slots=True)
class ScheduleEdit:
    """What a caller's recompute returns: new column values and, optionally, new skips."""

    values: dict[str, Any]
    skips: set[datetime] | None = None


Recompute = Callable[[ScheduleRow, list[datetime]], ScheduleEdit]


@dataclass(slots=True)
class ScheduleView:
    """A schedule row with its future skips (the live fields need both)."""

    row: ScheduleRow
    skips: list[datetime] = field(default_factory=list)


def name_taken(name: str, agent_id: str) -> errors.BadRequest:
    return errors.BadRequest(f"Run schedule '{name}' already exists for agent '{agent_id}'")


class SchedulesMixin(SqlBase):
    async def now(self) -> datetime:
        """The clock every process agrees on: the database's on Postgres."""
        if self.dialect != "postgresql":
            return models.utcnow()
        async with self.read() as conn:
            value: datetime = (await conn.execute(text("SELECT now()"))).scalar_one()
        return models.as_utc(value)

    async def create_schedule(self, values: dict[str, Any]) -> ScheduleRow:
        """Insert a schedule; a live schedule of the agent with that name is 400."""
        try:
            async with self.write() as conn:
                await self._name_free(conn, values["agent_id"], values["name"], None)
                r = await conn.execute(schedules.insert().values(values).returning(schedules))
                return row_as(ScheduleRow, r.one())
        except errors.ItemAlreadyExists:
            # The partial unique index caught a concurrent create of the same name.
            raise name_taken(values["name"], values["agent_id"]) from None

    async def _name_free(
        self, conn: AsyncConnection, agent_id: str, name: str, schedule_id: str | None
    ) -> None:
        stmt = select(schedules.c.id).where(
            schedules.c.agent_id == agent_id,
            schedules.c.name == name,
            schedules.c.deleted_at.is_(None),
        )
        if schedule_id is not None:
            stmt = stmt.where(schedules.c.id != schedule_id)
        if (await conn.execute(stmt)).first() is not None:
            raise name_taken(name, agent_id)

    async def find_schedule(
        self, agent_id: str, *, schedule_id: str | None = None, name: str | None = None
    ) -> ScheduleRow | None:
        """A live schedule of the agent, by id or by name."""
        stmt = select(schedules).where(
            schedules.c.agent_id == agent_id, schedules.c.deleted_at.is_(None)
        )
        if schedule_id is not None:
            stmt = stmt.where(schedules.c.id == schedule_id)
        else:
            stmt = stmt.where(schedules.c.name == name)
        async with self.read() as conn:
            r = (await conn.execute(stmt)).first()
        return row_as(ScheduleRow, r) if r else None

    async def get_schedule_any(self, schedule_id: str) -> ScheduleRow | None:
        """A schedule by id, deleted included (the fire runner decides what that means)."""
        async with self.read() as conn:
            r = (await conn.execute(select(schedules).where(schedules.c.id == schedule_id))).first()
        return row_as(ScheduleRow, r) if r else None

    async def list_schedules(self, agent_id: str, limit: int) -> list[ScheduleRow]:
        stmt = (
            select(schedules)
            .where(schedules.c.agent_id == agent_id, schedules.c.deleted_at.is_(None))
            .order_by(schedules.c.created_at.desc(), schedules.c.id.desc())
            .limit(limit)
        )
        async with self.read() as conn:
            return [row_as(ScheduleRow, r) for r in await conn.execute(stmt)]

    async def future_skips(
        self, schedule_ids: Iterable[str], after: datetime
    ) -> dict[str, list[datetime]]:
        """Skips after ``after``, ascending, per schedule id."""
        ids = list(schedule_ids)
        out: dict[str, list[datetime]] = {i: [] for i in ids}
        if not ids:
            return out
        stmt = (
            select(schedule_skips.c.schedule_id, schedule_skips.c.skipped_time)
            .where(schedule_skips.c.schedule_id.in_(ids), schedule_skips.c.skipped_time > after)
            .order_by(schedule_skips.c.skipped_time)
        )
        async with self.read() as conn:
            for sid, t in await conn.execute(stmt):
                out[sid].append(models.as_utc(t))
        return out

    async def edit_schedule(
        self, agent_id: str, schedule_id: str, now: datetime, recompute: Recompute
    ) -> ScheduleView | None:
        """Lock a live schedule, recompute it from its stored state, write it; None if gone.

        Past skips are pruned here. A rename that collides is 400, as on create.
        """
        edit: ScheduleEdit | None = None
        try:
            async with self.write() as conn:
                r = (
                    await conn.execute(
                        select(schedules)
                        .where(
                            schedules.c.id == schedule_id,
                            schedules.c.agent_id == agent_id,
                            schedules.c.deleted_at.is_(None),
                        )
                        .with_for_update()
                    )
                ).first()
                if r is None:
                    return None
                row = row_as(ScheduleRow, r)
                await conn.execute(
                    delete(schedule_skips).where(
                        schedule_skips.c.schedule_id == schedule_id,
                        schedule_skips.c.skipped_time <= now,
                    )
                )
                skips = await self._skips(conn, schedule_id)
                edit = recompute(row, skips)
                if "name" in edit.values and edit.values["name"] != row["name"]:
                    await self._name_free(conn, agent_id, edit.values["name"], schedule_id)
                if edit.skips is not None:
                    await self._replace_skips(conn, schedule_id, set(skips), edit.skips, now)
                    skips = sorted(edit.skips)
                values = {**edit.values, "version": row["version"] + 1, "updated_at": now}
                r2 = await conn.execute(
                    schedules.update()
                    .where(schedules.c.id == schedule_id)
                    .values(values)
                    .returning(schedules)
                )
                return ScheduleView(row_as(ScheduleRow, r2.one()), skips)
        except errors.ItemAlreadyExists:
            name = edit.values.get("name", "") if edit is not None else ""
            raise name_taken(name, agent_id) from None

    async def _skips(self, conn: AsyncConnection, schedule_id: str) -> list[datetime]:
        r = await conn.execute(
            select(schedule_skips.c.skipped_time)
            .where(schedule_skips.c.schedule_id == schedule_id)
            .order_by(schedule_skips.c.skipped_time)
        )
        return [models.as_utc(t) for (t,) in r]

    async def _replace_skips(
        self,
        conn: AsyncConnection,
        schedule_id: str,
        old: set[datetime],
        new: set[datetime],
        now: datetime,
    ) -> None:
        gone, added = old - new, new - old
        if gone:
            await conn.execute(
                delete(schedule_skips).where(
                    schedule_skips.c.schedule_id == schedule_id,
                    schedule_skips.c.skipped_time.in_(list(gone)),
                )
            )
        if added:
            await conn.execute(
                schedule_skips.insert(),
                [{"schedule_id": schedule_id, "skipped_time": t, "created_at": now} for t in added],
            )

    async def delete_schedule(self, agent_id: str, schedule_id: str, now: datetime) -> bool:
        """Soft delete: frees the name and stops future fires; False if not live."""
        async with self.write() as conn:
            r = await conn.execute(
                schedules.update()
                .where(
                    schedules.c.id == schedule_id,
                    schedules.c.agent_id == agent_id,
                    schedules.c.deleted_at.is_(None),
                )
                .values(
                    deleted_at=now,
                    next_fire_at=None,
                    version=schedules.c.version + 1,
                    updated_at=now,
                )
                .returning(schedules.c.id)
            )
            return r.first() is not None

    async def count_schedules(self) -> dict[str, int]:
        """Live schedules by state, for ``/metrics``."""
        stmt = (
            select(schedules.c.paused, func.count())
            .where(schedules.c.deleted_at.is_(None))
            .group_by(schedules.c.paused)
        )
        async with self.read() as conn:
            counts = {bool(p): int(n) for p, n in await conn.execute(stmt)}
        return {"ACTIVE": counts.get(False, 0), "PAUSED": counts.get(True, 0)}
