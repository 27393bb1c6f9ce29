"""The transactional outbox: ``task_updated`` events written with the change they announce.

The row commits in the same transaction as the task change, so an acknowledged change is
never missing from the stream; the relay (``agentkeep.relay``) moves rows to the bus
afterwards, through ``claim_outbox``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep.domain import models
from agentkeep.store.changes import row_from_payload
from agentkeep.store.rows import OutboxRow, TaskRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import outbox


def task_updated_event(row: TaskRow) -> dict[str, Any]:
    return {"type": "task_updated", "task": models.task_wire(row)}


@dataclass
class OutboxClaim:
    """Rows one relay may publish now, in order; it reports back what became of them."""

    rows: list[OutboxRow]
    delivered: list[int] = field(default_factory=list)
    #: Rows whose publish failed with an unknown outcome (it may have reached the bus).
    attempted: list[int] = field(default_factory=list)


def publishable_prefix(claimed: list[OutboxRow], pending: list[tuple[int, str]]) -> list[OutboxRow]:
    """The claimed rows that are each their task's next undelivered rows, in id order.

    ``pending`` is every undelivered ``(id, task_id)`` of the claimed tasks, locked or not.
    A row another relay holds stops its task here, so per-task order survives relays that
    run concurrently and skip each other's locked rows.
    """
    mine = {r["id"]: r for r in claimed}
    blocked: set[str] = set()
    out: list[OutboxRow] = []
    for row_id, task_id in sorted(pending):
        if task_id in blocked:
            continue
        if row_id in mine:
            out.append(mine[row_id])
        else:
            blocked.add(task_id)
    return out


def _with_event(r: Any) -> OutboxRow:
    """An outbox row whose ``payload`` is the ``task_updated`` event JSON to publish.

    The change writes the committed task row itself (on Postgres ``to_jsonb`` inside the
    same statement, see ``store.changes``); the event is built from it here, by the same
    code that formats every other Task, so both databases publish identical bytes.
    """
    row = row_as(OutboxRow, r)
    event = task_updated_event(row_from_payload(row["payload"]))
    row["payload"] = orjson.dumps(event).decode()
    return row


class OutboxMixin(SqlBase):
    async def pending_outbox(
        self, limit: int = 200, *, created_before: datetime | None = None
    ) -> list[OutboxRow]:
        """The oldest undelivered rows, in commit order (hence in order per task).

        ``created_before`` leaves out fresh rows: the live process that wrote them is
        relaying them itself (``agentkeep.relay``'s fast path).
        """
        async with self.read() as conn:
            r = await conn.execute(_oldest(limit, created_before))
            return [_with_event(x) for x in r]

    async def outbox_stats(self) -> tuple[int, datetime | None]:
        """How many rows wait to be published, and when the oldest was committed."""
        stmt = select(func.count(), func.min(outbox.c.created_at)).select_from(outbox)
        async with self.read() as conn:
            count, oldest = (await conn.execute(stmt)).one()
        return int(count), models.as_utc(oldest) if oldest is not None else None

    async def oldest_outbox_ids(self, task_ids: Collection[str]) -> dict[str, int]:
        """The id of each task's oldest undelivered row (tasks without one are left out)."""
        stmt = (
            select(outbox.c.task_id, func.min(outbox.c.id))
            .where(outbox.c.task_id.in_(list(task_ids)))
            .group_by(outbox.c.task_id)
        )
        async with self.read() as conn:
            return {task_id: int(oldest) for task_id, oldest in await conn.execute(stmt)}

    async def mark_outbox_attempted(self, ids: list[int]) -> None:
        async with self.write() as conn:
            await _settle(conn, OutboxClaim([], attempted=ids))

    async def settle_outbox(self, delivered: list[int], attempted: list[int]) -> None:
        """Delete delivered rows (one statement) and count attempts, in one transaction."""
        if self.dialect == "postgresql" and not attempted:
            # The relay's routine settle is one DELETE, atomic on its own: no BEGIN/COMMIT.
            async with self.single() as conn:
                await _settle(conn, OutboxClaim([], delivered=delivered))
            return
        async with self.write() as conn:
            await _settle(conn, OutboxClaim([], delivered=delivered, attempted=attempted))

    @contextlib.asynccontextmanager
    async def claim_outbox(
        self, limit: int = 200, *, created_before: datetime | None = None
    ) -> AsyncIterator[OutboxClaim]:
        """Claim the oldest rows (created before ``created_before``, if given) to publish;
        settle them when the block exits normally.

        On PostgreSQL the rows stay locked (``FOR UPDATE SKIP LOCKED``) for the block, so
        relays in several processes publish disjoint rows and normally each row once. The
        block holds that short transaction across the bus call, never across an agent call.
        SQLite has one writer at a time and its write lock would stall every request while
        the bus answers, so there the rows are read without a lock and settled afterwards:
        with several processes on one SQLite file a row may be published twice, which the
        tail check and each viewer's (task id, version) filter absorb.
        """
        if self.dialect != "postgresql":
            claim = OutboxClaim(await self.pending_outbox(limit, created_before=created_before))
            yield claim
            if claim.delivered or claim.attempted:
                async with self.write() as conn:
                    await _settle(conn, claim)
            return
        async with self._write_engine.begin() as conn:
            locked = await conn.execute(
                _oldest(limit, created_before).with_for_update(skip_locked=True)
            )
            claimed = [_with_event(x) for x in locked]
            tasks = {r["task_id"] for r in claimed}
            pending = await conn.execute(
                select(outbox.c.id, outbox.c.task_id).where(outbox.c.task_id.in_(tasks))
            )
            claim = OutboxClaim(publishable_prefix(claimed, [(i, t) for i, t in pending]))
            yield claim
            await _settle(conn, claim)


def _oldest(limit: int, created_before: datetime | None) -> Select[Any]:
    stmt = select(outbox).order_by(outbox.c.id).limit(limit)
    if created_before is not None:
        stmt = stmt.where(outbox.c.created_at < created_before)
    return stmt


async def _settle(conn: AsyncConnection, claim: OutboxClaim) -> None:
    if claim.delivered:
        await conn.execute(delete(outbox).where(outbox.c.id.in_(claim.delivered)))
    if claim.attempted:
        await conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(claim.attempted))
            .values(attempts=outbox.c.attempts + 1)
        )
