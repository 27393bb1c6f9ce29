"""The store's fast paths (asyncpg straight on Postgres, the event loop's thread on SQLite)
answer exactly what SQLAlchemy reads back: callers cannot tell the paths apart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.domain.status import TaskStatus, sources_for
from agentkeep.store import SqlStore
from agentkeep.store.agents import Registration
from agentkeep.store.sql import row_dict
from agentkeep.store.tables import tasks
from agentkeep.store.tasks import Change


async def _read(store: SqlStore, task_id: str) -> dict[str, Any]:
    """The row through SQLAlchemy's own path (aiosqlite threads, or the asyncpg dialect)."""
    async with store.read() as conn:
        return row_dict((await conn.execute(select(tasks).where(tasks.c.id == task_id))).one())


async def _agent_id(store: SqlStore) -> str:
    reg = Registration(name="fast", description="d", acp_url="http://x", acp_type="sync")
    agent, _ = await store.register_agent(reg)
    return str(agent["id"])


async def test_created_and_changed_rows_are_what_sqlalchemy_reads(store: SqlStore) -> None:
    row, created = await store.create_task(
        agent_id=await _agent_id(store),
        name="fast",
        params={"n": 1, "deep": {"list": [1, 2.5, None, "é"]}},
        task_metadata={"k": "v"},
        deadline_at=models.utcnow() + timedelta(hours=1),
        change=Change("tester", "req-1", "made"),
    )
    assert created
    assert row == await _read(store, row["id"])
    assert await store.get_task(row["id"]) == row
    assert await store.get_task_by_name("fast") == row

    changed = await store.transition(
        row["id"],
        TaskStatus.COMPLETED,
        Change("tester", "req-2", "done"),
        sources=sources_for(TaskStatus.COMPLETED),
        expected_version=1,
    )
    assert changed is not None
    outbox_id = changed.pop("outbox_id")
    assert changed == await _read(store, row["id"])
    assert (changed["status"], changed["prev_status"], changed["version"]) == (
        TaskStatus.COMPLETED,
        TaskStatus.RUNNING,
        2,
    )
    history = await store.task_history(row["id"])
    assert [(h["from_status"], h["to_status"], h["request_id"]) for h in history] == [
        (None, TaskStatus.RUNNING, "req-1"),
        (TaskStatus.RUNNING, TaskStatus.COMPLETED, "req-2"),
    ]
    assert [r["id"] for r in await store.pending_outbox()] == [outbox_id]


async def test_a_change_that_matches_nothing_writes_nothing(store: SqlStore) -> None:
    row, _ = await store.create_task(
        agent_id=await _agent_id(store),
        name=None,
        params=None,
        task_metadata=None,
        deadline_at=None,
        change=Change("tester", None, None),
    )
    stale = await store.transition(
        row["id"],
        TaskStatus.COMPLETED,
        Change("tester", None, None),
        sources=sources_for(TaskStatus.COMPLETED),
        expected_version=7,
    )
    assert stale is None
    assert await _read(store, row["id"]) == row
    assert len(await store.task_history(row["id"])) == 1
    assert await store.pending_outbox() == []


async def test_a_task_for_an_unknown_agent_is_refused_as_before(store: SqlStore) -> None:
    with pytest.raises(errors.ItemAlreadyExists):
        await store.create_task(
            agent_id="no-such-agent",
            name=None,
            params=None,
            task_metadata=None,
            deadline_at=None,
            change=Change("tester", None, None),
        )
