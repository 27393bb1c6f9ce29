"""The outbox relay on every database and every bus, driven by hand (no background loop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.bus.base import START, EventBus
from agentkeep.relay import Relay
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app
from tests.streaming_kit import make_task


@pytest.fixture
async def api(db_url: str, store: SqlStore, bus: EventBus) -> AsyncIterator[httpx.AsyncClient]:
    # No background workers: the test runs the relay itself, step by step.
    settings = Settings(database_url=db_url, background_workers=False)
    async with running_app(create_app(settings, store=store, bus=bus)) as client:
        yield client


def versions(entries: list[Any]) -> list[int]:
    return [e.event["task"]["version"] for e in entries if e.event.get("type") == "task_updated"]


async def test_relay_publishes_in_order_and_empties_the_outbox(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    task = await make_task(api)
    await api.post(f"/tasks/{task['id']}/interrupt")
    await api.put(f"/tasks/{task['id']}", json={"task_metadata": {"k": 1}})
    await api.post(f"/tasks/{task['id']}/complete")
    assert await Relay(store, bus).drain() == 3
    entries = await bus.read_after(task["id"], START)
    assert versions(entries) == [task["version"] + 1, task["version"] + 2, task["version"] + 3]
    assert entries[-1].event["task"]["status"] == "COMPLETED"
    assert await store.pending_outbox() == []


async def test_retry_after_unknown_outcome_checks_the_tail(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    published, lost = await make_task(api), await make_task(api)
    for t in (published, lost):
        await api.post(f"/tasks/{t['id']}/interrupt")
    rows = {r["task_id"]: r for r in await store.pending_outbox()}
    # The first publish reached the bus but its reply was lost; the second never arrived.
    await bus.append(published["id"], rows[published["id"]]["payload"])
    await store.mark_outbox_attempted([r["id"] for r in rows.values()])
    assert await Relay(store, bus).drain() == 2
    assert len(await bus.read_after(published["id"], START)) == 1
    assert len(await bus.read_after(lost["id"], START)) == 1
    assert await store.pending_outbox() == []


async def test_relay_in_batches_keeps_per_task_order(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    tasks = [await make_task(api) for _ in range(3)]
    for verb in ("interrupt", "complete"):
        for t in tasks:
            await api.post(f"/tasks/{t['id']}/{verb}")
    assert await Relay(store, bus, batch=2).drain() == 6
    for t in tasks:
        assert versions(await bus.read_after(t["id"], START)) == [
            t["version"] + 1,
            t["version"] + 2,
        ]


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_concurrent_relays_publish_each_row_once(
    api: httpx.AsyncClient, db_url: str, store: SqlStore, bus: EventBus
) -> None:
    """Relays in several processes skip each other's locked rows (PostgreSQL)."""
    tasks = [await make_task(api) for _ in range(10)]
    for verb in ("interrupt", "complete"):
        for t in tasks:
            await api.post(f"/tasks/{t['id']}/{verb}")
    others = [SqlStore(db_url) for _ in range(3)]
    try:
        relays = [Relay(s, bus, batch=3) for s in [store, *others]]
        await asyncio.gather(*(r.drain() for r in relays))
    finally:
        for s in others:
            await s.close()
    for t in tasks:
        assert versions(await bus.read_after(t["id"], START)) == [
            t["version"] + 1,
            t["version"] + 2,
        ]
    assert await store.pending_outbox() == []
