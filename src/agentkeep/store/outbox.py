"""The transactional outbox: ``task_updated`` events written with the change they announce.

The row commits in the same transaction as the task change, so an acknowledged change is
never missing from the stream; the relay moves rows to the bus afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep.domain import models
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import outbox


def task_updated_event(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "task_updated", "task": models.task_wire(row)}


class OutboxMixin(SqlBase):
    async def add_outbox(self, conn: AsyncConnection, row: Mapping[str, Any]) -> None:
        await conn.execute(
            outbox.insert().values(
                task_id=row["id"],
                version=row["version"],
                payload=orjson.dumps(task_updated_event(row)).decode(),
                created_at=models.utcnow(),
            )
        )

    async def pending_outbox(self, limit: int = 200) -> list[dict[str, Any]]:
        """The oldest undelivered rows, in commit order (hence in order per task)."""
        async with self.read() as conn:
            r = await conn.execute(select(outbox).order_by(outbox.c.id).limit(limit))
            return [dict(x._mapping) for x in r]

    async def mark_outbox_attempted(self, ids: list[int]) -> None:
        async with self.write() as conn:
            await conn.execute(
                outbox.update().where(outbox.c.id.in_(ids)).values(attempts=outbox.c.attempts + 1)
            )

    async def delete_outbox(self, ids: list[int]) -> None:
        async with self.write() as conn:
            await conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))
