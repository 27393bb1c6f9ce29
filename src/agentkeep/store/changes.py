"""Task writes: creation and every change, each with its history (and outbox) row.

A change is one compare-and-set, ``UPDATE … WHERE id AND status IN (sources) RETURNING``,
never a read before the write. On PostgreSQL the update, its history row and its outbox
row are a single statement (data-modifying CTEs): one round trip, atomic without BEGIN or
COMMIT, run straight through asyncpg (``store.fastread``) like task creation. SQLite cannot
put DML in a CTE, so there the same rows are written by three statements in one short
IMMEDIATE transaction. A change made under an ``Idempotency-Key`` also stores the request's
answer in its transaction (``store.idempotency``), so on PostgreSQL it runs inside
BEGIN/COMMIT too, through SQLAlchemy.
"""

from __future__ import annotations

import typing
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Integer, String, Text, and_, bindparam, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep.domain import models, status
from agentkeep.store.idempotency import pending_claim, store_answer
from agentkeep.store.rows import TaskRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import outbox, task_agents, task_history, tasks, trackers


@dataclass(frozen=True, slots=True)
class Change:
    """Who asks for a change and why: recorded in the history row."""

    actor: str
    request_id: str | None
    reason: str | None
    #: The task's agent already knows (RPC ``task/cancel`` asked it before the change), so
    #: the after-commit notifier must not tell it again. Not stored.
    agent_told: bool = False


def outbox_payload(row: TaskRow) -> str:
    """The committed row as JSON, as Postgres's ``to_jsonb(row)`` writes it."""
    # str(): result keys are SQLAlchemy quoted_name objects, which orjson refuses.
    return orjson.dumps({str(k): v for k, v in row.items() if k != "outbox_id"}).decode()


def row_from_payload(payload: str) -> TaskRow:
    """Parse an outbox payload back into a row (timestamps as UTC datetimes)."""
    row: dict[str, Any] = orjson.loads(payload)
    for key in ("created_at", "updated_at", "deadline_at", "cleaned_at"):
        if isinstance(row.get(key), str):
            row[key] = datetime.fromisoformat(row[key]).astimezone(UTC)
    return typing.cast(TaskRow, row)


