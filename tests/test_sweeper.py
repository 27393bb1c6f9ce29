"""Deadlines: overdue tasks move to TIMED_OUT once, however many sweepers race."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from agentkeep import sweeper
from agentkeep.domain import models
from agentkeep.lifecycle import Lifecycle
from agentkeep.store import SqlStore


async def test_two_sweepers_racing_make_one_change(
    db_url: str, client: httpx.AsyncClient, task_factory: Any, store: SqlStore
) -> None:
    tasks = [await task_factory(timeout_seconds=60) for _ in range(20)]
    live = await task_factory(timeout_seconds=3600)
    later = models.utcnow() + timedelta(seconds=120)  # past the first deadlines only
    # Two stores = two connection pools, as two server processes would have.
    other = SqlStore(db_url)
    try:
        changed = await asyncio.gather(
            sweeper.sweep_once(Lifecycle(store), later),
            sweeper.sweep_once(Lifecycle(other), later),
        )
    finally:
        await other.close()
    assert sum(changed) == len(tasks)
    for task in tasks:
        history = await store.task_history(task["id"])
        timed_out = [h for h in history if h["to_status"] == "TIMED_OUT"]
        assert len(timed_out) == 1
        assert (await store.get_task(task["id"]))["status"] == "TIMED_OUT"
        assert (timed_out[0]["actor"], timed_out[0]["reason"]) == (
            "system:deadline",
            "Task exceeded its deadline",
        )
    assert (await store.get_task(live["id"]))["status"] == "RUNNING"


async def test_the_apps_sweeper_times_out_overdue_tasks(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    # How fast is the benchmark's business; here only that the running app does it.
    task = await task_factory(timeout_seconds=0.3)
    assert task["deadline_at"] is not None
    for _ in range(300):
        body = (await client.get(f"/tasks/{task['id']}")).json()
        if body["status"] != "RUNNING":
            break
        await asyncio.sleep(0.1)
    assert (body["status"], body["status_reason"]) == ("TIMED_OUT", "Task exceeded its deadline")
    history = (await client.get(f"/tasks/{task['id']}/history")).json()
    assert [(h["to_status"], h["actor"]) for h in history][-1] == ("TIMED_OUT", "system:deadline")


async def test_finished_tasks_are_left_alone(
    client: httpx.AsyncClient, task_factory: Any, store: SqlStore
) -> None:
    task = await task_factory(timeout_seconds=60)
    await client.post(f"/tasks/{task['id']}/complete")
    later = models.utcnow() + timedelta(seconds=120)
    assert await sweeper.sweep_once(Lifecycle(store), later) == 0
    assert (await store.get_task(task["id"]))["status"] == "COMPLETED"


async def test_default_timeout_applies(store: SqlStore) -> None:
    lifecycle = Lifecycle(store, default_timeout_seconds=60)
    assert lifecycle.deadline_for(None) is not None
    assert Lifecycle(store).deadline_for(None) is None
