"""SQLite's writes and lookups run on the event loop's thread (``store.inline``): a lock
held by another process is waited for without stopping the loop, and not forever."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from agentkeep import errors
from agentkeep.domain.status import TaskStatus, sources_for
from agentkeep.store import SqlStore
from agentkeep.store.agents import Registration
from agentkeep.store.inline import InlineSQLite
from agentkeep.store.tasks import Change

CHANGE = Change("test", None, "because")


@pytest.fixture
def db_path(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "agentkeep.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqlStore]:
    s = SqlStore(f"sqlite+aiosqlite:///{db_path}")
    yield s
    await s.close()


@pytest.fixture
def other_process(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, as the CLI or a second server would hold it."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    yield conn
    conn.close()


async def _agent(store: SqlStore) -> str:
    reg = Registration(name="inline", description="d", acp_url="http://x", acp_type="sync")
    agent, _ = await store.register_agent(reg)
    return str(agent["id"])


async def _task(store: SqlStore, agent_id: str, name: str | None = None) -> dict[str, Any]:
    row, created = await store.create_task(
        agent_id=agent_id,
        name=name,
        params=None,
        task_metadata=None,
        deadline_at=None,
        change=CHANGE,
    )
    assert created
    return row


async def test_a_write_waits_for_another_writer_while_the_loop_serves_lookups(
    store: SqlStore, other_process: sqlite3.Connection
) -> None:
    first = await _task(store, await _agent(store))
    other_process.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(
        store.transition(
            first["id"], TaskStatus.COMPLETED, CHANGE, sources=sources_for(TaskStatus.COMPLETED)
        )
    )
    # While the write waits for the lock, the loop runs: lookups and other coroutines go on.
    for _ in range(3):
        assert (await store.get_task(first["id"]) or {})["status"] == TaskStatus.RUNNING
        await asyncio.sleep(0.02)
    assert not waiting.done()
    other_process.execute("COMMIT")
    row = await waiting
    assert row is not None and row["status"] == TaskStatus.COMPLETED
    assert (await store.get_task(first["id"]) or {})["version"] == 2


async def test_a_lock_held_past_the_busy_timeout_fails_the_write(
    db_path: Path, other_process: sqlite3.Connection
) -> None:
    inline = InlineSQLite(f"sqlite+aiosqlite:///{db_path}", busy_timeout=0.05)
    other_process.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with inline.transaction():
                pass
    finally:
        other_process.execute("ROLLBACK")
        inline.dispose()


async def test_the_store_answers_a_lock_that_outlasts_its_wait_with_503(
    store: SqlStore, other_process: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store._inline is not None
    monkeypatch.setattr(store._inline, "busy_timeout", 0.05)
    other_process.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(errors.DatabaseUnavailable):
            await _agent(store)
    finally:
        other_process.execute("ROLLBACK")


async def test_a_failed_block_rolls_back_and_the_next_write_commits(store: SqlStore) -> None:
    agent_id = await _agent(store)
    with pytest.raises(RuntimeError):
        async with store.write() as conn:
            await conn.execute(text("DELETE FROM agent_keys"))
            await conn.execute(text("DELETE FROM agents"))
            raise RuntimeError("abandon")
    assert await store.get_agent(agent_id) is not None
    row = await _task(store, agent_id, "after")
    assert await store.get_task_by_name("after") == row
