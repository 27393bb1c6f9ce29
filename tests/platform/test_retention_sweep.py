"""The retention sweep on every database: one run per due time however many processes
race for it, only idle tasks of the named agents, dry run by default."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from agentkeep.retention import sweep
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.tables import system_jobs
from tests.platform.retention_kit import export, fill, finish, task

CRON = "0 4 * * *"


def sweep_settings(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(update={"retention_sweep_cron": CRON, **extra})


def later(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def test_one_process_wins_each_due_run(settings: Settings, db_url: str) -> None:
    config = sweep_settings(settings, retention_agents="nobody")
    stores = [SqlStore(db_url) for _ in range(4)]
    try:
        start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        # First sight schedules the next cron time; nothing runs yet.
        assert await sweep.sweep_once(stores[0], config, start) is None
        due = datetime(2030, 1, 2, 4, 0, 1, tzinfo=UTC)
        runs = await asyncio.gather(*(sweep.sweep_once(s, config, due) for s in stores))
        assert [r is not None for r in runs].count(True) == 1
        # The same due time never runs twice; the next one runs once more.
        assert await sweep.sweep_once(stores[1], config, due) is None
        again = await sweep.sweep_once(stores[2], config, due + timedelta(days=1))
        assert again == {"dry_run": True, "cleaned": [], "refused": {}}
    finally:
        for s in stores:
            await s.close()


async def test_sweep_cleans_idle_tasks_of_named_agents(
    client: httpx.AsyncClient, store: SqlStore, settings: Settings, agent_factory: Any,
    task_factory: Any,
) -> None:  # fmt: skip
    kept, swept = await agent_factory(), await agent_factory()
    done = await task_factory(swept)
    running = await task_factory(swept)
    shared = await task_factory(swept)
    other = await task_factory(kept)
    for t in (done, running, shared, other):
        await fill(client, t["id"], swept["id"])
    for t in (done, shared, other):
        await finish(client, t["id"])
    await store.link_task_agent(shared["id"], kept["id"])  # two agents: never swept
    snapshots = {t["id"]: await export(client, t["id"]) for t in (done, running, shared, other)}

    async def run(now: datetime, **extra: Any) -> Any:
        config = sweep_settings(settings, retention_agents=f" {swept['name']} ,x", **extra)
        await store.claim_system_job(sweep.JOB, now, now)  # first sight: scheduled
        async with store.engine.begin() as conn:  # make the run due at ``now``
            await conn.execute(system_jobs.update().values(next_run_at=now))
        return await sweep.sweep_once(store, config, now)

    # Dry run (the default): reports what would go and changes nothing.
    assert await run(later(8)) == {"dry_run": True, "cleaned": [done["id"]], "refused": {}}
    for task_id, snap in snapshots.items():
        assert await export(client, task_id) == snap
    # Not idle long enough: nothing.
    assert (await run(later(3), retention_dry_run=False))["cleaned"] == []
    summary = await run(later(8), retention_dry_run=False)
    assert summary["cleaned"] == [done["id"]]
    assert (await task(client, done["id"]))["cleaned_at"] is not None
    # A RUNNING task counts as abandoned once stale (its events need not be processed).
    await store.create_event(running["id"], swept["id"], None)
    stale = await run(later(31), retention_dry_run=False, retention_stale_running_days=30)
    assert stale["cleaned"] == [running["id"]]
    for t in (shared, other):
        assert await export(client, t["id"]) == snapshots[t["id"]]


def test_sweep_cron_must_have_five_fields() -> None:
    for bad in ("0 4 * * * *", "every day", "61 4 * * *"):
        with pytest.raises(ValidationError, match="five-field cron"):
            Settings(retention_sweep_cron=bad)
    assert Settings(retention_sweep_cron=" ").retention_sweep_cron is None