class ChangesMixin(SqlBase):
    async def create_task(
        self,
        *,
        agent_id: str,
        name: str | None,
        params: dict[str, Any] | None,
        task_metadata: dict[str, Any] | None,
        deadline_at: datetime | None,
        change: Change,
        creator_agent_id: str | None = None,
    ) -> tuple[TaskRow, bool]:
        """Insert a RUNNING task with its agent link, tracker and first history row.

        With a name, an existing task of that name is returned instead (``created`` False):
        ``ON CONFLICT DO NOTHING`` makes concurrent creations of one name converge.
        """
        now = models.utcnow()
        values: dict[str, Any] = {
            "id": models.new_id(),
            "name": name,
            "status": status.TaskStatus.RUNNING,
            "status_reason": change.reason,
            "status_actor": change.actor,
            "params": params,
            "task_metadata": task_metadata,
            "version": 1,
            "deadline_at": deadline_at,
            "creator_agent_id": creator_agent_id,
            "created_at": now,
            "updated_at": now,
        }
        if self.dialect == "postgresql":
            inserted = await self._create_pg(values, agent_id, change)
        else:
            inserted = await self._create_sqlite(values, agent_id, change)
        if inserted is not None:
            return inserted, True
        # Lost the name to an existing task (or a concurrent creation): that one it is.
        async with self.read() as conn:
            r = await conn.execute(select(tasks).where(tasks.c.name == name))
            return row_as(TaskRow, r.one()), False

    async def _create_pg(
        self, values: dict[str, Any], agent_id: str, change: Change
    ) -> TaskRow | None:
        params = {
            **values,
            "agent_id": agent_id,
            "tracker_id": models.new_id(),
            "request_id": change.request_id,
        }
        assert self.fast_reader is not None
        return await self.fast_reader.row(
            TaskRow, self.compiled("create", _create_statement), params
        )

    async def _create_sqlite(
        self, values: dict[str, Any], agent_id: str, change: Change
    ) -> TaskRow | None:
        stmt = self.statement(
            "create_sqlite",
            lambda: self.insert(tasks).on_conflict_do_nothing().returning(*tasks.c),
        )
        async with self.write() as conn:
            inserted = (await conn.execute(stmt, values)).first()
            if inserted is None:
                return None
            row = row_as(TaskRow, inserted)
            await self._link(conn, row["id"], agent_id, row["created_at"])
            await _insert_history(conn, row, None, change)
            return row

    async def _link(self, conn: AsyncConnection, task_id: str, agent_id: str, now: Any) -> None:
        link, tracker = self.statement(
            "link",
            lambda: (
                self.insert(task_agents).on_conflict_do_nothing(),
                self.insert(trackers).on_conflict_do_nothing(),
            ),
        )
        await conn.execute(link, {"task_id": task_id, "agent_id": agent_id, "created_at": now})
        await conn.execute(
            tracker,
            {
                "id": models.new_id(),
                "agent_id": agent_id,
                "task_id": task_id,
                "created_at": now,
                "updated_at": now,
            },
        )

    async def link_task_agent(self, task_id: str, agent_id: str) -> None:
        async with self.write() as conn:
            await self._link(conn, task_id, agent_id, models.utcnow())

    async def transition(
        self,
        task_id: str,
        to: str,
        change: Change,
        *,
        sources: Collection[str],
        expected_version: int | None = None,
        failed_by: str | None = None,
    ) -> TaskRow | None:
        """Compare-and-set ``task_id`` to ``to``; None when no row matched.

        ``failed_by`` narrows a FAILED source to failures by that actor (only agent errors
        may be resumed). History and outbox rows commit with the change or not at all; the
        returned row carries ``outbox_id`` for the relay's fast path.
        """
        key = (
            "transition",
            frozenset(sources),
            failed_by is not None,
            expected_version is not None,
        )

        def build() -> Any:
            return _transition_statement(*key[1:], pg=self.dialect == "postgresql")

        params = {
            "task_id": task_id,
            "to_status": to,
            "reason": change.reason,
            "actor": change.actor,
            "now": models.utcnow(),
            "failed_by": failed_by,
            "expected_version": expected_version,
            "request_id": change.request_id,
        }
        if self.fast_reader is not None and pending_claim() is None:
            return await self.fast_reader.row(TaskRow, self.compiled(key, build), params)
        # With an Idempotency-Key, its answer commits in the same transaction as the change.
        async with self.write() as conn:
            r = (await conn.execute(self.statement(key, build), params)).first()
            if r is None:
                return None
            row = row_as(TaskRow, r)
            if self.dialect != "postgresql":
                await _insert_history(conn, row, row["prev_status"], change)
                row["outbox_id"] = await _insert_outbox(conn, row)
            await store_answer(conn, row)
            return row

    async def update_task(
        self,
        task_id: str,
        *,
        task_metadata: dict[str, Any] | None,
        merge_params: dict[str, Any] | None,
        expected_version: int | None,
        replace_params: dict[str, Any] | None = None,
    ) -> TaskRow | None:
        """Replace metadata and shallow-merge params; None, and nothing changed, if the task
        is not live or its version is not ``expected_version`` (``lifecycle`` says which).

        ``FOR UPDATE`` (a no-op on SQLite, whose IMMEDIATE transaction already excludes
        other writers) makes the merge atomic against concurrent PUTs.
        """
        async with self.write() as conn:
            r = (
                await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
            ).first()
            stale = expected_version is not None and r is not None and r.version != expected_version
            if r is None or r.status == status.TaskStatus.DELETED or stale:
                return None
            new: dict[str, Any] = {"version": r.version + 1, "updated_at": models.utcnow()}
            if task_metadata is not None:
                new["task_metadata"] = task_metadata
            if replace_params is not None:
                new["params"] = replace_params
            if merge_params is not None:
                new["params"] = {**(r.params or {}), **merge_params}
            stmt = tasks.update().where(tasks.c.id == task_id).values(new).returning(*tasks.c)
            row = row_as(TaskRow, (await conn.execute(stmt)).one())
            row["outbox_id"] = await _insert_outbox(conn, row)
            await store_answer(conn, row)
            return row


def _history_from(source: Any, *, from_status: Any) -> Any:
    """``INSERT INTO task_history SELECT … FROM <cte>``: the history row of a CTE's change."""
    return postgresql.insert(task_history).from_select(
        ["task_id", "from_status", "to_status", "reason", "actor", "request_id", "created_at"],
        select(
            source.c.id,
            from_status,
            source.c.status,
            source.c.status_reason,
            source.c.status_actor,
            bindparam("request_id", type_=String),
            source.c.updated_at,
        ),
    )


