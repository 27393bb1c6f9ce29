"""Task retention: export a task's content, clean it in one transaction, rehydrate it.

Clean is one transaction [fix] (Agentex spans two databases and can stop half-way). The
race with a concurrent ``event/send`` is closed by checking the rows the ``DELETE``
actually removed, not a count read beforehand: an event committed before the delete is
among them (unprocessed: everything rolls back); one committed after is not deleted at
all. Either way no unprocessed event is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import errors
from agentkeep.domain import models, status
from agentkeep.store.changes import outbox_payload
from agentkeep.store.checkpoints import delete_thread_rows
from agentkeep.store.rows import CleanResult, MessageRow, StateRow, TaskRow, TaskSnapshot, row_as
from agentkeep.store.snapshot import snapshot
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import agents, events, messages, outbox, states, tasks, trackers


class RetentionMixin(SqlBase):
    async def task_snapshot(self, task_id: str) -> TaskSnapshot:
        """``{task_id, messages, task_states}``, each by ``created_at`` then ``id``."""
        async with snapshot(self) as conn:
            msgs = await conn.execute(
                select(messages)
                .where(messages.c.task_id == task_id)
                .order_by(messages.c.created_at, messages.c.id)
            )
            sts = await conn.execute(
                select(states)
                .where(states.c.task_id == task_id)
                .order_by(states.c.created_at, states.c.id)
            )
            return {
                "task_id": task_id,
                "messages": [models.message_wire(row_as(MessageRow, m)) for m in msgs],
                "task_states": [models.state_wire(row_as(StateRow, s)) for s in sts],
            }

    async def clean_task(
        self,
        task_id: str,
        *,
        force: bool,
        idle_days: int,
        now: datetime | None = None,
        abandoned: bool = False,
        dry_run: bool = False,
    ) -> CleanResult:
        """Delete the task's content; raise ``BadRequest`` (nothing changed) when refused.

        ``abandoned`` (the sweep's stale RUNNING tasks) skips the status and
        unprocessed-events checks; ``dry_run`` does everything, then rolls back.
        """
        now = now or models.utcnow()
        try:
            async with self.write() as conn:
                found = (
                    await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
                ).first()
                if found is None:
                    raise errors.NotFound.by_id(task_id)
                task = row_as(TaskRow, found)
                if task["cleaned_at"] is not None:
                    return _result(task_id, task["cleaned_at"], [0, 0, 0, 0])
                if task["status"] in status.NON_TERMINAL and not abandoned:
                    raise errors.BadRequest(
                        f"Cannot clean task {task_id}: status is {task['status']} (active)"
                    )
                if not force:
                    await _require_idle(conn, task, idle_days, now)
                counts = await _delete_content(conn, task_id, now, check_events=not abandoned)
                await _mark(conn, task, cleaned_at=now, now=now)
                if dry_run:
                    raise _RolledBack(_result(task_id, now, counts))
        except _RolledBack as done:
            return done.result
        return _result(task_id, now, counts)

    async def rehydrate_task(
        self, task_id: str, msgs: Sequence[MessageRow], sts: Sequence[StateRow]
    ) -> None:
        """Insert messages and states with their ids and timestamps; clear ``cleaned_at``.

        All or nothing [fix]: any collision raises ``ItemAlreadyExists`` and the
        transaction writes nothing (Agentex can leave a partial insert).
        """
        async with self.write() as conn:
            found = (
                await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
            ).first()
            if found is None:
                raise errors.NotFound.by_id(task_id)
            task = row_as(TaskRow, found)
            if task["cleaned_at"] is None:
                raise errors.BadRequest(
                    f"Cannot rehydrate task {task_id}: task is not in cleaned state "
                    "(cleaned_at is NULL)"
                )
            await _require_agents(conn, sts)
            if msgs:
                await conn.execute(messages.insert().values(list(msgs)))
            if sts:
                await conn.execute(states.insert().values(list(sts)))
            await _mark(conn, task, cleaned_at=None, now=models.utcnow())


async def _require_agents(conn: AsyncConnection, sts: Sequence[StateRow]) -> None:
    """States name their agent: an unknown one is bad input, not a unique violation."""
    wanted = {s["agent_id"] for s in sts}
    if not wanted:
        return
    known = set((await conn.execute(select(agents.c.id).where(agents.c.id.in_(wanted)))).scalars())
    for i, s in enumerate(sts):
        if s["agent_id"] not in known:
            raise errors.BadRequest(
                f"Snapshot task_states[{i}] agent_id ({s['agent_id']}) is not a known agent"
            )


class _RolledBack(Exception):
    """Raised inside the transaction to undo a dry run; carries what it would have done."""

    def __init__(self, result: CleanResult) -> None:
        self.result = result


def _result(task_id: str, cleaned_at: datetime, counts: list[int]) -> CleanResult:
    msgs, sts, evs, cps = counts
    return {
        "task_id": task_id,
        "cleaned_at": cleaned_at,
        "messages_deleted": msgs,
        "task_states_deleted": sts,
        "events_deleted": evs,
        "checkpoints_deleted": cps,
    }


async def _require_idle(
    conn: AsyncConnection, task: TaskRow, idle_days: int, now: datetime
) -> None:
    newest = (
        await conn.execute(
            select(func.max(messages.c.created_at)).where(messages.c.task_id == task["id"])
        )
    ).scalar_one_or_none()
    last = max(task["updated_at"], _aware(newest) or task["updated_at"])
    if last > now - timedelta(days=idle_days):
        raise errors.BadRequest(
            f"Cannot clean task {task['id']}: not idle for {idle_days} days "
            "(use force=true to override)"
        )


def _aware(value: Any) -> datetime | None:
    """``MAX()`` over a SQLite column loses the column type: parse and attach UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return None if value is None else models.as_utc(value)


async def _delete_content(
    conn: AsyncConnection, task_id: str, now: datetime, *, check_events: bool = True
) -> list[int]:
    """Delete events (refusing unprocessed ones), messages, states, checkpoints."""
    cursors = {
        r.agent_id: r.last_processed_event_id
        for r in await conn.execute(
            select(trackers.c.agent_id, trackers.c.last_processed_event_id).where(
                trackers.c.task_id == task_id
            )
        )
    }
    gone = (
        await conn.execute(
            delete(events)
            .where(events.c.task_id == task_id)
            .returning(events.c.id, events.c.agent_id, events.c.sequence_id)
        )
    ).all()
    if check_events and _unprocessed(gone, cursors):
        # Raising inside the transaction rolls back every delete above.
        raise errors.BadRequest(f"Cannot clean task {task_id}: unprocessed events remain")
    await conn.execute(
        trackers.update()
        .where(trackers.c.task_id == task_id)
        .values(last_processed_event_id=None, updated_at=now)
    )
    deleted = []
    for table in (messages, states):
        result = await conn.execute(
            delete(table).where(table.c.task_id == task_id).returning(table.c.id)
        )
        deleted.append(len(result.all()))
    return [*deleted, len(gone), await delete_thread_rows(conn, task_id)]


def _unprocessed(gone: Sequence[Any], cursors: dict[str, str | None]) -> bool:
    """Whether a deleted event lies past its agent's cursor (any, for a null cursor).

    The cursor's own event is among the deleted rows (trackers only point at events of
    their task); an unknown cursor counts as null, as ``list_events`` reads it.
    """
    seq_of = {row.id: row.sequence_id for row in gone}
    for row in gone:
        cursor = cursors.get(row.agent_id)
        cursor_seq = seq_of.get(cursor) if cursor is not None else None
        if cursor_seq is None or row.sequence_id > cursor_seq:
            return True
    return False


async def _mark(
    conn: AsyncConnection, task: TaskRow, *, cleaned_at: datetime | None, now: datetime
) -> None:
    """Set or clear ``cleaned_at``: a task change (version, ``task_updated`` via the outbox)
    but not a status change, so no history row."""
    row = row_as(
        TaskRow,
        (
            await conn.execute(
                tasks.update()
                .where(tasks.c.id == task["id"])
                .values(cleaned_at=cleaned_at, version=tasks.c.version + 1, updated_at=now)
                .returning(*tasks.c)
            )
        ).one(),
    )
    await conn.execute(
        outbox.insert().values(
            task_id=row["id"],
            version=row["version"],
            payload=outbox_payload(row),
            created_at=now,
        )
    )