def _outbox_from(source: Any) -> Any:
    """``INSERT INTO outbox SELECT … FROM <cte>``: the changed row itself as the payload."""
    return (
        outbox.insert()
        .from_select(
            ["task_id", "version", "payload", "attempts", "created_at"],
            select(
                source.c.id,
                source.c.version,
                cast(func.to_jsonb(source.table_valued()), Text),
                literal(0, Integer),
                source.c.updated_at,
            ),
        )
        .returning(outbox.c.id)
    )


def _create_statement() -> Any:
    """Postgres: insert a task, its link, tracker and history row in one statement."""
    # A new task has no previous status and has never been cleaned.
    columns = [c.name for c in tasks.c if c.name not in ("prev_status", "cleaned_at")]
    ins = (
        postgresql.insert(tasks)
        .values({name: bindparam(name, type_=tasks.c[name].type) for name in columns})
        .on_conflict_do_nothing()
        .returning(*tasks.c)
        .cte("ins")
    )
    agent = bindparam("agent_id", type_=String)
    link = postgresql.insert(task_agents).from_select(
        ["task_id", "agent_id", "created_at"], select(ins.c.id, agent, ins.c.created_at)
    )
    tracker = (
        postgresql.insert(trackers)
        .from_select(
            ["id", "agent_id", "task_id", "created_at", "updated_at"],
            select(
                bindparam("tracker_id", type_=String),
                agent,
                ins.c.id,
                ins.c.created_at,
                ins.c.created_at,
            ),
        )
        .on_conflict_do_nothing()
    )
    history = _history_from(ins, from_status=literal(None, String))
    return select(ins).add_cte(link.cte("link"), tracker.cte("tracker"), history.cte("hist"))


def _transition_statement(
    sources: frozenset[str], narrow_failed: bool, check_version: bool, *, pg: bool
) -> Any:
    """The compare-and-set; on Postgres with its history and outbox rows in one statement."""
    failed_status = status.TaskStatus.FAILED
    # Each source a bound literal, not one expanding parameter: the statement is built once
    # per set of sources, so nothing is left to render at each execution.
    status_ok: Any = tasks.c.status.in_(
        [literal(s, String) for s in sorted(sources) if s != failed_status]
    )
    if failed_status in sources:
        failed = tasks.c.status == failed_status
        if narrow_failed:
            failed = and_(failed, tasks.c.status_actor == bindparam("failed_by", type_=String))
        status_ok = or_(status_ok, failed)
    stmt = (
        tasks.update()
        .where(tasks.c.id == bindparam("task_id", type_=String), status_ok)
        .values(
            # SET expressions see the old row: prev_status is where the task came from.
            prev_status=tasks.c.status,
            status=bindparam("to_status", type_=String),
            status_reason=bindparam("reason", type_=Text),
            status_actor=bindparam("actor", type_=String),
            version=tasks.c.version + 1,
            updated_at=bindparam("now", type_=tasks.c.updated_at.type),
        )
        .returning(*tasks.c)
    )
    if check_version:
        stmt = stmt.where(tasks.c.version == bindparam("expected_version", type_=Integer))
    if not pg:
        return stmt
    upd = stmt.cte("upd")
    box = _outbox_from(upd).cte("box")
    hist = _history_from(upd, from_status=upd.c.prev_status).cte("hist")
    return select(upd, select(box.c.id).scalar_subquery().label("outbox_id")).add_cte(hist)


# Built once: constructing a statement costs more CPU than executing it.
_HISTORY_INSERT = task_history.insert()
_OUTBOX_INSERT = outbox.insert().returning(outbox.c.id)


async def _insert_history(
    conn: AsyncConnection, row: TaskRow, from_status: str | None, change: Change
) -> None:
    await conn.execute(
        _HISTORY_INSERT,
        {
            "task_id": row["id"],
            "from_status": from_status,
            "to_status": row["status"],
            "reason": row["status_reason"],
            "actor": row["status_actor"],
            "request_id": change.request_id,
            "created_at": row["updated_at"],
        },
    )


async def _insert_outbox(conn: AsyncConnection, row: TaskRow) -> int:
    r = await conn.execute(
        _OUTBOX_INSERT,
        {
            "task_id": row["id"],
            "version": row["version"],
            "payload": outbox_payload(row),
            "created_at": row["updated_at"],
        },
    )
    return int(r.scalar_one())
